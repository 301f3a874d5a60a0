/* nn-forward MODEL INPUTS OUTPUT [THREADS] — runs a model file on tensors
 * read from a safetensors file (one per input layer, named as the layer) and
 * writes the result as tensor "output" (F32): the bridge the PyTorch parity
 * tests (tests/oracle/test_nn_torch.py) drive our forward through.
 * When INPUTS also holds "d_output", the network runs in training mode and
 * backward too, and OUTPUT also gets "d.INPUT" per input and "grad.PARAM"
 * per trainable parameter. */
#include "neuropaint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NpNet) net = NULL;
  g_autoptr(NpSafetensors) in = NULL;
  g_autoptr(GPtrArray) inputs = g_ptr_array_new ();
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) tensors = g_ptr_array_new ();
  const NpTensor *out;
  NpTensor *d_output;

  if (argc < 4)
    {
      fprintf (stderr, "usage: nn-forward MODEL INPUTS OUTPUT [THREADS]\n");
      return 1;
    }
  if ((net = np_net_load (argv[1], &error)) == NULL || (in = np_safetensors_read (argv[2], &error)) == NULL)
    goto fail;
  d_output = np_safetensors_get (in, "d_output");
  np_net_set_training (net, d_output != NULL);
  for (gint i = 0; i < np_net_n_layers (net); i++)
    {
      NpLayer  *l = np_net_layer (net, i);
      NpTensor *t;
      if (l->klass->kind != NP_LAYER_INPUT)
        continue;
      if ((t = np_safetensors_get (in, l->name)) == NULL)
        {
          fprintf (stderr, "nn-forward: no tensor “%s” in %s\n", l->name, argv[2]);
          return 2;
        }
      g_ptr_array_add (inputs, t);
    }
  out = np_net_forward (net, (const NpTensor *const *) inputs->pdata, (gint) inputs->len,
                        argc > 4 ? atoi (argv[4]) : 1, &error);
  if (out == NULL)
    goto fail;
  g_ptr_array_add (names, g_strdup ("output"));
  g_ptr_array_add (tensors, (gpointer) out);
  if (d_output)
    {
      gint k = 0;
      /* Shaped as the output, whatever rank the file gave it. */
      memcpy (d_output->ne, out->ne, sizeof out->ne);
      memcpy (d_output->nb, out->nb, sizeof out->nb);
      if (!np_net_backward (net, d_output, argc > 4 ? atoi (argv[4]) : 1, &error))
        goto fail;
      for (gint i = 0; i < np_net_n_layers (net); i++)
        {
          NpLayer *l = np_net_layer (net, i);
          if (l->klass->kind == NP_LAYER_INPUT)
            {
              g_ptr_array_add (names, g_strdup_printf ("d.%s", l->name));
              g_ptr_array_add (tensors, (gpointer) np_net_input_grad (net, k++));
            }
          for (gint j = 0; j < l->n_params; j++)
            if (l->grads[j])
              {
                g_ptr_array_add (names, g_strdup_printf ("grad.%s.%s", l->name, l->klass->param_names[j]));
                g_ptr_array_add (tensors, l->grads[j]);
              }
        }
    }
  if (!np_safetensors_write (argv[3], NULL, (const char *const *) names->pdata,
                             (NpTensor *const *) tensors->pdata, (gint) names->len, NP_DTYPE_F32, &error))
    goto fail;
  return 0;

fail:
  fprintf (stderr, "nn-forward: %s\n", error->message);
  return 2;
}
