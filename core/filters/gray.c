/* neuropaint — gray: BT.601 luma, as OpenCV's cvtColor(RGB2GRAY).
 *
 * OpenCV rounds a fixed-point sum on u8 samples; we keep float so 16-bit and
 * float inputs lose nothing. Both agree within half a step of 1/255.
 */
#include "np-filters.h"

#include <string.h>

/* A pixel is one 16-byte vector: the whole pixel is read before it is
 * written, so GEGL's in-place calls (in == out) keep the vector path, which
 * the compiler's own loop vectoriser gives up on when buffers may alias. */
typedef gfloat NpF32x4 __attribute__ ((vector_size (16)));

void
np_gray_rgba_f32 (const gfloat *in, gfloat *out, gsize n_pixels)
{
  for (gsize i = 0; i < n_pixels; i++)
    {
      NpF32x4 p;
      gfloat  y;

      memcpy (&p, in + 4 * i, sizeof p);
      y = NP_GRAY_R * p[0] + NP_GRAY_G * p[1] + NP_GRAY_B * p[2];
      p = (NpF32x4) { y, y, y, p[3] };
      memcpy (out + 4 * i, &p, sizeof p);
    }
}
