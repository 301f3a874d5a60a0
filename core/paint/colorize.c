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
 * Colour hints come as a picture of the photo's size read beside it: its
 * opaque pixels are hints. Each layer sums them at its own scale by area
 * (each photo pixel spreads over the model pixels it overlaps, by the
 * overlap), chroma weighted by area over the hint pixels alone, and its
 * mask is on wherever any hint pixel falls: a 1-pixel dot on a 6000-pixel
 * photo is still one model pixel of the dot's colour. A hint model
 * (np-model.h) takes them as input; for every model, what its colour still
 * misses at the hints is spread along the photo, stopping at edges
 * (spread_hints).
 *
 * Memory: a few rows of luma of the photo's width per reading thread; each
 * photo row resized across, until the reading ends (H × (the render's
 * width + the face finder's ≤ 1024 + the faces' model widths) floats: 3.8
 * MB for a 4000×3000 photo at a 320 render without faces); each layer's
 * chroma interpolated across to the photo's width (2 × the render's height
 * × W floats: 7.7 MB there); a piece's few planes per colouring thread; the
 * model runs on the render alone. Nothing grows with W × H.
 *
 * An 8-bit photo comes as bytes and leaves as bytes, with the bits its
 * values v/255 give in float: each pass runs row by row in loops GCC
 * vectorises (NP_VECTOR_CLONES), the same arithmetic for bytes and floats.
 */
#include "np-paint.h"
#include "image/np-colour.h"
#include "image/np-domain-transform.h"
#include "image/np-resize.h"
#include "util/np-simd.h"
#include "filters/np-filters.h"

#include <math.h>
#include <string.h>

/* Four taps of a bicubic interpolation, indices clamped to the source. */
typedef struct
{
  gint   idx[4];
  gfloat w[4];
} Taps;

/* The same for every column of a region, tap by tap (tap k of column i at
 * idx[k][i], w[k][i]), and the runs of columns that share their four
 * indices (run r: columns runs[r] to runs[r + 1] − 1; the photo has many
 * columns to a model pixel), so a row's columns are interpolated in vector
 * loops over a run with its four samples at hand. */
typedef struct
{
  gint   *idx[4];
  gfloat *w[4];
  gint   *runs, n_runs;
} ColumnTaps;

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
  /* The chroma interpolated across to the region's width, row by model
   * row (Cb's row r at row 2r, Cr's at 2r + 1): each photo row is then
   * four long rows weighted, where across it would be runs of a dozen
   * columns sharing four samples. */
  NpImage     *wide;
  Taps        *rows;                 /* for each photo row of the region */
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
  gint              detect_width;
  /* A reading's resamplers (the layers' still to colour, then the
   * finder's), and every photo row's luma resized across by each (row y's
   * by resampler r at shrunk[y·stride + offset[r]]): rows come in any
   * order from any threads, and end_rows adds them in order. */
  NpResampler      *reading[NP_COLORIZE_MAX_FACES + 2];
  gint              reading_offset[NP_COLORIZE_MAX_FACES + 2];
  guint             n_reading;
  NpImage          *shrunk;
  /* Per R'G'B' u8 sample: its value in [0, 1], v/255 as babl reads it into
   * float (Lab's pixel-by-pixel path). */
  gfloat            unit[256];
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

static void
column_taps_init (ColumnTaps *ct, gint src, gint dst)
{
  g_autofree Taps *taps = cubic_taps (src, dst);

  for (gint k = 0; k < 4; k++)
    {
      ct->idx[k] = g_new (gint, dst);
      ct->w[k] = g_new (gfloat, dst);
      for (gint i = 0; i < dst; i++)
        ct->idx[k][i] = taps[i].idx[k], ct->w[k][i] = taps[i].w[k];
    }
  ct->runs = g_new (gint, dst + 1);
  ct->n_runs = 0;
  for (gint i = 0; i < dst; i++)
    if (i == 0 || memcmp (taps[i].idx, taps[i - 1].idx, sizeof taps[i].idx) != 0)
      ct->runs[ct->n_runs++] = i;
  ct->runs[ct->n_runs] = dst;
}

static void
column_taps_clear (ColumnTaps *ct)
{
  for (gint k = 0; k < 4; k++)
    {
      g_clear_pointer (&ct->idx[k], g_free);
      g_clear_pointer (&ct->w[k], g_free);
    }
  g_clear_pointer (&ct->runs, g_free);
}

/* A row of a layer's chroma (two planes interleaved) at the photo's
 * resolution: every column of its region into u, v. */
static NP_VECTOR_CLONES void
sample_columns (const ColumnTaps *t, const gfloat *restrict vr, gfloat *restrict u, gfloat *restrict v)
{
  const gfloat *w0 = t->w[0], *w1 = t->w[1], *w2 = t->w[2], *w3 = t->w[3];

  for (gint r = 0; r < t->n_runs; r++)
    {
      gint         first = t->runs[r], end = t->runs[r + 1];
      const gfloat u0 = vr[2 * t->idx[0][first]], u1 = vr[2 * t->idx[1][first]];
      const gfloat u2 = vr[2 * t->idx[2][first]], u3 = vr[2 * t->idx[3][first]];
      const gfloat v0 = vr[2 * t->idx[0][first] + 1], v1 = vr[2 * t->idx[1][first] + 1];
      const gfloat v2 = vr[2 * t->idx[2][first] + 1], v3 = vr[2 * t->idx[3][first] + 1];

      for (gint i = first; i < end; i++)
        {
          u[i] = w0[i] * u0 + w1[i] * u1 + w2[i] * u2 + w3[i] * u3;
          v[i] = w0[i] * v0 + w1[i] * v1 + w2[i] * v2 + w3[i] * v3;
        }
    }
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
  np_image_free (l->wide);
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

/* The resamplers of the next reading and room for their rows. */
static gboolean
begin_reading (NpColorizer *c, GError **error)
{
  gint width = 0;

  c->n_reading = 0;
  for (guint l = 0; l < c->layers->len; l++)
    {
      Layer *layer = c->layers->pdata[l];
      if (layer->gray)
        c->reading[c->n_reading] = layer->gray, c->reading_offset[c->n_reading++] = width,
        width += layer->gray_width;
    }
  if (c->detect)
    c->reading[c->n_reading] = c->detect, c->reading_offset[c->n_reading++] = width, width += c->detect_width;
  np_image_free (c->shrunk);
  return (c->shrunk = np_image_new (NP_SAMPLE_F32, width, c->height, 1, error)) != NULL;
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
  for (gint v = 0; v < 256; v++)
    c->unit[v] = (gfloat) v / 255.0f;
  c->readings = 1;
  c->first_reading = TRUE;
  if ((whole = layer_new (0, 0, width, height, rw, rh, FALSE, options->hints, error)) == NULL)
    return NULL;
  g_ptr_array_add (c->layers, whole);
  if (options->faces)
    {
      gdouble shrink = MIN (1.0, (gdouble) NP_COLORIZE_DETECT_SIDE / MAX (width, height));
      c->detect_width = MAX (1, (gint) lrint (width * shrink));
      c->detect = np_resampler_new (0, 0, width, height, c->detect_width,
                                    MAX (1, (gint) lrint (height * shrink)), 1, error);
      if (c->detect == NULL)
        return NULL;
    }
  if (!begin_reading (c, error))
    return NULL;
  return g_steal_pointer (&c);
}

void
np_colorizer_free (NpColorizer *c)
{
  if (c == NULL)
    return;
  g_ptr_array_unref (c->layers);
  np_resampler_free (c->detect);
  np_image_free (c->shrunk);
  g_free (c);
}

gboolean
np_colorizer_needs_rows (NpColorizer *c)
{
  return c->readings > 0;
}

/* The luma of n pixels of ch bytes (3 or 4, a constant where this is
 * inlined, so each loop vectorises): each byte's value v/255, as babl reads
 * it into float, weighted as in float (a division, which vectorises; a
 * table would take a gather per byte). */
static inline void
bytes_luma (const guint8 *restrict p, gint n, gint ch, gfloat *restrict luma)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  /* Four bytes are one little-endian word: its lanes are read with shifts,
   * which vectorise, where the bytes 4 apart would be gathered. */
  if (ch == 4)
    {
      for (gint i = 0; i < n; i++)
        {
          guint32 q;
          memcpy (&q, p + 4 * i, 4);
          luma[i] = NP_LUMA_R * ((gfloat) (q & 0xff) / 255.0f) + NP_LUMA_G * ((gfloat) ((q >> 8) & 0xff) / 255.0f)
                    + NP_LUMA_B * ((gfloat) ((q >> 16) & 0xff) / 255.0f);
        }
      return;
    }
#endif
  for (gint i = 0; i < n; i++)
    luma[i] = NP_LUMA_R * ((gfloat) p[ch * i] / 255.0f) + NP_LUMA_G * ((gfloat) p[ch * i + 1] / 255.0f)
              + NP_LUMA_B * ((gfloat) p[ch * i + 2] / 255.0f);
}

/* The models' input, the gray filter's luma (unclamped), of row j of rows
 * (R'G'B'A float, R'G'B'A or R'G'B' u8), and with alpha not NULL, its alpha
 * (of the rows' sample type; none without alpha). */
static NP_VECTOR_CLONES void
row_luma (const NpImage *rows, gint j, gfloat *restrict luma, gpointer alpha)
{
  gint n = rows->width;   /* a local: stores of bytes may alias anything */

  if (rows->type == NP_SAMPLE_U8)
    {
      const guint8 *p = np_image_row (rows, j);
      guint8       *a = alpha;
      if (rows->channels == 3)
        bytes_luma (p, n, 3, luma);
      else
        bytes_luma (p, n, 4, luma);
      if (a && rows->channels == 4)
        for (gint i = 0; i < n; i++)
          {
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
            guint32 q;   /* the top byte of the word, as bytes_luma reads it */
            memcpy (&q, p + 4 * i, 4);
            a[i] = (guint8) (q >> 24);
#else
            a[i] = p[4 * i + 3];
#endif
          }
    }
  else
    {
      const gfloat *p = np_image_row (rows, j);
      gfloat       *a = alpha;
      for (gint i = 0; i < n; i++)
        luma[i] = NP_LUMA_R * p[4 * i] + NP_LUMA_G * p[4 * i + 1] + NP_LUMA_B * p[4 * i + 2];
      if (a)
        for (gint i = 0; i < n; i++)
          a[i] = p[4 * i + 3];
    }
}

void
np_colorizer_luma (const NpImage *piece, gfloat *luma, gsize luma_stride)
{
  g_return_if_fail ((piece->type == NP_SAMPLE_F32 && piece->channels == 4)
                    || (piece->type == NP_SAMPLE_U8 && (piece->channels == 3 || piece->channels == 4)));

  for (gint j = 0; j < piece->height; j++)
    row_luma (piece, j, luma + (gsize) j * luma_stride, NULL);
}

gboolean
np_colorizer_wants_rows (NpColorizer *c, gint y, gint n)
{
  for (guint r = 0; r < c->n_reading; r++)
    for (gint j = y; j < y + n; j++)
      if (np_resampler_wants_row (c->reading[r], j))
        return TRUE;
  return FALSE;
}

void
np_colorizer_add_luma_rows (NpColorizer *c, gint y, gint n, const gfloat *luma, gsize luma_stride)
{
  g_return_if_fail (c->readings > 0 && y >= 0 && n >= 0 && y + n <= c->height);

  /* Each resampler's rows are one run: its region's. */
  for (guint r = 0; r < c->n_reading; r++)
    {
      gint j0 = 0, j1;

      while (j0 < n && !np_resampler_wants_row (c->reading[r], y + j0))
        j0++;
      for (j1 = j0; j1 < n && np_resampler_wants_row (c->reading[r], y + j1); j1++)
        ;
      if (j1 > j0)
        np_resampler_shrink_rows (c->reading[r], luma + (gsize) j0 * luma_stride, luma_stride, j1 - j0,
                                  (gfloat *) np_image_row (c->shrunk, y + j0) + c->reading_offset[r],
                                  c->shrunk->stride / sizeof (gfloat));
    }
}

/* Rows whose luma is held at once, for the resamplers to resize side by
 * side (their 8 lanes). */
#define READ_GROUP 8

void
np_colorizer_add_rows (NpColorizer *c, gint y, const NpImage *rows)
{
  gsize              width = (gsize) c->width;
  g_autofree gfloat *luma = NULL;

  g_return_if_fail (((rows->type == NP_SAMPLE_F32 && rows->channels == 4)
                     || (rows->type == NP_SAMPLE_U8 && (rows->channels == 3 || rows->channels == 4)))
                    && rows->width == c->width);
  g_return_if_fail (c->readings > 0 && y >= 0 && y + rows->height <= c->height);

  luma = g_new (gfloat, READ_GROUP * width);
  for (gint g = 0; g < rows->height; g += READ_GROUP)
    {
      gint g1 = MIN (g + READ_GROUP, rows->height);

      for (gint j = g; j < g1; j++)
        if (np_colorizer_wants_rows (c, y + j, 1))
          row_luma (rows, j, luma + (j - g) * width, NULL);
      np_colorizer_add_luma_rows (c, y + g, g1 - g, luma, width);
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

/* A layer's hint channels at its scale, from its sums, spread along its
 * gray picture (np_model_hints_spread). */
static NpImage *
layer_hints (const Layer *l, const NpImage *gray, GError **error)
{
  g_autoptr(NpImage) hints = np_image_new (NP_SAMPLE_F32, l->gray_width, l->gray_height, NP_MODEL_HINT_CHANNELS,
                                           error);

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
  if (hints == NULL || !np_model_hints_spread (hints, gray, error))
    return NULL;
  return g_steal_pointer (&hints);
}

/* Puts chroma (u, v) on luminance y (clamped to [0, 1]) into rgb; TRUE when
 * the chroma had to shrink to fit the gamut. Without branches, so the rows'
 * loops vectorise: each channel's limit is one division whose operands are
 * chosen, (1 − y)/d above 1, −y/d below 0, else 1/1, which keeps t (never
 * above 1). A division under a condition would stay a branch: it may trap,
 * so the compiler does not run it where the condition is false. */
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
      gboolean above = y + d[c] > 1, below = y + d[c] < 0;
      gfloat   limit = (above ? 1 - y : below ? -y : 1) / (above | below ? d[c] : 1);
      t = MIN (t, limit);
    }
  for (int c = 0; c < 3; c++)
    rgb[c] = CLAMP (y + t * d[c], 0.0f, 1.0f);
  return t < 1;
}

/* The model's output pixels a side per colour sample: a chroma-bins model
 * colours at half its input's size. */
static gint
chroma_step (const NpColorizer *c)
{
  return np_net_output_scale (np_model_net (c->model)) < 1 ? 2 : 1;
}

/* The mean of gray over the d×d block of colour sample (x, y). */
static gfloat
block_luma (const NpImage *gray, gint d, gint x, gint y)
{
  gfloat luma = 0;
  gint   covered = 0;

  for (gint j = d * y; j < MIN (d * y + d, gray->height); j++)
    for (gint i = d * x; i < MIN (d * x + d, gray->width); i++)
      luma += ((const gfloat *) np_image_row (gray, j))[i], covered++;
  return luma / covered;
}

/* Cb, Cr as the colouriser's chroma: themselves, or for a*, b* those of the
 * colour the result shows for them on luma (the gamut rule's). */
static void
chroma_in_space (const NpColorizer *c, gfloat luma, gfloat cb, gfloat cr, gfloat *ch)
{
  gfloat rgb[3], l;

  if (c->options.space == NP_CHROMA_YCBCR)
    {
      ch[0] = cb, ch[1] = cr;
      return;
    }
  combine_ycbcr (luma, cb, cr, rgb);
  np_lab_from_rgb (rgb[0], rgb[1], rgb[2], &l, &ch[0], &ch[1]);
}

/* The model's colour for a gray picture (its luma in [0, 1], at the model's
 * scale): two chroma planes in the colouriser's space, at the model's
 * output size (a chroma-bins model's is half: chroma_step 2). A chroma
 * model gives Cb, Cr itself; an RGB model's picture gives its own. */
static NpImage *
model_chroma (NpColorizer *c, const NpImage *gray, const NpImage *hints, GError **error)
{
  gint               w = gray->width, h = gray->height, m = np_net_size_multiple (np_model_net (c->model));
  gint64             cout = np_net_output_channels (np_model_net (c->model));
  gint               d = chroma_step (c);
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
          gfloat rgb[3], luma, l, cb, cr;
          if (c->chroma_model)
            {
              /* For a*, b*: on the mean luma of the pixels it covers. */
              np_model_target_chroma (o + 4 * x, &cb, &cr);
              chroma_in_space (c, c->options.space == NP_CHROMA_YCBCR ? 0 : block_luma (gray, d, x, y), cb, cr,
                               &ch[2 * x]);
              continue;
            }
          np_model_target_decode (NP_MODEL_TARGET_RGB, o + 4 * x, (gint) cout, 0, NULL, rgb);
          if (c->options.space == NP_CHROMA_YCBCR)
            np_ycbcr_from_rgb (rgb[0], rgb[1], rgb[2], &luma, &ch[2 * x], &ch[2 * x + 1]);
          else
            np_lab_from_rgb (rgb[0], rgb[1], rgb[2], &l, &ch[2 * x], &ch[2 * x + 1]);
        }
    }
  return g_steal_pointer (&chroma);
}

/* What the model's colour missed at the hints, spread along the photo
 * (docs/operations.md#colour-hints): at each colour sample with a hint the
 * residual, hint − model chroma, spread along the gray picture as a hint
 * model's hints are (np_model_hints_spread's reach and edges), so edges stop
 * it and a region walled off from every hint keeps the model's colour. */
static gboolean
spread_hints (NpColorizer *c, Layer *l, const NpImage *gray, GError **error)
{
  NpImage           *ch = l->chroma;
  gint               w = ch->width, h = ch->height, d = chroma_step (c);
  g_autoptr(NpImage) planes = np_image_new (NP_SAMPLE_F32, w, h, 3, error);
  g_autoptr(NpImage) guide = planes ? np_image_new (NP_SAMPLE_F32, w, h, 1, error) : NULL;

  if (guide == NULL)
    return FALSE;
  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      {
        gfloat  *p = (gfloat *) np_image_row (planes, y) + 3 * x;
        gfloat  *g = (gfloat *) np_image_row (guide, y) + x, *pred = (gfloat *) np_image_row (ch, y) + 2 * x;
        gdouble  sum[3] = { 0, 0, 0 };
        gfloat   hint[2];

        *g = block_luma (gray, d, x, y);
        for (gint j = d * y; j < MIN (d * y + d, gray->height); j++)
          for (gint i = d * x; i < MIN (d * x + d, gray->width); i++)
            for (gint k = 0; k < 3; k++)
              sum[k] += l->hint_sum[3 * ((gsize) j * l->gray_width + i) + k];
        p[0] = p[1] = p[2] = 0;
        if (!(sum[2] > 0))
          continue;
        /* The sums are of Cb·2 and Cr·2 (np_model_hint_encode). */
        chroma_in_space (c, *g, (gfloat) (0.5 * sum[0] / sum[2]), (gfloat) (0.5 * sum[1] / sum[2]), hint);
        p[0] = hint[0] - pred[0], p[1] = hint[1] - pred[1], p[2] = 1;
      }
  if (!np_domain_transform_spread (planes, guide, NP_MODEL_HINT_SPREAD * MAX (w, h), NP_MODEL_HINT_EDGE, error))
    return FALSE;
  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      {
        const gfloat *p = (const gfloat *) np_image_row (planes, y) + 3 * x;
        gfloat       *out = (gfloat *) np_image_row (ch, y) + 2 * x;

        out[0] += p[0], out[1] += p[1];
      }
  return TRUE;
}

/* Runs the model on a layer whose rows have all been read. */
static gboolean
colour_layer (NpColorizer *c, Layer *l, GError **error)
{
  gboolean           takes_hints = l->hint_sum && np_model_info (c->model)->hints;
  const NpImage     *gray = np_resampler_result (l->gray);
  g_autoptr(NpImage) hints = takes_hints ? layer_hints (l, gray, error) : NULL;
  ColumnTaps         cols;

  if ((takes_hints && hints == NULL) || (l->chroma = model_chroma (c, gray, hints, error)) == NULL
      || (l->hint_sum && !spread_hints (c, l, gray, error)))
    return FALSE;
  g_clear_pointer (&l->gray, np_resampler_free);
  g_clear_pointer (&l->hint_sum, g_free);
  if ((l->wide = np_image_new (NP_SAMPLE_F32, l->width, 2 * l->chroma->height, 1, error)) == NULL)
    return FALSE;
  column_taps_init (&cols, l->chroma->width, l->width);
  for (gint r = 0; r < l->chroma->height; r++)
    sample_columns (&cols, np_image_row (l->chroma, r), np_image_row (l->wide, 2 * r),
                    np_image_row (l->wide, 2 * r + 1));
  column_taps_clear (&cols);
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
  for (gint y = 0; y < c->height; y++)
    for (guint r = 0; r < c->n_reading; r++)
      if (np_resampler_wants_row (c->reading[r], y))
        np_resampler_add_shrunk_row (c->reading[r], y,
                                     (const gfloat *) np_image_row (c->shrunk, y) + c->reading_offset[r]);
  g_clear_pointer (&c->shrunk, np_image_free);
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
  return c->readings == 0 || begin_reading (c, error);
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

/* A layer's chroma on photo row y, columns x .. x + n − 1 (inside the
 * layer's region): its wide rows weighted, into u, v. */
static NP_VECTOR_CLONES void
sample_rows (const Layer *layer, gint x, gint y, gint n, gfloat *restrict u, gfloat *restrict v)
{
  const Taps *t = &layer->rows[y - layer->y];

  for (gint ch = 0; ch < 2; ch++)
    {
      gint          at = x - layer->x;
      const gfloat *r0 = (const gfloat *) np_image_row (layer->wide, 2 * t->idx[0] + ch) + at;
      const gfloat *r1 = (const gfloat *) np_image_row (layer->wide, 2 * t->idx[1] + ch) + at;
      const gfloat *r2 = (const gfloat *) np_image_row (layer->wide, 2 * t->idx[2] + ch) + at;
      const gfloat *r3 = (const gfloat *) np_image_row (layer->wide, 2 * t->idx[3] + ch) + at;
      gfloat       *o = ch == 0 ? u : v;

      for (gint i = 0; i < n; i++)
        o[i] = t->w[0] * r0[i] + t->w[1] * r1[i] + t->w[2] * r2[i] + t->w[3] * r3[i];
    }
}

/* Pixels combined at once, as GCC's generic vector (8 floats fill an AVX2
 * register, two SSE ones): as a plain loop GCC computed the gamut rule's
 * three limits for every pixel, where most of a photo's colour fits. */
#define PX 8
typedef gfloat Px __attribute__ ((vector_size (PX * sizeof (gfloat))));
typedef gint32 PxMask __attribute__ ((vector_size (PX * sizeof (gint32))));

/* n pixels in YCbCr: luma y, the model's chroma u, v times sat, into planes
 * r, g, b; the number whose chroma shrank to fit. Eight pixels whose
 * colour fits take combine_ycbcr's arithmetic with t = 1 (its bits), the
 * others combine_ycbcr itself. */
static NP_VECTOR_CLONES gint
combine_ycbcr_row (const gfloat *restrict y, const gfloat *restrict u, const gfloat *restrict v, gfloat sat,
                   gint n, gfloat *restrict r, gfloat *restrict g, gfloat *restrict b)
{
  const Px zero = { 0 }, one = zero + 1;
  gint     clipped = 0, i = 0;

  for (; i + PX <= n; i += PX)
    {
      Px     yc, cb, cr, d0, d1, d2, s0, s1, s2;
      PxMask over, under, out;
      gint32 any = 0;

      memcpy (&yc, y + i, sizeof yc);
      memcpy (&cb, u + i, sizeof cb);
      memcpy (&cr, v + i, sizeof cr);
      over = yc > one, under = yc < zero;
      /* CLAMP (y, 0, 1), NaN kept, as combine_ycbcr has it. */
      yc = (Px) (((PxMask) yc & ~(over | under)) | ((PxMask) one & over));
      d0 = (sat * cr) * (2.0f * (1.0f - NP_LUMA_R));
      d2 = (sat * cb) * (2.0f * (1.0f - NP_LUMA_B));
      d1 = -(NP_LUMA_R * d0 + NP_LUMA_B * d2) / NP_LUMA_G;
      s0 = yc + d0, s1 = yc + d1, s2 = yc + d2;
      out = (s0 > one) | (s0 < zero) | (s1 > one) | (s1 < zero) | (s2 > one) | (s2 < zero);
      for (gint l = 0; l < PX; l++)
        any |= out[l];
      if (!any)
        {
          memcpy (r + i, &s0, sizeof s0);
          memcpy (g + i, &s1, sizeof s1);
          memcpy (b + i, &s2, sizeof s2);
          continue;
        }
      for (gint k = i; k < i + PX; k++)
        {
          gfloat rgb[3];
          clipped += combine_ycbcr (y[k], sat * u[k], sat * v[k], rgb);
          r[k] = rgb[0], g[k] = rgb[1], b[k] = rgb[2];
        }
    }
  for (; i < n; i++)
    {
      gfloat rgb[3];
      clipped += combine_ycbcr (y[i], sat * u[i], sat * v[i], rgb);
      r[i] = rgb[0], g[i] = rgb[1], b[i] = rgb[2];
    }
  return clipped;
}

/* The same in Lab, pixel by pixel from row j of in: its channels clamped
 * give the linear luminance. */
static gint
combine_lab_row (const NpColorizer *c, const NpImage *in, gint j, const gfloat *u, const gfloat *v, gfloat sat,
                 gfloat *r, gfloat *g, gfloat *b)
{
  const guint8 *bytes = np_image_row (in, j);
  const gfloat *floats = np_image_row (in, j);
  gint          clipped = 0;

  for (gint i = 0; i < in->width; i++)
    {
      gfloat p[3], rgb[3];
      for (int k = 0; k < 3; k++)
        p[k] = in->type == NP_SAMPLE_U8 ? c->unit[bytes[in->channels * i + k]]
                                        : CLAMP (floats[4 * i + k], 0.0f, 1.0f);
      clipped += combine_lab (np_linear_luminance (p[0], p[1], p[2]), sat * u[i], sat * v[i], rgb);
      r[i] = rgb[0], g[i] = rgb[1], b[i] = rgb[2];
    }
  return clipped;
}

/* n pixels of ch bytes (3 or 4, a constant where this is inlined) from
 * planes r, g, b in [0, 1] and alpha a, rounded as babl rounds float to
 * u8. */
static inline void
store_bytes (const gfloat *restrict r, const gfloat *restrict g, const gfloat *restrict b,
             const guint8 *restrict a, gint n, gint ch, guint8 *restrict o)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  if (ch == 4)
    {
      for (gint i = 0; i < n; i++)
        {
          guint32 q = (guint32) (gint) (r[i] * 255.0f + 0.5f) | (guint32) (gint) (g[i] * 255.0f + 0.5f) << 8
                      | (guint32) (gint) (b[i] * 255.0f + 0.5f) << 16 | (guint32) a[i] << 24;
          memcpy (o + 4 * i, &q, 4);
        }
      return;
    }
#endif
  for (gint i = 0; i < n; i++)
    {
      o[ch * i] = (guint8) (gint) (r[i] * 255.0f + 0.5f);
      o[ch * i + 1] = (guint8) (gint) (g[i] * 255.0f + 0.5f);
      o[ch * i + 2] = (guint8) (gint) (b[i] * 255.0f + 0.5f);
      if (ch == 4)
        o[ch * i + 3] = a[i];
    }
}

/* Planes r, g, b in [0, 1] and alpha (out's sample type) into row j of out:
 * floats as they are, bytes rounded. */
static NP_VECTOR_CLONES void
store_row (const gfloat *restrict r, const gfloat *restrict g, const gfloat *restrict b, gconstpointer alpha,
           NpImage *out, gint j)
{
  gint n = out->width;   /* a local: stores of bytes may alias anything */

  if (out->type == NP_SAMPLE_U8 && out->channels == 3)
    store_bytes (r, g, b, alpha, n, 3, np_image_row (out, j));
  else if (out->type == NP_SAMPLE_U8)
    store_bytes (r, g, b, alpha, n, 4, np_image_row (out, j));
  else
    {
      gfloat       *o = np_image_row (out, j);
      const gfloat *a = alpha;
      for (gint i = 0; i < n; i++)
        o[4 * i] = r[i], o[4 * i + 1] = g[i], o[4 * i + 2] = b[i], o[4 * i + 3] = a[i];
    }
}

gint64
np_colorizer_apply (NpColorizer *c, gint x, gint y, const NpImage *in, NpImage *out)
{
  const Layer *whole = c->layers->pdata[0];
  gint         w = in->width;
  gfloat       sat = c->options.saturation;
  gint64       clipped = 0;
  gfloat      *luma, *u, *v, *fu, *fv, *r, *g, *b;
  gpointer     alpha;

  g_return_val_if_fail (c->readings == 0, 0);
  g_return_val_if_fail ((in->type == NP_SAMPLE_F32 && in->channels == 4)
                        || (in->type == NP_SAMPLE_U8 && (in->channels == 3 || in->channels == 4)), 0);
  g_return_val_if_fail (out->type == in->type && out->channels == in->channels && out->width == in->width
                        && out->height == in->height, 0);
  g_return_val_if_fail (x >= 0 && y >= 0 && x + in->width <= c->width && y + in->height <= c->height, 0);

  alpha = g_malloc ((gsize) w * sizeof (gfloat));
  luma = g_new (gfloat, 8 * (gsize) w);
  u = luma + w, v = u + w, fu = v + w, fv = fu + w, r = fv + w, g = r + w, b = g + w;
  for (gint j = 0; j < in->height; j++)
    {
      gint py = y + j;

      row_luma (in, j, luma, alpha);
      sample_rows (whole, x, py, w, u, v);
      /* Faces, in order, each blended over the colour so far. */
      for (guint l = 1; l < c->layers->len; l++)
        {
          const Layer *face = c->layers->pdata[l];
          gint         x0 = MAX (x, face->x), x1 = MIN (x + w, face->x + face->width);
          gfloat       wy;

          if (py < face->y || py >= face->y + face->height || x0 >= x1
              || (wy = feather (py - face->y, face->height)) == 0)
            continue;
          sample_rows (face, x0, py, x1 - x0, fu, fv);
          for (gint i = x0; i < x1; i++)
            {
              gfloat k = wy * feather (i - face->x, face->width);
              u[i - x] += k * (fu[i - x0] - u[i - x]);
              v[i - x] += k * (fv[i - x0] - v[i - x]);
            }
        }
      if (c->options.space == NP_CHROMA_YCBCR)
        clipped += combine_ycbcr_row (luma, u, v, sat, w, r, g, b);
      else
        clipped += combine_lab_row (c, in, j, u, v, sat, r, g, b);
      store_row (r, g, b, alpha, out, j);
    }
  g_free (luma);
  g_free (alpha);
  return clipped;
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
