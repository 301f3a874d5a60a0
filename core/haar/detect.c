/* neuropaint — the multi-scale Haar detector, with OpenCV 4.6's semantics.
 *
 * For each scale of the pyramid the image is resized (bit-exact bilinear),
 * then its integral, squared integral (32-bit, wrapping, as OpenCV keeps it)
 * and, for cascades with 45° features, tilted integral are computed, and the
 * window is slid over it. Every feature is compiled once into offsets in a
 * plane of fixed stride (the largest level's), so one table serves all
 * levels, and a window's evaluation is pure offset arithmetic from its
 * top-left integral cell.
 *
 * Arithmetic follows OpenCV exactly, because a detection is a chain of
 * threshold comparisons: rectangle sums are ints, a feature is
 * w0·s0 + w1·s1 (+ w2·s2) in float, scaled by the float 1/σ·area factor,
 * compared with a float threshold; leaves are summed in double and compared
 * with the float stage threshold.
 *
 * Threads take whole levels from a shared counter (largest first) and write
 * each level's candidates to its own array; the arrays are joined in level
 * order, so the result never depends on the thread count.
 */
#include "haar-private.h"
#include "image/np-resize.h"
#include "np-error.h"
#include "util/np-parallel.h"

#include <math.h>
#include <string.h>

/* A feature compiled for one plane stride: 4 corner offsets per rectangle
 * (into the tilted plane for 45° features) and the weights. An unused third
 * rectangle has weight 0 and four equal offsets, so its sum is 0 and it can
 * be evaluated without a branch: adding w·0 = 0 changes nothing. */
typedef struct
{
  gint32 ofs[NP_HAAR_MAX_RECTS][4];
  gfloat weight[NP_HAAR_MAX_RECTS];
} OptFeature;

/* Stump cascades (every tree one node) are flattened so the inner loop walks
 * one array: feature, threshold and both leaves side by side. */
typedef struct
{
  OptFeature f;
  gfloat     threshold;
  gfloat     leaf[2];    /* below the threshold, and not */
} Stump;

typedef struct
{
  gfloat scale;            /* the level's factor, float as in OpenCV */
  gint   width, height;    /* the resized image */
  gint   step;             /* 2 below scale 2, then 1 */
  gint   box_w, box_h;     /* a window's size in the image */
  gint   rows;             /* window rows scanned: y < rows (see make_levels) */
} Level;

typedef struct
{
  const NpHaarCascade *cascade;
  const NpImage       *gray;
  Level               *levels;
  guint                n_levels;
  gint                 stride;       /* of every integral plane */
  gsize                plane;        /* elements per plane */
  OptFeature          *features;     /* for trees */
  Stump               *stumps;       /* for stump cascades, else NULL */
  gint32               norm[4];      /* the variance rectangle's corners */
  gdouble              norm_area;
  GArray             **found;        /* per level: NpHaarBox candidates */
  gint                 next_level;   /* shared counter */
} Detector;

#define SUM(p, o) ((gint32) ((p)[(o)[0]] - (p)[(o)[1]] - (p)[(o)[2]] + (p)[(o)[3]]))

static inline gfloat
feature_value (const OptFeature *f, const guint32 *p)
{
  gfloat v = f->weight[0] * (gfloat) SUM (p, f->ofs[0]) + f->weight[1] * (gfloat) SUM (p, f->ofs[1]);
  return v + f->weight[2] * (gfloat) SUM (p, f->ofs[2]);
}

/* ---- compiling features ---------------------------------------------- */

static void
rect_offsets (const NpHaarRect *r, gboolean tilted, gint stride, gsize tilted_plane,
              gint32 ofs[4])
{
  if (!tilted)
    {
      ofs[0] = r->x + stride * r->y;
      ofs[1] = r->x + r->width + stride * r->y;
      ofs[2] = r->x + stride * (r->y + r->height);
      ofs[3] = r->x + r->width + stride * (r->y + r->height);
    }
  else
    {
      ofs[0] = (gint32) tilted_plane + r->x + stride * r->y;
      ofs[1] = (gint32) tilted_plane + r->x - r->height + stride * (r->y + r->height);
      ofs[2] = (gint32) tilted_plane + r->x + r->width + stride * (r->y + r->width);
      ofs[3] = (gint32) tilted_plane + r->x + r->width - r->height
               + stride * (r->y + r->width + r->height);
    }
}

static void
compile_feature (const NpHaarFeature *f, gint stride, gsize tilted_plane, OptFeature *out)
{
  for (gint k = 0; k < NP_HAAR_MAX_RECTS; k++)
    {
      /* Unused rectangles are zero-sized at the origin: four equal offsets. */
      rect_offsets (&f->rects[k], f->tilted && k < f->n_rects, stride, tilted_plane, out->ofs[k]);
      out->weight[k] = k < f->n_rects ? f->rects[k].weight : 0.0f;
    }
}

/* ---- integral images ------------------------------------------------------ */

/* sum, squared sum and (optionally) tilted sum of an 8-bit image, each
 * (height + 1) rows of `stride` cells, with a zero first row and column.
 * Unsigned arithmetic wraps like OpenCV's int32 planes; every rectangle sum
 * taken from them is exact modulo 2^32, hence exact. */
void
np_haar_integrals (const guint8 *img, gint width, gint height, gsize img_stride, gint stride,
           guint32 *sum, guint32 *sq, guint32 *tilted, guint32 *scratch)
{
  memset (sum, 0, sizeof (guint32) * (width + 1));
  memset (sq, 0, sizeof (guint32) * (width + 1));
  for (gint y = 0; y < height; y++)
    {
      const guint8  *row = img + y * img_stride;
      const guint32 *s_up = sum + (gsize) y * stride, *q_up = sq + (gsize) y * stride;
      guint32       *s = sum + (gsize) (y + 1) * stride, *q = sq + (gsize) (y + 1) * stride;
      guint32        rs = 0, rq = 0;

      s[0] = q[0] = 0;
      for (gint x = 0; x < width; x++)
        {
          rs += row[x];
          rq += (guint32) row[x] * row[x];
          s[x + 1] = s_up[x + 1] + rs;
          q[x + 1] = q_up[x + 1] + rq;
        }
    }

  if (tilted == NULL)
    return;

  /* tilted(X, Y) = Σ pixels (x, y < Y) with |x − X + 1| <= Y − y − 1, a
   * triangle with its apex at (X − 1, Y − 1). It is A − B, where A sums each
   * row's pixels left of the triangle's right edge and B those left of its
   * left edge; both follow one diagonal up a row: A(X, Y) = A(X+1, Y−1) +
   * P_{Y−1}(X), B(X, Y) = B(X−1, Y−1) + P_{Y−1}(X−1), P being the row's
   * clamped prefix sum. Right of the image A is the plain integral. */
  {
    guint32 *a = scratch, *b = scratch + (width + 2), *a_next = b + (width + 2),
            *b_next = a_next + (width + 2), *prefix = b_next + (width + 2);

    memset (tilted, 0, sizeof (guint32) * (width + 1));
    memset (a, 0, sizeof (guint32) * (width + 2));
    memset (b, 0, sizeof (guint32) * (width + 2));
    for (gint y = 0; y < height; y++)
      {
        const guint8 *row = img + y * img_stride;
        guint32      *t = tilted + (gsize) (y + 1) * stride;
        guint32       full_above = sum[(gsize) y * stride + width];

        prefix[0] = 0;
        for (gint x = 0; x < width; x++)
          prefix[x + 1] = prefix[x] + row[x];
        for (gint x = 0; x <= width; x++)
          {
            guint32 a_right = x + 1 <= width ? a[x + 1] : full_above;
            a_next[x] = a_right + prefix[x];
            b_next[x] = (x > 0 ? b[x - 1] + prefix[x - 1] : 0);
            t[x] = a_next[x] - b_next[x];
          }
        { guint32 *swap = a; a = a_next; a_next = swap; }
        { guint32 *swap = b; b = b_next; b_next = swap; }
      }
  }
}

/* ---- evaluating windows ------------------------------------------------- */

/* Stages from `first` on, for one window whose variance factor is inv:
 * OpenCV's runAt after setWindow. 1 accepted, −k rejected by stage k (so 0
 * by the first stage, after which the caller skips a position). */
static gint
run_stages (const Detector *d, const guint32 *p, gfloat inv, guint first)
{
  const NpHaarCascade *c = d->cascade;
  const NpHaarStage   *stages = (const NpHaarStage *) c->stages->data;

  if (first >= c->stages->len)
    return 1;
  if (d->stumps)
    {
      const Stump *s = d->stumps + stages[first].first_tree;
      for (guint si = first; si < c->stages->len; si++)
        {
          gdouble acc = 0;
          for (guint i = 0; i < stages[si].n_trees; i++, s++)
            acc += s->leaf[!(feature_value (&s->f, p) * inv < s->threshold)];
          if (acc < stages[si].threshold)
            return -(gint) si;
        }
      return 1;
    }
  else
    {
      const NpHaarTree *trees = (const NpHaarTree *) c->trees->data;
      const NpHaarNode *nodes = (const NpHaarNode *) c->nodes->data;
      const gfloat     *leaves = (const gfloat *) c->leaves->data;

      for (guint si = first; si < c->stages->len; si++)
        {
          gdouble acc = 0;
          for (guint i = 0; i < stages[si].n_trees; i++)
            {
              const NpHaarTree *tree = &trees[stages[si].first_tree + i];
              gint              idx = 0;
              do
                {
                  const NpHaarNode *n = &nodes[tree->first_node + idx];
                  gfloat v = feature_value (&d->features[n->feature], p) * inv;
                  idx = n->child[!(v < n->threshold)];
                }
              while (idx > 0);
              acc += leaves[tree->first_leaf - idx];
            }
          if (acc < stages[si].threshold)
            return -(gint) si;
        }
      return 1;
    }
}

/* Most windows die in the first two stages, so those are evaluated for a
 * whole row of windows at once, in loops the compiler vectorises (every
 * window of a row reads the same offsets, one column further on): the same
 * float and double operations in the same order per window as one at a
 * time, hence the same results. Windows the skip rule would not visit are
 * computed and ignored. */
#define BATCH_STAGES 2

typedef struct
{
  gfloat  *inv;                  /* 1/σ·area factor, as float */
  guint8  *ok;                   /* variance test passed */
  gdouble *acc[BATCH_STAGES];    /* leaf sums of the batched stages */
} Row;

static inline __attribute__((always_inline)) void
batch_row (const Detector *d, const guint32 *p, const guint32 *q, gint n,
           const gint step, guint n_stages, Row *row)
{
  const NpHaarStage *stages = (const NpHaarStage *) d->cascade->stages->data;
  const guint32     *n0 = p + d->norm[0], *n1 = p + d->norm[1], *n2 = p + d->norm[2],
                    *n3 = p + d->norm[3];
  const guint32     *q0 = q + d->norm[0], *q1 = q + d->norm[1], *q2 = q + d->norm[2],
                    *q3 = q + d->norm[3];
  const gdouble      area = d->norm_area;
  gfloat            *invs = row->inv;  /* locals: stores through row could alias row */
  guint8            *ok = row->ok;

  for (gint i = 0; i < n; i++)
    {
      gint    j = i * step;
      gint32  vs = (gint32) (n0[j] - n1[j] - n2[j] + n3[j]);
      guint32 vq = q0[j] - q1[j] - q2[j] + q3[j];
      /* (double) vq exactly, from signed halves: x86 before AVX-512 has no
       * vector conversion of unsigned ints. */
      gdouble sq = (gdouble) (gint32) (vq >> 1) * 2.0 + (gdouble) (gint32) (vq & 1);
      gdouble nf = area * sq - (gdouble) vs * (gdouble) vs;
      /* nf is an exact integer >= 0 (windows are at most 256², so every
       * term stays below 2^53); a flat window's 0 gives an infinite factor,
       * which fails the test below just as OpenCV rejects nf <= 0. */
      gfloat  inv = (gfloat) (1.0 / sqrt (nf));

      invs[i] = inv;
      ok[i] = area * inv < 0.1;
    }

  for (guint si = 0; si < n_stages; si++)
    {
      const Stump *s = d->stumps + stages[si].first_tree;
      gdouble     *acc = row->acc[si];

      for (gint i = 0; i < n; i++)
        acc[i] = 0;
      for (guint k = 0; k < stages[si].n_trees; k++, s++)
        {
          const OptFeature *f = &s->f;
          const guint32 *a0 = p + f->ofs[0][0], *a1 = p + f->ofs[0][1],
                        *a2 = p + f->ofs[0][2], *a3 = p + f->ofs[0][3];
          const guint32 *b0 = p + f->ofs[1][0], *b1 = p + f->ofs[1][1],
                        *b2 = p + f->ofs[1][2], *b3 = p + f->ofs[1][3];
          const guint32 *c0 = p + f->ofs[2][0], *c1 = p + f->ofs[2][1],
                        *c2 = p + f->ofs[2][2], *c3 = p + f->ofs[2][3];
          const gfloat   w0 = f->weight[0], w1 = f->weight[1], w2 = f->weight[2];
          const gfloat   threshold = s->threshold, left = s->leaf[0], right = s->leaf[1];

          for (gint i = 0; i < n; i++)
            {
              gint   j = i * step;
              gfloat v = w0 * (gfloat) (gint32) (a0[j] - a1[j] - a2[j] + a3[j]) +
                         w1 * (gfloat) (gint32) (b0[j] - b1[j] - b2[j] + b3[j]);
              v = v + w2 * (gfloat) (gint32) (c0[j] - c1[j] - c2[j] + c3[j]);
              acc[i] += (gdouble) (v * invs[i] < threshold ? left : right);
            }
        }
    }
}

/* One copy per step (a constant stride vectorises) and per instruction set. */
__attribute__((target_clones ("avx2", "default")))
static void
batch_row_step1 (const Detector *d, const guint32 *p, const guint32 *q, gint n,
                 guint n_stages, Row *row)
{
  batch_row (d, p, q, n, 1, n_stages, row);
}

__attribute__((target_clones ("avx2", "default")))
static void
batch_row_step2 (const Detector *d, const guint32 *p, const guint32 *q, gint n,
                 guint n_stages, Row *row)
{
  batch_row (d, p, q, n, 2, n_stages, row);
}

/* ---- levels ---------------------------------------------------------------- */

typedef struct
{
  guint32 *planes;     /* sum, [tilted,] squares */
  guint8  *pixels;     /* the resized image */
  guint32 *scratch;    /* tilted recurrences */
  Row      row;
} Scratch;

/* OpenCV's setWindow for one window: the variance factor, FALSE when the
 * window is too flat to judge. */
static gboolean
window_variance (const Detector *d, const guint32 *p, const guint32 *q, gfloat *inv)
{
  gint32  valsum = SUM (p, d->norm);
  guint32 valsq = (guint32) SUM (q, d->norm);
  gdouble nf = d->norm_area * valsq - (gdouble) valsum * valsum;

  if (nf <= 0.0)
    return FALSE;
  *inv = (gfloat) (1.0 / sqrt (nf));
  return d->norm_area * *inv < 0.1;
}

static void
add_box (GArray *found, const Level *lv, gint x, gint y)
{
  NpHaarBox box = { (gint) lrintf ((gfloat) x * lv->scale), (gint) lrintf ((gfloat) y * lv->scale),
                    lv->box_w, lv->box_h, 0 };
  g_array_append_val (found, box);
}

static void
scan_level (Detector *d, guint li, Scratch *s)
{
  const Level         *lv = &d->levels[li];
  const NpHaarCascade *c = d->cascade;
  const NpHaarStage   *stages = (const NpHaarStage *) c->stages->data;
  NpImage        small = np_image_view (NP_SAMPLE_U8, lv->width, lv->height, 1,
                                        s->pixels, lv->width);
  guint32       *sum = s->planes;
  guint32       *tilted = c->has_tilted ? s->planes + d->plane : NULL;
  guint32       *sq = s->planes + (c->has_tilted ? 2 : 1) * d->plane;
  /* Windows at x + width < level width + 1, as OpenCV's working size. */
  gint           span_w = MAX (lv->width + 1 - c->width, 0);
  gint           span_h = lv->rows;
  gint           n = (span_w + lv->step - 1) / lv->step;
  guint          n_batch = d->stumps ? MIN (BATCH_STAGES, c->stages->len) : 0;
  GArray        *found = d->found[li];

  np_resize_linear_exact_u8 (d->gray, &small);
  np_haar_integrals (s->pixels, lv->width, lv->height, lv->width, d->stride, sum, sq, tilted,
                     s->scratch);

  for (gint y = 0; y < span_h; y += lv->step)
    {
      const guint32 *p = sum + (gsize) y * d->stride, *q = sq + (gsize) y * d->stride;

      if (n_batch == 0)
        {
          for (gint x = 0; x < span_w; x += lv->step)
            {
              gfloat inv;
              gint   r = window_variance (d, p + x, q + x, &inv) ? run_stages (d, p + x, inv, 0) : -1;

              if (r > 0)
                add_box (found, lv, x, y);
              else if (r == 0)
                x += lv->step;
            }
          continue;
        }

      if (lv->step == 1)
        batch_row_step1 (d, p, q, n, n_batch, &s->row);
      else
        batch_row_step2 (d, p, q, n, n_batch, &s->row);
      for (gint i = 0; i < n; i++)
        {
          gint r;

          if (!s->row.ok[i])
            r = -1;
          else
            {
              guint si = 0;
              while (si < n_batch && s->row.acc[si][i] >= stages[si].threshold)
                si++;
              r = si < n_batch ? -(gint) si
                               : run_stages (d, p + i * lv->step, s->row.inv[i], n_batch);
            }
          if (r > 0)
            add_box (found, lv, i * lv->step, y);
          else if (r == 0)
            i++;  /* OpenCV skips the next position after a first-stage reject */
        }
    }
}

static void
scratch_free (Scratch *s)
{
  g_free (s->planes);
  g_free (s->pixels);
  g_free (s->scratch);
  g_free (s->row.inv);
  g_free (s->row.ok);
  for (gint k = 0; k < BATCH_STAGES; k++)
    g_free (s->row.acc[k]);
}

/* One worker's memory, sized for the largest level; FALSE when it cannot
 * be had (a huge image), so the caller can fail with a message. */
static gboolean
scratch_init (Scratch *s, const Detector *d)
{
  gint  max_w = d->levels[0].width, max_h = d->levels[0].height;
  gsize row_len = (gsize) max_w + 1;
  gboolean ok;

  memset (s, 0, sizeof *s);
  s->planes = g_try_new (guint32, (d->cascade->has_tilted ? 3 : 2) * d->plane);
  s->pixels = g_try_new (guint8, (gsize) max_w * max_h);
  s->scratch = g_try_new (guint32, NP_HAAR_INTEGRAL_SCRATCH (max_w));
  s->row.inv = g_try_new (gfloat, row_len);
  s->row.ok = g_try_new (guint8, row_len);
  ok = s->planes && s->pixels && s->scratch && s->row.inv && s->row.ok;
  for (gint k = 0; k < BATCH_STAGES; k++)
    ok &= (s->row.acc[k] = g_try_new (gdouble, row_len)) != NULL;
  if (!ok)
    scratch_free (s);
  return ok;
}

typedef struct
{
  Detector *detector;
  Scratch  *scratch;   /* one per part */
} Workers;

static void
scan_levels (gsize start, gsize end, guint part, gpointer user_data)
{
  Workers *w = user_data;
  gint     li;

  while ((li = g_atomic_int_add (&w->detector->next_level, 1)) < (gint) w->detector->n_levels)
    scan_level (w->detector, li, &w->scratch[part]);
}

/* The pyramid as OpenCV 4.6's detectMultiScale builds it: factors 1, f, f²,
 * … (double) while the rounded window fits the image, kept as floats; those
 * whose window (from the float factor) lies within min/max become levels.
 * When none does, the one factor whose window is nearest the minimum size
 * (squared distance, first of equals) is used alone — OpenCV's rule for
 * minSize == maxSize between two factors, which also applies to a minimum
 * larger than any window. */
static void
add_level (GArray *levels, const NpHaarCascade *c, gint width, gint height, gfloat scale)
{
  Level lv;

  lv.scale = scale;
  lv.width = (gint) lrintf ((gfloat) width / scale);
  lv.height = (gint) lrintf ((gfloat) height / scale);
  lv.step = scale >= 2 ? 1 : 2;
  lv.box_w = (gint) lrintf ((gfloat) c->width * scale);
  lv.box_h = (gint) lrintf ((gfloat) c->height * scale);
  g_array_append_val (levels, lv);
}

static Level *
make_levels (const NpHaarCascade *c, gint width, gint height, const NpHaarParams *params,
             guint *n_levels)
{
  GArray  *factors = g_array_new (FALSE, FALSE, sizeof (gfloat));
  GArray  *levels = g_array_new (FALSE, FALSE, sizeof (Level));
  gboolean no_max = params->max_width == 0 || params->max_height == 0;
  gint     max_w = no_max ? width : params->max_width;
  gint     max_h = no_max ? height : params->max_height;

  for (gdouble factor = 1; ; factor *= params->scale_factor)
    {
      gfloat f = (gfloat) factor;
      if (lrint (c->width * factor) > width || lrint (c->height * factor) > height)
        break;
      g_array_append_val (factors, f);
    }

  for (guint i = 0; i < factors->len; i++)
    {
      gfloat scale = g_array_index (factors, gfloat, i);
      gint   win_w = (gint) lrintf ((gfloat) c->width * scale);
      gint   win_h = (gint) lrintf ((gfloat) c->height * scale);

      if (win_w > max_w || win_h > max_h)
        break;
      if (win_w >= params->min_width && win_h >= params->min_height)
        add_level (levels, c, width, height, scale);
    }

  if (levels->len == 0 && factors->len > 0)
    {
      gint64 best = G_MAXINT64;
      gfloat nearest = 1;

      for (guint i = 0; i < factors->len; i++)
        {
          gfloat scale = g_array_index (factors, gfloat, i);
          gint64 dx = params->min_width - lrintf ((gfloat) c->width * scale);
          gint64 dy = params->min_height - lrintf ((gfloat) c->height * scale);

          if (dx * dx + dy * dy < best)
            {
              best = dx * dx + dy * dy;
              nearest = scale;
            }
        }
      add_level (levels, c, width, height, nearest);
    }

  /* OpenCV cuts each level's rows into as many stripes as the first level
   * has 32-window columns, of (rows / step + stripes − 1) / stripes steps
   * each: the integer division drops the last row of windows when the rows
   * are odd at step 2 and the stripes do not make up for it (a small image,
   * e.g. the upper half of a face searched for eyes). We scan what it scans. */
  if (levels->len > 0)
    {
      Level *first = &g_array_index (levels, Level, 0);
      gint   stripes = (MAX (first->width + 1 - c->width, 0) + 31) / 32;

      for (guint i = 0; i < levels->len; i++)
        {
          Level *lv = &g_array_index (levels, Level, i);
          gint   rows = MAX (lv->height + 1 - c->height, 0);
          gint   stripe = stripes ? MAX ((rows / lv->step + stripes - 1) / stripes, 1) * lv->step : 0;

          lv->rows = MIN (rows, stripes * stripe);
        }
    }
  g_array_unref (factors);
  *n_levels = levels->len;
  return (Level *) g_array_free (levels, FALSE);
}

/* Like cv::CascadeClassifier::detectMultiScale, after grouping: boxes are
 * cut to the image, and any left empty are dropped. */
static void
clip_boxes (GArray *boxes, gint width, gint height)
{
  guint kept = 0;

  for (guint i = 0; i < boxes->len; i++)
    {
      NpHaarBox b = g_array_index (boxes, NpHaarBox, i);
      gint      x0 = MAX (b.x, 0), y0 = MAX (b.y, 0);
      gint      x1 = MIN (b.x + b.width, width), y1 = MIN (b.y + b.height, height);

      if (x1 > x0 && y1 > y0)
        g_array_index (boxes, NpHaarBox, kept++) =
          (NpHaarBox) { x0, y0, x1 - x0, y1 - y0, b.neighbours };
    }
  g_array_set_size (boxes, kept);
}

static gint
compare_boxes (gconstpointer pa, gconstpointer pb)
{
  const NpHaarBox *a = pa, *b = pb;
  gint64 area_a = (gint64) a->width * a->height, area_b = (gint64) b->width * b->height;

  if (area_a != area_b)
    return area_a > area_b ? -1 : 1;
  if (a->y != b->y)
    return a->y < b->y ? -1 : 1;
  return (a->x > b->x) - (a->x < b->x);
}

GArray *
np_haar_detect (const NpHaarCascade *cascade,
                const NpImage       *gray,
                const NpHaarParams  *params,
                gint                 n_threads,
                GError             **error)
{
  GArray   *result = g_array_new (FALSE, FALSE, sizeof (NpHaarBox));
  Detector  d = { 0 };
  NpHaarRect norm;

  g_return_val_if_fail (cascade != NULL && gray != NULL && params != NULL, NULL);
  g_return_val_if_fail (gray->type == NP_SAMPLE_U8 && gray->channels == 1, NULL);

  if (!(params->scale_factor > 1.0) || params->scale_factor > 100 ||
      params->min_neighbours < 0 || params->min_width < 0 || params->min_height < 0 ||
      params->max_width < 0 || params->max_height < 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "detection needs a scale factor in (1, 100] and sizes >= 0 "
                   "(got %g, min %d×%d, max %d×%d, %d neighbours)", params->scale_factor,
                   params->min_width, params->min_height, params->max_width,
                   params->max_height, params->min_neighbours);
      g_array_unref (result);
      return NULL;
    }

  d.cascade = cascade;
  d.gray = gray;
  d.levels = make_levels (cascade, gray->width, gray->height, params, &d.n_levels);
  if (d.n_levels == 0)
    {
      g_free (d.levels);
      return result;
    }

  /* One stride for all levels (the largest's), so features compile once. */
  d.stride = ((d.levels[0].width + 1) + 15) & ~15;
  d.plane = (gsize) d.stride * (d.levels[0].height + 1);
  /* Offsets into the planes are 32-bit, as OpenCV's. */
  if (3 * d.plane > G_MAXINT32)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE,
                   "a %d×%d image is too large to detect in (at most ~%d megapixels); "
                   "downscale it or raise the minimum size", gray->width, gray->height,
                   G_MAXINT32 / 3 / 1000000);
      g_free (d.levels);
      g_array_unref (result);
      return NULL;
    }
  norm = (NpHaarRect) { 1, 1, cascade->width - 2, cascade->height - 2, 1 };
  rect_offsets (&norm, FALSE, d.stride, 0, d.norm);
  d.norm_area = (gdouble) norm.width * norm.height;

  d.features = g_new (OptFeature, cascade->features->len);
  for (guint i = 0; i < cascade->features->len; i++)
    compile_feature (&g_array_index (cascade->features, NpHaarFeature, i), d.stride,
                     d.plane, &d.features[i]);
  if (cascade->max_nodes == 1)
    {
      d.stumps = g_new (Stump, cascade->nodes->len);
      for (guint i = 0; i < cascade->nodes->len; i++)
        {
          const NpHaarNode *n = &g_array_index (cascade->nodes, NpHaarNode, i);
          const NpHaarTree *t = &g_array_index (cascade->trees, NpHaarTree, i);
          const gfloat     *leaves = (const gfloat *) cascade->leaves->data;

          d.stumps[i] = (Stump) { d.features[n->feature], n->threshold,
                                  { leaves[t->first_leaf - n->child[0]],
                                    leaves[t->first_leaf - n->child[1]] } };
        }
    }

  d.found = g_new (GArray *, d.n_levels);
  for (guint i = 0; i < d.n_levels; i++)
    d.found[i] = g_array_new (FALSE, FALSE, sizeof (NpHaarBox));

  {
    guint    parts = np_parallel_parts (d.n_levels, 1, n_threads);
    Scratch *scratch = g_new0 (Scratch, parts);
    Workers  workers = { &d, scratch };
    guint    ready = 0;

    while (ready < parts && scratch_init (&scratch[ready], &d))
      ready++;
    if (ready == parts)
      np_parallel_for (parts, 1, n_threads, scan_levels, &workers);
    else
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE,
                   "cannot allocate the integral images of a %d×%d image", gray->width,
                   gray->height);
    for (guint i = 0; i < ready; i++)
      scratch_free (&scratch[i]);
    g_free (scratch);
    if (ready < parts)
      {
        for (guint i = 0; i < d.n_levels; i++)
          g_array_unref (d.found[i]);
        g_clear_pointer (&result, g_array_unref);
      }
  }

  for (guint i = 0; result && i < d.n_levels; i++)
    {
      g_array_append_vals (result, d.found[i]->data, d.found[i]->len);
      g_array_unref (d.found[i]);
    }
  g_free (d.found);
  g_free (d.stumps);
  g_free (d.features);
  g_free (d.levels);
  if (result == NULL)
    return NULL;

  np_haar_group (result, params->min_neighbours, 0.2);
  clip_boxes (result, gray->width, gray->height);
  g_array_sort (result, compare_boxes);
  return result;
}

/* ---- grouping ------------------------------------------------------------- */

static gboolean
similar (const NpHaarBox *a, const NpHaarBox *b, gdouble eps)
{
  gdouble delta = eps * (MIN (a->width, b->width) + MIN (a->height, b->height)) * 0.5;

  return abs (a->x - b->x) <= delta && abs (a->y - b->y) <= delta &&
         abs (a->x + a->width - b->x - b->width) <= delta &&
         abs (a->y + a->height - b->y - b->height) <= delta;
}

static guint
find_root (guint *parent, guint i)
{
  while (parent[i] != i)
    {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
  return i;
}

/* OpenCV's groupRectangles: classes are the connected components of the
 * "similar" relation (cv::partition); each class is averaged (float 1/n,
 * rounded half to even); classes with at most min_neighbours members are
 * dropped, and so are classes lying inside a stronger one. */
void
np_haar_group (GArray *boxes, gint min_neighbours, gdouble eps)
{
  guint      n = boxes->len, n_classes = 0;
  NpHaarBox *b = (NpHaarBox *) boxes->data;
  guint     *parent, *label;
  gint64    *acc;
  gint      *count;
  NpHaarBox *avg;

  if (min_neighbours <= 0 || n == 0)
    return;

  parent = g_new (guint, n);
  label = g_new (guint, n);
  for (guint i = 0; i < n; i++)
    parent[i] = i;
  for (guint i = 0; i < n; i++)
    for (guint j = i + 1; j < n; j++)
      if (similar (&b[i], &b[j], eps))
        {
          guint ri = find_root (parent, i), rj = find_root (parent, j);
          if (ri != rj)
            parent[MAX (ri, rj)] = MIN (ri, rj);
        }

  /* Classes numbered by first appearance, as cv::partition does. */
  for (guint i = 0; i < n; i++)
    label[i] = G_MAXUINT;
  for (guint i = 0; i < n; i++)
    {
      guint r = find_root (parent, i);
      if (label[r] == G_MAXUINT)
        label[r] = n_classes++;
      label[i] = label[r];
    }

  acc = g_new0 (gint64, 4 * n_classes);
  count = g_new0 (gint, n_classes);
  avg = g_new (NpHaarBox, n_classes);
  for (guint i = 0; i < n; i++)
    {
      gint64 *a = acc + 4 * label[i];
      a[0] += b[i].x; a[1] += b[i].y; a[2] += b[i].width; a[3] += b[i].height;
      count[label[i]]++;
    }
  for (guint k = 0; k < n_classes; k++)
    {
      gfloat  s = 1.0f / count[k];
      gint64 *a = acc + 4 * k;
      /* OpenCV sums in int and scales in float. */
      avg[k] = (NpHaarBox) { (gint) lrintf ((gfloat) (gint) a[0] * s),
                             (gint) lrintf ((gfloat) (gint) a[1] * s),
                             (gint) lrintf ((gfloat) (gint) a[2] * s),
                             (gint) lrintf ((gfloat) (gint) a[3] * s), count[k] };
    }

  g_array_set_size (boxes, 0);
  for (guint i = 0; i < n_classes; i++)
    {
      const NpHaarBox *r1 = &avg[i];
      gint             n1 = count[i];
      guint            j;

      if (n1 <= min_neighbours)
        continue;
      for (j = 0; j < n_classes; j++)
        {
          const NpHaarBox *r2 = &avg[j];
          gint n2 = count[j], dx, dy;

          if (j == i || n2 <= min_neighbours)
            continue;
          dx = (gint) lrint (r2->width * eps);
          dy = (gint) lrint (r2->height * eps);
          if (r1->x >= r2->x - dx && r1->y >= r2->y - dy &&
              r1->x + r1->width <= r2->x + r2->width + dx &&
              r1->y + r1->height <= r2->y + r2->height + dy &&
              (n2 > MAX (3, n1) || n1 < 3))
            break;
        }
      if (j == n_classes)
        g_array_append_val (boxes, *r1);
    }

  g_free (parent);
  g_free (label);
  g_free (acc);
  g_free (count);
  g_free (avg);
}

/* ---- gray, eyes, output ------------------------------------------------------ */

NpImage *
np_haar_gray (const NpImage *image, GError **error)
{
  NpImage *gray;

  g_return_val_if_fail (image != NULL && image->type == NP_SAMPLE_U8, NULL);

  gray = np_image_new (NP_SAMPLE_U8, image->width, image->height, 1, error);
  if (gray == NULL)
    return NULL;
  for (gint y = 0; y < image->height; y++)
    {
      const guint8 *in = np_image_row (image, y);
      guint8       *out = np_image_row (gray, y);

      if (image->channels < 3)
        for (gint x = 0; x < image->width; x++)
          out[x] = in[x * image->channels];
      else
        /* OpenCV 4.6's BGR2GRAY on 8 bits: BT.601 weights in 15-bit fixed
         * point (its SIMD path; the 14-bit table of older versions rounds
         * differently on ~0.3% of colours), rounded half up. */
        for (gint x = 0; x < image->width; x++, in += image->channels)
          out[x] = (guint8) ((in[0] * 9798 + in[1] * 19235 + in[2] * 3735 + 16384) >> 15);
    }
  return gray;
}

GArray *
np_haar_find_eyes (const NpHaarCascade *eye_cascade,
                   const NpImage       *gray,
                   const NpHaarBox     *face,
                   gint                 n_threads,
                   GError             **error)
{
  gint         x = MAX (face->x, 0), y = MAX (face->y, 0);
  gint         w = MIN (face->x + face->width, gray->width) - x;
  gint         h = MIN (face->y + face->height / 2, gray->height) - y;
  NpHaarParams params = { 1.1, 3, MAX (face->width / 10, 0), MAX (face->width / 10, 0), 0, 0 };
  NpImage      upper;
  GArray      *eyes;

  if (w <= 0 || h <= 0)
    return g_array_new (FALSE, FALSE, sizeof (NpHaarBox));
  upper = np_image_view (NP_SAMPLE_U8, w, h, 1,
                         (guint8 *) np_image_row (gray, y) + x, gray->stride);
  eyes = np_haar_detect (eye_cascade, &upper, &params, n_threads, error);
  for (guint i = 0; eyes && i < eyes->len; i++)
    {
      g_array_index (eyes, NpHaarBox, i).x += x;
      g_array_index (eyes, NpHaarBox, i).y += y;
    }
  return eyes;
}

gboolean
np_haar_verify_eyes (const NpHaarCascade *eye_cascade,
                     const NpImage       *gray,
                     GArray              *faces,
                     gint                 n_threads,
                     GError             **error)
{
  guint kept = 0;

  for (guint i = 0; i < faces->len; i++)
    {
      const NpHaarBox *f = &g_array_index (faces, NpHaarBox, i);
      GArray          *eyes = np_haar_find_eyes (eye_cascade, gray, f, n_threads, error);

      if (eyes == NULL)
        return FALSE;
      if (eyes->len > 0)
        g_array_index (faces, NpHaarBox, kept++) = *f;
      g_array_unref (eyes);
    }
  g_array_set_size (faces, kept);
  return TRUE;
}

gchar *
np_haar_boxes_json (const GArray *boxes)
{
  GString *json = g_string_new ("[");

  for (guint i = 0; i < boxes->len; i++)
    {
      const NpHaarBox *b = &g_array_index (boxes, NpHaarBox, i);
      g_string_append_printf (json, "%s{\"x\": %d, \"y\": %d, \"w\": %d, \"h\": %d}",
                              i ? ", " : "", b->x, b->y, b->width, b->height);
    }
  g_string_append_c (json, ']');
  return g_string_free (json, FALSE);
}
