/* neuropaint — bit-exact bilinear and bicubic resampling.
 *
 * The bilinear rule is OpenCV's INTER_LINEAR_EXACT for 8-bit samples: source
 * coordinates (d + 0.5)·scale − 0.5 in double, weights rounded to 8 fractional
 * bits, a horizontal pass kept in 8.8 fixed point, a vertical pass in 16.16
 * rounded half up; destinations left of the first source centre (or right of
 * the last) take the edge sample. Bit-exactness matters: the Haar detector
 * thresholds sums over these pixels, and one unit off moves detections.
 */
#include "np-resize.h"

#include <math.h>
#include <string.h>

typedef struct
{
  gint    *offset;  /* first source index of each destination index */
  guint16 *weight;  /* weight of offset + 1, in 1/256 (offset's is 256 − it) */
  gint     lo, hi;  /* destinations in [lo, hi) interpolate; others copy an edge */
} LinearAxis;

static void
linear_axis_init (LinearAxis *axis, gint src_size, gint dst_size)
{
  gdouble scale = 1.0 / ((gdouble) dst_size / src_size);

  axis->offset = g_new0 (gint, dst_size);
  axis->weight = g_new0 (guint16, dst_size);
  axis->lo = 0;
  axis->hi = dst_size;
  for (gint d = 0; d < dst_size; d++)
    {
      volatile gdouble f = scale * ((gdouble) d + 0.5);  /* no FMA: OpenCV rounds twice */
      gdouble          pos = f - 0.5;
      gdouble          whole = floor (pos);

      if (whole >= 0 && src_size > 1)
        {
          if (whole < src_size - 1)
            {
              axis->offset[d] = (gint) whole;
              axis->weight[d] = (guint16) lrint ((pos - whole) * 256.0);
            }
          else
            {
              axis->offset[d] = src_size - 1;
              axis->hi = MIN (axis->hi, d);
            }
        }
      else
        axis->lo = MAX (axis->lo, d + 1);
    }
}

static void
linear_axis_clear (LinearAxis *axis)
{
  g_free (axis->offset);
  g_free (axis->weight);
}

/* One source row resampled horizontally into 8.8 fixed point: edge copies
 * left of lo and from hi on, interpolation between (no per-pixel tests). */
static void
linear_row (const guint8 *src, gint src_width, gint channels, const LinearAxis *x,
            gint dst_width, guint16 *out)
{
  const guint8 *last = src + (src_width - 1) * channels;
  gint          lo = MIN (x->lo, dst_width), hi = MAX (x->hi, lo);

  for (gint d = 0; d < lo; d++)
    for (gint c = 0; c < channels; c++)
      out[d * channels + c] = (guint16) (src[c] << 8);
  if (channels == 1)
    for (gint d = lo; d < hi; d++)
      {
        const guint8 *p = src + x->offset[d];
        guint         w1 = x->weight[d];
        out[d] = (guint16) ((256 - w1) * p[0] + w1 * p[1]);
      }
  else
    for (gint d = lo; d < hi; d++)
      for (gint c = 0; c < channels; c++)
        {
          const guint8 *p = src + x->offset[d] * channels + c;
          guint         w1 = x->weight[d];
          out[d * channels + c] = (guint16) ((256 - w1) * p[0] + w1 * p[channels]);
        }
  for (gint d = hi; d < dst_width; d++)
    for (gint c = 0; c < channels; c++)
      out[d * channels + c] = (guint16) (last[c] << 8);
}

static void
resize_area_half (const NpImage *src, NpImage *dst)
{
  gint n = dst->width * dst->channels, ch = dst->channels;

  for (gint y = 0; y < dst->height; y++)
    {
      const guint8 *a = np_image_row (src, 2 * y), *b = np_image_row (src, 2 * y + 1);
      guint8       *out = np_image_row (dst, y);

      for (gint i = 0; i < n; i++)
        {
          gint k = (i / ch) * 2 * ch + i % ch;
          out[i] = (guint8) ((a[k] + a[k + ch] + b[k] + b[k + ch] + 2) >> 2);
        }
    }
}

void
np_resize_linear_exact_u8 (const NpImage *src, NpImage *dst)
{
  LinearAxis x, y;
  gint       n, ch;
  guint16   *rows[2];
  gint       cached[2] = { -1, -1 };

  g_return_if_fail (src->type == NP_SAMPLE_U8 && dst->type == NP_SAMPLE_U8);
  g_return_if_fail (src->channels == dst->channels);

  if (src->width == dst->width && src->height == dst->height)
    {
      for (gint r = 0; r < src->height; r++)
        memcpy (np_image_row (dst, r), np_image_row (src, r), (gsize) src->width * src->channels);
      return;
    }
  /* OpenCV switches an exact halving to its area rule (equal up to rounding). */
  if (src->width == 2 * dst->width && src->height == 2 * dst->height && src->channels != 2)
    {
      resize_area_half (src, dst);
      return;
    }

  ch = src->channels;
  n = dst->width * ch;
  linear_axis_init (&x, src->width, dst->width);
  linear_axis_init (&y, src->height, dst->height);
  rows[0] = g_new (guint16, n);
  rows[1] = g_new (guint16, n);

  for (gint d = 0; d < dst->height; d++)
    {
      guint8 *out = np_image_row (dst, d);
      gint    r0 = d < y.lo ? 0 : d >= y.hi ? src->height - 1 : y.offset[d];
      gint    r1 = MIN (r0 + 1, src->height - 1);

      /* Rows advance monotonically: reuse the lower row when it becomes the upper. */
      if (cached[0] != r0 && cached[1] == r0)
        {
          guint16 *t = rows[0];
          rows[0] = rows[1];
          rows[1] = t;
          cached[0] = r0;
          cached[1] = -1;
        }
      if (cached[0] != r0)
        {
          linear_row (np_image_row (src, r0), src->width, ch, &x, dst->width, rows[0]);
          cached[0] = r0;
        }
      if (cached[1] != r1)
        {
          linear_row (np_image_row (src, r1), src->width, ch, &x, dst->width, rows[1]);
          cached[1] = r1;
        }

      if (d < y.lo || d >= y.hi)
        for (gint i = 0; i < n; i++)
          out[i] = (guint8) ((rows[0][i] + 128) >> 8);
      else
        {
          guint w1 = y.weight[d], w0 = 256 - w1;
          for (gint i = 0; i < n; i++)
            out[i] = (guint8) ((w0 * rows[0][i] + w1 * rows[1][i] + 32768) >> 16);
        }
    }

  g_free (rows[0]);
  g_free (rows[1]);
  linear_axis_clear (&x);
  linear_axis_clear (&y);
}

/* ---- bicubic ------------------------------------------------------------ */

#define CUBIC_A (-0.75f)

static void
cubic_weights (gfloat t, gfloat w[4])
{
  w[0] = ((CUBIC_A * (t + 1) - 5 * CUBIC_A) * (t + 1) + 8 * CUBIC_A) * (t + 1) - 4 * CUBIC_A;
  w[1] = ((CUBIC_A + 2) * t - (CUBIC_A + 3)) * t * t + 1;
  w[2] = ((CUBIC_A + 2) * (1 - t) - (CUBIC_A + 3)) * (1 - t) * (1 - t) + 1;
  w[3] = 1.0f - w[0] - w[1] - w[2];
}

typedef struct
{
  gint   *index;   /* 4 clamped source indices per destination */
  gfloat *weight;  /* 4 weights per destination */
} CubicAxis;

static void
cubic_axis_init (CubicAxis *axis, gint src_size, gint dst_size)
{
  gdouble scale = (gdouble) src_size / dst_size;

  axis->index = g_new (gint, 4 * dst_size);
  axis->weight = g_new (gfloat, 4 * dst_size);
  for (gint d = 0; d < dst_size; d++)
    {
      gdouble pos = (d + 0.5) * scale - 0.5;
      gint    i0 = (gint) floor (pos);

      cubic_weights ((gfloat) (pos - i0), axis->weight + 4 * d);
      for (gint k = 0; k < 4; k++)
        axis->index[4 * d + k] = CLAMP (i0 - 1 + k, 0, src_size - 1);
    }
}

static gfloat
sample_at (const NpImage *image, gint x, gint y, gint c)
{
  const guint8 *row = np_image_row (image, y);
  if (image->type == NP_SAMPLE_U8)
    return row[x * image->channels + c];
  return ((const gfloat *) row)[x * image->channels + c];
}

void
np_resize_cubic (const NpImage *src, NpImage *dst)
{
  CubicAxis x, y;
  gint      ch = src->channels;
  gfloat   *tmp;  /* the horizontal pass, one row per source row used */

  g_return_if_fail (src->type == dst->type && src->channels == dst->channels);

  cubic_axis_init (&x, src->width, dst->width);
  cubic_axis_init (&y, src->height, dst->height);
  tmp = g_new (gfloat, (gsize) src->height * dst->width * ch);

  for (gint r = 0; r < src->height; r++)
    for (gint d = 0; d < dst->width; d++)
      for (gint c = 0; c < ch; c++)
        {
          gfloat v = 0;
          for (gint k = 0; k < 4; k++)
            v += x.weight[4 * d + k] * sample_at (src, x.index[4 * d + k], r, c);
          tmp[((gsize) r * dst->width + d) * ch + c] = v;
        }

  for (gint d = 0; d < dst->height; d++)
    {
      guint8 *out = np_image_row (dst, d);
      for (gint i = 0; i < dst->width * ch; i++)
        {
          gfloat v = 0;
          for (gint k = 0; k < 4; k++)
            v += y.weight[4 * d + k] * tmp[(gsize) y.index[4 * d + k] * dst->width * ch + i];
          if (dst->type == NP_SAMPLE_U8)
            out[i] = (guint8) CLAMP (lrintf (v), 0, 255);
          else
            ((gfloat *) out)[i] = v;
        }
    }

  g_free (tmp);
  g_free (x.index); g_free (x.weight);
  g_free (y.index); g_free (y.weight);
}
