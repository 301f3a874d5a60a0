/* neuropaint — RGB binary threshold, the seed's "3 rgb binary layers".
 *
 * Works on u8 so that "c > t" means exactly what it meant in the seed's NumPy
 * code; a float comparison would flip at c == t after rounding.
 */
#include "np-filters.h"

#include <string.h>

/* GCC/clang vector extensions: four RGBA pixels per step on any SIMD width,
 * where the plain per-byte loop with an alpha exception did not vectorise. */
typedef guint8 NpU8x16 __attribute__ ((vector_size (16)));

void
np_rgb_threshold_rgba_u8 (const guint8 *in, guint8 *out, gsize n_pixels,
                          guint8 threshold)
{
  const NpU8x16 alpha = { 0, 0, 0, 0xFF, 0, 0, 0, 0xFF, 0, 0, 0, 0xFF, 0, 0, 0, 0xFF };
  const NpU8x16 t = (NpU8x16) { 0 } + threshold;
  gsize         n = n_pixels * 4, i = 0;

  for (; i + 16 <= n; i += 16)
    {
      NpU8x16 v, above, r;

      memcpy (&v, in + i, 16);
      above = (NpU8x16) (v > t);
      r = (v & alpha) | (above & t & ~alpha);
      memcpy (out + i, &r, 16);
    }
  for (; i < n; i++)
    out[i] = (i & 3) == 3 ? in[i] : in[i] > threshold ? threshold : 0;
}
