/* neuropaint — the seed's filters by name, with their parameters as string
 * key/values: the one table the generator (a model's "input_filter") and the
 * dataset builder (`neuropaint prepare`) both read, so a model's training
 * inputs and its inputs at inference come from the same code.
 *
 * Every filter is defined on 8-bit R'G'B'A (the seed computed them with
 * OpenCV on 8-bit photos; "c > t" must mean what it meant there). Gray alone
 * is also defined on float, as the gray op computes it, so 16-bit and float
 * pictures lose nothing on their way into a gray model. */
#include "np-filters.h"

#include <string.h>

/* A filter's parameters, parsed. */
typedef struct
{
  guint8 threshold;                                /* input_threshold */
  guint8 thresholds[NP_CONTOURS_MAX_THRESHOLDS];   /* input_thresholds */
  gsize  n_thresholds;
} Settings;

#define MAX_PARAMS 2

struct _NpFilter
{
  const char   *name;
  const char   *alias;       /* another name it answers to, or NULL */
  gint          channels;    /* of np_filter_apply's result */
  NpFilterParam params[MAX_PARAMS + 1];   /* ended by key NULL */
  /* Parses params (the filter's keys, given or default) into s. */
  gboolean    (*configure) (const NpFilter *filter, GHashTable *params, Settings *s,
                            GError **error);
  /* u8 RGBA in, u8 RGBA out (distinct, same size): the result in R, G, B
   * (a one-channel result in all three); out's alpha is left alone. */
  gboolean    (*run_u8)    (const Settings *s, const NpImage *in, NpImage *out,
                            gint n_threads, GError **error);
  /* R'G'B'A float in place, for a filter defined on any depth; NULL: the
   * picture is quantised to 8 bits and run_u8 applies. */
  void        (*run_f32)   (NpImage *rgba);
};

/* The value of the filter's parameter i: given, or its default. */
static const char *
param_text (const NpFilter *filter, GHashTable *params, gint i)
{
  const char *given = params ? g_hash_table_lookup (params, filter->params[i].key) : NULL;
  return given ? given : filter->params[i].default_value;
}

/* Parameter 0 is a threshold from 0 to 255. */
static gboolean
configure_threshold (const NpFilter *filter, GHashTable *params, Settings *s, GError **error)
{
  const char *text = param_text (filter, params, 0);
  guint64     t;

  if (!g_ascii_string_to_unsigned (text, 10, 0, 255, &t, NULL))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "%s: %s “%s” is not an integer from 0 to 255",
                   filter->name, filter->params[0].key, text);
      return FALSE;
    }
  s->threshold = (guint8) t;
  return TRUE;
}

/* Parameter 0 is a threshold list ("50,100,150,200"). */
static gboolean
configure_thresholds (const NpFilter *filter, GHashTable *params, Settings *s, GError **error)
{
  g_autoptr(GError) parse_error = NULL;

  s->n_thresholds = np_contours_parse_thresholds (param_text (filter, params, 0), s->thresholds,
                                                  &parse_error);
  if (s->n_thresholds == 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "%s: %s: %s",
                   filter->name, filter->params[0].key, parse_error->message);
      return FALSE;
    }
  return TRUE;
}

/* As the gray op: the float luma of the 8-bit values, rounded to 8 bits. */
static gboolean
run_gray_u8 (const Settings *s, const NpImage *in, NpImage *out, gint n_threads, GError **error)
{
  g_autofree gfloat *row = g_new (gfloat, (gsize) in->width * 4);

  for (gint y = 0; y < in->height; y++)
    {
      const guint8 *src = np_image_row (in, y);
      guint8       *dst = np_image_row (out, y);

      for (gint i = 0; i < in->width * 4; i++)
        row[i] = src[i] / 255.0f;
      np_gray_rgba_f32 (row, row, in->width);
      for (gint x = 0; x < in->width; x++)
        dst[4 * x] = dst[4 * x + 1] = dst[4 * x + 2] =
          (guint8) (CLAMP (row[4 * x], 0.0f, 1.0f) * 255.0f + 0.5f);
    }
  return TRUE;
}

static void
run_gray_f32 (NpImage *rgba)
{
  for (gint y = 0; y < rgba->height; y++)
    np_gray_rgba_f32 (np_image_row (rgba, y), np_image_row (rgba, y), rgba->width);
}

static gboolean
run_binary_u8 (const Settings *s, const NpImage *in, NpImage *out, gint n_threads, GError **error)
{
  for (gint y = 0; y < in->height; y++)
    np_rgb_threshold_rgba_u8 (np_image_row (in, y), np_image_row (out, y), in->width, s->threshold);
  return TRUE;
}

static gboolean
run_contours_u8 (const Settings *s, const NpImage *in, NpImage *out, gint n_threads, GError **error)
{
  np_contours (in, out, s->thresholds, s->n_thresholds, n_threads);
  return TRUE;
}

/* The seed's variant: per channel (c > t) · t, then Canny (140, 255), L1. */
static gboolean
run_canny_u8 (const Settings *s, const NpImage *in, NpImage *out, gint n_threads, GError **error)
{
  NpCannyParams seed = {
    .low = 140, .high = 255, .gradient = NP_CANNY_GRADIENT_L1,
    .mode = NP_CANNY_PER_CHANNEL, .pre_threshold = s->threshold,
  };
  return np_canny (in, out, &seed, n_threads, error);
}

static const NpFilter filters[] = {
  { "gray", NULL, 1, { { NULL } }, NULL, run_gray_u8, run_gray_f32 },
  { "binary", "rgb-threshold", 3,
    { { "input_threshold", "200", "per channel, (c > t) · t" }, { NULL } },
    configure_threshold, run_binary_u8, NULL },
  { "contours", NULL, 3,
    { { "input_thresholds", "50,100,150,200", "one contour pass per channel and threshold, in order" },
      { NULL } },
    configure_thresholds, run_contours_u8, NULL },
  { "canny", NULL, 3,
    { { "input_threshold", "200", "per channel, (c > t) · t before Canny (140, 255)" }, { NULL } },
    configure_threshold, run_canny_u8, NULL },
};

static const NpFilter *const filter_list[] = { &filters[0], &filters[1], &filters[2], &filters[3], NULL };
G_STATIC_ASSERT (G_N_ELEMENTS (filter_list) == G_N_ELEMENTS (filters) + 1);

const NpFilter *
np_filter_find (const char *name)
{
  for (gsize i = 0; name && i < G_N_ELEMENTS (filters); i++)
    if (strcmp (filters[i].name, name) == 0 || g_strcmp0 (filters[i].alias, name) == 0)
      return &filters[i];
  return NULL;
}

const NpFilter *const *
np_filter_list (void)
{
  return filter_list;
}

const char *
np_filter_name (const NpFilter *filter)
{
  return filter->name;
}

gint
np_filter_channels (const NpFilter *filter)
{
  return filter->channels;
}

const NpFilterParam *
np_filter_params (const NpFilter *filter)
{
  return filter->params;
}

gboolean
np_filter_check (const NpFilter *filter, GHashTable *params, GError **error)
{
  Settings s = { 0 };

  return filter->configure == NULL || filter->configure (filter, params, &s, error);
}

gboolean
np_filter_apply (const NpFilter *filter, GHashTable *params, const NpImage *in, NpImage *out,
                 gint n_threads, GError **error)
{
  g_autoptr(NpImage) rgba = NULL, result = NULL;
  const NpImage     *src = in;
  Settings           s = { 0 };

  g_return_val_if_fail (filter != NULL && in != NULL && out != NULL, FALSE);
  g_return_val_if_fail (in->type == NP_SAMPLE_U8 && (in->channels == 3 || in->channels == 4), FALSE);
  g_return_val_if_fail (out->type == NP_SAMPLE_U8 && out->channels == filter->channels, FALSE);
  g_return_val_if_fail (out->width == in->width && out->height == in->height, FALSE);

  if (filter->configure && !filter->configure (filter, params, &s, error))
    return FALSE;
  if (!(result = np_image_new (NP_SAMPLE_U8, in->width, in->height, 4, error)))
    return FALSE;
  if (in->channels == 3)
    {
      if (!(rgba = np_image_new (NP_SAMPLE_U8, in->width, in->height, 4, error)))
        return FALSE;
      for (gint y = 0; y < in->height; y++)
        {
          const guint8 *p = np_image_row (in, y);
          guint8       *q = np_image_row (rgba, y);
          for (gint x = 0; x < in->width; x++, p += 3, q += 4)
            q[0] = p[0], q[1] = p[1], q[2] = p[2], q[3] = 255;
        }
      src = rgba;
    }
  if (!filter->run_u8 (&s, src, result, n_threads, error))
    return FALSE;

  for (gint y = 0; y < in->height; y++)
    {
      const guint8 *p = np_image_row (result, y);
      guint8       *q = np_image_row (out, y);
      for (gint x = 0; x < in->width; x++, p += 4, q += filter->channels)
        memcpy (q, p, filter->channels);
    }
  return TRUE;
}

gboolean
np_filter_apply_rgba_f32 (const NpFilter *filter, GHashTable *params, NpImage *rgba,
                          gint n_threads, GError **error)
{
  g_autoptr(NpImage) bytes = NULL, result = NULL;
  gint     w = rgba->width, h = rgba->height;
  Settings s = { 0 };

  g_return_val_if_fail (filter != NULL && rgba != NULL, FALSE);
  g_return_val_if_fail (rgba->type == NP_SAMPLE_F32 && rgba->channels == 4, FALSE);

  if (filter->configure && !filter->configure (filter, params, &s, error))
    return FALSE;
  if (filter->run_f32)
    {
      filter->run_f32 (rgba);
      return TRUE;
    }

  if (!(bytes = np_image_new (NP_SAMPLE_U8, w, h, 4, error))
      || !(result = np_image_new (NP_SAMPLE_U8, w, h, 4, error)))
    return FALSE;
  for (gint y = 0; y < h; y++)
    {
      const gfloat *px = np_image_row (rgba, y);
      guint8       *row = np_image_row (bytes, y);
      for (gint i = 0; i < w * 4; i++)
        row[i] = (guint8) (CLAMP (px[i], 0.0f, 1.0f) * 255.0f + 0.5f);
    }
  if (!filter->run_u8 (&s, bytes, result, n_threads, error))
    return FALSE;
  /* One-channel results are in all three: R, G and B come back; alpha stays. */
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
