/* neuropaint merge — joins the parts a batch split with --shard wrote (crop's
 * manifest parts, prepare's dataset parts) into what one process would have
 * written. */
#include "config.h"
#include "cli.h"

#include <stdio.h>
#include <string.h>

static gchar **opt_targets;

static const GOptionEntry entries[] = {
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_targets, NULL, NULL },
  { NULL }
};

/* The parts of target (FOLDER/NAME.part-I-of-N.EXT beside it, for one N),
 * in shard order, or NULL with an error saying which are missing. */
static GPtrArray *
find_parts (const char *target, GError **error)
{
  g_autofree gchar *dir = g_path_get_dirname (target), *base = g_path_get_basename (target), *stem = NULL;
  g_autofree gchar *prefix = NULL;
  g_autoptr(GDir) folder = NULL;
  g_autoptr(GPtrArray) parts = NULL;
  g_autoptr(GString) missing = g_string_new (NULL);
  const char *ext, *name;
  guint       count = 0, n_missing = 0;

  cli_split_ext (base, &stem, &ext);
  prefix = g_strconcat (stem, ".part-", NULL);
  if (!(folder = g_dir_open (dir, 0, error)))
    return NULL;
  while ((name = g_dir_read_name (folder)))
    {
      guint index, n;
      int   end = 0;

      if (!g_str_has_prefix (name, prefix)
          || sscanf (name + strlen (prefix), "%u-of-%u%n", &index, &n, &end) != 2
          || strcmp (name + strlen (prefix) + end, ext) != 0 || n == 0 || index >= n)
        continue;
      if (parts && n != count)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                       "%s: parts of %u and of %u shards: remove those of the run you do not want", target,
                       count, n);
          return NULL;
        }
      if (parts == NULL)
        {
          count = n;
          parts = g_ptr_array_new_full (n, g_free);
          g_ptr_array_set_size (parts, n);
        }
      parts->pdata[index] = g_build_filename (dir, name, NULL);
    }
  if (parts == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "%s: no parts (%s.part-I-of-N%s) beside it to merge", target, stem, ext);
      return NULL;
    }
  for (guint i = 0; i < count; i++)
    if (parts->pdata[i] == NULL && n_missing++ < 8)
      g_string_append_printf (missing, "%s%u", n_missing > 1 ? ", " : "", i);
  if (n_missing)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "%s: %u of the %u shards have not finished (%s%s): run them (--shard I/%u, "
                   "--skip-existing), then merge", target, n_missing, count, missing->str,
                   n_missing > 8 ? ", …" : "", count);
      return NULL;
    }
  return g_steal_pointer (&parts);
}

/* crop's manifest.json from its parts: every image's entry, in the order
 * of the sorted input list; the images the shards skipped (as JSON names)
 * into skipped. */
static gboolean
merge_manifests (const char *target, GPtrArray *skipped, GError **error)
{
  g_autoptr(GPtrArray) parts = find_parts (target, error);
  g_autoptr(JsonArray) images = json_array_new (), failed = json_array_new ();
  gint64 width = -1, height = -1;

  if (parts == NULL)
    return FALSE;
  for (guint i = 0; i < parts->len; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *part;
      JsonArray  *list;

      if (!cli_json_parse_file (parser, parts->pdata[i], error))
        {
          g_prefix_error (error, "%s: ", (char *) parts->pdata[i]);
          return FALSE;
        }
      part = JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))
               ? json_node_get_object (json_parser_get_root (parser)) : NULL;
      list = part && json_object_has_member (part, "images")
                     && JSON_NODE_HOLDS_ARRAY (json_object_get_member (part, "images"))
               ? json_object_get_array_member (part, "images") : NULL;
      if (list == NULL || json_object_get_int_member_with_default (part, "width", -1) < 1
          || json_object_get_int_member_with_default (part, "height", -1) < 1)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s: not a manifest of neuropaint crop",
                       (char *) parts->pdata[i]);
          return FALSE;
        }
      if (i == 0)
        width = json_object_get_int_member (part, "width"), height = json_object_get_int_member (part, "height");
      if (json_object_get_int_member (part, "width") != width || json_object_get_int_member (part, "height") != height)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "%s: crops of another size than %s's",
                       (char *) parts->pdata[i], (char *) parts->pdata[0]);
          return FALSE;
        }
      for (guint k = 0; k < json_array_get_length (list); k++)
        json_array_add_element (images, json_node_copy (json_array_get_element (list, k)));
      list = json_object_has_member (part, "skipped") && JSON_NODE_HOLDS_ARRAY (json_object_get_member (part, "skipped"))
               ? json_object_get_array_member (part, "skipped") : NULL;
      for (guint k = 0; list && k < json_array_get_length (list); k++)
        if (json_node_get_value_type (json_array_get_element (list, k)) == G_TYPE_STRING)
          {
            json_array_add_element (failed, json_node_copy (json_array_get_element (list, k)));
            g_ptr_array_add (skipped, cli_json_name_bytes (json_array_get_string_element (list, k)));
          }
    }
  if (!cli_write_crop_manifest (target, (gint) width, (gint) height, images, failed, error))
    return FALSE;
  g_print ("%s: %u images from %u parts\n", target, json_array_get_length (images), parts->len);
  return TRUE;
}

/* Every item of the parts, in the order of the sorted input list (each part
 * has its photos in that order: a merge of sorted runs). */
static gboolean
copy_items (NpDatasetWriter *writer, GPtrArray *parts, GPtrArray *sets, GError **error)
{
  g_autofree guint *next = g_new0 (guint, sets->len);

  for (;;)
    {
      const char *source = NULL;
      guint       pick = 0;

      for (guint i = 0; i < sets->len; i++)
        if (next[i] < np_dataset_size (sets->pdata[i])
            && (source == NULL || strcmp (np_dataset_item (sets->pdata[i], next[i])->source, source) < 0))
          source = np_dataset_item (sets->pdata[i], next[i])->source, pick = i;
      if (source == NULL)
        break;
      /* Every crop of that photo (--all-faces), in its order. */
      do
        if (!np_dataset_writer_copy (writer, sets->pdata[pick], parts->pdata[pick], next[pick]++, error))
          return FALSE;
      while (next[pick] < np_dataset_size (sets->pdata[pick])
             && strcmp (np_dataset_item (sets->pdata[pick], next[pick])->source, source) == 0);
    }
  return TRUE;
}

/* A dataset from its parts, or nothing (the target as it was); the photos
 * the shards skipped into skipped. */
static gboolean
merge_datasets (const char *target, GPtrArray *skipped, GError **error)
{
  g_autoptr(GPtrArray) parts = find_parts (target, error);
  g_autoptr(GPtrArray) sets = g_ptr_array_new_with_free_func ((GDestroyNotify) np_dataset_free);
  g_autoptr(NpDatasetWriter) writer = NULL;

  if (parts == NULL)
    return FALSE;
  for (guint i = 0; i < parts->len; i++)
    {
      NpDataset *part = np_dataset_open (parts->pdata[i], error);
      if (part == NULL)
        return FALSE;
      g_ptr_array_add (sets, part);
    }
  if (!(writer = np_dataset_writer_new_like (target, sets->pdata[0], error)))
    return FALSE;
  for (guint i = 0; i < sets->len; i++)
    {
      guint n;
      const char *const *names = np_dataset_skipped (sets->pdata[i], &n);

      for (guint k = 0; k < n; k++)
        {
          np_dataset_writer_skip (writer, names[k]);
          g_ptr_array_add (skipped, g_strdup (names[k]));
        }
    }
  /* On failure the temporary files go with the writer; a folder made for
   * them too. */
  if (!copy_items (writer, parts, sets, error) || !np_dataset_writer_commit (writer, error))
    return FALSE;
  g_print ("%s: %u crops from %u parts\n", target, np_dataset_writer_count (writer), parts->len);
  return TRUE;
}

/* The merged result is whole, but the batch was not: as one process over
 * every input, say which inputs failed (their shards' logs say why) and
 * exit 2. */
static int
report_skipped (const char *target, GPtrArray *skipped)
{
  g_autoptr(GString) names = g_string_new (NULL);

  cli_sort_strings (skipped);
  for (guint i = 0; i < skipped->len && i < 20; i++)
    g_string_append_printf (names, "%s%s", i ? ", " : "", (char *) skipped->pdata[i]);
  return cli_fail ("merge", CLI_EXIT_FAILED, "%s: written without the %u input%s its shards could not read "
                   "(their logs say why): %s%s", target, skipped->len, skipped->len > 1 ? "s" : "", names->str,
                   skipped->len > 20 ? ", …" : "");
}

/* A folder crop wrote into: its manifest, or a part of it, is there. */
static gboolean
is_crop_folder (const char *dir)
{
  g_autoptr(GDir) folder = g_dir_open (dir, 0, NULL);
  const char *name;

  while (folder && (name = g_dir_read_name (folder)))
    if (strcmp (name, "manifest.json") == 0 || g_str_has_prefix (name, "manifest.part-"))
      return TRUE;
  return FALSE;
}

int
cli_cmd_merge (int argc, char **argv, gboolean do_help)
{
  int code = CLI_EXIT_OK;

  if (!cli_parse ("merge", "TARGET…",
                     "Join the parts a batch split over shards wrote into what one process would have written.",
                     "A crop folder DIR (or DIR/manifest.json): its manifest.part-I-of-N.json become\n"
                     "DIR/manifest.json. A dataset DATASET: the datasets DATASET.part-I-of-N beside it\n"
                     "(faces.part-0-of-4.dataset … for faces.dataset) become DATASET, the dataset one\n"
                     "`neuropaint prepare` over all the photos would have made, byte for byte. Every\n"
                     "shard 0 … N−1 must have finished; the parts are kept (remove them after).\n"
                     "Example: neuropaint merge crops/ faces.dataset",
                     entries, &argc, &argv, do_help, &code))
    return code;
  if (opt_targets == NULL)
    return cli_fail ("merge", CLI_EXIT_USAGE, "name what to merge: a crop folder or a dataset");

  for (gint i = 0; opt_targets[i]; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) skipped = g_ptr_array_new_with_free_func (g_free);
      g_autofree gchar *target = g_strdup (opt_targets[i]), *manifest = NULL;
      gsize n = strlen (target);

      while (n > 1 && target[n - 1] == '/')
        target[--n] = '\0';
      /* A crop folder holds manifest parts; a dataset's parts are beside it. */
      manifest = g_str_has_suffix (target, "manifest.json") ? g_strdup (target)
                                                            : g_build_filename (target, "manifest.json", NULL);
      if (!(g_str_has_suffix (target, "manifest.json") || is_crop_folder (target)
              ? merge_manifests (manifest, skipped, &error) : merge_datasets (target, skipped, &error)))
        code = cli_fail ("merge", CLI_EXIT_FAILED, "%s", error->message);
      else if (skipped->len > 0)
        code = report_skipped (target, skipped);
    }
  return code;
}
