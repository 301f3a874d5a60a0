/* neuropaint — colour as luminance and chroma.
 *
 * JPEG's YCbCr (ITU-R BT.601 weights, full range) on R'G'B' in [0, 1]:
 * Y = 0.299 R + 0.587 G + 0.114 B in [0, 1] (the gray filter's luma), Cb and
 * Cr in [-0.5, 0.5]. Colourisers predict only the chroma and put it on the
 * photo's own luminance, which keeps every detail of the photo (Zhang et
 * al., "Colorful image colorization", 2016, do the same in Lab). */
#pragma once

#include <glib.h>

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

G_END_DECLS
