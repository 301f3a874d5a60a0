/* neuropaint — running an image-to-image model on a picture of any size.
 *
 * The picture is optionally filtered as the model's training inputs were
 * (metadata "input_filter"), scaled to [-1, 1] (x/127.5 - 1 on 8-bit values),
 * reduced to the model's input channels, padded by edge replication to a
 * multiple of the model's downsampling, and run whole or in overlapping
 * tiles whose results are blended with linear ramps across the overlaps.
 * The network's memory is bounded by the tile; the result accumulates in the
 * output itself (weighted colours in RGB, weights in A). Alpha is carried
 * over from the input. */
#include "np-nn-private.h"
#include "filters/np-filters.h"

#include <string.h>

/* The seed's 8-bit filters (SPEC.md), on u8 values as its OpenCV code saw
 * them: rgb-threshold at input_threshold (default 200), contours at
 * input_thresholds (default 50,100,150,200), and its Canny variant, per
 * channel (c > input_threshold) · input_threshold, then Canny (140, 255), L1. */
static gboolean
apply_u8_filter (GHashTable *meta, const char *filter, NpImage *rgba, gint n_threads,
                 GError **error)
{
  const char *threshold_text = g_hash_table_lookup (meta, "input_threshold");
  const char *thresholds_text = g_hash_table_lookup (meta, "input_thresholds");
  guint8      threshold = threshold_text ? (guint8) CLAMP (g_ascii_strtoll (threshold_text, NULL, 10), 0, 255) : 200;
  gint        w = rgba->width, h = rgba->height;
  g_autoptr(NpImage) bytes = np_image_new (NP_SAMPLE_U8, w, h, 4, error);
  g_autoptr(NpImage) drawn = NULL;
  NpImage    *result;

  if (bytes == NULL)
    return FALSE;
  for (gint y = 0; y < h; y++)
    {
      const gfloat *px = np_image_row (rgba, y);
      guint8       *row = np_image_row (bytes, y);
      for (gint i = 0; i < w * 4; i++)
        row[i] = (guint8) (CLAMP (px[i], 0.0f, 1.0f) * 255.0f + 0.5f);
    }

  result = bytes;
  if (strcmp (filter, "rgb-threshold") == 0 || strcmp (filter, "binary") == 0)
    {
      for (gint y = 0; y < h; y++)
        np_rgb_threshold_rgba_u8 (np_image_row (bytes, y), np_image_row (bytes, y), w, threshold);
    }
  else if (strcmp (filter, "contours") == 0)
    {
      guint8 ks[NP_CONTOURS_MAX_THRESHOLDS];
      gsize  n = np_contours_parse_thresholds (thresholds_text ? thresholds_text : "50,100,150,200",
                                               ks, error);
      if (n == 0 || (drawn = np_image_new (NP_SAMPLE_U8, w, h, 4, error)) == NULL)
        return FALSE;
      np_contours (bytes, drawn, ks, n, n_threads);
      result = drawn;
    }
  else
    {
      NpCannyParams seed = {
        .low = 140, .high = 255, .gradient = NP_CANNY_GRADIENT_L1,
        .mode = NP_CANNY_PER_CHANNEL, .pre_threshold = threshold,
      };
      if (!np_canny (bytes, bytes, &seed, n_threads, error))
        return FALSE;
    }

  for (gint y = 0; y < h; y++)
    {
      gfloat       *px = np_image_row (rgba, y);
      const guint8 *row = np_image_row (result, y);
      for (gint i = 0; i < w * 4; i++)
        if (i % 4 != 3)
          px[i] = row[i] / 255.0f;
    }
  return TRUE;
}

/* Applies the model's recorded input filter to a copy of the RGBA image. */
static gboolean
apply_input_filter (NpNet *net, NpImage *rgba, gint n_threads, GError **error)
{
  GHashTable *meta = np_net_metadata (net);
  const char *filter = g_hash_table_lookup (meta, "input_filter");
  static const char *const u8_filters[] = { "rgb-threshold", "binary", "contours", "canny", NULL };

  if (filter == NULL || strcmp (filter, "identity") == 0)
    return TRUE;
  if (strcmp (filter, "gray") == 0)
    {
      for (gint y = 0; y < rgba->height; y++)
        np_gray_rgba_f32 (np_image_row (rgba, y), np_image_row (rgba, y), rgba->width);
      return TRUE;
    }
  if (g_strv_contains (u8_filters, filter))
    return apply_u8_filter (meta, filter, rgba, n_threads, error);
  g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
               "the model's input filter “%s” is not one the generator applies (gray, "
               "rgb-threshold, contours, canny): apply it before the generator and leave "
               "apply-filter off", filter);
  return FALSE;
}

/* Blend weight along one axis: a ramp over `overlap` pixels at tile edges
 * that lie inside the picture, 1 elsewhere; never 0, so every pixel of a
 * tile counts a little and the sum of weights cannot vanish. */
static gfloat
ramp (gint64 i, gint64 size, gboolean open_before, gboolean open_after, gint overlap)
{
  gfloat w = 1.0f;

  if (overlap <= 0)
    return w;
  if (open_before)
    w = MIN (w, (i + 0.5f) / overlap);
  if (open_after)
    w = MIN (w, (size - i - 0.5f) / overlap);
  return MAX (w, 1e-3f);
}

/* Tile origins along one side: 0, step, ..., with the last tile flush with
 * the end, so tiles cover [0, size) with at least `overlap` shared pixels. */
static GArray *
tile_origins (gint64 size, gint64 tile, gint overlap)
{
  GArray *o = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64  step = MAX (1, tile - overlap), x = 0;

  for (;;)
    {
      gint64 at = MIN (x, MAX (0, size - tile));
      g_array_append_val (o, at);
      if (at + tile >= size)
        break;
      x += step;
    }
  return o;
}

gboolean
np_net_generate (NpNet *net, const NpImage *in, NpImage *out,
                 const NpGenerateOptions *options, GError **error)
{
  g_autoptr(NpImage)  filtered = NULL;
  const NpImage      *src = in;
  g_autoptr(NpTensor) x = NULL;
  g_autoptr(GArray)   xs = NULL, ys = NULL;
  gint64  w = in->width, h = in->height, m = np_net_size_multiple (net);
  gint64  cin = np_net_input_channels (net, 0), cout = np_net_output_channels (net);
  gint64  tile = MAX (m, options->tile_size / m * m), tw, th;

  g_return_val_if_fail (in->type == NP_SAMPLE_F32 && in->channels == 4, FALSE);
  g_return_val_if_fail (out->type == NP_SAMPLE_F32 && out->channels == 4, FALSE);
  g_return_val_if_fail (out->width == w && out->height == h, FALSE);

  if (np_net_n_inputs (net) != 1 || (cin != 1 && cin != 3) || (cout != 1 && cout != 3))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "not an image-to-image model (it takes %d inputs of %" G_GINT64_FORMAT
                   " channels and gives %" G_GINT64_FORMAT "; we need 1 or 3 channels each way)",
                   np_net_n_inputs (net), cin, cout);
      return FALSE;
    }

  /* The filtered copy every tile reads from. */
  if (options->apply_filter)
    {
      if ((filtered = np_image_new (NP_SAMPLE_F32, (gint) w, (gint) h, 4, error)) == NULL)
        return FALSE;
      for (gint64 y = 0; y < h; y++)
        memcpy (np_image_row (filtered, (gint) y), np_image_row (in, (gint) y), w * 4 * sizeof (gfloat));
      if (!apply_input_filter (net, filtered, options->n_threads, error))
        return FALSE;
      src = filtered;
    }

  /* A picture that fits one tile is run whole (padded to the multiple). */
  tw = MIN (tile, (w + m - 1) / m * m);
  th = MIN (tile, (h + m - 1) / m * m);
  xs = tile_origins (w, tw, options->overlap);
  ys = tile_origins (h, th, options->overlap);
  if ((x = np_tensor_new (tw, th, cin, 1, error)) == NULL)
    return FALSE;
  /* out accumulates weighted results in RGB and the weights in A. */
  for (gint64 j = 0; j < h; j++)
    memset (np_image_row (out, (gint) j), 0, w * 4 * sizeof (gfloat));

  for (guint ty = 0; ty < ys->len; ty++)
    for (guint tx = 0; tx < xs->len; tx++)
      {
        gint64 x0 = g_array_index (xs, gint64, tx), y0 = g_array_index (ys, gint64, ty);
        const NpTensor *y;
        const NpTensor *inputs[] = { x };

        /* Gather the tile, replicating edges where it leaves the picture. */
        for (gint64 j = 0; j < th; j++)
          {
            const gfloat *row = np_image_row (src, (gint) CLAMP (y0 + j, 0, h - 1));
            for (gint64 i = 0; i < tw; i++)
              {
                const gfloat *p = row + 4 * CLAMP (x0 + i, 0, w - 1);
                if (cin == 3)
                  for (int c = 0; c < 3; c++)
                    *np_tensor_at (x, i, j, c, 0) = p[c] * 2 - 1;
                else
                  *np_tensor_at (x, i, j, 0, 0) = (NP_GRAY_R * p[0] + NP_GRAY_G * p[1] + NP_GRAY_B * p[2]) * 2 - 1;
              }
          }
        if ((y = np_net_forward (net, inputs, 1, options->n_threads, error)) == NULL)
          return FALSE;
        if (y->ne[0] != tw || y->ne[1] != th)
          {
            g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                         "the model changes the image size (%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                         " to %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT ")", th, tw, y->ne[1], y->ne[0]);
            return FALSE;
          }

        for (gint64 j = 0; j < MIN (th, h - y0); j++)
          {
            gfloat wy = ramp (j, th, ty > 0, ty + 1 < ys->len, options->overlap);
            gfloat *o = (gfloat *) np_image_row (out, (gint) (y0 + j)) + 4 * x0;
            for (gint64 i = 0; i < MIN (tw, w - x0); i++)
              {
                gfloat wgt = wy * ramp (i, tw, tx > 0, tx + 1 < xs->len, options->overlap);
                for (int c = 0; c < 3; c++)
                  o[4 * i + c] += wgt * *np_tensor_at (y, i, j, cout == 3 ? c : 0, 0);
                o[4 * i + 3] += wgt;
              }
          }
      }

  /* Back from [-1, 1]; alpha from the input. */
  for (gint64 j = 0; j < h; j++)
    {
      gfloat       *o = np_image_row (out, (gint) j);
      const gfloat *a = np_image_row (in, (gint) j);
      for (gint64 i = 0; i < w; i++)
        {
          for (int c = 0; c < 3; c++)
            o[4 * i + c] = CLAMP ((o[4 * i + c] / o[4 * i + 3] + 1) * 0.5f, 0.0f, 1.0f);
          o[4 * i + 3] = a[4 * i + 3];
        }
    }
  return TRUE;
}
