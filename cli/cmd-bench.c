/* neuropaint bench — time a stage in-process and print one JSON line.
 *
 * Whole-command timings are dominated by GEGL's start-up and PNG coding, so
 * every benchmark here times the stage alone, after a warm-up run. */
#include "config.h"
#include "np-bench.h"

#include <stdio.h>

const NpBench np_benches[] = {
  NP_BENCH_OP ("gray",      "neuropaint:gray (BT.601 luma), float RGBA",   "neuropaint:gray",          "R'G'B'A float"),
  NP_BENCH_OP ("threshold", "neuropaint:rgb-threshold at 200, u8 RGBA",   "neuropaint:rgb-threshold", "R'G'B'A u8"),
  { "generator", "the seed's U-Net (--ngf, --size, --batch), BN running statistics, random weights",
    NULL, NULL, np_bench_generator_setup, np_bench_generator_run, np_bench_generator_report,
    np_bench_generator_teardown },
  { NULL }
};

static gchar *opt_image;
static gint   opt_ngf = 32;
static gchar *opt_size = "256x320";
static gint   opt_batch = 1;
static gint   opt_threads = 1;
static gint   opt_repeat = 10;
static gchar **opt_names;

static const GOptionEntry entries[] = {
  { "image", 'i', 0, G_OPTION_ARG_FILENAME, &opt_image, "Input image (for the image benchmarks)", "FILE" },
  { "threads", 'j', 0, G_OPTION_ARG_INT, &opt_threads, "Threads (default 1)", "N" },
  { "repeat", 'r', 0, G_OPTION_ARG_INT, &opt_repeat, "Timed runs after one warm-up (default 10)", "R" },
  { "ngf", 0, 0, G_OPTION_ARG_INT, &opt_ngf, "U-Net base width for the generator bench (default 32)", "N" },
  { "size", 0, 0, G_OPTION_ARG_STRING, &opt_size, "Image size for the generator bench (default 256x320)", "WxH" },
  { "batch", 0, 0, G_OPTION_ARG_INT, &opt_batch, "Batch for the generator bench (default 1)", "B" },
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_names, NULL, NULL },
  { NULL }
};

static const NpBench *
find_bench (const char *name)
{
  for (const NpBench *b = np_benches; b->name; b++)
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
run_bench (const NpBench *bench, const NpBenchCommon *common)
{
  g_autoptr(GError) error = NULL;
  g_autofree double *ms = g_new (double, common->repeat);
  g_autoptr(GString) json = g_string_new (NULL);
  gpointer state = bench->setup (bench, common, &error);
  double   median;

  if (state == NULL)
    return np_cli_fail ("bench", NP_EXIT_FAILED, "%s: %s", bench->name, error->message);

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
  return NP_EXIT_OK;
}

int
np_cmd_bench (int argc, char **argv, gboolean do_help)
{
  g_autoptr(GString) list = g_string_new ("Benchmarks:\n");
  NpBenchCommon common;
  int           code, width, height;

  for (const NpBench *b = np_benches; b->name; b++)
    g_string_append_printf (list, "  %-12s %s\n", b->name, b->summary);
  g_string_append (list, "\nEach run prints one JSON line: bench, width, height, threads, repeat, "
                         "median_ms, min_ms and the bench's own figures.\n"
                         "Example: neuropaint bench canny --image photo.jpg --threads 2 --repeat 20");

  if (!np_cli_parse ("bench", "BENCH…", "Time stages in-process; print JSON lines.",
                     list->str, entries, &argc, &argv, do_help, &code))
    return code;

  if (opt_names == NULL)
    return np_cli_fail ("bench", NP_EXIT_USAGE, "name a benchmark (see --help)");
  if (opt_threads < 1 || opt_threads > 1024)
    return np_cli_fail ("bench", NP_EXIT_USAGE, "--threads must be between 1 and 1024");
  if (opt_repeat < 1 || opt_repeat > 100000)
    return np_cli_fail ("bench", NP_EXIT_USAGE, "--repeat must be between 1 and 100000");

  if (sscanf (opt_size, "%dx%d", &width, &height) != 2 || width < 1 || height < 1
      || width > 16384 || height > 16384)
    return np_cli_fail ("bench", NP_EXIT_USAGE, "--size wants WIDTHxHEIGHT, e.g. 256x320");
  if (opt_ngf < 1 || opt_ngf > 1024 || opt_batch < 1 || opt_batch > 1024)
    return np_cli_fail ("bench", NP_EXIT_USAGE, "--ngf and --batch must be between 1 and 1024");

  g_object_set (gegl_config (), "threads", opt_threads, NULL);
  common = (NpBenchCommon) { opt_image, opt_threads, opt_repeat, opt_ngf, width, height, opt_batch };

  for (int i = 0; opt_names[i]; i++)
    if (find_bench (opt_names[i]) == NULL)
      return np_cli_fail ("bench", NP_EXIT_USAGE, "unknown benchmark “%s” (see --help)", opt_names[i]);
  for (int i = 0; opt_names[i]; i++)
    if ((code = run_bench (find_bench (opt_names[i]), &common)) != NP_EXIT_OK)
      return code;
  return NP_EXIT_OK;
}
