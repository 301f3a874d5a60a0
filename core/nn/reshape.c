/* neuropaint — reshape, PyTorch's view on a contiguous tensor: each image's
 * C·H·W values, in NCHW order, become c channels of h × w. A generator from
 * noise makes its first grid so (a linear layer's C·h·w outputs seen as C
 * channels of h × w, DCGAN's "project and reshape"), and a discriminator
 * flattens its last grid so before a linear layer (h = w = 1). */
#include "np-nn-private.h"

#include <string.h>

static gint64
reshape_out_channels (const NpLayer *layer, const gint64 *in_channels)
{
  return layer->p.channels;
}

static gboolean
reshape_shape (const NpLayer *layer, const NpTensor *const *in, gint64 out_ne[4], GError **error)
{
  gint64 have = in[0]->ne[0] * in[0]->ne[1] * in[0]->ne[2];
  gint64 want = layer->p.channels * layer->p.grid_w * layer->p.grid_h;

  if (have != want)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "layer %s: %" G_GINT64_FORMAT " channels of %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                   " are %" G_GINT64_FORMAT " values, not the %" G_GINT64_FORMAT " of c=%" G_GINT64_FORMAT
                   " h=%d w=%d", layer->name ? layer->name : "reshape", in[0]->ne[2], in[0]->ne[1], in[0]->ne[0],
                   have, want, layer->p.channels, layer->p.grid_h, layer->p.grid_w);
      return FALSE;
    }
  out_ne[0] = layer->p.grid_w, out_ne[1] = layer->p.grid_h, out_ne[2] = layer->p.channels;
  out_ne[3] = in[0]->ne[3];
  return TRUE;
}

/* Within an image the values are contiguous, even in a view into a
 * concatenation (whose images are further apart): image by image. */
static void
copy_values (const NpTensor *src, NpTensor *dst, gboolean add)
{
  gint64 per = src->ne[0] * src->ne[1] * src->ne[2];

  for (gint64 n = 0; n < src->ne[3]; n++)
    {
      const gfloat *s = np_tensor_at (src, 0, 0, 0, n);
      gfloat       *d = np_tensor_at (dst, 0, 0, 0, n);
      if (add)
        for (gint64 i = 0; i < per; i++)
          d[i] += s[i];
      else
        memcpy (d, s, per * sizeof (gfloat));
    }
}

static void
reshape_forward (NpLayer *layer, const NpTensor *const *in, NpTensor *out, const NpLayerRun *run)
{
  copy_values (in[0], out, FALSE);
}

static void
reshape_backward (NpLayer *layer, const NpTensor *const *in, const NpTensor *out,
                  const NpTensor *d_out, NpTensor *const *d_in, const NpLayerRun *run)
{
  if (d_in[0])
    copy_values (d_out, d_in[0], TRUE);
}

static const NpLayerKey reshape_keys[] = {
  { "c", NP_KEY_INT, NP_KEY_FIELD (channels), 1, 65536, .required = TRUE },
  { "h", NP_KEY_INT, NP_KEY_FIELD (grid_h), 1, 65536, 1 },
  { "w", NP_KEY_INT, NP_KEY_FIELD (grid_w), 1, 65536, 1 },
  { NULL }
};

/* No scale: the output's side is no multiple of the input's. */
const NpLayerClass np_reshape_class = {
  .kind = NP_LAYER_RESHAPE,
  .name = "reshape",
  .n_inputs = 1,
  .keys = reshape_keys,
  .out_channels = reshape_out_channels,
  .shape = reshape_shape,
  .param_shapes = np_nn_no_params,
  .forward = reshape_forward,
  .backward = reshape_backward,
};
