/* neuropaint — pointwise layers: LeakyReLU, ReLU, tanh, sigmoid, and dropout
 * (the identity at inference, as PyTorch's eval mode and as the seed's Keras
 * Dropout outside training; in training it zeroes each value with
 * probability `rate` and scales the rest by 1/(1 − rate), with a mask that is
 * a pure function of the layer's key and the value's index, so backward
 * recomputes it instead of storing it, and any thread count draws the same).
 *
 * One kernel serves them all, y = act(a·x + b): standalone layers call it
 * with a = 1, b = 0; convolutions call it (through np_nn_epilogue) on each
 * block of their output while it is in cache, with their bias and any batch
 * norm folded into a and b, so a conv → batch norm → LeakyReLU chain costs
 * no extra pass over memory. */
#include "np-nn-private.h"
#include "util/np-rng.h"

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
      /* Dropout at inference, and the affine map of an epilogue. */
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
    layer->fused[i]->klass->epilogue (layer->fused[i], channel, &a, &b, x, n);
  if (a != 1.0f || b != 0.0f)
    np_nn_pointwise (NP_LAYER_DROPOUT, &layer->p, a, b, x, x, n);
}

/* Any pointwise layer may follow a convolution into its epilogue; dropout
 * is the identity there (fusion is for inference only). */
static gboolean
point_fusable (const NpLayer *layer, NpBnMode bn_mode)
{
  return TRUE;
}

static void
point_epilogue (const NpLayer *layer, gint64 channel, gfloat *a, gfloat *b, gfloat *x, gsize n)
{
  if (layer->klass->kind == NP_LAYER_DROPOUT)
    return;
  np_nn_pointwise (layer->klass->kind, &layer->p, *a, *b, x, x, n);
  *a = 1.0f, *b = 0.0f;
}

/* Dropout keeps value i when the top 32 bits of hash(key ^ i) reach
 * rate·2³² (tests/oracle reimplements this to share the mask with PyTorch). */
static inline gboolean
dropout_keeps (guint64 key, guint64 i, guint64 threshold)
{
  return np_rng_hash (key ^ i) >> 32 >= threshold;
}

typedef struct
{
  const NpLayer   *layer;
  const NpTensor  *in, *out, *dy;
  NpTensor        *y;          /* forward: the output; backward: dx */
  gboolean         dropping;   /* dropout in training */
  gint64           first_image;
} PointJob;

/* Items are floats over all images; images may sit apart (views into a
 * concatenation), so ranges are cut at image borders. */
static void
forward_range (gsize start, gsize end, guint part, gpointer data)
{
  const PointJob *job = data;
  const NpLayer  *l = job->layer;
  gsize  per_image = job->in->ne[0] * job->in->ne[1] * job->in->ne[2];
  guint64 threshold = (guint64) (l->p.rate * 4294967296.0);
  gfloat scale = 1.0f / (1.0f - l->p.rate);

  /* A micro-batch draws the masks its images have in the whole batch. */
  guint64 first = (guint64) job->first_image * per_image;

  for (gsize i = start; i < end;)
    {
      gsize         n = i / per_image, j = i % per_image, len = MIN (end - i, per_image - j);
      const gfloat *x = np_tensor_at (job->in, 0, 0, 0, n) + j;
      gfloat       *y = np_tensor_at (job->y, 0, 0, 0, n) + j;

      if (job->dropping)
        for (gsize k = 0; k < len; k++)
          y[k] = dropout_keeps (l->key, first + i + k, threshold) ? x[k] * scale : 0.0f;
      else
        np_nn_pointwise (l->klass->kind, &l->p, 1.0f, 0.0f, x, y, len);
      i += len;
    }
}

static void
point_forward (NpLayer *layer, const NpTensor *const *in, NpTensor *out, const NpLayerRun *run)
{
  PointJob job = { layer, in[0], NULL, NULL, out,
                   layer->klass->kind == NP_LAYER_DROPOUT && run->training, run->first_image };
  np_parallel_for (np_tensor_n_elements (in[0]), NP_NN_GRAIN, run->n_threads, forward_range, &job);
}

/* dx += dy · f'(x), written with y = f(x) alone (and dropout's key), so the
 * layer may run in place in training too: x is gone by backward. ReLU and
 * LeakyReLU with a positive slope: y > 0 exactly when x > 0. */
static void
backward_range (gsize start, gsize end, guint part, gpointer data)
{
  const PointJob *job = data;
  const NpLayer  *l = job->layer;
  gsize   per_image = job->in->ne[0] * job->in->ne[1] * job->in->ne[2];
  gfloat  slope = l->p.slope, scale = 1.0f / (1.0f - l->p.rate);
  guint64 threshold = (guint64) (l->p.rate * 4294967296.0);
  guint64 first = (guint64) job->first_image * per_image;

  for (gsize i = start; i < end;)
    {
      gsize         n = i / per_image, j = i % per_image, len = MIN (end - i, per_image - j);
      const gfloat *y = np_tensor_at (job->out, 0, 0, 0, n) + j;
      const gfloat *dy = np_tensor_at (job->dy, 0, 0, 0, n) + j;
      gfloat       *dx = np_tensor_at (job->y, 0, 0, 0, n) + j;
      gsize         k;

      /* One loop per kind, so each vectorises. */
      switch (l->klass->kind)
        {
        case NP_LAYER_LRELU:
          for (k = 0; k < len; k++)
            dx[k] += y[k] > 0 ? dy[k] : dy[k] * slope;
          break;
        case NP_LAYER_RELU:
          for (k = 0; k < len; k++)
            dx[k] += y[k] > 0 ? dy[k] : 0.0f;
          break;
        case NP_LAYER_TANH:
          for (k = 0; k < len; k++)
            dx[k] += dy[k] * (1 - y[k] * y[k]);
          break;
        case NP_LAYER_SIGMOID:
          for (k = 0; k < len; k++)
            dx[k] += dy[k] * y[k] * (1 - y[k]);
          break;
        default:
          if (job->dropping)
            for (k = 0; k < len; k++)
              dx[k] += dropout_keeps (l->key, first + i + k, threshold) ? dy[k] * scale : 0.0f;
          else
            for (k = 0; k < len; k++)
              dx[k] += dy[k];
          break;
        }
      i += len;
    }
}

static void
point_backward (NpLayer *layer, const NpTensor *const *in, const NpTensor *out,
                const NpTensor *d_out, NpTensor *const *d_in, const NpLayerRun *run)
{
  PointJob job = { layer, in[0], out, d_out, d_in[0],
                   layer->klass->kind == NP_LAYER_DROPOUT && run->training, run->first_image };

  if (d_in[0])
    np_parallel_for (np_tensor_n_elements (in[0]), NP_NN_GRAIN, run->n_threads, backward_range, &job);
}

/* Backward finds the sign of x from y unless a LeakyReLU's slope is not
 * positive. */
static gboolean
point_backward_from_output (const NpLayer *layer)
{
  return !(layer->klass->kind == NP_LAYER_LRELU && layer->p.slope <= 0);
}

static const NpLayerKey lrelu_keys[] = {
  { "slope", NP_KEY_FLOAT, NP_KEY_FIELD (slope), -1e3, 1e3, 0.01 },
  { NULL }
};

static const NpLayerKey dropout_keys[] = {
  { "rate", NP_KEY_FLOAT, NP_KEY_FIELD (rate), 0.0, 0.999, 0.5 },
  { NULL }
};

#define POINT_LAYER(name_, KIND, keys_)                                              \
  const NpLayerClass np_##name_##_class = {                                          \
    .kind = KIND,                                                                    \
    .name = #name_,                                                                  \
    .n_inputs = 1,                                                                   \
    .keys = keys_,                                                                   \
    .out_channels = np_nn_same_channels,                                             \
    .shape = np_nn_same_shape,                                                       \
    .param_shapes = np_nn_no_params,                                                 \
    .forward = point_forward,                                                        \
    .backward = point_backward,                                                      \
    .in_place = TRUE,                                                                \
    .backward_from_output = point_backward_from_output,                              \
    .backward_reads_output = TRUE,                                                   \
    .fusable = point_fusable,                                                        \
    .epilogue = point_epilogue,                                                      \
  };

POINT_LAYER (lrelu,   NP_LAYER_LRELU,   lrelu_keys)
POINT_LAYER (relu,    NP_LAYER_RELU,    NULL)
POINT_LAYER (tanh,    NP_LAYER_TANH,    NULL)
POINT_LAYER (sigmoid, NP_LAYER_SIGMOID, NULL)
POINT_LAYER (dropout, NP_LAYER_DROPOUT, dropout_keys)
