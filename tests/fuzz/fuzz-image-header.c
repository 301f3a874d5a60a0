/* libFuzzer target: the TIFF and WebP headers the command reads before
 * GEGL's loaders (np_header_check: IFD entries and the strips or tiles they
 * point at; RIFF chunks, VP8, VP8L, VP8X and animation frames; a WebP's ICC
 * profile) must give a size within the limits or a GError, and the EXIF
 * orientation of a PNG's eXIf chunk, or of any bytes taken as EXIF's TIFF
 * block, one of 1–8: never a crash or a read out of bounds.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
 *   build-fuzz/tests/fuzz/fuzz-image-header -max_total_time=60 tests/fuzz/corpus-header
 */
#include "neuropaint.h"

int LLVMFuzzerTestOneInput (const guint8 *data, gsize size);

int
LLVMFuzzerTestOneInput (const guint8 *data, gsize size)
{
  GError *error = NULL;
  gint64  width, height;
  GBytes *icc;
  gint    o;
  /* The bytes as a file holds them: nothing past size is readable. */
  guint8 *copy = g_memdup2 (data, size);

  if (np_header_check (copy, size, 256 * 256, &width, &height, &error))
    g_assert (error == NULL && width >= 1 && height >= 1 && width * height <= 256 * 256);
  else
    g_assert (error != NULL);
  g_clear_error (&error);
  icc = np_header_webp_icc (copy, size);
  if (icc)
    g_assert (g_bytes_get_size (icc) > 0 && g_bytes_get_size (icc) < size);
  g_clear_pointer (&icc, g_bytes_unref);
  o = np_header_png_orientation (copy, size);
  g_assert (o >= 1 && o <= 8);
  o = np_header_exif_orientation (copy, size);
  g_assert (o >= 1 && o <= 8);
  g_free (copy);
  return 0;
}
