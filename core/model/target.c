/* neuropaint — what a model's output stands for (np-model.h): each target's
 * names, its encoding for training and its decoding for inference, side by
 * side, so the two cannot drift apart.
 *
 * Every value is on the seed's scale, x/127.5 − 1 of 8-bit samples. Chroma
 * is YCbCr's (BT.601, JPEG's) Cb and Cr times 2, so both span [−1, 1] as
 * tanh does; a residual is the photo less its bicubic upscale, both on that
 * scale, and so is twice the difference in [0, 1]. */
#include "np-model.h"
#include "image/np-colour.h"

#include <string.h>

static const struct
{
  const char *name, *option;
  gint        channels;
} targets[NP_MODEL_N_TARGETS] = {
  [NP_MODEL_TARGET_RGB] = { "rgb", "rgb", 3 },
  [NP_MODEL_TARGET_CHROMA] = { "chroma-ycbcr", "chroma", 2 },
  [NP_MODEL_TARGET_RESIDUAL] = { "residual-bicubic", "residual", 3 },
};

const char *
np_model_target_name (NpModelTarget target)
{
  return targets[target].name;
}

const char *
np_model_target_option (NpModelTarget target)
{
  return targets[target].option;
}

NpModelTarget
np_model_target_from_name (const char *name)
{
  for (gint i = 0; i < NP_MODEL_N_TARGETS; i++)
    if (g_strcmp0 (name, targets[i].name) == 0)
      return i;
  return NP_MODEL_TARGET_UNKNOWN;
}

NpModelTarget
np_model_target_from_option (const char *option)
{
  for (gint i = 0; i < NP_MODEL_N_TARGETS; i++)
    if (g_strcmp0 (option, targets[i].option) == 0)
      return i;
  return NP_MODEL_TARGET_UNKNOWN;
}

gint
np_model_target_channels (NpModelTarget target)
{
  return targets[target].channels;
}

void
np_model_target_encode (NpModelTarget target, const guint8 photo[3], const gfloat base[3], gfloat *values)
{
  gfloat luma, cb, cr;

  switch (target)
    {
    case NP_MODEL_TARGET_CHROMA:
      np_ycbcr_from_rgb (photo[0] / 255.0f, photo[1] / 255.0f, photo[2] / 255.0f, &luma, &cb, &cr);
      values[0] = 2 * cb, values[1] = 2 * cr;
      break;
    case NP_MODEL_TARGET_RESIDUAL:
      for (gint k = 0; k < 3; k++)
        values[k] = (photo[k] / 127.5f - 1.0f) - (2 * base[k] - 1);
      break;
    default:
      for (gint k = 0; k < 3; k++)
        values[k] = photo[k] / 127.5f - 1.0f;
      break;
    }
}

void
np_model_target_chroma (const gfloat values[2], gfloat *cb, gfloat *cr)
{
  *cb = 0.5f * values[0];
  *cr = 0.5f * values[1];
}

gboolean
np_model_target_opponents (NpModelTarget target, gfloat rg_of[3], gfloat yb_of[3])
{
  /* Decoding is linear inside its clamp: each value's coefficient is what a
   * small step of it alone (⅛, exact in binary) changes in the decoded
   * colour, from all values 0 on mid-gray, scaled to 0–255. */
  const gfloat step = 0.125f, zero[3] = { 0 };
  gfloat       base_rgb[3];
  gint         n = np_model_target_channels (target);

  if (target == NP_MODEL_TARGET_RESIDUAL)
    return FALSE;
  np_model_target_decode (target, zero, n, 0.5f, NULL, base_rgb);
  for (gint k = 0; k < 3; k++)
    {
      gfloat values[3] = { 0 }, rgb[3];

      rg_of[k] = yb_of[k] = 0;
      if (k >= n)
        continue;
      values[k] = step;
      np_model_target_decode (target, values, n, 0.5f, NULL, rgb);
      for (gint c = 0; c < 3; c++)
        rgb[c] = 255 / step * (rgb[c] - base_rgb[c]);
      rg_of[k] = rgb[0] - rgb[1];
      yb_of[k] = (rgb[0] + rgb[1]) / 2 - rgb[2];
    }
  return TRUE;
}

void
np_model_hint_encode (const gfloat *rgb, gfloat values[NP_MODEL_HINT_CHANNELS])
{
  gfloat luma, cb, cr;

  if (rgb == NULL)
    {
      values[0] = values[1] = 0, values[2] = -1;
      return;
    }
  np_ycbcr_from_rgb (rgb[0], rgb[1], rgb[2], &luma, &cb, &cr);
  values[0] = 2 * cb, values[1] = 2 * cr, values[2] = 1;
}

void
np_model_target_decode (NpModelTarget target, const gfloat *values, gint n, gfloat luma, const gfloat base[3],
                        gfloat rgb[3])
{
  gfloat cb, cr;

  switch (target)
    {
    case NP_MODEL_TARGET_CHROMA:
      np_model_target_chroma (values, &cb, &cr);
      np_rgb_from_ycbcr (luma, cb, cr, &rgb[0], &rgb[1], &rgb[2]);
      for (gint k = 0; k < 3; k++)
        rgb[k] = CLAMP (rgb[k], 0.0f, 1.0f);
      break;
    case NP_MODEL_TARGET_RESIDUAL:
      for (gint k = 0; k < 3; k++)
        rgb[k] = CLAMP (base[k] + 0.5f * values[k], 0.0f, 1.0f);
      break;
    default:
      for (gint k = 0; k < 3; k++)
        rgb[k] = CLAMP ((values[MIN (k, n - 1)] + 1) * 0.5f, 0.0f, 1.0f);
      break;
    }
}
