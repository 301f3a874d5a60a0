/* neuropaint — private to core/filters: interleaved rows <-> channel planes.
 *
 * The whole-image filters work on one channel at a time, where every loop is
 * a plain run of bytes that vectorises; these move rows in and out of that
 * layout. The channel count is made a constant in each copy of the loop
 * (3 or 4), which is what lets the compiler vectorise the strided access. */
#pragma once

#include <glib.h>

static inline void
np_planes_from_row_cn (const guint8 *restrict src, gint w, const gint cn,
                       guint8 *restrict r, guint8 *restrict g, guint8 *restrict b)
{
  for (gint x = 0; x < w; x++)
    {
      r[x] = src[x * cn];
      g[x] = src[x * cn + 1];
      b[x] = src[x * cn + 2];
    }
}

/* R, G and B of an interleaved row of cn (3 or 4) channels. */
static inline void
np_planes_from_row (const guint8 *restrict src, gint w, gint cn,
                    guint8 *restrict r, guint8 *restrict g, guint8 *restrict b)
{
  if (cn == 4)
    np_planes_from_row_cn (src, w, 4, r, g, b);
  else
    np_planes_from_row_cn (src, w, 3, r, g, b);
}

static inline void
np_planes_to_row_cn (const guint8 *restrict r, const guint8 *restrict g,
                     const guint8 *restrict b, const guint8 *restrict alpha_src,
                     gint w, const gint cn, guint8 *restrict dst)
{
  for (gint x = 0; x < w; x++)
    {
      dst[x * cn] = r[x];
      dst[x * cn + 1] = g[x];
      dst[x * cn + 2] = b[x];
      if (cn == 4)
        dst[x * cn + 3] = alpha_src[x * cn + 3];
    }
}

/* The same with alpha_src == dst, the alpha staying: rewriting it as read
 * lets whole pixels be stored. */
static inline void
np_planes_to_row_in_place_cn (const guint8 *restrict r, const guint8 *restrict g,
                              const guint8 *restrict b, gint w, const gint cn,
                              guint8 *restrict dst)
{
  for (gint x = 0; x < w; x++)
    {
      guint8 alpha = cn == 4 ? dst[x * cn + 3] : 0;

      dst[x * cn] = r[x];
      dst[x * cn + 1] = g[x];
      dst[x * cn + 2] = b[x];
      if (cn == 4)
        dst[x * cn + 3] = alpha;
    }
}

/* Stores planes r, g, b into an interleaved row of cn (3 or 4) channels
 * with the alpha (if cn is 4) of alpha_src, a row of the same layout that
 * may be dst itself. */
static inline void
np_planes_to_row (const guint8 *r, const guint8 *g, const guint8 *b,
                  const guint8 *alpha_src, gint w, gint cn, guint8 *dst)
{
  if (alpha_src == dst)
    {
      if (cn == 4)
        np_planes_to_row_in_place_cn (r, g, b, w, 4, dst);
      else
        np_planes_to_row_in_place_cn (r, g, b, w, 3, dst);
    }
  else if (cn == 4)
    np_planes_to_row_cn (r, g, b, alpha_src, w, 4, dst);
  else
    np_planes_to_row_cn (r, g, b, alpha_src, w, 3, dst);
}
