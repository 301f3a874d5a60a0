/* neuropaint detect — Haar-cascade detection on images, as OpenCV's
 * detectMultiScale; prints the boxes, or one JSON object per image. */
#include "config.h"
#include "cli.h"

#include <json-glib/json-glib.h>
#include <stdio.h>

static CliDetect opts = { NULL, 1.2, 5, 60, 0, FALSE };
static gboolean    opt_json;
static gchar     **opt_inputs;
static CliBatch  opt_batch;

static const GOptionEntry entries[] = {
  CLI_DETECT_ENTRIES (opts),
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json,
    "One JSON object per image and line: file, width, height, faces [{x, y, w, h}]", NULL },
  CLI_MAX_PIXELS_ENTRY,
  CLI_BATCH_ENTRIES (opt_batch),
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_inputs, NULL, NULL },
  { NULL }
};

static void
print_json (const char *file, gint width, gint height, const GArray *faces)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree gchar *text = NULL, *json_file = cli_json_name (file);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, json_file);
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, width);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, height);
  json_builder_set_member_name (b, "faces");
  json_builder_begin_array (b);
  for (guint i = 0; i < faces->len; i++)
    cli_json_add_box (b, &g_array_index (faces, NpHaarBox, i));
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  text = cli_json_text (root, FALSE, NULL);
  printf ("%s\n", text);
}

static gboolean
detect_one (const char *file, gpointer finder, gboolean *stop, GError **error)
{
  g_autoptr(GeglBuffer) buffer = NULL;
  g_autoptr(GArray) faces = NULL;

  if (!(buffer = cli_load_image (file, NULL, error)) ||
      !(faces = cli_detect_faces (&opts, finder, buffer, error)))
    return FALSE;
  if (opt_json)
    print_json (file, gegl_buffer_get_width (buffer), gegl_buffer_get_height (buffer), faces);
  else
    {
      /* A newline in a name must not make a line of its own. */
      g_autofree gchar *name = cli_quote_name (file);
      for (guint k = 0; k < faces->len; k++)
        {
          const NpHaarBox *f = &g_array_index (faces, NpHaarBox, k);
          printf ("%s %d %d %d %d\n", name, f->x, f->y, f->width, f->height);
        }
    }
  /* No later line can be written either: the batch ends. */
  if (!cli_stdout_flush (error))
    *stop = TRUE;
  return !*stop;
}

int
cli_cmd_detect (int argc, char **argv, gboolean do_help)
{
  g_autoptr(NpFaceFinder) finder = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) files = NULL, mine = NULL;
  CliShard shard;
  int   code;

  if (!cli_parse ("detect", "IMAGE…",
                     "Find faces (or what the cascade was trained on) as OpenCV's "
                     "detectMultiScale does.",
                     "Defaults are the seed's: scale factor 1.2, 5 neighbours, 60 px.\n"
                     "Without --json each face is a line “FILE x y w h”, largest first; a name\n"
                     "with a control character, \" or \\, or bytes that are no UTF-8, is quoted as\n"
                     "git quotes paths. In JSON such bytes are \\udc80–\\udcff (Python's\n"
                     "surrogateescape).\n"
                     "A bad image is reported and skipped; the exit status is then 2.\n"
                     "Images go in name order; --shard does one part of them (docs/scale-out.md).\n"
                     "Example: neuropaint detect --json photos/",
                     entries, &argc, &argv, do_help, &code))
    return code;
  if (!cli_detect_check ("detect", &opts, &code))
    return code;
  if (!cli_batch_inputs ("detect", &opt_batch, opt_inputs, &files, &mine, &shard, &code))
    return code;
  if (!(finder = np_face_finder_new (opts.cascade, opts.verify_eyes, &error)))
    return cli_fail ("detect", CLI_EXIT_FAILED, "%s", error->message);
  return cli_each_input ("detect", NULL, mine, detect_one, finder, NULL);
}
