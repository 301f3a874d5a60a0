/* neuropaint crop — the seed's face crops of many photos into a folder, with
 * a JSON manifest of what came from where. */
#include "config.h"
#include "np-cli.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

static NpCliDetect opts = { NULL, 1.2, 5, 60, 0, FALSE, 0 };
static gchar      *opt_output;
static gchar      *opt_size = "256x320";
static gint        opt_index;
static gboolean    opt_all;
static gchar     **opt_inputs;

static const GOptionEntry entries[] = {
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "Folder for the crops and manifest.json", "DIR" },
  { "size", 0, 0, G_OPTION_ARG_STRING, &opt_size, "Crop size (default 256x320)", "WxH" },
  { "index", 'i', 0, G_OPTION_ARG_INT, &opt_index, "Crop face N, by decreasing size (default 0, the largest)", "N" },
  { "all", 'a', 0, G_OPTION_ARG_NONE, &opt_all, "Crop every face (files STEM-K.png)", NULL },
  NP_CLI_DETECT_ENTRIES (opts),
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_inputs, NULL, NULL },
  { NULL }
};

static gboolean
save_crop (const NpImage *crop, const char *path, GError **error)
{
  GeglRectangle box = { 0, 0, crop->width, crop->height };
  const Babl   *format = babl_format ("R'G'B'A float");
  g_autoptr(GeglBuffer) buffer = gegl_buffer_new (&box, format);
  g_autoptr(GeglNode) graph = gegl_node_new ();
  GeglNode *source;

  gegl_buffer_set (buffer, &box, 0, format, crop->data, crop->stride);
  source = gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", buffer, NULL);
  return np_cli_save (source, path, error);
}

/* Crops one image; adds its manifest entry. */
static gboolean
crop_one (const char *file, const NpFaceFinder *finder, gint width, gint height,
          JsonBuilder *manifest, GError **error)
{
  g_autoptr(GeglBuffer) buffer = NULL;
  g_autoptr(GArray) faces = NULL;
  g_autoptr(NpImage) image = NULL;
  g_autofree gchar *base = g_path_get_basename (file);
  g_autofree gchar *stem = g_strndup (base, strrchr (base, '.') ? (gsize) (strrchr (base, '.') - base)
                                                                 : strlen (base));
  const GeglRectangle *box;
  guint first, last;

  /* Detection and crop both read the file's own values (no ICC conversion),
   * as OpenCV would; the crop is saved with those values. */
  if (!(buffer = np_cli_load_image (file, NULL, error)) ||
      !(faces = np_cli_detect_faces (&opts, finder, buffer, error)))
    return FALSE;
  box = gegl_buffer_get_extent (buffer);
  if (!(image = np_image_new (NP_SAMPLE_F32, box->width, box->height, 4, error)))
    return FALSE;
  gegl_buffer_get (buffer, box, 1.0,
                   babl_format_with_space ("R'G'B'A float", gegl_buffer_get_format (buffer)),
                   image->data, image->stride, GEGL_ABYSS_NONE);

  json_builder_begin_object (manifest);
  json_builder_set_member_name (manifest, "file");
  json_builder_add_string_value (manifest, file);
  json_builder_set_member_name (manifest, "width");
  json_builder_add_int_value (manifest, box->width);
  json_builder_set_member_name (manifest, "height");
  json_builder_add_int_value (manifest, box->height);
  json_builder_set_member_name (manifest, "faces");
  json_builder_begin_array (manifest);
  for (guint k = 0; k < faces->len; k++)
    np_cli_json_add_box (manifest, &g_array_index (faces, NpHaarBox, k));
  json_builder_end_array (manifest);
  json_builder_set_member_name (manifest, "crops");
  json_builder_begin_array (manifest);

  /* --all crops every face; --index one, or the centre when it is missing. */
  first = opt_all ? 0 : (guint) opt_index;
  last = opt_all ? faces->len : first + 1;
  if (!opt_all && first >= faces->len)
    g_printerr ("neuropaint crop: warning: %s: %u face(s), none with index %u; "
                "cropping the centre\n", file, faces->len, first);
  for (guint k = first; k < last; k++)
    {
      const NpHaarBox  *face = k < faces->len ? &g_array_index (faces, NpHaarBox, k) : NULL;
      g_autofree gchar *name = opt_all ? g_strdup_printf ("%s-%u.png", stem, k)
                                       : g_strdup_printf ("%s.png", stem);
      g_autofree gchar *path = g_build_filename (opt_output, name, NULL);
      g_autoptr(NpImage) crop = np_face_crop (image, face, width, height, error);

      if (crop == NULL || !save_crop (crop, path, error))
        return FALSE;
      json_builder_begin_object (manifest);
      json_builder_set_member_name (manifest, "file");
      json_builder_add_string_value (manifest, name);
      json_builder_set_member_name (manifest, "face");
      if (face)
        json_builder_add_int_value (manifest, k);
      else
        json_builder_add_null_value (manifest);
      json_builder_end_object (manifest);
    }
  json_builder_end_array (manifest);
  json_builder_end_object (manifest);
  return TRUE;
}

static gboolean
write_manifest (JsonBuilder *b, GError **error)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autofree gchar *path = g_build_filename (opt_output, "manifest.json", NULL);
  g_autofree gchar *text = NULL;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  /* g_file_set_contents writes a temporary file and renames it. */
  return g_file_set_contents (path, text, -1, error);
}

int
np_cmd_crop (int argc, char **argv, gboolean do_help)
{
  g_autoptr(NpFaceFinder) finder = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(JsonBuilder) manifest = json_builder_new ();
  NpProgress *progress;
  gint        width, height;
  guint       failed = 0;
  int         code;

  if (!np_cli_parse ("crop", "IMAGE|DIR…",
                     "Crop faces with the seed's padding (1.5 × 2 face widths) and resample "
                     "them bicubically.",
                     "Writes DIR/STEM.png (or STEM-K.png with --all) and DIR/manifest.json.\n"
                     "An image without the asked face gets its centre cropped at the same "
                     "aspect, with a warning (\"face\": null in the manifest).\n"
                     "Example: neuropaint crop photos/ -o crops/ --size 256x320",
                     entries, &argc, &argv, do_help, &code))
    return code;
  if (!np_cli_detect_check ("crop", &opts, &code))
    return code;
  if (opt_output == NULL)
    return np_cli_fail ("crop", NP_EXIT_USAGE, "--output DIR is required");
  if (opt_inputs == NULL)
    return np_cli_fail ("crop", NP_EXIT_USAGE, "no input images given");
  if (!np_cli_parse_size (opt_size, &width, &height))
    return np_cli_fail ("crop", NP_EXIT_USAGE, "--size must be WIDTHxHEIGHT, each 1–8192 (got “%s”)", opt_size);
  if (opt_index < 0)
    return np_cli_fail ("crop", NP_EXIT_USAGE, "--index must be >= 0");
  if (!(finder = np_face_finder_new (opts.cascade, opts.verify_eyes, &error)))
    return np_cli_fail ("crop", NP_EXIT_FAILED, "%s", error->message);
  if (!(files = np_cli_collect_inputs (opt_inputs, &error)))
    return np_cli_fail ("crop", NP_EXIT_FAILED, "%s", error->message);
  if (files->len == 0)
    return np_cli_fail ("crop", NP_EXIT_USAGE, "no images found in the inputs");
  if (g_mkdir_with_parents (opt_output, 0755) != 0)
    return np_cli_fail ("crop", NP_EXIT_FAILED, "%s: %s", opt_output, g_strerror (errno));

  json_builder_begin_object (manifest);
  json_builder_set_member_name (manifest, "width");
  json_builder_add_int_value (manifest, width);
  json_builder_set_member_name (manifest, "height");
  json_builder_add_int_value (manifest, height);
  json_builder_set_member_name (manifest, "images");
  json_builder_begin_array (manifest);

  progress = np_progress_new ("crop", files->len);
  for (guint i = 0; i < files->len; i++)
    {
      g_autofree gchar *base = g_path_get_basename (files->pdata[i]);
      GError *one_error = NULL;

      if (!crop_one (files->pdata[i], finder, width, height, manifest, &one_error))
        {
          g_printerr ("neuropaint crop: %s\n", one_error->message);
          g_error_free (one_error);
          failed++;
        }
      np_progress_step (progress, base);
    }
  np_progress_free (progress);

  json_builder_end_array (manifest);
  json_builder_end_object (manifest);
  if (!write_manifest (manifest, &error))
    return np_cli_fail ("crop", NP_EXIT_FAILED, "%s", error->message);
  if (failed)
    return np_cli_fail ("crop", NP_EXIT_FAILED, "%u of %u images failed", failed, files->len);
  g_print ("%u image(s) cropped into %s\n", files->len, opt_output);
  return NP_EXIT_OK;
}
