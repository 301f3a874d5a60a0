/* Every neuropaint op renders its own reference-composition to the pixels it
 * rendered when they were last reviewed: the MD5 of the R'G'B'A u8 result must
 * equal the op's reference-hash (as GEGL's gegl-tester does for GEGL's ops).
 *
 * A new op without the two keys fails here. On a mismatch the render is
 * written to reference-<op>.png in the folder the test started in, to look
 * at. Compositions render from the source tree, so the models they name
 * (tests/data/...) are found by relative paths, as users give them.
 *
 * A model op's float sums come from OpenBLAS, whose kernel (and so the order
 * of the sums) depends on the processor: its last bit, and now and then an
 * 8-bit level, differs between machines. Such an op says by how many levels
 * with the key neuropaint:reference-tolerance, and keeps its reviewed render
 * in tests/data/reference/<op>.png: a render whose hash misses must be within
 * that many levels of the stored one, whose own hash must be the reviewed one.
 * NP_REFERENCE_WRITE=DIR writes every render there as <op>.png. */
#include <gegl.h>
#include <gegl-plugin.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

static gchar *start_dir;

static void
save_png (GeglNode *node, const char *op)
{
  g_autofree gchar *base = g_strdup_printf ("reference-%s.png", strchr (op, ':') + 1);
  g_autofree gchar *name = g_build_filename (start_dir, base, NULL);
  GeglNode *save = gegl_node_new_child (gegl_node_get_parent (node), "operation", "gegl:png-save",
                                        "path", name, "bitdepth", 8, NULL);
  gegl_node_link (node, save);
  gegl_node_process (save);
  g_test_message ("render written to %s", name);
}

/* The R'G'B'A u8 pixels of the PNG at path, which must be width×height. */
static guint8 *
load_pixels (const char *path, const GeglRectangle *box)
{
  g_autoptr(GeglNode) graph = gegl_node_new ();
  GeglNode *load = gegl_node_new_child (graph, "operation", "gegl:load", "path", path, NULL);
  GeglRectangle stored = gegl_node_get_bounding_box (load);
  guint8 *pixels;

  if (stored.width != box->width || stored.height != box->height)
    g_error ("%s is %dx%d, the render %dx%d", path, stored.width, stored.height, box->width, box->height);
  pixels = g_malloc ((gsize) box->width * box->height * 4);
  gegl_node_blit (load, 1.0, &stored, babl_format ("R'G'B'A u8"), pixels,
                  GEGL_AUTO_ROWSTRIDE, GEGL_BLIT_DEFAULT);
  return pixels;
}

/* TRUE if pixels are within the op's tolerance of its stored reviewed render. */
static gboolean
within_tolerance (const char *op, const char *want, const guint8 *pixels, const GeglRectangle *box)
{
  const char *key = gegl_operation_get_key (op, "neuropaint:reference-tolerance");
  gsize n = (gsize) box->width * box->height * 4, off = 0;
  g_autofree gchar *name = NULL, *path = NULL, *stored_hash = NULL;
  g_autofree guint8 *stored = NULL;
  gint worst = 0;

  if (key == NULL)
    return FALSE;
  name = g_strdup_printf ("%s.png", strchr (op, ':') + 1);
  path = g_build_filename ("tests", "data", "reference", name, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    g_error ("%s has a tolerance but no stored render %s", op, path);
  stored = load_pixels (path, box);
  stored_hash = g_compute_checksum_for_data (G_CHECKSUM_MD5, stored, n);
  if (strcmp (stored_hash, want) != 0)
    g_error ("%s hashes to %s, not the reviewed %s", path, stored_hash, want);
  for (gsize i = 0; i < n; i++)
    {
      gint d = ABS ((gint) pixels[i] - (gint) stored[i]);
      if (d > 0)
        off++;
      worst = MAX (worst, d);
    }
  g_test_message ("%s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " values differ from the reviewed render, "
                  "by at most %d (tolerance %s)", op, off, n, worst, key);
  return worst <= atoi (key);
}

static void
test_reference (gconstpointer data)
{
  const char *op = data;
  const char *xml = gegl_operation_get_key (op, "reference-composition");
  const char *want = gegl_operation_get_key (op, "reference-hash");
  g_autoptr(GeglNode) top = gegl_node_new ();
  g_autofree guint8 *pixels = NULL;
  g_autofree gchar *got = NULL;
  GeglNode *graph;
  GeglRectangle box;

  g_assert_nonnull (xml);
  g_assert_nonnull (want);

  /* A composition may read a sample photo from a Debian package. */
  if (strstr (xml, "path='"))
    {
      g_autofree gchar *path = g_strndup (strstr (xml, "path='") + 6, strcspn (strstr (xml, "path='") + 6, "'"));
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_test_skip_printf ("%s is not installed (tools/install-deps)", path);
          return;
        }
    }

  /* Relative paths in compositions (model files) are the source tree's. */
  graph = gegl_node_new_from_xml (xml, g_getenv ("NP_SOURCE_ROOT"));
  g_assert_nonnull (graph);
  gegl_node_add_child (top, graph);
  g_object_unref (graph);

  box = gegl_node_get_bounding_box (graph);
  g_assert_cmpint (box.width, >, 0);
  g_assert_cmpint (box.height, >, 0);
  pixels = g_malloc ((gsize) box.width * box.height * 4);
  gegl_node_blit (graph, 1.0, &box, babl_format ("R'G'B'A u8"), pixels,
                  GEGL_AUTO_ROWSTRIDE, GEGL_BLIT_DEFAULT);
  got = g_compute_checksum_for_data (G_CHECKSUM_MD5, pixels, (gsize) box.width * box.height * 4);

  if (g_getenv ("NP_REFERENCE_WRITE"))
    {
      g_autofree gchar *name = g_strdup_printf ("%s.png", strchr (op, ':') + 1);
      g_autofree gchar *path = g_build_filename (g_getenv ("NP_REFERENCE_WRITE"), name, NULL);
      GeglNode *save = gegl_node_new_child (top, "operation", "gegl:png-save", "path", path,
                                            "bitdepth", 8, "compression", 9, NULL);
      gegl_node_link (graph, save);
      gegl_node_process (save);
    }
  if (strcmp (got, want) != 0 && !within_tolerance (op, want, pixels, &box))
    {
      save_png (graph, op);
      g_test_message ("%s: reference render hashes to %s, want %s", op, got, want);
      g_test_fail ();
    }
}

int
main (int argc, char **argv)
{
  g_autofree gchar **ops = NULL;
  guint n_ops = 0, n_ours = 0;

  g_test_init (&argc, &argv, NULL);
  gegl_init (&argc, &argv);

  start_dir = g_get_current_dir ();
  if (g_getenv ("NP_SOURCE_ROOT") && g_chdir (g_getenv ("NP_SOURCE_ROOT")) != 0)
    g_error ("cannot enter %s", g_getenv ("NP_SOURCE_ROOT"));

  ops = gegl_list_operations (&n_ops);
  for (guint i = 0; i < n_ops; i++)
    if (g_str_has_prefix (ops[i], "neuropaint:"))
      {
        g_autofree gchar *path = g_strdup_printf ("/reference/%s", ops[i] + strlen ("neuropaint:"));
        g_test_add_data_func (path, ops[i], test_reference);
        n_ours++;
      }
  if (n_ours == 0)
    g_error ("no neuropaint ops loaded: is GEGL_PATH set to the build's operations?");

  {
    int result = g_test_run ();
    gegl_exit ();
    return result;
  }
}
