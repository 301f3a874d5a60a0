/* neuropaint — Canny edges, bit-exact with OpenCV 4.6's cv::Canny (aperture 3).
 *
 * J. Canny, "A Computational Approach to Edge Detection", IEEE PAMI 8(6), 1986;
 * the conventions (integer tangent tests, tie-breaking, thresholds) are
 * OpenCV's, so that the seed's filtered pictures can be reproduced exactly.
 *
 * The pipeline, as small helpers in the manner of libvips's canny.c:
 *
 *   load_rows    one image row per edge map: a channel or the luma, after the
 *                optional pre-threshold, replicated one pixel past each end
 *   gradient_row 3×3 Sobel dx, dy; L1 or L2 magnitude; direction class
 *   nms_row      non-maximum suppression + double threshold into an edge map
 *                (both vectorised loops, for 16-bit L1 or 32-bit L2 magnitudes)
 *   hysteresis   grow strong edges into 8-connected weak ones
 *
 * Edge map values: 0 weak (a maximum above low), 1 not an edge, 2 an edge.
 * Each map has a frame of 1s, so growing never needs bounds checks.
 *
 * Threads: the rows are cut into stripes, a few per thread, which threads
 * claim as they finish the last (so one the OS pauses, or one meeting dense
 * edges, holds up nobody). Each stripe computes its gradients
 * (plus one row either side, from the input, so stripes share nothing),
 * suppresses, and grows its strong edges without leaving its rows. Then one
 * serial pass grows across the stripe seams from every edge on them. Growing
 * yields the 8-connected closure of the strong pixels through weak ones, which
 * does not depend on the order of growth: the result is the same for any
 * number of stripes, and the same as OpenCV's. */
#include "np-filters.h"
#include "util/np-parallel.h"
#include "util/np-simd.h"
#include "np-planes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* OpenCV classifies a gradient (dx, dy) as horizontal if |dy|·2^15 <
 * |dx|·TG22 and vertical if |dy|·2^15 > |dx|·(TG22 + 2^16), TG22 being
 * tan(22.5°) in Q15, rounded (13573; tan 67.5° = tan 22.5° + 2). As 13573 is
 * odd, |dx|·TG22 / 2^15 is never a whole number for 1 <= |dx| <= 1020, so
 * with t = floor(|dx|·TG22 / 2^15), the high half of |dx| · 2·TG22 in 16
 * bits, the tests become |dy| <= t and |dy| > 2|dx| + t: 16-bit arithmetic,
 * twice the lanes. (They differ only at dx = dy = 0, whose magnitude 0 never
 * passes `low`.) */
#define TG22_X2 27146

enum
{
  DIR_H,   /* gradient ~horizontal: compare with left and right */
  DIR_V,   /* ~vertical: above and below */
  DIR_D1,  /* dx, dy of the same sign: above-left and below-right */
  DIR_D2,  /* opposite signs: above-right and below-left */
};

enum { WEAK = 0, NONE = 1, EDGE = 2 };

typedef struct
{
  const NpImage       *in;
  const NpCannyParams *params;
  gint                 low, high;   /* thresholds as compared with magnitudes */
  gint                 n_maps;      /* 3 per channel, 1 gray */
  gsize                stride;      /* of a map row: width + 2 */
  gsize                plane;       /* bytes of one map: (height + 2) × stride */
  guint8              *maps;
  gint                 n_stripes;   /* stripe i: rows [stripe_row (i), stripe_row (i + 1)) */
} Canny;

/* A growable stack of map offsets. */
typedef struct
{
  gsize *data;
  gsize  len, size;
} Stack;

static inline void
stack_push (Stack *s, gsize offset)
{
  if (G_UNLIKELY (s->len == s->size))
    {
      s->size = MAX (1024, s->size * 2);
      s->data = g_renew (gsize, s->data, s->size);
    }
  s->data[s->len++] = offset;
}

/* The luma of OpenCV's RGB2GRAY on u8: BT.601 weights in Q15, rounded
 * (checked against cv2.cvtColor on all 2^24 colours). It differs by one
 * from the rounded float formula on 0.13% of colours, and an edge map
 * needs it exact. */
static inline guint8
luma_u8 (gint r, gint g, gint b)
{
  return (guint8) ((r * 9798 + g * 19235 + b * 3735 + (1 << 14)) >> 15);
}

static inline void
pre_threshold (guint8 *v, gint w, guint8 t)
{
  for (gint x = 0; x < w; x++)
    v[x] = v[x] > t ? t : 0;
}

/* The luma of an interleaved row of cn (a constant in each caller) channels,
 * after the pre-threshold t if t >= 0, in one pass. */
static inline void
luma_row_cn (const guint8 *restrict src, gint w, const gint cn, gint t,
             guint8 *restrict y)
{
  for (gint x = 0; x < w; x++)
    {
      gint r = src[x * cn], g = src[x * cn + 1], b = src[x * cn + 2];

      if (t >= 0)
        {
          r = r > t ? t : 0;
          g = g > t ? t : 0;
          b = b > t ? t : 0;
        }
      y[x] = luma_u8 (r, g, b);
    }
}

/* Fills rows[m][0 .. width+1] with image row y of map m, with the
 * replicated border of OpenCV's Sobel (BORDER_REPLICATE). */
static NP_VECTOR_CLONES void
load_rows (const Canny *c, gint y, guint8 **rows)
{
  const NpImage *in = c->in;
  const guint8  *src = np_image_row (in, CLAMP (y, 0, in->height - 1));
  gint           w = in->width, t = c->params->pre_threshold;

  if (c->n_maps == 1)
    {
      if (in->channels == 4)
        luma_row_cn (src, w, 4, t, rows[0] + 1);
      else
        luma_row_cn (src, w, 3, t, rows[0] + 1);
    }
  else
    {
      np_planes_from_row (src, w, in->channels, rows[0] + 1, rows[1] + 1, rows[2] + 1);
      if (t >= 0)
        for (gint m = 0; m < 3; m++)
          pre_threshold (rows[m] + 1, w, t);
    }

  for (gint m = 0; m < c->n_maps; m++)
    {
      rows[m][0] = rows[m][1];
      rows[m][w + 1] = rows[m][w];
    }
}

/* The two row kernels, defined once for each magnitude type: gint16 for L1
 * (|dx| + |dy| < 2^11) and gint32 for L2 (dx² + dy² < 2^22), so the default
 * L1 path moves half the bytes through twice the vector lanes.
 *
 * gradient_row_<norm>: Sobel on the padded rows a, b, c (above, at, below),
 *
 *        -1  0  1            -1 -2 -1
 *   dx = -2  0  2       dy =  0  0  0
 *        -1  0  1             1  2  1
 *
 * and from it the magnitude and the direction class of each pixel. Ties
 * (|dy|·2^15 equal to either bound) are diagonal, as in OpenCV.
 *
 * nms_row_<norm>: one row of suppression. p, a, n are the magnitudes above,
 * at and below, each valid from index -1 to width (0 outside the image). A
 * pixel survives if it exceeds low and its two neighbours across the edge,
 * except that it only needs to equal the right or lower one on horizontal
 * and vertical gradients: OpenCV's tie-break, which keeps one pixel of a
 * flat ridge. Branch-free, so that it vectorises. */
#define CANNY_ROW_KERNELS(norm, T, MAGNITUDE)                                          \
static NP_VECTOR_CLONES void                                                           \
gradient_row_##norm (const guint8 *restrict a, const guint8 *restrict b,               \
                     const guint8 *restrict c, gint width,                             \
                     T *restrict mag, guint8 *restrict dir)                            \
{                                                                                      \
  for (gint x = 0; x < width; x++)                                                     \
    {                                                                                  \
      gint16  dx = (gint16) ((a[x + 2] - a[x]) + 2 * (b[x + 2] - b[x]) + (c[x + 2] - c[x])); \
      gint16  dy = (gint16) ((c[x] + 2 * c[x + 1] + c[x + 2]) - (a[x] + 2 * a[x + 1] + a[x + 2])); \
      guint16 ax = (guint16) abs (dx), ay = (guint16) abs (dy);                        \
      guint16 t = (guint16) (((guint32) ax * TG22_X2) >> 16);                          \
                                                                                       \
      mag[x] = (T) (MAGNITUDE);                                                        \
      dir[x] = ay <= t ? DIR_H                                                         \
             : ay > 2 * ax + t ? DIR_V                                                 \
             : (dx ^ dy) < 0 ? DIR_D2 : DIR_D1;                                        \
    }                                                                                  \
}                                                                                      \
                                                                                       \
static NP_VECTOR_CLONES void                                                           \
nms_row_##norm (const T *restrict p, const T *restrict a, const T *restrict n,         \
                const guint8 *restrict dir, gint width, gint low, gint high,           \
                guint8 *restrict map)                                                  \
{                                                                                      \
  for (gint x = 0; x < width; x++)                                                     \
    {                                                                                  \
      T    m = a[x];                                                                   \
      gint d = dir[x];                                                                 \
      gint h = (m > a[x - 1]) & (m >= a[x + 1]);                                       \
      gint v = (m > p[x]) & (m >= n[x]);                                               \
      gint d1 = (m > p[x - 1]) & (m > n[x + 1]);                                       \
      gint d2 = (m > p[x + 1]) & (m > n[x - 1]);                                       \
      gint peak = ((d == DIR_H) & h) | ((d == DIR_V) & v)                              \
                | ((d == DIR_D1) & d1) | ((d == DIR_D2) & d2);                         \
      gint keep = (m > low) & peak;                                                    \
                                                                                       \
      /* keep ? (m > high ? EDGE : WEAK) : NONE */                                     \
      map[x] = (guint8) (NONE - keep + 2 * (keep & (m > high)));                       \
    }                                                                                  \
}

CANNY_ROW_KERNELS (l1, gint16, ax + ay)
CANNY_ROW_KERNELS (l2, gint32, dx * dx + dy * dy)

/* Pushes the EDGE pixels of a map row (offset base) to grow from them; edges
 * are sparse, so whole words without one are skipped. */
static void
push_edges (const guint8 *row, gint width, gsize base, Stack *stack)
{
  gint x = 0;

  for (; x + 8 <= width; x += 8)
    {
      guint64 word;

      memcpy (&word, row + x, 8);
      /* Of 0, 1 and 2, only EDGE has bit 1 set. */
      if (word & G_GUINT64_CONSTANT (0x0202020202020202))
        for (gint k = x; k < x + 8; k++)
          if (row[k] == EDGE)
            stack_push (stack, base + k);
    }
  for (; x < width; x++)
    if (row[x] == EDGE)
      stack_push (stack, base + x);
}

static inline void
grow (guint8 *map, gsize o, Stack *stack)
{
  if (map[o] == WEAK)
    {
      map[o] = EDGE;
      stack_push (stack, o);
    }
}

/* Turns every WEAK pixel 8-connected to a stacked EDGE into an EDGE, without
 * leaving the map rows that start at offsets [lo, hi). */
static void
hysteresis (guint8 *map, gsize stride, gsize lo, gsize hi, Stack *stack)
{
  while (stack->len > 0)
    {
      gsize o = stack->data[--stack->len];

      grow (map, o - 1, stack);
      grow (map, o + 1, stack);
      if (o >= lo + stride)
        {
          grow (map, o - stride - 1, stack);
          grow (map, o - stride, stack);
          grow (map, o - stride + 1, stack);
        }
      if (o + stride < hi)
        {
          grow (map, o + stride - 1, stack);
          grow (map, o + stride, stack);
          grow (map, o + stride + 1, stack);
        }
    }
}

static gint
stripe_row (const Canny *c, gint i)
{
  return (gint) ((gint64) c->in->height * i / c->n_stripes);
}

static void
gradient_row (gboolean l2, const guint8 *a, const guint8 *b, const guint8 *c,
              gint width, gpointer mag, guint8 *dir)
{
  if (l2)
    gradient_row_l2 (a, b, c, width, mag, dir);
  else
    gradient_row_l1 (a, b, c, width, mag, dir);
}

static void
nms_row (gboolean l2, gconstpointer p, gconstpointer a, gconstpointer n,
         const guint8 *dir, gint width, gint low, gint high, guint8 *map)
{
  if (l2)
    nms_row_l2 (p, a, n, dir, width, low, high, map);
  else
    nms_row_l1 (p, a, n, dir, width, low, high, map);
}

/* Each stripe keeps rolling rows per map: image row r's source row, and its
 * magnitudes (valid from [-1] to [width]; 0 outside the image; gint16 or
 * gint32) and directions, all at slot (r + 3) % 3. */
#define SLOT(r) (((r) + 3) % 3)

typedef struct
{
  guint8 *src[3];
  guint8 *dir[3];
  guint8 *mag[3];   /* at element 0 */
  Stack   edges;
} Rows;

static void
stripe (gint i, gpointer data)
{
  Canny   *c = data;
  gint     w = c->in->width, h = c->in->height;
  gint     y0 = stripe_row (c, i), y1 = stripe_row (c, i + 1);
  gboolean l2 = c->params->gradient == NP_CANNY_GRADIENT_L2;
  gsize    row = (gsize) w + 2;
  gsize    size = l2 ? sizeof (gint32) : sizeof (gint16);   /* of a magnitude */
  g_autofree guint8 *bytes = g_malloc (6 * row * c->n_maps);
  g_autofree guint8 *mags = g_malloc0 (3 * row * c->n_maps * size);
  Rows     rows[3];
  guint8  *load[3];

  for (gint m = 0; m < c->n_maps; m++)
    {
      for (gint k = 0; k < 3; k++)
        {
          rows[m].src[k] = bytes + (6 * m + k) * row;
          rows[m].dir[k] = bytes + (6 * m + 3 + k) * row;
          rows[m].mag[k] = mags + ((3 * m + k) * row + 1) * size;
        }
      rows[m].edges = (Stack) { NULL, 0, 0 };
    }

  /* gradient(r) reads source rows r-1, r and r+1 (clamped to the image). */
  for (gint r = y0 - 2; r < y0; r++)
    {
      for (gint m = 0; m < c->n_maps; m++)
        load[m] = rows[m].src[SLOT (r)];
      load_rows (c, r, load);
    }

  /* Row y's suppression needs the gradients of y-1, y and y+1, so the
   * gradient of row r completes row r-1. */
  for (gint r = y0 - 1; r <= y1; r++)
    {
      for (gint m = 0; m < c->n_maps; m++)
        load[m] = rows[m].src[SLOT (r + 1)];
      load_rows (c, r + 1, load);

      for (gint m = 0; m < c->n_maps; m++)
        {
          Rows   *mr = &rows[m];
          guint8 *map = c->maps + m * c->plane;
          gsize   base = (gsize) r * c->stride;   /* row r-1 of the image */

          if (r >= 0 && r < h)
            gradient_row (l2, mr->src[SLOT (r - 1)], mr->src[SLOT (r)], mr->src[SLOT (r + 1)],
                          w, mr->mag[SLOT (r)], mr->dir[SLOT (r)]);
          else
            memset (mr->mag[SLOT (r)] - size, 0, row * size);

          if (r > y0)
            {
              map[base] = map[base + w + 1] = NONE;
              nms_row (l2, mr->mag[SLOT (r - 2)], mr->mag[SLOT (r - 1)], mr->mag[SLOT (r)],
                       mr->dir[SLOT (r - 1)], w, c->low, c->high, map + base + 1);
              push_edges (map + base + 1, w, base + 1, &mr->edges);
            }
        }
    }

  for (gint m = 0; m < c->n_maps; m++)
    {
      hysteresis (c->maps + m * c->plane, c->stride,
                  (gsize) (y0 + 1) * c->stride, (gsize) (y1 + 1) * c->stride,
                  &rows[m].edges);
      g_free (rows[m].edges.data);
    }
}

/* After the stripes: grow across each seam from the edges on either side. */
static void
join_stripes (Canny *c)
{
  gint  w = c->in->width;
  Stack stack = { NULL, 0, 0 };

  for (gint m = 0; m < c->n_maps; m++)
    {
      guint8 *map = c->maps + m * c->plane;

      for (gint i = 1; i < c->n_stripes; i++)
        for (gint y = stripe_row (c, i) - 1; y <= stripe_row (c, i); y++)
          {
            gsize base = (gsize) (y + 1) * c->stride + 1;
            push_edges (map + base, w, base, &stack);
          }
      hysteresis (map, c->stride, 0, c->plane, &stack);
    }
  g_free (stack.data);
}

typedef struct
{
  const Canny *c;
  NpImage     *out;
} Output;

static inline void
edges_to_plane (const guint8 *restrict map, gint w, guint8 *restrict plane)
{
  for (gint x = 0; x < w; x++)
    plane[x] = map[x] == EDGE ? 255 : 0;
}

/* The output rows of stripe i. */
static NP_VECTOR_CLONES void
write_rows (gint i, gpointer data)
{
  const Output *o = data;
  const Canny  *c = o->c;
  gint          w = c->in->width;
  gsize         start = stripe_row (c, i), end = stripe_row (c, i + 1);
  g_autofree guint8 *planes = g_malloc (3 * (gsize) w);
  guint8       *plane[3] = { planes, planes + w, planes + 2 * w };

  if (c->n_maps == 1)   /* gray: the same edges in R, G and B */
    plane[1] = plane[2] = plane[0];
  for (gsize y = start; y < end; y++)
    {
      gsize offset = (y + 1) * c->stride + 1;

      for (gint m = 0; m < c->n_maps; m++)
        edges_to_plane (c->maps + m * c->plane + offset, w, plane[m]);
      np_planes_to_row (plane[0], plane[1], plane[2], np_image_row (c->in, (gint) y),
                        w, c->in->channels, np_image_row (o->out, (gint) y));
    }
}

/* OpenCV's integer thresholds: swapped into order, squared for L2 (after
 * capping at 32767 so the square fits), then floored. */
static gint
magnitude_threshold (gdouble t, gboolean l2)
{
  if (l2)
    {
      t = MIN (t, 32767.0);
      t = t * t;
    }
  return (gint) floor (t);
}

/* Rows per stripe at least: below that the two rows each stripe recomputes
 * and the thread start-up outweigh the work. */
#define STRIPE_MIN_ROWS 32
/* Stripes per thread: enough to even out, few enough to keep the
 * recomputed rows and the seams (under 3% at 1080 rows) cheap. */
#define STRIPES_PER_THREAD 4

gboolean
np_canny (const NpImage       *in,
          NpImage             *out,
          const NpCannyParams *params,
          gint                 n_threads,
          GError             **error)
{
  Canny    c = { in, params };
  gdouble  low, high;
  gboolean l2;
  guint    threads;
  Output   o;

  g_return_val_if_fail (in != NULL && out != NULL && params != NULL, FALSE);
  g_return_val_if_fail (in->type == NP_SAMPLE_U8 && out->type == NP_SAMPLE_U8, FALSE);
  g_return_val_if_fail (in->channels >= 3 && in->channels == out->channels, FALSE);
  g_return_val_if_fail (in->width == out->width && in->height == out->height, FALSE);

  low = params->low;
  high = params->high;
  if (!(low >= 0 && low <= NP_CANNY_THRESHOLD_MAX && high >= 0 && high <= NP_CANNY_THRESHOLD_MAX))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "Canny thresholds %g and %g must lie between 0 and %g",
                   low, high, NP_CANNY_THRESHOLD_MAX);
      return FALSE;
    }
  if (params->pre_threshold < -1 || params->pre_threshold > 255)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "Canny pre-threshold %d must be -1 (off) or 0 to 255",
                   params->pre_threshold);
      return FALSE;
    }

  l2 = params->gradient == NP_CANNY_GRADIENT_L2;
  c.low = magnitude_threshold (MIN (low, high), l2);
  c.high = magnitude_threshold (MAX (low, high), l2);
  c.n_maps = params->mode == NP_CANNY_GRAY ? 1 : 3;
  c.stride = (gsize) in->width + 2;
  c.plane = c.stride * ((gsize) in->height + 2);
  c.maps = g_try_malloc ((gsize) c.n_maps * c.plane);
  if (c.maps == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE,
                   "cannot allocate the Canny edge maps of a %d×%d image",
                   in->width, in->height);
      return FALSE;
    }
  for (gint m = 0; m < c.n_maps; m++)
    {
      memset (c.maps + m * c.plane, NONE, c.stride);
      memset (c.maps + (m + 1) * c.plane - c.stride, NONE, c.stride);
    }

  threads = np_parallel_parts (in->height, STRIPE_MIN_ROWS, n_threads);
  c.n_stripes = threads == 1 ? 1 : MIN (threads * STRIPES_PER_THREAD,
                                        (guint) in->height / STRIPE_MIN_ROWS);
  np_parallel_claim (c.n_stripes, threads, stripe, &c);
  join_stripes (&c);

  o = (Output) { &c, out };
  np_parallel_claim (c.n_stripes, threads, write_rows, &o);

  g_free (c.maps);
  return TRUE;
}
