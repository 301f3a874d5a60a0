/* nn-forward MODEL INPUTS OUTPUT [THREADS] — runs a model file on tensors
 * read from a safetensors file (one per input layer, named as the layer) and
 * writes the result as tensor "output" (F32): the bridge the PyTorch parity
 * tests (tests/oracle/test_nn_torch.py) drive our forward through. */
#include "neuropaint.h"

#include <stdio.h>
#include <stdlib.h>

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NpNet) net = NULL;
  g_autoptr(NpSafetensors) in = NULL;
  g_autoptr(GPtrArray) inputs = g_ptr_array_new ();
  const NpTensor *out;
  const char *name = "output";

  if (argc < 4)
    {
      fprintf (stderr, "usage: nn-forward MODEL INPUTS OUTPUT [THREADS]\n");
      return 1;
    }
  if ((net = np_net_load (argv[1], &error)) == NULL || (in = np_safetensors_read (argv[2], &error)) == NULL)
    goto fail;
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
  if (out == NULL || !np_safetensors_write (argv[3], NULL, &name, (NpTensor *const *) &out, 1,
                                            NP_DTYPE_F32, &error))
    goto fail;
  return 0;

fail:
  fprintf (stderr, "nn-forward: %s\n", error->message);
  return 2;
}
