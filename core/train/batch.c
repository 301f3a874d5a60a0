/* neuropaint — training pairs from a dataset, for any experiment of the
 * table (experiments.c), and the scores they are judged by. Only the
 * experiment's row says what a pair is: how its source is made, which
 * baselines it has, whether it flips.
 *
 * Pixels become x/127.5 − 1, the seed's scaling. A random batch is a pure
 * function of its key: slot j takes item hash(key, j) of the pool, flips it
 * horizontally on one more bit (when the experiment flips), and for noise
 * or a partner draws from further hashes, and so do simulated hints, so
 * the batches of a run depend on its seed and step only. */
#include "np-train.h"
#include "image/np-colour.h"
#include "image/np-resize.h"
#include "util/np-rng.h"

#include <math.h>
#include <string.h>

struct _NpBatcher
{
  NpDataset   *dataset;
  const NpExperiment *e;
  NpModelTarget target;
  GArray      *pool;        /* guint: usable items */
  /* A partner source: the pool sorted by subset, and for each pool entry
   * the range of its subset there. */
  GArray      *by_subset, *subset_first, *subset_count;
  gint         width, height;
  NpImage     *half;        /* a half-size source: the downscaled photo */
  guint8      *small;       /* a shrunk target: the photo shrunk (photo) */
  NpImage     *hint_planes, *hint_guide;   /* a hint source: its hints and gray, to spread */
  gint         hints;       /* np_batcher_items's hints (np_batcher_set_hints) */
};

void
np_batcher_free (NpBatcher *b)
{
  if (b == NULL)
    return;
  g_clear_pointer (&b->pool, g_array_unref);
  g_clear_pointer (&b->by_subset, g_array_unref);
  g_clear_pointer (&b->subset_first, g_array_unref);
  g_clear_pointer (&b->subset_count, g_array_unref);
  np_image_free (b->half);
  g_free (b->small);
  np_image_free (b->hint_planes);
  np_image_free (b->hint_guide);
  g_free (b);
}

static gint
compare_subsets (gconstpointer a, gconstpointer b, gpointer dataset)
{
  guint i = *(const guint *) a, j = *(const guint *) b;
  gint  c = g_strcmp0 (np_dataset_item (dataset, i)->subset, np_dataset_item (dataset, j)->subset);
  return c ? c : (i > j) - (i < j);
}

/* For a partner source: each pool entry's subset as a range of by_subset, and only
 * entries whose subset holds another photo stay in the pool. */
static void
group_subsets (NpBatcher *b)
{
  GArray *pool = g_array_new (FALSE, FALSE, sizeof (guint));

  b->by_subset = g_array_copy (b->pool);
  g_array_sort_with_data (b->by_subset, compare_subsets, b->dataset);
  b->subset_first = g_array_new (FALSE, FALSE, sizeof (guint));
  b->subset_count = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; i < b->by_subset->len;)
    {
      const char *subset = np_dataset_item (b->dataset, g_array_index (b->by_subset, guint, i))->subset;
      guint       end = i;

      while (end < b->by_subset->len
             && g_strcmp0 (np_dataset_item (b->dataset, g_array_index (b->by_subset, guint, end))->subset, subset) == 0)
        end++;
      for (guint k = i; end - i > 1 && k < end; k++)
        {
          guint count = end - i;
          g_array_append_val (pool, g_array_index (b->by_subset, guint, k));
          g_array_append_val (b->subset_first, i);
          g_array_append_val (b->subset_count, count);
        }
      i = end;
    }
  g_array_unref (b->pool);
  b->pool = pool;
}

NpBatcher *
np_batcher_new (NpDataset *dataset, const NpExperiment *e, NpModelTarget target, NpSplit split,
                GError **error)
{
  g_autoptr(NpBatcher) b = g_new0 (NpBatcher, 1);

  b->dataset = dataset;
  b->e = e;
  b->target = target;
  b->width = np_dataset_width (dataset) / MAX (e->shrink, 1);
  b->height = np_dataset_height (dataset) / MAX (e->shrink, 1);
  if (!np_experiment_check_target (e, target, error))
    return NULL;
  if (e->shrink > 1 && (np_dataset_width (dataset) % e->shrink || np_dataset_height (dataset) % e->shrink))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "%s needs sides that are multiples of %d, not %d×%d",
                   e->title, e->shrink, np_dataset_width (dataset), np_dataset_height (dataset));
      return NULL;
    }
  if (e->shrink > 1)
    b->small = g_malloc ((gsize) b->width * b->height * 3);
  if (np_dataset_channels (dataset, "color") != 3 || np_dataset_channels (dataset, e->stack) == 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "the dataset has no “%s” pictures", e->stack);
      return NULL;
    }
  if (e->source == NP_SOURCE_HALF && (b->width % 2 || b->height % 2))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "%s needs even sides, not %d×%d", e->title,
                   b->width, b->height);
      return NULL;
    }
  if (e->source == NP_SOURCE_HALF
      && (b->half = np_image_new (NP_SAMPLE_U8, b->width / 2, b->height / 2, 3, error)) == NULL)
    return NULL;
  if (e->source == NP_SOURCE_HINTS
      && ((b->hint_planes = np_image_new (NP_SAMPLE_F32, b->width, b->height, NP_MODEL_HINT_CHANNELS, error)) == NULL
          || (b->hint_guide = np_image_new (NP_SAMPLE_F32, b->width, b->height, 1, error)) == NULL))
    return NULL;
  b->pool = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; i < np_dataset_size (dataset); i++)
    {
      const NpDatasetItem *item = np_dataset_item (dataset, i);
      if (item->split == split && !item->is_gray)
        g_array_append_val (b->pool, i);
    }
  if (e->source == NP_SOURCE_PARTNER)
    group_subsets (b);
  if (b->pool->len == 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "the dataset has no colour photos in its %s split%s", split == NP_SPLIT_TRAIN ? "training" : "validation",
                   e->source == NP_SOURCE_PARTNER ? " with another photo of the same subset" : "");
      return NULL;
    }
  return g_steal_pointer (&b);
}

guint
np_batcher_size (const NpBatcher *b)
{
  return b->pool->len;
}

/* The stack's channels: a hint source's hint channels follow them. */
static gint
stack_channels (const NpBatcher *b)
{
  return np_dataset_channels (b->dataset, b->e->stack);
}

static gint
source_channels (const NpBatcher *b)
{
  if (b->e->source == NP_SOURCE_NOISE)
    return 3;
  if (b->e->source == NP_SOURCE_LATENT)
    return NP_TRAIN_LATENT;
  return stack_channels (b) + (b->e->source == NP_SOURCE_HINTS ? NP_MODEL_HINT_CHANNELS : 0);
}

void
np_batcher_set_hints (NpBatcher *b, gint count)
{
  b->hints = MAX (count, 0);
}

void
np_batcher_shapes (const NpBatcher *b, gint n, gint64 source_ne[4], gint64 target_ne[4])
{
  gint scale = b->e->source == NP_SOURCE_HALF ? 2 : 1;

  source_ne[0] = b->width / scale, source_ne[1] = b->height / scale;
  if (b->e->source == NP_SOURCE_LATENT)
    source_ne[0] = source_ne[1] = 1;
  source_ne[2] = source_channels (b), source_ne[3] = n;
  target_ne[0] = b->width, target_ne[1] = b->height;
  target_ne[2] = np_model_target_values (b->target), target_ne[3] = n;
}

/* Copies an H×W×C u8 picture into slot n of an NCHW tensor as x/127.5 − 1,
 * mirrored when flip. */
static void
put_u8 (const guint8 *pixels, gint w, gint h, gint c, gboolean flip, NpTensor *t, gint64 n)
{
  for (gint k = 0; k < c; k++)
    for (gint y = 0; y < h; y++)
      {
        gfloat       *row = np_tensor_at (t, 0, y, k, n);
        const guint8 *src = pixels + ((gsize) y * w) * c + k;
        for (gint x = 0; x < w; x++)
          row[flip ? w - 1 - x : x] = src[(gsize) x * c] / 127.5f - 1.0f;
      }
}

/* A half-size source's image n, bicubic ×2 back to full size and clamped
 * to [0, 1]: its input baseline, and what a residual target adds to. */
static NpImage *
upscale (const NpTensor *source, gint64 n)
{
  gint64 sw = source->ne[0], sh = source->ne[1];
  g_autoptr(NpImage) small = np_image_new (NP_SAMPLE_F32, (gint) sw, (gint) sh, 3, NULL);
  NpImage *big = np_image_new (NP_SAMPLE_F32, (gint) (2 * sw), (gint) (2 * sh), 3, NULL);

  for (gint64 y = 0; y < sh; y++)
    for (gint64 x = 0; x < sw; x++)
      for (gint k = 0; k < 3; k++)
        ((gfloat *) np_image_row (small, (gint) y))[x * 3 + k] = (*np_tensor_at (source, x, y, k, n) + 1) * 0.5f;
  np_resize_cubic (small, big);
  for (gint64 y = 0; y < 2 * sh; y++)
    {
      gfloat *row = np_image_row (big, (gint) y);
      for (gint64 i = 0; i < 2 * sw * 3; i++)
        row[i] = CLAMP (row[i], 0.0f, 1.0f);
    }
  return big;
}

static inline gfloat
upscaled (const NpImage *up, gint64 x, gint64 y, gint k)
{
  return ((const gfloat *) np_image_row (up, (gint) y))[x * 3 + k];
}

/* out (width × height, 3 channels) from px (rows fw pixels long), each
 * pixel the exact mean of its f × f block: OpenCV's INTER_AREA at an
 * integer factor. */
static void
shrink_block_mean (const guint8 *px, gint fw, gint f, gint width, gint height, guint8 *out)
{
  for (gint y = 0; y < height; y++)
    for (gint x = 0; x < width; x++)
      for (gint k = 0; k < 3; k++)
        {
          guint sum = 0;
          for (gint j = 0; j < f; j++)
            for (gint i = 0; i < f; i++)
              sum += px[((gsize) (y * f + j) * fw + x * f + i) * 3 + k];
          out[((gsize) y * width + x) * 3 + k] = (guint8) ((sum + f * f / 2) / (f * f));
        }
}

/* The colour photo of an item at the batcher's size: the dataset's, or
 * shrunk into b->small (valid until the next call) by block means. */
static const guint8 *
photo (const NpBatcher *b, guint item)
{
  const guint8 *px = np_dataset_pixels (b->dataset, "color", item);

  if (b->e->shrink <= 1)
    return px;
  shrink_block_mean (px, np_dataset_width (b->dataset), b->e->shrink, b->width, b->height, b->small);
  return b->small;
}

/* The colour photo (w × h) halved into half by one of three rules, chosen by
 * kernel (any number): OpenCV's plain bicubic resize, which samples without
 * smoothing and so keeps aliases; the mean of 2 × 2 blocks; or Pillow's
 * antialiased bilinear, a triangle over 4 × 4 pixels, softer still. Photos
 * a user enlarges were made smaller in all these ways (a plain resize, an
 * editor's, a camera's blur), so a net that sees only one learns to undo
 * only that one: trained on the aliased rule alone, sr2x sharpened nothing
 * (docs/models.md). */
static void
halve (const guint8 *colour, gint w, gint h, guint64 kernel, NpImage *half)
{
  NpImage full = np_image_view (NP_SAMPLE_U8, w, h, 3, (gpointer) colour, (gsize) w * 3);

  switch (kernel % 3)
    {
    case 0:
      np_resize_cubic (&full, half);
      break;
    case 1:
      shrink_block_mean (colour, w, 2, w / 2, h / 2, half->data);
      break;
    default:
      {
        g_autoptr(NpResampler) r = np_resampler_new (0, 0, w, h, w / 2, h / 2, 3, NULL);
        g_autofree gfloat *row = g_new (gfloat, (gsize) w * 3);
        const NpImage *small;

        for (gint y = 0; y < h; y++)
          {
            for (gint i = 0; i < w * 3; i++)
              row[i] = colour[(gsize) y * w * 3 + i];
            np_resampler_add_row (r, y, row);
          }
        small = np_resampler_result (r);
        for (gint y = 0; y < h / 2; y++)
          for (gint i = 0; i < w / 2 * 3; i++)
            ((guint8 *) np_image_row (half, y))[i]
              = (guint8) CLAMP (lrintf (((const gfloat *) np_image_row (small, y))[i]), 0, 255);
      }
    }
}

/* Hints into slot n's hint channels of source, from the photo colour
 * (mirrored when flip, as the slot is): count of them of side `side`, or
 * for count < 0 the simulation's random count and sides
 * (NP_BATCHER_NO_HINTS), all drawn from key; then spread along the slot's
 * gray channel, as the colouriser spreads a user's (np_model_hints_spread). */
static void
put_hints (NpBatcher *b, const guint8 *colour, gboolean flip, gint count, gint side, guint64 key,
           NpTensor *source, gint64 n)
{
  gint     w = b->width, h = b->height, first = stack_channels (b);
  NpImage *planes = b->hint_planes, *guide = b->hint_guide;
  NpRng    rng;

  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      {
        np_model_hint_encode (NULL, (gfloat *) np_image_row (planes, y) + NP_MODEL_HINT_CHANNELS * x);
        /* The gray channel is on the seed's scale; the spreading's edges are
         * luma steps on 0–1. */
        ((gfloat *) np_image_row (guide, y))[x] = (*np_tensor_at (source, x, y, 0, n) + 1) / 2;
      }

  np_rng_init (&rng, key);
  if (count < 0)
    {
      count = 0;
      if (np_rng_uniform (&rng) >= NP_BATCHER_NO_HINTS)
        /* Geometric: another hint while a draw falls above p; at most one
         * a pixel, so it ends whatever the numbers. */
        while (count < w * h && np_rng_uniform (&rng) >= NP_BATCHER_HINT_P)
          count++;
    }
  for (gint i = 0; i < count; i++)
    {
      gint    s = side > 0 ? side : 1 + (gint) (np_rng_next (&rng) % NP_BATCHER_HINT_MAX);
      gint    x0, y0;
      gdouble sum[3] = { 0 };
      gfloat  mean[3];

      s = MIN (s, MIN (w, h));
      x0 = (gint) (np_rng_next (&rng) % (guint64) (w - s + 1));
      y0 = (gint) (np_rng_next (&rng) % (guint64) (h - s + 1));
      /* The patch's mean colour: its mean chroma, chroma being linear in
       * R'G'B'. */
      for (gint y = y0; y < y0 + s; y++)
        for (gint x = x0; x < x0 + s; x++)
          for (gint k = 0; k < 3; k++)
            sum[k] += colour[((gsize) y * w + (flip ? w - 1 - x : x)) * 3 + k];
      for (gint k = 0; k < 3; k++)
        mean[k] = (gfloat) (sum[k] / (255.0 * s * s));
      for (gint y = y0; y < y0 + s; y++)
        for (gint x = x0; x < x0 + s; x++)
          np_model_hint_encode (mean, (gfloat *) np_image_row (planes, y) + NP_MODEL_HINT_CHANNELS * x);
    }

  /* Only its one picture of the crop's size can fail to be allocated; a
   * crop's worth of memory gone, as when g_malloc fails, is fatal. */
  {
    g_autoptr(GError) error = NULL;
    if (!np_model_hints_spread (planes, guide, &error))
      g_error ("spreading the hints: %s", error->message);
  }
  for (gint k = 0; k < NP_MODEL_HINT_CHANNELS; k++)
    for (gint y = 0; y < h; y++)
      {
        gfloat       *row = np_tensor_at (source, 0, y, first + k, n);
        const gfloat *v = np_image_row (planes, y);
        for (gint x = 0; x < w; x++)
          row[x] = v[NP_MODEL_HINT_CHANNELS * x + k];
      }
}

/* One slot: item (and partner, for a partner source) with flip; hints
 * (a hint source) as put_hints draws them from hint_key. */
static void
fill_slot (NpBatcher *b, guint item, guint partner, gboolean flip, guint64 noise_key, gint hints,
           guint64 hint_key, NpTensor *source, NpTensor *target, gint64 n)
{
  gint          w = b->width, h = b->height;
  const guint8 *colour = photo (b, item);
  g_autoptr(NpImage) up = NULL;

  switch (b->e->source)
    {
    case NP_SOURCE_NOISE:
    case NP_SOURCE_LATENT:
      np_tensor_fill_normal (source, n, noise_key);
      break;
    case NP_SOURCE_PARTNER:
      put_u8 (np_dataset_pixels (b->dataset, "color", partner), w, h, 3, flip, source, n);
      break;
    case NP_SOURCE_HALF:
      halve (colour, w, h, noise_key, b->half);
      put_u8 (b->half->data, w / 2, h / 2, 3, flip, source, n);
      break;
    case NP_SOURCE_STACK:
    case NP_SOURCE_HINTS:
      put_u8 (np_dataset_pixels (b->dataset, b->e->stack, item), w, h, stack_channels (b), flip, source, n);
      if (b->e->source == NP_SOURCE_HINTS)
        put_hints (b, colour, flip, hints, hints < 0 ? 0 : NP_BATCHER_VAL_HINT, hint_key, source, n);
      break;
    }

  /* The target, from the photo (mirrored with the source) and, for a
   * residual, the source's upscale. */
  up = b->target == NP_MODEL_TARGET_RESIDUAL ? upscale (source, n) : NULL;
  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      {
        gfloat base[3] = { 0 }, values[3];
        for (gint k = 0; up && k < 3; k++)
          base[k] = upscaled (up, x, y, k);
        np_model_target_encode (b->target, colour + ((gsize) y * w + (flip ? w - 1 - x : x)) * 3, base, values);
        for (gint k = 0; k < target->ne[2]; k++)
          *np_tensor_at (target, x, y, k, n) = values[k];
      }
}

void
np_batcher_random (NpBatcher *b, guint64 key, gint64 first, NpTensor *source, NpTensor *target)
{
  for (gint64 n = 0; n < source->ne[3]; n++)
    {
      guint64 h = np_rng_hash (key ^ np_rng_hash ((guint64) (first + n)));
      guint   slot = (guint) (np_rng_hash (h) % b->pool->len);
      guint   item = g_array_index (b->pool, guint, slot), partner = item;

      if (b->e->source == NP_SOURCE_PARTNER)
        {
          /* Another photo of the subset: skip the item's own place. */
          guint start = g_array_index (b->subset_first, guint, slot);
          guint count = g_array_index (b->subset_count, guint, slot);
          guint k = (guint) (np_rng_hash (h ^ 2) % (count - 1));
          partner = g_array_index (b->by_subset, guint, start + k);
          if (partner == item)
            partner = g_array_index (b->by_subset, guint, start + count - 1);
        }
      fill_slot (b, item, partner, b->e->flip && (np_rng_hash (h ^ 1) & 1), np_rng_hash (h ^ 3), -1,
                 np_rng_hash (h ^ 4), source, target, n);
    }
}

void
np_batcher_items (NpBatcher *b, guint first, guint64 key, NpTensor *source, NpTensor *target)
{
  for (gint64 n = 0; n < source->ne[3]; n++)
    {
      guint slot = (first + (guint) n) % b->pool->len;
      guint item = g_array_index (b->pool, guint, slot), partner = item;

      if (b->e->source == NP_SOURCE_PARTNER)
        {
          /* The next photo of the same subset. */
          guint start = g_array_index (b->subset_first, guint, slot);
          guint count = g_array_index (b->subset_count, guint, slot);
          for (guint k = 0; k < count; k++)
            if (g_array_index (b->by_subset, guint, start + k) == item)
              partner = g_array_index (b->by_subset, guint, start + (k + 1) % count);
        }
      /* Hints fixed for the photo and their count, whatever the batch. */
      fill_slot (b, item, partner, FALSE, np_rng_hash (key ^ np_rng_hash (first + (guint64) n)), b->hints,
                 np_rng_hash (np_rng_hash (item) ^ (guint64) b->hints), source, target, n);
    }
}

void
np_batcher_photos (const NpBatcher *b, guint first, NpTensor *rgb)
{
  gint w = b->width, h = b->height;

  for (gint64 n = 0; n < rgb->ne[3]; n++)
    {
      const guint8 *px = photo (b, g_array_index (b->pool, guint, (first + (guint) n) % b->pool->len));
      for (gint k = 0; k < 3; k++)
        for (gint y = 0; y < h; y++)
          {
            gfloat *row = np_tensor_at (rgb, 0, y, k, n);
            for (gint x = 0; x < w; x++)
              row[x] = px[((gsize) y * w + x) * 3 + k] / 255.0f;
          }
    }
}

/* Pixel (x, y) of image n of the picture a target's values (c of them)
 * stand for, into rgb: np_model_target_decode on the source's luminance
 * (chroma) or its upscale up (residual). */
static void
decode_at (NpModelTarget target, const gfloat *values, gint c, const NpTensor *source, const NpImage *up,
           gint64 x, gint64 y, NpTensor *rgb, gint64 n)
{
  gfloat luma = 0, base[3] = { 0 }, px[3];

  if (np_model_target_is_chroma (target))
    luma = (*np_tensor_at (source, x, y, 0, n) + 1) * 0.5f;
  for (gint k = 0; up && k < 3; k++)
    base[k] = upscaled (up, x, y, k);
  np_model_target_decode (target, values, c, luma, base, px);
  for (gint k = 0; k < 3; k++)
    *np_tensor_at (rgb, x, y, k, n) = px[k];
}

/* The values image n of outputs t stands for (np_model_target_reduce),
 * at the picture's size: a smaller output's (a chroma-bins target's, at half
 * the size) scaled up bicubically, as a colouriser scales its colour up to
 * the photo. */
static NpImage *
values_of (NpModelTarget target, const NpChromaBins *bins, const NpTensor *t, gint64 n, gint64 w, gint64 h)
{
  gint  c = target == NP_MODEL_TARGET_CHROMA_BINS ? (gint) t->ne[2] : (gint) MIN (t->ne[2], 3);
  g_autoptr(NpImage) small = np_image_new (NP_SAMPLE_F32, (gint) t->ne[0], (gint) t->ne[1], 3, NULL);
  /* A row's outputs pixel by pixel: a pixel's ~150 logits lie a plane
   * apart each, a page each. */
  g_autofree gfloat *pixels = g_new (gfloat, c * t->ne[0]);
  NpImage *full;

  for (gint64 y = 0; y < t->ne[1]; y++)
    {
      for (gint k = 0; k < c; k++)
        for (gint64 x = 0; x < t->ne[0]; x++)
          pixels[x * c + k] = *np_tensor_at (t, x, y, k, n);
      for (gint64 x = 0; x < t->ne[0]; x++)
        np_model_target_reduce (target, bins, pixels + x * c, c, 1, (gfloat *) np_image_row (small, (gint) y) + 3 * x);
    }
  if (t->ne[0] == w && t->ne[1] == h)
    return g_steal_pointer (&small);
  full = np_image_new (NP_SAMPLE_F32, (gint) w, (gint) h, 3, NULL);
  np_resize_cubic (small, full);
  return full;
}

/* Image n of the picture outputs t stand for as target (bins: a
 * chroma-bins target's). */
static void
decode (NpModelTarget target, const NpChromaBins *bins, const NpTensor *source, const NpTensor *t, NpTensor *rgb,
        gint64 n)
{
  g_autoptr(NpImage) up = target == NP_MODEL_TARGET_RESIDUAL ? upscale (source, n) : NULL;
  g_autoptr(NpImage) values = values_of (target, bins, t, n, rgb->ne[0], rgb->ne[1]);

  for (gint64 y = 0; y < rgb->ne[1]; y++)
    for (gint64 x = 0; x < rgb->ne[0]; x++)
      decode_at (target, (const gfloat *) np_image_row (values, (gint) y) + 3 * x, np_model_target_values (target),
                 source, up, x, y, rgb, n);
}

void
np_batcher_compose (const NpBatcher *b, const NpTensor *source, const NpTensor *output, const NpChromaBins *bins,
                    NpTensor *rgb)
{
  for (gint64 n = 0; n < rgb->ne[3]; n++)
    decode (b->target, bins, source, output, rgb, n);
}

NpChromaBins *
np_batcher_chroma_bins (const NpBatcher *b, GError **error)
{
  const gint          half = 128 / NP_CHROMA_BIN_STEP;
  g_autofree guint64 *counts = g_new0 (guint64, NP_CHROMA_BIN_GRID * NP_CHROMA_BIN_GRID);
  gsize               pixels = (gsize) b->width * b->height;
  NpChromaBins       *bins;

  /* Integer counts: the same whatever the order. */
  for (guint i = 0; i < b->pool->len; i++)
    {
      const guint8 *px = np_dataset_pixels (b->dataset, "color", g_array_index (b->pool, guint, i));
      for (gsize p = 0; p < pixels; p++)
        {
          gfloat values[2];
          gint   cb, cr;

          np_model_target_encode (NP_MODEL_TARGET_CHROMA_BINS, px + 3 * p, NULL, values);
          /* values are Cb·2 and Cr·2: the grid point nearest 255·Cb. */
          cb = (gint) lrintf (values[0] * 127.5f / NP_CHROMA_BIN_STEP);
          cr = (gint) lrintf (values[1] * 127.5f / NP_CHROMA_BIN_STEP);
          counts[(CLAMP (cb, -half, half) + half) * NP_CHROMA_BIN_GRID + CLAMP (cr, -half, half) + half]++;
        }
    }
  if ((bins = np_chroma_bins_from_counts (counts)) == NULL)
    g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "no photos to find chroma bins in");
  return bins;
}

gboolean
np_batcher_baseline_input (const NpBatcher *b, const NpTensor *source, NpTensor *rgb)
{
  if (b->e->input_baseline == NULL)
    return FALSE;
  np_batcher_source_picture (b, source, rgb);
  return TRUE;
}

/* A hint source's image n as a picture: the spread hints' chroma on the
 * gray's luminance (gray where no hint reaches). */
static void
show_hints (const NpBatcher *b, const NpTensor *source, NpTensor *rgb, gint64 n)
{
  gint first = stack_channels (b);

  for (gint64 y = 0; y < rgb->ne[1]; y++)
    for (gint64 x = 0; x < rgb->ne[0]; x++)
      {
        gfloat values[2] = { *np_tensor_at (source, x, y, first, n), *np_tensor_at (source, x, y, first + 1, n) };
        decode_at (NP_MODEL_TARGET_CHROMA, values, 2, source, NULL, x, y, rgb, n);
      }
}

/* A latent source's image n as a picture: its values as gray cells, 8
 * across, (z + 1)/2 clamped, the cells stretched over the picture. */
static void
show_latent (const NpTensor *source, NpTensor *rgb, gint64 n)
{
  gint64 c = source->ne[2], rows = (c + 7) / 8;

  for (gint64 y = 0; y < rgb->ne[1]; y++)
    for (gint64 x = 0; x < rgb->ne[0]; x++)
      {
        gint64 i = (y * rows / rgb->ne[1]) * 8 + x * 8 / rgb->ne[0];
        gfloat v = i < c ? CLAMP ((*np_tensor_at (source, 0, 0, i, n) + 1) * 0.5f, 0.0f, 1.0f) : 0.5f;
        for (gint k = 0; k < 3; k++)
          *np_tensor_at (rgb, x, y, k, n) = v;
      }
}

void
np_batcher_source_picture (const NpBatcher *b, const NpTensor *source, NpTensor *rgb)
{
  for (gint64 n = 0; n < rgb->ne[3]; n++)
    {
      if (b->e->source == NP_SOURCE_HALF)
        {
          g_autoptr(NpImage) up = upscale (source, n);
          for (gint k = 0; k < 3; k++)
            for (gint64 y = 0; y < rgb->ne[1]; y++)
              for (gint64 x = 0; x < rgb->ne[0]; x++)
                *np_tensor_at (rgb, x, y, k, n) = upscaled (up, x, y, k);
        }
      else if (b->e->source == NP_SOURCE_HINTS)
        show_hints (b, source, rgb, n);
      else if (b->e->source == NP_SOURCE_LATENT)
        show_latent (source, rgb, n);
      else
        decode (NP_MODEL_TARGET_RGB, NULL, source, source, rgb, n);
    }
}

void
np_batcher_baseline_mean (const NpBatcher *b, const NpBatcher *mean_of, const NpTensor *source, NpTensor *rgb)
{
  gint64 w = b->width, h = b->height, plane = w * h;
  gboolean chroma = b->e->mean_chroma;
  g_autofree gfloat *mean = g_new0 (gfloat, plane * (chroma ? 2 : 3));
  g_autofree double *sum = g_new0 (double, plane * 3);

  /* Per pixel, over mean_of's photos: the mean colour, or the mean chroma
   * (as a chroma target encodes it). */
  for (guint i = 0; i < mean_of->pool->len; i++)
    {
      const guint8 *px = photo (mean_of, g_array_index (mean_of->pool, guint, i));
      for (gint64 p = 0; p < plane; p++)
        {
          gfloat values[2];
          if (!chroma)
            {
              for (gint k = 0; k < 3; k++)
                sum[p * 3 + k] += px[p * 3 + k] / 255.0;
              continue;
            }
          np_model_target_encode (NP_MODEL_TARGET_CHROMA, px + p * 3, NULL, values);
          sum[p * 3] += values[0], sum[p * 3 + 1] += values[1];
        }
    }
  for (gint64 p = 0; p < plane; p++)
    for (gint k = 0; k < (chroma ? 2 : 3); k++)
      mean[p * (chroma ? 2 : 3) + k] = (gfloat) (sum[p * 3 + k] / mean_of->pool->len);

  for (gint64 n = 0; n < rgb->ne[3]; n++)
    if (chroma)
      for (gint64 y = 0; y < h; y++)
        for (gint64 x = 0; x < w; x++)
          decode_at (NP_MODEL_TARGET_CHROMA, mean + (y * w + x) * 2, 2, source, NULL, x, y, rgb, n);
    else
      for (gint k = 0; k < 3; k++)
        for (gint64 p = 0; p < plane; p++)
          np_tensor_at (rgb, 0, 0, k, n)[p] = mean[p * 3 + k];
}

/* The colourfulness of image n of an R'G'B' tensor in [0, 1]. */
static double
colourfulness (const NpTensor *t, gint64 n, gfloat *rg, gfloat *yb)
{
  gint64        plane = t->ne[0] * t->ne[1];
  const gfloat *r = np_tensor_at (t, 0, 0, 0, n), *g = np_tensor_at (t, 0, 0, 1, n), *b = np_tensor_at (t, 0, 0, 2, n);

  for (gint64 i = 0; i < plane; i++)
    rg[i] = 255 * (r[i] - g[i]), yb[i] = 255 * ((r[i] + g[i]) / 2 - b[i]);
  return np_colourfulness (rg, yb, plane, NULL, NULL);
}

void
np_score_add (NpScore *score, const NpTensor *a, const NpTensor *b)
{
  gint64             per = a->ne[0] * a->ne[1] * a->ne[2];
  g_autofree gfloat *rg = g_new (gfloat, a->ne[0] * a->ne[1]), *yb = g_new (gfloat, a->ne[0] * a->ne[1]);

  for (gint64 n = 0; n < a->ne[3]; n++)
    {
      const gfloat *x = np_tensor_at (a, 0, 0, 0, n), *y = np_tensor_at (b, 0, 0, 0, n);
      double        abs_sum = 0, sq = 0;
      for (gint64 i = 0; i < per; i++)
        {
          double d = (double) x[i] - y[i];
          abs_sum += fabs (d);
          sq += d * d;
        }
      score->abs_sum += abs_sum;
      score->values += per;
      /* Identical pictures count as 100 dB, not infinity. */
      score->psnr_sum += sq > 0 ? MIN (100, 10 * log10 (per / sq)) : 100;
      if (a->ne[2] == 3)
        score->colour_sum += colourfulness (a, n, rg, yb), score->photo_colour_sum += colourfulness (b, n, rg, yb);
      score->pictures++;
    }
}

gdouble
np_score_l1 (const NpScore *score)
{
  return score->values ? 255 * score->abs_sum / score->values : 0;
}

gdouble
np_score_psnr (const NpScore *score)
{
  return score->pictures ? score->psnr_sum / score->pictures : 0;
}

gdouble
np_score_colourfulness (const NpScore *score)
{
  return score->pictures ? score->colour_sum / score->pictures : 0;
}

gdouble
np_score_photo_colourfulness (const NpScore *score)
{
  return score->pictures ? score->photo_colour_sum / score->pictures : 0;
}
