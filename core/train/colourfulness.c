/* neuropaint — the colourfulness term (np-train.h): how far each output's
 * colourfulness is from its photo's.
 *
 * A colouriser trained on L1 alone predicts, where a colour is uncertain
 * (a shirt, a background), the median of the colours it could be: dull
 * browns and grays, about two thirds of the photos' colourfulness
 * (docs/models.md). DDColor (Kang et al. 2023) adds a colourfulness term for
 * this; ours asks each output to be as colourful as its own photo, no more,
 * so a gray-ish photo is not painted loud. */
#include "np-train.h"
#include "image/np-colour.h"

#include <math.h>

double
np_colourfulness_loss (const NpTensor *pred, const NpTensor *target, NpModelTarget kind, gfloat weight,
                       NpTensor *grad)
{
  gint64             plane = pred->ne[0] * pred->ne[1], images = pred->ne[3];
  gint               channels = (gint) pred->ne[2];
  gfloat             rg_of[3], yb_of[3];
  g_autofree gfloat *rg = g_new (gfloat, plane), *yb = g_new (gfloat, plane);
  g_autofree gfloat *d_rg = g_new (gfloat, plane), *d_yb = g_new (gfloat, plane);
  double             sum = 0;

  g_return_val_if_fail (np_tensor_same_shape (pred, target), NAN);
  g_return_val_if_fail (grad == NULL || np_tensor_same_shape (grad, pred), NAN);
  g_return_val_if_fail (channels == np_model_target_values (kind), NAN);
  if (!np_model_target_opponents (kind, rg_of, yb_of))
    g_return_val_if_reached (NAN);

  for (gint64 n = 0; n < images; n++)
    {
      double c[2];

      /* The photo's colourfulness, then the output's with its derivative. */
      for (gint which = 1; which >= 0; which--)
        {
          const NpTensor *t = which ? target : pred;
          for (gint64 i = 0; i < plane; i++)
            {
              rg[i] = yb[i] = 0;
              for (gint k = 0; k < channels; k++)
                {
                  gfloat v = np_tensor_at (t, 0, 0, k, n)[i];
                  rg[i] += rg_of[k] * v, yb[i] += yb_of[k] * v;
                }
            }
          c[which] = np_colourfulness (rg, yb, plane, which ? NULL : d_rg, which ? NULL : d_yb);
        }
      sum += fabs (c[0] - c[1]);
      if (grad == NULL || c[0] == c[1])
        continue;
      /* d|C − C_photo|/d value_k = sign · (dC/d rg · rg_of[k] + dC/d yb · yb_of[k]). */
      for (gint k = 0; k < channels; k++)
        {
          gfloat  scale = (gfloat) (c[0] > c[1] ? weight : -weight) / (gfloat) images;
          gfloat *g = np_tensor_at (grad, 0, 0, k, n);
          for (gint64 i = 0; i < plane; i++)
            g[i] += scale * (d_rg[i] * rg_of[k] + d_yb[i] * yb_of[k]);
        }
    }
  return sum / images;
}
