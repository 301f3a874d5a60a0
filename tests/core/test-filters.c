/* Unit tests of the core filters on small images with hand-checked answers. */
#include "neuropaint.h"

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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/filters/gray/weights", test_gray_weights);
  g_test_add_func ("/filters/gray/in-place", test_gray_in_place);
  g_test_add_func ("/filters/rgb-threshold/boundary", test_threshold_boundary);
  g_test_add_func ("/filters/rgb-threshold/extremes", test_threshold_extremes);
  g_test_add_func ("/filters/rgb-threshold/every-value", test_threshold_every_value);
  g_test_add_func ("/image/sizes", test_image_sizes);
  g_test_add_func ("/parallel/covers-once", test_parallel_covers_once);
  return g_test_run ();
}
