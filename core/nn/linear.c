/* neuropaint — fully connected layer over the flattened NCHW input, as
 * PyTorch's Linear after Flatten: out[n, o] = bias[o] + Σ_i W[o, i] · x[n, i].
 * The output is N × out × 1 × 1. */
#include "np-nn-private.h"

#include <string.h>

static gint64
linear_out_channels (const NpLayer *layer, const gint64 *in_channels)
{
  return layer->p.channels;
}

static gboolean
linear_shape (const NpLayer *layer, const NpTensor *const *in, gint64 out_ne[4], GError **error)
{
  if (in[0]->ne[0] != 1 || in[0]->ne[1] != 1)
    {
      /* Parameters were sized for C inputs; a spatial input would need more. */
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "layer %s: a linear layer takes N×C×1×1 input, not %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT,
                   layer->name, in[0]->ne[1], in[0]->ne[0]);
      return FALSE;
    }
  out_ne[0] = out_ne[1] = 1, out_ne[2] = layer->p.channels, out_ne[3] = in[0]->ne[3];
  return TRUE;
}

static void
linear_param_shapes (const NpLayer *layer, gint64 in_channels, gint64 shapes[NP_LAYER_MAX_PARAMS][4])
{
  shapes[0][0] = in_channels, shapes[0][1] = layer->p.channels, shapes[0][2] = shapes[0][3] = 1;
  shapes[1][0] = layer->p.channels, shapes[1][1] = shapes[1][2] = shapes[1][3] = 1;
}

static void
linear_forward (NpLayer *layer, const NpTensor *const *in, NpTensor *out, const NpLayerRun *run)
{
  gint64 n = in[0]->ne[3], k = in[0]->ne[2], m = layer->p.channels;

  for (gint64 i = 0; i < n; i++)
    memcpy (out->data + i * m, layer->params[1].data, m * sizeof (gfloat));
  /* Rows at the input's image stride: it may be a view into a concatenation. */
  np_gemm (FALSE, TRUE, n, m, k, 1.0f, in[0]->data, in[0]->nb[3] / sizeof (gfloat),
           layer->params[0].data, k, 1.0f, out->data, m);
}

/* dx += dy · W, dW += dyᵀ · x, db += Σ dy. */
static void
linear_backward (NpLayer *layer, const NpTensor *const *in, const NpTensor *out,
                 const NpTensor *d_out, NpTensor *const *d_in, const NpLayerRun *run)
{
  gint64 n = in[0]->ne[3], k = in[0]->ne[2], m = layer->p.channels;
  gint   ldx = in[0]->nb[3] / sizeof (gfloat);

  if (d_in[0])
    np_gemm (FALSE, FALSE, n, k, m, 1.0f, d_out->data, m, layer->params[0].data, k,
             1.0f, d_in[0]->data, d_in[0]->nb[3] / sizeof (gfloat));
  if (!run->param_grads)
    return;
  np_gemm (TRUE, FALSE, m, k, n, 1.0f, d_out->data, m, in[0]->data, ldx, 1.0f, layer->grads[0].data, k);
  for (gint64 i = 0; i < n; i++)
    for (gint64 o = 0; o < m; o++)
      layer->grads[1].data[o] += d_out->data[i * m + o];
}

static const NpLayerKey linear_keys[] = {
  { "out", NP_KEY_INT, NP_KEY_FIELD (channels), 1, 65536, .required = TRUE },
  { NULL }
};

const NpLayerClass np_linear_class = {
  .kind = NP_LAYER_LINEAR,
  .name = "linear",
  .n_inputs = 1,
  .keys = linear_keys,
  .param_names = { "weight", "bias" },
  .param_inits = { NP_INIT_NORMAL, NP_INIT_ZERO },
  .out_channels = linear_out_channels,
  .shape = linear_shape,
  .param_shapes = linear_param_shapes,
  .weight_rows = np_nn_out_rows,
  .flops = np_nn_output_flops,
  .forward = linear_forward,
  .backward = linear_backward,
};
