/* neuropaint — the benchmark registry behind `neuropaint bench`.
 *
 * A benchmark prepares its input once (setup), is timed over `repeat` calls of
 * run, and adds its own JSON fields (sizes, throughput) in report. The timing
 * loop and the JSON line are shared in cmd-bench.c; rows live in cli_benches[].
 */
#pragma once

#include "cli.h"

G_BEGIN_DECLS

/* The bench command's options; a benchmark needing more adds a field here and
 * an entry in cmd-bench.c, so `neuropaint bench --help` lists them all. */
typedef struct
{
  const char *image;     /* --image */
  gint        threads;   /* --threads */
  gint        repeat;    /* --repeat */
  gint        width, height;    /* --size WxH (cppn, generator); 0: the bench's default */
  gint        depth;            /* --depth (cppn) */
  gint        width_per_layer;  /* --width-per-layer (cppn) */
  const char *cascade;          /* --cascade (detect) */
  gdouble     scale_factor;     /* --scale-factor (detect) */
  gint        min_neighbors;    /* --min-neighbors (detect) */
  gint        min_size;         /* --min-size (detect) */
  gint        ngf;              /* --ngf: U-Net base width (generator, train-step) */
  gint        batch;            /* --batch (generator, train-step) */
  const char *model;            /* --model (colorize); NULL: the bench's default */
  const char *layer;            /* --layer (conv): a conv or convt description line */
  gint        channels;         /* --channels (conv): the layer's input channels */
  gboolean    backward;         /* --backward (conv): forward and backward in training */
} CliBenchCommon;

typedef struct _NpBench CliBench;
struct _NpBench
{
  const char   *name;
  const char   *summary;
  /* For benches of one GEGL op on --image: the op and its pixel format. */
  const char   *op;
  const char   *format;
  gpointer    (*setup)    (const CliBench *bench, const CliBenchCommon *common, GError **error);
  void        (*run)      (gpointer state);
  /* Appends `"key": value, ` pairs: at least width and height. */
  void        (*report)   (gpointer state, double median_ms, GString *json);
  void        (*teardown) (gpointer state);
};

extern const CliBench cli_benches[];

/* The CPPN renderer (bench-cppn.c). */
gpointer cli_bench_cppn_setup    (const CliBench *bench, const CliBenchCommon *common, GError **error);
void     cli_bench_cppn_run      (gpointer state);
void     cli_bench_cppn_report   (gpointer state, double median_ms, GString *json);
void     cli_bench_cppn_teardown (gpointer state);

/* The shared implementation of op benches (setup/run/report/teardown). */
gpointer cli_bench_op_setup    (const CliBench *bench, const CliBenchCommon *common, GError **error);
void     cli_bench_op_run      (gpointer state);
void     cli_bench_op_report   (gpointer state, double median_ms, GString *json);
void     cli_bench_op_teardown (gpointer state);

/* Benches of a core filter on --image as R'G'B'A u8 (bench-filters.c): the
 * shared setup/report/teardown and one run function per filter. */
gpointer cli_bench_filter_setup    (const CliBench *bench, const CliBenchCommon *common, GError **error);
void     cli_bench_filter_report   (gpointer state, double median_ms, GString *json);
void     cli_bench_filter_teardown (gpointer state);
void     cli_bench_canny_run       (gpointer state);
void     cli_bench_canny_gray_run  (gpointer state);
void     cli_bench_contours_run    (gpointer state);

#define CLI_BENCH_FILTER(name_, summary_, run_)                    \
  { name_, summary_, NULL, NULL, cli_bench_filter_setup, run_,    \
    cli_bench_filter_report, cli_bench_filter_teardown }
/* bench detect (bench-detect.c). */
gpointer cli_bench_detect_setup    (const CliBench *bench, const CliBenchCommon *common, GError **error);
void     cli_bench_detect_run      (gpointer state);
void     cli_bench_detect_report   (gpointer state, double median_ms, GString *json);
void     cli_bench_detect_teardown (gpointer state);
/* The generator network (bench-generator.c). */
gpointer cli_bench_generator_setup    (const CliBench *bench, const CliBenchCommon *common, GError **error);
void     cli_bench_generator_run      (gpointer state);
void     cli_bench_generator_report   (gpointer state, double median_ms, GString *json);
void     cli_bench_generator_teardown (gpointer state);

/* One convolution layer (bench-conv.c). */
gpointer cli_bench_conv_setup    (const CliBench *bench, const CliBenchCommon *common, GError **error);
void     cli_bench_conv_run      (gpointer state);
void     cli_bench_conv_report   (gpointer state, double median_ms, GString *json);
void     cli_bench_conv_teardown (gpointer state);

/* One training step (bench-train.c). */
gpointer cli_bench_train_setup    (const CliBench *bench, const CliBenchCommon *common, GError **error);
void     cli_bench_train_run      (gpointer state);
void     cli_bench_train_report   (gpointer state, double median_ms, GString *json);
void     cli_bench_train_teardown (gpointer state);

/* neuropaint:colorize on a 12-megapixel photo (bench-colorize.c). */
gpointer cli_bench_colorize_setup    (const CliBench *bench, const CliBenchCommon *common, GError **error);
void     cli_bench_colorize_run      (gpointer state);
void     cli_bench_colorize_report   (gpointer state, double median_ms, GString *json);
void     cli_bench_colorize_teardown (gpointer state);

#define CLI_BENCH_OP(name_, summary_, op_, format_)                         \
  { name_, summary_, op_, format_, cli_bench_op_setup, cli_bench_op_run, \
    cli_bench_op_report, cli_bench_op_teardown }

G_END_DECLS
