/* neuropaint — elementwise sum of two activations of one shape (the
 * residual blocks' skip connections, EDSR's): out = a + b, the first input
 * as any layer's (the line before, or from=), the second with=. */
#include "np-nn-private.h"

static gboolean
add_shape (const NpLayer *layer, const NpTensor *const *in, gint64 out_ne[4], GError **error)
{
  if (!np_tensor_same_shape (in[0], in[1]))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "layer %s: cannot add %" G_GINT64_FORMAT " channels of %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                   " to %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT,
                   layer->name ? layer->name : "add", in[1]->ne[2], in[1]->ne[1], in[1]->ne[0],
                   in[0]->ne[2], in[0]->ne[1], in[0]->ne[0]);
      return FALSE;
    }
  return np_nn_same_shape (layer, in, out_ne, error);
}

typedef struct
{
  const NpTensor *a, *b;
  NpTensor       *out;
} AddJob;

static void
add_range (gsize start, gsize end, guint part, gpointer data)
{
  const AddJob *job = data;
  gint64 channels = job->out->ne[2], plane = job->out->ne[0] * job->out->ne[1];

  /* Items are planes; out may be a's memory (in place). */
  for (gsize i = start; i < end; i++)
    {
      const gfloat *a = np_tensor_at (job->a, 0, 0, i % channels, i / channels);
      const gfloat *b = np_tensor_at (job->b, 0, 0, i % channels, i / channels);
      gfloat       *o = np_tensor_at (job->out, 0, 0, i % channels, i / channels);
      for (gint64 j = 0; j < plane; j++)
        o[j] = a[j] + b[j];
    }
}

static void
add_forward (NpLayer *layer, const NpTensor *const *in, NpTensor *out, const NpLayerRun *run)
{
  AddJob job = { in[0], in[1], out };

  np_parallel_for (out->ne[2] * out->ne[3], MAX (1, NP_NN_GRAIN / (out->ne[0] * out->ne[1])), run->n_threads,
                   add_range, &job);
}

/* Both inputs get the output's gradient. */
static void
add_backward (NpLayer *layer, const NpTensor *const *in, const NpTensor *out,
              const NpTensor *d_out, NpTensor *const *d_in, const NpLayerRun *run)
{
  for (int j = 0; j < 2; j++)
    if (d_in[j])
      np_nn_accumulate (d_in[j], d_out, run->n_threads);
}

/* Backward reads neither the inputs nor the output, so the sum may overwrite
 * its first input in training too. */
static gboolean
add_backward_from_output (const NpLayer *layer)
{
  return TRUE;
}

static const NpLayerKey add_keys[] = {
  { "with", NP_KEY_INPUT, .required = TRUE },
  { NULL }
};

const NpLayerClass np_add_class = {
  .kind = NP_LAYER_ADD,
  .name = "add",
  .n_inputs = 2,
  .keys = add_keys,
  .out_channels = np_nn_same_channels,
  .shape = add_shape,
  .param_shapes = np_nn_no_params,
  .forward = add_forward,
  .backward = add_backward,
  .in_place = TRUE,
  .backward_from_output = add_backward_from_output,
};
