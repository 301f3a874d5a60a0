/* neuropaint — pointwise layers: LeakyReLU, ReLU, tanh, sigmoid, and dropout
 * (the identity at inference, as PyTorch's eval mode and as the seed's Keras
 * Dropout outside training).
 *
 * One kernel serves them all, y = act(a·x + b): standalone layers call it
 * with a = 1, b = 0; convolutions call it (through np_nn_epilogue) on each
 * block of their output while it is in cache, with their bias and any batch
 * norm folded into a and b, so a conv → batch norm → LeakyReLU chain costs
 * no extra pass over memory. */
#include "np-nn-private.h"

#include <math.h>
#include <string.h>

/* Cloned for AVX2: the loops are 8 wide there instead of SSE2's 4. */
__attribute__ ((target_clones ("avx2", "default")))
void
np_nn_pointwise (NpLayerKind kind, const NpLayerParams *p, gfloat a, gfloat b,
                 const gfloat *x, gfloat *y, gsize n)
{
  gfloat slope = p->slope;

  switch (kind)
    {
    case NP_LAYER_LRELU:
      for (gsize i = 0; i < n; i++)
        {
          gfloat v = a * x[i] + b;
          y[i] = v > 0 ? v : v * slope;
        }
      break;
    case NP_LAYER_RELU:
      for (gsize i = 0; i < n; i++)
        {
          gfloat v = a * x[i] + b;
          y[i] = v > 0 ? v : 0.0f;
        }
      break;
    case NP_LAYER_TANH:
      /* 1 - 2/(e^2v + 1): one expf, several times faster than tanhf, within 2e-7
       * of it; clamped where e^2v would overflow (tanh is ±1 there). */
      for (gsize i = 0; i < n; i++)
        {
          gfloat v = CLAMP (a * x[i] + b, -9.0f, 9.0f);
          y[i] = 1.0f - 2.0f / (expf (2.0f * v) + 1.0f);
        }
      break;
    case NP_LAYER_SIGMOID:
      for (gsize i = 0; i < n; i++)
        y[i] = 1.0f / (1.0f + expf (-(a * x[i] + b)));
      break;
    default:
      /* Dropout at inference, and batch norm's affine part. */
      if (a == 1.0f && b == 0.0f)
        {
          if (x != y)
            memcpy (y, x, n * sizeof (gfloat));
        }
      else
        for (gsize i = 0; i < n; i++)
          y[i] = a * x[i] + b;
      break;
    }
}

void
np_nn_epilogue (const NpLayer *layer, gint64 channel, gfloat bias, gfloat *x, gsize n)
{
  /* The affine map a·x + b still to apply: the bias, then each batch norm. */
  gfloat a = 1.0f, b = bias;

  for (gint i = 0; i < layer->n_fused; i++)
    {
      const NpLayer *f = layer->fused[i];
      NpLayerKind    kind = f->klass->kind;

      if (kind == NP_LAYER_BATCHNORM)
        {
          gfloat gamma = f->params[0]->data[channel], beta = f->params[1]->data[channel];
          gfloat mean = f->params[2]->data[channel], var = f->params[3]->data[channel];
          gfloat scale = gamma / sqrtf (var + f->p.eps);
          a *= scale;
          b = b * scale + beta - mean * scale;
        }
      else if (kind != NP_LAYER_DROPOUT)
        {
          np_nn_pointwise (kind, &f->p, a, b, x, x, n);
          a = 1.0f, b = 0.0f;
        }
    }
  if (a != 1.0f || b != 0.0f)
    np_nn_pointwise (NP_LAYER_DROPOUT, &layer->p, a, b, x, x, n);
}

typedef struct
{
  const NpLayer *layer;
  const NpTensor *in;
  NpTensor      *out;
} PointJob;

static void
point_range (gsize start, gsize end, guint part, gpointer data)
{
  const PointJob *job = data;
  gsize per_image = job->in->ne[0] * job->in->ne[1] * job->in->ne[2];

  /* Items are floats over all images; images may sit apart (views into a
   * concatenation), so cut ranges at image borders. */
  for (gsize i = start; i < end;)
    {
      gsize n = i / per_image, j = i % per_image, len = MIN (end - i, per_image - j);
      np_nn_pointwise (job->layer->klass->kind, &job->layer->p, 1.0f, 0.0f,
                       np_tensor_at (job->in, 0, 0, 0, n) + j, np_tensor_at (job->out, 0, 0, 0, n) + j, len);
      i += len;
    }
}

static void
point_forward (NpLayer *layer, const NpTensor *const *in, NpTensor *out, const NpCompute *compute)
{
  PointJob job = { layer, in[0], out };
  np_parallel_for (np_tensor_n_elements (in[0]), NP_NN_GRAIN, compute->n_threads, point_range, &job);
}

/* dx += dy · f'(x), written with whichever of x and y = f(x) is simpler. */
static void
point_backward (NpLayer *layer, const NpTensor *const *in, const NpTensor *out,
                const NpTensor *d_out, NpTensor *const *d_in, const NpCompute *compute)
{
  gint64 per_image = in[0]->ne[0] * in[0]->ne[1] * in[0]->ne[2];
  gfloat slope = layer->p.slope;

  if (d_in[0] == NULL)
    return;
  for (gint64 n = 0; n < in[0]->ne[3]; n++)
    {
      const gfloat *x = np_tensor_at (in[0], 0, 0, 0, n), *y = np_tensor_at (out, 0, 0, 0, n);
      const gfloat *dy = np_tensor_at (d_out, 0, 0, 0, n);
      gfloat       *dx = np_tensor_at (d_in[0], 0, 0, 0, n);

      for (gint64 i = 0; i < per_image; i++)
        switch (layer->klass->kind)
          {
          case NP_LAYER_LRELU:   dx[i] += x[i] > 0 ? dy[i] : dy[i] * slope; break;
          case NP_LAYER_RELU:    dx[i] += x[i] > 0 ? dy[i] : 0.0f; break;
          case NP_LAYER_TANH:    dx[i] += dy[i] * (1 - y[i] * y[i]); break;
          case NP_LAYER_SIGMOID: dx[i] += dy[i] * y[i] * (1 - y[i]); break;
          default:               dx[i] += dy[i]; break;
          }
    }
}

void
np_nn_accumulate (NpTensor *dst, const NpTensor *src)
{
  gint64 plane = src->ne[0] * src->ne[1];

  for (gint64 n = 0; n < src->ne[3]; n++)
    for (gint64 c = 0; c < src->ne[2]; c++)
      {
        gfloat       *d = np_tensor_at (dst, 0, 0, c, n);
        const gfloat *s = np_tensor_at (src, 0, 0, c, n);
        for (gint64 i = 0; i < plane; i++)
          d[i] += s[i];
      }
}

void
np_nn_sgd_update (NpLayer *layer, gfloat learning_rate)
{
  for (gint j = 0; j < layer->n_params; j++)
    if (layer->grads[j])
      for (gint64 i = 0; i < np_tensor_n_elements (layer->params[j]); i++)
        layer->params[j]->data[i] -= learning_rate * layer->grads[j]->data[i];
}

#define POINT_LAYER(name_, KIND)                                                     \
  const NpLayerClass np_##name_##_class = {                                          \
    .kind = KIND,                                                                    \
    .out_channels = np_nn_same_channels,                                             \
    .shape = np_nn_same_shape,                                                       \
    .param_shapes = np_nn_no_params,                                                 \
    .forward = point_forward,                                                        \
    .backward = point_backward,                                                      \
    .in_place = TRUE,                                                                \
  };

POINT_LAYER (lrelu,   NP_LAYER_LRELU)
POINT_LAYER (relu,    NP_LAYER_RELU)
POINT_LAYER (tanh,    NP_LAYER_TANH)
POINT_LAYER (sigmoid, NP_LAYER_SIGMOID)
POINT_LAYER (dropout, NP_LAYER_DROPOUT)
