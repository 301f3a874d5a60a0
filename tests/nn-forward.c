/* nn-forward MODEL INPUTS OUTPUT [THREADS] — runs a model file on tensors
 * read from a safetensors file (one per input layer, named as the layer) and
 * writes the result as tensor "output" (F32): the bridge the PyTorch parity
 * tests (tests/oracle/test_nn_torch.py) drive our forward through.
 * When INPUTS also holds "d_output", the network runs in training mode and
 * backward too, and OUTPUT also gets "d.INPUT" per input, "grad.PARAM"
 * per trainable parameter and "buffer.PARAM" per buffer (batch norm's
 * running statistics after the training forward). */
#include "neuropaint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  NpNet     *net;
  GPtrArray *names, *tensors;
} CollectJob;

/* Gradients as "grad.NAME"; buffers (running statistics, which training
 * forward updates) as "buffer.NAME". */
static void
collect (const char *name, NpTensor *t, gboolean trainable, gpointer data)
{
  CollectJob *job = data;

  g_ptr_array_add (job->names, g_strdup_printf ("%s.%s", trainable ? "grad" : "buffer", name));
  g_ptr_array_add (job->tensors, trainable ? np_net_grad (job->net, name) : t);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NpNet) net = NULL;
  g_autoptr(NpSafetensors) in = NULL;
  g_autoptr(GPtrArray) inputs = g_ptr_array_new ();
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) tensors = g_ptr_array_new ();
  g_autoptr(GHashTable) meta = NULL;
  const NpTensor *out;
  NpTensor *d_output;
  NpCompute compute;

  if (argc < 4)
    {
      fprintf (stderr, "usage: nn-forward MODEL INPUTS OUTPUT [THREADS]\n");
      return 1;
    }
  if ((net = np_net_load (argv[1], &error)) == NULL || (in = np_safetensors_read (argv[2], &error)) == NULL)
    goto fail;
  d_output = np_safetensors_get (in, "d_output");
  /* Batch norm as the model file says; training (dropout's key 0) when a
   * gradient is given. */
  compute = (NpCompute) { .n_threads = argc > 4 ? atoi (argv[4]) : 1, .training = d_output != NULL };
  for (gint i = 0; i < np_net_n_inputs (net); i++)
    {
      NpTensor *t = np_safetensors_get (in, np_net_input_name (net, i));
      if (t == NULL)
        {
          fprintf (stderr, "nn-forward: no tensor “%s” in %s\n", np_net_input_name (net, i), argv[2]);
          return 2;
        }
      g_ptr_array_add (inputs, t);
    }
  out = np_net_forward (net, (const NpTensor *const *) inputs->pdata, (gint) inputs->len, &compute, &error);
  if (out == NULL)
    goto fail;
  g_ptr_array_add (names, g_strdup ("output"));
  g_ptr_array_add (tensors, (gpointer) out);
  if (d_output)
    {
      CollectJob job = { net, names, tensors };

      /* Shaped as the output, whatever rank the file gave it. */
      memcpy (d_output->ne, out->ne, sizeof out->ne);
      memcpy (d_output->nb, out->nb, sizeof out->nb);
      if (!np_net_backward (net, d_output, NP_GRAD_PARAMS | NP_GRAD_INPUTS, compute.n_threads, &error))
        goto fail;
      for (gint i = 0; i < np_net_n_inputs (net); i++)
        {
          g_ptr_array_add (names, g_strdup_printf ("d.%s", np_net_input_name (net, i)));
          g_ptr_array_add (tensors, (gpointer) np_net_input_grad (net, i));
        }
      np_net_foreach_param (net, collect, &job);
    }
  /* The description, so a test can find the layers it needs (dropout's
   * index sets its mask). */
  meta = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (meta, "graph", (gpointer) np_net_description (net));
  if (!np_safetensors_write (argv[3], meta, (const char *const *) names->pdata,
                             (NpTensor *const *) tensors->pdata, (gint) names->len, NP_DTYPE_F32, &error))
    goto fail;
  return 0;

fail:
  fprintf (stderr, "nn-forward: %s\n", error->message);
  return 2;
}
