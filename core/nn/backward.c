/* neuropaint — backward through a network, layers in reverse order.
 *
 * A layer's output needs a gradient when something behind it does: a layer
 * with parameters being trained, or an input whose gradient was asked for
 * (PyTorch's requires_grad, worked out per call). Layers whose output needs
 * none are skipped, and nobody computes a gradient nobody reads: a
 * discriminator training alone never computes the gradient of its input, and
 * one frozen under a generator computes no parameter gradients. */
#include "np-nn-private.h"

#include <string.h>

typedef struct
{
  NpTensor *const *tensors;
} ZeroJob;

static void
zero_range (gsize start, gsize end, guint part, gpointer data)
{
  const ZeroJob *job = data;

  for (gsize i = start; i < end; i++)
    if (job->tensors[i])
      memset (job->tensors[i]->data, 0, np_tensor_n_elements (job->tensors[i]) * sizeof (gfloat));
}

gboolean
np_net_backward (NpNet *net, const NpTensor *d_output, NpGradFlags what, gint n_threads,
                 GError **error)
{
  guint     n = net->layers->len, last = n - 1;
  g_autofree gboolean *needs = g_new0 (gboolean, n);
  g_autofree NpTensor **zero = g_new0 (NpTensor *, n);
  ZeroJob   zero_job = { zero };
  NpLayerRun run;

  g_return_val_if_fail (net != NULL && d_output != NULL, FALSE);

  if (!net->plan_training || net->d_outputs == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "backward needs a forward in training mode first");
      return FALSE;
    }
  if (!np_tensor_same_shape (d_output, net->outputs[last]))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "the gradient is not shaped as the output");
      return FALSE;
    }
  if ((what & NP_GRAD_PARAMS) && net->grad_block == NULL && !np_net_zero_grad (net, error))
    return FALSE;

  for (guint i = 0; i < n; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);

      if (np_layer_is_input (l))
        needs[i] = (what & NP_GRAD_INPUTS) != 0;
      else
        needs[i] = (what & NP_GRAD_PARAMS) && l->n_params > 0
                   && l->klass->param_kinds[0] == NP_PARAM_TRAINABLE;
      for (int j = 0; j < l->n_inputs; j++)
        needs[i] |= needs[l->inputs[j]];
      /* Layers add into their inputs' gradients: start those at zero. */
      zero[i] = needs[i] && i != last ? net->d_outputs[i] : NULL;
    }
  np_parallel_for (n, 1, n_threads, zero_range, &zero_job);
  memcpy (net->d_outputs[last]->data, d_output->data, np_tensor_n_elements (d_output) * sizeof (gfloat));

  /* The forward's statistics and first image; its keys are the layers'. */
  run = net->run;
  run.n_threads = CLAMP (n_threads, 1, 256);
  run.param_grads = (what & NP_GRAD_PARAMS) != 0;
  run.update_running = FALSE;
  for (gint i = (gint) last; i >= 0; i--)
    {
      NpLayer        *l = g_ptr_array_index (net->layers, i);
      const NpTensor *in[NP_LAYER_MAX_INPUTS];
      NpTensor       *d_in[NP_LAYER_MAX_INPUTS];

      if (np_layer_is_input (l) || !needs[i])
        continue;
      for (int j = 0; j < l->n_inputs; j++)
        {
          in[j] = net->outputs[l->inputs[j]];
          d_in[j] = needs[l->inputs[j]] ? net->d_outputs[l->inputs[j]] : NULL;
        }
      l->klass->backward (l, in, net->outputs[i], net->d_outputs[i], d_in, &run);
    }
  return TRUE;
}

const NpTensor *
np_net_input_grad (NpNet *net, gint i)
{
  NpLayer *l = np_net_input_layer (net, i);

  g_return_val_if_fail (net->d_outputs != NULL, NULL);
  g_return_val_if_fail (l != NULL, NULL);
  return net->d_outputs[l->index];
}
