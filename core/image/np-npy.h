/* neuropaint — float images as NumPy .npy files.
 *
 * The exact float output of a stage, for checks by an independent program
 * (the NumPy oracle reads it with numpy.load): format version 1.0, little-
 * endian float32, C order, shape (height, width, channels).
 */
#pragma once

#include "image/np-image.h"

G_BEGIN_DECLS

/* Writes an NP_SAMPLE_F32 image; via a temporary file renamed into place,
 * so a failure never leaves a half-written file. */
gboolean np_npy_save (const NpImage *image, const char *path, GError **error);

G_END_DECLS
