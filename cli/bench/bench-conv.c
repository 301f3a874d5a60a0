/* neuropaint — benchmark of one convolution layer: --layer (a description
 * line, conv or convt) on --batch random inputs of --channels × --size, its
 * forward alone or, with --backward, a training forward and backward (both
 * gradients), at the CPU level the core runs (NP_CPU picks a narrower one,
 * generic the OpenBLAS route), so bench/bench_conv.py can put every layer
 * kind of the models beside PyTorch's. */
#include "config.h"
#include "bench.h"
#include "neuropaint.h"

#include <string.h>

typedef struct
{
  NpNet    *net;
  NpTensor *input, *d_output;
  NpCompute compute;
  gboolean  backward;
  double    flops;
} CliConvBench;

gpointer
cli_bench_conv_setup (const CliBench *bench, const CliBenchCommon *common, GError **error)
{
  g_autofree gchar *description = NULL;
  CliConvBench *state;
  const NpTensor *in[1], *y;
  gint width = common->width ? common->width : 64, height = common->height ? common->height : 80;

  if (common->layer == NULL || !(g_str_has_prefix (common->layer, "conv ") || g_str_has_prefix (common->layer, "convt ")))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "--layer wants a conv or convt line, e.g. \"conv out=128 k=4 s=2 p=1\"");
      return NULL;
    }
  /* A layer with parameters needs a name; the line may give its own. */
  description = g_strdup_printf ("input c=%d\n%s%s", common->channels, common->layer,
                                 strstr (common->layer, "name=") ? "" : " name=layer");
  state = g_new0 (CliConvBench, 1);
  state->backward = common->backward;
  state->compute = (NpCompute) { .n_threads = common->threads, .training = common->backward };
  if ((state->net = np_net_new (description, error)) == NULL
      || (state->input = np_tensor_new (width, height, common->channels, common->batch, error)) == NULL)
    {
      cli_bench_conv_teardown (state);
      return NULL;
    }
  np_net_init_random (state->net, 1, 0.02f);
  for (gint64 i = 0; i < np_tensor_n_elements (state->input); i++)
    state->input->data[i] = (i % 509) / 254.5f - 1;
  in[0] = state->input;
  /* Shape errors surface here, not while timing. */
  if ((y = np_net_forward (state->net, in, 1, &state->compute, error)) == NULL
      || (state->d_output = np_tensor_new (y->ne[0], y->ne[1], y->ne[2], y->ne[3], error)) == NULL)
    {
      cli_bench_conv_teardown (state);
      return NULL;
    }
  for (gint64 i = 0; i < np_tensor_n_elements (state->d_output); i++)
    state->d_output->data[i] = (i % 311) / 155.5f - 1;
  /* Backward: the gradients of the input and of the weights, each as much
   * work as forward. */
  state->flops = np_net_flops (state->net, width, height, common->batch) * (state->backward ? 3 : 1);
  return state;
}

void
cli_bench_conv_run (gpointer data)
{
  CliConvBench   *state = data;
  const NpTensor *in[] = { state->input };

  np_net_forward (state->net, in, 1, &state->compute, NULL);
  if (state->backward)
    {
      np_net_zero_grad (state->net, NULL);
      np_net_backward (state->net, state->d_output, NP_GRAD_PARAMS | NP_GRAD_INPUTS, state->compute.n_threads, NULL);
    }
}

void
cli_bench_conv_report (gpointer data, double median_ms, GString *json)
{
  CliConvBench *state = data;

  g_string_append_printf (json, "\"width\": %" G_GINT64_FORMAT ", \"height\": %" G_GINT64_FORMAT
                          ", \"channels\": %" G_GINT64_FORMAT ", \"batch\": %" G_GINT64_FORMAT
                          ", \"backward\": %s, \"cpu\": \"%s\", \"gflop\": %.3f, \"gflops\": %.1f, ",
                          state->input->ne[0], state->input->ne[1], state->input->ne[2], state->input->ne[3],
                          state->backward ? "true" : "false", np_cpu_level_name (np_cpu_level ()),
                          state->flops / 1e9, state->flops / 1e6 / median_ms);
}

void
cli_bench_conv_teardown (gpointer data)
{
  CliConvBench *state = data;

  np_net_free (state->net);
  np_tensor_free (state->input);
  np_tensor_free (state->d_output);
  g_free (state);
}
