/* neuropaint — a chroma-bins target's training side (np-train.h): its
 * classes and their rebalancing weights from the training photos, and its
 * loss, after Zhang et al. 2016 ("Colorful Image Colorization", section 2).
 *
 * Units: chroma on 0–255 (255·Cb, 255·Cr), the scale the bins' centres are
 * stored on. Zhang et al. quantise ab on a grid of 10 with σ = 5 for the
 * soft encoding and the smoothing; BT.601 chroma spans 1–1.3 times ab's
 * range for the sRGB primaries, and our grid is NP_CHROMA_BIN_STEP = 16, so
 * σ keeps their ratio to the grid: half a step, 8. */
#include "np-train.h"
#include "util/np-parallel.h"

#include <math.h>
#include <string.h>

NpChromaBins *
np_chroma_bins_from_counts (const guint64 *counts)
{
  const gint          half = NP_CHROMA_BIN_GRID / 2;
  gint                n = 0;
  guint64             total = 0;
  NpChromaBins       *bins;
  g_autofree gdouble *p = NULL, *smooth = NULL;
  gdouble             sum = 0, mean = 0;

  for (gint i = 0; i < NP_CHROMA_BIN_GRID * NP_CHROMA_BIN_GRID; i++)
    n += counts[i] > 0, total += counts[i];
  if (n == 0)
    return NULL;
  bins = np_chroma_bins_new (n);
  p = g_new (gdouble, n);
  smooth = g_new0 (gdouble, n);
  n = 0;
  for (gint i = 0; i < NP_CHROMA_BIN_GRID * NP_CHROMA_BIN_GRID; i++)
    if (counts[i] > 0)
      {
        bins->cb[n] = (i / NP_CHROMA_BIN_GRID - half) * NP_CHROMA_BIN_STEP;
        bins->cr[n] = (i % NP_CHROMA_BIN_GRID - half) * NP_CHROMA_BIN_STEP;
        p[n++] = (gdouble) counts[i] / (gdouble) total;
      }

  /* p̃: the empirical distribution smoothed over the bins, normalised. */
  for (gint k = 0; k < n; k++)
    {
      for (gint j = 0; j < n; j++)
        {
          gdouble dcb = bins->cb[k] - bins->cb[j], dcr = bins->cr[k] - bins->cr[j];
          smooth[k] += p[j] * exp (-(dcb * dcb + dcr * dcr) / (2 * NP_CHROMA_BIN_SIGMA * NP_CHROMA_BIN_SIGMA));
        }
      sum += smooth[k];
    }
  /* w ∝ ((1 − λ)·p̃ + λ/K)⁻¹, scaled so that E_p̃[w] = Σ p̃·w = 1. */
  for (gint k = 0; k < n; k++)
    {
      smooth[k] /= sum;
      p[k] = 1 / ((1 - NP_CHROMA_BIN_LAMBDA) * smooth[k] + NP_CHROMA_BIN_LAMBDA / n);
      mean += smooth[k] * p[k];
    }
  for (gint k = 0; k < n; k++)
    bins->weight[k] = (gfloat) (p[k] / mean);
  return bins;
}

/* ---- The loss --------------------------------------------------------------- */

typedef struct
{
  const NpTensor     *pred, *target;
  const NpChromaBins *bins;
  gint               *cell;      /* the bin at each grid point, or −1 */
  gfloat              scale;     /* weight / pixels */
  NpTensor           *grad;
  gdouble            *row_sums;  /* each row's loss, summed in order afterwards */
} Loss;

/* Keeps the NP_CHROMA_BIN_NEAREST nearest bins, ordered by distance, then
 * bin index (so any order of visits finds the same). */
static void
consider (gint k, gdouble d2, gint *near, gdouble *near_d2, gint *found)
{
  gint i = MIN (*found, NP_CHROMA_BIN_NEAREST);

  if (i == NP_CHROMA_BIN_NEAREST && (d2 > near_d2[i - 1] || (d2 == near_d2[i - 1] && k > near[i - 1])))
    return;
  if (i == NP_CHROMA_BIN_NEAREST)
    i--;
  while (i > 0 && (d2 < near_d2[i - 1] || (d2 == near_d2[i - 1] && k < near[i - 1])))
    {
      near[i] = near[i - 1], near_d2[i] = near_d2[i - 1];
      i--;
    }
  near[i] = k, near_d2[i] = d2;
  (*found)++;
}

/* The nearest bins to (cb, cr) (on 0–255): first among the grid points
 * within 2 of the nearest one, which is enough when the last kept lies
 * closer than 2.5 steps (any point further out on the grid is at least that
 * far), else among all. Returns how many (fewer only with fewer bins). */
static gint
nearest (const Loss *l, gdouble cb, gdouble cr, gint *near, gdouble *near_d2)
{
  const NpChromaBins *bins = l->bins;
  const gint          half = NP_CHROMA_BIN_GRID / 2;
  gdouble             u = cb / NP_CHROMA_BIN_STEP, v = cr / NP_CHROMA_BIN_STEP;
  gint                ci = (gint) lrint (u), cj = (gint) lrint (v), found = 0;

  if (ci >= -half && ci <= half && cj >= -half && cj <= half)
    {
      for (gint i = MAX (ci - 2, -half); i <= MIN (ci + 2, half); i++)
        for (gint j = MAX (cj - 2, -half); j <= MIN (cj + 2, half); j++)
          {
            gint k = l->cell[(i + half) * NP_CHROMA_BIN_GRID + j + half];
            if (k >= 0)
              {
                gdouble dcb = cb - bins->cb[k], dcr = cr - bins->cr[k];
                consider (k, dcb * dcb + dcr * dcr, near, near_d2, &found);
              }
          }
      if (found >= NP_CHROMA_BIN_NEAREST
          && near_d2[NP_CHROMA_BIN_NEAREST - 1] < 6.25 * NP_CHROMA_BIN_STEP * NP_CHROMA_BIN_STEP)
        return NP_CHROMA_BIN_NEAREST;
    }
  found = 0;
  for (gint k = 0; k < bins->n; k++)
    {
      gdouble dcb = cb - bins->cb[k], dcr = cr - bins->cr[k];
      consider (k, dcb * dcb + dcr * dcr, near, near_d2, &found);
    }
  return MIN (found, NP_CHROMA_BIN_NEAREST);
}

/* Rows [start, end) of the logits (row r: image r / H, line r % H), a row
 * at a time and each bin's plane along it, so the logits are read in order.
 * Each logit pixel stands for the f×f truth pixels it covers (f = 2 for the
 * half-size head): its loss is theirs summed, as if the logits were
 * repeated over them (nearest), with a softmax computed once. */
static void
loss_rows (gsize start, gsize end, guint part, gpointer data)
{
  const Loss         *l = data;
  const NpChromaBins *bins = l->bins;
  gint64              w = l->pred->ne[0], h = l->pred->ne[1], f = l->target->ne[0] / w;
  gint                n_bins = bins->n, per = (gint) (f * f) * NP_CHROMA_BIN_NEAREST;
  gsize               plane = (gsize) (w * h);
  g_autofree gfloat  *e = g_new (gfloat, (gsize) n_bins * w), *top = g_new (gfloat, w);
  g_autofree gfloat  *sum = g_new (gfloat, w), *total = g_new (gfloat, w);
  g_autofree gfloat  *soft = g_new (gfloat, per * w);
  g_autofree gint    *near = g_new (gint, per * w), *found = g_new (gint, w);

  for (gsize r = start; r < end; r++)
    {
      gint64        n = (gint64) r / h, y = (gint64) r % h;
      const gfloat *z = np_tensor_at (l->pred, 0, y, 0, n);
      gdouble       row = 0;

      /* softmax from each pixel's largest logit: e = exp(z − top), sum. */
      for (gint64 x = 0; x < w; x++)
        top[x] = -INFINITY, sum[x] = 0;
      for (gint k = 0; k < n_bins; k++)
        for (gint64 x = 0; x < w; x++)
          top[x] = MAX (top[x], z[k * plane + x]);
      for (gint k = 0; k < n_bins; k++)
        for (gint64 x = 0; x < w; x++)
          sum[x] += e[k * w + x] = expf (z[k * plane + x] - top[x]);

      for (gint64 x = 0; x < w; x++)
        {
          gint   *nx = near + per * x;
          gfloat *sx = soft + per * x;
          gdouble log_sum = log (sum[x]), px = 0, weights = 0;

          found[x] = 0;
          for (gint64 ty = f * y; ty < f * y + f; ty++)
            for (gint64 tx = f * x; tx < f * x + f; tx++)
              {
                gint   *nt = nx + found[x];
                gfloat *st = sx + found[x];
                gdouble d2[NP_CHROMA_BIN_NEAREST], soft_sum = 0, rebalance;
                /* The soft encoding of the truth (values are Cb·2, Cr·2),
                 * times the rebalancing weight of its nearest bin. */
                gint    got = nearest (l, *np_tensor_at (l->target, tx, ty, 0, n) * 127.5,
                                       *np_tensor_at (l->target, tx, ty, 1, n) * 127.5, nt, d2);

                for (gint q = 0; q < got; q++)
                  soft_sum += d2[q] = exp (-d2[q] / (2 * NP_CHROMA_BIN_SIGMA * NP_CHROMA_BIN_SIGMA));
                rebalance = bins->weight[nt[0]];
                for (gint q = 0; q < got; q++)
                  {
                    gdouble share = d2[q] / soft_sum;
                    px -= rebalance * share * ((gdouble) z[nt[q] * plane + x] - top[x] - log_sum);
                    st[q] = (gfloat) (rebalance * share);
                  }
                weights += rebalance;
                found[x] += got;
              }
          row += px;
          total[x] = (gfloat) weights;
        }
      l->row_sums[r] = row;
      if (l->grad == NULL)
        continue;

      /* d/dz = Σ w·(softmax − encoding), scaled. */
      {
        gfloat *g = np_tensor_at (l->grad, 0, y, 0, n);
        for (gint k = 0; k < n_bins; k++)
          for (gint64 x = 0; x < w; x++)
            g[k * plane + x] += l->scale * total[x] * e[k * w + x] / sum[x];
        for (gint64 x = 0; x < w; x++)
          for (gint q = 0; q < found[x]; q++)
            g[near[per * x + q] * plane + x] -= l->scale * soft[per * x + q];
      }
    }
}

double
np_chroma_bins_loss (const NpTensor *pred, const NpTensor *target, const NpChromaBins *bins, gfloat weight,
                     NpTensor *grad, gint n_threads)
{
  const gint         half = NP_CHROMA_BIN_GRID / 2;
  gsize              rows = (gsize) (pred->ne[1] * pred->ne[3]);
  g_autofree gint    *cell = g_new (gint, NP_CHROMA_BIN_GRID * NP_CHROMA_BIN_GRID);
  g_autofree gdouble *row_sums = g_new (gdouble, rows);
  /* The mean over the truth's pixels. */
  gdouble            count = (gdouble) target->ne[0] * target->ne[1] * target->ne[3], sum = 0;
  Loss               l = { pred, target, bins, cell, (gfloat) (weight / count), grad, row_sums };
  gint64             f = target->ne[0] / MAX (pred->ne[0], 1);

  g_return_val_if_fail (bins != NULL && pred->ne[2] == bins->n && target->ne[2] == 2, NAN);
  g_return_val_if_fail ((f == 1 || f == 2) && f * pred->ne[0] == target->ne[0] && f * pred->ne[1] == target->ne[1]
                        && pred->ne[3] == target->ne[3], NAN);
  g_return_val_if_fail (grad == NULL || np_tensor_same_shape (grad, pred), NAN);

  for (gint i = 0; i < NP_CHROMA_BIN_GRID * NP_CHROMA_BIN_GRID; i++)
    cell[i] = -1;
  for (gint k = 0; k < bins->n; k++)
    cell[(bins->cb[k] / NP_CHROMA_BIN_STEP + half) * NP_CHROMA_BIN_GRID + bins->cr[k] / NP_CHROMA_BIN_STEP + half] = k;
  /* Each pixel's gradient is its own; the loss is the rows' in order. */
  np_parallel_for (rows, 1, n_threads, loss_rows, &l);
  for (gsize r = 0; r < rows; r++)
    sum += row_sums[r];
  return sum / count;
}
