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

void
np_im2row (const gfloat *im, gint h, gint w, const NpConvGeom *g, gint ow,
           gint64 p0, gint64 p1, gint64 r0, gint64 r1, gfloat *row, gint64 ld)
{
  gint64 kk = (gint64) g->k * g->k;
  gint   oy = (gint) (p0 / ow), ox = (gint) (p0 % ow);

  for (gint64 p = p0; p < p1; p++, row += ld)
    {
      gint    iy0 = oy * g->s - g->pad0, ix0 = ox * g->s - g->pad0;
      gint64  c = r0 / kk;
      gint    ky = (gint) (r0 % kk / g->k), kx = (gint) (r0 % g->k);
      gfloat *d = row;

      /* Runs of kernel taps along x: k floats of one input row at a time
       * (fewer at the ends of [r0, r1)), in bounds but near the edges. */
      for (gint64 r = r0; r < r1;)
        {
          gint n = (gint) MIN (g->k - kx, r1 - r), iy = iy0 + ky, ix = ix0 + kx;

          if (iy < 0 || iy >= h)
            memset (d, 0, n * sizeof (gfloat));
          else
            {
              const gfloat *src = im + ((gsize) c * h + iy) * w;
              if (ix >= 0 && ix + n <= w)
                for (gint j = 0; j < n; j++)
                  d[j] = src[ix + j];
              else
                for (gint j = 0; j < n; j++)
                  d[j] = ix + j >= 0 && ix + j < w ? src[ix + j] : 0.0f;
            }
          d += n, r += n, kx = 0;
          if (++ky == g->k)
            ky = 0, c++;
        }
      if (++ox == ow)
        ox = 0, oy++;
    }
}
