/* The face ops through GEGL on a real photo: neuropaint:face-detect leaves
 * the core's boxes in its "faces" property and draws them; neuropaint:face-crop
 * crops the largest one (not the centre fallback), and the centre with a
 * notice where there is none; both keep their parsed cascade across runs.
 * Generic op checks (formats, threads, tiles) are in test-ops.c. */
#include <gegl.h>
#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "neuropaint.h"

#define PHOTO "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg"

static gboolean
have_data (void)
{
  if (g_file_test (PHOTO, G_FILE_TEST_EXISTS) && g_file_test (NP_HAAR_FRONTAL_FACE, G_FILE_TEST_EXISTS))
    return TRUE;
  g_test_skip ("needs " PHOTO " (facedetect) and opencv-data");
  return FALSE;
}

static GeglBuffer *
load_photo (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NpImage) rgb = np_jpeg_load (PHOTO, 0, &error);
  GeglRectangle box;
  GeglBuffer   *buffer;

  g_assert_no_error (error);
  box = (GeglRectangle) { 0, 0, rgb->width, rgb->height };
  buffer = gegl_buffer_new (&box, babl_format ("R'G'B' u8"));
  gegl_buffer_set (buffer, &box, 0, babl_format ("R'G'B' u8"), rgb->data, rgb->stride);
  return buffer;
}

/* The boxes the core finds on the same pixels, with the ops' defaults. */
static GArray *
core_faces (GeglBuffer *buffer)
{
  const GeglRectangle *box = gegl_buffer_get_extent (buffer);
  g_autoptr(NpImage) rgb = np_image_new (NP_SAMPLE_U8, box->width, box->height, 3, NULL);
  g_autoptr(NpImage) gray = NULL;
  g_autoptr(NpHaarCascade) cascade = np_haar_cascade_load (NP_HAAR_FRONTAL_FACE, NULL);
  NpHaarParams params = { 1.2, 5, 60, 60, 0, 0 };

  gegl_buffer_get (buffer, box, 1.0, babl_format ("R'G'B' u8"), rgb->data, rgb->stride,
                   GEGL_ABYSS_NONE);
  gray = np_haar_gray (rgb, NULL);
  return np_haar_detect (cascade, gray, &params, 1, NULL);
}

static void
test_detect_property (void)
{
  g_autoptr(GeglBuffer) input = have_data () ? load_photo () : NULL;
  g_autoptr(GeglNode) graph = gegl_node_new ();
  g_autoptr(GArray) want = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree gchar *faces = NULL;
  g_autoptr(GError) error = NULL;
  GeglNode  *source, *detect;
  JsonArray *boxes;
  guint8     px[4];

  if (input == NULL)
    return;
  want = core_faces (input);
  g_assert_cmpuint (want->len, >, 0);
  source = gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", input, NULL);
  detect = gegl_node_new_child (graph, "operation", "neuropaint:face-detect", "line-width", 3, NULL);
  gegl_node_link (source, detect);
  gegl_node_process (detect);

  gegl_node_get (detect, "faces", &faces, NULL);
  json_parser_load_from_data (parser, faces, -1, &error);
  g_assert_no_error (error);
  boxes = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (boxes), ==, want->len);
  for (guint i = 0; i < want->len; i++)
    {
      const NpHaarBox *w = &g_array_index (want, NpHaarBox, i);
      JsonObject *b = json_array_get_object_element (boxes, i);
      g_assert_cmpint (json_object_get_int_member (b, "x"), ==, w->x);
      g_assert_cmpint (json_object_get_int_member (b, "y"), ==, w->y);
      g_assert_cmpint (json_object_get_int_member (b, "w"), ==, w->width);
      g_assert_cmpint (json_object_get_int_member (b, "h"), ==, w->height);
    }

  /* The first box's corner is drawn in opaque green. */
  {
    const NpHaarBox *w = &g_array_index (want, NpHaarBox, 0);
    GeglRectangle    one = { w->x + 1, w->y + 1, 1, 1 };
    gegl_node_blit (detect, 1.0, &one, babl_format ("R'G'B'A u8"), px, GEGL_AUTO_ROWSTRIDE,
                    GEGL_BLIT_DEFAULT);
    g_assert_cmpint (px[0], ==, 0);
    g_assert_cmpint (px[1], ==, 255);
    g_assert_cmpint (px[2], ==, 0);
  }
}

static void
test_crop_largest (void)
{
  g_autoptr(GeglBuffer) input = have_data () ? load_photo () : NULL;
  g_autoptr(GeglNode) graph = gegl_node_new ();
  g_autoptr(GArray) want = NULL;
  g_autoptr(NpImage) full = NULL, crop = NULL;
  const GeglRectangle *box;
  GeglNode     *source, *node;
  GeglRectangle out;
  gfloat       *got;
  gdouble       diff = 0;

  if (input == NULL)
    return;
  box = gegl_buffer_get_extent (input);
  want = core_faces (input);
  g_assert_cmpuint (want->len, >, 0);
  source = gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", input, NULL);
  node = gegl_node_new_child (graph, "operation", "neuropaint:face-crop",
                              "width", 64, "height", 80, NULL);
  gegl_node_link (source, node);
  out = gegl_node_get_bounding_box (node);
  g_assert_cmpint (out.width, ==, 64);
  g_assert_cmpint (out.height, ==, 80);
  got = g_new (gfloat, 64 * 80 * 4);
  gegl_node_blit (node, 1.0, &out, babl_format ("R'G'B'A float"), got, GEGL_AUTO_ROWSTRIDE,
                  GEGL_BLIT_DEFAULT);

  /* The same crop straight from the core. */
  full = np_image_new (NP_SAMPLE_F32, box->width, box->height, 4, NULL);
  gegl_buffer_get (input, box, 1.0, babl_format ("R'G'B'A float"), full->data, full->stride,
                   GEGL_ABYSS_NONE);
  crop = np_face_crop (full, &g_array_index (want, NpHaarBox, 0), 64, 80, NULL);
  for (gsize i = 0; i < 64 * 80 * 4; i++)
    diff = MAX (diff, fabs (got[i] - ((gfloat *) crop->data)[i]));
  g_assert_cmpfloat (diff, <, 1e-5);
  g_free (got);
}

/* No face: the centre crop the docs promise, and a notice, never a
 * failure (no NP_OP_FAILURE for hosts, no warning for the command). */
static void
test_crop_no_face (void)
{
  const GeglRectangle box = { 0, 0, 80, 60 };
  g_autoptr(GeglBuffer) input = gegl_buffer_new (&box, babl_format ("R'G'B' u8"));
  g_autoptr(GeglNode) graph = gegl_node_new ();
  g_autoptr(NpImage) full = np_image_new (NP_SAMPLE_F32, 80, 60, 4, NULL);
  g_autoptr(NpImage) crop = NULL;
  g_autofree gfloat *got = g_new (gfloat, 32 * 40 * 4);
  GeglNode *source, *node;
  gdouble   diff = 0;

  if (!have_data ())
    return;
  for (gint y = 0; y < 60; y++)   /* a ramp: no face, and a centre that shows */
    for (gint x = 0; x < 80; x++)
      {
        guint8 px[3] = { (guint8) (3 * x), (guint8) (4 * y), 128 };
        gegl_buffer_set (input, GEGL_RECTANGLE (x, y, 1, 1), 0, babl_format ("R'G'B' u8"), px,
                         GEGL_AUTO_ROWSTRIDE);
      }
  source = gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", input, NULL);
  node = gegl_node_new_child (graph, "operation", "neuropaint:face-crop", "width", 32, "height", 40, NULL);
  gegl_node_link (source, node);
  g_test_expect_message ("GEGL", G_LOG_LEVEL_MESSAGE,
                         "Note: neuropaint:face-crop: 0 face(s) found, none with index 0; cropping the centre*");
  gegl_node_blit (node, 1.0, GEGL_RECTANGLE (0, 0, 32, 40), babl_format ("R'G'B'A float"), got,
                  GEGL_AUTO_ROWSTRIDE, GEGL_BLIT_DEFAULT);
  g_test_assert_expected_messages ();
  g_assert_null (g_object_get_data (G_OBJECT (gegl_node_get_gegl_operation (node)), "neuropaint-failure"));

  gegl_buffer_get (input, &box, 1.0, babl_format ("R'G'B'A float"), full->data, full->stride, GEGL_ABYSS_NONE);
  crop = np_face_crop (full, NULL, 32, 40, NULL);
  for (gsize i = 0; i < 32 * 40 * 4; i++)
    diff = MAX (diff, fabs (got[i] - ((gfloat *) crop->data)[i]));
  g_assert_cmpfloat (diff, <, 1e-5);
}

/* A copy of the frontal face cascade in a new folder, to delete under the op. */
static gchar *
copy_cascade (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("np-face-ops-XXXXXX", &error);
  g_autofree gchar *xml = NULL;
  gchar *path;
  gsize  size;

  g_assert_no_error (error);
  path = g_build_filename (dir, "cascade.xml", NULL);
  g_file_get_contents (NP_HAAR_FRONTAL_FACE, &xml, &size, &error);
  g_file_set_contents (path, xml, size, &error);
  g_assert_no_error (error);
  return path;
}

static void
remove_cascade (const gchar *path)
{
  g_autofree gchar *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static gboolean
is_green (GeglNode *node, gint x, gint y)
{
  GeglRectangle one = { x, y, 1, 1 };
  guint8        px[4];

  gegl_node_blit (node, 1.0, &one, babl_format ("R'G'B'A u8"), px, GEGL_AUTO_ROWSTRIDE,
                  GEGL_BLIT_DEFAULT);
  return px[0] == 0 && px[1] == 255 && px[2] == 0;
}

/* Once the cascade is parsed, runs with other drawing or crop properties do
 * not read it again: they still work after the file is gone. A new
 * verify-eyes value needs a new finder, so that run reads it and fails. */
static void
test_cascade_cached (void)
{
  g_autoptr(GeglBuffer) input = have_data () ? load_photo () : NULL;
  g_autoptr(GeglNode) graph = gegl_node_new ();
  g_autoptr(GArray) want = NULL;
  g_autofree gchar *cascade = NULL, *before = NULL, *after = NULL;
  GeglNode        *source, *detect, *crop;
  const NpHaarBox *face;
  GeglRectangle    out;

  if (input == NULL)
    return;
  want = core_faces (input);
  g_assert_cmpuint (want->len, >, 0);
  face = &g_array_index (want, NpHaarBox, 0);
  cascade = copy_cascade ();
  source = gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", input, NULL);
  detect = gegl_node_new_child (graph, "operation", "neuropaint:face-detect", "cascade", cascade,
                                "line-width", 1, NULL);
  crop = gegl_node_new_child (graph, "operation", "neuropaint:face-crop", "cascade", cascade,
                              "width", 32, "height", 40, NULL);
  gegl_node_link (source, detect);
  gegl_node_link (source, crop);

  gegl_node_process (detect);
  gegl_node_get (detect, "faces", &before, NULL);
  g_assert_false (is_green (detect, face->x + 3, face->y + 3));
  out = gegl_node_get_bounding_box (crop);
  g_assert_cmpint (out.height, ==, 40);
  gegl_node_process (crop);
  remove_cascade (cascade);

  /* A wider line shows the op ran again, with the same boxes; a failure to
   * load would be a warning, which g_test makes fatal. */
  gegl_node_set (detect, "line-width", 4, NULL);
  gegl_node_process (detect);
  gegl_node_get (detect, "faces", &after, NULL);
  g_assert_cmpstr (after, ==, before);
  g_assert_true (is_green (detect, face->x + 3, face->y + 3));
  gegl_node_set (crop, "height", 48, NULL);
  out = gegl_node_get_bounding_box (crop);
  g_assert_cmpint (out.height, ==, 48);
  gegl_node_process (crop);

  g_test_expect_message ("GEGL", G_LOG_LEVEL_MESSAGE, "neuropaint:face-detect: *cascade.xml*");
  gegl_node_set (detect, "verify-eyes", TRUE, NULL);
  gegl_node_process (detect);
  g_test_assert_expected_messages ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gegl_init (&argc, &argv);
  g_test_add_func ("/face-ops/detect-property", test_detect_property);
  g_test_add_func ("/face-ops/crop-largest", test_crop_largest);
  g_test_add_func ("/face-ops/crop-no-face", test_crop_no_face);
  g_test_add_func ("/face-ops/cascade-cached", test_cascade_cached);
  {
    int result = g_test_run ();
    gegl_exit ();
    return result;
  }
}
