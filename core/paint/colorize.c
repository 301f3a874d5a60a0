/* neuropaint — colourising photos of any size (np-paint.h, NpColorizer).
 *
 * Each "layer" is a region of the photo the model coloured at its own scale:
 * the whole photo, resized so its long side is the render size, and with
 * faces, each face's seed crop resized to the model's training size. A
 * layer's colour is two chroma planes at the model's scale (Cb, Cr or a*,
 * b*), read back at the photo's resolution by bicubic interpolation (Keys,
 * a = −0.5: smooth, no grid). Faces blend over the whole photo's colour with
 * a weight that falls smoothly to 0 over the outer quarter of their crop.
 *
 * The luminance is the photo's own: BT.601 Y' for YCbCr (what the gray
 * filter and the models' inputs are), linear Y (L*) for Lab. Where the
 * model's chroma on that luminance lies outside the gamut, the chroma is
 * scaled towards gray until it fits: gray of the same luminance always fits,
 * so the luminance stays exact and only the saturation gives way.
 *
 * Colour hints (a hint model, np-model.h) come as a picture of the photo's
 * size read beside it: its opaque pixels are hints. Each layer sums them at
 * its own scale by area (each photo pixel spreads over the model pixels it
 * overlaps, by the overlap), chroma weighted by area over the hint pixels
 * alone, and its mask is on wherever any hint pixel falls: a 1-pixel dot
 * on a 6000-pixel photo is still one model pixel of the dot's colour.
 *
 * Memory: one luma row of the photo, the resamplers' small results, the
 * chroma planes and per-row and per-column interpolation tables (O(W + H));
 * the model runs on the render alone. Nothing is photo-sized.
 */
#include "np-paint.h"
#include "image/np-colour.h"
#include "image/np-resize.h"
#include "util/np-parallel.h"
#include "filters/np-filters.h"

#include <math.h>
#include <string.h>

/* Four taps of a bicubic interpolation, indices clamped to the source. */
typedef struct
{
  gint   idx[4];
  gfloat w[4];
} Taps;

/* The model pixels one photo pixel overlaps along a side, and by how much
 * (in model pixels): count of them from first, their weights at w. */
typedef struct
{
  gint   *first, *count;
  gfloat *w;
  gint    stride;   /* weights a photo pixel */
} Boxes;

typedef struct
{
  gint         x, y, width, height;  /* the photo region it colours */
  gboolean     feather;              /* a face: blends in towards its middle */
  NpResampler *gray;                 /* its luma at the model's scale, while read */
  gint         gray_width, gray_height;
  NpImage     *chroma;               /* two planes at the model's scale, interleaved */
  Taps        *cols, *rows;          /* for each photo column / row of the region */
  /* Hints, while read: per model pixel the area-weighted sums of the hint
   * pixels' Cb·2, Cr·2 and their area; the boxes of the region's photo
   * columns and rows. */
  gdouble     *hint_sum;
  Boxes        hint_cols, hint_rows;
} Layer;

struct _NpColorizer
{
  NpModel          *model;
  gint              width, height;
  NpColorizeOptions options;
  gboolean          chroma_model;
  gint              readings;        /* readings of the photo still wanted */
  gint64            hint_pixels;     /* hint pixels of the first reading */
  gboolean          first_reading;
  GPtrArray        *layers;          /* Layer*, the whole photo first */
  NpResampler      *detect;          /* the photo's luma for the face finder */
  gfloat           *luma;            /* one row */
};

/* Keys' cubic convolution kernel with a = −0.5 (Catmull–Rom). */
static gfloat
keys (gfloat d)
{
  const gfloat a = -0.5f;

  d = fabsf (d);
  if (d <= 1)
    return ((a + 2) * d - (a + 3)) * d * d + 1;
  if (d < 2)
    return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  return 0;
}

/* Taps for each of dst indices over src samples, centres aligned
 * ((i + 0.5)·src/dst − 0.5), edges replicated. */
static Taps *
cubic_taps (gint src, gint dst)
{
  Taps   *taps = g_new (Taps, dst);
  gdouble scale = (gdouble) src / dst;

  for (gint i = 0; i < dst; i++)
    {
      gdouble u = (i + 0.5) * scale - 0.5, f = floor (u);
      gfloat  t = (gfloat) (u - f);

      for (gint k = 0; k < 4; k++)
        {
          taps[i].idx[k] = CLAMP ((gint) f - 1 + k, 0, src - 1);
          taps[i].w[k] = keys (t + 1 - k);
        }
    }
  return taps;
}

/* Boxes of src photo pixels over dst model pixels: photo pixel i covers
 * [i·dst/src, (i + 1)·dst/src) in model pixels. */
static void
boxes_init (Boxes *b, gint src, gint dst)
{
  gdouble scale = (gdouble) dst / src;

  b->stride = (gint) ceil (scale) + 1;
  b->first = g_new (gint, src);
  b->count = g_new (gint, src);
  b->w = g_new0 (gfloat, (gsize) src * b->stride);
  for (gint i = 0; i < src; i++)
    {
      gdouble a = i * scale, e = (i + 1) * scale;
      gint    j0 = (gint) floor (a), j1 = MIN (dst, (gint) ceil (e));

      b->first[i] = j0, b->count[i] = 0;
      for (gint j = j0; j < j1 && b->count[i] < b->stride; j++)
        b->w[(gsize) i * b->stride + b->count[i]++] = (gfloat) (MIN (e, j + 1.0) - MAX (a, (gdouble) j));
    }
}

static void
boxes_clear (Boxes *b)
{
  g_clear_pointer (&b->first, g_free);
  g_clear_pointer (&b->count, g_free);
  g_clear_pointer (&b->w, g_free);
}

static void
layer_free (gpointer data)
{
  Layer *l = data;

  g_free (l->hint_sum);
  boxes_clear (&l->hint_cols);
  boxes_clear (&l->hint_rows);
  np_resampler_free (l->gray);
  np_image_free (l->chroma);
  g_free (l->cols);
  g_free (l->rows);
  g_free (l);
}

static Layer *
layer_new (gint x, gint y, gint width, gint height, gint scale_width, gint scale_height,
           gboolean feather, gboolean hints, GError **error)
{
  Layer *l = g_new0 (Layer, 1);

  l->x = x, l->y = y, l->width = width, l->height = height, l->feather = feather;
  l->gray_width = scale_width, l->gray_height = scale_height;
  if ((l->gray = np_resampler_new (x, y, width, height, scale_width, scale_height, 1, error)) == NULL)
    {
      layer_free (l);
      return NULL;
    }
  if (hints)
    {
      l->hint_sum = g_new0 (gdouble, (gsize) scale_width * scale_height * 3);
      boxes_init (&l->hint_cols, width, scale_width);
      boxes_init (&l->hint_rows, height, scale_height);
    }
  return l;
}

NpColorizer *
np_colorizer_new (NpModel *model, gint width, gint height, const NpColorizeOptions *options,
                  GError **error)
{
  g_autoptr(NpColorizer) c = NULL;
  gint  mw, mh, side = options->render_size, rw, rh;
  Layer *whole;

  g_return_val_if_fail (width > 0 && height > 0, NULL);

  if (!np_model_check_use (model, NP_MODEL_USE_COLORIZE, error))
    return NULL;
  if (options->hints && !np_model_info (model)->hints)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "the model takes no colour hints (its file has no “hints”): leave the hint picture out, "
                   "or colour with a model trained with hints (neuropaint train --input gray-hints)");
      return NULL;
    }
  mw = np_model_info (model)->width, mh = np_model_info (model)->height;
  if (side == 0)
    side = MAX (mw, mh);
  if (side < NP_COLORIZE_MIN_RENDER || side > NP_COLORIZE_MAX_RENDER)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "render size %d is out of range: 0 (the model's) or %d to %d pixels", side,
                   NP_COLORIZE_MIN_RENDER, NP_COLORIZE_MAX_RENDER);
      return NULL;
    }
  /* The photo's shape at the render size: resized, never cropped. */
  if (width >= height)
    rw = side, rh = MAX (1, (gint) lrint ((gdouble) side * height / width));
  else
    rh = side, rw = MAX (1, (gint) lrint ((gdouble) side * width / height));

  c = g_new0 (NpColorizer, 1);
  c->model = model;
  c->width = width, c->height = height;
  c->options = *options;
  c->chroma_model = np_model_target_is_chroma (np_model_info (model)->target);
  c->layers = g_ptr_array_new_with_free_func (layer_free);
  c->luma = g_new (gfloat, width);
  c->readings = 1;
  c->first_reading = TRUE;
  if ((whole = layer_new (0, 0, width, height, rw, rh, FALSE, options->hints, error)) == NULL)
    return NULL;
  g_ptr_array_add (c->layers, whole);
  if (options->faces)
    {
      gdouble shrink = MIN (1.0, (gdouble) NP_COLORIZE_DETECT_SIDE / MAX (width, height));
      c->detect = np_resampler_new (0, 0, width, height, MAX (1, (gint) lrint (width * shrink)),
                                    MAX (1, (gint) lrint (height * shrink)), 1, error);
      if (c->detect == NULL)
        return NULL;
    }
  return g_steal_pointer (&c);
}

void
np_colorizer_free (NpColorizer *c)
{
  if (c == NULL)
    return;
  g_ptr_array_unref (c->layers);
  np_resampler_free (c->detect);
  g_free (c->luma);
  g_free (c);
}

gboolean
np_colorizer_needs_rows (NpColorizer *c)
{
  return c->readings > 0;
}

void
np_colorizer_add_rows (NpColorizer *c, gint y, const NpImage *rows)
{
  g_return_if_fail (rows->type == NP_SAMPLE_F32 && rows->channels == 4 && rows->width == c->width);
  g_return_if_fail (c->readings > 0);

  for (gint j = 0; j < rows->height; j++)
    {
      const gfloat *p = np_image_row (rows, j);

      /* The models' input: the gray filter's luma. */
      for (gint i = 0; i < c->width; i++)
        c->luma[i] = NP_GRAY_R * p[4 * i] + NP_GRAY_G * p[4 * i + 1] + NP_GRAY_B * p[4 * i + 2];
      for (guint l = 0; l < c->layers->len; l++)
        {
          Layer *layer = c->layers->pdata[l];
          if (layer->gray)
            np_resampler_add_row (layer->gray, y + j, c->luma);
        }
      if (c->detect)
        np_resampler_add_row (c->detect, y + j, c->luma);
    }
}

/* A hint pixel: opaque, or more than half so (a soft brush's fringe). */
#define HINT_ALPHA 0.5f

void
np_colorizer_add_hint_rows (NpColorizer *c, gint y, const NpImage *rows)
{
  g_return_if_fail (c->options.hints);
  g_return_if_fail (rows->type == NP_SAMPLE_F32 && rows->channels == 4 && rows->width == c->width);
  g_return_if_fail (c->readings > 0 && y >= 0 && y + rows->height <= c->height);

  for (gint j = 0; j < rows->height; j++)
    {
      const gfloat *p = np_image_row (rows, j);

      for (gint i = 0; i < c->width; i++)
        {
          gfloat values[NP_MODEL_HINT_CHANNELS];

          if (!(p[4 * i + 3] > HINT_ALPHA))
            continue;
          c->hint_pixels += c->first_reading;
          np_model_hint_encode (p + 4 * i, values);
          for (guint l = 0; l < c->layers->len; l++)
            {
              Layer *layer = c->layers->pdata[l];
              const Boxes *bx = &layer->hint_cols, *by = &layer->hint_rows;
              gint  u = i - layer->x, v = y + j - layer->y, sw = layer->gray_width;

              if (!layer->gray || u < 0 || u >= layer->width || v < 0 || v >= layer->height)
                continue;
              for (gint b = 0; b < by->count[v]; b++)
                for (gint a = 0; a < bx->count[u]; a++)
                  {
                    gdouble area = (gdouble) by->w[(gsize) v * by->stride + b] * bx->w[(gsize) u * bx->stride + a];
                    gdouble *sum = layer->hint_sum + 3 * ((gsize) (by->first[v] + b) * sw + bx->first[u] + a);
                    sum[0] += area * values[0], sum[1] += area * values[1], sum[2] += area;
                  }
            }
        }
    }
}

/* A layer's hint channels at its scale, from its sums. */
static NpImage *
layer_hints (const Layer *l, GError **error)
{
  NpImage *hints = np_image_new (NP_SAMPLE_F32, l->gray_width, l->gray_height, NP_MODEL_HINT_CHANNELS, error);

  for (gint y = 0; hints && y < l->gray_height; y++)
    {
      gfloat *row = np_image_row (hints, y);
      for (gint x = 0; x < l->gray_width; x++)
        {
          const gdouble *sum = l->hint_sum + 3 * ((gsize) y * l->gray_width + x);
          np_model_hint_encode (NULL, row + 3 * x);
          if (sum[2] > 0)
            row[3 * x] = (gfloat) (sum[0] / sum[2]), row[3 * x + 1] = (gfloat) (sum[1] / sum[2]), row[3 * x + 2] = 1;
        }
    }
  return hints;
}

/* Puts chroma (u, v) on luminance y (clamped to [0, 1]) into rgb; TRUE when
 * the chroma had to shrink to fit the gamut. */
static inline gboolean
combine_ycbcr (gfloat y, gfloat u, gfloat v, gfloat *rgb)
{
  gfloat d[3], t = 1;

  y = CLAMP (y, 0.0f, 1.0f);
  d[0] = v * (2.0f * (1.0f - NP_LUMA_R));
  d[2] = u * (2.0f * (1.0f - NP_LUMA_B));
  d[1] = -(NP_LUMA_R * d[0] + NP_LUMA_B * d[2]) / NP_LUMA_G;
  for (int c = 0; c < 3; c++)
    {
      if (y + d[c] > 1)
        t = MIN (t, (1 - y) / d[c]);
      else if (y + d[c] < 0)
        t = MIN (t, -y / d[c]);
    }
  for (int c = 0; c < 3; c++)
    rgb[c] = CLAMP (y + t * d[c], 0.0f, 1.0f);
  return t < 1;
}

/* The model's colour for a gray picture (its luma in [0, 1], at the model's
 * scale): two chroma planes in the colouriser's space, at the model's
 * output size (a chroma-bins model's is half: d = 2). A chroma model gives
 * Cb, Cr itself; an RGB model's picture gives its own. */
static NpImage *
model_chroma (NpColorizer *c, const NpImage *gray, const NpImage *hints, GError **error)
{
  gint               w = gray->width, h = gray->height, m = np_net_size_multiple (np_model_net (c->model));
  gint64             cout = np_net_output_channels (np_model_net (c->model));
  gint               d = np_net_output_scale (np_model_net (c->model)) < 1 ? 2 : 1;
  gint               ow = (w + d - 1) / d, oh = (h + d - 1) / d;
  NpPaintOptions     run = { (MAX (w, h) + m - 1) / m * m, 0, c->options.n_threads, FALSE, TRUE, hints };
  g_autoptr(NpImage) rgba = np_image_new (NP_SAMPLE_F32, w, h, 4, error);
  g_autoptr(NpImage) out = rgba ? np_image_new (NP_SAMPLE_F32, ow, oh, 4, error) : NULL;
  g_autoptr(NpImage) chroma = out ? np_image_new (NP_SAMPLE_F32, ow, oh, 2, error) : NULL;

  if (chroma == NULL)
    return NULL;
  for (gint y = 0; y < h; y++)
    {
      const gfloat *g = np_image_row (gray, y);
      gfloat       *p = np_image_row (rgba, y);
      for (gint x = 0; x < w; x++)
        p[4 * x] = p[4 * x + 1] = p[4 * x + 2] = g[x], p[4 * x + 3] = 1;
    }
  if (!np_paint_generate (c->model, rgba, out, &run, error))
    return NULL;

  for (gint y = 0; y < oh; y++)
    {
      const gfloat *o = np_image_row (out, y);
      gfloat       *ch = np_image_row (chroma, y);
      for (gint x = 0; x < ow; x++)
        {
          gfloat rgb[3], luma = 0, l;
          gint   covered = 0;
          if (c->chroma_model)
            {
              np_model_target_chroma (o + 4 * x, &ch[2 * x], &ch[2 * x + 1]);
              if (c->options.space == NP_CHROMA_YCBCR)
                continue;
              /* Its picture, by the rule the result follows, for a*, b*,
               * on the mean luma of the pixels it covers. */
              for (gint j = d * y; j < MIN (d * y + d, h); j++)
                for (gint i = d * x; i < MIN (d * x + d, w); i++)
                  luma += ((const gfloat *) np_image_row (gray, j))[i], covered++;
              combine_ycbcr (luma / covered, ch[2 * x], ch[2 * x + 1], rgb);
            }
          else
            np_model_target_decode (NP_MODEL_TARGET_RGB, o + 4 * x, (gint) cout, 0, NULL, rgb);
          if (c->options.space == NP_CHROMA_YCBCR)
            np_ycbcr_from_rgb (rgb[0], rgb[1], rgb[2], &luma, &ch[2 * x], &ch[2 * x + 1]);
          else
            np_lab_from_rgb (rgb[0], rgb[1], rgb[2], &l, &ch[2 * x], &ch[2 * x + 1]);
        }
    }
  return g_steal_pointer (&chroma);
}

/* Runs the model on a layer whose rows have all been read. */
static gboolean
colour_layer (NpColorizer *c, Layer *l, GError **error)
{
  g_autoptr(NpImage) hints = l->hint_sum ? layer_hints (l, error) : NULL;

  if ((l->hint_sum && hints == NULL)
      || (l->chroma = model_chroma (c, np_resampler_result (l->gray), hints, error)) == NULL)
    return FALSE;
  g_clear_pointer (&l->gray, np_resampler_free);
  g_clear_pointer (&l->hint_sum, g_free);
  l->cols = cubic_taps (l->chroma->width, l->width);
  l->rows = cubic_taps (l->chroma->height, l->height);
  return TRUE;
}

/* Faces on the photo's reduced luma, as layers to read next. */
static gboolean
find_faces (NpColorizer *c, GError **error)
{
  const NpImage     *small = np_resampler_result (c->detect);
  g_autoptr(NpImage) bytes = np_image_new (NP_SAMPLE_U8, small->width, small->height, 1, error);
  g_autoptr(GArray)  faces = NULL;
  NpHaarParams       seed = { 1.2, 5, 60, 60, 0, 0 };   /* the seed's detectMultiScale */
  gdouble            sx = (gdouble) c->width / small->width, sy = (gdouble) c->height / small->height;
  gint               mw, mh;

  if (bytes == NULL)
    return FALSE;
  for (gint y = 0; y < small->height; y++)
    {
      const gfloat *v = np_image_row (small, y);
      guint8       *b = np_image_row (bytes, y);
      for (gint x = 0; x < small->width; x++)
        b[x] = (guint8) lrintf (CLAMP (v[x], 0.0f, 1.0f) * 255);
    }
  if ((faces = np_face_finder_find (c->options.faces, bytes, &seed, c->options.n_threads, error)) == NULL)
    return FALSE;

  mw = np_model_info (c->model)->width, mh = np_model_info (c->model)->height;
  for (guint i = 0; i < MIN (faces->len, NP_COLORIZE_MAX_FACES); i++)
    {
      const NpHaarBox *f = &g_array_index (faces, NpHaarBox, i);
      NpHaarBox        box = { (gint) lrint (f->x * sx), (gint) lrint (f->y * sy),
                               (gint) lrint (f->width * sx), (gint) lrint (f->height * sy), 0 };
      gint             x, y, w, h;
      Layer           *l;

      if (!np_face_crop_rect (&box, c->width, c->height, &x, &y, &w, &h))
        continue;
      if ((l = layer_new (x, y, w, h, mw, mh, TRUE, c->options.hints, error)) == NULL)
        return FALSE;
      g_ptr_array_add (c->layers, l);
    }
  return TRUE;
}

gboolean
np_colorizer_end_rows (NpColorizer *c, GError **error)
{
  g_return_val_if_fail (c->readings > 0, FALSE);

  /* Hints everywhere are no hints but a picture: most likely the photo's
   * own layer picked as the hints. */
  if (c->first_reading && c->options.hints && c->hint_pixels == (gint64) c->width * c->height)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "the hint picture is opaque everywhere: hints are the opaque pixels of a transparent "
                   "picture (paint dots on an empty layer)");
      return FALSE;
    }
  c->first_reading = FALSE;
  c->readings--;
  for (guint l = 0; l < c->layers->len; l++)
    {
      Layer *layer = c->layers->pdata[l];
      if (layer->gray && !colour_layer (c, layer, error))
        return FALSE;
    }
  if (c->detect)
    {
      if (!find_faces (c, error))
        return FALSE;
      g_clear_pointer (&c->detect, np_resampler_free);
      /* The faces' crops at the model's scale need another reading. */
      c->readings += c->layers->len > 1;
    }
  return TRUE;
}

/* A face's weight along one side of its crop: 1 in the middle, falling
 * smoothly to 0 over the outer quarter. */
static gfloat
feather (gint i, gint size)
{
  gfloat d = MIN (i + 0.5f, size - i - 0.5f) / (0.25f * size);
  d = CLAMP (d, 0.0f, 1.0f);
  return d * d * (3 - 2 * d);
}

static inline gboolean
in_gamut (const gfloat *lin)
{
  const gfloat eps = 1e-4f;   /* gray itself lands within float error of the edges */
  return lin[0] >= -eps && lin[0] <= 1 + eps && lin[1] >= -eps && lin[1] <= 1 + eps
         && lin[2] >= -eps && lin[2] <= 1 + eps;
}

/* The same in Lab: linear luminance y (clamped), chroma a*, b*. The gamut at
 * a given L* is not convex in a*, b*: the largest fitting scale is found by
 * bisection. */
static inline gboolean
combine_lab (gfloat y, gfloat a, gfloat b, gfloat *rgb)
{
  gfloat   fy = np_lab_f (CLAMP (y, 0.0f, 1.0f)), lin[3];
  gboolean clipped = FALSE;

  np_linear_rgb_from_lab (fy, a, b, &lin[0], &lin[1], &lin[2]);
  if (!in_gamut (lin))
    {
      gfloat lo = 0, hi = 1;
      for (int k = 0; k < 20; k++)
        {
          gfloat mid = 0.5f * (lo + hi);
          np_linear_rgb_from_lab (fy, mid * a, mid * b, &lin[0], &lin[1], &lin[2]);
          if (in_gamut (lin))
            lo = mid;
          else
            hi = mid;
        }
      np_linear_rgb_from_lab (fy, lo * a, lo * b, &lin[0], &lin[1], &lin[2]);
      clipped = TRUE;
    }
  for (int c = 0; c < 3; c++)
    rgb[c] = np_srgb_from_linear (CLAMP (lin[c], 0.0f, 1.0f));
  return clipped;
}

typedef struct
{
  NpColorizer   *c;
  gint           y;
  const NpImage *in;
  NpImage       *out;
  gint64        *clipped;   /* per part */
} ApplyJob;

/* Interpolates a layer's chroma at photo column i of its region from the
 * row vr (two planes, vertically interpolated already). */
static inline void
sample_row (const Layer *l, const gfloat *vr, gint i, gfloat *u, gfloat *v)
{
  const Taps *t = &l->cols[i];

  *u = t->w[0] * vr[2 * t->idx[0]] + t->w[1] * vr[2 * t->idx[1]]
       + t->w[2] * vr[2 * t->idx[2]] + t->w[3] * vr[2 * t->idx[3]];
  *v = t->w[0] * vr[2 * t->idx[0] + 1] + t->w[1] * vr[2 * t->idx[1] + 1]
       + t->w[2] * vr[2 * t->idx[2] + 1] + t->w[3] * vr[2 * t->idx[3] + 1];
}

static void
apply_rows (gsize start, gsize end, guint part, gpointer data)
{
  ApplyJob    *job = data;
  NpColorizer *c = job->c;
  guint        n = c->layers->len;
  gfloat     **vrow = g_new (gfloat *, n);
  gfloat      *wrow = g_new (gfloat, n);
  gfloat       sat = c->options.saturation;
  gint64       clipped = 0;

  for (guint l = 0; l < n; l++)
    vrow[l] = g_new (gfloat, 2 * ((Layer *) c->layers->pdata[l])->chroma->width);

  for (gsize j = start; j < end; j++)
    {
      gint          y = job->y + (gint) j;
      const gfloat *in = np_image_row (job->in, (gint) j);
      gfloat       *out = np_image_row (job->out, (gint) j);

      /* Each layer's chroma on this row, at its own scale. */
      for (guint l = 0; l < n; l++)
        {
          const Layer *layer = c->layers->pdata[l];
          const Taps  *t;
          const gfloat *r[4];

          wrow[l] = 0;
          if (y < layer->y || y >= layer->y + layer->height)
            continue;
          t = &layer->rows[y - layer->y];
          for (int k = 0; k < 4; k++)
            r[k] = np_image_row (layer->chroma, t->idx[k]);
          for (gint i = 0; i < 2 * layer->chroma->width; i++)
            vrow[l][i] = t->w[0] * r[0][i] + t->w[1] * r[1][i] + t->w[2] * r[2][i] + t->w[3] * r[3][i];
          wrow[l] = layer->feather ? feather (y - layer->y, layer->height) : 1;
        }

      for (gint x = 0; x < c->width; x++)
        {
          const gfloat *p = in + 4 * x;
          gfloat        u, v, alpha = p[3], rgb[3];
          gboolean      fixed;

          sample_row (c->layers->pdata[0], vrow[0], x, &u, &v);
          for (guint l = 1; l < n; l++)
            {
              const Layer *face = c->layers->pdata[l];
              gfloat       fu, fv, w;
              if (wrow[l] == 0 || x < face->x || x >= face->x + face->width)
                continue;
              w = wrow[l] * feather (x - face->x, face->width);
              sample_row (face, vrow[l], x - face->x, &fu, &fv);
              u += w * (fu - u), v += w * (fv - v);
            }
          if (c->options.space == NP_CHROMA_YCBCR)
            fixed = combine_ycbcr (NP_LUMA_R * p[0] + NP_LUMA_G * p[1] + NP_LUMA_B * p[2],
                                   sat * u, sat * v, rgb);
          else
            fixed = combine_lab (np_linear_luminance (CLAMP (p[0], 0.0f, 1.0f), CLAMP (p[1], 0.0f, 1.0f),
                                                      CLAMP (p[2], 0.0f, 1.0f)),
                                 sat * u, sat * v, rgb);
          clipped += fixed;
          out[4 * x] = rgb[0], out[4 * x + 1] = rgb[1], out[4 * x + 2] = rgb[2], out[4 * x + 3] = alpha;
        }
    }
  job->clipped[part] += clipped;
  for (guint l = 0; l < n; l++)
    g_free (vrow[l]);
  g_free (vrow);
  g_free (wrow);
}

gint64
np_colorizer_apply (NpColorizer *c, gint y, const NpImage *in, NpImage *out)
{
  const gsize grain = 8;
  guint       parts;
  g_autofree gint64 *clipped = NULL;
  ApplyJob    job = { c, y, in, out, NULL };
  gint64      total = 0;

  g_return_val_if_fail (c->readings == 0, 0);
  g_return_val_if_fail (in->type == NP_SAMPLE_F32 && in->channels == 4 && in->width == c->width, 0);
  g_return_val_if_fail (out->type == NP_SAMPLE_F32 && out->channels == 4 && out->width == c->width
                        && out->height == in->height, 0);
  g_return_val_if_fail (y >= 0 && y + in->height <= c->height, 0);

  parts = np_parallel_parts (in->height, grain, c->options.n_threads);
  job.clipped = clipped = g_new0 (gint64, MAX (parts, 1));
  np_parallel_for (in->height, grain, c->options.n_threads, apply_rows, &job);
  for (guint i = 0; i < parts; i++)
    total += clipped[i];
  return total;
}

void
np_colorizer_render_size (NpColorizer *c, gint *width, gint *height)
{
  Layer *whole = c->layers->pdata[0];

  *width = whole->gray_width;
  *height = whole->gray_height;
}

guint
np_colorizer_n_faces (NpColorizer *c)
{
  return c->layers->len - 1;
}
