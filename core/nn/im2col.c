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

/* Whole k × k windows of `channels` planes from src (the window's corner),
 * inside the image: k floats of a row at a time, a fixed-size copy for the
 * models' kernels. */
static inline void
copy_windows (const gfloat *src, gsize plane, gint w, gint k, gint64 channels, gfloat *d)
{
  for (gint64 c = 0; c < channels; c++, src += plane)
    for (gint ky = 0; ky < k; ky++, d += k)
      memcpy (d, src + (gsize) ky * w, k * sizeof (gfloat));
}

void
np_im2row (const gfloat *im, gint h, gint w, const NpConvGeom *g, gint ow,
           gint64 p0, gint64 p1, gint64 r0, gint64 r1, gfloat *row, gint64 ld)
{
  gint64 kk = (gint64) g->k * g->k, c0 = r0 / kk;
  gint   oy = (gint) (p0 / ow), ox = (gint) (p0 % ow);
  gint   ky0 = (gint) (r0 % kk / g->k), kx0 = (gint) (r0 % g->k);

  for (gint64 p = p0; p < p1; p++, row += ld)
    {
      gint    iy0 = oy * g->s - g->pad0, ix0 = ox * g->s - g->pad0;
      gint64   c = c0;
      gint     ky = ky0, kx = kx0;
      gfloat  *d = row;
      gboolean inside = iy0 >= 0 && iy0 + g->k <= h && ix0 >= 0 && ix0 + g->k <= w;

      /* Runs of kernel taps along x: k floats of one input row at a time
       * (fewer at the ends of [r0, r1)), in bounds but near the edges;
       * whole windows inside the image at once. */
      for (gint64 r = r0; r < r1;)
        {
          gint n = (gint) MIN (g->k - kx, r1 - r), iy = iy0 + ky, ix = ix0 + kx;

          if (inside && kx == 0 && ky == 0 && r1 - r >= kk)
            {
              const gfloat *src = im + ((gsize) c * h + iy0) * w + ix0;
              gint64        whole = (r1 - r) / kk;

              if (g->k == 4)
                copy_windows (src, (gsize) h * w, w, 4, whole, d);
              else if (g->k == 3)
                copy_windows (src, (gsize) h * w, w, 3, whole, d);
              else
                copy_windows (src, (gsize) h * w, w, g->k, whole, d);
              d += whole * kk, r += whole * kk, c += whole;
              continue;
            }

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
