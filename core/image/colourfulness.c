/* neuropaint — Hasler and Süsstrunk's colourfulness (np-colour.h). */
#include "np-colour.h"

double
np_colourfulness (const gfloat *rg, const gfloat *yb, gint64 n, gfloat *d_rg, gfloat *d_yb)
{
  double mean_rg = 0, mean_yb = 0, var = 0, spread, offset;

  g_return_val_if_fail (n > 0, NAN);

  for (gint64 i = 0; i < n; i++)
    mean_rg += rg[i], mean_yb += yb[i];
  mean_rg /= n, mean_yb /= n;
  /* σ_rg² + σ_yb² about the means, not E[x²] − μ², which cancels badly. */
  for (gint64 i = 0; i < n; i++)
    {
      double a = rg[i] - mean_rg, b = yb[i] - mean_yb;
      var += a * a + b * b;
    }
  spread = sqrt (var / n);
  offset = sqrt (mean_rg * mean_rg + mean_yb * mean_yb);

  if (d_rg && d_yb)
    {
      /* d spread/d x_i = (x_i − μ_x)/(n·spread): the deviations' terms sum
       * to zero over i, so μ's own dependence on x_i drops out; d offset/d
       * x_i = μ_x/(n·offset). */
      double by_spread = spread > 0 ? 1.0 / (n * spread) : 0, by_offset = offset > 0 ? 0.3 / (n * offset) : 0;
      for (gint64 i = 0; i < n; i++)
        {
          d_rg[i] = (gfloat) ((rg[i] - mean_rg) * by_spread + mean_rg * by_offset);
          d_yb[i] = (gfloat) ((yb[i] - mean_yb) * by_spread + mean_yb * by_offset);
        }
    }
  return spread + 0.3 * offset;
}
