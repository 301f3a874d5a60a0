/* neuropaint — batch normalisation (inference).
 *
 * y = (x - mean[c]) / sqrt(var[c] + eps) · gamma[c] + beta[c], with mean and
 * var either the running statistics stored in the model (PyTorch's eval
 * mode) or those of the batch at hand over N, H and W (biased variance), as
 * the seed's Keras model computed them even when generating. */
#include "np-nn-private.h"

#include <math.h>

static void
bn_param_shapes (const NpLayer *layer, gint64 in_channels, gint64 shapes[NP_LAYER_MAX_PARAMS][4])
{
  for (int i = 0; i < 4; i++)
    shapes[i][0] = in_channels, shapes[i][1] = shapes[i][2] = shapes[i][3] = 1;
}

typedef struct
{
  const NpLayer  *layer;
  const NpTensor *in;
  NpTensor       *out;
  NpBnMode        mode;
} BnJob;

static void
bn_range (gsize start, gsize end, guint part, gpointer data)
{
  const BnJob    *job = data;
  const NpTensor *in = job->in;
  gint64  pixels = in->ne[0] * in->ne[1];
  const gfloat *gamma = job->layer->params[0]->data, *beta = job->layer->params[1]->data;

  for (gsize c = start; c < end; c++)
    {
      double mean = job->layer->params[2]->data[c], var = job->layer->params[3]->data[c];
      gfloat scale, shift;

      if (job->mode == NP_BN_BATCH)
        {
          /* Two passes in double: one-pass sums lose the variance of
           * activations whose mean is large against their spread. */
          double sum = 0, sq = 0;
          for (gint64 n = 0; n < in->ne[3]; n++)
            {
              const gfloat *x = np_tensor_at (in, 0, 0, c, n);
              for (gint64 j = 0; j < pixels; j++)
                sum += x[j];
            }
          mean = sum / (pixels * in->ne[3]);
          for (gint64 n = 0; n < in->ne[3]; n++)
            {
              const gfloat *x = np_tensor_at (in, 0, 0, c, n);
              for (gint64 j = 0; j < pixels; j++)
                sq += (x[j] - mean) * (x[j] - mean);
            }
          var = sq / (pixels * in->ne[3]);
        }
      scale = (gfloat) (gamma[c] / sqrt (var + job->layer->p.eps));
      shift = (gfloat) (beta[c] - mean * scale);
      for (gint64 n = 0; n < in->ne[3]; n++)
        {
          const gfloat *x = np_tensor_at (in, 0, 0, c, n);
          gfloat       *y = np_tensor_at (job->out, 0, 0, c, n);
          for (gint64 j = 0; j < pixels; j++)
            y[j] = x[j] * scale + shift;
        }
    }
}

static void
bn_forward (NpLayer *layer, const NpTensor *const *in, NpTensor *out, const NpCompute *compute)
{
  BnJob job = { layer, in[0], out, compute->bn_mode };
  gsize grain = MAX (1, NP_NN_GRAIN / (in[0]->ne[0] * in[0]->ne[1] * in[0]->ne[3]));

  np_parallel_for (in[0]->ne[2], grain, compute->n_threads, bn_range, &job);
}

/* Per channel, with x̂ = (x - mean)/σ over the M = N·H·W values:
 * dβ += Σ dy, dγ += Σ dy·x̂, and dx += γ/σ · (dy - Σdy/M - x̂ · Σ(dy·x̂)/M)
 * on batch statistics (mean and σ depend on x), dx += γ/σ · dy on running
 * ones. */
static void
bn_backward (NpLayer *layer, const NpTensor *const *in, const NpTensor *out,
             const NpTensor *d_out, NpTensor *const *d_in, const NpCompute *compute)
{
  const NpTensor *x = in[0];
  gint64  pixels = x->ne[0] * x->ne[1], m = pixels * x->ne[3];

  for (gint64 c = 0; c < x->ne[2]; c++)
    {
      double mean = layer->params[2]->data[c], var = layer->params[3]->data[c];
      double sum_dy = 0, sum_dy_xhat = 0, sigma, gamma = layer->params[0]->data[c];

      if (compute->bn_mode == NP_BN_BATCH)
        {
          double sum = 0, sq = 0;
          for (gint64 n = 0; n < x->ne[3]; n++)
            for (gint64 j = 0; j < pixels; j++)
              sum += np_tensor_at (x, 0, 0, c, n)[j];
          mean = sum / m;
          for (gint64 n = 0; n < x->ne[3]; n++)
            for (gint64 j = 0; j < pixels; j++)
              {
                double d = np_tensor_at (x, 0, 0, c, n)[j] - mean;
                sq += d * d;
              }
          var = sq / m;
        }
      sigma = sqrt (var + layer->p.eps);
      for (gint64 n = 0; n < x->ne[3]; n++)
        {
          const gfloat *xs = np_tensor_at (x, 0, 0, c, n), *dy = np_tensor_at (d_out, 0, 0, c, n);
          for (gint64 j = 0; j < pixels; j++)
            {
              sum_dy += dy[j];
              sum_dy_xhat += dy[j] * (xs[j] - mean) / sigma;
            }
        }
      layer->grads[0]->data[c] += (gfloat) sum_dy_xhat;
      layer->grads[1]->data[c] += (gfloat) sum_dy;
      if (d_in[0] == NULL)
        continue;
      for (gint64 n = 0; n < x->ne[3]; n++)
        {
          const gfloat *xs = np_tensor_at (x, 0, 0, c, n), *dy = np_tensor_at (d_out, 0, 0, c, n);
          gfloat       *dx = np_tensor_at (d_in[0], 0, 0, c, n);
          for (gint64 j = 0; j < pixels; j++)
            {
              double g = dy[j];
              if (compute->bn_mode == NP_BN_BATCH)
                g -= (sum_dy + (xs[j] - mean) / sigma * sum_dy_xhat) / m;
              dx[j] += (gfloat) (gamma / sigma * g);
            }
        }
    }
}

const NpLayerClass np_batchnorm_class = {
  .kind = NP_LAYER_BATCHNORM,
  .param_names = { "weight", "bias", "running_mean", "running_var" },
  .out_channels = np_nn_same_channels,
  .shape = np_nn_same_shape,
  .param_shapes = bn_param_shapes,
  .forward = bn_forward,
  .backward = bn_backward,
  .update = np_nn_sgd_update,
  .in_place = TRUE,
};
