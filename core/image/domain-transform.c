/* neuropaint — the domain transform's recursive filter (np-domain-transform.h). */
#include "np-domain-transform.h"

#include <math.h>

/* The weight between each pair of neighbours along a line of n samples
 * (guide at g, stride apart): a^(1 + σ_s/σ_r·|Δg|), a = exp(−√2/σ). */
static void
line_weights (const gfloat *g, gsize stride, gint n, gdouble ratio, gdouble log_a, gfloat *w)
{
  for (gint i = 0; i + 1 < n; i++)
    {
      gdouble d = 1 + ratio * fabs ((gdouble) g[(i + 1) * stride] - g[i * stride]);
      w[i] = (gfloat) exp (d * log_a);
    }
}

/* One recursive pass forwards and back along a line of n samples of c
 * channels, stride floats apart. */
static void
smooth_line (gfloat *p, gsize stride, gint n, gint c, const gfloat *w)
{
  for (gint i = 1; i < n; i++)
    for (gint k = 0; k < c; k++)
      p[i * stride + k] += w[i - 1] * (p[(i - 1) * stride + k] - p[i * stride + k]);
  for (gint i = n - 2; i >= 0; i--)
    for (gint k = 0; k < c; k++)
      p[i * stride + k] += w[i] * (p[(i + 1) * stride + k] - p[i * stride + k]);
}

void
np_domain_transform (NpImage *planes, const NpImage *guide, gdouble sigma_space, gdouble sigma_range,
                     gint iterations)
{
  gint      w = planes->width, h = planes->height, c = planes->channels;
  gdouble   ratio = isinf (sigma_range) ? 0 : sigma_space / sigma_range;
  gsize     row_stride = planes->stride / sizeof (gfloat), guide_stride = guide->stride / sizeof (gfloat);
  g_autofree gfloat *weights = NULL;

  g_return_if_fail (planes->type == NP_SAMPLE_F32 && guide->type == NP_SAMPLE_F32);
  g_return_if_fail (guide->channels == 1 && guide->width == w && guide->height == h);
  g_return_if_fail (sigma_space > 0 && sigma_range > 0 && iterations >= 1);

  weights = g_new (gfloat, MAX (w, h));
  for (gint it = 0; it < iterations; it++)
    {
      gdouble sigma = sigma_space * sqrt (3.0) * ldexp (1.0, iterations - it - 1)
                      / sqrt (ldexp (1.0, 2 * iterations) - 1);
      gdouble log_a = -sqrt (2.0) / sigma;

      for (gint y = 0; y < h; y++)
        {
          line_weights (np_image_row (guide, y), 1, w, ratio, log_a, weights);
          smooth_line (np_image_row (planes, y), c, w, c, weights);
        }
      for (gint x = 0; x < w; x++)
        {
          line_weights ((const gfloat *) np_image_row (guide, 0) + x, guide_stride, h, ratio, log_a, weights);
          smooth_line ((gfloat *) np_image_row (planes, 0) + (gsize) x * c, row_stride, h, c, weights);
        }
    }
}

gboolean
np_domain_transform_spread (NpImage *planes, const NpImage *guide, gdouble sigma_space, gdouble sigma_range,
                            GError **error)
{
  gint               w = planes->width, h = planes->height, c = planes->channels;
  g_autoptr(NpImage) unbounded = NULL;
  gboolean           any = FALSE;

  g_return_val_if_fail (planes->type == NP_SAMPLE_F32 && c >= 1, FALSE);
  for (gint y = 0; y < h && !any; y++)
    for (gint x = 0; x < w && !any; x++)
      any = ((const gfloat *) np_image_row (planes, y))[(gsize) x * c + c - 1] > 0;
  if (!any)
    return TRUE;   /* all zeros already */
  if ((unbounded = np_image_new (NP_SAMPLE_F32, w, h, 1, error)) == NULL)
    return FALSE;
  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      ((gfloat *) np_image_row (unbounded, y))[x] = ((const gfloat *) np_image_row (planes, y))[(gsize) x * c + c - 1];
  np_domain_transform (planes, guide, sigma_space, sigma_range, 3);
  np_domain_transform (unbounded, guide, sigma_space, INFINITY, 3);
  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      {
        gfloat *p = (gfloat *) np_image_row (planes, y) + (gsize) x * c;
        gfloat  m = p[c - 1], u = ((const gfloat *) np_image_row (unbounded, y))[x];
        /* Beyond a float's reach of every sample: nothing. */
        gfloat  q = m > 1e-30f && u > 1e-30f ? MIN (1.0f, m / u) : 0;

        for (gint k = 0; k + 1 < c; k++)
          p[k] = q > 0 ? p[k] / m * q : 0;
        p[c - 1] = q;
      }
  return TRUE;
}
