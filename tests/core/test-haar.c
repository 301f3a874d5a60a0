/* Unit tests of core/haar: the cascade loader against hostile files, the
 * integral images against their definitions, rectangle grouping and the face
 * crop geometry against hand-computed answers. Detection itself is compared
 * with OpenCV in tests/oracle/test_haar_cv.py. */
#include "neuropaint.h"
#include "haar/haar-private.h"

#include <math.h>
#include <string.h>

/* A small valid cascade: one stage of two stumps, one tilted feature. */
static const char valid[] =
  "<?xml version=\"1.0\"?>\n<opencv_storage>\n"
  "<cascade type_id=\"opencv-cascade-classifier\"><stageType>BOOST</stageType>\n"
  "<featureType>HAAR</featureType><height>24</height><width>24</width>\n"
  "<stageParams><maxWeakCount>2</maxWeakCount></stageParams>\n"
  "<featureParams><maxCatCount>0</maxCatCount></featureParams>\n"
  "<stageNum>1</stageNum>\n"
  "<stages><_><maxWeakCount>2</maxWeakCount><stageThreshold>-1.5</stageThreshold>\n"
  "<weakClassifiers>\n"
  "<_><internalNodes>0 -1 0 1.0e-02</internalNodes><leafValues>-1 1</leafValues></_>\n"
  "<_><internalNodes>0 -1 1 -0.02</internalNodes><leafValues>0.5 -0.5</leafValues></_>\n"
  "</weakClassifiers></_></stages>\n"
  "<features>\n"
  "<_><rects><_>6 4 12 9 -1.</_><_>6 7 12 3 3.</_></rects><tilted>0</tilted></_>\n"
  "<_><rects><_>8 2 6 4 -1.</_><_>9 3 4 2 2.</_></rects><tilted>1</tilted></_>\n"
  "</features></cascade></opencv_storage>\n";

static void
test_load_valid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NpHaarCascade) c = np_haar_cascade_load_data (valid, strlen (valid), &error);
  gint w, h;

  g_assert_no_error (error);
  np_haar_cascade_window (c, &w, &h);
  g_assert_cmpint (w, ==, 24);
  g_assert_cmpint (h, ==, 24);
  g_assert_cmpuint (np_haar_cascade_n_stages (c), ==, 1);
  g_assert_cmpuint (np_haar_cascade_n_features (c), ==, 2);
  g_assert_true (np_haar_cascade_has_tilted (c));
  g_assert_cmpuint (np_haar_cascade_max_depth (c), ==, 1);
  /* OpenCV lowers stage thresholds by 1e-5 in float. */
  g_assert_cmpfloat (g_array_index (c->stages, NpHaarStage, 0).threshold, ==, -1.5f - 1e-5f);
}

typedef struct
{
  const char *find, *replace;
  gint        code;
  const char *message;  /* a word the message must contain */
} Mutation;

static const Mutation mutations[] = {
  { "<stageNum>1<", "<stageNum>7<", NP_ERROR_CORRUPT, "stageNum" },
  { "<stageNum>1<", "<stageNum>2147483648<", NP_ERROR_CORRUPT, "range" },
  { "<stageNum>1<", "<stageNum>-1<", NP_ERROR_CORRUPT, "stageNum" },
  { "<maxWeakCount>2</maxWeakCount><stageT", "<maxWeakCount>3</maxWeakCount><stageT", NP_ERROR_CORRUPT, "maxWeakCount" },
  { "<height>24<", "<height>-24<", NP_ERROR_CORRUPT, "window" },
  { "<width>24<", "<width>0<", NP_ERROR_CORRUPT, "window" },
  { "<width>24<", "<width>100000<", NP_ERROR_UNSUPPORTED, "larger" },
  { "<width>24<", "<width>twenty<", NP_ERROR_CORRUPT, "integer" },
  { "6 4 12 9 -1.", "6 4 19 9 -1.", NP_ERROR_CORRUPT, "inside" },
  { "6 4 12 9 -1.", "-6 4 12 9 -1.", NP_ERROR_CORRUPT, "inside" },
  { "6 4 12 9 -1.", "6 4 12 -9 -1.", NP_ERROR_CORRUPT, "inside" },
  { "6 4 12 9 -1.", "6 4 12 2147483647 -1.", NP_ERROR_CORRUPT, "inside" },
  { "6 4 12 9 -1.", "6 4 12 9 nan", NP_ERROR_CORRUPT, "finite" },
  { "6 4 12 9 -1.", "6 4 12 9 1e300", NP_ERROR_CORRUPT, "finite" },
  { "6 4 12 9 -1.", "6 4 12 9", NP_ERROR_CORRUPT, "missing" },
  { "6 4 12 9 -1.", "6 4 12 9 -1. 7", NP_ERROR_CORRUPT, "more than 5" },
  /* Tilted: x − h must stay >= 0 and y + w + h inside. */
  { "8 2 6 4 -1.", "3 2 6 4 -1.", NP_ERROR_CORRUPT, "tilted" },
  { "8 2 6 4 -1.", "8 15 6 4 -1.", NP_ERROR_CORRUPT, "tilted" },
  { "<tilted>1<", "<tilted>2<", NP_ERROR_CORRUPT, "tilted" },
  { "0 -1 1 -0.02", "0 -1 2 -0.02", NP_ERROR_CORRUPT, "feature 2" },
  { "0 -1 1 -0.02", "0 -1 -1 -0.02", NP_ERROR_CORRUPT, "feature -1" },
  { "0 -1 1 -0.02", "0 -5 1 -0.02", NP_ERROR_CORRUPT, "leaf" },
  { "0 -1 1 -0.02", "1 -1 1 -0.02", NP_ERROR_CORRUPT, "node" },
  { "0 -1 1 -0.02", "0 -1 1", NP_ERROR_CORRUPT, "threshold" },
  { "0 -1 1 -0.02", "0 -1 1 inf", NP_ERROR_CORRUPT, "finite" },
  { "<leafValues>0.5 -0.5<", "<leafValues>0.5<", NP_ERROR_CORRUPT, "leaf" },
  { "<leafValues>0.5 -0.5<", "<leafValues>0.5 -0.5 1 2<", NP_ERROR_CORRUPT, "leaf" },
  { "<stageThreshold>-1.5<", "<stageThreshold>x<", NP_ERROR_CORRUPT, "number" },
  { "<stageThreshold>-1.5</stageThreshold>", "", NP_ERROR_CORRUPT, "stageThreshold" },
  { "<maxCatCount>0<", "<maxCatCount>256<", NP_ERROR_UNSUPPORTED, "categorical" },
  { ">HAAR<", ">LBP<", NP_ERROR_UNSUPPORTED, "LBP" },
  { ">BOOST<", ">GAB<", NP_ERROR_UNSUPPORTED, "BOOST" },
  { "<_><rects><_>6 4 12 9 -1.</_>", "<_><rects><_>1 1 1 1 1</_><_>1 1 1 1 1</_><_>1 1 1 1 1</_>", NP_ERROR_CORRUPT, "rectangles" },
  { "</opencv_storage>", "", NP_ERROR_CORRUPT, "XML" },
  { "<opencv_storage>", "<storage>", NP_ERROR_CORRUPT, "XML" },
  { "<features>", "<features><_><rects></rects></_>", NP_ERROR_CORRUPT, "rects" },
};

static void
test_load_hostile (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (mutations); i++)
    {
      const Mutation   *m = &mutations[i];
      const char       *at = strstr (valid, m->find);
      g_autofree gchar *text = NULL;
      g_autoptr(GError) error = NULL;
      NpHaarCascade    *c;

      g_assert_nonnull (at);
      text = g_strdup_printf ("%.*s%s%s", (int) (at - valid), valid, m->replace, at + strlen (m->find));
      c = np_haar_cascade_load_data (text, strlen (text), &error);
      if (c != NULL || error == NULL || error->code != m->code ||
          strstr (error->message, m->message) == NULL)
        g_error ("mutation %" G_GSIZE_FORMAT " (%s → %s): expected code %d mentioning “%s”, got %s",
                 i, m->find, m->replace, m->code, m->message, error ? error->message : "success");
    }
}

static void
test_load_truncated (void)
{
  /* Every proper prefix is refused with an error; nothing crashes. */
  for (gsize n = 0; n < strlen (valid) - 1; n++)
    {
      g_autoptr(GError) error = NULL;
      NpHaarCascade *c = np_haar_cascade_load_data (valid, n, &error);
      g_assert_null (c);
      g_assert_nonnull (error);
    }
}

static void
test_load_garbage (void)
{
  /* Random byte flips: either loads or fails with a message; never crashes
   * (ASan builds and the fuzz target check memory safety deeper). */
  guint32 state = 1;

  for (int round = 0; round < 2000; round++)
    {
      g_autofree gchar *text = g_strdup (valid);
      g_autoptr(GError) error = NULL;
      NpHaarCascade *c;

      for (int k = 0; k < 1 + round % 4; k++)
        {
          state = state * 1664525u + 1013904223u;
          text[(state >> 8) % strlen (valid)] = " 0123456789-.<>/_e"[(state >> 20) % 18];
        }
      c = np_haar_cascade_load_data (text, strlen (text), &error);
      g_assert_true ((c != NULL) != (error != NULL));
      np_haar_cascade_free (c);
    }
}

static void
test_load_deep_nesting (void)
{
  GString *s = g_string_new ("<opencv_storage>");
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < 10000; i++)
    g_string_append (s, "<_>");
  g_assert_null (np_haar_cascade_load_data (s->str, s->len, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_CORRUPT);
  g_string_free (s, TRUE);
}

static void
test_load_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  g_assert_null (np_haar_cascade_load ("/nonexistent/cascade.xml", &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_IO);
}

static void
test_load_debian_cascades (void)
{
  g_autoptr(GDir) dir = g_dir_open (NP_HAAR_CASCADE_DIR, 0, NULL);
  const char *name;
  guint n = 0;

  if (dir == NULL)
    {
      g_test_skip ("no " NP_HAAR_CASCADE_DIR " (install opencv-data)");
      return;
    }
  while ((name = g_dir_read_name (dir)))
    {
      g_autofree gchar *path = g_build_filename (NP_HAAR_CASCADE_DIR, name, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(NpHaarCascade) c = NULL;

      if (!g_str_has_suffix (name, ".xml"))
        continue;
      c = np_haar_cascade_load (path, &error);
      /* Every Debian cascade is HAAR/BOOST, old or new format: all load. */
      g_assert_no_error (error);
      g_assert_cmpuint (np_haar_cascade_n_stages (c), >, 0);
      n++;
    }
  g_assert_cmpuint (n, >=, 10);
}

/* ---- integrals ------------------------------------------------------------ */

static void
test_integrals (void)
{
  enum { W = 13, H = 11, S = 16 };
  guint8  img[H][W];
  guint32 sum[(H + 1) * S], sq[(H + 1) * S], tilted[(H + 1) * S];
  guint32 scratch[NP_HAAR_INTEGRAL_SCRATCH (W)];
  guint32 state = 7;

  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        state = state * 1664525u + 1013904223u;
        img[y][x] = state >> 24;
      }
  np_haar_integrals (&img[0][0], W, H, W, S, sum, sq, tilted, scratch);

  for (int Y = 0; Y <= H; Y++)
    for (int X = 0; X <= W; X++)
      {
        guint32 s = 0, q = 0, t = 0;
        for (int y = 0; y < Y; y++)
          for (int x = 0; x < W; x++)
            {
              if (x < X)
                s += img[y][x], q += img[y][x] * img[y][x];
              /* OpenCV's definition of the tilted integral. */
              if (ABS (x - X + 1) <= Y - y - 1)
                t += img[y][x];
            }
        g_assert_cmpuint (sum[Y * S + X], ==, s);
        g_assert_cmpuint (sq[Y * S + X], ==, q);
        g_assert_cmpuint (tilted[Y * S + X], ==, t);
      }
}

/* ---- resize ------------------------------------------------------------------ */

static void
test_resize_linear_exact (void)
{
  guint8  in[6 * 8], out[3 * 4], flat_out[5 * 7];
  NpImage src = np_image_view (NP_SAMPLE_U8, 8, 6, 1, in, 8);
  NpImage half = np_image_view (NP_SAMPLE_U8, 4, 3, 1, out, 4);
  NpImage odd = np_image_view (NP_SAMPLE_U8, 7, 5, 1, flat_out, 7);

  for (int i = 0; i < 48; i++)
    in[i] = (guint8) (i * 37 % 251);
  /* An exact halving averages 2×2 blocks, rounding half up. */
  np_resize_linear_exact_u8 (&src, &half);
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 4; x++)
      {
        gint s = in[2 * y * 8 + 2 * x] + in[2 * y * 8 + 2 * x + 1] +
                 in[(2 * y + 1) * 8 + 2 * x] + in[(2 * y + 1) * 8 + 2 * x + 1];
        g_assert_cmpint (out[y * 4 + x], ==, (s + 2) >> 2);
      }
  /* A flat image stays flat at any size. */
  memset (in, 93, sizeof in);
  np_resize_linear_exact_u8 (&src, &odd);
  for (int i = 0; i < 35; i++)
    g_assert_cmpint (flat_out[i], ==, 93);
}

/* Keys' cubic kernel with a = −0.75 (OpenCV's INTER_CUBIC), written from its
 * definition rather than the resampler's factored form. */
static gdouble
keys (gdouble d)
{
  const gdouble a = -0.75;
  d = fabs (d);
  if (d <= 1)
    return (a + 2) * d * d * d - (a + 3) * d * d + 1;
  if (d < 2)
    return a * d * d * d - 5 * a * d * d + 8 * a * d - 4 * a;
  return 0;
}

static void
test_resize_cubic (void)
{
  gfloat  in[4 * 6 * 3], out[8 * 12 * 3], same[4 * 6 * 3];
  NpImage src = np_image_view (NP_SAMPLE_F32, 6, 4, 3, in, 6 * 3 * 4);
  NpImage dst = np_image_view (NP_SAMPLE_F32, 12, 8, 3, out, 12 * 3 * 4);
  NpImage copy = np_image_view (NP_SAMPLE_F32, 6, 4, 3, same, 6 * 3 * 4);

  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 6; x++)
      for (int c = 0; c < 3; c++)
        in[(y * 6 + x) * 3 + c] = 10.0f * x + c;

  /* The same size is a copy (the kernel is 1 at 0 and 0 at ±1, ±2). */
  np_resize_cubic (&src, &copy);
  for (int i = 0; i < 4 * 6 * 3; i++)
    g_assert_cmpfloat_with_epsilon (same[i], in[i], 1e-5);

  /* Doubling a horizontal ramp: away from the borders each output is the
   * kernel-weighted sum of its four neighbours at source position
   * (x + 0.5)/2 − 0.5; rows are constant, so vertically nothing changes. */
  np_resize_cubic (&src, &dst);
  for (int y = 0; y < 8; y++)
    for (int x = 4; x < 8; x++)
      for (int c = 0; c < 3; c++)
        {
          gdouble pos = (x + 0.5) * 0.5 - 0.5, want = 0;
          for (int k = (int) floor (pos) - 1; k <= (int) floor (pos) + 2; k++)
            want += keys (pos - k) * (10.0 * k + c);
          g_assert_cmpfloat_with_epsilon (out[(y * 12 + x) * 3 + c], want, 1e-4);
        }
}

/* ---- grouping and crops -------------------------------------------------- */

static void
test_group (void)
{
  const NpHaarBox in[] = {
    { 100, 100, 50, 50 }, { 102, 101, 50, 50 }, { 98, 99, 52, 52 }, { 101, 103, 48, 48 },
    { 400, 50, 30, 30 },                          /* alone: dropped with 1 neighbour */
    { 110, 110, 20, 20 }, { 111, 110, 20, 20 },   /* weak class inside the strong one */
  };
  GArray *boxes = g_array_new (FALSE, FALSE, sizeof (NpHaarBox));
  NpHaarBox *b;

  g_array_append_vals (boxes, in, G_N_ELEMENTS (in));
  np_haar_group (boxes, 1, 0.2);
  g_assert_cmpuint (boxes->len, ==, 1);
  b = &g_array_index (boxes, NpHaarBox, 0);
  /* The average of the four: (401/4, 403/4, 200/4, 200/4) rounded half even. */
  g_assert_cmpint (b->x, ==, 100);
  g_assert_cmpint (b->y, ==, 101);
  g_assert_cmpint (b->width, ==, 50);
  g_assert_cmpint (b->height, ==, 50);
  g_assert_cmpint (b->neighbours, ==, 4);

  /* min_neighbours 0: raw candidates, untouched. */
  g_array_set_size (boxes, 0);
  g_array_append_vals (boxes, in, G_N_ELEMENTS (in));
  np_haar_group (boxes, 0, 0.2);
  g_assert_cmpuint (boxes->len, ==, G_N_ELEMENTS (in));
  g_array_unref (boxes);
}

static void
test_crop_rect (void)
{
  NpHaarBox face = { 100, 100, 60, 60 };
  gint x, y, w, h;

  /* dw = 30, dh = 40: 90 × 120 at (100 − 15, 100 − 30). */
  g_assert_true (np_face_crop_rect (&face, 1000, 1000, &x, &y, &w, &h));
  g_assert_cmpint (x, ==, 85);
  g_assert_cmpint (y, ==, 70);
  g_assert_cmpint (w, ==, 90);
  g_assert_cmpint (h, ==, 120);

  /* Near the top-left corner: (−5, −20) to (85, 100), clipped. */
  face = (NpHaarBox) { 10, 10, 60, 60 };
  g_assert_true (np_face_crop_rect (&face, 1000, 1000, &x, &y, &w, &h));
  g_assert_cmpint (x, ==, 0);
  g_assert_cmpint (y, ==, 0);
  g_assert_cmpint (w, ==, 85);
  g_assert_cmpint (h, ==, 100);

  /* Near the bottom-right corner of a 120 × 150 image: (85, 70) to (175, 190). */
  face = (NpHaarBox) { 100, 100, 60, 60 };
  g_assert_true (np_face_crop_rect (&face, 120, 150, &x, &y, &w, &h));
  g_assert_cmpint (x, ==, 85);
  g_assert_cmpint (y, ==, 70);
  g_assert_cmpint (w, ==, 35);
  g_assert_cmpint (h, ==, 80);

  /* Entirely outside. */
  face = (NpHaarBox) { 500, 500, 60, 60 };
  g_assert_false (np_face_crop_rect (&face, 120, 150, &x, &y, &w, &h));
}

static void
test_gray (void)
{
  guint8  rgb[] = { 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 77, 143 };
  NpImage image = np_image_view (NP_SAMPLE_U8, 4, 1, 3, rgb, sizeof rgb);
  g_autoptr(NpImage) gray = np_haar_gray (&image, NULL);
  const guint8 *g = gray->data;

  /* OpenCV 4.6: (R·9798 + G·19235 + B·3735 + 16384) >> 15. The 14-bit
   * weights of older versions would give 62 for the last one. */
  g_assert_cmpint (g[0], ==, 76);
  g_assert_cmpint (g[1], ==, 150);
  g_assert_cmpint (g[2], ==, 29);
  g_assert_cmpint (g[3], ==, 61);
}

static void
test_detect_flat_and_threads (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NpHaarCascade) c = np_haar_cascade_load (NP_HAAR_FRONTAL_FACE, &error);
  g_autoptr(NpImage) img = NULL;
  NpHaarParams params = NP_HAAR_PARAMS_INIT;
  GArray *one, *four;

  if (c == NULL)
    {
      g_test_skip ("no frontal face cascade (install opencv-data)");
      return;
    }
  img = np_image_new (NP_SAMPLE_U8, 300, 200, 1, &error);
  /* A flat image has no variance: no window passes, no face. */
  memset (img->data, 128, img->stride * img->height);
  one = np_haar_detect (c, img, &params, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (one->len, ==, 0);
  g_array_unref (one);

  /* Noise with raw candidates: any thread count, the same boxes in order. */
  {
    guint32 state = 3;
    guint8 *p = img->data;
    for (gsize i = 0; i < img->stride * img->height; i++)
      {
        state = state * 1664525u + 1013904223u;
        p[i] = (guint8) ((state >> 24) / 2 + (i % 300 > 150 ? 100 : 0));
      }
  }
  params.min_neighbours = 0;
  one = np_haar_detect (c, img, &params, 1, &error);
  four = np_haar_detect (c, img, &params, 4, &error);
  g_assert_cmpuint (one->len, ==, four->len);
  g_assert_cmpmem (one->data, one->len * sizeof (NpHaarBox), four->data, four->len * sizeof (NpHaarBox));
  g_array_unref (one);
  g_array_unref (four);

  /* Parameters out of range are errors, not crashes. */
  params.scale_factor = 1.0;
  g_assert_null (np_haar_detect (c, img, &params, 1, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
}

static void
test_detect_one_stage (void)
{
  /* The small cascade has a single stage, fewer than the detector batches
   * (the fuzzer found an out-of-bounds read here). Any thread count gives
   * the same candidates. */
  g_autoptr(GError) error = NULL;
  g_autoptr(NpHaarCascade) c = np_haar_cascade_load_data (valid, strlen (valid), &error);
  g_autoptr(NpImage) img = np_image_new (NP_SAMPLE_U8, 97, 83, 1, &error);
  NpHaarParams params = { 1.1, 0, 0, 0, 0, 0 };
  guint32 state = 9;
  GArray *one, *three;

  for (gsize i = 0; i < img->stride * img->height; i++)
    {
      state = state * 1664525u + 1013904223u;
      ((guint8 *) img->data)[i] = (guint8) (state >> 24);
    }
  one = np_haar_detect (c, img, &params, 1, &error);
  three = np_haar_detect (c, img, &params, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (one->len, >, 0);
  g_assert_cmpuint (one->len, ==, three->len);
  g_assert_cmpmem (one->data, one->len * sizeof (NpHaarBox), three->data, three->len * sizeof (NpHaarBox));
  g_array_unref (one);
  g_array_unref (three);
}

/* ---- face finder ---------------------------------------------------------- */

#define PHOTO "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg"

typedef struct
{
  const NpFaceFinder *finder;
  const NpImage      *image;
  const GArray       *want;
} FindJob;

static void
assert_same_boxes (const GArray *got, const GArray *want)
{
  g_assert_nonnull (got);
  g_assert_cmpuint (got->len, ==, want->len);
  g_assert_cmpmem (got->data, got->len * sizeof (NpHaarBox), want->data, want->len * sizeof (NpHaarBox));
}

static gpointer
find_repeatedly (gpointer data)
{
  const FindJob *job = data;
  NpHaarParams   params = { 1.2, 5, 60, 60, 0, 0 };

  for (gint i = 0; i < 3; i++)
    {
      g_autoptr(GArray) got = np_face_finder_find (job->finder, job->image, &params, 2, NULL);
      assert_same_boxes (got, job->want);
    }
  return NULL;
}

static void
test_finder (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NpImage) rgb = NULL, gray = NULL;
  g_autoptr(NpHaarCascade) cascade = NULL, eyes = NULL;
  g_autoptr(NpFaceFinder) finder = NULL, eye_finder = NULL;
  g_autoptr(GArray) want = NULL, want_eyes = NULL, got = NULL, got_gray = NULL, got_eyes = NULL;
  NpHaarParams params = { 1.2, 5, 60, 60, 0, 0 };
  FindJob      job;
  GThread     *threads[2];

  g_assert_null (np_face_finder_new ("/nonexistent/cascade.xml", FALSE, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_IO);
  g_clear_error (&error);
  if (!g_file_test (PHOTO, G_FILE_TEST_EXISTS) || !g_file_test (NP_HAAR_EYE, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("needs " PHOTO " (facedetect) and opencv-data");
      return;
    }

  /* The finder is np_haar_detect (+ np_haar_verify_eyes) on the luma. */
  rgb = np_jpeg_load (PHOTO, 0, &error);
  g_assert_no_error (error);
  gray = np_haar_gray (rgb, &error);
  cascade = np_haar_cascade_load (NP_HAAR_FRONTAL_FACE, &error);
  eyes = np_haar_cascade_load (NP_HAAR_EYE, &error);
  g_assert_no_error (error);
  want = np_haar_detect (cascade, gray, &params, 1, &error);
  want_eyes = np_haar_detect (cascade, gray, &params, 1, &error);
  g_assert_true (np_haar_verify_eyes (eyes, gray, want_eyes, 1, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (want->len, >, 0);
  g_assert_cmpuint (want_eyes->len, >, 0);

  finder = np_face_finder_new (NULL, FALSE, &error);
  g_assert_no_error (error);
  got = np_face_finder_find (finder, rgb, &params, 1, &error);
  got_gray = np_face_finder_find (finder, gray, &params, 3, &error);
  g_assert_no_error (error);
  assert_same_boxes (got, want);
  assert_same_boxes (got_gray, want);

  eye_finder = np_face_finder_new (NP_HAAR_FRONTAL_FACE, TRUE, &error);
  g_assert_no_error (error);
  got_eyes = np_face_finder_find (eye_finder, rgb, &params, 2, &error);
  g_assert_no_error (error);
  assert_same_boxes (got_eyes, want_eyes);

  /* Two threads on one finder at once find what one thread does. */
  job = (FindJob) { eye_finder, rgb, want_eyes };
  for (gint i = 0; i < 2; i++)
    threads[i] = g_thread_new ("find", find_repeatedly, &job);
  for (gint i = 0; i < 2; i++)
    g_thread_join (threads[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/haar/load/valid", test_load_valid);
  g_test_add_func ("/haar/load/hostile", test_load_hostile);
  g_test_add_func ("/haar/load/truncated", test_load_truncated);
  g_test_add_func ("/haar/load/garbage", test_load_garbage);
  g_test_add_func ("/haar/load/deep-nesting", test_load_deep_nesting);
  g_test_add_func ("/haar/load/missing-file", test_load_missing_file);
  g_test_add_func ("/haar/load/debian-cascades", test_load_debian_cascades);
  g_test_add_func ("/haar/integrals", test_integrals);
  g_test_add_func ("/haar/resize/linear-exact", test_resize_linear_exact);
  g_test_add_func ("/haar/resize/cubic", test_resize_cubic);
  g_test_add_func ("/haar/group", test_group);
  g_test_add_func ("/haar/crop-rect", test_crop_rect);
  g_test_add_func ("/haar/gray", test_gray);
  g_test_add_func ("/haar/detect/flat-and-threads", test_detect_flat_and_threads);
  g_test_add_func ("/haar/detect/one-stage", test_detect_one_stage);
  g_test_add_func ("/haar/finder", test_finder);
  return g_test_run ();
}
