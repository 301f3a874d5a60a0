/* neuropaint — 2-D convolution: im2col then one sgemm per block of pixels.
 *
 * out[o, p] = bias[o] + Σ_{c,ky,kx} W[o, c, ky, kx] · x[c, oy·s - pad0 + ky, ox·s - pad0 + kx]
 *
 * The output pixels of every image are cut into blocks, shared out among the
 * threads. On the OpenBLAS route a block is at most NP_NN_COL_BUDGET floats
 * of columns, so they are still in cache when sgemm reads them and the
 * workspace stays small whatever the image size; our kernels (sgemm.c) make
 * the columns themselves, a block of B at a time, from weights packed once
 * per call. Deep layers, with few pixels, also split their output channels,
 * after laying out their (few) columns once. Backward reads the columns
 * pixel by pixel for dW (np_im2row) on our kernels' route.
 *
 * Stride 1 (the SR net's and the dream generator's 3×3 layers) copies no
 * columns on our kernels' route: a job zero-pads a band of the input's
 * rows, and each output row's columns are those rows shifted by each
 * kernel tap, which the kernels read in place (sgemm.c). im2col wrote nine
 * floats for every input float, and 3×3 layers of 32 channels spent a sixth
 * of their time on it. The sums are the same as through im2col, bit for
 * bit: the same blocks of k, each in the same order.
 *
 * A stride-1 convolution with fewer output channels than input ones (the SR
 * net's last layer, 64 → 3; PatchGAN's patch, 256 → 1) runs as the
 * transposed convolution of its kernel turned round instead:
 *
 *   W'[c, o, ky, kx] = W[o, c, k-1-ky, k-1-kx], padding k-1-pad,
 *
 * the same sums, whose columns have c_out·k·k rows instead of c_in·k·k.
 * For the SR net's 9×9 64 → 3 that is 243 rows instead of 5184: backward
 * no longer moves 1.7 GB of columns per 256×320 image, and forward's sgemm
 * is no longer 3 rows high. */
#include "np-nn-private.h"

#include <string.h>

static gint64
conv_out_channels (const NpLayer *layer, const gint64 *in_channels)
{
  return layer->p.channels;
}

static gboolean
conv_shape (const NpLayer *layer, const NpTensor *const *in, gint64 out_ne[4], GError **error)
{
  gint64 ow = np_conv_out_size (&layer->p.geom, in[0]->ne[0]);
  gint64 oh = np_conv_out_size (&layer->p.geom, in[0]->ne[1]);

  if (ow < 1 || oh < 1 || in[0]->ne[0] + layer->p.geom.pad0 + layer->p.geom.pad1 < layer->p.geom.k
      || in[0]->ne[1] + layer->p.geom.pad0 + layer->p.geom.pad1 < layer->p.geom.k)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "layer %s: a %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " input is smaller than its %d×%d kernel",
                   layer->name, in[0]->ne[1], in[0]->ne[0], layer->p.geom.k, layer->p.geom.k);
      return FALSE;
    }
  out_ne[0] = ow, out_ne[1] = oh, out_ne[2] = layer->p.channels, out_ne[3] = in[0]->ne[3];
  return TRUE;
}

static void
conv_param_shapes (const NpLayer *layer, gint64 in_channels, gint64 shapes[NP_LAYER_MAX_PARAMS][4])
{
  gint k = layer->p.geom.k;
  /* PyTorch's Conv2d: weight [out, in, k, k], bias [out]; ne[] is innermost first. */
  shapes[0][0] = k, shapes[0][1] = k, shapes[0][2] = in_channels, shapes[0][3] = layer->p.channels;
  shapes[1][0] = layer->p.channels, shapes[1][1] = shapes[1][2] = shapes[1][3] = 1;
}

static gint64
conv_block (const NpLayer *layer, const NpTensor *in)
{
  gint64 rows = in->ne[2] * layer->p.geom.k * layer->p.geom.k;
  /* At least a few hundred columns, or sgemm's panels run half empty. */
  return MAX (256, NP_NN_COL_BUDGET / rows);
}

/* Our kernels make the columns a block of B at a time, in cache, whatever
 * the job's size: a job takes at least a block's width of pixels (sgemm.c's
 * NC), or its panels run short. The workspace is the OpenBLAS route's,
 * whichever runs. */
#define OWN_BLOCK 512

static gint64
conv_job_block (const NpLayer *layer, const NpTensor *in)
{
  return np_nn_gemm_own () ? MAX (OWN_BLOCK, conv_block (layer, in)) : conv_block (layer, in);
}

/* Stride-1 layers read their columns in place when an output row fills at
 * least a kernel strip; narrower ones (deep layers of a few pixels) would
 * leave the strips mostly empty. */
#define DIRECT_MIN_WIDTH NP_NN_GEMM_MAX_NR
/* Output pixels per band: its padded input (channels × (rows + k − 1) ×
 * padded width) stays in L2 for layers of up to 64 channels. */
#define DIRECT_BAND_PIXELS 2048

static gboolean
conv_is_direct (const NpLayer *layer, const NpTensor *out)
{
  return layer->p.geom.s == 1 && layer->p.geom.k > 1 && out->ne[0] >= DIRECT_MIN_WIDTH;
}

/* Output rows per band, fixed by the shapes: small batches of small images
 * still give every thread a few. */
static gint64
direct_band (const NpTensor *out)
{
  gint64 rows = (DIRECT_BAND_PIXELS + out->ne[0] - 1) / out->ne[0];

  return MAX (1, MIN (rows, out->ne[1] * out->ne[3] / NP_NN_MIN_JOBS));
}

/* Floats of a band's padded input, the kernels' overrun past it included,
 * rounded up to an even count; the table of the columns' rows (gint64)
 * follows. */
static gsize
direct_pad_floats (const NpLayer *layer, const NpTensor *in, const NpTensor *out)
{
  const NpConvGeom *g = &layer->p.geom;
  gint64 wp = in->ne[0] + g->pad0 + g->pad1;

  return (gsize) ((in->ne[2] * (direct_band (out) + g->k - 1) * wp + NP_NN_GEMM_MAX_NR + 1) / 2 * 2);
}

static gsize
direct_workspace (const NpLayer *layer, const NpTensor *in, const NpTensor *out)
{
  return direct_pad_floats (layer, in, out) + 2 * (gsize) (in->ne[2] * layer->p.geom.k * layer->p.geom.k);
}

/* Deep layers have a single block of pixels: they split their output
 * channels too, into a count fixed by the shapes. */
static gint64
conv_cblocks (const NpLayer *layer, const NpTensor *out, gint64 block)
{
  gint64 pixels = out->ne[0] * out->ne[1];
  gint64 jobs = (pixels + block - 1) / block * out->ne[3];

  return MIN (layer->p.channels / 8 + 1, MAX (1, NP_NN_MIN_JOBS / jobs));
}

/* Floats of columns laid out once for all channel blocks, on either route
 * (the workspace is planned before the route is known). */
static gsize
conv_shared_cols (const NpLayer *layer, const NpTensor *in, const NpTensor *out)
{
  gint64 rows = in->ne[2] * layer->p.geom.k * layer->p.geom.k, pixels = out->ne[0] * out->ne[1];

  if (conv_cblocks (layer, out, conv_block (layer, in)) > 1
      || conv_cblocks (layer, out, MAX (OWN_BLOCK, conv_block (layer, in))) > 1)
    return (gsize) (rows * pixels * out->ne[3]);
  return 0;
}

/* Narrow: stride 1 (so turning round is exact), padding the turned
 * geometry can express, fewer outputs than inputs (so it pays). */
static gboolean
conv_is_narrow (const NpLayer *layer, gint64 in_channels)
{
  const NpConvGeom *g = &layer->p.geom;

  return g->s == 1 && g->pad0 < g->k && g->pad1 < g->k && layer->p.channels < in_channels;
}

/* Floats of the turned kernel (and of its gradient). */
static gsize
turned_size (const NpLayer *layer, gint64 in_channels)
{
  return (gsize) (in_channels * layer->p.channels * layer->p.geom.k * layer->p.geom.k);
}

/* The transposed convolution that equals a narrow layer: its copy with the
 * turned geometry and, when given, the turned kernel in `w` (and its
 * gradient going to `dw`). Bias, fused layers and name stay the layer's. */
static NpLayer
turned_layer (const NpLayer *layer, gint64 cin, gfloat *w, gfloat *dw)
{
  NpLayer t = *layer;
  gint    k = layer->p.geom.k;
  gint64  cout = layer->p.channels;

  t.klass = &np_convt_class;
  t.p.geom.pad0 = k - 1 - layer->p.geom.pad0;
  t.p.geom.pad1 = k - 1 - layer->p.geom.pad1;
  t.params[0].data = w;
  t.grads[0].data = dw;
  if (w)
    for (gint64 c = 0; c < cin; c++)
      for (gint64 o = 0; o < cout; o++)
        for (gint i = 0; i < k * k; i++)
          w[(c * cout + o) * k * k + k * k - 1 - i] = layer->params[0].data[(o * cin + c) * k * k + i];
  return t;
}

static void
conv_narrow_forward (NpLayer *layer, const NpTensor *const *in, NpTensor *out, const NpLayerRun *run)
{
  NpLayer    t = turned_layer (layer, in[0]->ne[2], run->shared, NULL);
  NpLayerRun c = *run;

  c.shared += turned_size (layer, in[0]->ne[2]);
  np_convt_class.forward (&t, in, out, &c);
}

static void
conv_narrow_backward (NpLayer *layer, const NpTensor *const *in, const NpTensor *out,
                      const NpTensor *d_out, NpTensor *const *d_in, const NpLayerRun *run)
{
  gint64     cin = in[0]->ne[2], kk = layer->p.geom.k * layer->p.geom.k;
  gsize      n = turned_size (layer, cin);
  gfloat    *dw = run->shared + n;
  NpLayer    t = turned_layer (layer, cin, run->shared, dw);
  NpLayerRun c = *run;

  c.shared += 2 * n;
  memset (dw, 0, n * sizeof (gfloat));
  np_convt_class.backward (&t, in, out, d_out, d_in, &c);
  if (run->param_grads)
    for (gint64 o = 0; o < layer->p.channels; o++)
      for (gint64 ci = 0; ci < cin; ci++)
        for (gint64 i = 0; i < kk; i++)
          layer->grads[0].data[(o * cin + ci) * kk + i] += dw[(ci * layer->p.channels + o) * kk + kk - 1 - i];
}

/* Per thread, one block of columns; split layers lay out all their columns
 * once in the shared workspace instead, so channel blocks do not repeat
 * im2col. Narrow layers: their transposed twin's, after the turned kernel
 * and its gradient. */
static gsize
conv_workspace (const NpLayer *layer, const NpTensor *const *in, const NpTensor *out, gboolean backward,
                gsize *shared)
{
  gint64 pixels = out->ne[0] * out->ne[1];
  gint64 rows = in[0]->ne[2] * layer->p.geom.k * layer->p.geom.k;

  if (conv_is_narrow (layer, in[0]->ne[2]))
    {
      NpLayer t = turned_layer (layer, in[0]->ne[2], NULL, NULL);
      gsize   need = np_convt_class.workspace (&t, in, out, backward, shared);

      *shared += 2 * turned_size (layer, in[0]->ne[2]);
      return need;
    }

  /* Backward: one image's columns, and the operands A our kernels pack
   * (dy per image, Wᵀ once), shared. */
  if (backward)
    {
      *shared = (gsize) (rows * pixels + (layer->p.channels + NP_NN_GEMM_MAX_MR) * pixels
                         + (rows + NP_NN_GEMM_MAX_MR) * layer->p.channels);
      return 0;
    }
  /* Forward: the columns, when they are shared, and the packed weights;
   * per thread a block of columns, or a padded band (the route is chosen
   * as the layer runs). */
  *shared = conv_shared_cols (layer, in[0], out)
            + (gsize) ((layer->p.channels + NP_NN_MIN_JOBS * NP_NN_GEMM_MAX_MR) * rows);
  return MAX ((gsize) rows * MIN (pixels, conv_block (layer, in[0])),
              conv_is_direct (layer, out) ? direct_workspace (layer, in[0], out) : 0);
}

typedef struct
{
  const NpLayer   *layer;
  const NpTensor  *in;
  NpTensor        *out;
  const NpLayerRun *run;
  gint64           block;      /* pixels per job */
  gint64           n_cblocks;
  gboolean         share_cols; /* laid out once for all channel blocks */
  gfloat          *packed;     /* the weights, packed per channel block (our
                                * kernels), or NULL */
} ConvJob;

static gfloat *
shared_cols (const ConvJob *job, gint64 n, gint64 b0)
{
  gint64 rows = job->in->ne[2] * job->layer->p.geom.k * job->layer->p.geom.k;
  return job->run->shared + (n * job->out->ne[0] * job->out->ne[1] + b0) * rows;
}

/* B of pixels [b0, b1) of image n: the shared columns, or made from the
 * image as the gemm goes. */
static NpGemmB
conv_cols (const ConvJob *job, gint64 n, gint64 b0, gint64 b1)
{
  const NpTensor *in = job->in, *out = job->out;

  if (job->share_cols)
    return (NpGemmB) { .data = shared_cols (job, n, b0), .ld = b1 - b0 };
  return (NpGemmB) { .data = np_tensor_at (in, 0, 0, 0, n), .geom = &job->layer->p.geom, .h = (gint) in->ne[1],
                     .w = (gint) in->ne[0], .oh = (gint) out->ne[1], .ow = (gint) out->ne[0], .p0 = b0 };
}

/* Output channels [c0, c1) of channel block j, and their packed weights. */
static gfloat *
conv_channels (const ConvJob *job, gint64 j, gint64 *c0, gint64 *c1)
{
  gint64 cout = job->layer->p.channels, rows = job->in->ne[2] * job->layer->p.geom.k * job->layer->p.geom.k;

  *c0 = cout * j / job->n_cblocks;
  *c1 = cout * (j + 1) / job->n_cblocks;
  return job->packed ? job->packed + (*c0 + j * NP_NN_GEMM_MAX_MR) * rows : NULL;
}

static void
im2col_range (gsize start, gsize end, guint part, gpointer data)
{
  const ConvJob  *job = data;
  const NpTensor *in = job->in, *out = job->out;
  gint64 pixels = out->ne[0] * out->ne[1], block = job->block;
  gint64 n_blocks = (pixels + block - 1) / block;

  for (gsize i = start; i < end; i++)
    {
      gint64 n = i / n_blocks, b0 = (i % n_blocks) * block, b1 = MIN (pixels, b0 + block);
      np_im2col (np_tensor_at (in, 0, 0, 0, n), in->ne[2], in->ne[1], in->ne[0],
                 &job->layer->p.geom, out->ne[1], out->ne[0], b0, b1, shared_cols (job, n, b0), b1 - b0);
    }
}

/* Our kernels: each channel block's weights packed once for all images. */
static void
pack_range (gsize start, gsize end, guint part, gpointer data)
{
  const ConvJob *job = data;
  gint64 rows = job->in->ne[2] * job->layer->p.geom.k * job->layer->p.geom.k;

  for (gsize j = start; j < end; j++)
    {
      gint64  c0, c1;
      gfloat *dst = conv_channels (job, j, &c0, &c1);
      NpGemmA w = { job->layer->params[0].data + c0 * rows, rows, FALSE };
      NpGemmB cols = conv_cols (job, 0, 0, MIN (job->block, job->out->ne[0] * job->out->ne[1]));

      np_nn_gemm_pack_a (&w, c1 - c0, rows, &cols, 0, c1 - c0, dst);
    }
}

static void
conv_range (gsize start, gsize end, guint part, gpointer data)
{
  const ConvJob *job = data;
  const NpLayer *layer = job->layer;
  const NpTensor *in = job->in;
  NpTensor      *out = job->out;
  gint64  pixels = out->ne[0] * out->ne[1];
  gint64  rows = in->ne[2] * layer->p.geom.k * layer->p.geom.k;
  gint64  block = job->block, n_blocks = (pixels + block - 1) / block;
  gint64  n_cblocks = job->n_cblocks;
  const gfloat *bias = layer->params[1].data;

  /* Items are (image, pixel block, channel block) triples fixed by the
   * shapes, not by the thread count, so neither are the sums. */
  for (gsize i = start; i < end; i++)
    {
      gint64  n = i / (n_blocks * n_cblocks), j = i % (n_blocks * n_cblocks);
      gint64  b0 = (j / n_cblocks) * block, b1 = MIN (pixels, b0 + block), c0, c1;
      const gfloat *packed = conv_channels (job, j % n_cblocks, &c0, &c1);
      gfloat *dst = np_tensor_at (out, 0, 0, c0, n) + b0;
      gint64  mr = np_nn_gemm_mr ();
      NpGemmA w = { layer->params[0].data + c0 * rows, rows, FALSE, packed, (c1 - c0 + mr - 1) / mr * mr, 0 };
      NpGemmB cols = conv_cols (job, n, b0, b1);

      np_nn_gemm_b (c1 - c0, b1 - b0, rows, &w, &cols, FALSE, dst, pixels, job->run->workspace[part]);
      for (gint64 o = c0; o < c1; o++)
        np_nn_epilogue (layer, o, bias[o], dst + (o - c0) * pixels, b1 - b0);
    }
}

/* Jobs are (image, band of output rows) pairs: the band's input rows, zero
 * padded, into the thread's workspace, then one product per output row,
 * B read in place, then the band's epilogue. */
static void
direct_range (gsize start, gsize end, guint part, gpointer data)
{
  const ConvJob    *job = data;
  const NpLayer    *layer = job->layer;
  const NpConvGeom *g = &layer->p.geom;
  const NpTensor   *in = job->in;
  NpTensor         *out = job->out;
  gint64  h = in->ne[1], w = in->ne[0], cin = in->ne[2], cout = layer->p.channels, kk = g->k * g->k;
  gint64  oh = out->ne[1], ow = out->ne[0], pixels = oh * ow, wp = w + g->pad0 + g->pad1;
  gint64  band = job->block, n_bands = (oh + band - 1) / band, r_max = band + g->k - 1;
  gfloat *pad = job->run->workspace[part];
  gint64 *rows = (gint64 *) (pad + direct_pad_floats (layer, in, out));
  gint64  mr = np_nn_gemm_mr ();
  NpGemmA a = { layer->params[0].data, cin * kk, FALSE, job->packed, (cout + mr - 1) / mr * mr, 0 };

  for (gint64 c = 0; c < cin; c++)
    for (gint ky = 0; ky < g->k; ky++)
      for (gint kx = 0; kx < g->k; kx++)
        rows[(c * g->k + ky) * g->k + kx] = (c * r_max + ky) * wp + kx;
  /* What the kernels read past the last row lands in lanes they drop. */
  memset (pad + cin * r_max * wp, 0, NP_NN_GEMM_MAX_NR * sizeof (gfloat));
  for (gsize i = start; i < end; i++)
    {
      gint64 n = i / n_bands, y0 = (gint64) (i % n_bands) * band, y1 = MIN (oh, y0 + band);

      for (gint64 c = 0; c < cin; c++)
        for (gint64 r = 0; r < y1 - y0 + g->k - 1; r++)
          {
            gfloat *dst = pad + (c * r_max + r) * wp;
            gint64  iy = y0 - g->pad0 + r;

            if (iy < 0 || iy >= h)
              memset (dst, 0, wp * sizeof (gfloat));
            else
              {
                memset (dst, 0, g->pad0 * sizeof (gfloat));
                memcpy (dst + g->pad0, np_tensor_at (in, 0, iy, c, n), w * sizeof (gfloat));
                memset (dst + g->pad0 + w, 0, g->pad1 * sizeof (gfloat));
              }
          }
      for (gint64 oy = y0; oy < y1; oy++)
        {
          NpGemmB cols = { .data = pad + (oy - y0) * wp, .geom = g, .rows = rows };
          np_nn_gemm_b (cout, ow, cin * kk, &a, &cols, FALSE, np_tensor_at (out, 0, oy, 0, n), pixels, NULL);
        }
      for (gint64 o = 0; o < cout; o++)
        np_nn_epilogue (layer, o, layer->params[1].data[o], np_tensor_at (out, 0, y0, o, n), (y1 - y0) * ow);
    }
}

static void
conv_forward (NpLayer *layer, const NpTensor *const *in, NpTensor *out, const NpLayerRun *run)
{
  gint64  pixels = out->ne[0] * out->ne[1], block = conv_job_block (layer, in[0]);
  gint64  jobs = (pixels + block - 1) / block * out->ne[3];
  ConvJob job = { layer, in[0], out, run, block, conv_cblocks (layer, out, block) };

  if (conv_is_narrow (layer, in[0]->ne[2]))
    {
      conv_narrow_forward (layer, in, out, run);
      return;
    }
  if (np_nn_gemm_own () && conv_is_direct (layer, out))
    {
      /* All output channels in one block, the weights packed once. */
      job.block = direct_band (out);
      job.n_cblocks = 1;
      job.packed = run->shared + conv_shared_cols (layer, in[0], out);
      np_parallel_for (1, 1, run->n_threads, pack_range, &job);
      np_parallel_for ((out->ne[1] + job.block - 1) / job.block * out->ne[3], 1, run->n_threads, direct_range,
                       &job);
      return;
    }
  /* Channel blocks share the columns laid out once, but for our kernels
   * only on small images: on larger ones each block making its own in
   * cache is cheaper than reading them back from memory. */
  job.share_cols = job.n_cblocks > 1 && (!np_nn_gemm_own () || pixels <= OWN_BLOCK);
  job.packed = run->shared + conv_shared_cols (layer, in[0], out);
  if (job.share_cols)
    np_parallel_for (jobs, 1, run->n_threads, im2col_range, &job);
  {
    /* The weights packed for our kernels, if they take the widest job. */
    NpGemmB first = conv_cols (&job, 0, 0, MIN (block, pixels));
    if (np_nn_gemm_own_takes (MIN (block, pixels), &first, TRUE))
      np_parallel_for (job.n_cblocks, 1, run->n_threads, pack_range, &job);
    else
      job.packed = NULL;
  }
  np_parallel_for (jobs * job.n_cblocks, 1, run->n_threads, conv_range, &job);
}

typedef struct
{
  const NpLayer  *layer;
  const NpTensor *x, *out;
  NpTensor       *dx;
  gint64          n;
  gfloat         *col;
} ConvBackJob;

/* One image's columns, a range of input channels (rows c·k·k onwards) at a
 * time. */
static void
im2col_channels (gsize start, gsize end, guint part, gpointer data)
{
  const ConvBackJob *job = data;
  const NpTensor    *x = job->x;
  gint64 pixels = job->out->ne[0] * job->out->ne[1], kk = job->layer->p.geom.k * job->layer->p.geom.k;

  np_im2col (np_tensor_at (x, 0, 0, start, job->n), (gint) (end - start), x->ne[1], x->ne[0],
             &job->layer->p.geom, job->out->ne[1], job->out->ne[0], 0, pixels,
             job->col + start * kk * pixels, pixels);
}

/* Back into the image, a range of input channels (which never share an
 * output float) at a time. */
static void
col2im_channels (gsize start, gsize end, guint part, gpointer data)
{
  const ConvBackJob *job = data;
  const NpTensor    *x = job->x;
  gint64 pixels = job->out->ne[0] * job->out->ne[1], kk = job->layer->p.geom.k * job->layer->p.geom.k;

  np_col2im (job->col + start * kk * pixels, pixels, (gint) (end - start), x->ne[1], x->ne[0],
             &job->layer->p.geom, 0, job->out->ne[1], job->out->ne[0],
             np_tensor_at (job->dx, 0, 0, start, job->n));
}

/* Image by image, each step on every thread in pieces fixed by the shapes:
 * dW += dy · colᵀ (col = im2col (x)), db += Σ dy, then dcol = Wᵀ · dy (in the
 * columns' memory) and dx += col2im (dcol). */
static void
conv_backward (NpLayer *layer, const NpTensor *const *in, const NpTensor *out,
               const NpTensor *d_out, NpTensor *const *d_in, const NpLayerRun *run)
{
  const NpTensor *x = in[0];
  gint64  pixels = out->ne[0] * out->ne[1], channels = layer->p.channels;
  gint64  rows = x->ne[2] * layer->p.geom.k * layer->p.geom.k;
  gsize   grain = MAX (1, NP_NN_GRAIN / (layer->p.geom.k * layer->p.geom.k * pixels));
  ConvBackJob job = { layer, x, out, d_in[0], 0, run->shared };

  if (conv_is_narrow (layer, x->ne[2]))
    {
      conv_narrow_backward (layer, in, out, d_out, d_in, run);
      return;
    }
  for (job.n = 0; job.n < x->ne[3]; job.n++)
    {
      const gfloat *dy = np_tensor_at (d_out, 0, 0, 0, job.n);

      if (run->param_grads)
        {
          /* dW += dy · colᵀ: our kernels read colᵀ from the image pixel by
           * pixel; the OpenBLAS route lays out the columns first. */
          NpGemmA a = { dy, pixels, FALSE };
          NpGemmB cols = { .data = np_tensor_at (x, 0, 0, 0, job.n), .trans = TRUE, .geom = &layer->p.geom,
                           .h = (gint) x->ne[1], .w = (gint) x->ne[0], .oh = (gint) out->ne[1],
                           .ow = (gint) out->ne[0] };

          /* A 1×1 convolution's columns are its input (a classifier's head:
           * read pixel by pixel they ran at a tenth of the kernels' speed). */
          if (layer->p.geom.k == 1 && layer->p.geom.s == 1 && layer->p.geom.pad0 == 0 && layer->p.geom.pad1 == 0)
            cols = (NpGemmB) { .data = np_tensor_at (x, 0, 0, 0, job.n), .ld = pixels, .trans = TRUE };
          else if (!np_nn_gemm_own ())
            {
              np_parallel_for (x->ne[2], grain, run->n_threads, im2col_channels, &job);
              cols = (NpGemmB) { .data = job.col, .ld = pixels, .trans = TRUE };
            }
          np_nn_gemm_tiled (run->n_threads, channels, rows, pixels, &a, &cols, TRUE, layer->grads[0].data, rows,
                            job.col + rows * pixels, FALSE);
          np_nn_bias_grad (d_out, job.n, layer->grads[1].data, run->n_threads);
        }
      if (d_in[0])
        {
          NpGemmA wt = { layer->params[0].data, rows, TRUE };
          NpGemmB b = { .data = dy, .ld = pixels };

          np_nn_gemm_tiled (run->n_threads, rows, pixels, channels, &wt, &b, FALSE, job.col, pixels,
                            job.col + rows * pixels + (channels + NP_NN_GEMM_MAX_MR) * pixels, job.n > 0);
          np_parallel_for (x->ne[2], grain, run->n_threads, col2im_channels, &job);
        }
    }
}

static double
conv_scale (const NpLayer *layer, double in)
{
  return in * layer->p.geom.s;
}

/* A line missing both k= and out= is told about k=, the first. */
const NpLayerKey np_conv_keys[] = {
  { "k", NP_KEY_INT, NP_KEY_FIELD (geom.k), 1, 64, .required = TRUE },
  { "out", NP_KEY_INT, NP_KEY_FIELD (channels), 1, 65536, .required = TRUE },
  { "s", NP_KEY_INT, NP_KEY_FIELD (geom.s), 1, 64, 1 },
  { "p", NP_KEY_PADDING, NP_KEY_FIELD (geom), 0, 64, 0 },
  { NULL }
};

const NpLayerClass np_conv_class = {
  .kind = NP_LAYER_CONV,
  .name = "conv",
  .n_inputs = 1,
  .keys = np_conv_keys,
  .param_names = { "weight", "bias" },
  .param_inits = { NP_INIT_NORMAL, NP_INIT_ZERO },
  .out_channels = conv_out_channels,
  .shape = conv_shape,
  .scale = conv_scale,
  .param_shapes = conv_param_shapes,
  .weight_rows = np_nn_out_rows,
  .flops = np_nn_output_flops,
  .workspace = conv_workspace,
  .forward = conv_forward,
  .backward = conv_backward,
  .fuses_pointwise = TRUE,
};
