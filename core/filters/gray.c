/* neuropaint — gray: BT.601 luma, as OpenCV's cvtColor(RGB2GRAY).
 *
 * OpenCV rounds a fixed-point sum on u8 samples; we keep float so 16-bit and
 * float inputs lose nothing. Both agree within half a step of 1/255.
 */
#include "np-filters.h"

void
np_gray_rgba_f32 (const gfloat *in, gfloat *out, gsize n_pixels)
{
  for (gsize i = 0; i < n_pixels; i++, in += 4, out += 4)
    {
      gfloat y = NP_GRAY_R * in[0] + NP_GRAY_G * in[1] + NP_GRAY_B * in[2];
      out[0] = out[1] = out[2] = y;
      out[3] = in[3];
    }
}
