/* neuropaint — batch normalisation.
 *
 * y = (x - mean[c]) / sqrt(var[c] + eps) · gamma[c] + beta[c], with mean and
 * var either the running statistics stored in the model (PyTorch's eval
 * mode) or those of the batch at hand over N, H and W (biased variance), as
 * in training and as the seed's Keras model computed them even when
 * generating. Training on batch statistics also keeps the batch's mean and
 * 1/σ for backward and moves the running statistics towards the batch's as
 * PyTorch does: r ← (1 − momentum)·r + momentum·batch, with the unbiased
 * variance. Channels are independent, so threads share them out and every
 * sum runs in one thread in a fixed order. */
#include "np-nn-private.h"

#include <math.h>

static void
bn_param_shapes (const NpLayer *layer, gint64 in_channels, gint64 shapes[NP_LAYER_MAX_PARAMS][4])
{
  for (int i = 0; i < 4; i++)
    shapes[i][0] = in_channels, shapes[i][1] = shapes[i][2] = shapes[i][3] = 1;
}

/* The batch's mean and 1/σ per channel. */
static gsize
bn_saved (const NpLayer *layer, const NpTensor *const *in)
{
  return 2 * (gsize) in[0]->ne[2];
}

typedef struct
{
  const NpLayer  *layer;
  const NpTensor *x, *dy;
  NpTensor       *out;        /* forward: y; backward: dx (NULL: not wanted) */
  const NpLayerRun *run;
} BnJob;

/* Mean and biased variance of channel c over the batch, in two passes in
 * double: one-pass sums lose the variance of activations whose mean is
 * large against their spread. */
static void
batch_statistics (const NpTensor *x, gint64 c, double *mean, double *var)
{
  gint64 pixels = x->ne[0] * x->ne[1], m = pixels * x->ne[3];
  double sum = 0, sq = 0;

  for (gint64 n = 0; n < x->ne[3]; n++)
    {
      const gfloat *xs = np_tensor_at (x, 0, 0, c, n);
      for (gint64 j = 0; j < pixels; j++)
        sum += xs[j];
    }
  *mean = sum / m;
  for (gint64 n = 0; n < x->ne[3]; n++)
    {
      const gfloat *xs = np_tensor_at (x, 0, 0, c, n);
      for (gint64 j = 0; j < pixels; j++)
        sq += (xs[j] - *mean) * (xs[j] - *mean);
    }
  *var = sq / m;
}

static void
forward_range (gsize start, gsize end, guint part, gpointer data)
{
  const BnJob   *job = data;
  const NpLayer *l = job->layer;
  const NpTensor *x = job->x;
  gint64  pixels = x->ne[0] * x->ne[1], m = pixels * x->ne[3];
  const gfloat *gamma = l->params[0].data, *beta = l->params[1].data;
  gfloat *running_mean = l->params[2].data, *running_var = l->params[3].data;

  for (gsize c = start; c < end; c++)
    {
      double mean = running_mean[c], var = running_var[c];
      gfloat scale, shift;

      if (job->run->bn_mode == NP_BN_BATCH)
        {
          batch_statistics (x, c, &mean, &var);
          if (job->run->training)
            {
              l->saved[2 * c] = (gfloat) mean;
              l->saved[2 * c + 1] = (gfloat) (1.0 / sqrt (var + l->p.eps));
            }
          if (job->run->update_running)
            {
              gfloat momentum = l->p.momentum;
              running_mean[c] = (gfloat) ((1 - momentum) * running_mean[c] + momentum * mean);
              running_var[c] = (gfloat) ((1 - momentum) * running_var[c]
                                         + momentum * var * m / MAX (m - 1, 1));
            }
        }
      scale = (gfloat) (gamma[c] / sqrt (var + l->p.eps));
      shift = (gfloat) (beta[c] - mean * scale);
      for (gint64 n = 0; n < x->ne[3]; n++)
        {
          const gfloat *xs = np_tensor_at (x, 0, 0, c, n);
          gfloat       *y = np_tensor_at (job->out, 0, 0, c, n);
          for (gint64 j = 0; j < pixels; j++)
            y[j] = xs[j] * scale + shift;
        }
    }
}

static void
bn_forward (NpLayer *layer, const NpTensor *const *in, NpTensor *out, const NpLayerRun *run)
{
  BnJob job = { layer, in[0], NULL, out, run };
  gsize grain = MAX (1, NP_NN_GRAIN / (in[0]->ne[0] * in[0]->ne[1] * in[0]->ne[3]));

  np_parallel_for (in[0]->ne[2], grain, run->n_threads, forward_range, &job);
}

/* Per channel, with x̂ = (x - mean)/σ over the M = N·H·W values:
 * dβ += Σ dy, dγ += Σ dy·x̂, and dx += γ/σ · (dy - Σdy/M - x̂ · Σ(dy·x̂)/M)
 * on batch statistics (mean and σ depend on x; forward kept them),
 * dx += γ/σ · dy on running ones. Sums in double, in order. */
static void
backward_range (gsize start, gsize end, guint part, gpointer data)
{
  const BnJob    *job = data;
  const NpLayer  *l = job->layer;
  const NpTensor *x = job->x, *d_out = job->dy;
  gboolean batch = job->run->bn_mode == NP_BN_BATCH;
  gint64   pixels = x->ne[0] * x->ne[1], m = pixels * x->ne[3];

  for (gsize ch = start; ch < end; ch++)
    {
      double mean = batch ? l->saved[2 * ch] : l->params[2].data[ch];
      double inv_sigma = batch ? l->saved[2 * ch + 1] : 1.0 / sqrt (l->params[3].data[ch] + l->p.eps);
      double gamma = l->params[0].data[ch], sum_dy = 0, sum_dy_xhat = 0;

      for (gint64 n = 0; n < x->ne[3]; n++)
        {
          const gfloat *xs = np_tensor_at (x, 0, 0, ch, n), *dy = np_tensor_at (d_out, 0, 0, ch, n);
          for (gint64 j = 0; j < pixels; j++)
            {
              sum_dy += dy[j];
              sum_dy_xhat += dy[j] * (xs[j] - mean) * inv_sigma;
            }
        }
      if (job->run->param_grads)
        {
          l->grads[0].data[ch] += (gfloat) sum_dy_xhat;
          l->grads[1].data[ch] += (gfloat) sum_dy;
        }
      if (job->out == NULL)
        continue;
      /* The same as dx = a·dy + b·x + c, a chain of multiply-adds per value
       * (in float: it vectorises). */
      {
        gfloat a = (gfloat) (gamma * inv_sigma);
        gfloat b = batch ? (gfloat) (-gamma * inv_sigma * inv_sigma * sum_dy_xhat / m) : 0.0f;
        gfloat c = batch ? (gfloat) (gamma * inv_sigma * (mean * inv_sigma * sum_dy_xhat - sum_dy) / m) : 0.0f;
        for (gint64 n = 0; n < x->ne[3]; n++)
          {
            const gfloat *xs = np_tensor_at (x, 0, 0, ch, n), *dy = np_tensor_at (d_out, 0, 0, ch, n);
            gfloat       *dx = np_tensor_at (job->out, 0, 0, ch, n);
            for (gint64 j = 0; j < pixels; j++)
              dx[j] += a * dy[j] + b * xs[j] + c;
          }
      }
    }
}

static void
bn_backward (NpLayer *layer, const NpTensor *const *in, const NpTensor *out,
             const NpTensor *d_out, NpTensor *const *d_in, const NpLayerRun *run)
{
  BnJob job = { layer, in[0], d_out, d_in[0], run };
  gsize grain = MAX (1, NP_NN_GRAIN / (in[0]->ne[0] * in[0]->ne[1] * in[0]->ne[3]));

  np_parallel_for (in[0]->ne[2], grain, run->n_threads, backward_range, &job);
}

/* Folded into a convolution's epilogue on running statistics only: batch
 * statistics need the whole output first. */
static gboolean
bn_fusable (const NpLayer *layer, NpBnMode bn_mode)
{
  return bn_mode == NP_BN_RUNNING;
}

static void
bn_epilogue (const NpLayer *layer, gint64 channel, gfloat *a, gfloat *b, gfloat *x, gsize n)
{
  gfloat gamma = layer->params[0].data[channel], beta = layer->params[1].data[channel];
  gfloat mean = layer->params[2].data[channel], var = layer->params[3].data[channel];
  gfloat scale = gamma / sqrtf (var + layer->p.eps);

  *a *= scale;
  *b = *b * scale + beta - mean * scale;
}

static const NpLayerKey bn_keys[] = {
  { "eps", NP_KEY_FLOAT, NP_KEY_FIELD (eps), 1e-12, 1.0, 1e-5 },
  { "momentum", NP_KEY_FLOAT, NP_KEY_FIELD (momentum), 0.0, 1.0, 0.1 },
  { NULL }
};

const NpLayerClass np_batchnorm_class = {
  .kind = NP_LAYER_BATCHNORM,
  .name = "batchnorm",
  .n_inputs = 1,
  .keys = bn_keys,
  .param_names = { "weight", "bias", "running_mean", "running_var" },
  .param_kinds = { NP_PARAM_TRAINABLE, NP_PARAM_TRAINABLE, NP_PARAM_BUFFER, NP_PARAM_BUFFER },
  /* At the identity. */
  .param_inits = { NP_INIT_ONE, NP_INIT_ZERO, NP_INIT_ZERO, NP_INIT_ONE },
  .out_channels = np_nn_same_channels,
  .shape = np_nn_same_shape,
  .param_shapes = bn_param_shapes,
  .saved = bn_saved,
  .forward = bn_forward,
  .backward = bn_backward,
  .in_place = TRUE,
  .fusable = bn_fusable,
  .epilogue = bn_epilogue,
};
