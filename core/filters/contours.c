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
#include "util/np-simd.h"
#include "np-planes.h"

#include <string.h>

typedef struct
{
  const NpImage *in;
  NpImage       *out;
  const guint8  *thresholds;
  gsize          n_thresholds;
  gint           band;   /* rows per work item */
} Contours;

/* low[x]: the smallest 4-neighbour of v[x]. v, up and down are channel rows
 * (up, down: the rows above and below) padded with a 0 on either end, and
 * rows beyond the image are all 0: the background findContours adds. */
static inline void
neighbour_min (const guint8 *restrict up, const guint8 *restrict v,
               const guint8 *restrict down, gint w, guint8 *restrict low)
{
  for (gint x = 0; x < w; x++)
    low[x] = MIN (MIN (up[x], down[x]), MIN (v[x - 1], v[x + 1]));
}

/* One drawing pass: pixels on the border of v > k take colour k on
 * channel ch (owner ch, value k), over whatever earlier passes drew. */
static inline void
draw_pass (const guint8 *restrict v, const guint8 *restrict low, gint w,
           guint8 ch, guint8 k, guint8 *restrict owner, guint8 *restrict value)
{
  for (gint x = 0; x < w; x++)
    {
      gboolean on = (low[x] <= k) & (k < v[x]);
      owner[x] = on ? ch : owner[x];
      value[x] = on ? k : value[x];
    }
}

/* The three channel planes of image row y, each padded with a 0 on either
 * side; all 0 beyond the image. */
static void
load_planes (const NpImage *in, gint y, guint8 **planes)
{
  gint w = in->width;

  if (y < 0 || y >= in->height)
    for (gint ch = 0; ch < 3; ch++)
      memset (planes[ch] - 1, 0, w + 2);
  else
    np_planes_from_row (np_image_row (in, y), w, in->channels,
                        planes[0], planes[1], planes[2]);
}

/* The rows of band b: channel planes of rows y-1, y, y+1 roll through slot
 * (y + 3) % 3, so each input row is split into planes once per band. */
static NP_VECTOR_CLONES void
contour_rows (gint b, gpointer data)
{
  const Contours *c = data;
  gint            w = c->in->width;
  gint            start = b * c->band, end = MIN (start + c->band, c->in->height);
  gsize           padded = (gsize) w + 2;
  g_autofree guint8 *scratch = g_malloc0 (9 * padded + 6 * (gsize) w);
  guint8         *planes[3][3], *low, *owner, *value, *out[3];

  for (gint s = 0; s < 3; s++)
    for (gint ch = 0; ch < 3; ch++)
      planes[s][ch] = scratch + (3 * s + ch) * padded + 1;
  low = scratch + 9 * padded;
  owner = low + w;
  value = owner + w;
  out[0] = value + w;
  out[1] = out[0] + w;
  out[2] = out[1] + w;

  load_planes (c->in, start - 1, planes[(start + 2) % 3]);
  load_planes (c->in, start, planes[start % 3]);
  for (gint y = start; y < end; y++)
    {
      guint8 **up = planes[(y + 2) % 3], **at = planes[y % 3], **down = planes[(y + 1) % 3];

      load_planes (c->in, y + 1, down);
      memset (owner, 3, w);   /* no channel yet: black */
      memset (value, 0, w);
      for (guint8 ch = 0; ch < 3; ch++)
        {
          neighbour_min (up[ch], at[ch], down[ch], w, low);
          for (gsize i = 0; i < c->n_thresholds; i++)
            draw_pass (at[ch], low, w, ch, c->thresholds[i], owner, value);
        }
      for (guint8 ch = 0; ch < 3; ch++)
        for (gint x = 0; x < w; x++)
          out[ch][x] = owner[x] == ch ? value[x] : 0;
      np_planes_to_row (out[0], out[1], out[2], np_image_row (c->in, y), w,
                        c->in->channels, np_image_row (c->out, y));
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

  /* A row costs well under a microsecond: bands of at least 2^19 pixels
   * outweigh starting a thread (~20 µs, far more on a busy machine); a
   * 256×320 crop is one band, run by the caller alone. */
  c.band = MAX (64, (1 << 19) / in->width);
  np_parallel_claim ((in->height + c.band - 1) / c.band, n_threads, contour_rows, &c);
}

gsize
np_contours_parse_thresholds (const gchar *text,
                              guint8      *thresholds,
                              GError     **error)
{
  g_auto(GStrv) words = NULL;
  gsize         n = 0;

  g_return_val_if_fail (thresholds != NULL, 0);

  /* Entries are separated by commas or blanks; a comma with no entry
   * before it ("50,,100", ",50") is a typo, not a separator to skip. */
  {
    gboolean entry_since_comma = FALSE;
    for (const gchar *c = text ? text : ""; *c; c++)
      if (*c == ',')
        {
          if (!entry_since_comma)
            {
              g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                           "threshold list “%s” has an empty entry", text);
              return 0;
            }
          entry_since_comma = FALSE;
        }
      else if (!g_ascii_isspace (*c))
        entry_since_comma = TRUE;
  }

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
