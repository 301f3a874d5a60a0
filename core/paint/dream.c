/* neuropaint — dream faces: a noise model's picture for a seed.
 *
 * The noise experiment's generator learnt to turn 3 channels of N(0, 1)
 * noise into a face; given fresh noise it makes a face no photo showed. The
 * noise is drawn exactly as training draws it (np_tensor_fill_normal), from
 * the seed, so a seed names one face on every machine and thread count. */
#include "np-paint.h"

gboolean
np_paint_dream (NpModel *model, guint64 seed, NpImage *out, gint n_threads, GError **error)
{
  NpNet              *net = np_model_net (model);
  gint64              m = np_net_size_multiple (net), cout = np_net_output_channels (net);
  g_autoptr(NpTensor) noise = NULL;
  const NpTensor     *inputs[1], *y;

  g_return_val_if_fail (out->type == NP_SAMPLE_F32 && out->channels == 4, FALSE);

  if (!np_model_check_use (model, NP_MODEL_USE_NOISE, error))
    return FALSE;
  if (out->width % m || out->height % m)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "a dream of %d×%d pixels: the model needs multiples of %" G_GINT64_FORMAT,
                   out->width, out->height, m);
      return FALSE;
    }
  if ((noise = np_tensor_new (out->width, out->height, np_net_input_channels (net, 0), 1, error)) == NULL)
    return FALSE;
  np_tensor_fill_normal (noise, 0, seed);
  inputs[0] = noise;
  if ((y = np_net_forward (net, inputs, 1, &(NpCompute) { .n_threads = n_threads }, error)) == NULL)
    return FALSE;

  for (gint j = 0; j < out->height; j++)
    {
      gfloat *o = np_image_row (out, j);
      for (gint i = 0; i < out->width; i++)
        {
          gfloat values[3];
          for (gint c = 0; c < cout && c < 3; c++)
            values[c] = *np_tensor_at (y, i, j, c, 0);
          np_model_target_decode (NP_MODEL_TARGET_RGB, values, (gint) MIN (cout, 3), 0, NULL, o + 4 * i);
          o[4 * i + 3] = 1;
        }
    }
  return TRUE;
}
