/* libFuzzer target: a JPEG from memory through the loading path the command
 * uses for JPEGs (header, size limit, CMYK conversion, the EXIF orientation
 * parser and the transform it picks, the ICC profile's segments) must decode or fail with a GError,
 * never crash, leak or read out of bounds.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
 *   ninja -C build-fuzz tests/fuzz/fuzz-jpeg
 *   build-fuzz/tests/fuzz/fuzz-jpeg -max_total_time=60 tests/fuzz/corpus-jpeg
 */
#include "neuropaint.h"

int LLVMFuzzerTestOneInput (const guint8 *data, gsize size);

int
LLVMFuzzerTestOneInput (const guint8 *data, gsize size)
{
  GError  *error = NULL;
  GBytes  *icc;
  /* A small limit keeps each run fast: sizes past it fail before decoding. */
  NpImage *image = np_jpeg_decode (data, size, 256 * 256, &error);

  g_assert ((image == NULL) != (error == NULL));
  if (image)
    g_assert (image->width * image->height <= 256 * 256 && image->channels == 3);
  np_image_free (image);
  g_clear_error (&error);
  np_jpeg_orientation (data, size);
  icc = np_jpeg_icc_profile (data, size);
  if (icc)
    g_assert (g_bytes_get_size (icc) > 0 && g_bytes_get_size (icc) < size);
  g_clear_pointer (&icc, g_bytes_unref);
  return 0;
}
