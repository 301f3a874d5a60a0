/* neuropaint — the seed's colour contours, pixel for pixel as OpenCV 4.6 draws
 * them, without tracing a single contour.
 *
 * The seed, per channel j and threshold k: findContours (c_j > k, RETR_TREE,
 * CHAIN_APPROX_SIMPLE), then drawContours (thickness 1, 8-connected lines).
 * What it draws is exactly the set of mask pixels that have a background
 * pixel among their 4 neighbours, counting everything beyond the image as
 * background. Why:
 *
 * 1. Drawing = the traced pixels. Suzuki–Abe border following (S. Suzuki,
 *    K. Abe, CVGIP 30(1), 1985) steps from pixel to 8-neighbouring pixel;
 *    CHAIN_APPROX_SIMPLE keeps only where the step direction changes, so
 *    between two kept points lies one run of equal steps: a horizontal,
 *    vertical or 45° segment, which the 8-connected (Bresenham) line between
 *    its ends covers exactly. drawContours closes the polygon, and the
 *    closing run through the start is also one direction (the start is kept
 *    only if the direction changes there).
 * 2. Traced pixels ⊆ mask pixels with a background 4-neighbour. At pixel p
 *    the follower scans p's 8 neighbours in circular order from a background
 *    pixel of the component Z it follows, and steps to the first mask pixel.
 *    Circularly consecutive neighbours are 4-adjacent, so the pixels scanned
 *    are 4-connected (in Z) and the one stepped to is 4-adjacent to the last.
 * 3. ⊇. The cracks between an 8-connected mask component S and an adjacent
 *    4-connected background component Z form one closed curve, and one
 *    border following walks all of it (Suzuki–Abe's stopping rule, which
 *    needs the first two pixels to recur). RETR_TREE follows every border,
 *    the outer ones and the holes', and OpenCV 4 pads the image with zeros,
 *    so mask pixels on the image edge have a border there too.
 *
 * So each pass is a local test, c_j > k and min(4 neighbours of c_j) <= k,
 * and the whole filter is one pass over the rows. tests/oracle compares it
 * with OpenCV's findContours + drawContours on photos and random masks. */
#include "np-filters.h"
#include "util/np-parallel.h"

#include <stdlib.h>
#include <string.h>

typedef struct
{
  const NpImage *in;
  NpImage       *out;
  const guint8  *thresholds;
  gsize          n_thresholds;
} Contours;

/* Channel ch of image row y (0 outside the image), from column 0 to w-1. */
static void
channel_row (const NpImage *in, gint y, gint ch, guint8 *v)
{
  const guint8 *src;
  gint          cn = in->channels;

  if (y < 0 || y >= in->height)
    {
      memset (v, 0, in->width);
      return;
    }
  src = np_image_row (in, y);
  for (gint x = 0; x < in->width; x++)
    v[x] = src[x * cn + ch];
}

/* low[x]: the smallest of the 4 neighbours of v[x], 0 beyond the image;
 * up and down are the rows above and below (zeros beyond the image). */
static void
neighbour_min (const guint8 *restrict up, const guint8 *restrict v,
               const guint8 *restrict down, gint w, guint8 *restrict low)
{
  for (gint x = 0; x < w; x++)
    {
      guint8 m = MIN (up[x], down[x]);
      guint8 l = x > 0 ? v[x - 1] : 0, r = x + 1 < w ? v[x + 1] : 0;
      low[x] = MIN (m, MIN (l, r));
    }
}

/* One drawing pass: pixels on the border of v > k take colour k of
 * channel ch (owner ch, value k), over whatever earlier passes drew. */
static void
draw_pass (const guint8 *restrict v, const guint8 *restrict low, gint w,
           guint8 ch, guint8 k, guint8 *restrict owner, guint8 *restrict value)
{
  for (gint x = 0; x < w; x++)
    {
      gboolean on = low[x] <= k && k < v[x];
      owner[x] = on ? ch : owner[x];
      value[x] = on ? k : value[x];
    }
}

static void
contour_rows (gsize start, gsize end, guint part, gpointer data)
{
  const Contours *c = data;
  gint            w = c->in->width, cn = c->in->channels;
  g_autofree guint8 *scratch = g_malloc ((gsize) w * 6);
  guint8         *up = scratch, *v = up + w, *down = v + w;
  guint8         *low = down + w, *owner = low + w, *value = owner + w;

  for (gint y = (gint) start; y < (gint) end; y++)
    {
      const guint8 *in = np_image_row (c->in, y);
      guint8       *out = np_image_row (c->out, y);

      memset (owner, 3, w);   /* no channel: black */
      memset (value, 0, w);
      for (guint8 ch = 0; ch < 3; ch++)
        {
          channel_row (c->in, y - 1, ch, up);
          channel_row (c->in, y, ch, v);
          channel_row (c->in, y + 1, ch, down);
          neighbour_min (up, v, down, w, low);
          for (gsize i = 0; i < c->n_thresholds; i++)
            draw_pass (v, low, w, ch, c->thresholds[i], owner, value);
        }
      for (gint x = 0; x < w; x++)
        for (gint ch = 0; ch < 3; ch++)
          out[x * cn + ch] = owner[x] == ch ? value[x] : 0;
      if (cn == 4)
        for (gint x = 0; x < w; x++)
          out[x * 4 + 3] = in[x * 4 + 3];
    }
}

void
np_contours (const NpImage *in,
             NpImage       *out,
             const guint8  *thresholds,
             gsize          n_thresholds,
             gint           n_threads)
{
  Contours c = { in, out, thresholds, n_thresholds };

  g_return_if_fail (in != NULL && out != NULL && in->data != out->data);
  g_return_if_fail (in->type == NP_SAMPLE_U8 && out->type == NP_SAMPLE_U8);
  g_return_if_fail (in->channels >= 3 && in->channels == out->channels);
  g_return_if_fail (in->width == out->width && in->height == out->height);
  g_return_if_fail (thresholds != NULL || n_thresholds == 0);

  np_parallel_for (in->height, 64, n_threads, contour_rows, &c);
}

gsize
np_contours_parse_thresholds (const gchar *text,
                              guint8      *thresholds,
                              GError     **error)
{
  g_auto(GStrv) words = NULL;
  gsize         n = 0;

  g_return_val_if_fail (thresholds != NULL, 0);

  words = g_strsplit_set (text ? text : "", ", \t", -1);
  for (gsize i = 0; words[i]; i++)
    {
      guint64 k;

      if (words[i][0] == '\0')
        continue;
      if (!g_ascii_string_to_unsigned (words[i], 10, 0, 255, &k, NULL))
        {
          g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                       "threshold list “%s”: “%s” is not an integer from 0 to 255",
                       text, words[i]);
          return 0;
        }
      if (n == NP_CONTOURS_MAX_THRESHOLDS)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                       "threshold list “%s”: more than %d thresholds",
                       text, NP_CONTOURS_MAX_THRESHOLDS);
          return 0;
        }
      thresholds[n++] = (guint8) k;
    }
  if (n == 0)
    g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                 "threshold list “%s” is empty: give integers from 0 to 255, "
                 "such as 50,100,150,200", text ? text : "");
  return n;
}
