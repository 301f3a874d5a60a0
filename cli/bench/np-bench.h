/* neuropaint — the benchmark registry behind `neuropaint bench`.
 *
 * A benchmark prepares its input once (setup), is timed over `repeat` calls of
 * run, and adds its own JSON fields (sizes, throughput) in report. The timing
 * loop and the JSON line are shared in cmd-bench.c; rows live in np_benches[].
 */
#pragma once

#include "np-cli.h"

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
} NpBenchCommon;

typedef struct _NpBench NpBench;
struct _NpBench
{
  const char   *name;
  const char   *summary;
  /* For benches of one GEGL op on --image: the op and its pixel format. */
  const char   *op;
  const char   *format;
  gpointer    (*setup)    (const NpBench *bench, const NpBenchCommon *common, GError **error);
  void        (*run)      (gpointer state);
  /* Appends `"key": value, ` pairs: at least width and height. */
  void        (*report)   (gpointer state, double median_ms, GString *json);
  void        (*teardown) (gpointer state);
};

extern const NpBench np_benches[];

/* The CPPN renderer (bench-cppn.c). */
gpointer np_bench_cppn_setup    (const NpBench *bench, const NpBenchCommon *common, GError **error);
void     np_bench_cppn_run      (gpointer state);
void     np_bench_cppn_report   (gpointer state, double median_ms, GString *json);
void     np_bench_cppn_teardown (gpointer state);

/* The shared implementation of op benches (setup/run/report/teardown). */
gpointer np_bench_op_setup    (const NpBench *bench, const NpBenchCommon *common, GError **error);
void     np_bench_op_run      (gpointer state);
void     np_bench_op_report   (gpointer state, double median_ms, GString *json);
void     np_bench_op_teardown (gpointer state);

/* Benches of a core filter on --image as R'G'B'A u8 (bench-filters.c): the
 * shared setup/report/teardown and one run function per filter. */
gpointer np_bench_filter_setup    (const NpBench *bench, const NpBenchCommon *common, GError **error);
void     np_bench_filter_report   (gpointer state, double median_ms, GString *json);
void     np_bench_filter_teardown (gpointer state);
void     np_bench_canny_run       (gpointer state);
void     np_bench_canny_gray_run  (gpointer state);
void     np_bench_contours_run    (gpointer state);

#define NP_BENCH_FILTER(name_, summary_, run_)                    \
  { name_, summary_, NULL, NULL, np_bench_filter_setup, run_,    \
    np_bench_filter_report, np_bench_filter_teardown }
/* bench detect (bench-detect.c). */
gpointer np_bench_detect_setup    (const NpBench *bench, const NpBenchCommon *common, GError **error);
void     np_bench_detect_run      (gpointer state);
void     np_bench_detect_report   (gpointer state, double median_ms, GString *json);
void     np_bench_detect_teardown (gpointer state);
/* The generator network (bench-generator.c). */
gpointer np_bench_generator_setup    (const NpBench *bench, const NpBenchCommon *common, GError **error);
void     np_bench_generator_run      (gpointer state);
void     np_bench_generator_report   (gpointer state, double median_ms, GString *json);
void     np_bench_generator_teardown (gpointer state);

/* One training step (bench-train.c). */
gpointer np_bench_train_setup    (const NpBench *bench, const NpBenchCommon *common, GError **error);
void     np_bench_train_run      (gpointer state);
void     np_bench_train_report   (gpointer state, double median_ms, GString *json);
void     np_bench_train_teardown (gpointer state);

/* neuropaint:colorize on a 12-megapixel photo (bench-colorize.c). */
gpointer np_bench_colorize_setup    (const NpBench *bench, const NpBenchCommon *common, GError **error);
void     np_bench_colorize_run      (gpointer state);
void     np_bench_colorize_report   (gpointer state, double median_ms, GString *json);
void     np_bench_colorize_teardown (gpointer state);

#define NP_BENCH_OP(name_, summary_, op_, format_)                         \
  { name_, summary_, op_, format_, np_bench_op_setup, np_bench_op_run, \
    np_bench_op_report, np_bench_op_teardown }

G_END_DECLS
