/* neuropaint — crop's manifest, written by crop and by merge alike, so the
 * parts of a sharded run merge into the bytes of a one-process run. */

#include "config.h"
#include "cli.h"

static gint
compare_entries (gconstpointer a, gconstpointer b)
{
  JsonObject *x = json_node_get_object (*(JsonNode *const *) a), *y = json_node_get_object (*(JsonNode *const *) b);
  const char *fx = json_object_get_string_member_with_default (x, "file", NULL);
  const char *fy = json_object_get_string_member_with_default (y, "file", NULL);
  g_autofree gchar *bx = fx ? cli_json_name_bytes (fx) : NULL, *by = fy ? cli_json_name_bytes (fy) : NULL;

  /* By the names' bytes, as the input list is sorted. */
  return g_strcmp0 (bx, by);
}

gboolean
cli_write_crop_manifest (const char *path, gint width, gint height, JsonArray *images,
                            GError **error)
{
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonArray) sorted = json_array_sized_new (json_array_get_length (images));
  g_autoptr(GPtrArray) nodes = g_ptr_array_new ();
  g_autofree gchar *text = NULL;
  gsize length;

  for (guint i = 0; i < json_array_get_length (images); i++)
    g_ptr_array_add (nodes, json_array_get_element (images, i));
  /* Stable: the entries of one file keep their order. */
  g_ptr_array_sort (nodes, compare_entries);
  for (guint i = 0; i < nodes->len; i++)
    json_array_add_element (sorted, json_node_ref (nodes->pdata[i]));
  json_object_set_int_member (object, "width", width);
  json_object_set_int_member (object, "height", height);
  json_object_set_array_member (object, "images", json_array_ref (sorted));
  json_node_set_object (root, object);
  text = cli_json_text (root, TRUE, &length);
  return np_output_set_contents (path, text, length, error);
}
