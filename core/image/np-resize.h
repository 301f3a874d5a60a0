/* neuropaint — resampling images.
 *
 * Two rules, each matching OpenCV where we compare with it:
 * - np_resize_linear_exact_u8: OpenCV's bit-exact bilinear (INTER_LINEAR_EXACT)
 *   for 8-bit images, the rule of the Haar detector's pyramid, so our pyramid
 *   levels equal OpenCV's byte for byte;
 * - np_resize_cubic: bicubic (Keys, a = −0.75, OpenCV's INTER_CUBIC kernel)
 *   in float with replicated borders, for face crops;
 * and, for photos too large to hold in float, Pillow's antialiased bilinear
 * on rows as they arrive (NpResampler).
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

/* A region of a picture resized while the picture's rows arrive, top to
 * bottom, so a photo of any size shrinks in memory for its width alone.
 * The rule is Pillow's BILINEAR: a triangle filter widened by the reduction
 * factor, so a large reduction averages every pixel (no aliasing) and an
 * enlargement interpolates linearly; the taps are clipped to the region and
 * their weights normalised. Each result sums its rows in order, so the bits
 * do not depend on how the rows are handed over.
 *
 *   NpResampler *r = np_resampler_new (0, 0, W, H, 320, 213, 1, &error);
 *   for (y = 0; y < H; y++)
 *     np_resampler_add_row (r, y, luma_row);
 *   small = np_resampler_result (r);
 */
typedef struct _NpResampler NpResampler;

/* The region (x, y, width, height) of the picture, into dst_width ×
 * dst_height pixels of `channels` float samples. */
NpResampler   *np_resampler_new    (gint x, gint y, gint width, gint height,
                                    gint dst_width, gint dst_height, gint channels,
                                    GError **error);
void           np_resampler_free   (NpResampler *resampler);
/* Row y of the picture (in increasing y; rows outside the region are
 * ignored): `channels` floats a pixel from the picture's column 0. */
void           np_resampler_add_row (NpResampler *resampler, gint y, const gfloat *row);
/* np_resampler_add_row in two steps, for callers that resample many rows
 * on their threads: whether row y lies in the region; n rows (rows[j ·
 * stride] is row j's column 0) resized across into shrunk + j ·
 * shrunk_stride (dst_width × channels floats each; reads the resampler
 * only, so any threads at once; a single-channel picture's rows go 8 at a
 * time, so hand over many); and each result added as row y, in increasing
 * y. The bits are np_resampler_add_row's. */
gboolean       np_resampler_wants_row      (const NpResampler *resampler, gint y);
void           np_resampler_shrink_rows    (const NpResampler *resampler, const gfloat *rows,
                                            gsize stride, gint n, gfloat *shrunk, gsize shrunk_stride);
void           np_resampler_add_shrunk_row (NpResampler *resampler, gint y, const gfloat *shrunk);
/* The result, once every row of the region has arrived: an F32 image the
 * resampler owns. */
const NpImage *np_resampler_result (NpResampler *resampler);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpResampler, np_resampler_free)

G_END_DECLS
