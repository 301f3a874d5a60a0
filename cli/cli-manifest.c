/* neuropaint — crop's manifest, written by crop and by merge alike, so the
 * parts of a sharded run merge into the bytes of a one-process run. */

#include "config.h"
#include "cli.h"

/* The file an entry names: an image's "file", or a skipped name itself. */
static const char *
entry_file (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return json_object_get_string_member_with_default (json_node_get_object (node), "file", NULL);
  return JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : NULL;
}

static gint
compare_entries (gconstpointer a, gconstpointer b)
{
  const char *fx = entry_file (*(JsonNode *const *) a), *fy = entry_file (*(JsonNode *const *) b);
  g_autofree gchar *bx = fx ? cli_json_name_bytes (fx) : NULL, *by = fy ? cli_json_name_bytes (fy) : NULL;

  /* By the names' bytes, as the input list is sorted. */
  return g_strcmp0 (bx, by);
}

/* The array's elements in input order (stable: the entries of one file
 * keep theirs). */
static JsonArray *
sorted_array (JsonArray *array)
{
  g_autoptr(GPtrArray) nodes = g_ptr_array_new ();
  JsonArray *sorted = json_array_sized_new (json_array_get_length (array));

  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (nodes, json_array_get_element (array, i));
  g_ptr_array_sort (nodes, compare_entries);
  for (guint i = 0; i < nodes->len; i++)
    json_array_add_element (sorted, json_node_ref (nodes->pdata[i]));
  return sorted;
}

gboolean
cli_write_crop_manifest (const char *path, gint width, gint height, JsonArray *images,
                            JsonArray *skipped, GError **error)
{
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonObject) object = json_object_new ();
  g_autofree gchar *text = NULL;
  gsize length;

  json_object_set_int_member (object, "width", width);
  json_object_set_int_member (object, "height", height);
  json_object_set_array_member (object, "images", sorted_array (images));
  /* Only when an image failed: a whole batch's manifest is as it was. */
  if (skipped && json_array_get_length (skipped) > 0)
    json_object_set_array_member (object, "skipped", sorted_array (skipped));
  json_node_set_object (root, object);
  text = cli_json_text (root, TRUE, &length);
  return np_output_set_contents (path, text, length, error);
}
