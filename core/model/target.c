/* neuropaint — what a model's output stands for (np-model.h): each target's
 * names, its encoding for training and its decoding for inference, side by
 * side, so the two cannot drift apart.
 *
 * Every value is on the seed's scale, x/127.5 − 1 of 8-bit samples. Chroma
 * is YCbCr's (BT.601, JPEG's) Cb and Cr times 2, so both span [−1, 1] as
 * tanh does; a residual is the photo less its bicubic upscale, both on that
 * scale, and so is twice the difference in [0, 1]. Chroma bins are
 * logits whose annealed mean is a chroma (np-model.h). */
#include "np-model.h"
#include "image/np-colour.h"
#include "image/np-domain-transform.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct
{
  const char *name, *option;
  gint        values;     /* np_model_target_values */
  gboolean    chroma;     /* the values are chroma on the input's luminance */
} targets[NP_MODEL_N_TARGETS] = {
  [NP_MODEL_TARGET_RGB] = { "rgb", "rgb", 3, FALSE },
  [NP_MODEL_TARGET_CHROMA] = { "chroma-ycbcr", "chroma", 2, TRUE },
  [NP_MODEL_TARGET_RESIDUAL] = { "residual-bicubic", "residual", 3, FALSE },
  [NP_MODEL_TARGET_CHROMA_BINS] = { "chroma-ycbcr-bins", "chroma-bins", 2, TRUE },
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
np_model_target_values (NpModelTarget target)
{
  return targets[target].values;
}

gboolean
np_model_target_is_chroma (NpModelTarget target)
{
  return targets[target].chroma;
}

gint
np_model_target_channels (NpModelTarget target, const NpChromaBins *bins)
{
  g_return_val_if_fail (target != NP_MODEL_TARGET_CHROMA_BINS || bins != NULL, 0);
  return target == NP_MODEL_TARGET_CHROMA_BINS ? bins->n : targets[target].values;
}

void
np_model_target_reduce (NpModelTarget target, const NpChromaBins *bins, const gfloat *outputs, gint n,
                        gsize stride, gfloat values[3])
{
  gfloat cb, cr;

  if (target == NP_MODEL_TARGET_CHROMA_BINS)
    {
      np_chroma_bins_decode (bins, outputs, stride, &cb, &cr);
      values[0] = 2 * cb, values[1] = 2 * cr, values[2] = 0;
      return;
    }
  for (gint k = 0; k < 3; k++)
    values[k] = outputs[MIN (k, n - 1) * stride];
}

/* ---- Chroma bins ------------------------------------------------------------ */

NpChromaBins *
np_chroma_bins_new (gint n)
{
  NpChromaBins *bins = g_new0 (NpChromaBins, 1);

  bins->n = n;
  bins->cb = g_new0 (gint, n);
  bins->cr = g_new0 (gint, n);
  bins->weight = g_new (gfloat, n);
  for (gint k = 0; k < n; k++)
    bins->weight[k] = 1;
  return bins;
}

void
np_chroma_bins_free (NpChromaBins *bins)
{
  if (bins == NULL)
    return;
  g_free (bins->cb);
  g_free (bins->cr);
  g_free (bins->weight);
  g_free (bins);
}

NpChromaBins *
np_chroma_bins_copy (const NpChromaBins *bins)
{
  NpChromaBins *copy = np_chroma_bins_new (bins->n);

  memcpy (copy->cb, bins->cb, bins->n * sizeof (gint));
  memcpy (copy->cr, bins->cr, bins->n * sizeof (gint));
  memcpy (copy->weight, bins->weight, bins->n * sizeof (gfloat));
  return copy;
}

static gboolean
bad_bins (GError **error, const char *what)
{
  g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "metadata “chroma_bins”: %s", what);
  return FALSE;
}

NpChromaBins *
np_chroma_bins_parse (const char *centres, const char *weights, GError **error)
{
  g_auto(GStrv)        pairs = g_strsplit (centres ? centres : "", ",", -1);
  g_auto(GStrv)        ws = weights ? g_strsplit (weights, ",", -1) : NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_direct_hash, g_direct_equal);
  gint                 n = (gint) g_strv_length (pairs);
  NpChromaBins        *bins;

  if (centres == NULL || n < 1 || n > NP_CHROMA_BINS_MAX)
    {
      bad_bins (error, "not 1 to " G_STRINGIFY (NP_CHROMA_BINS_MAX) " bins");
      return NULL;
    }
  if (ws && (gint) g_strv_length (ws) != n)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "metadata “chroma_bin_weights”: not one weight a bin");
      return NULL;
    }
  bins = np_chroma_bins_new (n);
  for (gint k = 0; k < n; k++)
    {
      gint64 cb, cr;
      gchar *colon = strchr (pairs[k], ':'), *end = NULL;
      gdouble w = 1;

      if (colon)
        *colon = 0;
      if (colon == NULL || !g_ascii_string_to_signed (pairs[k], 10, -128, 128, &cb, NULL)
          || !g_ascii_string_to_signed (colon + 1, 10, -128, 128, &cr, NULL) || cb % NP_CHROMA_BIN_STEP
          || cr % NP_CHROMA_BIN_STEP || !g_hash_table_add (seen, GINT_TO_POINTER ((gint) ((cb + 256) * 1024 + cr + 256))))
        {
          np_chroma_bins_free (bins);
          bad_bins (error, "not distinct “Cb:Cr” grid points (multiples of "
                    G_STRINGIFY (NP_CHROMA_BIN_STEP) " within ±128) separated by commas");
          return NULL;
        }
      if (ws)
        w = g_ascii_strtod (ws[k], &end);
      if (ws && (end == ws[k] || *end || !(w > 0 && w < 1e6)))
        {
          np_chroma_bins_free (bins);
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "metadata “chroma_bin_weights”: “%s” is no "
                       "positive number", ws[k]);
          return NULL;
        }
      bins->cb[k] = (gint) cb, bins->cr[k] = (gint) cr, bins->weight[k] = (gfloat) w;
    }
  return bins;
}

gchar *
np_chroma_bins_centres_text (const NpChromaBins *bins)
{
  GString *text = g_string_new (NULL);

  for (gint k = 0; k < bins->n; k++)
    g_string_append_printf (text, "%s%d:%d", k ? "," : "", bins->cb[k], bins->cr[k]);
  return g_string_free (text, FALSE);
}

gchar *
np_chroma_bins_weights_text (const NpChromaBins *bins)
{
  GString *text = g_string_new (NULL);
  gchar    buf[G_ASCII_DTOSTR_BUF_SIZE];

  /* %.9g reads back as the same float. */
  for (gint k = 0; k < bins->n; k++)
    g_string_append_printf (text, "%s%s", k ? "," : "", g_ascii_formatd (buf, sizeof buf, "%.9g", bins->weight[k]));
  return g_string_free (text, FALSE);
}

void
np_chroma_bins_decode (const NpChromaBins *bins, const gfloat *logits, gsize stride, gfloat *cb, gfloat *cr)
{
  gfloat top = -INFINITY, sum = 0, cb_sum = 0, cr_sum = 0;

  /* softmax(z/T) from its largest logit, so no exponential overflows (and
   * the sum is at least 1). */
  for (gint k = 0; k < bins->n; k++)
    top = MAX (top, logits[k * stride]);
  for (gint k = 0; k < bins->n; k++)
    {
      gfloat p = expf ((logits[k * stride] - top) * (1 / NP_CHROMA_BIN_T));
      sum += p, cb_sum += p * (gfloat) bins->cb[k], cr_sum += p * (gfloat) bins->cr[k];
    }
  *cb = cb_sum / sum / 255.0f;
  *cr = cr_sum / sum / 255.0f;
}

void
np_model_target_encode (NpModelTarget target, const guint8 photo[3], const gfloat base[3], gfloat *values)
{
  gfloat luma, cb, cr;

  switch (target)
    {
    case NP_MODEL_TARGET_CHROMA:
    case NP_MODEL_TARGET_CHROMA_BINS:
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
  gint         n = np_model_target_values (target);

  if (target == NP_MODEL_TARGET_RESIDUAL || target == NP_MODEL_TARGET_CHROMA_BINS)
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

gboolean
np_model_hints_spread (NpImage *hints, const NpImage *gray, GError **error)
{
  g_return_val_if_fail (hints->channels == NP_MODEL_HINT_CHANNELS && hints->type == NP_SAMPLE_F32, FALSE);

  /* The spreading takes chroma times a 0/1 mask. */
  for (gint y = 0; y < hints->height; y++)
    for (gint x = 0; x < hints->width; x++)
      {
        gfloat *v = (gfloat *) np_image_row (hints, y) + NP_MODEL_HINT_CHANNELS * x;
        gfloat  m = v[2] > 0 ? 1 : 0;
        v[0] *= m, v[1] *= m, v[2] = m;
      }
  if (!np_domain_transform_spread (hints, gray, NP_MODEL_HINT_SPREAD * MAX (hints->width, hints->height),
                                   NP_MODEL_HINT_EDGE, error))
    return FALSE;
  for (gint y = 0; y < hints->height; y++)
    for (gint x = 0; x < hints->width; x++)
      {
        gfloat *v = (gfloat *) np_image_row (hints, y) + NP_MODEL_HINT_CHANNELS * x;
        v[2] = 2 * v[2] - 1;
      }
  return TRUE;
}

void
np_model_target_decode (NpModelTarget target, const gfloat *values, gint n, gfloat luma, const gfloat base[3],
                        gfloat rgb[3])
{
  gfloat cb, cr;

  switch (target)
    {
    case NP_MODEL_TARGET_CHROMA:
    case NP_MODEL_TARGET_CHROMA_BINS:
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
