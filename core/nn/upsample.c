/* neuropaint — nearest-neighbour upsampling by an integer factor (Keras's
 * UpSampling2D, PyTorch's Upsample(mode="nearest")). */
#include "np-nn-private.h"

#include <string.h>

static gboolean
upsample_shape (const NpLayer *layer, const NpTensor *const *in, gint64 out_ne[4], GError **error)
{
  out_ne[0] = in[0]->ne[0] * layer->p.factor, out_ne[1] = in[0]->ne[1] * layer->p.factor;
  out_ne[2] = in[0]->ne[2], out_ne[3] = in[0]->ne[3];
  return TRUE;
}

typedef struct
{
  const NpTensor *in;
  NpTensor       *out;
  gint            f;
} UpJob;

static void
upsample_range (gsize start, gsize end, guint part, gpointer data)
{
  const UpJob *job = data;
  gint64 w = job->in->ne[0], h = job->in->ne[1], ow = w * job->f;

  /* Items are input rows over all channels and images. */
  for (gsize r = start; r < end; r++)
    {
      gint64  plane = r / h, y = r % h, c = plane % job->in->ne[2], n = plane / job->in->ne[2];
      const gfloat *x = np_tensor_at (job->in, 0, y, c, n);
      gfloat *row = np_tensor_at (job->out, 0, y * job->f, c, n);
      for (gint64 i = 0; i < ow; i++)
        row[i] = x[i / job->f];
      for (gint k = 1; k < job->f; k++)
        memcpy (row + k * ow, row, ow * sizeof (gfloat));
    }
}

static void
upsample_forward (NpLayer *layer, const NpTensor *const *in, NpTensor *out, const NpLayerRun *run)
{
  UpJob job = { in[0], out, layer->p.factor };
  np_parallel_for (in[0]->ne[1] * in[0]->ne[2] * in[0]->ne[3], 16, run->n_threads,
                   upsample_range, &job);
}

/* Each input pixel was copied f×f times: its gradient is their sum. */
static void
upsample_back_range (gsize start, gsize end, guint part, gpointer data)
{
  const UpJob *job = data;   /* in: d_out; out: d_in */
  gint64 ow = job->in->ne[0], oh = job->in->ne[1], channels = job->in->ne[2];

  /* Items are planes; each sums into its own input plane. */
  for (gsize plane = start; plane < end; plane++)
    for (gint64 y = 0; y < oh; y++)
      {
        const gfloat *dy = np_tensor_at (job->in, 0, y, plane % channels, plane / channels);
        gfloat       *dx = np_tensor_at (job->out, 0, y / job->f, plane % channels, plane / channels);
        for (gint64 x = 0; x < ow; x++)
          dx[x / job->f] += dy[x];
      }
}

static void
upsample_backward (NpLayer *layer, const NpTensor *const *in, const NpTensor *out,
                   const NpTensor *d_out, NpTensor *const *d_in, const NpLayerRun *run)
{
  UpJob job = { d_out, d_in[0], layer->p.factor };

  if (d_in[0])
    np_parallel_for (d_out->ne[2] * d_out->ne[3], 1, run->n_threads, upsample_back_range, &job);
}

static double
upsample_scale (const NpLayer *layer, double in)
{
  return in / layer->p.factor;
}

static const NpLayerKey upsample_keys[] = {
  { "factor", NP_KEY_INT, NP_KEY_FIELD (factor), 1, 16, 2 },
  { NULL }
};

const NpLayerClass np_upsample_class = {
  .kind = NP_LAYER_UPSAMPLE,
  .name = "upsample",
  .n_inputs = 1,
  .keys = upsample_keys,
  .out_channels = np_nn_same_channels,
  .shape = upsample_shape,
  .scale = upsample_scale,
  .param_shapes = np_nn_no_params,
  .forward = upsample_forward,
  .backward = upsample_backward,
};
