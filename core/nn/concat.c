/* neuropaint — channel concatenation (the U-Net's skip connections):
 * out[n] = [a[n]; b[n]] along C. */
#include "np-nn-private.h"

#include <string.h>

static gint64
concat_out_channels (const NpLayer *layer, const gint64 *in_channels)
{
  return in_channels[0] + in_channels[1];
}

static gboolean
concat_shape (const NpLayer *layer, const NpTensor *const *in, gint64 out_ne[4], GError **error)
{
  if (in[0]->ne[0] != in[1]->ne[0] || in[0]->ne[1] != in[1]->ne[1] || in[0]->ne[3] != in[1]->ne[3])
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "layer %s: cannot concatenate %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                   " with %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " (sides must be multiples of the net's)",
                   layer->name ? layer->name : "concat", in[0]->ne[1], in[0]->ne[0], in[1]->ne[1], in[1]->ne[0]);
      return FALSE;
    }
  out_ne[0] = in[0]->ne[0], out_ne[1] = in[0]->ne[1];
  out_ne[2] = in[0]->ne[2] + in[1]->ne[2], out_ne[3] = in[0]->ne[3];
  return TRUE;
}

static void
concat_forward (NpLayer *layer, const NpTensor *const *in, NpTensor *out, const NpLayerRun *run)
{
  for (gint64 n = 0; n < out->ne[3]; n++)
    {
      gsize a = in[0]->ne[0] * in[0]->ne[1] * in[0]->ne[2] * sizeof (gfloat);
      gsize b = in[1]->ne[0] * in[1]->ne[1] * in[1]->ne[2] * sizeof (gfloat);
      /* Skipped when the producer already wrote into our memory. */
      if (np_tensor_at (in[0], 0, 0, 0, n) != np_tensor_at (out, 0, 0, 0, n))
        memcpy (np_tensor_at (out, 0, 0, 0, n), np_tensor_at (in[0], 0, 0, 0, n), a);
      if (np_tensor_at (in[1], 0, 0, 0, n) != np_tensor_at (out, 0, 0, in[0]->ne[2], n))
        memcpy (np_tensor_at (out, 0, 0, in[0]->ne[2], n), np_tensor_at (in[1], 0, 0, 0, n), b);
    }
}

static void
concat_backward (NpLayer *layer, const NpTensor *const *in, const NpTensor *out,
                 const NpTensor *d_out, NpTensor *const *d_in, const NpLayerRun *run)
{
  for (int j = 0; j < 2; j++)
    if (d_in[j])
      {
        NpTensor part = *d_out;
        part.data = np_tensor_at (d_out, 0, 0, j ? in[0]->ne[2] : 0, 0);
        part.ne[2] = in[j]->ne[2];
        np_nn_accumulate (d_in[j], &part, run->n_threads);
      }
}

static const NpLayerKey concat_keys[] = {
  { "with", NP_KEY_INPUT, .required = TRUE },
  { NULL }
};

const NpLayerClass np_concat_class = {
  .kind = NP_LAYER_CONCAT,
  .name = "concat",
  .n_inputs = 2,
  .keys = concat_keys,
  .out_channels = concat_out_channels,
  .shape = concat_shape,
  .param_shapes = np_nn_no_params,
  .forward = concat_forward,
  .backward = concat_backward,
  .concatenates = TRUE,
};
