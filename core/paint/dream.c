/* neuropaint — dream faces: a noise model's picture for a seed.
 *
 * A noise model turns N(0, 1) numbers into a face no photo showed: a dream
 * model (--arch dream, NpModelInfo.latent) from a latent vector z of its
 * input channels (128), the noise experiment's U-Net from 3 channels of
 * noise at its picture size. Either way the numbers, z below, are
 * np_tensor_fill_normal's for the seed, channel by channel: splitmix64's
 * bits and Marsaglia's polar method with a logarithm of +, −, ×, ÷ and
 * sqrt (util/np-rng.h), so the same bytes on every machine, compiler and
 * thread count. Training draws its z with the very same function.
 *
 * Two seeds' z mix by spherical interpolation (slerp: Shoemake 1985, as
 * White 2016, "Sampling generative networks", proposes for latent walks):
 * n numbers of N(0, 1) lie near the sphere of radius √n, and the straight
 * line between two such points runs inside it, where the prior has almost
 * no mass and the generator saw nothing in training; the arc keeps the
 * norm. Mix 0 and 1 are the two seeds' z exactly. The arc's weights come
 * from libm's acos and sin in double, so a mix strictly between 0 and 1
 * may round differently under another libm (not between thread counts).
 *
 * Truncation multiplies z by ψ: the truncation trick for a plain z-GAN,
 * pulling z toward the prior's mean, 0 (Brock et al. 2018, BigGAN;
 * Karras et al. 2019 pull toward the mean of w, StyleGAN's mapped latent,
 * which this generator has not). ψ < 1 trades variety for typical faces;
 * ψ = 0 gives every seed the face of z = 0.
 *
 * A dream model's picture asked larger than it makes goes through a ×2
 * super-resolution model, as neuropaint:super-resolution runs it (its
 * default tiles), until both sides reach the size asked, then bicubic to
 * that size exactly: a plain resize would only blur its 64×80 pixels up.
 * The noise experiment's U-Net, made at 256×320, is resized bicubically as
 * it always was. */
#include "np-paint.h"
#include "image/np-resize.h"

#include <math.h>
#include <string.h>

void
np_paint_dream_size (NpModel *model, gint width, gint height, gint *out_width, gint *out_height)
{
  const NpModelInfo *info = np_model_info (model);

  /* One side given: the other keeps the model's aspect. */
  *out_width = width ? width : height ? MAX ((gint) lround ((gdouble) height * info->width / info->height), 1)
                                      : info->width;
  *out_height = height ? height : width ? MAX ((gint) lround ((gdouble) width * info->height / info->width), 1)
                                        : info->height;
}

gint
np_paint_dream_steps (NpModel *model, gint width, gint height)
{
  gint w = np_model_info (model)->width, h = np_model_info (model)->height, steps = 0;

  /* The noise experiment's U-Net keeps the plain resize it always had. */
  if (!np_model_info (model)->latent)
    return 0;
  for (; w < width || h < height; w *= 2, h *= 2)
    steps++;
  return steps;
}

/* a becomes the point at t of the arc from a to b (n numbers each). */
static void
slerp (gfloat *a, const gfloat *b, gint64 n, gdouble t)
{
  gdouble dot = 0, aa = 0, bb = 0, omega, s, wa, wb;

  if (t >= 1)
    {
      memcpy (a, b, n * sizeof *a);
      return;
    }
  /* Sums in order: the same bits for any thread count. */
  for (gint64 i = 0; i < n; i++)
    dot += (gdouble) a[i] * b[i], aa += (gdouble) a[i] * a[i], bb += (gdouble) b[i] * b[i];
  omega = aa > 0 && bb > 0 ? acos (CLAMP (dot / sqrt (aa * bb), -1.0, 1.0)) : 0;
  s = sin (omega);
  /* Nearly the same direction: the arc is the line. */
  wa = s < 1e-6 ? 1 - t : sin ((1 - t) * omega) / s;
  wb = s < 1e-6 ? t : sin (t * omega) / s;
  for (gint64 i = 0; i < n; i++)
    a[i] = (gfloat) (wa * a[i] + wb * b[i]);
}

/* The model's numbers for the options into z. */
static gboolean
fill_z (NpTensor *z, const NpDreamOptions *options, GError **error)
{
  gint64 n = np_tensor_n_elements (z);
  gfloat *values = np_tensor_at (z, 0, 0, 0, 0);

  np_tensor_fill_normal (z, 0, options->seed);
  if (options->mix > 0)
    {
      g_autoptr(NpTensor) other = np_tensor_new (z->ne[0], z->ne[1], z->ne[2], 1, error);
      if (other == NULL)
        return FALSE;
      np_tensor_fill_normal (other, 0, options->seed2);
      slerp (values, np_tensor_at (other, 0, 0, 0, 0), n, options->mix);
    }
  if (options->truncation != 1)
    for (gint64 i = 0; i < n; i++)
      values[i] = (gfloat) (options->truncation * values[i]);
  return TRUE;
}

/* The model's own picture for the options, at its size. */
static NpImage *
dream_at_model_size (NpModel *model, const NpDreamOptions *options, GError **error)
{
  const NpModelInfo  *info = np_model_info (model);
  NpNet              *net = np_model_net (model);
  gint64              m = np_net_size_multiple (net), cout = np_net_output_channels (net);
  gint                side = info->latent ? 1 : 0;
  g_autoptr(NpTensor) z = NULL;
  g_autoptr(NpImage)  face = NULL;
  const NpTensor     *inputs[1], *y;

  if (!info->latent && (info->width % m || info->height % m))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "a dream of %d×%d pixels: the model needs multiples of %" G_GINT64_FORMAT,
                   info->width, info->height, m);
      return NULL;
    }
  /* A latent model takes one vector; a picture model noise at its size. */
  if ((z = np_tensor_new (side ? side : info->width, side ? side : info->height, np_net_input_channels (net, 0),
                          1, error)) == NULL
      || !fill_z (z, options, error)
      || (face = np_image_new (NP_SAMPLE_F32, info->width, info->height, 4, error)) == NULL)
    return NULL;
  inputs[0] = z;
  if ((y = np_net_forward (net, inputs, 1, &(NpCompute) { .n_threads = options->n_threads }, error)) == NULL)
    return NULL;

  for (gint j = 0; j < face->height; j++)
    {
      gfloat *o = np_image_row (face, j);
      for (gint i = 0; i < face->width; i++)
        {
          gfloat values[3];
          for (gint c = 0; c < cout && c < 3; c++)
            values[c] = *np_tensor_at (y, i, j, c, 0);
          np_model_target_decode (NP_MODEL_TARGET_RGB, values, (gint) MIN (cout, 3), 0, NULL, o + 4 * i);
          o[4 * i + 3] = 1;
        }
    }
  return g_steal_pointer (&face);
}

gboolean
np_paint_dream (NpModel *model, const NpDreamOptions *options, NpImage *out, GError **error)
{
  gint               steps = np_paint_dream_steps (model, out->width, out->height);
  g_autoptr(NpImage) face = NULL;

  g_return_val_if_fail (out->type == NP_SAMPLE_F32 && out->channels == 4, FALSE);

  if (!np_model_check_use (model, NP_MODEL_USE_NOISE, error))
    return FALSE;
  if (!(options->mix >= 0 && options->mix <= 1) || !(options->truncation >= 0 && options->truncation <= 1))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "a dream's mix and truncation are from 0 to 1, not %g and %g", options->mix, options->truncation);
      return FALSE;
    }
  if (steps > 0 && options->super_resolution == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "a dream of %d×%d pixels, larger than the model's %d×%d, needs a super-resolution model",
                   out->width, out->height, np_model_info (model)->width, np_model_info (model)->height);
      return FALSE;
    }
  if ((face = dream_at_model_size (model, options, error)) == NULL)
    return FALSE;
  for (gint k = 0; k < steps; k++)
    {
      NpPaintOptions     sr = { NP_PAINT_SR_TILE_SIZE, NP_PAINT_SR_OVERLAP, options->n_threads, FALSE, FALSE };
      g_autoptr(NpImage) twice = np_image_new (NP_SAMPLE_F32, 2 * face->width, 2 * face->height, 4, error);

      if (twice == NULL || !np_paint_generate (options->super_resolution, face, twice, &sr, error))
        {
          g_prefix_error (error, "enlarging the dream: ");
          return FALSE;
        }
      g_clear_pointer (&face, np_image_free);
      face = g_steal_pointer (&twice);
    }

  if (face->width == out->width && face->height == out->height)
    {
      for (gint y = 0; y < out->height; y++)
        memcpy (np_image_row (out, y), np_image_row (face, y), (gsize) out->width * 4 * sizeof (gfloat));
      return TRUE;
    }
  np_resize_cubic (face, out);
  for (gint y = 0; y < out->height; y++)
    {
      gfloat *p = np_image_row (out, y);
      for (gint x = 0; x < 4 * out->width; x++)
        p[x] = CLAMP (p[x], 0.0f, 1.0f);   /* the cubic kernel overshoots */
    }
  return TRUE;
}
