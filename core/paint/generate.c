/* neuropaint — running an image-to-image model on a picture of any size.
 *
 * The picture is optionally filtered as the model's training inputs were
 * (metadata "input_filter"), scaled to [-1, 1] (x/127.5 - 1 on 8-bit values),
 * reduced to the model's input channels, padded by edge replication to a
 * multiple of the model's downsampling, and run whole or in overlapping
 * tiles whose results are blended with linear ramps across the overlaps.
 * A super-resolution net's tiles give s times their pixels each way, blended
 * the same way at s times the scale; a residual one's result is detail
 * added to the input's bicubic upscale.
 * The network's memory is bounded by the tile; the result accumulates in the
 * output itself (weighted colours in RGB, weights in A), and a residual
 * model needs one more picture of the output's size for the upscale. Alpha
 * is carried over from the input. */
#include "np-paint.h"
#include "image/np-colour.h"
#include "image/np-resize.h"
#include "filters/np-filters.h"

#include <string.h>

/* Applies the model's recorded input filter (through the filter registry,
 * with its recorded parameters) to a copy of the RGBA image. */
static gboolean
apply_input_filter (const NpModelInfo *info, NpImage *rgba, gint n_threads, GError **error)
{
  const char     *name = info->input_filter;
  const NpFilter *filter = np_filter_find (name);

  if (name == NULL || strcmp (name, "identity") == 0)
    return TRUE;
  if (filter == NULL)
    {
      g_autoptr(GString) known = g_string_new (NULL);
      for (const NpFilter *const *f = np_filter_list (); *f; f++)
        g_string_append_printf (known, "%s%s", known->len ? ", " : "", np_filter_name (*f));
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "the model's input filter “%s” is not one the generator applies (%s): "
                   "apply it before the generator and leave apply-filter off", name, known->str);
      return FALSE;
    }
  return np_filter_apply_rgba_f32 (filter, info->params, rgba, n_threads, error);
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

/* The output's side for n input pixels at s/d times the size. */
static gint64
out_side (gint64 s, gint64 d, gint64 n)
{
  return (s * n + d - 1) / d;
}

gboolean
np_paint_generate (NpModel *model, const NpImage *in, NpImage *out,
                   const NpPaintOptions *options, GError **error)
{
  NpNet              *net = np_model_net (model);
  g_autoptr(NpImage)  filtered = NULL;
  const NpImage      *src = in;
  g_autoptr(NpTensor) x = NULL;
  g_autoptr(GArray)   xs = NULL, ys = NULL;
  g_autofree gfloat  *pixels = NULL;   /* a tile row's outputs, pixel by pixel */
  gint64  w = in->width, h = in->height, m = np_net_size_multiple (net);
  gint64  cin = np_net_input_channels (net, 0), cout = np_net_output_channels (net);
  gint64  tile = MAX (m, options->tile_size / m * m), tw, th;
  /* The output is s/d times the input each way: a super-resolution net's
   * twice (s = 2), a chroma-bins model's half (d = 2). */
  gdouble scale = np_net_output_scale (net);
  gint64  s = scale >= 1 ? (gint64) scale : 1, d = scale >= 1 ? 1 : (gint64) (1 / scale);
  /* A chroma model predicts Cb and Cr, put on the input's own luminance; a
   * residual one the detail its bicubic upscale misses. */
  NpModelTarget target = np_model_info (model)->target;
  g_autoptr(NpImage) up = NULL;

  g_return_val_if_fail (in->type == NP_SAMPLE_F32 && in->channels == 4, FALSE);
  g_return_val_if_fail (out->type == NP_SAMPLE_F32 && out->channels == 4, FALSE);

  /* A chroma-bins model's colour at half the size is for a colouriser,
   * which composes it itself (raw). */
  if (!np_model_check_use (model, s > 1 ? NP_MODEL_USE_SUPER_RESOLUTION
                                        : target == NP_MODEL_TARGET_CHROMA_BINS ? NP_MODEL_USE_COLORIZE
                                                                                : NP_MODEL_USE_IMAGE, error))
    return FALSE;
  g_return_val_if_fail (target != NP_MODEL_TARGET_CHROMA_BINS || options->raw, FALSE);
  g_return_val_if_fail (out->width == out_side (s, d, w) && out->height == out_side (s, d, h), FALSE);
  if (options->hints && !np_model_info (model)->hints)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED, "the model takes no colour hints (its file has no "
                   "“hints”): colour without them, or with a model trained with them (neuropaint train "
                   "--input gray-hints)");
      return FALSE;
    }
  g_return_val_if_fail (options->hints == NULL
                        || (options->hints->type == NP_SAMPLE_F32 && options->hints->width == w
                            && options->hints->height == h && options->hints->channels == NP_MODEL_HINT_CHANNELS),
                        FALSE);

  /* The filtered copy every tile reads from. */
  if (options->apply_filter)
    {
      if ((filtered = np_image_new (NP_SAMPLE_F32, (gint) w, (gint) h, 4, error)) == NULL)
        return FALSE;
      for (gint64 y = 0; y < h; y++)
        memcpy (np_image_row (filtered, (gint) y), np_image_row (in, (gint) y), w * 4 * sizeof (gfloat));
      if (!apply_input_filter (np_model_info (model), filtered, options->n_threads, error))
        return FALSE;
      src = filtered;
    }

  /* A picture that fits one tile is run whole (padded to the multiple), and
   * so is any for a smaller output (a colouriser's render, whole anyway):
   * its tiles would start between output pixels. */
  tw = d > 1 ? (w + m - 1) / m * m : MIN (tile, (w + m - 1) / m * m);
  th = d > 1 ? (h + m - 1) / m * m : MIN (tile, (h + m - 1) / m * m);
  xs = tile_origins (w, tw, options->overlap);
  ys = tile_origins (h, th, options->overlap);
  if ((x = np_tensor_new (tw, th, cin, 1, error)) == NULL)
    return FALSE;
  pixels = g_new (gfloat, cout * s * tw);
  /* out accumulates weighted results in RGB and the weights in A. */
  for (gint64 j = 0; j < out_side (s, d, h); j++)
    memset (np_image_row (out, (gint) j), 0, out_side (s, d, w) * 4 * sizeof (gfloat));

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
                gfloat        none[NP_MODEL_HINT_CHANNELS];
                const gfloat *hint = none;

                if (np_model_info (model)->hints)
                  {
                    if (options->hints)
                      hint = (const gfloat *) np_image_row (options->hints, (gint) CLAMP (y0 + j, 0, h - 1))
                             + NP_MODEL_HINT_CHANNELS * CLAMP (x0 + i, 0, w - 1);
                    else
                      np_model_hint_encode (NULL, none);
                    for (int c = 0; c < NP_MODEL_HINT_CHANNELS; c++)
                      *np_tensor_at (x, i, j, 1 + c, 0) = hint[c];
                  }
                if (cin == 3)
                  for (int c = 0; c < 3; c++)
                    *np_tensor_at (x, i, j, c, 0) = p[c] * 2 - 1;
                else
                  *np_tensor_at (x, i, j, 0, 0) = (NP_GRAY_R * p[0] + NP_GRAY_G * p[1] + NP_GRAY_B * p[2]) * 2 - 1;
              }
          }
        if ((y = np_net_forward (net, inputs, 1, &(NpCompute) { .n_threads = options->n_threads }, error)) == NULL)
          return FALSE;
        g_return_val_if_fail (y->ne[0] == s * tw / d && y->ne[1] == s * th / d, FALSE);

        /* The tile's result covers s/d times its pixels, and so do the ramps. */
        for (gint64 j = 0; j < out_side (s, d, MIN (th, h - y0)); j++)
          {
            gfloat wy = ramp (j, s * th / d, ty > 0, ty + 1 < ys->len, (gint) (s * options->overlap / d));
            gfloat *o = (gfloat *) np_image_row (out, (gint) (s * y0 / d + j)) + 4 * s * x0 / d;
            gint64  n_out = out_side (s, d, MIN (tw, w - x0));

            /* The row's outputs pixel by pixel (a chroma-bins model's ~150
             * logits lie a plane apart each, a page each). */
            for (gint64 k = 0; k < cout; k++)
              for (gint64 i = 0; i < n_out; i++)
                pixels[i * cout + k] = *np_tensor_at (y, i, j, k, 0);
            for (gint64 i = 0; i < n_out; i++)
              {
                gfloat wgt = wy * ramp (i, s * tw / d, tx > 0, tx + 1 < xs->len, (gint) (s * options->overlap / d));
                gfloat values[3];
                /* What the outputs stand for blends (chroma bins' logits
                 * would not fit the picture's channels). */
                np_model_target_reduce (target, np_model_info (model)->bins, pixels + i * cout, (gint) cout, 1,
                                        values);
                for (int c = 0; c < 3; c++)
                  o[4 * i + c] += wgt * values[c];
                o[4 * i + 3] += wgt;
              }
          }
      }

  /* The upscale a residual model's detail goes on (as in training: bicubic,
   * clamped to [0, 1]). */
  if (target == NP_MODEL_TARGET_RESIDUAL && !options->raw)
    {
      if ((up = np_image_new (NP_SAMPLE_F32, (gint) (s * w), (gint) (s * h), 4, error)) == NULL)
        return FALSE;
      np_resize_cubic (src, up);
    }

  /* The picture the blended outputs stand for (np_model_target_decode),
   * unless raw; alpha from the input (each input pixel's for its s×s output
   * pixels; a smaller output's from the first input pixel it covers). */
  for (gint64 j = 0; j < out_side (s, d, h); j++)
    {
      gfloat       *o = np_image_row (out, (gint) j);
      const gfloat *a = np_image_row (in, (gint) (j * d / s)), *sp = np_image_row (src, (gint) (j * d / s));
      for (gint64 i = 0; i < out_side (s, d, w); i++)
        {
          gfloat values[3], luma = 0, base[3] = { 0 };

          for (int c = 0; c < 3; c++)
            values[c] = o[4 * i + c] / o[4 * i + 3];
          if (options->raw)
            memcpy (o + 4 * i, values, sizeof values);
          else
            {
              if (up)
                for (int c = 0; c < 3; c++)
                  base[c] = CLAMP (((const gfloat *) np_image_row (up, (gint) j))[4 * i + c], 0.0f, 1.0f);
              else if (np_model_target_is_chroma (target))
                luma = NP_LUMA_R * sp[4 * i] + NP_LUMA_G * sp[4 * i + 1] + NP_LUMA_B * sp[4 * i + 2];
              np_model_target_decode (target, values, 3, luma, base, o + 4 * i);
            }
          o[4 * i + 3] = a[4 * (i * d / s) + 3];
        }
    }
  return TRUE;
}
