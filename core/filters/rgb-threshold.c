/* neuropaint — RGB binary threshold, the seed's "3 rgb binary layers".
 *
 * Works on u8 so that "c > t" means exactly what it meant in the seed's NumPy
 * code; a float comparison would flip at c == t after rounding.
 */
#include "np-filters.h"

void
np_rgb_threshold_rgba_u8 (const guint8 *in, guint8 *out, gsize n_pixels,
                          guint8 threshold)
{
  for (gsize i = 0; i < n_pixels; i++, in += 4, out += 4)
    {
      for (int c = 0; c < 3; c++)
        out[c] = in[c] > threshold ? threshold : 0;
      out[3] = in[3];
    }
}
