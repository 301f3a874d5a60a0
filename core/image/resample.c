/* neuropaint — resizing a region of a picture as its rows arrive (NpResampler).
 *
 * Pillow's resampling (Imaging/Resample.c, precompute_coeffs) with its
 * BILINEAR filter: output pixel i of an axis is centred on source coordinate
 * (i + 0.5)·scale, scale = source / output size; its taps are the source
 * pixels within support = max(scale, 1) of that centre, weighted by a
 * triangle 1 − |d|/max(scale, 1) and normalised to sum 1. DeOldify resizes
 * the photo for its model the same way.
 *
 * Rows are resampled horizontally as they arrive and added, with their
 * vertical weight, to every output row whose window holds them; only the
 * small result is ever whole. The horizontal step reads nothing it writes,
 * so a caller may run it on many rows at once on its threads
 * (np_resampler_shrink_rows) and add them in order (np_resampler_add_shrunk_row):
 * the sums are the same, in the same order.
 *
 * A single-channel picture is resized across LANES rows at a time, one row
 * a vector lane: the rows are laid side by side (pixel x of every row
 * together), and each output sums its taps for all the rows at once,
 * loading LANES values a tap and broadcasting its weight. Each lane adds its
 * row's products in the order one row alone adds them, a multiply then an
 * add (ISO C: GCC fuses neither), so the bits are the row's alone. Across
 * outputs, the taps would have to be gathered (each output's start differs).
 */
#include "np-resize.h"
#include "np-error.h"
#include "util/np-simd.h"

#include <math.h>
#include <string.h>

typedef struct
{
  gint   *start;   /* first tap of each output index, relative to the region */
  gint   *count;   /* taps of each output index */
  gfloat *weight;  /* ksize weights each */
  gint    ksize;
} Axis;

struct _NpResampler
{
  gint     x, y, width, height, channels;
  Axis     ax, ay;
  gfloat  *row;        /* the current row, resampled horizontally */
  NpImage *result;     /* accumulates the weighted rows */
  gint     next;       /* first output row whose window has not ended */
  gint     rows;       /* region rows seen */
};

static void
axis_init (Axis *a, gint in_size, gint out_size)
{
  gdouble scale = (gdouble) in_size / out_size, filterscale = MAX (scale, 1.0);
  gdouble support = filterscale;   /* the triangle's support is 1 */

  a->ksize = (gint) ceil (support) * 2 + 1;
  a->start = g_new (gint, out_size);
  a->count = g_new (gint, out_size);
  a->weight = g_new0 (gfloat, (gsize) out_size * a->ksize);
  for (gint i = 0; i < out_size; i++)
    {
      gdouble center = (i + 0.5) * scale, total = 0;
      gint    lo = MAX ((gint) (center - support + 0.5), 0);
      gint    hi = MIN ((gint) (center + support + 0.5), in_size);
      gfloat *w = a->weight + (gsize) i * a->ksize;

      hi = MAX (hi, lo + 1);   /* at least one tap, even for a sliver of a region */
      hi = MIN (hi, lo + a->ksize);
      a->start[i] = MIN (lo, in_size - 1);
      a->count[i] = MIN (hi, in_size) - a->start[i];
      for (gint k = 0; k < a->count[i]; k++)
        {
          gdouble d = (a->start[i] + k - center + 0.5) / filterscale;
          gdouble t = MAX (0.0, 1.0 - fabs (d));
          w[k] = (gfloat) t;
          total += t;
        }
      for (gint k = 0; k < a->count[i]; k++)
        w[k] = total > 0 ? (gfloat) (w[k] / total) : 1.0f / a->count[i];
    }
}

static void
axis_clear (Axis *a)
{
  g_free (a->start);
  g_free (a->count);
  g_free (a->weight);
}

NpResampler *
np_resampler_new (gint x, gint y, gint width, gint height, gint dst_width, gint dst_height,
                  gint channels, GError **error)
{
  NpResampler *r;
  NpImage     *result;

  g_return_val_if_fail (x >= 0 && y >= 0 && width > 0 && height > 0 && channels > 0, NULL);

  if ((result = np_image_new (NP_SAMPLE_F32, dst_width, dst_height, channels, error)) == NULL)
    return NULL;
  r = g_new0 (NpResampler, 1);
  r->x = x, r->y = y, r->width = width, r->height = height, r->channels = channels;
  r->result = result;
  r->row = g_new0 (gfloat, (gsize) dst_width * channels);
  axis_init (&r->ax, width, dst_width);
  axis_init (&r->ay, height, dst_height);
  return r;
}

void
np_resampler_free (NpResampler *r)
{
  if (r == NULL)
    return;
  axis_clear (&r->ax);
  axis_clear (&r->ay);
  g_free (r->row);
  np_image_free (r->result);
  g_free (r);
}

gboolean
np_resampler_wants_row (const NpResampler *r, gint y)
{
  return y >= r->y && y < r->y + r->height;
}

/* Rows resized across at once, one a vector lane: 8 floats fill an AVX2
 * register (two SSE ones). Written as GCC's generic vector, since as a
 * loop over lanes GCC vectorised the taps instead and turned each block
 * of them round in registers. */
#define LANES 8
typedef gfloat Lanes __attribute__ ((vector_size (LANES * sizeof (gfloat))));

static void
shrink_row (const NpResampler *r, const gfloat *row, gfloat *shrunk)
{
  gint          dw = r->result->width, ch = r->channels;
  const gfloat *src = row + (gsize) r->x * ch;

  for (gint i = 0; i < dw; i++)
    {
      const gfloat *w = r->ax.weight + (gsize) i * r->ax.ksize;
      const gfloat *p = src + (gsize) r->ax.start[i] * ch;
      for (gint c = 0; c < ch; c++)
        {
          gfloat sum = 0;
          for (gint k = 0; k < r->ax.count[i]; k++)
            sum += w[k] * p[k * ch + c];
          shrunk[i * ch + c] = sum;
        }
    }
}

/* LANES single-channel rows (rows[l · stride] is row l's column 0) side by
 * side: side[x · LANES + l] is row l's pixel x of the region. */
static NP_VECTOR_CLONES void
interleave_rows (const NpResampler *r, const gfloat *rows, gsize stride, gfloat *restrict side)
{
  for (gint x = 0; x < r->width; x++)
    for (gint l = 0; l < LANES; l++)
      side[(gsize) x * LANES + l] = rows[l * stride + r->x + x];
}

static NP_VECTOR_CLONES void
shrink_lanes (const NpResampler *r, const gfloat *restrict side, gfloat *shrunk, gsize shrunk_stride)
{
  gint dw = r->result->width;

  for (gint i = 0; i < dw; i++)
    {
      const gfloat *w = r->ax.weight + (gsize) i * r->ax.ksize;
      const gfloat *p = side + (gsize) r->ax.start[i] * LANES;
      gint          n = r->ax.count[i];
      Lanes         sum = { 0 };

      for (gint k = 0; k < n; k++)
        {
          Lanes v;

          memcpy (&v, p + k * LANES, sizeof v);
          sum += w[k] * v;
        }
      for (gint l = 0; l < LANES; l++)
        shrunk[l * shrunk_stride + i] = sum[l];
    }
}

void
np_resampler_shrink_rows (const NpResampler *r, const gfloat *rows, gsize stride, gint n,
                          gfloat *shrunk, gsize shrunk_stride)
{
  gint j = 0;

  if (r->channels == 1 && n >= LANES)
    {
      g_autofree gfloat *side = g_new (gfloat, (gsize) r->width * LANES);

      for (; j + LANES <= n; j += LANES)
        {
          interleave_rows (r, rows + j * stride, stride, side);
          shrink_lanes (r, side, shrunk + j * shrunk_stride, shrunk_stride);
        }
    }
  for (; j < n; j++)
    shrink_row (r, rows + j * stride, shrunk + j * shrunk_stride);
}

void
np_resampler_add_shrunk_row (NpResampler *r, gint y, const gfloat *shrunk)
{
  gint dw = r->result->width, dh = r->result->height, ch = r->channels;
  gint yy = y - r->y;

  if (yy < 0 || yy >= r->height)
    return;
  g_return_if_fail (yy == r->rows);   /* in order, each once */
  r->rows++;

  /* Windows only move down: skip the rows this one is past, then add it to
   * every row whose window holds it. */
  while (r->next < dh && r->ay.start[r->next] + r->ay.count[r->next] <= yy)
    r->next++;
  for (gint j = r->next; j < dh && r->ay.start[j] <= yy; j++)
    {
      gint    k = yy - r->ay.start[j];
      gfloat  w = r->ay.weight[(gsize) j * r->ay.ksize + k];
      gfloat *o = np_image_row (r->result, j);

      if (k >= r->ay.count[j])
        continue;
      for (gint i = 0; i < dw * ch; i++)
        o[i] += w * shrunk[i];
    }
}

void
np_resampler_add_row (NpResampler *r, gint y, const gfloat *row)
{
  if (!np_resampler_wants_row (r, y))
    return;
  shrink_row (r, row, r->row);
  np_resampler_add_shrunk_row (r, y, r->row);
}

const NpImage *
np_resampler_result (NpResampler *r)
{
  g_return_val_if_fail (r->rows == r->height, NULL);
  return r->result;
}
