/* neuropaint crop — the seed's face crops of many photos into a folder, with
 * a JSON manifest of what came from where. */
#include "config.h"
#include "cli.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

static CliDetect opts = { NULL, 1.2, 5, 60, 0, FALSE };
static gchar      *opt_output;
static gchar      *opt_size = "256x320";
static gint        opt_index;
static gboolean    opt_all;
static gchar     **opt_inputs;
static CliBatch  opt_batch;

static const GOptionEntry entries[] = {
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "Folder for the crops and manifest.json", "DIR" },
  { "size", 0, 0, G_OPTION_ARG_STRING, &opt_size, "Crop size (default 256x320)", "WxH" },
  { "index", 'i', 0, G_OPTION_ARG_INT, &opt_index, "Crop face N, by decreasing size (default 0, the largest)", "N" },
  { "all", 'a', 0, G_OPTION_ARG_NONE, &opt_all, "Crop every face (files STEM-K.png)", NULL },
  CLI_DETECT_ENTRIES (opts),
  CLI_MAX_PIXELS_ENTRY,
  CLI_BATCH_ENTRIES (opt_batch),
  CLI_SKIP_EXISTING_ENTRY (opt_batch),
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_inputs, NULL, NULL },
  { NULL }
};

static gboolean
save_crop (const NpImage *crop, const Babl *space, const char *path, GError **error)
{
  GeglRectangle box = { 0, 0, crop->width, crop->height };
  const Babl   *format = babl_format_with_space ("R'G'B'A float", space);
  g_autoptr(GeglBuffer) buffer = gegl_buffer_new (&box, format);
  g_autoptr(GeglNode) graph = gegl_node_new ();
  GeglNode *source;

  gegl_buffer_set (buffer, &box, 0, format, crop->data, crop->stride);
  source = gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", buffer, NULL);
  return cli_save (source, path, error);
}

/* What every image of the batch shares. */
typedef struct
{
  const NpFaceFinder *finder;
  gint                width, height;
  GHashTable         *stems;    /* input → output stem */
  CliInputIndex      *inputs;
  JsonArray          *images;   /* the manifest's entries */
  FILE               *journal;  /* the entries so far, a line each (see cli_cmd_crop) */
  const char         *journal_path;
} CliCrop;

/* ---- Rerunning: the journal ---------------------------------------------- */

/* With --skip-existing (a batch meant to be run again), each image's
 * manifest entry is also appended, a line each, to PART.partial beside the
 * manifest (part), which the end replaces by the manifest itself. A run
 * stopped midway leaves this journal, and the next run takes from it (and
 * from the manifest of an earlier complete run) the entries of the images
 * whose crops are all there, and does the rest. A line cut short by a crash
 * is no entry: its image is done again. Without the option there is no
 * journal: a stopped run leaves nothing but whole crops. */
static void
journal_add (CliCrop *crop, JsonNode *entry)
{
  g_autofree gchar *line = NULL;

  if (crop->journal == NULL)
    return;
  line = cli_json_text (entry, FALSE, NULL);
  /* Flushed at once: the journal is only worth what a kill leaves of it.
   * One that cannot be written (a full disk) is given up, saying so: the
   * crops and the part are written all the same, but a stopped run would
   * do these images again. */
  if (fprintf (crop->journal, "%s\n", line) < 0 || fflush (crop->journal) != 0)
    {
      int errsv = errno;

      g_printerr ("neuropaint crop: warning: %s: %s: no longer kept (a stopped run would crop the images "
                  "from %s on again)\n", crop->journal_path, g_strerror (errsv),
                  json_object_get_string_member_with_default (json_node_get_object (entry), "file", "?"));
      fclose (crop->journal);
      crop->journal = NULL;
    }
}

static void
keep_entry (GHashTable *done, JsonNode *node)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *file = object ? json_object_get_string_member_with_default (object, "file", NULL) : NULL;

  if (file && json_object_has_member (object, "crops"))
    g_hash_table_replace (done, g_strdup (file), json_node_ref (node));
}

/* The entries of the manifest part and of its journal, by input file. */
static GHashTable *
earlier_entries (const char *part, const char *journal)
{
  GHashTable *done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) json_node_unref);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree gchar *text = NULL;

  /* Regular files only: a device (a link to /dev/zero) would never end. */
  if (g_file_test (part, G_FILE_TEST_IS_REGULAR) && cli_json_parse_file (parser, part, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      JsonArray *images = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "images");
      for (guint i = 0; images && i < json_array_get_length (images); i++)
        keep_entry (done, json_array_get_element (images, i));
    }
  if (g_file_test (journal, G_FILE_TEST_IS_REGULAR) && g_file_get_contents (journal, &text, NULL, NULL))
    {
      g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
      for (gint i = 0; lines[i]; i++)
        if (*lines[i] && cli_json_parse (parser, lines[i], strlen (lines[i]), NULL))
          keep_entry (done, json_parser_get_root (parser));
    }
  return done;
}

/* The entry of an image done before, when every crop it lists is there,
 * whole. */
static JsonNode *
done_before (GHashTable *done, const char *file)
{
  g_autofree gchar *key = cli_json_name (file);
  JsonNode  *node = g_hash_table_lookup (done, key);
  JsonArray *crops = node ? json_object_get_array_member (json_node_get_object (node), "crops") : NULL;

  for (guint i = 0; crops && i < json_array_get_length (crops); i++)
    {
      JsonNode         *c = json_array_get_element (crops, i);
      const char       *name = JSON_NODE_HOLDS_OBJECT (c)
                                 ? json_object_get_string_member_with_default (json_node_get_object (c), "file", NULL)
                                 : NULL;
      g_autofree gchar *bytes = name ? cli_json_name_bytes (name) : NULL;
      g_autofree gchar *path = bytes ? g_build_filename (opt_output, bytes, NULL) : NULL;

      if (path == NULL || !cli_output_complete (path))
        return NULL;
    }
  return crops ? node : NULL;
}

/* Crops one image and adds its manifest entry. Its crops are all written or
 * none (those already written are removed), so the manifest lists exactly
 * the files there are. */
static gboolean
crop_one (const char *file, gpointer data, gboolean *stop, GError **error)
{
  CliCrop *crop = data;
  g_autoptr(GeglBuffer) buffer = NULL;
  g_autoptr(GArray) faces = NULL;
  g_autoptr(NpImage) image = NULL;
  g_autoptr(JsonBuilder) entry = json_builder_new ();
  g_autoptr(GPtrArray) written = g_ptr_array_new_with_free_func (g_free);
  const char *stem = g_hash_table_lookup (crop->stems, file);
  g_autofree gchar *json_file = cli_json_name (file);
  const GeglRectangle *box;
  guint first, last;

  /* Detection and crop both read the file's own values (no ICC conversion),
   * as OpenCV would; the crop keeps their colour space, and is written in
   * sRGB (cli_save). */
  if (!(buffer = cli_load_image (file, NULL, error)) ||
      !(faces = cli_detect_faces (&opts, crop->finder, buffer, error)))
    return FALSE;
  box = gegl_buffer_get_extent (buffer);
  if (!(image = np_image_new (NP_SAMPLE_F32, box->width, box->height, 4, error)))
    return FALSE;
  gegl_buffer_get (buffer, box, 1.0,
                   babl_format_with_space ("R'G'B'A float", gegl_buffer_get_format (buffer)),
                   image->data, image->stride, GEGL_ABYSS_NONE);

  json_builder_begin_object (entry);
  json_builder_set_member_name (entry, "file");
  json_builder_add_string_value (entry, json_file);
  json_builder_set_member_name (entry, "width");
  json_builder_add_int_value (entry, box->width);
  json_builder_set_member_name (entry, "height");
  json_builder_add_int_value (entry, box->height);
  json_builder_set_member_name (entry, "faces");
  json_builder_begin_array (entry);
  for (guint k = 0; k < faces->len; k++)
    cli_json_add_box (entry, &g_array_index (faces, NpHaarBox, k));
  json_builder_end_array (entry);
  json_builder_set_member_name (entry, "crops");
  json_builder_begin_array (entry);

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
      g_autofree gchar *json_name = cli_json_name (name);
      g_autoptr(NpImage) cropped = NULL;
      const char *input = cli_inputs_find (crop->inputs, path);

      /* --all's names depend on the faces found: checked here, not up front. */
      if (input)
        g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                     "%s would overwrite the input %s; write the crops to another folder (-o)",
                     path, input);
      if (input || !(cropped = np_face_crop (image, face, crop->width, crop->height, error))
          || !save_crop (cropped, babl_format_get_space (gegl_buffer_get_format (buffer)), path, error))
        {
          for (guint i = 0; i < written->len; i++)
            g_unlink (written->pdata[i]);
          return FALSE;
        }
      g_ptr_array_add (written, g_steal_pointer (&path));
      json_builder_begin_object (entry);
      json_builder_set_member_name (entry, "file");
      json_builder_add_string_value (entry, json_name);
      json_builder_set_member_name (entry, "face");
      if (face)
        json_builder_add_int_value (entry, k);
      else
        json_builder_add_null_value (entry);
      json_builder_end_object (entry);
    }
  json_builder_end_array (entry);
  json_builder_end_object (entry);
  json_array_add_element (crop->images, json_builder_get_root (entry));
  journal_add (crop, json_array_get_element (crop->images, json_array_get_length (crop->images) - 1));
  return TRUE;
}

int
cli_cmd_crop (int argc, char **argv, gboolean do_help)
{
  g_autoptr(NpFaceFinder) finder = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) files = NULL, mine = NULL, todo = g_ptr_array_new ();
  g_autoptr(GPtrArray) stems = NULL;
  g_autoptr(GPtrArray) outputs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) sources = g_ptr_array_new ();
  g_autoptr(GHashTable) stem_of = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) output_of = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(CliInputIndex) inputs = NULL;
  g_autoptr(GPtrArray) writes = g_ptr_array_new ();
  g_autoptr(GPtrArray) reads = NULL;
  g_autoptr(JsonArray) images = json_array_new (), skipped = json_array_new ();
  g_autoptr(GPtrArray) failed = g_ptr_array_new ();
  g_autoptr(GHashTable) earlier = NULL;
  g_autofree gchar *manifest = NULL, *part = NULL, *journal = NULL;
  g_autoptr(NpOutput) folder = NULL;
  CliShard  shard;
  CliCrop      crop;
  gint        width, height;
  int         code;

  if (!cli_parse ("crop", "IMAGE|DIR…",
                     "Crop faces with the seed's padding (1.5 × 2 face widths) and resample "
                     "them bicubically.",
                     "Writes DIR/STEM.png (or STEM-K.png with --all) and DIR/manifest.json.\n"
                     "STEM is the image's name without its extension (with it, as a.jpg.png,\n"
                     "where two images share a name). An image without the asked face gets its\n"
                     "centre cropped at the same aspect, with a warning (\"face\": null in the\n"
                     "manifest). A bad image is reported and skipped (exit status 2); the\n"
                     "manifest lists the crops written. A batch split with --shard I/N writes\n"
                     "manifest.part-I-of-N.json instead, which `neuropaint merge DIR` joins into\n"
                     "manifest.json; --skip-existing after a stop does only what is missing\n"
                     "(docs/scale-out.md).\n"
                     "Example: neuropaint crop photos/ -o crops/ --size 256x320",
                     entries, &argc, &argv, do_help, &code))
    return code;
  if (!cli_detect_check ("crop", &opts, &code))
    return code;
  if (opt_output == NULL)
    return cli_fail ("crop", CLI_EXIT_USAGE, "--output DIR is required");
  if (!cli_parse_size (opt_size, &width, &height))
    return cli_fail ("crop", CLI_EXIT_USAGE, "--size must be WIDTHxHEIGHT, each 1–8192 (got “%s”)", opt_size);
  if (opt_index < 0)
    return cli_fail ("crop", CLI_EXIT_USAGE, "--index must be >= 0");
  if (!cli_batch_inputs ("crop", &opt_batch, opt_inputs, &files, &mine, &shard, &code))
    return code;
  manifest = g_build_filename (opt_output, "manifest.json", NULL);
  part = cli_shard_path (&shard, manifest);
  journal = g_strconcat (part, ".partial", NULL);

  /* The images done before keep their entries; the others are done. */
  stems = cli_output_stems (files);
  for (guint i = 0; i < files->len; i++)
    g_hash_table_insert (stem_of, files->pdata[i], stems->pdata[i]);
  earlier = opt_batch.skip_existing ? earlier_entries (part, journal) : NULL;
  for (guint i = 0; i < mine->len; i++)
    {
      JsonNode *entry = earlier ? done_before (earlier, mine->pdata[i]) : NULL;
      if (entry)
        json_array_add_element (images, json_node_ref (entry));
      else
        g_ptr_array_add (todo, mine->pdata[i]);
    }
  /* All done, and the part written: nothing to write (a task that would
   * rewrite its part must look at every input's identity first). */
  if (todo->len == 0 && earlier && g_file_test (part, G_FILE_TEST_IS_REGULAR))
    {
      g_print ("0 image(s) cropped into %s (the others were there already)\n", opt_output);
      return CLI_EXIT_OK;
    }

  /* The manifest and (without --all) every crop's name are known now; this
   * task writes its part and the crops of the images it does. */
  g_ptr_array_add (outputs, g_strdup (part));
  g_ptr_array_add (sources, NULL);
  g_ptr_array_add (writes, outputs->pdata[0]);
  for (guint i = 0; i < files->len && !opt_all; i++)
    {
      g_autofree gchar *name = g_strconcat (stems->pdata[i], ".png", NULL);
      g_ptr_array_add (outputs, g_build_filename (opt_output, name, NULL));
      g_ptr_array_add (sources, files->pdata[i]);
      g_hash_table_insert (output_of, files->pdata[i], outputs->pdata[outputs->len - 1]);
    }
  for (guint i = 0; i < todo->len && !opt_all; i++)
    g_ptr_array_add (writes, g_hash_table_lookup (output_of, todo->pdata[i]));
  /* The cascade is read too: not to be overwritten either. */
  reads = g_ptr_array_new ();
  g_ptr_array_extend (reads, files, NULL, NULL);
  if (opts.cascade)
    g_ptr_array_add (reads, opts.cascade);
  if (!cli_check_outputs ("crop", reads, outputs, sources, writes, &code))
    return code;
  inputs = cli_inputs_index_new (reads);

  if (!(finder = np_face_finder_new (opts.cascade, opts.verify_eyes, &error)))
    return cli_fail ("crop", CLI_EXIT_FAILED, "%s", error->message);
  /* A folder made for the crops goes again if a signal leaves it empty
   * (not in a sharded batch). */
  if (!(folder = cli_batch_folder (&shard, opt_output, &error)))
    return cli_fail_error ("crop", g_steal_pointer (&error));

  /* The journal starts with the entries kept. */
  crop = (CliCrop) { finder, width, height, stem_of, inputs, images, NULL, journal };
  if (opt_batch.skip_existing && !(crop.journal = fopen (journal, "w")))
    return cli_fail ("crop", CLI_EXIT_FAILED, "%s: %s", journal, g_strerror (errno));
  for (guint i = 0; i < json_array_get_length (images); i++)
    journal_add (&crop, json_array_get_element (images, i));

  code = cli_each_input ("crop", "crop", todo, crop_one, &crop, failed);
  if (crop.journal)
    fclose (crop.journal);
  /* Listed in the manifest (part), so a merge of the shards can say which. */
  for (guint i = 0; i < failed->len; i++)
    {
      g_autofree gchar *name = cli_json_name (failed->pdata[i]);
      json_array_add_string_element (skipped, name);
    }
  if (!cli_write_crop_manifest (part, width, height, images, skipped, &error))
    return cli_fail ("crop", CLI_EXIT_FAILED, "%s", error->message);
  /* The finished part replaces the journal (also one given up). */
  if (opt_batch.skip_existing)
    g_unlink (journal);
  if (code == CLI_EXIT_OK)
    g_print ("%u image(s) cropped into %s%s\n", todo->len, opt_output,
             todo->len < mine->len ? " (the others were there already)" : "");
  return code;
}
