/* Unit tests of painting with a model (core/paint): the input filters a
 * model's metadata names. The tiling and the whole generator op are tested
 * through GEGL in tests/ops/test-generator.c. */
#include "neuropaint.h"

#include <math.h>
#include <string.h>

/* A small U-Net with random weights. */
static NpNet *
small_unet (void)
{
  g_autoptr(GHashTable) p = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *desc = NULL;
  NpNet *net;

  g_hash_table_insert (p, "ngf", "4");
  g_hash_table_insert (p, "depth", "3");
  desc = np_arch_describe ("unet", p, &error);
  g_assert_no_error (error);
  net = np_net_new (desc, &error);
  g_assert_no_error (error);
  np_net_init_random (net, 5, 0.2f);
  return net;
}

/* With apply_filter, np_paint_generate filters the picture as the model's
 * metadata says, with the seed's parameters: the same result as filtering it
 * here with the core filters and running the model on that. */
static void
test_generate_input_filters (void)
{
  enum { W = 37, H = 29 };
  static const char *const filters[] = { "rgb-threshold", "binary", "contours", "canny", "gray", "identity" };
  g_autoptr(NpNet) net = small_unet ();
  g_autoptr(NpImage) photo = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
  g_autoptr(GError) error = NULL;

  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++)
      {
        gfloat *px = (gfloat *) np_image_row (photo, y) + 4 * x;
        /* 8-bit values, so the u8 filters see exactly these. */
        px[0] = ((x * 37 + y * 11) % 256) / 255.0f;
        px[1] = ((x * 5 + y * 53) % 256) / 255.0f;
        px[2] = (x * y % 256) / 255.0f;
        px[3] = 1.0f;
      }

  for (gsize f = 0; f < G_N_ELEMENTS (filters); f++)
    {
      NpPaintOptions on = { 512, 0, 1, TRUE }, off = { 512, 0, 1, FALSE };
      g_autoptr(NpImage) a = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
      g_autoptr(NpImage) b = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
      g_autoptr(NpImage) bytes = np_image_new (NP_SAMPLE_U8, W, H, 4, NULL);
      g_autoptr(NpImage) drawn = np_image_new (NP_SAMPLE_U8, W, H, 4, NULL);
      g_autoptr(NpImage) filtered = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
      const guint8 ks[] = { 50, 100, 150, 200 };
      NpCannyParams seed = { .low = 140, .high = 255, .gradient = NP_CANNY_GRADIENT_L1,
                             .mode = NP_CANNY_PER_CHANNEL, .pre_threshold = 200 };
      const char *name = filters[f];

      g_hash_table_insert (np_net_metadata (net), g_strdup ("input_filter"), g_strdup (name));
      g_assert_true (np_paint_generate (net, photo, a, &on, &error));
      g_assert_no_error (error);

      for (gint y = 0; y < H; y++)
        for (gint i = 0; i < W * 4; i++)
          ((guint8 *) np_image_row (bytes, y))[i] =
            (guint8) (((gfloat *) np_image_row (photo, y))[i] * 255.0f + 0.5f);
      if (strcmp (name, "rgb-threshold") == 0 || strcmp (name, "binary") == 0)
        for (gint y = 0; y < H; y++)
          np_rgb_threshold_rgba_u8 (np_image_row (bytes, y), np_image_row (drawn, y), W, 200);
      else if (strcmp (name, "contours") == 0)
        np_contours (bytes, drawn, ks, G_N_ELEMENTS (ks), 1);
      else if (strcmp (name, "canny") == 0)
        g_assert_true (np_canny (bytes, drawn, &seed, 1, NULL));
      for (gint y = 0; y < H; y++)
        for (gint i = 0; i < W * 4; i++)
          ((gfloat *) np_image_row (filtered, y))[i] =
            i % 4 == 3 ? 1.0f : ((guint8 *) np_image_row (drawn, y))[i] / 255.0f;
      /* Gray stays in float (exact at any depth); identity filters nothing. */
      if (strcmp (name, "gray") == 0 || strcmp (name, "identity") == 0)
        for (gint y = 0; y < H; y++)
          memcpy (np_image_row (filtered, y), np_image_row (photo, y), W * 4 * sizeof (gfloat));
      if (strcmp (name, "gray") == 0)
        for (gint y = 0; y < H; y++)
          np_gray_rgba_f32 (np_image_row (filtered, y), np_image_row (filtered, y), W);

      g_assert_true (np_paint_generate (net, filtered, b, &off, &error));
      for (gint y = 0; y < H; y++)
        g_assert_cmpmem (np_image_row (a, y), W * 4 * sizeof (gfloat),
                         np_image_row (b, y), W * 4 * sizeof (gfloat));
    }

  /* The filter's parameters come from the metadata too. */
  {
    NpPaintOptions on = { 512, 0, 1, TRUE }, off = { 512, 0, 1, FALSE };
    g_autoptr(NpImage) a = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
    g_autoptr(NpImage) b = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
    g_autoptr(NpImage) filtered = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);

    g_hash_table_insert (np_net_metadata (net), g_strdup ("input_filter"), g_strdup ("binary"));
    g_hash_table_insert (np_net_metadata (net), g_strdup ("input_threshold"), g_strdup ("90"));
    g_assert_true (np_paint_generate (net, photo, a, &on, &error));
    for (gint y = 0; y < H; y++)
      for (gint i = 0; i < W * 4; i++)
        {
          gint c = (gint) (((gfloat *) np_image_row (photo, y))[i] * 255.0f + 0.5f);
          ((gfloat *) np_image_row (filtered, y))[i] = i % 4 == 3 ? 1.0f : c > 90 ? 90 / 255.0f : 0.0f;
        }
    g_assert_true (np_paint_generate (net, filtered, b, &off, &error));
    for (gint y = 0; y < H; y++)
      g_assert_cmpmem (np_image_row (a, y), W * 4 * sizeof (gfloat),
                       np_image_row (b, y), W * 4 * sizeof (gfloat));

    /* A bad value is an error naming the key, not a silent clamp. */
    g_hash_table_insert (np_net_metadata (net), g_strdup ("input_threshold"), g_strdup ("900"));
    g_assert_false (np_paint_generate (net, photo, a, &on, &error));
    g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "input_threshold"));
    g_clear_error (&error);
    g_hash_table_remove (np_net_metadata (net), "input_threshold");
  }

  /* A filter the generator does not apply itself is refused clearly. */
  {
    NpPaintOptions on = { 512, 0, 1, TRUE };
    g_autoptr(NpImage) a = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
    g_hash_table_insert (np_net_metadata (net), g_strdup ("input_filter"), g_strdup ("noise"));
    g_assert_false (np_paint_generate (net, photo, a, &on, &error));
    g_assert_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "noise"));
  }
}

/* A chroma model's Cb and Cr land on the input's own luminance: with a
 * 1×1 convolution the chroma is known in closed form (tanh (w·(2g − 1) + b)
 * for each channel), so the expected colour is written out here with
 * BT.601's inverse, and the result's luma equals the input's where nothing
 * clips. */
static void
test_generate_chroma (void)
{
  enum { W = 19, H = 11 };
  g_autoptr(GError) error = NULL;
  g_autoptr(NpNet) net = np_net_new ("input name=x c=1\nconv name=c out=2 k=1\ntanh", &error);
  g_autoptr(NpImage) photo = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
  g_autoptr(NpImage) out = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
  NpPaintOptions options = { 512, 0, 1, FALSE };
  const gfloat w[2] = { 0.3f, -0.2f }, b[2] = { 0.1f, 0.05f };
  gint unclipped = 0;

  g_assert_no_error (error);
  memcpy (np_net_param (net, "c.weight")->data, w, sizeof w);
  memcpy (np_net_param (net, "c.bias")->data, b, sizeof b);
  g_hash_table_insert (np_net_metadata (net), g_strdup ("target"), g_strdup ("chroma-ycbcr"));
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++)
      {
        gfloat *p = (gfloat *) np_image_row (photo, y) + 4 * x;
        p[0] = (x * 13 % W) / (gfloat) W, p[1] = (y * 7 % H) / (gfloat) H, p[2] = ((x + y) % 5) / 5.0f, p[3] = 0.75f;
      }
  g_assert_true (np_paint_generate (net, photo, out, &options, &error));
  g_assert_no_error (error);
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++)
      {
        const gfloat *p = (gfloat *) np_image_row (photo, y) + 4 * x, *o = (gfloat *) np_image_row (out, y) + 4 * x;
        double luma = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
        double cb = 0.5 * tanh (w[0] * (2 * luma - 1) + b[0]), cr = 0.5 * tanh (w[1] * (2 * luma - 1) + b[1]);
        double want[3] = { luma + 1.402 * cr, luma - 0.344136 * cb - 0.714136 * cr, luma + 1.772 * cb };
        for (int c = 0; c < 3; c++)
          g_assert_cmpfloat_with_epsilon (o[c], CLAMP (want[c], 0, 1), 1e-4);
        g_assert_cmpfloat (o[3], ==, 0.75f);
        if (want[0] >= 0 && want[0] <= 1 && want[1] >= 0 && want[1] <= 1 && want[2] >= 0 && want[2] <= 1)
          {
            g_assert_cmpfloat_with_epsilon (0.299 * o[0] + 0.587 * o[1] + 0.114 * o[2], luma, 1e-5);
            unclipped++;
          }
      }
  g_assert_cmpint (unclipped, >, W * H / 2);

  /* A chroma model must take gray and give two channels. */
  {
    g_autoptr(NpNet) bad = np_net_new ("input name=x c=3\nconv name=c out=2 k=1", &error);
    g_hash_table_insert (np_net_metadata (bad), g_strdup ("target"), g_strdup ("chroma-ycbcr"));
    g_assert_false (np_paint_generate (bad, photo, out, &options, &error));
    g_assert_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/paint/generate/input-filters", test_generate_input_filters);
  g_test_add_func ("/paint/generate/chroma", test_generate_chroma);
  return g_test_run ();
}
