/* neuropaint — pixel shuffle, the sub-pixel convolution's rearrangement
 * (Shi et al. 2016, ESPCN; PyTorch's PixelShuffle): C·r² channels of H×W
 * become C channels of rH×rW, out[c][y·r + i][x·r + j] = in[c·r² + i·r + j][y][x].
 * A convolution at the input's size followed by it upsamples by r with
 * learnt filters, r² times cheaper than one at the output's size and free of
 * the transposed convolution's checkerboard. */
#include "np-nn-private.h"

static gint64
shuffle_out_channels (const NpLayer *layer, const gint64 *in_channels)
{
  return in_channels[0] / ((gint64) layer->p.factor * layer->p.factor);
}

static gboolean
shuffle_shape (const NpLayer *layer, const NpTensor *const *in, gint64 out_ne[4], GError **error)
{
  gint64 r2 = (gint64) layer->p.factor * layer->p.factor;

  if (in[0]->ne[2] % r2 || in[0]->ne[2] == 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "layer %s: %" G_GINT64_FORMAT " channels are no multiple of factor² = %" G_GINT64_FORMAT,
                   layer->name ? layer->name : "pixelshuffle", in[0]->ne[2], r2);
      return FALSE;
    }
  out_ne[0] = in[0]->ne[0] * layer->p.factor, out_ne[1] = in[0]->ne[1] * layer->p.factor;
  out_ne[2] = in[0]->ne[2] / r2, out_ne[3] = in[0]->ne[3];
  return TRUE;
}

typedef struct
{
  const NpTensor *small;   /* C·r² channels of H×W: the input, or d_in */
  const NpTensor *big;     /* C channels of rH×rW: the output, or d_out */
  gint            r;
  gboolean        backward;
} ShuffleJob;

/* Items are input rows y of output channel c of image n, over all r² input
 * channels of c: each writes its own r output rows (forward) or adds into
 * its own r² input rows (backward), so threads never share memory. */
static void
shuffle_range (gsize start, gsize end, guint part, gpointer data)
{
  const ShuffleJob *job = data;
  gint64 w = job->small->ne[0], h = job->small->ne[1], channels = job->big->ne[2];
  gint   r = job->r;

  for (gsize item = start; item < end; item++)
    {
      gint64 y = item % h, c = item / h % channels, n = item / h / channels;

      for (gint i = 0; i < r; i++)
        {
          gfloat *big = np_tensor_at (job->big, 0, y * r + i, c, n);
          for (gint j = 0; j < r; j++)
            {
              gfloat *small = np_tensor_at (job->small, 0, y, c * r * r + i * r + j, n);
              if (job->backward)
                for (gint64 x = 0; x < w; x++)
                  small[x] += big[x * r + j];
              else
                for (gint64 x = 0; x < w; x++)
                  big[x * r + j] = small[x];
            }
        }
    }
}

/* Items a thread takes at least: each moves r² input rows. */
static gsize
grain (const NpLayer *layer, const NpTensor *small)
{
  return MAX (1, NP_NN_GRAIN / (small->ne[0] * layer->p.factor * layer->p.factor));
}

static void
shuffle_forward (NpLayer *layer, const NpTensor *const *in, NpTensor *out, const NpLayerRun *run)
{
  ShuffleJob job = { in[0], out, layer->p.factor, FALSE };

  np_parallel_for (out->ne[3] * out->ne[2] * in[0]->ne[1], grain (layer, in[0]), run->n_threads, shuffle_range, &job);
}

/* A permutation: each input value's gradient is its output's. */
static void
shuffle_backward (NpLayer *layer, const NpTensor *const *in, const NpTensor *out,
                  const NpTensor *d_out, NpTensor *const *d_in, const NpLayerRun *run)
{
  ShuffleJob job = { d_in[0], d_out, layer->p.factor, TRUE };

  if (d_in[0])
    np_parallel_for (d_out->ne[3] * d_out->ne[2] * in[0]->ne[1], grain (layer, in[0]), run->n_threads,
                     shuffle_range, &job);
}

static double
shuffle_scale (const NpLayer *layer, double in)
{
  return in / layer->p.factor;
}

static const NpLayerKey shuffle_keys[] = {
  { "factor", NP_KEY_INT, NP_KEY_FIELD (factor), 1, 16, .required = TRUE },
  { NULL }
};

const NpLayerClass np_pixelshuffle_class = {
  .kind = NP_LAYER_PIXELSHUFFLE,
  .name = "pixelshuffle",
  .n_inputs = 1,
  .keys = shuffle_keys,
  .out_channels = shuffle_out_channels,
  .shape = shuffle_shape,
  .scale = shuffle_scale,
  .param_shapes = np_nn_no_params,
  .forward = shuffle_forward,
  .backward = shuffle_backward,
};
