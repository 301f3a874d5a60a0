/* neuropaint — the table of layer kinds, and the helpers their classes share.
 *
 * A kind is an NpLayerKind, a row below and a file holding its class
 * (NpLayerClass: its keys, parameters, shapes, forward, backward); the
 * parser, the network and the planner ask the class and never the kind. */
#include "np-nn-private.h"

#include <assert.h>
#include <string.h>

const NpLayerClass *const np_layer_classes[] = {
  [NP_LAYER_INPUT] = &np_input_class,
  [NP_LAYER_CONV] = &np_conv_class,
  [NP_LAYER_CONVT] = &np_convt_class,
  [NP_LAYER_BATCHNORM] = &np_batchnorm_class,
  [NP_LAYER_DROPOUT] = &np_dropout_class,
  [NP_LAYER_LRELU] = &np_lrelu_class,
  [NP_LAYER_RELU] = &np_relu_class,
  [NP_LAYER_TANH] = &np_tanh_class,
  [NP_LAYER_SIGMOID] = &np_sigmoid_class,
  [NP_LAYER_CONCAT] = &np_concat_class,
  [NP_LAYER_UPSAMPLE] = &np_upsample_class,
  [NP_LAYER_LINEAR] = &np_linear_class,
  [NP_LAYER_PIXELSHUFFLE] = &np_pixelshuffle_class,
  [NP_LAYER_ADD] = &np_add_class,
  [NP_LAYER_RESHAPE] = &np_reshape_class,
};
static_assert (G_N_ELEMENTS (np_layer_classes) == NP_LAYER_COUNT,
               "every layer kind needs a class");

const char *
np_layer_kind_name (NpLayerKind kind)
{
  g_return_val_if_fail (kind < NP_LAYER_COUNT, NULL);
  return np_layer_classes[kind]->name;
}

gint64
np_nn_same_channels (const NpLayer *layer, const gint64 *in_channels)
{
  return in_channels[0];
}

gboolean
np_nn_same_shape (const NpLayer *layer, const NpTensor *const *in, gint64 out_ne[4], GError **error)
{
  memcpy (out_ne, in[0]->ne, sizeof in[0]->ne);
  return TRUE;
}

void
np_nn_no_params (const NpLayer *layer, gint64 in_channels, gint64 shapes[NP_LAYER_MAX_PARAMS][4])
{
}

double
np_nn_output_flops (const NpLayer *layer, const NpTensor *const *in, const NpTensor *out)
{
  return 2.0 * np_tensor_n_elements (&layer->params[0]) * out->ne[0] * out->ne[1] * out->ne[3];
}

gint64
np_nn_out_rows (const NpLayer *layer)
{
  return layer->p.channels;
}

typedef struct
{
  NpTensor       *dst;
  const NpTensor *src;
} AccumulateJob;

static void
accumulate_range (gsize start, gsize end, guint part, gpointer data)
{
  const AccumulateJob *job = data;
  const NpTensor *src = job->src;
  gint64 plane = src->ne[0] * src->ne[1];

  for (gsize i = start; i < end; i++)
    {
      gfloat       *d = np_tensor_at (job->dst, 0, 0, i % src->ne[2], i / src->ne[2]);
      const gfloat *s = np_tensor_at (src, 0, 0, i % src->ne[2], i / src->ne[2]);
      for (gint64 j = 0; j < plane; j++)
        d[j] += s[j];
    }
}

void
np_nn_accumulate (NpTensor *dst, const NpTensor *src, gint n_threads)
{
  AccumulateJob job = { dst, src };

  np_parallel_for (src->ne[2] * src->ne[3], MAX (1, NP_NN_GRAIN / (src->ne[0] * src->ne[1])),
                   n_threads, accumulate_range, &job);
}

typedef struct
{
  const NpTensor *d_out;
  gint64          n;
  gfloat         *grad;
} BiasJob;

static void
bias_range (gsize start, gsize end, guint part, gpointer data)
{
  const BiasJob *job = data;
  gint64 pixels = job->d_out->ne[0] * job->d_out->ne[1];

  for (gsize c = start; c < end; c++)
    {
      const gfloat *dy = np_tensor_at (job->d_out, 0, 0, c, job->n);
      double        sum = 0;
      for (gint64 j = 0; j < pixels; j++)
        sum += dy[j];
      job->grad[c] += (gfloat) sum;
    }
}

void
np_nn_bias_grad (const NpTensor *d_out, gint64 n, gfloat *grad, gint n_threads)
{
  BiasJob job = { d_out, n, grad };

  np_parallel_for (d_out->ne[2], MAX (1, NP_NN_GRAIN / (d_out->ne[0] * d_out->ne[1])), n_threads,
                   bias_range, &job);
}

/* An input layer has no inputs: the network hands it the caller's tensor
 * (so it has no shape, forward or backward of its own). */
static gint64
input_out_channels (const NpLayer *layer, const gint64 *in_channels)
{
  return layer->p.channels;
}

static const NpLayerKey input_keys[] = {
  { "c", NP_KEY_INT, NP_KEY_FIELD (channels), 1, 65536, .required = TRUE },
  { NULL }
};

const NpLayerClass np_input_class = {
  .kind = NP_LAYER_INPUT,
  .name = "input",
  .n_inputs = 0,
  .keys = input_keys,
  .out_channels = input_out_channels,
  .param_shapes = np_nn_no_params,
};
