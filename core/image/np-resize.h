/* neuropaint — resampling images.
 *
 * Two rules, each matching OpenCV where we compare with it:
 * - np_resize_linear_exact_u8: OpenCV's bit-exact bilinear (INTER_LINEAR_EXACT)
 *   for 8-bit images, the rule of the Haar detector's pyramid, so our pyramid
 *   levels equal OpenCV's byte for byte;
 * - np_resize_cubic: bicubic (Keys, a = −0.75, OpenCV's INTER_CUBIC kernel)
 *   in float with replicated borders, for face crops.
 */
#pragma once

#include "image/np-image.h"

G_BEGIN_DECLS

/* src and dst: 8-bit, same channel count; dst's size is the target size.
 * An exact 2× reduction averages 2×2 blocks, as OpenCV does then. */
void np_resize_linear_exact_u8 (const NpImage *src, NpImage *dst);

/* src and dst: same sample type and channel count (u8 results are rounded
 * and clamped). */
void np_resize_cubic           (const NpImage *src, NpImage *dst);

G_END_DECLS
