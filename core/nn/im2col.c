/* neuropaint — im2col and col2im: one mechanism for every convolution.
 *
 * A convolution is a matrix product once each output pixel's window is laid
 * out as a column: conv = W[out, c·k·k] × col[c·k·k, pixels]; a transposed
 * convolution is the adjoint, col = Wᵀ × x followed by col2im, which adds the
 * columns back into the (larger) image. */
#include "np-nn.h"

#include <string.h>

/* Copies one kernel tap (c, ky, kx) for the output pixels [p0, p1) into dst,
 * walking output rows so the inner loop is a strided read of one input row. */
static void
im2col_row (const gfloat *plane, gint h, gint w, const NpConvGeom *g,
            gint ky, gint kx, gint ow, gint64 p0, gint64 p1, gfloat *dst)
{
  for (gint64 p = p0; p < p1;)
    {
      gint   oy = (gint) (p / ow), ox0 = (gint) (p % ow);
      gint   ox1 = (gint) MIN ((gint64) ow, ox0 + (p1 - p));
      gint   iy = oy * g->s - g->pad0 + ky;
      gfloat *out = dst + (p - p0);

      if (iy < 0 || iy >= h)
        memset (out, 0, (ox1 - ox0) * sizeof (gfloat));
      else
        {
          /* Only the first and last few columns can fall off the row: find
           * the inside span once so the loop over it has no branch. */
          const gfloat *row = plane + (gsize) iy * w;
          gint first = g->pad0 - kx, last = w - 1 + g->pad0 - kx;
          gint lo = first <= 0 ? 0 : (first + g->s - 1) / g->s;
          gint hi = last < 0 ? 0 : last / g->s + 1;
          gint a = CLAMP (lo, ox0, ox1), b = CLAMP (hi, a, ox1);
          gint ox;

          for (ox = ox0; ox < a; ox++)
            out[ox - ox0] = 0.0f;
          /* Strides 1 and 2 (all of the seed's layers) with constant
           * strides, so the compiler vectorises the copy. */
          if (g->s == 1)
            memcpy (out + (a - ox0), row + (a - first), (b - a) * sizeof (gfloat));
          else if (g->s == 2)
            {
              const gfloat *from = row + 2 * a - first;
              gfloat       *to = out + (a - ox0);
              for (gint j = 0; j < b - a; j++)
                to[j] = from[2 * j];
            }
          else
            for (; ox < b; ox++)
              out[ox - ox0] = row[ox * g->s - first];
          for (ox = b; ox < ox1; ox++)
            out[ox - ox0] = 0.0f;
        }
      p += ox1 - ox0;
    }
}

void
np_im2col (const gfloat *im, gint channels, gint h, gint w,
           const NpConvGeom *g, gint oh, gint ow,
           gint64 p0, gint64 p1, gfloat *col, gint64 ld)
{
  for (gint c = 0; c < channels; c++)
    for (gint ky = 0; ky < g->k; ky++)
      for (gint kx = 0; kx < g->k; kx++)
        im2col_row (im + (gsize) c * h * w, h, w, g, ky, kx, ow, p0, p1,
                    col + (((gsize) c * g->k + ky) * g->k + kx) * ld);
}

void
np_col2im (const gfloat *col, gint64 ld, gint channels, gint h, gint w,
           const NpConvGeom *g, gint oy0, gint oh, gint ow, gfloat *im)
{
  for (gint c = 0; c < channels; c++)
    {
      gfloat *plane = im + (gsize) c * h * w;
      for (gint ky = 0; ky < g->k; ky++)
        for (gint kx = 0; kx < g->k; kx++)
          {
            const gfloat *src = col + (((gsize) c * g->k + ky) * g->k + kx) * ld;
            /* The ox range whose ix = ox·s - pad0 + kx falls inside [0, w). */
            gint first = g->pad0 - kx, last = w - 1 + g->pad0 - kx;
            gint ox_lo = first <= 0 ? 0 : (first + g->s - 1) / g->s;
            gint ox_hi = last < 0 ? 0 : MIN (ow, last / g->s + 1);
            for (gint oy = 0; oy < oh; oy++)
              {
                gint          iy = (oy0 + oy) * g->s - g->pad0 + ky;
                const gfloat *s_row = src + (gsize) oy * ow;
                gfloat       *row;
                if (iy < 0 || iy >= h)
                  continue;
                row = plane + (gsize) iy * w;
                if (g->s == 2)
                  {
                    gfloat       *to = row + 2 * ox_lo - first;
                    const gfloat *from = s_row + ox_lo;
                    for (gint j = 0; j < ox_hi - ox_lo; j++)
                      to[2 * j] += from[j];
                  }
                else
                  for (gint ox = ox_lo; ox < ox_hi; ox++)
                    row[ox * g->s - first] += s_row[ox];
              }
          }
    }
}
