/* neuropaint — pointwise layers: LeakyReLU, ReLU, tanh, sigmoid, and dropout
 * (the identity at inference, as PyTorch's eval mode and as the seed's Keras
 * Dropout outside training).
 *
 * One parallel loop serves them all; each kind only supplies its function. */
#include "np-nn-private.h"

#include <math.h>
#include <string.h>

typedef void (*PointFunc) (const gfloat *x, gfloat *y, gsize n, const NpLayerParams *p);

typedef struct
{
  PointFunc            func;
  const NpLayerParams *p;
  const gfloat        *x;
  gfloat              *y;
} PointJob;

static void
point_range (gsize start, gsize end, guint part, gpointer data)
{
  const PointJob *job = data;
  job->func (job->x + start, job->y + start, end - start, job->p);
}

/* Pointwise layers run on contiguous tensors (the net allocates them so). */
static void
point_forward (PointFunc func, NpLayer *layer, const NpTensor *in, NpTensor *out, gint n_threads)
{
  PointJob job = { func, &layer->p, in->data, out->data };
  np_parallel_for (np_tensor_n_elements (in), NP_NN_GRAIN, n_threads, point_range, &job);
}

static void
lrelu (const gfloat *x, gfloat *y, gsize n, const NpLayerParams *p)
{
  for (gsize i = 0; i < n; i++)
    y[i] = x[i] > 0 ? x[i] : x[i] * p->slope;
}

static void
relu (const gfloat *x, gfloat *y, gsize n, const NpLayerParams *p)
{
  for (gsize i = 0; i < n; i++)
    y[i] = x[i] > 0 ? x[i] : 0.0f;
}

static void
tanh_ (const gfloat *x, gfloat *y, gsize n, const NpLayerParams *p)
{
  for (gsize i = 0; i < n; i++)
    y[i] = tanhf (x[i]);
}

static void
sigmoid (const gfloat *x, gfloat *y, gsize n, const NpLayerParams *p)
{
  for (gsize i = 0; i < n; i++)
    y[i] = 1.0f / (1.0f + expf (-x[i]));
}

static void
identity (const gfloat *x, gfloat *y, gsize n, const NpLayerParams *p)
{
  if (x != y)
    memcpy (y, x, n * sizeof (gfloat));
}

#define POINT_LAYER(name_, KIND, func_)                                              \
  static void                                                                        \
  name_##_forward (NpLayer *layer, const NpTensor *const *in, NpTensor *out,         \
                   const NpCompute *compute)                                         \
  {                                                                                  \
    point_forward (func_, layer, in[0], out, compute->n_threads);                    \
  }                                                                                  \
  const NpLayerClass np_##name_##_class = {                                          \
    .kind = KIND,                                                                    \
    .out_channels = np_nn_same_channels,                                             \
    .shape = np_nn_same_shape,                                                       \
    .param_shapes = np_nn_no_params,                                                 \
    .forward = name_##_forward,                                                      \
    .in_place = TRUE,                                                                \
  };

POINT_LAYER (lrelu,   NP_LAYER_LRELU,   lrelu)
POINT_LAYER (relu,    NP_LAYER_RELU,    relu)
POINT_LAYER (tanh,    NP_LAYER_TANH,    tanh_)
POINT_LAYER (sigmoid, NP_LAYER_SIGMOID, sigmoid)
POINT_LAYER (dropout, NP_LAYER_DROPOUT, identity)
