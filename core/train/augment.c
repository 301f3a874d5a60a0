/* neuropaint — DiffAugment (Zhao et al. 2020, "Differentiable augmentation
 * for data-efficient GAN training"): colour, translation and cutout applied
 * to every picture the discriminator sees, real and fake, in D's step and
 * in G's, so D cannot memorise the few real faces and G is not taught the
 * augmentations (its gradient flows back through them).
 *
 * The policy is the paper's "color,translation,cutout" on pictures in
 * [-1, 1], per image:
 *   brightness  x + (u − ½)
 *   saturation  m + 2u·(x − m), m the pixel's mean over the channels
 *   contrast    M + (u + ½)·(x − M), M the picture's mean
 *   translation by whole pixels, up to ⅛ of each side either way, zeros
 *               coming in
 *   cutout      a zeroed rectangle of half each side, its centre a uniform
 *               pixel in [0, W] × [0, H], clipped to the picture.
 * Each is linear in x (given the draws), so backward is the transpose:
 * translation back, the cutout's mask, and contrast then saturation, which
 * are symmetric; brightness adds a constant and passes the gradient as is.
 *
 * The draws of image n come from np_rng seeded with hash(key ^ hash(n)) in
 * a fixed order (brightness, saturation, contrast, tx, ty, cutout x, y), n
 * being the image's place in the whole batch: the same for any thread count
 * or micro-batching. */
#include "np-train.h"
#include "util/np-rng.h"

#include <string.h>

typedef struct
{
  gfloat brightness, saturation, contrast;
  gint   tx, ty;              /* the picture moves right and down by these */
  gint   x0, x1, y0, y1;      /* the cutout: [x0, x1) × [y0, y1) */
} Draws;

static gint
uniform_int (NpRng *rng, gint n)
{
  return (gint) (np_rng_uniform (rng) * n);
}

static Draws
draw (guint64 key, gint64 image, gint w, gint h)
{
  NpRng rng;
  Draws d;
  gint  sx = w / 8, sy = h / 8, cw = w / 2, ch = h / 2, cx, cy;

  np_rng_init (&rng, np_rng_hash (key ^ np_rng_hash ((guint64) image)));
  d.brightness = (gfloat) (np_rng_uniform (&rng) - 0.5);
  d.saturation = (gfloat) (np_rng_uniform (&rng) * 2);
  d.contrast = (gfloat) (np_rng_uniform (&rng) + 0.5);
  d.tx = uniform_int (&rng, 2 * sx + 1) - sx;
  d.ty = uniform_int (&rng, 2 * sy + 1) - sy;
  cx = uniform_int (&rng, w + 1), cy = uniform_int (&rng, h + 1);
  d.x0 = MAX (cx - cw / 2, 0), d.x1 = MIN (cx + cw - cw / 2, w);
  d.y0 = MAX (cy - ch / 2, 0), d.y1 = MIN (cy + ch - ch / 2, h);
  return d;
}

/* x ← m + s·(x − m) per pixel over the channels, then M + k·(x − M) over
 * the picture (the forward's order; backward runs them the other way). */
static void
saturate (gfloat *x, gint64 c, gint64 plane, gfloat s)
{
  for (gint64 p = 0; p < plane; p++)
    {
      gfloat m = 0;
      for (gint64 k = 0; k < c; k++)
        m += x[k * plane + p];
      m /= (gfloat) c;
      for (gint64 k = 0; k < c; k++)
        x[k * plane + p] = m + s * (x[k * plane + p] - m);
    }
}

static void
contrast (gfloat *x, gint64 n, gfloat k)
{
  double sum = 0;
  gfloat mean;

  for (gint64 i = 0; i < n; i++)
    sum += x[i];
  mean = (gfloat) (sum / n);
  for (gint64 i = 0; i < n; i++)
    x[i] = mean + k * (x[i] - mean);
}

/* dst (zeroed by the caller) += src moved by (tx, ty), outside the cutout
 * when cut. */
static void
move (const gfloat *src, gfloat *dst, gint64 c, gint w, gint h, gint tx, gint ty, const Draws *cut)
{
  for (gint64 k = 0; k < c; k++)
    for (gint y = 0; y < h; y++)
      for (gint x = 0; x < w; x++)
        {
          gint sx = x - tx, sy = y - ty;
          if (sx < 0 || sx >= w || sy < 0 || sy >= h)
            continue;
          if (cut && x >= cut->x0 && x < cut->x1 && y >= cut->y0 && y < cut->y1)
            continue;
          dst[(k * h + y) * w + x] += src[(k * h + sy) * w + sx];
        }
}

void
np_diffaugment (const NpTensor *x, NpTensor *y, guint64 key, gint64 first_image)
{
  gint     w = (gint) x->ne[0], h = (gint) x->ne[1];
  gint64   c = x->ne[2], plane = (gint64) w * h, per = c * plane;
  g_autofree gfloat *tmp = g_new (gfloat, per);

  g_return_if_fail (np_tensor_same_shape (x, y));
  for (gint64 n = 0; n < x->ne[3]; n++)
    {
      Draws   d = draw (key, first_image + n, w, h);
      gfloat *out = np_tensor_at (y, 0, 0, 0, n);

      memcpy (tmp, np_tensor_at (x, 0, 0, 0, n), per * sizeof (gfloat));
      for (gint64 i = 0; i < per; i++)
        tmp[i] += d.brightness;
      saturate (tmp, c, plane, d.saturation);
      contrast (tmp, per, d.contrast);
      memset (out, 0, per * sizeof (gfloat));
      move (tmp, out, c, w, h, d.tx, d.ty, &d);
    }
}

void
np_diffaugment_backward (const NpTensor *dy, NpTensor *dx, guint64 key, gint64 first_image)
{
  gint     w = (gint) dy->ne[0], h = (gint) dy->ne[1];
  gint64   c = dy->ne[2], plane = (gint64) w * h, per = c * plane;
  g_autofree gfloat *tmp = g_new (gfloat, per), *masked = g_new (gfloat, per);

  g_return_if_fail (np_tensor_same_shape (dy, dx));
  for (gint64 n = 0; n < dy->ne[3]; n++)
    {
      Draws   d = draw (key, first_image + n, w, h);
      gfloat *out = np_tensor_at (dx, 0, 0, 0, n);

      /* The cutout's mask, then the move back (its transpose). */
      memset (tmp, 0, per * sizeof (gfloat));
      memcpy (masked, np_tensor_at (dy, 0, 0, 0, n), per * sizeof (gfloat));
      for (gint64 k = 0; k < c; k++)
        for (gint y = d.y0; y < d.y1; y++)
          for (gint x = d.x0; x < d.x1; x++)
            masked[(k * h + y) * w + x] = 0;
      move (masked, tmp, c, w, h, -d.tx, -d.ty, NULL);
      contrast (tmp, per, d.contrast);
      saturate (tmp, c, plane, d.saturation);
      for (gint64 i = 0; i < per; i++)
        out[i] += tmp[i];
    }
}
