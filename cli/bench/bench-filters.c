/* neuropaint — benchmarks of the core's whole-image filters on --image.
 *
 * These time the core call alone (NpImage in, NpImage out), the same work as
 * the OpenCV calls bench/bench_filters.py times; the op benches (bench-op.c)
 * add GEGL's buffer copies. */
#include "config.h"
#include "bench.h"
#include "neuropaint.h"

typedef struct
{
  NpImage *in, *out;
  gint     threads;
} CliFilterBench;

gpointer
cli_bench_filter_setup (const CliBench *bench, const CliBenchCommon *common, GError **error)
{
  const Babl *format = babl_format ("R'G'B'A u8");
  g_autoptr(GeglBuffer) buffer = NULL;
  const GeglRectangle *box;
  CliFilterBench *state;

  if (common->image == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "bench %s needs --image FILE", bench->name);
      return NULL;
    }
  buffer = cli_load_image (common->image, format, error);
  if (buffer == NULL)
    return NULL;
  box = gegl_buffer_get_extent (buffer);

  state = g_new0 (CliFilterBench, 1);
  state->threads = common->threads;
  state->in = np_image_new (NP_SAMPLE_U8, box->width, box->height, 4, error);
  state->out = state->in ? np_image_new (NP_SAMPLE_U8, box->width, box->height, 4, error) : NULL;
  if (state->out == NULL)
    {
      cli_bench_filter_teardown (state);
      return NULL;
    }
  gegl_buffer_get (buffer, box, 1.0, format, state->in->data, state->in->stride, GEGL_ABYSS_NONE);
  return state;
}

static void
run_canny (CliFilterBench *state, NpCannyMode mode)
{
  NpCannyParams params = { 100, 200, NP_CANNY_GRADIENT_L1, mode, -1 };

  if (!np_canny (state->in, state->out, &params, state->threads, NULL))
    g_error ("np_canny failed");
}

void
cli_bench_canny_run (gpointer state)
{
  run_canny (state, NP_CANNY_PER_CHANNEL);
}

void
cli_bench_canny_gray_run (gpointer state)
{
  run_canny (state, NP_CANNY_GRAY);
}

void
cli_bench_contours_run (gpointer data)
{
  CliFilterBench *state = data;
  static const guint8 seed[] = { 50, 100, 150, 200 };

  np_contours (state->in, state->out, seed, G_N_ELEMENTS (seed), state->threads);
}

void
cli_bench_filter_report (gpointer data, double median_ms, GString *json)
{
  CliFilterBench *state = data;
  double         mpix = (double) state->in->width * state->in->height / 1e6;

  g_string_append_printf (json, "\"width\": %d, \"height\": %d, \"mpix_per_s\": %.2f, ",
                          state->in->width, state->in->height,
                          median_ms > 0 ? mpix / (median_ms / 1e3) : 0.0);
}

void
cli_bench_filter_teardown (gpointer data)
{
  CliFilterBench *state = data;

  g_clear_pointer (&state->in, np_image_free);
  g_clear_pointer (&state->out, np_image_free);
  g_free (state);
}
