/* neuropaint — JPEG files through libjpeg-turbo's TurboJPEG API.
 *
 * Decoding here rather than through GEGL's loader gives one clear error for a
 * truncated or corrupt file (GEGL's loader lets libjpeg exit the process), and
 * the same pixels OpenCV decodes (both use libjpeg-turbo's defaults), which the
 * oracle tests rely on. */
#pragma once

#include "image/np-image.h"

G_BEGIN_DECLS

/* TRUE when the bytes start like a JPEG stream (SOI marker). */
gboolean  np_jpeg_sniff      (const guint8 *data, gsize size);

/* Decodes to an 8-bit RGB image. Warnings (a truncated stream) are errors. */
NpImage  *np_jpeg_decode     (const guint8 *data, gsize size, GError **error);
NpImage  *np_jpeg_load       (const char *path, GError **error);

G_END_DECLS
