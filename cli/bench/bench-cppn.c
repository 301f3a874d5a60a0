/* neuropaint — benchmark of the CPPN renderer, core call to float RGBA.
 *
 * Reports GFLOP/s counting each multiply–add of the dense layers as 2 FLOPs
 * (activations and colour not counted), and the fraction of the fp32 FMA
 * bound of the machine in docs/seed.md: 115 GFLOP/s per core × threads. */
#include "config.h"
#include "bench.h"

#include "neuropaint.h"

#define CLI_BENCH_FLOPS_PER_CORE 115e9

typedef struct
{
  NpCppn *cppn;
  gfloat *pixels;
  gint    width, height, threads;
  gint    depth, size;
} CliCppnBench;

gpointer
cli_bench_cppn_setup (const CliBench *bench, const CliBenchCommon *common, GError **error)
{
  g_autofree CliCppnBench *state = g_new0 (CliCppnBench, 1);
  NpCppnParams params;
  gint         width = common->width ? common->width : 2048;
  gint         height = common->height ? common->height : 2048;

  np_cppn_params_init (&params);
  params.seed = 1;
  params.width = width;
  params.height = height;
  params.depth = common->depth;
  params.size = common->width_per_layer;
  state->cppn = np_cppn_new (&params, error);
  if (state->cppn == NULL)
    return NULL;
  state->pixels = g_try_new (gfloat, (gsize) width * height * 4);
  if (state->pixels == NULL)
    {
      np_cppn_free (state->cppn);
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "no memory for a %d×%d float picture",
                   width, height);
      return NULL;
    }
  state->width = width;
  state->height = height;
  state->threads = common->threads;
  state->depth = common->depth;
  state->size = common->width_per_layer;
  return g_steal_pointer (&state);
}

void
cli_bench_cppn_run (gpointer data)
{
  CliCppnBench *state = data;

  np_cppn_render (state->cppn, 0, 0, state->width, state->height, state->pixels,
                  (gsize) state->width * 4 * sizeof (gfloat), state->threads);
}

void
cli_bench_cppn_report (gpointer data, double median_ms, GString *json)
{
  CliCppnBench *state = data;
  double       pixels = (double) state->width * state->height;
  double       seconds = median_ms / 1e3;
  double       flops = 2.0 * np_cppn_macs_per_pixel (state->cppn) * pixels / seconds;

  g_string_append_printf (json, "\"width\": %d, \"height\": %d, \"depth\": %d, \"size\": %d, "
                          "\"flop_per_pixel\": %" G_GINT64_FORMAT ", \"mpix_per_s\": %.2f, "
                          "\"gflop_per_s\": %.1f, \"flop_bound_fraction\": %.3f, \"kernel\": \"%s\", ",
                          state->width, state->height, state->depth, state->size,
                          2 * np_cppn_macs_per_pixel (state->cppn), pixels / seconds / 1e6,
                          flops / 1e9, flops / (CLI_BENCH_FLOPS_PER_CORE * state->threads),
                          np_cppn_kernel_isa ());
}

void
cli_bench_cppn_teardown (gpointer data)
{
  CliCppnBench *state = data;

  np_cppn_free (state->cppn);
  g_free (state->pixels);
  g_free (state);
}
