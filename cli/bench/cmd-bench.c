/* neuropaint bench — time a stage in-process and print one JSON line.
 *
 * Whole-command timings are dominated by GEGL's start-up and PNG coding, so
 * every benchmark here times the stage alone, after a warm-up run. */
#include "config.h"
#include "bench.h"

#include <stdio.h>

const CliBench cli_benches[] = {
  CLI_BENCH_OP ("gray",      "neuropaint:gray (BT.601 luma), float RGBA",   "neuropaint:gray",          "R'G'B'A float"),
  CLI_BENCH_OP ("threshold", "neuropaint:rgb-threshold at 200, u8 RGBA",   "neuropaint:rgb-threshold", "R'G'B'A u8"),
  CLI_BENCH_FILTER ("canny",      "np_canny per channel, 100/200, L1 (core, u8 RGBA)", cli_bench_canny_run),
  CLI_BENCH_FILTER ("canny-gray", "np_canny on the luma, 100/200, L1 (core, u8 RGBA)", cli_bench_canny_gray_run),
  CLI_BENCH_FILTER ("contours",   "np_contours, the seed's 12 passes (core, u8 RGBA)", cli_bench_contours_run),
  CLI_BENCH_OP ("canny-op",  "neuropaint:canny defaults through GEGL, u8 RGBA", "neuropaint:canny",         "R'G'B'A u8"),
  { "cppn", "CPPN render (core, float RGBA) of --size with --depth × --width-per-layer, rgb",
    NULL, NULL, cli_bench_cppn_setup, cli_bench_cppn_run, cli_bench_cppn_report, cli_bench_cppn_teardown },
  { "detect", "Haar face detection (frontal face default) on --image's luma",
    NULL, NULL, cli_bench_detect_setup, cli_bench_detect_run, cli_bench_detect_report,
    cli_bench_detect_teardown },
  { "generator", "the seed's U-Net (--ngf, --size, --batch), BN running statistics, random weights",
    NULL, NULL, cli_bench_generator_setup, cli_bench_generator_run, cli_bench_generator_report,
    cli_bench_generator_teardown },
  { "conv", "one convolution: --layer LINE on --batch inputs of --channels × --size, forward (or --backward too)",
    NULL, NULL, cli_bench_conv_setup, cli_bench_conv_run, cli_bench_conv_report, cli_bench_conv_teardown },
  { "train-step", "one pix2pix step: U-Net (--ngf) and PatchGAN (ndf = ngf), --batch pairs at --size, Adam",
    NULL, NULL, cli_bench_train_setup, cli_bench_train_run, cli_bench_train_report, cli_bench_train_teardown },
  { "sr-train-step", "one super-resolution step: the seed's SR net (--ngf features), --batch pictures of half "
    "--size to --size, MSE, Adam",
    NULL, NULL, cli_bench_train_setup, cli_bench_train_run, cli_bench_train_report, cli_bench_train_teardown },
  { "colorize", "neuropaint:colorize (--model, default gray2color) on --image or a 4000×3000 photo, u8 RGBA",
    NULL, NULL, cli_bench_colorize_setup, cli_bench_colorize_run, cli_bench_colorize_report,
    cli_bench_colorize_teardown },
  { NULL }
};

static gchar *opt_image;
static gchar *opt_cascade;
static gdouble opt_scale_factor = 1.1;
static gint   opt_min_neighbors = 3;
static gint   opt_min_size = 30;
static gint   opt_ngf = 32;
static gint   opt_batch = 1;
static gint   opt_repeat = 10;
static gchar **opt_names;
static gchar *opt_size;
static gint   opt_depth = 10;
static gint   opt_width_per_layer = 15;
static gchar *opt_model;
static gchar *opt_layer;
static gint   opt_channels = 64;
static gboolean opt_backward;

static const GOptionEntry entries[] = {
  { "image", 'i', 0, G_OPTION_ARG_FILENAME, &opt_image, "Input image (for the image benchmarks)", "FILE" },
  CLI_THREADS_ENTRY ("Threads, up to 64 (default: every processor it may use)"),
  { "repeat", 'r', 0, G_OPTION_ARG_INT, &opt_repeat, "Timed runs after one warm-up (default 10)", "R" },
  { "size", 's', 0, G_OPTION_ARG_STRING, &opt_size,
    "Picture size: cppn (default 2048x2048), generator and train-step (default 256x320), "
    "colorize's synthetic photo (default 4000x3000)", "WxH" },
  { "depth", 0, 0, G_OPTION_ARG_INT, &opt_depth, "cppn: hidden layers (default 10)", "N" },
  { "width-per-layer", 0, 0, G_OPTION_ARG_INT, &opt_width_per_layer,
    "cppn: units per hidden layer (default 15)", "N" },
  { "cascade", 0, 0, G_OPTION_ARG_FILENAME, &opt_cascade, "detect: Haar cascade XML (default frontal face)", "FILE" },
  { "scale-factor", 0, 0, G_OPTION_ARG_DOUBLE, &opt_scale_factor, "detect: pyramid step (default 1.1)", "F" },
  { "min-neighbors", 0, 0, G_OPTION_ARG_INT, &opt_min_neighbors, "detect: minNeighbors (default 3)", "N" },
  { "min-size", 0, 0, G_OPTION_ARG_INT, &opt_min_size, "detect: smallest face (default 30)", "PX" },
  { "ngf", 0, 0, G_OPTION_ARG_INT, &opt_ngf, "U-Net base width for generator and train-step (default 32)", "N" },
  { "batch", 0, 0, G_OPTION_ARG_INT, &opt_batch, "Batch for generator and train-step (default 1)", "B" },
  { "model", 0, 0, G_OPTION_ARG_STRING, &opt_model, "colorize: the model, a name or a file (default gray2color)",
    "MODEL" },
  { "layer", 0, 0, G_OPTION_ARG_STRING, &opt_layer,
    "conv: the layer, a description line (e.g. \"conv out=128 k=4 s=2 p=1\")", "LINE" },
  { "channels", 0, 0, G_OPTION_ARG_INT, &opt_channels, "conv: the layer's input channels (default 64)", "C" },
  { "backward", 0, 0, G_OPTION_ARG_NONE, &opt_backward, "conv: time a training forward and backward", NULL },
  CLI_MAX_PIXELS_ENTRY,
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_names, NULL, NULL },
  { NULL }
};

static const CliBench *
find_bench (const char *name)
{
  for (const CliBench *b = cli_benches; b->name; b++)
    if (g_strcmp0 (b->name, name) == 0)
      return b;
  return NULL;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static int
run_bench (const CliBench *bench, const CliBenchCommon *common)
{
  g_autoptr(GError) error = NULL;
  g_autofree double *ms = g_new (double, common->repeat);
  g_autoptr(GString) json = g_string_new (NULL);
  gpointer state = bench->setup (bench, common, &error);
  double   median;

  if (state == NULL)
    return cli_fail ("bench", CLI_EXIT_FAILED, "%s: %s", bench->name, error->message);

  bench->run (state);  /* warm-up: first-touch page faults, lazy tables */
  for (int i = 0; i < common->repeat; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      bench->run (state);
      ms[i] = (g_get_monotonic_time () - t0) / 1e3;
    }
  qsort (ms, common->repeat, sizeof (double), compare_doubles);
  median = common->repeat % 2 ? ms[common->repeat / 2]
                              : (ms[common->repeat / 2 - 1] + ms[common->repeat / 2]) / 2;

  g_string_append_printf (json, "{\"bench\": \"%s\", ", bench->name);
  bench->report (state, median, json);
  g_string_append_printf (json, "\"threads\": %d, \"repeat\": %d, \"median_ms\": %.3f, \"min_ms\": %.3f}",
                          common->threads, common->repeat, median, ms[0]);
  printf ("%s\n", json->str);
  fflush (stdout);
  bench->teardown (state);
  return CLI_EXIT_OK;
}

int
cli_cmd_bench (int argc, char **argv, gboolean do_help)
{
  g_autoptr(GString) list = g_string_new ("Benchmarks:\n");
  CliBenchCommon common;
  int           code, width = 0, height = 0;

  for (const CliBench *b = cli_benches; b->name; b++)
    g_string_append_printf (list, "  %-12s %s\n", b->name, b->summary);
  g_string_append (list, "\nEach run prints one JSON line: bench, width, height, threads, repeat, "
                         "median_ms, min_ms and the bench's own figures.\n"
                         "Example: neuropaint bench canny --image photo.jpg --threads 2 --repeat 20\n"
                         "         neuropaint bench cppn --size 2048x2048 --depth 10 --width-per-layer 15 --threads 2\n"
                         "         neuropaint bench colorize --threads 2 --repeat 5   (peak_rss_mb: the process's peak memory)");

  if (!cli_parse ("bench", "BENCH…", "Time stages in-process; print JSON lines.",
                     list->str, entries, &argc, &argv, do_help, &code))
    return code;

  if (opt_names == NULL)
    return cli_fail ("bench", CLI_EXIT_USAGE, "name a benchmark (see --help)");
  if (cli_threads_option > CLI_MAX_THREADS)
    return cli_fail ("bench", CLI_EXIT_USAGE, "--threads must be at most %d", CLI_MAX_THREADS);
  if (opt_repeat < 1 || opt_repeat > 100000)
    return cli_fail ("bench", CLI_EXIT_USAGE, "--repeat must be between 1 and 100000");

  if (opt_size && (sscanf (opt_size, "%dx%d", &width, &height) != 2 || width < 1 || height < 1
                   || width > 65536 || height > 65536))
    return cli_fail ("bench", CLI_EXIT_USAGE, "--size wants WIDTHxHEIGHT, e.g. 2048x2048, not “%s”", opt_size);
  if (opt_ngf < 1 || opt_ngf > 1024 || opt_batch < 1 || opt_batch > 1024 || opt_channels < 1 || opt_channels > 65536)
    return cli_fail ("bench", CLI_EXIT_USAGE, "--ngf and --batch must be between 1 and 1024, --channels 65536");

  g_object_set (gegl_config (), "threads", MIN (cli_threads (), CLI_MAX_THREADS), NULL);
  common = (CliBenchCommon) {
    .image = opt_image, .threads = MIN (cli_threads (), CLI_MAX_THREADS), .repeat = opt_repeat,
    .width = width, .height = height, .depth = opt_depth, .width_per_layer = opt_width_per_layer,
    .cascade = opt_cascade, .scale_factor = opt_scale_factor,
    .min_neighbors = opt_min_neighbors, .min_size = opt_min_size,
    .ngf = opt_ngf, .batch = opt_batch, .model = opt_model,
    .layer = opt_layer, .channels = opt_channels, .backward = opt_backward,
  };

  for (int i = 0; opt_names[i]; i++)
    if (find_bench (opt_names[i]) == NULL)
      return cli_fail ("bench", CLI_EXIT_USAGE, "unknown benchmark “%s” (see --help)", opt_names[i]);
  for (int i = 0; opt_names[i]; i++)
    if ((code = run_bench (find_bench (opt_names[i]), &common)) != CLI_EXIT_OK)
      return code;
  return CLI_EXIT_OK;
}
