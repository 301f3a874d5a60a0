/* neuropaint — colour as luminance and chroma.
 *
 * JPEG's YCbCr (ITU-R BT.601 weights, full range) on R'G'B' in [0, 1]:
 * Y = 0.299 R + 0.587 G + 0.114 B in [0, 1] (the gray filter's luma), Cb and
 * Cr in [-0.5, 0.5]. Colourisers predict only the chroma and put it on the
 * photo's own luminance, which keeps every detail of the photo (Zhang et
 * al., "Colorful image colorization", 2016, do the same in Lab). */
#pragma once

#include <glib.h>
#include <math.h>

G_BEGIN_DECLS

#define NP_LUMA_R 0.299f
#define NP_LUMA_G 0.587f
#define NP_LUMA_B 0.114f

static inline void
np_ycbcr_from_rgb (gfloat r, gfloat g, gfloat b, gfloat *y, gfloat *cb, gfloat *cr)
{
  *y = NP_LUMA_R * r + NP_LUMA_G * g + NP_LUMA_B * b;
  *cb = (b - *y) * (0.5f / (1.0f - NP_LUMA_B));
  *cr = (r - *y) * (0.5f / (1.0f - NP_LUMA_R));
}

static inline void
np_rgb_from_ycbcr (gfloat y, gfloat cb, gfloat cr, gfloat *r, gfloat *g, gfloat *b)
{
  *r = y + cr * (2.0f * (1.0f - NP_LUMA_R));
  *b = y + cb * (2.0f * (1.0f - NP_LUMA_B));
  *g = (y - NP_LUMA_R * *r - NP_LUMA_B * *b) / NP_LUMA_G;
}

/* CIE L*a*b* (D65 white) of sRGB: the second way a colouriser carries
 * colour (Zhang et al.). L* in [0, 100] depends on the linear luminance
 * Y = 0.2126729 R + 0.7151522 G + 0.0721750 B of the linearised channels
 * alone, so keeping L* keeps the photo's luminance as a colorimeter sees it
 * (BT.601's luma above is a weighted sum of the encoded values instead). */

static inline gfloat
np_srgb_to_linear (gfloat v)
{
  return v <= 0.04045f ? v / 12.92f : powf ((v + 0.055f) / 1.055f, 2.4f);
}

static inline gfloat
np_srgb_from_linear (gfloat v)
{
  return v <= 0.0031308f ? v * 12.92f : 1.055f * powf (v, 1.0f / 2.4f) - 0.055f;
}

#define NP_LAB_XN 0.95047f
#define NP_LAB_ZN 1.08883f

static inline gfloat
np_lab_f (gfloat t)
{
  const gfloat d = 6.0f / 29.0f;
  return t > d * d * d ? cbrtf (t) : t / (3 * d * d) + 4.0f / 29.0f;
}

static inline gfloat
np_lab_finv (gfloat t)
{
  const gfloat d = 6.0f / 29.0f;
  return t > d ? t * t * t : 3 * d * d * (t - 4.0f / 29.0f);
}

/* The linear luminance Y of sRGB R'G'B'. */
static inline gfloat
np_linear_luminance (gfloat r, gfloat g, gfloat b)
{
  return 0.2126729f * np_srgb_to_linear (r) + 0.7151522f * np_srgb_to_linear (g)
         + 0.0721750f * np_srgb_to_linear (b);
}

static inline void
np_lab_from_rgb (gfloat r, gfloat g, gfloat b, gfloat *l, gfloat *a, gfloat *bb)
{
  gfloat lr = np_srgb_to_linear (r), lg = np_srgb_to_linear (g), lb = np_srgb_to_linear (b);
  gfloat x = (0.4124564f * lr + 0.3575761f * lg + 0.1804375f * lb) / NP_LAB_XN;
  gfloat y = 0.2126729f * lr + 0.7151522f * lg + 0.0721750f * lb;
  gfloat z = (0.0193339f * lr + 0.1191920f * lg + 0.9503041f * lb) / NP_LAB_ZN;
  gfloat fy = np_lab_f (y);

  *l = 116 * fy - 16;
  *a = 500 * (np_lab_f (x) - fy);
  *bb = 200 * (fy - np_lab_f (z));
}

/* Linear R, G, B (not clamped: outside [0, 1] is out of sRGB's gamut) of
 * the colour with lightness function value fy = (L* + 16)/116 and a*, b*. */
static inline void
np_linear_rgb_from_lab (gfloat fy, gfloat a, gfloat bb, gfloat *r, gfloat *g, gfloat *b)
{
  gfloat x = NP_LAB_XN * np_lab_finv (fy + a / 500), y = np_lab_finv (fy);
  gfloat z = NP_LAB_ZN * np_lab_finv (fy - bb / 200);

  *r = 3.2404542f * x - 1.5371385f * y - 0.4985314f * z;
  *g = -0.9692660f * x + 1.8760108f * y + 0.0415560f * z;
  *b = 0.0556434f * x - 0.2040259f * y + 1.0572252f * z;
}

/* Hasler and Süsstrunk's colourfulness ("Measuring colourfulness in natural
 * images", 2003), the measure docs/models.md reports beside PSNR, of n
 * pixels given by their opponent components rg = R − G and yb = (R + G)/2 − B
 * (on 0–255 for the paper's scale):
 *
 *   sqrt(σ_rg² + σ_yb²) + 0.3·sqrt(μ_rg² + μ_yb²)
 *
 * with σ the population deviations. With d_rg and d_yb, also its derivative
 * with respect to each component (the root's derivative taken as 0 where the
 * root is 0: a picture of one colour, or a gray one). Sums run in double in
 * pixel order, so the result does not depend on who calls it. */
double np_colourfulness (const gfloat *rg, const gfloat *yb, gint64 n, gfloat *d_rg, gfloat *d_yb);

G_END_DECLS
