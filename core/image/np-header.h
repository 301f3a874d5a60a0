/* neuropaint — what TIFF and WebP headers claim, read before any decoder;
 * and which way up JPEG and PNG files say they are.
 *
 * GEGL's loaders (libtiff, libwebp) allocate for the size a header claims
 * before they read a pixel, and a header claims any size in a few bytes. So
 * the command reads the claim itself, from the file's bytes, and applies the
 * limits of np_image_check_decode_size first. It also refuses what no
 * decoder could read: strips, tiles or chunks that end past the file's end,
 * and uncompressed strips too short for the pixels the header claims (a
 * 142-byte TIFF "of" 9999×9999 16-bit RGB cost libtiff 600 MB).
 *
 *   if (!np_header_check (data, size, max_pixels, &width, &height, &error)) ...
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Checks a TIFF (classic, either byte order: its first IFD) or a WebP
 * (RIFF; VP8, VP8L or VP8X with its frames) in memory: the size it claims
 * against the limits (max_pixels 0: the default), and that what it points
 * at lies in the file. Sets the size and returns TRUE, or fails with
 * NP_ERROR_CORRUPT (no size, truncated), NP_ERROR_UNSUPPORTED (neither
 * type, a side above the limit) or NP_ERROR_TOO_LARGE (the area). */
gboolean  np_header_check (const guint8 *data, gsize size, gint64 max_pixels,
                           gint64 *width, gint64 *height, GError **error);

/* The ICC profile of a WebP (its ICCP chunk, which GEGL's loader does not
 * read), or NULL when it has none or is not a whole WebP. */
GBytes   *np_header_webp_icc (const guint8 *data, gsize size);

/* The orientation (1–8, TIFF's numbering; 1 is upright, and so is
 * anything unreadable) that EXIF's TIFF block says, and that a PNG's eXIf
 * chunk says (np_image_orient_pixels turns it upright). */
gint      np_header_exif_orientation (const guint8 *data, gsize size);
gint      np_header_png_orientation  (const guint8 *data, gsize size);

G_END_DECLS
