/* neuropaint — JPEG files through libjpeg-turbo's TurboJPEG API.
 *
 * Decoding here rather than through GEGL's loader gives one clear error for a
 * truncated or corrupt file (GEGL's loader lets libjpeg exit the process), and
 * the same pixels OpenCV decodes (both use libjpeg-turbo's defaults), which the
 * oracle tests rely on. As OpenCV's imread and image viewers do, CMYK files
 * become RGB (Adobe's inverted CMYK, OpenCV's formula) and the EXIF
 * orientation is applied. Encoding is here too, so a failed write (a full
 * disk) is an error, not libjpeg's exit(), and goes through an NpOutput.
 */
#pragma once

#include "image/np-image.h"
#include "util/np-output.h"

G_BEGIN_DECLS

/* TRUE when the bytes start like a JPEG stream (SOI marker). */
gboolean  np_jpeg_sniff       (const guint8 *data, gsize size);

/* Decodes to an 8-bit RGB image. Warnings (a truncated stream) are errors;
 * the header's size is checked against max_pixels (0: the default, see
 * np_image_check_decode_size) before anything is allocated. */
NpImage  *np_jpeg_decode      (const guint8 *data, gsize size, gint64 max_pixels,
                               GError **error);
/* The same for a file, which must be a regular one (np_file_open). */
NpImage  *np_jpeg_load        (const char *path, gint64 max_pixels, GError **error);

/* The EXIF orientation (1–8, TIFF's numbering) of a JPEG stream; 1, upright,
 * when it has none or the EXIF block is malformed. */
gint      np_jpeg_orientation (const guint8 *data, gsize size);

/* The ICC profile a JPEG stream embeds (APP2 ICC_PROFILE segments, joined
 * in their order), or NULL when it has none or its segments do not number
 * one whole profile. Its contents are not checked. */
GBytes   *np_jpeg_icc_profile (const guint8 *data, gsize size);

/* Encodes an 8-bit RGB or gray image (4:4:4, progressive, as GEGL's
 * jpg-save) into output (not committed). quality: 1–100. */
gboolean  np_jpeg_write       (const NpImage *image, NpOutput *output, gint quality,
                               GError **error);

G_END_DECLS
