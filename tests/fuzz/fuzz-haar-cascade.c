/* libFuzzer target: the Haar cascade loader on arbitrary bytes.
 *
 * Build with clang and sanitizers (see tests/fuzz/meson.build), then e.g.
 *   build-fuzz/tests/fuzz/fuzz-haar-cascade -max_total_time=60 \
 *     -dict=tests/fuzz/haar.dict tests/fuzz/corpus-haar
 * A loaded cascade is also run on a small image, so a file the loader
 * accepts can never make the detector read out of bounds. */
#include "neuropaint.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  GError        *error = NULL;
  NpHaarCascade *cascade;

  if (size > (1 << 20))
    return 0;
  cascade = np_haar_cascade_load_data ((const char *) data, size, &error);
  if (cascade)
    {
      guint8       pixels[40 * 36];
      NpImage      image = np_image_view (NP_SAMPLE_U8, 40, 36, 1, pixels, 40);
      NpHaarParams params = { 1.25, 0, 0, 0, 0, 0 };
      GArray      *boxes;

      for (gsize i = 0; i < sizeof pixels; i++)
        pixels[i] = (guint8) (i * 131 + (i / 40) * 17);
      boxes = np_haar_detect (cascade, &image, &params, 1, NULL);
      if (boxes)
        g_array_unref (boxes);
      np_haar_cascade_free (cascade);
    }
  else
    {
      /* A refusal always says why. */
      if (error == NULL || error->message == NULL || error->message[0] == '\0')
        __builtin_trap ();
      g_error_free (error);
    }
  return 0;
}
