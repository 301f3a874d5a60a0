/* neuropaint:generator through GEGL: odd sizes, gray and RGBA inputs, tiles
 * against the whole picture, model reloading, and bad model files.
 * (tests/ops/test-ops.c covers formats, alpha and thread/tile invariance.)
 *
 * Models are made here with the core's own save function: random U-Nets whose
 * results only need to be compared with each other, never with fixed values. */
#include <gegl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include "neuropaint.h"

static gchar *
make_model (const char *name, gint ngf, gint depth, gint in_channels, guint64 seed)
{
  g_autoptr(GHashTable) p = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *desc = NULL;
  g_autoptr(NpNet) net = NULL;
  gchar *path = g_build_filename (g_get_tmp_dir (), name, NULL);

  g_hash_table_insert (p, "ngf", g_strdup_printf ("%d", ngf));
  g_hash_table_insert (p, "depth", g_strdup_printf ("%d", depth));
  g_hash_table_insert (p, "in_channels", g_strdup_printf ("%d", in_channels));
  desc = np_arch_describe ("unet", p, &error);
  net = np_net_new (desc, &error);
  g_assert_no_error (error);
  np_net_init_random (net, seed, 0.2f);
  g_hash_table_insert (np_net_metadata (net), g_strdup ("input_filter"), g_strdup ("gray"));
  g_assert_true (np_net_save (net, path, NP_DTYPE_F32, &error));
  return path;
}

/* A smooth, varied picture with a half-transparent band (alpha 0.5 for x < 10). */
static GeglBuffer *
picture (gint w, gint h, const char *format)
{
  GeglRectangle rect = { 0, 0, w, h };
  GeglBuffer   *buffer = gegl_buffer_new (&rect, babl_format (format));
  g_autofree gfloat *px = g_new (gfloat, (gsize) w * h * 4);

  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      {
        gfloat *p = px + 4 * ((gsize) y * w + x);
        p[0] = 0.5f + 0.4f * sinf (x * 0.05f + y * 0.02f);
        p[1] = 0.5f + 0.4f * cosf (y * 0.07f);
        p[2] = (x * 7 + y * 13) % 97 / 96.0f;
        p[3] = x < 10 ? 0.5f : 1.0f;
      }
  gegl_buffer_set (buffer, &rect, 0, babl_format ("R'G'B'A float"), px, GEGL_AUTO_ROWSTRIDE);
  return buffer;
}

/* Runs the op on input; returns R'G'B'A float pixels and the extent. */
static gfloat *
run (GeglBuffer *input, const char *model, gint tile, gint overlap, gboolean filter,
     GeglRectangle *extent)
{
  g_autoptr(GeglNode) graph = gegl_node_new ();
  GeglNode *source = gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", input, NULL);
  GeglNode *gen = gegl_node_new_child (graph, "operation", "neuropaint:generator", "model", model,
                                       "tile-size", tile, "overlap", overlap, "apply-filter", filter, NULL);
  gfloat   *px;

  gegl_node_link (source, gen);
  *extent = gegl_node_get_bounding_box (gen);
  px = g_new0 (gfloat, (gsize) extent->width * extent->height * 4);
  gegl_node_blit (gen, 1.0, extent, babl_format ("R'G'B'A float"), px, GEGL_AUTO_ROWSTRIDE,
                  GEGL_BLIT_DEFAULT);
  return px;
}

static double
max_diff (const gfloat *a, const gfloat *b, gsize n)
{
  double d = 0;
  for (gsize i = 0; i < n; i++)
    d = MAX (d, fabs (a[i] - b[i]));
  return d;
}

static void
test_odd_sizes_and_alpha (void)
{
  g_autofree gchar *model = make_model ("np-gen-odd.safetensors", 4, 4, 3, 1);
  const gint sizes[][2] = { { 203, 149 }, { 1, 1 }, { 17, 3 }, { 64, 64 } };

  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      gint w = sizes[s][0], h = sizes[s][1];
      g_autoptr(GeglBuffer) in = picture (w, h, "R'G'B'A float");
      g_autofree gfloat *out = NULL;
      GeglRectangle extent;
      double lo = 1, hi = 0;

      out = run (in, model, 512, 64, FALSE, &extent);
      g_assert_cmpint (extent.width, ==, w);
      g_assert_cmpint (extent.height, ==, h);
      for (gint i = 0; i < w * h; i++)
        {
          gint x = i % w;
          g_assert_cmpfloat (out[4 * i + 3], ==, x < 10 ? 0.5f : 1.0f);
          for (int c = 0; c < 3; c++)
            {
              g_assert_true (out[4 * i + c] >= 0 && out[4 * i + c] <= 1);
              lo = MIN (lo, out[4 * i + c]), hi = MAX (hi, out[4 * i + c]);
            }
        }
      /* A random U-Net does not map a varied picture to one colour. */
      if (w * h > 100)
        g_assert_cmpfloat (hi - lo, >, 0.01);
    }
  g_unlink (model);
}

/* A gray buffer and an RGBA one holding the same gray give the same result;
 * with apply-filter, a colour photo gives what its gray version gives. */
static void
test_gray_inputs (void)
{
  g_autofree gchar *model = make_model ("np-gen-gray.safetensors", 4, 4, 3, 2);
  g_autoptr(GeglBuffer) colour = picture (97, 61, "R'G'B'A float");
  GeglRectangle rect = { 0, 0, 97, 61 };
  g_autoptr(GeglBuffer) gray = gegl_buffer_new (&rect, babl_format ("Y' float"));
  g_autoptr(GeglBuffer) gray_rgba = gegl_buffer_new (&rect, babl_format ("R'G'B'A float"));
  g_autofree gfloat *a = NULL, *b = NULL, *c = NULL;
  GeglRectangle extent;

  /* gray = the luma the gray filter computes, held in a one-channel buffer. */
  {
    g_autofree gfloat *px = g_new (gfloat, 97 * 61 * 4);
    g_autofree gfloat *y = g_new (gfloat, 97 * 61);
    gegl_buffer_get (colour, &rect, 1.0, babl_format ("R'G'B'A float"), px, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
    np_gray_rgba_f32 (px, px, 97 * 61);
    for (gint i = 0; i < 97 * 61; i++)
      y[i] = px[4 * i], px[4 * i + 3] = 1;
    gegl_buffer_set (gray, &rect, 0, babl_format ("Y' float"), y, GEGL_AUTO_ROWSTRIDE);
    gegl_buffer_set (gray_rgba, &rect, 0, babl_format ("R'G'B'A float"), px, GEGL_AUTO_ROWSTRIDE);
  }
  a = run (gray, model, 512, 64, FALSE, &extent);
  b = run (gray_rgba, model, 512, 64, FALSE, &extent);
  g_assert_cmpfloat (max_diff (a, b, 97 * 61 * 4), <, 1e-5);

  c = run (colour, model, 512, 64, TRUE, &extent);
  for (gint i = 0; i < 97 * 61; i++)
    for (int k = 0; k < 3; k++)
      g_assert_cmpfloat (fabsf (c[4 * i + k] - b[4 * i + k]), <, 1e-5);
  g_unlink (model);
}

/* Tiles against the whole picture. A depth-3 U-Net sees about ±30 pixels
 * (three 4×4 stride-2 convolutions and their transposes), so pixels further
 * than that from every tile edge (and from the right and bottom picture
 * edges, where the whole run pads by replication) must agree. */
#define REACH 32

static gboolean
near_edge (gint v, gint size, gint tile, gint overlap)
{
  gint step = tile - overlap;

  if (v >= size - REACH)
    return TRUE;
  for (gint x0 = 0;; x0 += step)
    {
      gint at = MIN (x0, size - tile);
      if ((at > 0 && abs (v - at) < REACH) || (at + tile < size && abs (v - (at + tile)) < REACH))
        return TRUE;
      if (at + tile >= size)
        return FALSE;
    }
}

static void
test_tiles_match_whole (void)
{
  g_autofree gchar *model = make_model ("np-gen-tiles.safetensors", 4, 3, 3, 3);
  const gint w = 480, h = 352, tile = 192, overlap = 64;
  g_autoptr(GeglBuffer) in = picture (w, h, "R'G'B'A float");
  g_autofree gfloat *whole = NULL, *tiled = NULL;
  GeglRectangle extent;
  double worst = 0, seam = 0;
  gint   checked = 0;

  whole = run (in, model, 1024, 0, FALSE, &extent);
  tiled = run (in, model, tile, overlap, FALSE, &extent);
  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        {
          double d = fabs (whole[4 * (y * w + x) + c] - tiled[4 * (y * w + x) + c]);
          if (near_edge (x, w, tile, overlap) || near_edge (y, h, tile, overlap))
            seam = MAX (seam, d);
          else
            worst = MAX (worst, d), checked++;
        }
  g_test_message ("tiled vs whole: max %.3g away from seams (%d samples), %.3g near them", worst, checked, seam);
  g_assert_cmpint (checked, >, w * h / 4);
  g_assert_cmpfloat (worst, <, 1e-3);
  /* The blend itself is continuous: no jump larger than the picture has. */
  g_assert_cmpfloat (seam, <, 0.5);
  g_unlink (model);
}

static void
test_model_reloads (void)
{
  g_autofree gchar *m1 = make_model ("np-gen-m1.safetensors", 4, 3, 3, 4);
  g_autofree gchar *m2 = make_model ("np-gen-m2.safetensors", 4, 3, 3, 5);
  g_autoptr(GeglBuffer) in = picture (40, 30, "R'G'B'A float");
  g_autoptr(GeglNode) graph = gegl_node_new ();
  GeglNode *source = gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", in, NULL);
  GeglNode *gen = gegl_node_new_child (graph, "operation", "neuropaint:generator", "model", m1, NULL);
  GeglRectangle rect = { 0, 0, 40, 30 };
  gfloat a[40 * 30 * 4], b[40 * 30 * 4], c[40 * 30 * 4];

  gegl_node_link (source, gen);
  gegl_node_blit (gen, 1.0, &rect, babl_format ("R'G'B'A float"), a, GEGL_AUTO_ROWSTRIDE, GEGL_BLIT_DEFAULT);
  gegl_node_set (gen, "model", m2, NULL);
  gegl_node_blit (gen, 1.0, &rect, babl_format ("R'G'B'A float"), b, GEGL_AUTO_ROWSTRIDE, GEGL_BLIT_DEFAULT);
  gegl_node_set (gen, "model", m1, NULL);
  gegl_node_blit (gen, 1.0, &rect, babl_format ("R'G'B'A float"), c, GEGL_AUTO_ROWSTRIDE, GEGL_BLIT_DEFAULT);
  g_assert_cmpfloat (max_diff (a, b, G_N_ELEMENTS (a)), >, 1e-3);
  g_assert_cmpfloat (max_diff (a, c, G_N_ELEMENTS (a)), ==, 0);
  g_unlink (m1);
  g_unlink (m2);
}

static void
expect_failure (const char *model, const char *pattern)
{
  g_autoptr(GeglBuffer) in = picture (16, 16, "R'G'B'A float");
  g_autofree gfloat *out = NULL;
  GeglRectangle extent;

  g_test_expect_message ("GEGL", G_LOG_LEVEL_MESSAGE, pattern);
  out = run (in, model, 512, 64, FALSE, &extent);
  g_test_assert_expected_messages ();
}

static void
test_bad_models (void)
{
  g_autofree gchar *corrupt = g_build_filename (g_get_tmp_dir (), "np-gen-corrupt.safetensors", NULL);
  g_autofree gchar *sr = g_build_filename (g_get_tmp_dir (), "np-gen-sr.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NpNet) net = NULL;
  g_autofree gchar *desc = np_arch_describe ("sr", NULL, &error);

  expect_failure ("/nonexistent/model.safetensors", "neuropaint:generator: *model.safetensors*No such file*");
  expect_failure ("", "neuropaint:generator: no model file given*");
  g_assert_true (g_file_set_contents (corrupt, "\x20\0\0\0\0\0\0\0{\"a\":1}", 15, NULL));
  expect_failure (corrupt, "neuropaint:generator: *safetensors*");
  /* A valid model of the wrong kind: the SR net doubles the size. */
  net = np_net_new (desc, &error);
  g_assert_true (np_net_save (net, sr, NP_DTYPE_F16, &error));
  expect_failure (sr, "neuropaint:generator: *: the model changes the image size (its output is 2× its input): run it with neuropaint:super-resolution");
  g_unlink (corrupt);
  g_unlink (sr);
}

int
main (int argc, char **argv)
{
  int result;

  g_test_init (&argc, &argv, NULL);
  gegl_init (&argc, &argv);
  if (!gegl_has_operation ("neuropaint:generator"))
    g_error ("neuropaint:generator is not loaded: is GEGL_PATH set to the build's operations?");
  g_test_add_func ("/generator/odd-sizes-alpha", test_odd_sizes_and_alpha);
  g_test_add_func ("/generator/gray-inputs", test_gray_inputs);
  g_test_add_func ("/generator/tiles-match-whole", test_tiles_match_whole);
  g_test_add_func ("/generator/model-reloads", test_model_reloads);
  g_test_add_func ("/generator/bad-models", test_bad_models);
  result = g_test_run ();
  gegl_exit ();
  return result;
}
