/* neuropaint — benchmark of the generator network itself: the seed's U-Net
 * (3 input channels, batch norm on running statistics, random weights) on a
 * batch of --size images, tensor in, tensor out, so the figure is the
 * network's alone and comparable with PyTorch's (bench/bench_generator.py). */
#include "config.h"
#include "bench.h"
#include "neuropaint.h"

typedef struct
{
  NpNet    *net;
  NpTensor *input;
  NpCompute compute;   /* inference as the model says, on --threads */
  double    flops;
} CliGeneratorBench;

gpointer
cli_bench_generator_setup (const CliBench *bench, const CliBenchCommon *common, GError **error)
{
  g_autoptr(GHashTable) params = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_autofree gchar *description = NULL;
  CliGeneratorBench *state;
  NpNet            *net;
  NpTensor         *input;
  gint              width = common->width ? common->width : 256;
  gint              height = common->height ? common->height : 320;

  g_hash_table_insert (params, "ngf", g_strdup_printf ("%d", common->ngf));
  description = np_arch_describe ("unet", params, error);
  if (description == NULL || (net = np_net_new (description, error)) == NULL)
    return NULL;
  if (width % np_net_size_multiple (net) || height % np_net_size_multiple (net))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "--size: both sides must be multiples of %d for this U-Net", np_net_size_multiple (net));
      np_net_free (net);
      return NULL;
    }
  input = np_tensor_new (width, height, 3, common->batch, error);
  if (input == NULL)
    {
      np_net_free (net);
      return NULL;
    }
  np_net_init_random (net, 1, 0.02f);
  for (gint64 i = 0; i < np_tensor_n_elements (input); i++)
    input->data[i] = (i % 509) / 254.5f - 1;

  state = g_new0 (CliGeneratorBench, 1);
  state->net = net;
  state->input = input;
  state->compute = (NpCompute) { .n_threads = common->threads };
  state->flops = np_net_flops (net, width, height, common->batch);
  /* Any other shape error surfaces here, not while timing. */
  if (np_net_forward (net, (const NpTensor *const *) &state->input, 1, &state->compute, error) == NULL)
    {
      cli_bench_generator_teardown (state);
      return NULL;
    }
  return state;
}

void
cli_bench_generator_run (gpointer data)
{
  CliGeneratorBench *state = data;
  np_net_forward (state->net, (const NpTensor *const *) &state->input, 1, &state->compute, NULL);
}

void
cli_bench_generator_report (gpointer data, double median_ms, GString *json)
{
  CliGeneratorBench *state = data;

  g_string_append_printf (json, "\"width\": %" G_GINT64_FORMAT ", \"height\": %" G_GINT64_FORMAT
                          ", \"batch\": %" G_GINT64_FORMAT ", \"parameters\": %" G_GINT64_FORMAT
                          ", \"gflop\": %.3f, \"gflops\": %.1f, ",
                          state->input->ne[0], state->input->ne[1], state->input->ne[3],
                          np_net_n_parameters (state->net, FALSE), state->flops / 1e9,
                          state->flops / 1e6 / median_ms);
}

void
cli_bench_generator_teardown (gpointer data)
{
  CliGeneratorBench *state = data;
  np_net_free (state->net);
  np_tensor_free (state->input);
  g_free (state);
}
