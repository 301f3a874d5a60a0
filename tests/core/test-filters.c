/* Unit tests of the core filters on small images with hand-checked answers. */
#include "neuropaint.h"

#include <math.h>
#include <string.h>

static void
test_gray_weights (void)
{
  /* Pure primaries give the BT.601 weights; white stays white; alpha kept. */
  const gfloat in[] = {
    1, 0, 0, 0.25f,
    0, 1, 0, 0.5f,
    0, 0, 1, 1,
    1, 1, 1, 0,
    0.2f, 0.4f, 0.6f, 1,
  };
  const gfloat want[] = { 0.299f, 0.587f, 0.114f, 1.0f, 0.299f * 0.2f + 0.587f * 0.4f + 0.114f * 0.6f };
  const gfloat alpha[] = { 0.25f, 0.5f, 1, 0, 1 };
  gfloat out[G_N_ELEMENTS (in)];

  np_gray_rgba_f32 (in, out, 5);
  for (int i = 0; i < 5; i++)
    {
      for (int c = 0; c < 3; c++)
        g_assert_cmpfloat_with_epsilon (out[4 * i + c], want[i], 1e-6);
      g_assert_cmpfloat (out[4 * i + 3], ==, alpha[i]);
    }
}

static void
test_gray_in_place (void)
{
  gfloat px[] = { 0.5f, 0.5f, 0.5f, 0.75f };

  np_gray_rgba_f32 (px, px, 1);
  g_assert_cmpfloat_with_epsilon (px[0], 0.5f, 1e-6);
  g_assert_cmpfloat (px[3], ==, 0.75f);
}

static void
test_threshold_boundary (void)
{
  /* c > t is strict: t itself maps to 0, t+1 to t. */
  const guint8 in[] = {
    200, 201, 199, 7,
    255, 0, 200, 255,
  };
  const guint8 want[] = {
    0, 200, 0, 7,
    200, 0, 0, 255,
  };
  guint8 out[8];

  np_rgb_threshold_rgba_u8 (in, out, 2, 200);
  g_assert_cmpmem (out, sizeof out, want, sizeof want);
}

static void
test_threshold_extremes (void)
{
  const guint8 in[] = { 0, 1, 255, 128 };
  guint8 out[4];

  /* t = 0: every non-zero value becomes 0 too, since the output is t. */
  np_rgb_threshold_rgba_u8 (in, out, 1, 0);
  g_assert_cmpmem (out, 3, ((guint8[]) { 0, 0, 0 }), 3);
  /* t = 255: nothing exceeds it. */
  np_rgb_threshold_rgba_u8 (in, out, 1, 255);
  g_assert_cmpmem (out, 3, ((guint8[]) { 0, 0, 0 }), 3);
  /* t = 254: only 255 passes, and becomes 254. */
  np_rgb_threshold_rgba_u8 (in, out, 1, 254);
  g_assert_cmpmem (out, 4, ((guint8[]) { 0, 0, 254, 128 }), 4);
}

static void
test_threshold_every_value (void)
{
  /* 259 pixels cover the vector body and a ragged tail; each byte is checked
   * against the definition, with every value 0–255 in every channel. */
  enum { N = 259 };
  guint8 in[4 * N], out[4 * N];

  for (int i = 0; i < 4 * N; i++)
    in[i] = (guint8) (i * 7 + i / 4);
  for (int t = 0; t < 256; t += 51)
    {
      np_rgb_threshold_rgba_u8 (in, out, N, (guint8) t);
      for (int i = 0; i < 4 * N; i++)
        {
          int want = i % 4 == 3 ? in[i] : in[i] > t ? t : 0;
          if (out[i] != want)
            g_error ("threshold %d, byte %d: %d -> %d, want %d", t, i, in[i], out[i], want);
        }
    }
}

static void
test_image_sizes (void)
{
  GError  *error = NULL;
  NpImage *image;

  image = np_image_new (NP_SAMPLE_U8, 0, 10, 4, &error);
  g_assert_null (image);
  g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  image = np_image_new (NP_SAMPLE_F32, NP_IMAGE_MAX_SIDE + 1, 1, 4, &error);
  g_assert_null (image);
  g_assert_error (error, NP_ERROR, NP_ERROR_TOO_LARGE);
  g_clear_error (&error);

  image = np_image_new (NP_SAMPLE_F32, 3, 2, 4, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (image->stride, ==, 3 * 4 * sizeof (gfloat));
  g_assert_cmpfloat (((gfloat *) np_image_row (image, 1))[11], ==, 0.0f);
  np_image_free (image);
}

/* ---- Canny and contours: small RGBA pictures built pixel by pixel ---- */

/* All zero: outputs start so, and an alpha left uncopied shows. */
static NpImage *
new_blank (gint w, gint h)
{
  GError  *error = NULL;
  NpImage *image = np_image_new (NP_SAMPLE_U8, w, h, 4, &error);

  g_assert_no_error (error);
  return image;
}

/* Black, with an alpha varying over the picture. */
static NpImage *
new_rgba (gint w, gint h)
{
  NpImage *image = new_blank (w, h);

  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      ((guint8 *) np_image_row (image, y))[4 * x + 3] = (guint8) (100 + x + y);
  return image;
}

static guint8 *
px (NpImage *image, gint x, gint y)
{
  return (guint8 *) np_image_row (image, y) + 4 * x;
}

/* Fills channel ch of the rectangle [x0, x1) × [y0, y1) with v. */
static void
fill (NpImage *image, gint ch, gint x0, gint y0, gint x1, gint y1, guint8 v)
{
  for (gint y = y0; y < y1; y++)
    for (gint x = x0; x < x1; x++)
      px (image, x, y)[ch] = v;
}

static NpImage *
canny (NpImage *in, gdouble low, gdouble high, NpCannyGradient gradient,
       NpCannyMode mode, gint pre_threshold, gint threads)
{
  NpCannyParams params = { low, high, gradient, mode, pre_threshold };
  NpImage *out = new_blank (in->width, in->height);
  GError  *error = NULL;

  g_assert_true (np_canny (in, out, &params, threads, &error));
  g_assert_no_error (error);
  return out;
}

static gint
count (NpImage *image, gint ch, guint8 v)
{
  gint n = 0;

  for (gint y = 0; y < image->height; y++)
    for (gint x = 0; x < image->width; x++)
      n += px (image, x, y)[ch] == v;
  return n;
}

static void
assert_alpha_kept (NpImage *in, NpImage *out)
{
  for (gint y = 0; y < in->height; y++)
    for (gint x = 0; x < in->width; x++)
      g_assert_cmpint (px (out, x, y)[3], ==, px (in, x, y)[3]);
}

static void
test_canny_step_edges (void)
{
  /* A vertical step 0 | 255 in R between columns 3 and 4: dx = 4·255 on
   * both columns, dy = 0 (replicated rows). The left one wins the tie
   * (m > left, m >= right), so the edge is column 3 alone. G and B are flat. */
  g_autoptr(NpImage) v = new_rgba (8, 6);
  g_autoptr(NpImage) h = new_rgba (6, 8);
  g_autoptr(NpImage) ve = NULL, he = NULL;

  fill (v, 0, 4, 0, 8, 6, 255);
  ve = canny (v, 100, 200, NP_CANNY_GRADIENT_L1, NP_CANNY_PER_CHANNEL, -1, 1);
  for (gint y = 0; y < 6; y++)
    for (gint x = 0; x < 8; x++)
      g_assert_cmpint (px (ve, x, y)[0], ==, x == 3 ? 255 : 0);
  g_assert_cmpint (count (ve, 1, 0), ==, 48);
  g_assert_cmpint (count (ve, 2, 0), ==, 48);
  assert_alpha_kept (v, ve);

  /* The same across rows, in B: the upper row of the step wins. */
  fill (h, 2, 0, 3, 6, 8, 255);
  he = canny (h, 100, 200, NP_CANNY_GRADIENT_L2, NP_CANNY_PER_CHANNEL, -1, 2);
  for (gint y = 0; y < 8; y++)
    for (gint x = 0; x < 6; x++)
      g_assert_cmpint (px (he, x, y)[2], ==, y == 2 ? 255 : 0);
  g_assert_cmpint (count (he, 0, 0), ==, 48);
}

static void
test_canny_thresholds (void)
{
  /* Step of 50: magnitude 200 (L1 and L2 alike, dy being 0). OpenCV needs
   * m > high; L2 compares squares floored: floor(199.5²) = 39800 < 40000. */
  g_autoptr(NpImage) in = new_rgba (8, 6);
  struct { gdouble low, high; NpCannyGradient g; gint want; } cases[] = {
    { 10, 200,   NP_CANNY_GRADIENT_L1, 0 },
    { 10, 199.5, NP_CANNY_GRADIENT_L1, 6 },
    { 10, 200,   NP_CANNY_GRADIENT_L2, 0 },
    { 10, 199.5, NP_CANNY_GRADIENT_L2, 6 },
    { 199.5, 10, NP_CANNY_GRADIENT_L2, 6 },   /* swapped into order */
    { 200, 200,  NP_CANNY_GRADIENT_L1, 0 },   /* nothing exceeds low */
  };

  fill (in, 1, 4, 0, 8, 6, 50);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(NpImage) out = canny (in, cases[i].low, cases[i].high, cases[i].g,
                                      NP_CANNY_PER_CHANNEL, -1, 1);
      g_assert_cmpint (count (out, 1, 255), ==, cases[i].want);
    }
}

static void
test_canny_hysteresis (void)
{
  /* Column step 0 | v: v = 255 in rows 0–4 (magnitude 1020, strong at
   * high 800), v = 100 below (400: weak between 300 and 800). The weak
   * rows far from the change (6–11) survive only through the strong ones. */
  g_autoptr(NpImage) in = new_rgba (10, 12);
  g_autoptr(NpImage) weak_only = new_rgba (10, 12);
  g_autoptr(NpImage) both = NULL, high_low = NULL, alone = NULL;

  fill (in, 0, 5, 0, 10, 5, 255);
  fill (in, 0, 5, 5, 10, 12, 100);
  fill (weak_only, 0, 5, 0, 10, 12, 100);

  both = canny (in, 300, 800, NP_CANNY_GRADIENT_L1, NP_CANNY_PER_CHANNEL, -1, 1);
  high_low = canny (in, 500, 800, NP_CANNY_GRADIENT_L1, NP_CANNY_PER_CHANNEL, -1, 1);
  alone = canny (weak_only, 300, 800, NP_CANNY_GRADIENT_L1, NP_CANNY_PER_CHANNEL, -1, 1);
  for (gint y = 0; y < 4; y++)
    {
      g_assert_cmpint (px (both, 4, y)[0], ==, 255);
      g_assert_cmpint (px (high_low, 4, y)[0], ==, 255);
    }
  for (gint y = 6; y < 12; y++)
    {
      g_assert_cmpint (px (both, 4, y)[0], ==, 255);
      g_assert_cmpint (px (high_low, 4, y)[0], ==, 0);
    }
  g_assert_cmpint (count (alone, 0, 255), ==, 0);

  /* Upside down, growth has to run upwards. */
  fill (in, 0, 5, 0, 10, 7, 100);
  fill (in, 0, 5, 7, 10, 12, 255);
  g_clear_pointer (&both, np_image_free);
  both = canny (in, 300, 800, NP_CANNY_GRADIENT_L1, NP_CANNY_PER_CHANNEL, -1, 1);
  for (gint y = 0; y < 6; y++)
    g_assert_cmpint (px (both, 4, y)[0], ==, 255);
}

static void
test_canny_gray_and_pre_threshold (void)
{
  /* Black | (0, 0, 250). OpenCV's Q15 luma of it is 28 (the float formula
   * would round 28.5 up to 29), so the step's magnitude is 4·28 = 112. */
  g_autoptr(NpImage) in = new_rgba (8, 6);
  g_autoptr(NpImage) above = NULL, below = NULL, seed = NULL, plain = NULL;

  fill (in, 2, 4, 0, 8, 6, 250);
  above = canny (in, 50, 113, NP_CANNY_GRADIENT_L1, NP_CANNY_GRAY, -1, 1);
  below = canny (in, 50, 111, NP_CANNY_GRADIENT_L1, NP_CANNY_GRAY, -1, 1);
  for (gint ch = 0; ch < 3; ch++)
    {
      g_assert_cmpint (count (above, ch, 255), ==, 0);
      g_assert_cmpint (count (below, ch, 255), ==, 6);
      g_assert_cmpint (px (below, 3, 2)[ch], ==, 255);
    }

  /* 200 | 201 in R is a step of 1 (magnitude 4), no edge; the seed's
   * pre-threshold 200 makes it 0 | 200, an edge at 140/255. */
  fill (in, 0, 0, 0, 4, 6, 200);
  fill (in, 0, 4, 0, 8, 6, 201);
  seed = canny (in, 140, 255, NP_CANNY_GRADIENT_L1, NP_CANNY_PER_CHANNEL, 200, 1);
  plain = canny (in, 140, 255, NP_CANNY_GRADIENT_L1, NP_CANNY_PER_CHANNEL, -1, 1);
  g_assert_cmpint (count (seed, 0, 255), ==, 6);
  g_assert_cmpint (px (seed, 3, 0)[0], ==, 255);
  g_assert_cmpint (count (plain, 0, 255), ==, 0);
  /* B (250) passes the pre-threshold as 200: a step of 200 there too. */
  g_assert_cmpint (count (seed, 2, 255), ==, 6);
}

static void
test_canny_threads (void)
{
  /* Blobs and noise: edges everywhere, crossing every stripe seam. */
  for (gint size = 1; size <= 200; size += 199)
    {
      g_autoptr(NpImage) in = new_rgba (size + 13, size);
      g_autoptr(NpImage) one = NULL;
      guint32 state = 7;

      for (gint y = 0; y < in->height; y++)
        for (gint x = 0; x < in->width; x++)
          for (gint ch = 0; ch < 3; ch++)
            {
              state = state * 1664525u + 1013904223u;
              px (in, x, y)[ch] = ((x / 9 + y / 7 + ch) % 3) * 90 + (state >> 28);
            }
      for (gint mode = NP_CANNY_PER_CHANNEL; mode <= NP_CANNY_GRAY; mode++)
        {
          g_clear_pointer (&one, np_image_free);
          one = canny (in, 40, 120, NP_CANNY_GRADIENT_L1, mode, -1, 1);
          for (gint threads = 2; threads <= 7; threads += 5)
            {
              g_autoptr(NpImage) many = canny (in, 40, 120, NP_CANNY_GRADIENT_L1, mode, -1, threads);
              g_assert_cmpmem (one->data, one->stride * one->height,
                               many->data, many->stride * many->height);
            }
        }
      assert_alpha_kept (in, one);

      /* In place, the same bytes. */
      {
        NpCannyParams params = { 40, 120, NP_CANNY_GRADIENT_L1, NP_CANNY_GRAY, -1 };
        g_assert_true (np_canny (in, in, &params, 3, NULL));
        g_assert_cmpmem (one->data, one->stride * one->height, in->data, in->stride * in->height);
      }
    }
}

static void
test_canny_bad_parameters (void)
{
  g_autoptr(NpImage) in = new_rgba (4, 4);
  g_autoptr(NpImage) out = new_rgba (4, 4);
  const NpCannyParams bad[] = {
    { -1, 200, NP_CANNY_GRADIENT_L1, NP_CANNY_PER_CHANNEL, -1 },
    { 100, NP_CANNY_THRESHOLD_MAX + 1, NP_CANNY_GRADIENT_L1, NP_CANNY_PER_CHANNEL, -1 },
    { NAN, 200, NP_CANNY_GRADIENT_L1, NP_CANNY_PER_CHANNEL, -1 },
    { 100, 200, NP_CANNY_GRADIENT_L1, NP_CANNY_PER_CHANNEL, 256 },
    { 100, 200, NP_CANNY_GRADIENT_L1, NP_CANNY_PER_CHANNEL, -2 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      GError *error = NULL;
      g_assert_false (np_canny (in, out, &bad[i], 1, &error));
      g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
}

static NpImage *
contours (NpImage *in, const char *list, gint threads)
{
  guint8   thresholds[NP_CONTOURS_MAX_THRESHOLDS];
  GError  *error = NULL;
  gsize    n = np_contours_parse_thresholds (list, thresholds, &error);
  NpImage *out = new_blank (in->width, in->height);

  g_assert_no_error (error);
  np_contours (in, out, thresholds, n, threads);
  return out;
}

/* Asserts every pixel of out is (r, g, b) where inside (x, y) holds, else black. */
#define ASSERT_PIXELS(out, inside, r, g, b)                                \
  for (gint y = 0; y < (out)->height; y++)                                 \
    for (gint x = 0; x < (out)->width; x++)                                \
      {                                                                    \
        gboolean in_ = (inside);                                           \
        g_assert_cmpint (px (out, x, y)[0], ==, in_ ? (r) : 0);            \
        g_assert_cmpint (px (out, x, y)[1], ==, in_ ? (g) : 0);            \
        g_assert_cmpint (px (out, x, y)[2], ==, in_ ? (b) : 0);            \
      }

static void
test_contours_square (void)
{
  /* A 4×4 square of R = 120 at (2..5, 2..5): the masks R > 50 and R > 100
   * are the square, whose border is its 12-pixel ring; 100 is drawn last.
   * R > 150, 200 and every G, B mask are empty. */
  g_autoptr(NpImage) in = new_rgba (8, 8);
  g_autoptr(NpImage) out = NULL;

  fill (in, 0, 2, 2, 6, 6, 120);
  out = contours (in, "50,100,150,200", 1);
#define RING (x >= 2 && x <= 5 && y >= 2 && y <= 5 && (x == 2 || x == 5 || y == 2 || y == 5))
  ASSERT_PIXELS (out, RING, 100, 0, 0);
  assert_alpha_kept (in, out);

  /* c > k is strict: k = 120 draws nothing, 119 draws the ring. */
  g_clear_pointer (&out, np_image_free);
  out = contours (in, "120", 1);
  ASSERT_PIXELS (out, FALSE, 0, 0, 0);
  g_clear_pointer (&out, np_image_free);
  out = contours (in, "119", 1);
  ASSERT_PIXELS (out, RING, 119, 0, 0);
#undef RING
}

static void
test_contours_order (void)
{
  /* The same square in R and G. Passes run R then G, each list in order,
   * later ones drawing over earlier ones; k = 0 draws black. */
  g_autoptr(NpImage) in = new_rgba (8, 8);
  g_autoptr(NpImage) a = NULL, b = NULL;

  fill (in, 0, 2, 2, 6, 6, 120);
  fill (in, 1, 2, 2, 6, 6, 120);
  a = contours (in, "0,50", 1);
  b = contours (in, "50 0", 1);
#define RING (x >= 2 && x <= 5 && y >= 2 && y <= 5 && (x == 2 || x == 5 || y == 2 || y == 5))
  ASSERT_PIXELS (a, RING, 0, 50, 0);
  ASSERT_PIXELS (b, FALSE, 0, 0, 0);
#undef RING
}

static void
test_contours_image_edge_and_hole (void)
{
  /* B = 255 everywhere but a 3×3 hole at (4..6, 4..6) of an 11×11 image.
   * OpenCV 4 pads with zeros, so the frame of the image is a border; the
   * hole's border is its 4-neighbours, not the diagonal corners (3, 3)…
   * (8-connected border following steps across them). */
  g_autoptr(NpImage) in = new_rgba (11, 11);
  g_autoptr(NpImage) out = NULL;

  fill (in, 2, 0, 0, 11, 11, 255);
  fill (in, 2, 4, 4, 7, 7, 0);
  out = contours (in, "50,100,150,200", 3);
#define FRAME (x == 0 || y == 0 || x == 10 || y == 10)
#define HOLE_RING (x >= 3 && x <= 7 && y >= 3 && y <= 7 && !(x >= 4 && x <= 6 && y >= 4 && y <= 6) \
                   && !((x == 3 || x == 7) && (y == 3 || y == 7)))
  ASSERT_PIXELS (out, FRAME || HOLE_RING, 0, 0, 200);
#undef FRAME
#undef HOLE_RING
}

static void
test_contours_one_pixel_and_threads (void)
{
  g_autoptr(NpImage) dot = new_rgba (1, 1);
  g_autoptr(NpImage) out = NULL;
  g_autoptr(NpImage) big = new_rgba (300, 1800);
  g_autoptr(NpImage) one = NULL, two = NULL;
  guint32 state = 3;

  px (dot, 0, 0)[1] = 77;
  out = contours (dot, "50,100", 2);
  ASSERT_PIXELS (out, TRUE, 0, 50, 0);

  for (gint y = 0; y < big->height; y++)
    for (gint x = 0; x < big->width; x++)
      for (gint ch = 0; ch < 3; ch++)
        {
          state = state * 1664525u + 1013904223u;
          px (big, x, y)[ch] = state >> 24;
        }
  one = contours (big, "50,100,150,200", 1);
  two = contours (big, "50,100,150,200", 4);
  g_assert_cmpmem (one->data, one->stride * one->height, two->data, two->stride * two->height);
}

static void
test_contours_parse (void)
{
  guint8 t[NP_CONTOURS_MAX_THRESHOLDS];
  const char *bad[] = { "", " , ", "50,abc", "256", "-1", "50;100", "1e2", NULL };
  GError *error = NULL;
  GString *many = g_string_new ("0");

  g_assert_cmpuint (np_contours_parse_thresholds ("50,100,150,200", t, &error), ==, 4);
  g_assert_no_error (error);
  g_assert_cmpmem (t, 4, ((guint8[]) { 50, 100, 150, 200 }), 4);
  g_assert_cmpuint (np_contours_parse_thresholds (" 255, 0 7", t, &error), ==, 3);
  g_assert_no_error (error);
  g_assert_cmpmem (t, 3, ((guint8[]) { 255, 0, 7 }), 3);
  /* Commas with nothing between them are refused, not skipped. */
  for (gsize i = 0; i < 3; i++)
    {
      const char *empty[] = { "50,,100", ",50", "50, ,100" };
      g_assert_cmpuint (np_contours_parse_thresholds (empty[i], t, &error), ==, 0);
      g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }

  for (gint i = 0; bad[i]; i++)
    {
      g_assert_cmpuint (np_contours_parse_thresholds (bad[i], t, &error), ==, 0);
      g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  for (gint i = 1; i < NP_CONTOURS_MAX_THRESHOLDS; i++)
    g_string_append_printf (many, ",%d", i % 256);
  g_assert_cmpuint (np_contours_parse_thresholds (many->str, t, &error), ==, NP_CONTOURS_MAX_THRESHOLDS);
  g_string_append (many, ",1");
  g_assert_cmpuint (np_contours_parse_thresholds (many->str, t, &error), ==, 0);
  g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_string_free (many, TRUE);
}

/* ---- the registry ---------------------------------------------------------- */

/* A w×h u8 image of `channels` with varied values (every residue mod 256
 * in each channel), alpha 7 so a filter that used it would show. */
static NpImage *
varied_u8 (gint w, gint h, gint channels)
{
  NpImage *im = np_image_new (NP_SAMPLE_U8, w, h, channels, NULL);

  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      {
        guint8 *p = (guint8 *) np_image_row (im, y) + x * channels;
        p[0] = (guint8) (x * 37 + y * 11);
        p[1] = (guint8) (x * 5 + y * 53);
        p[2] = (guint8) (x * y + 3 * x);
        if (channels == 4)
          p[3] = 7;
      }
  return im;
}

static NpImage *
apply_u8 (const char *name, GHashTable *params, const NpImage *in)
{
  const NpFilter *f = np_filter_find (name);
  g_autoptr(GError) error = NULL;
  NpImage *out;

  g_assert_nonnull (f);
  out = np_image_new (NP_SAMPLE_U8, in->width, in->height, np_filter_channels (f), NULL);
  g_assert_true (np_filter_apply (f, params, in, out, 2, &error));
  g_assert_no_error (error);
  return out;
}

static void
test_registry_names (void)
{
  const char *const want[] = { "gray", "binary", "contours", "canny" };
  const NpFilter *const *list = np_filter_list ();
  const NpFilterParam *p;
  gsize n = 0;

  for (; list[n]; n++)
    {
      g_assert_cmpuint (n, <, G_N_ELEMENTS (want));
      g_assert_cmpstr (np_filter_name (list[n]), ==, want[n]);
      g_assert_true (np_filter_find (want[n]) == list[n]);
    }
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (want));
  g_assert_true (np_filter_find ("rgb-threshold") == np_filter_find ("binary"));
  g_assert_null (np_filter_find ("identity"));
  g_assert_null (np_filter_find ("Gray"));
  g_assert_null (np_filter_find (""));
  g_assert_null (np_filter_find (NULL));
  g_assert_cmpint (np_filter_channels (np_filter_find ("gray")), ==, 1);
  g_assert_cmpint (np_filter_channels (np_filter_find ("canny")), ==, 3);

  /* The keys a model's metadata uses, with the seed's values. */
  g_assert_null (np_filter_params (np_filter_find ("gray"))[0].key);
  p = np_filter_params (np_filter_find ("binary"));
  g_assert_cmpstr (p[0].key, ==, "input_threshold");
  g_assert_cmpstr (p[0].default_value, ==, "200");
  g_assert_null (p[1].key);
  p = np_filter_params (np_filter_find ("contours"));
  g_assert_cmpstr (p[0].key, ==, "input_thresholds");
  g_assert_cmpstr (p[0].default_value, ==, "50,100,150,200");
  p = np_filter_params (np_filter_find ("canny"));
  g_assert_cmpstr (p[0].key, ==, "input_threshold");
  g_assert_cmpstr (p[0].default_value, ==, "200");
}

/* Gray: one channel, the luma rounded; hand-computed values. */
static void
test_registry_gray (void)
{
  const guint8 rgb[][3] = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 }, { 255, 255, 255 },
                            { 10, 20, 30 }, { 0, 0, 0 }, { 200, 100, 50 } };
  /* 76.245, 149.685, 29.07, 255, 18.15, 0, 59.8 + 58.7 + 5.7 = 124.2 */
  const guint8 want[] = { 76, 150, 29, 255, 18, 0, 124 };
  g_autoptr(NpImage) in = np_image_new (NP_SAMPLE_U8, G_N_ELEMENTS (rgb), 1, 3, NULL);
  g_autoptr(NpImage) out = NULL;

  memcpy (in->data, rgb, sizeof rgb);
  out = apply_u8 ("gray", NULL, in);
  g_assert_cmpint (out->channels, ==, 1);
  g_assert_cmpmem (out->data, sizeof want, want, sizeof want);
}

/* Binary: (c > t) · t per channel, default 200 or input_threshold. */
static void
test_registry_binary (void)
{
  g_autoptr(NpImage) in = varied_u8 (23, 17, 3);
  g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);

  g_hash_table_insert (params, "input_threshold", "100");
  g_hash_table_insert (params, "input_thresholds", "7");   /* not binary's key: ignored */
  for (gint k = 0; k < 2; k++)
    {
      guint8 t = k ? 100 : 200;
      g_autoptr(NpImage) out = apply_u8 (k ? "rgb-threshold" : "binary", k ? params : NULL, in);
      for (gint y = 0; y < in->height; y++)
        for (gint i = 0; i < in->width * 3; i++)
          {
            guint8 c = ((guint8 *) np_image_row (in, y))[i];
            g_assert_cmpint (((guint8 *) np_image_row (out, y))[i], ==, c > t ? t : 0);
          }
    }
}

/* Contours and Canny with the seed's parameters are the core filters run
 * by hand with them; RGB and RGBA inputs give the same result, alpha being
 * ignored. */
static void
test_registry_seed_filters (void)
{
  g_autoptr(NpImage) rgb = varied_u8 (41, 29, 3), rgba = varied_u8 (41, 29, 4);
  g_autoptr(NpImage) drawn = np_image_new (NP_SAMPLE_U8, 41, 29, 4, NULL);
  g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
  const guint8 seed_ks[] = { 50, 100, 150, 200 }, other_ks[] = { 30, 90 };
  NpCannyParams seed = { .low = 140, .high = 255, .gradient = NP_CANNY_GRADIENT_L1,
                         .mode = NP_CANNY_PER_CHANNEL, .pre_threshold = 200 };

  g_hash_table_insert (params, "input_thresholds", "30, 90");
  g_hash_table_insert (params, "input_threshold", "120");
  for (gint f = 0; f < 4; f++)
    {
      const char *name = f % 2 ? "canny" : "contours";
      GHashTable *given = f >= 2 ? params : NULL;
      g_autoptr(NpImage) a = apply_u8 (name, given, rgb), b = apply_u8 (name, given, rgba);
      gsize edges = 0;

      if (f == 0)
        np_contours (rgba, drawn, seed_ks, G_N_ELEMENTS (seed_ks), 1);
      else if (f == 2)
        np_contours (rgba, drawn, other_ks, G_N_ELEMENTS (other_ks), 1);
      else
        {
          seed.pre_threshold = f == 1 ? 200 : 120;
          g_assert_true (np_canny (rgba, drawn, &seed, 1, NULL));
        }
      for (gint y = 0; y < 29; y++)
        for (gint x = 0; x < 41; x++)
          for (gint c = 0; c < 3; c++)
            {
              guint8 want = ((guint8 *) np_image_row (drawn, y))[4 * x + c];
              g_assert_cmpint (((guint8 *) np_image_row (a, y))[3 * x + c], ==, want);
              g_assert_cmpint (((guint8 *) np_image_row (b, y))[3 * x + c], ==, want);
              edges += want != 0;
            }
      g_assert_cmpuint (edges, >, 0);   /* the comparison is not of two blanks */
    }
}

/* The float path: gray exact in float, the 8-bit filters on the quantised
 * picture; alpha kept. */
static void
test_registry_float (void)
{
  g_autoptr(NpImage) bytes = varied_u8 (19, 13, 4);
  g_autoptr(GError) error = NULL;

  for (gint f = 0; f < 2; f++)
    {
      const char *name = f ? "binary" : "gray";
      g_autoptr(NpImage) rgba = np_image_new (NP_SAMPLE_F32, 19, 13, 4, NULL);
      g_autoptr(NpImage) u8 = apply_u8 (name, NULL, bytes);

      for (gint y = 0; y < 13; y++)
        for (gint i = 0; i < 19 * 4; i++)
          ((gfloat *) np_image_row (rgba, y))[i] = i % 4 == 3 ? 0.25f : ((guint8 *) np_image_row (bytes, y))[i] / 255.0f;
      g_assert_true (np_filter_apply_rgba_f32 (np_filter_find (name), NULL, rgba, 1, &error));
      g_assert_no_error (error);
      for (gint y = 0; y < 13; y++)
        for (gint x = 0; x < 19; x++)
          {
            const gfloat *px = (gfloat *) np_image_row (rgba, y) + 4 * x;
            const guint8 *p = (guint8 *) np_image_row (bytes, y) + 4 * x;
            const guint8 *q = (guint8 *) np_image_row (u8, y) + x * u8->channels;
            for (gint c = 0; c < 3; c++)
              if (f)
                g_assert_cmpfloat (px[c], ==, q[c] / 255.0f);
              else
                g_assert_cmpfloat_with_epsilon (px[c], (0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]) / 255, 1e-6);
            g_assert_cmpfloat (px[3], ==, 0.25f);
          }
    }
}

static void
test_registry_bad_parameters (void)
{
  const char *const bad[][3] = {
    { "binary", "input_threshold", "256" }, { "binary", "input_threshold", "abc" },
    { "canny", "input_threshold", "-1" }, { "canny", "input_threshold", "" },
    { "rgb-threshold", "input_threshold", "20x" },
    { "contours", "input_thresholds", "50,,100" }, { "contours", "input_thresholds", "300" },
  };
  g_autoptr(NpImage) in = varied_u8 (8, 8, 3);

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const NpFilter *f = np_filter_find (bad[i][0]);
      g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
      g_autoptr(NpImage) out = np_image_new (NP_SAMPLE_U8, 8, 8, np_filter_channels (f), NULL);
      g_autoptr(NpImage) rgba = np_image_new (NP_SAMPLE_F32, 8, 8, 4, NULL);
      GError *error = NULL;

      g_hash_table_insert (params, (gpointer) bad[i][1], (gpointer) bad[i][2]);
      g_assert_false (np_filter_check (f, params, &error));
      g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, bad[i][1]));
      g_clear_error (&error);
      g_assert_false (np_filter_apply (f, params, in, out, 1, &error));
      g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      g_assert_false (np_filter_apply_rgba_f32 (f, params, rgba, 1, &error));
      g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  for (const NpFilter *const *f = np_filter_list (); *f; f++)
    g_assert_true (np_filter_check (*f, NULL, NULL));
}

static void
sum_range (gsize start, gsize end, guint part, gpointer data)
{
  gint *marks = data;
  for (gsize i = start; i < end; i++)
    marks[i] += 1 + (gint) part * 0;
}

static void
test_parallel_covers_once (void)
{
  /* Every index is visited exactly once, whatever the thread count. */
  for (gint threads = 1; threads <= 7; threads++)
    for (gsize n = 0; n < 40; n += 3)
      {
        g_autofree gint *marks = g_new0 (gint, n + 1);
        np_parallel_for (n, 2, threads, sum_range, marks);
        for (gsize i = 0; i < n; i++)
          g_assert_cmpint (marks[i], ==, 1);
        g_assert_cmpint (marks[n], ==, 0);
        g_assert_cmpuint (np_parallel_parts (n, 2, threads), <=, (guint) threads);
      }
}

static void
count_item (gint i, gpointer data)
{
  g_atomic_int_inc (&((gint *) data)[i]);
}

static void
test_parallel_claim_once (void)
{
  for (gint threads = 0; threads <= 5; threads++)
    for (gint n = 0; n < 40; n += 7)
      {
        g_autofree gint *marks = g_new0 (gint, n + 1);
        np_parallel_claim (n, threads, count_item, marks);
        for (gint i = 0; i < n; i++)
          g_assert_cmpint (marks[i], ==, 1);
        g_assert_cmpint (marks[n], ==, 0);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/filters/gray/weights", test_gray_weights);
  g_test_add_func ("/filters/gray/in-place", test_gray_in_place);
  g_test_add_func ("/filters/rgb-threshold/boundary", test_threshold_boundary);
  g_test_add_func ("/filters/rgb-threshold/extremes", test_threshold_extremes);
  g_test_add_func ("/filters/rgb-threshold/every-value", test_threshold_every_value);
  g_test_add_func ("/filters/canny/step-edges", test_canny_step_edges);
  g_test_add_func ("/filters/canny/thresholds", test_canny_thresholds);
  g_test_add_func ("/filters/canny/hysteresis", test_canny_hysteresis);
  g_test_add_func ("/filters/canny/gray-and-pre-threshold", test_canny_gray_and_pre_threshold);
  g_test_add_func ("/filters/canny/threads", test_canny_threads);
  g_test_add_func ("/filters/canny/bad-parameters", test_canny_bad_parameters);
  g_test_add_func ("/filters/contours/square", test_contours_square);
  g_test_add_func ("/filters/contours/order", test_contours_order);
  g_test_add_func ("/filters/contours/image-edge-and-hole", test_contours_image_edge_and_hole);
  g_test_add_func ("/filters/contours/one-pixel-and-threads", test_contours_one_pixel_and_threads);
  g_test_add_func ("/filters/contours/parse", test_contours_parse);
  g_test_add_func ("/filters/registry/names", test_registry_names);
  g_test_add_func ("/filters/registry/gray", test_registry_gray);
  g_test_add_func ("/filters/registry/binary", test_registry_binary);
  g_test_add_func ("/filters/registry/seed-filters", test_registry_seed_filters);
  g_test_add_func ("/filters/registry/float", test_registry_float);
  g_test_add_func ("/filters/registry/bad-parameters", test_registry_bad_parameters);
  g_test_add_func ("/image/sizes", test_image_sizes);
  g_test_add_func ("/parallel/covers-once", test_parallel_covers_once);
  g_test_add_func ("/parallel/claim-once", test_parallel_claim_once);
  return g_test_run ();
}
