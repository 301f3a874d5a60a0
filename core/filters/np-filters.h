/* neuropaint — the classic filters the models learn from.
 *
 * Point filters work on flat runs of RGBA pixels (what a GEGL point filter is
 * handed, tile by tile); whole-image filters take NpImage views. Semantics
 * follow OpenCV 4.6 exactly where the seed used OpenCV (see SPEC.md).
 */
#pragma once

#include <glib.h>
#include "image/np-image.h"

G_BEGIN_DECLS

/* ITU-R BT.601 luma of gamma-encoded R'G'B' (OpenCV's RGB2GRAY weights),
 * written to all three colour channels; alpha is copied. */
#define NP_GRAY_R 0.299f
#define NP_GRAY_G 0.587f
#define NP_GRAY_B 0.114f

void np_gray_rgba_f32          (const gfloat *in, gfloat *out, gsize n_pixels);

/* Per colour channel c on 0–255 values: (c > threshold) ? threshold : 0, the
 * seed's "RGB binary" layers; alpha is copied. */
void np_rgb_threshold_rgba_u8  (const guint8 *in, guint8 *out, gsize n_pixels,
                                guint8 threshold);

G_END_DECLS
