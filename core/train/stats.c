/* neuropaint — what the dataset manifest says about a crop: channel means,
 * brightness, the dominant colour's name and whether the photo is gray
 * (np-dataset.h defines each). */
#include "np-dataset.h"

/* The 11 basic colour terms of Berlin and Kay (1969), at their CSS values. */
static const struct
{
  const char *name;
  gint        r, g, b;
} palette[] = {
  { "black", 0, 0, 0 },       { "white", 255, 255, 255 }, { "gray", 128, 128, 128 },
  { "red", 255, 0, 0 },       { "orange", 255, 165, 0 },  { "yellow", 255, 255, 0 },
  { "green", 0, 128, 0 },     { "blue", 0, 0, 255 },      { "purple", 128, 0, 128 },
  { "pink", 255, 192, 203 },  { "brown", 165, 42, 42 },
};

static guint
nearest_colour (gint r, gint g, gint b)
{
  guint best = 0;
  gint  best_d = G_MAXINT;

  for (guint k = 0; k < G_N_ELEMENTS (palette); k++)
    {
      gint dr = r - palette[k].r, dg = g - palette[k].g, db = b - palette[k].b;
      gint d = dr * dr + dg * dg + db * db;
      if (d < best_d)
        best = k, best_d = d;
    }
  return best;
}

void
np_crop_stats (const NpImage *crop, NpCropStats *stats)
{
  guint64 sums[3] = { 0 }, votes[G_N_ELEMENTS (palette)] = { 0 }, colourful = 0;
  guint64 n = (guint64) crop->width * crop->height;
  guint   best = 0;

  g_return_if_fail (crop->type == NP_SAMPLE_U8 && crop->channels >= 3 && n > 0);

  for (gint y = 0; y < crop->height; y++)
    {
      const guint8 *p = np_image_row (crop, y);
      for (gint x = 0; x < crop->width; x++, p += crop->channels)
        {
          /* BT.601 YCbCr's chroma, as JPEG stores it. */
          gdouble cb = -0.168736 * p[0] - 0.331264 * p[1] + 0.5 * p[2];
          gdouble cr = 0.5 * p[0] - 0.418688 * p[1] - 0.081312 * p[2];

          for (gint c = 0; c < 3; c++)
            sums[c] += p[c];
          votes[nearest_colour (p[0], p[1], p[2])]++;
          colourful += cb * cb + cr * cr > NP_CROP_GRAY_CHROMA * NP_CROP_GRAY_CHROMA;
        }
    }

  for (gint c = 0; c < 3; c++)
    stats->means[c] = (gdouble) sums[c] / n;
  /* The mean of the luma is the luma of the means: it is linear. */
  stats->brightness = 0.299 * stats->means[0] + 0.587 * stats->means[1] + 0.114 * stats->means[2];
  for (guint k = 1; k < G_N_ELEMENTS (palette); k++)
    if (votes[k] > votes[best])
      best = k;
  stats->colour = palette[best].name;
  stats->is_gray = colourful * 100 <= n;
}
