/* neuropaint — transposed 2-D convolution: one sgemm then col2im.
 *
 * The adjoint of conv.c: col[(o, ky, kx), p] = Σ_c W[c, o, ky, kx] · x[c, p]
 * over input pixels p, then col2im adds each column into the output window
 * it came from. Output size (in - 1)·s - pad0 - pad1 + k, as PyTorch's
 * ConvTranspose2d (whose weight layout [in, out, k, k] we keep).
 *
 * Threads split the output channels: col2im's windows overlap across pixels
 * but never across channels, so no two threads add into the same float. */
#include "np-nn-private.h"

static gint64
convt_out_channels (const NpLayer *layer, const gint64 *in_channels)
{
  return layer->p.channels;
}

static gboolean
convt_shape (const NpLayer *layer, const NpTensor *const *in, gint64 out_ne[4], GError **error)
{
  const NpConvGeom *g = &layer->p.geom;

  for (int i = 0; i < 2; i++)
    {
      out_ne[i] = (in[0]->ne[i] - 1) * g->s - g->pad0 - g->pad1 + g->k;
      if (out_ne[i] < 1)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                       "layer %s: input too small for its padding", layer->name);
          return FALSE;
        }
    }
  out_ne[2] = layer->p.channels, out_ne[3] = in[0]->ne[3];
  return TRUE;
}

static void
convt_param_shapes (const NpLayer *layer, gint64 in_channels, gint64 shapes[NP_LAYER_MAX_PARAMS][4])
{
  gint k = layer->p.geom.k;
  shapes[0][0] = k, shapes[0][1] = k, shapes[0][2] = layer->p.channels, shapes[0][3] = in_channels;
  shapes[1][0] = layer->p.channels, shapes[1][1] = shapes[1][2] = shapes[1][3] = 1;
}

/* Output channels per block: as many as fit the column budget, at least one. */
static gint64
convt_block (const NpLayer *layer, const NpTensor *in)
{
  gint64 per_channel = (gint64) layer->p.geom.k * layer->p.geom.k * in->ne[0] * in->ne[1];
  return CLAMP (NP_NN_COL_BUDGET / per_channel, 1, layer->p.channels);
}

static gsize
convt_workspace (const NpLayer *layer, const NpTensor *const *in, const NpTensor *out, gint n_threads)
{
  return (gsize) (convt_block (layer, in[0]) * layer->p.geom.k * layer->p.geom.k
                  * in[0]->ne[0] * in[0]->ne[1]);
}

typedef struct
{
  const NpLayer   *layer;
  const NpTensor  *in;
  NpTensor        *out;
  const NpCompute *compute;
  gint64           block, n_blocks;
} ConvtJob;

static void
convt_range (gsize start, gsize end, guint part, gpointer data)
{
  const ConvtJob *job = data;
  const NpLayer  *layer = job->layer;
  const NpTensor *in = job->in;
  NpTensor       *out = job->out;
  gint    kk = layer->p.geom.k * layer->p.geom.k;
  gint64  cin = in->ne[2], cout = layer->p.channels;
  gint64  in_pixels = in->ne[0] * in->ne[1], out_pixels = out->ne[0] * out->ne[1];
  gfloat *col = job->compute->workspace[part];
  const gfloat *w = layer->params[0]->data, *bias = layer->params[1]->data;

  for (gsize i = start; i < end; i++)
    {
      gint64  n = i / job->n_blocks, c0 = (i % job->n_blocks) * job->block;
      gint64  c1 = MIN (cout, c0 + job->block);
      gfloat *dst = np_tensor_at (out, 0, 0, c0, n);

      np_gemm (TRUE, FALSE, (c1 - c0) * kk, in_pixels, cin, 1.0f,
               w + c0 * kk, cout * kk, np_tensor_at (in, 0, 0, 0, n), in_pixels,
               0.0f, col, in_pixels);
      for (gint64 o = c0; o < c1; o++)
        {
          gfloat *d = dst + (o - c0) * out_pixels;
          for (gint64 j = 0; j < out_pixels; j++)
            d[j] = bias[o];
        }
      np_col2im (col, c1 - c0, out->ne[1], out->ne[0], &layer->p.geom,
                 in->ne[1], in->ne[0], dst);
    }
}

static void
convt_forward (NpLayer *layer, const NpTensor *const *in, NpTensor *out, const NpCompute *compute)
{
  ConvtJob job = { layer, in[0], out, compute, convt_block (layer, in[0]) };

  job.n_blocks = (layer->p.channels + job.block - 1) / job.block;
  np_parallel_for (job.n_blocks * out->ne[3], 1, compute->n_threads, convt_range, &job);
}

const NpLayerClass np_convt_class = {
  .kind = NP_LAYER_CONVT,
  .param_names = { "weight", "bias" },
  .out_channels = convt_out_channels,
  .shape = convt_shape,
  .param_shapes = convt_param_shapes,
  .workspace = convt_workspace,
  .forward = convt_forward,
};
