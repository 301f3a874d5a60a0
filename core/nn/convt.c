/* neuropaint — transposed 2-D convolution: sgemm then col2im.
 *
 * The adjoint of conv.c: col[(o, ky, kx), p] = Σ_c W[c, o, ky, kx] · x[c, p]
 * over input pixels p, then col2im adds each column into the output window
 * it came from. Output size (in - 1)·s - pad0 - pad1 + k, as PyTorch's
 * ConvTranspose2d (whose weight layout [in, out, k, k] we keep).
 *
 * The input is cut into bands of rows, each one sgemm over all output
 * channels (so neither operand is packed twice) and one col2im. Bands at
 * least k/s rows high touch disjoint output rows unless adjacent, so threads
 * run the even bands, then the odd ones, and never add into the same float.
 * Small inputs (deep layers) have few bands: their output channels are
 * split too (they never overlap either), into a count that depends on the
 * shape only, so results do not depend on the thread count. Our kernels
 * (sgemm.c) get Wᵀ packed once per call, and in backward read dW's dcolᵀ
 * from dy pixel by pixel (np_im2row). */
#include "np-nn-private.h"

#include <string.h>

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

/* Input rows per band: the column budget's worth (at least 256 pixels, or
 * sgemm's panels run half empty), and never fewer than k/s. */
static gint64
convt_band (const NpLayer *layer, const NpTensor *in)
{
  const NpConvGeom *g = &layer->p.geom;
  gint64 rows_of_col = layer->p.channels * g->k * g->k;
  gint64 pixels = MAX (256, NP_NN_COL_BUDGET / rows_of_col);
  gint64 band = MAX ((pixels + in->ne[0] - 1) / in->ne[0], (g->k + g->s - 1) / g->s);

  return MIN (band, in->ne[1]);
}

static gsize
convt_workspace (const NpLayer *layer, const NpTensor *const *in, const NpTensor *out, gboolean backward,
                 gsize *shared)
{
  /* Backward: one image's columns of the output gradient, and the operands
   * A our kernels pack (x per image, W once), shared. */
  if (backward)
    {
      gint64 rows = layer->p.channels * layer->p.geom.k * layer->p.geom.k, pixels = in[0]->ne[0] * in[0]->ne[1];

      *shared = (gsize) (rows * pixels + (in[0]->ne[2] + NP_NN_GEMM_MAX_MR) * (pixels + rows));
      return 0;
    }
  /* Forward: a band's columns per thread; the weights our kernels pack,
   * per channel block, shared. */
  *shared = (gsize) ((layer->p.channels * layer->p.geom.k * layer->p.geom.k + NP_NN_MIN_JOBS * NP_NN_GEMM_MAX_MR)
                     * in[0]->ne[2]);
  return (gsize) (layer->p.channels * layer->p.geom.k * layer->p.geom.k
                  * convt_band (layer, in[0]) * in[0]->ne[0]);
}

typedef struct
{
  const NpLayer   *layer;
  const NpTensor  *in;
  NpTensor        *out;
  const NpLayerRun *run;
  gint64           band, n_bands;
  gint64           n_cblocks;
  gint             parity;
  gfloat          *packed;    /* our kernels: Wᵀ packed per channel block, or NULL */
} ConvtJob;

/* Channel block cb: output channels [c0, c1), and Wᵀ's rows for them as
 * np_nn_gemm_b takes them. */
static NpGemmA
convt_weights (const ConvtJob *job, gint64 cb, gint64 *c0, gint64 *c1)
{
  const NpLayer *layer = job->layer;
  gint64 kk = layer->p.geom.k * layer->p.geom.k, cout = layer->p.channels, mr = np_nn_gemm_mr ();

  *c0 = cout * cb / job->n_cblocks;
  *c1 = cout * (cb + 1) / job->n_cblocks;
  return (NpGemmA) { layer->params[0].data + *c0 * kk, cout * kk, TRUE,
                     job->packed ? job->packed + (*c0 * kk + cb * NP_NN_GEMM_MAX_MR) * job->in->ne[2] : NULL,
                     ((*c1 - *c0) * kk + mr - 1) / mr * mr, 0 };
}

/* The input as B: a plain matrix, so any part of it packs A alike. */
static NpGemmB
convt_input (const ConvtJob *job, gint64 n)
{
  return (NpGemmB) { .data = np_tensor_at (job->in, 0, 0, 0, n), .ld = job->in->ne[0] * job->in->ne[1] };
}

static void
pack_range (gsize start, gsize end, guint part, gpointer data)
{
  const ConvtJob *job = data;
  gint64 kk = job->layer->p.geom.k * job->layer->p.geom.k;

  for (gsize cb = start; cb < end; cb++)
    {
      gint64  c0, c1;
      NpGemmA w = convt_weights (job, cb, &c0, &c1);
      NpGemmB x = convt_input (job, 0);

      np_nn_gemm_pack_a (&w, (c1 - c0) * kk, job->in->ne[2], &x, 0, (c1 - c0) * kk, (gfloat *) w.packed);
    }
}

static void
convt_range (gsize start, gsize end, guint part, gpointer data)
{
  const ConvtJob *job = data;
  const NpLayer  *layer = job->layer;
  const NpTensor *in = job->in;
  NpTensor       *out = job->out;
  gint64  kk = layer->p.geom.k * layer->p.geom.k;
  gint64  per_image = (job->n_bands + 1 - job->parity) / 2 * job->n_cblocks;
  gfloat *col = job->run->workspace[part];

  for (gsize i = start; i < end; i++)
    {
      gint64 n = i / per_image, j = i % per_image;
      gint64  b = 2 * (j / job->n_cblocks) + job->parity, c0, c1;
      NpGemmA w = convt_weights (job, j % job->n_cblocks, &c0, &c1);
      NpGemmB x = convt_input (job, n);
      gint64  r0 = b * job->band, r1 = MIN (in->ne[1], r0 + job->band);
      gint64  p0 = r0 * in->ne[0], p1 = r1 * in->ne[0];

      x.data += p0;
      np_nn_gemm_b ((c1 - c0) * kk, p1 - p0, in->ne[2], &w, &x, FALSE, col, p1 - p0, NULL);
      np_col2im (col, p1 - p0, c1 - c0, out->ne[1], out->ne[0], &layer->p.geom, r0, r1 - r0, in->ne[0],
                 np_tensor_at (out, 0, 0, c0, n));
    }
}

typedef struct
{
  const NpLayer *layer;
  NpTensor      *out;
  gboolean       finish;
} PlaneJob;

/* Before: zero the output planes col2im adds into; after: bias and the
 * fused pointwise layers, one plane (in cache) at a time. */
static void
plane_range (gsize start, gsize end, guint part, gpointer data)
{
  const PlaneJob *job = data;
  gint64 pixels = job->out->ne[0] * job->out->ne[1], channels = job->out->ne[2];

  for (gsize plane = start; plane < end; plane++)
    {
      gfloat *d = np_tensor_at (job->out, 0, 0, plane % channels, plane / channels);
      if (job->finish)
        np_nn_epilogue (job->layer, plane % channels, job->layer->params[1].data[plane % channels], d, pixels);
      else
        memset (d, 0, pixels * sizeof (gfloat));
    }
}

static void
convt_forward (NpLayer *layer, const NpTensor *const *in, NpTensor *out, const NpLayerRun *run)
{
  ConvtJob job = { layer, in[0], out, run, convt_band (layer, in[0]), .packed = run->shared };
  PlaneJob planes = { layer, out, FALSE };

  np_parallel_for (out->ne[2] * out->ne[3], 8, run->n_threads, plane_range, &planes);
  job.n_bands = (in[0]->ne[1] + job.band - 1) / job.band;
  job.n_cblocks = MIN (layer->p.channels / 8 + 1,
                       MAX (1, NP_NN_MIN_JOBS / MAX (1, job.n_bands / 2 * out->ne[3])));
  /* Wᵀ packed for our kernels, if they take the widest band. */
  if (np_nn_gemm_own_takes (job.band * in[0]->ne[0], &(NpGemmB) { .data = in[0]->data }, FALSE))
    np_parallel_for (job.n_cblocks, 1, run->n_threads, pack_range, &job);
  else
    job.packed = NULL;
  for (job.parity = 0; job.parity < 2 && job.parity < job.n_bands; job.parity++)
    np_parallel_for ((job.n_bands + 1 - job.parity) / 2 * job.n_cblocks * out->ne[3], 1,
                     run->n_threads, convt_range, &job);
  planes.finish = TRUE;
  np_parallel_for (out->ne[2] * out->ne[3], 8, run->n_threads, plane_range, &planes);
}

typedef struct
{
  const NpLayer  *layer;
  const NpTensor *d_out;
  gint64          n, in_h, in_w;
  gfloat         *col;
} ConvtBackJob;

/* dcol = im2col (dy) for one image (the forward's col2im, reversed), a range
 * of output channels (rows o·k·k onwards) at a time. */
static void
dcol_channels (gsize start, gsize end, guint part, gpointer data)
{
  const ConvtBackJob *job = data;
  const NpTensor     *dy = job->d_out;
  gint64 pixels = job->in_h * job->in_w, kk = job->layer->p.geom.k * job->layer->p.geom.k;

  np_im2col (np_tensor_at (dy, 0, 0, start, job->n), (gint) (end - start), dy->ne[1], dy->ne[0],
             &job->layer->p.geom, job->in_h, job->in_w, 0, pixels, job->col + start * kk * pixels, pixels);
}

/* Image by image, each step on every thread in pieces fixed by the shapes:
 * dcol = im2col (dy), dW += x · dcolᵀ, db += Σ dy, dx += W · dcol. */
static void
convt_backward (NpLayer *layer, const NpTensor *const *in, const NpTensor *out,
                const NpTensor *d_out, NpTensor *const *d_in, const NpLayerRun *run)
{
  const NpTensor *x = in[0];
  gint64  kk = layer->p.geom.k * layer->p.geom.k, cout = layer->p.channels, cin = x->ne[2];
  gint64  in_pixels = x->ne[0] * x->ne[1];
  ConvtBackJob job = { layer, d_out, 0, x->ne[1], x->ne[0], run->shared };

  for (job.n = 0; job.n < x->ne[3]; job.n++)
    {
      /* dW's dcolᵀ: our kernels read it from dy pixel by pixel. */
      NpGemmB dcol = { .data = np_tensor_at (d_out, 0, 0, 0, job.n), .trans = TRUE, .geom = &layer->p.geom,
                       .h = (gint) d_out->ne[1], .w = (gint) d_out->ne[0], .oh = (gint) x->ne[1],
                       .ow = (gint) x->ne[0] };

      if (d_in[0] || !np_nn_gemm_own ())
        np_parallel_for (cout, MAX (1, NP_NN_GRAIN / (kk * in_pixels)), run->n_threads, dcol_channels, &job);
      if (!np_nn_gemm_own ())
        dcol = (NpGemmB) { .data = job.col, .ld = in_pixels, .trans = TRUE };
      if (run->param_grads)
        {
          NpGemmA a = { np_tensor_at (x, 0, 0, 0, job.n), in_pixels, FALSE };

          np_nn_gemm_tiled (run->n_threads, cin, cout * kk, in_pixels, &a, &dcol, TRUE, layer->grads[0].data,
                            cout * kk, job.col + cout * kk * in_pixels, FALSE);
          np_nn_bias_grad (d_out, job.n, layer->grads[1].data, run->n_threads);
        }
      if (d_in[0])
        {
          NpGemmA w = { layer->params[0].data, cout * kk, FALSE };
          NpGemmB b = { .data = job.col, .ld = in_pixels };

          np_nn_gemm_tiled (run->n_threads, cin, in_pixels, cout * kk, &w, &b, TRUE,
                            np_tensor_at (d_in[0], 0, 0, 0, job.n), in_pixels,
                            job.col + cout * kk * in_pixels + (cin + NP_NN_GEMM_MAX_MR) * in_pixels, job.n > 0);
        }
    }
}

static double
convt_scale (const NpLayer *layer, double in)
{
  return in / layer->p.geom.s;
}

/* Every weight meets every input pixel. */
static double
convt_flops (const NpLayer *layer, const NpTensor *const *in, const NpTensor *out)
{
  return 2.0 * np_tensor_n_elements (&layer->params[0]) * in[0]->ne[0] * in[0]->ne[1] * out->ne[3];
}

const NpLayerClass np_convt_class = {
  .kind = NP_LAYER_CONVT,
  .name = "convt",
  .n_inputs = 1,
  .keys = np_conv_keys,
  .param_names = { "weight", "bias" },
  .param_inits = { NP_INIT_NORMAL, NP_INIT_ZERO },
  .out_channels = convt_out_channels,
  .shape = convt_shape,
  .scale = convt_scale,
  .param_shapes = convt_param_shapes,
  .flops = convt_flops,
  .workspace = convt_workspace,
  .forward = convt_forward,
  .backward = convt_backward,
  .fuses_pointwise = TRUE,
};
