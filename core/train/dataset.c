/* neuropaint — reading a dataset: dataset.json, manifest.jsonl and the
 * mapped .npy stacks, every field checked against the format and against
 * each other before anyone reads a pixel. */
#include "dataset-private.h"
#include "image/np-npy.h"
#include "util/np-json.h"

#include <string.h>

/* More kinds than this is not a dataset we wrote. */
#define MAX_KINDS 32
#define MAX_KIND_NAME 64

typedef struct
{
  gchar        *kind;
  gint          channels;
  GHashTable   *params;   /* gchar* → gchar*; NULL for color */
  GBytes       *bytes;    /* the whole .npy file */
  const guint8 *pixels;   /* item 0 */
} Stack;

struct _NpDataset
{
  gint           width, height;
  guint          count;
  gsize          item_pixels;   /* width × height */
  Stack          stacks[MAX_KINDS];
  guint          n_stacks;
  NpDatasetItem *items;
  GStringChunk  *strings;
  GBytes        *manifest;      /* manifest.jsonl, and where each item's line is */
  gsize         *lines;         /* start and length of line i at 2i, 2i + 1 */
  GPtrArray     *skipped;       /* the photos prepare could not read */
};

static void
stack_clear (Stack *s)
{
  g_free (s->kind);
  g_clear_pointer (&s->params, g_hash_table_unref);
  g_clear_pointer (&s->bytes, g_bytes_unref);
}

void
np_dataset_free (NpDataset *ds)
{
  if (ds == NULL)
    return;
  for (guint i = 0; i < ds->n_stacks; i++)
    stack_clear (&ds->stacks[i]);
  g_free (ds->items);
  g_free (ds->lines);
  g_clear_pointer (&ds->manifest, g_bytes_unref);
  g_clear_pointer (&ds->skipped, g_ptr_array_unref);
  if (ds->strings)
    g_string_chunk_free (ds->strings);
  g_free (ds);
}

static gboolean
corrupt (GError **error, const char *dir, const char *file, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

/* One NP_ERROR_CORRUPT naming dir/file. */
static gboolean
corrupt (GError **error, const char *dir, const char *file, const char *format, ...)
{
  g_autofree gchar *path = g_build_filename (dir, file, NULL);
  g_autofree gchar *msg = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s: %s", path, msg);
  return FALSE;
}

/* ---- JSON fields ------------------------------------------------------------ */

static gboolean
is_type (JsonNode *node, GType type)
{
  return node && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

/* An integer member in [min, max]. */
static gboolean
get_int (JsonObject *obj, const char *key, gint64 min, gint64 max, gint64 *out)
{
  JsonNode *node = json_object_get_member (obj, key);

  if (!is_type (node, G_TYPE_INT64))
    return FALSE;
  *out = json_node_get_int (node);
  return *out >= min && *out <= max;
}

/* A number (integer or not) in [min, max]. */
static gboolean
number_in (JsonNode *node, gdouble min, gdouble max)
{
  gdouble v;

  if (is_type (node, G_TYPE_INT64))
    v = (gdouble) json_node_get_int (node);
  else if (is_type (node, G_TYPE_DOUBLE))
    v = json_node_get_double (node);
  else
    return FALSE;
  return v >= min && v <= max;
}

static const char *
get_string (JsonObject *obj, const char *key)
{
  JsonNode *node = json_object_get_member (obj, key);
  return is_type (node, G_TYPE_STRING) ? json_node_get_string (node) : NULL;
}

/* {"x", "y", "w", "h"}: a box inside a picture of at most NP_IMAGE_MAX_SIDE. */
static gboolean
is_box (JsonNode *node)
{
  JsonObject *obj;
  gint64      v;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  obj = json_node_get_object (node);
  return json_object_get_size (obj) == 4
         && get_int (obj, "x", 0, NP_IMAGE_MAX_SIDE, &v) && get_int (obj, "y", 0, NP_IMAGE_MAX_SIDE, &v)
         && get_int (obj, "w", 1, NP_IMAGE_MAX_SIDE, &v) && get_int (obj, "h", 1, NP_IMAGE_MAX_SIDE, &v);
}

static gboolean
is_kind_name (const char *name)
{
  gsize n = strlen (name);

  if (n == 0 || n > MAX_KIND_NAME)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!(g_ascii_islower (name[i]) || g_ascii_isdigit (name[i]) || name[i] == '_' || name[i] == '-'))
      return FALSE;
  return TRUE;
}

/* ---- dataset.json ------------------------------------------------------------ */

static gboolean
read_info (NpDataset *ds, const char *dir, GBytes *bytes, GError **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) json_error = NULL;
  g_autoptr(GList) kinds = NULL;
  const char *format, *file = NP_DATASET_INFO;
  JsonObject *obj, *kinds_obj, *filters_obj;
  JsonNode   *node;
  gint64      version, v;
  gsize       size;
  const char *text = g_bytes_get_data (bytes, &size);

  if (!(root = np_json_parse (text, size, &json_error)))
    return corrupt (error, dir, file, "%s", json_error->message);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return corrupt (error, dir, file, "not a JSON object");
  obj = json_node_get_object (root);

  format = get_string (obj, "format");
  if (g_strcmp0 (format, NP_DATASET_FORMAT) != 0)
    return corrupt (error, dir, file, "“format” is not “%s”: not a neuropaint dataset", NP_DATASET_FORMAT);
  if (!get_int (obj, "version", 1, G_MAXINT32, &version))
    return corrupt (error, dir, file, "“version” is not a positive integer");
  if (version > NP_DATASET_VERSION)
    {
      g_autofree gchar *path = g_build_filename (dir, file, NULL);
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "%s: dataset version %" G_GINT64_FORMAT " (this neuropaint reads version %d)",
                   path, version, NP_DATASET_VERSION);
      return FALSE;
    }
  if (!get_int (obj, "width", 1, NP_DATASET_MAX_SIDE, &v))
    return corrupt (error, dir, file, "“width” is not an integer from 1 to %d", NP_DATASET_MAX_SIDE);
  ds->width = (gint) v;
  if (!get_int (obj, "height", 1, NP_DATASET_MAX_SIDE, &v))
    return corrupt (error, dir, file, "“height” is not an integer from 1 to %d", NP_DATASET_MAX_SIDE);
  ds->height = (gint) v;
  if (!get_int (obj, "count", 0, NP_DATASET_MAX_COUNT, &v))
    return corrupt (error, dir, file, "“count” is not an integer from 0 to %d", NP_DATASET_MAX_COUNT);
  ds->count = (guint) v;
  ds->item_pixels = (gsize) ds->width * ds->height;

  node = json_object_get_member (obj, "kinds");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return corrupt (error, dir, file, "“kinds” is not an object");
  kinds_obj = json_node_get_object (node);
  if (json_object_get_size (kinds_obj) > MAX_KINDS)
    return corrupt (error, dir, file, "more than %d kinds", MAX_KINDS);
  kinds = json_object_get_members (kinds_obj);
  for (GList *k = kinds; k; k = k->next)
    {
      Stack *s = &ds->stacks[ds->n_stacks];

      if (!is_kind_name (k->data))
        return corrupt (error, dir, file, "kind “%s” is not a name of lower-case letters, digits, "
                        "“_” and “-” (at most %d)", (const char *) k->data, MAX_KIND_NAME);
      if (!get_int (kinds_obj, k->data, 1, 4, &v))
        return corrupt (error, dir, file, "kind “%s”: channels are not an integer from 1 to 4",
                        (const char *) k->data);
      s->kind = g_strdup (k->data);
      s->channels = (gint) v;
      ds->n_stacks++;
    }
  if (np_dataset_channels (ds, NP_DATASET_COLOR) != 3)
    return corrupt (error, dir, file, "“kinds” lacks “%s”: 3", NP_DATASET_COLOR);

  /* Each filtered kind's parameters, as model metadata: strings. */
  node = json_object_get_member (obj, "filters");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return corrupt (error, dir, file, "“filters” is not an object");
  filters_obj = json_node_get_object (node);
  for (guint i = 0; i < ds->n_stacks; i++)
    {
      Stack *s = &ds->stacks[i];
      g_autoptr(GList) keys = NULL;
      JsonObject *params;

      if (strcmp (s->kind, NP_DATASET_COLOR) == 0)
        continue;
      node = json_object_get_member (filters_obj, s->kind);
      if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
        return corrupt (error, dir, file, "“filters” has no object for kind “%s”", s->kind);
      params = json_node_get_object (node);
      s->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      keys = json_object_get_members (params);
      for (GList *k = keys; k; k = k->next)
        {
          const char *value = get_string (params, k->data);
          if (value == NULL)
            return corrupt (error, dir, file, "filter parameter “%s” of “%s” is not a string",
                            (const char *) k->data, s->kind);
          g_hash_table_insert (s->params, g_strdup (k->data), g_strdup (value));
        }
    }
  {
    g_autoptr(GList) named = json_object_get_members (filters_obj);
    for (GList *k = named; k; k = k->next)
      if (np_dataset_channels (ds, k->data) == 0 || strcmp (k->data, NP_DATASET_COLOR) == 0)
        return corrupt (error, dir, file, "“filters” names “%s”, which is not a filtered kind",
                        (const char *) k->data);
  }

  /* The photos that could not be read: absent when there were none. */
  ds->skipped = g_ptr_array_new_with_free_func (g_free);
  node = json_object_get_member (obj, "skipped");
  if (node && !JSON_NODE_HOLDS_ARRAY (node))
    return corrupt (error, dir, file, "“skipped” is not a list");
  for (guint i = 0; node && i < json_array_get_length (json_node_get_array (node)); i++)
    {
      JsonNode *name = json_array_get_element (json_node_get_array (node), i);
      if (!is_type (name, G_TYPE_STRING))
        return corrupt (error, dir, file, "“skipped” holds something that is not a file name");
      g_ptr_array_add (ds->skipped, g_strdup (json_node_get_string (name)));
    }
  return TRUE;
}

/* ---- manifest.jsonl ------------------------------------------------------------ */

static gboolean
read_item (NpDataset *ds, const char *dir, guint index, const char *line, gsize length,
           NpDatasetItem *item, GError **error)
{
  const char *file = NP_DATASET_MANIFEST;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) json_error = NULL;
  const char *source, *subset, *split, *colour;
  JsonObject *obj;
  JsonNode   *node;
  JsonArray  *array;
  gint64      v;

  if (!(root = np_json_parse (line, length, &json_error)))
    return corrupt (error, dir, file, "line %u: %s", index + 1, json_error->message);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return corrupt (error, dir, file, "line %u is not a JSON object", index + 1);
  obj = json_node_get_object (root);

  if (!get_int (obj, "index", 0, G_MAXINT64, &v) || v != index)
    return corrupt (error, dir, file, "line %u: “index” is not %u", index + 1, index);
  source = get_string (obj, "source");
  if (source == NULL || *source == '\0')
    return corrupt (error, dir, file, "line %u: “source” is not a file name", index + 1);
  if ((subset = get_string (obj, "subset")) == NULL)
    return corrupt (error, dir, file, "line %u: “subset” is not a string", index + 1);
  split = get_string (obj, "split");
  if (g_strcmp0 (split, "train") != 0 && g_strcmp0 (split, "val") != 0)
    return corrupt (error, dir, file, "line %u: “split” is not “train” or “val”", index + 1);

  node = json_object_get_member (obj, "face");
  if (node == NULL || !(JSON_NODE_HOLDS_NULL (node) || is_box (node)))
    return corrupt (error, dir, file, "line %u: “face” is not null or a box {x, y, w, h}", index + 1);
  item->has_face = !JSON_NODE_HOLDS_NULL (node);

  node = json_object_get_member (obj, "eyes");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return corrupt (error, dir, file, "line %u: “eyes” is not an array of boxes", index + 1);
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (!is_box (json_array_get_element (array, i)))
      return corrupt (error, dir, file, "line %u: “eyes” is not an array of boxes", index + 1);

  node = json_object_get_member (obj, "means");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node) || json_array_get_length (json_node_get_array (node)) != 3)
    return corrupt (error, dir, file, "line %u: “means” is not three numbers from 0 to 255", index + 1);
  for (guint c = 0; c < 3; c++)
    if (!number_in (json_array_get_element (json_node_get_array (node), c), 0, 255))
      return corrupt (error, dir, file, "line %u: “means” is not three numbers from 0 to 255", index + 1);
  if (!number_in (json_object_get_member (obj, "brightness"), 0, 255))
    return corrupt (error, dir, file, "line %u: “brightness” is not a number from 0 to 255", index + 1);
  colour = get_string (obj, "colour");
  if (colour == NULL || *colour == '\0')
    return corrupt (error, dir, file, "line %u: “colour” is not a colour name", index + 1);
  node = json_object_get_member (obj, "gray");
  if (!is_type (node, G_TYPE_BOOLEAN))
    return corrupt (error, dir, file, "line %u: “gray” is not true or false", index + 1);
  item->is_gray = json_node_get_boolean (node);

  item->source = g_string_chunk_insert (ds->strings, source);
  item->subset = g_string_chunk_insert_const (ds->strings, subset);
  item->split = strcmp (split, "val") == 0 ? NP_SPLIT_VAL : NP_SPLIT_TRAIN;
  return TRUE;
}

static gboolean
read_manifest (NpDataset *ds, const char *dir, GBytes *bytes, GError **error)
{
  /* Items grow with the lines read: a count in dataset.json alone, which
   * may be anything, allocates nothing. */
  g_autoptr(GArray) items = g_array_new (FALSE, TRUE, sizeof (NpDatasetItem));
  g_autoptr(GArray) lines = g_array_new (FALSE, FALSE, sizeof (gsize));
  gsize       size;
  const char *text = g_bytes_get_data (bytes, &size), *end;
  guint       n = 0;

  if (size == 0)
    text = "";   /* an empty mapping has no address */
  end = text + size;
  ds->strings = g_string_chunk_new (4096);
  /* One line an item; the last may lack its newline. */
  for (const char *line = text; line < end; n++)
    {
      const char *nl = memchr (line, '\n', end - line);
      gsize       length = (nl ? nl : end) - line;

      if (n == ds->count)
        return corrupt (error, dir, NP_DATASET_MANIFEST, "more than the %u lines dataset.json counts",
                        ds->count);
      if (length == 0)
        return corrupt (error, dir, NP_DATASET_MANIFEST, "line %u is empty", n + 1);
      g_array_set_size (items, n + 1);
      if (!read_item (ds, dir, n, line, length, &g_array_index (items, NpDatasetItem, n), error))
        return FALSE;
      {
        gsize where[2] = { line - text, length };
        g_array_append_vals (lines, where, 2);
      }
      line += length + 1;
    }
  if (n != ds->count)
    return corrupt (error, dir, NP_DATASET_MANIFEST, "%u lines, but dataset.json counts %u", n, ds->count);
  ds->items = (NpDatasetItem *) (gpointer) g_array_free (g_steal_pointer (&items), FALSE);
  ds->lines = (gsize *) (gpointer) g_array_free (g_steal_pointer (&lines), FALSE);
  ds->manifest = g_bytes_ref (bytes);
  return TRUE;
}

/* ---- the stacks ------------------------------------------------------------ */

static gboolean
read_stack (NpDataset *ds, const char *dir, Stack *s, GError **error)
{
  g_autofree gchar *file = g_strconcat (s->kind, NP_DATASET_STACK_EXT, NULL);
  g_autofree gchar *descr = NULL;
  g_autoptr(GError) npy_error = NULL;
  guint64 shape[NP_NPY_MAX_RANK], item_bytes = (guint64) ds->item_pixels * s->channels;
  gint    rank;
  gsize   size, offset;
  const guint8 *data = g_bytes_get_data (s->bytes, &size);

  if (!np_npy_parse_header (data, size, &descr, shape, &rank, &offset, &npy_error))
    {
      g_autofree gchar *path = g_build_filename (dir, file, NULL);
      g_set_error (error, NP_ERROR, npy_error->code, "%s: %s", path, npy_error->message);
      return FALSE;
    }
  if (strcmp (descr, "|u1") != 0)
    return corrupt (error, dir, file, "dtype “%s”, not bytes (|u1)", descr);
  if (rank != 4 || shape[0] != ds->count || shape[1] != (guint64) ds->height
      || shape[2] != (guint64) ds->width || shape[3] != (guint64) s->channels)
    return corrupt (error, dir, file, "its shape is not (%u, %d, %d, %d), the count, height, width and "
                    "channels dataset.json gives", ds->count, ds->height, ds->width, s->channels);
  /* count ≤ 2^31 and an item ≤ 2^28 bytes: no overflow in 64 bits. */
  if (size - offset != ds->count * item_bytes)
    return corrupt (error, dir, file, "%" G_GSIZE_FORMAT " bytes of pixels where its shape needs %"
                    G_GUINT64_FORMAT " (%s)", size - offset, ds->count * item_bytes,
                    size - offset < ds->count * item_bytes ? "truncated" : "extra bytes at the end");
  s->pixels = data + offset;
  return TRUE;
}

NpDataset *
np_dataset_load (const char *dir, GBytes *info, GBytes *manifest,
                 NpDatasetStackFunc stack_func, gpointer data, GError **error)
{
  g_autoptr(NpDataset) ds = g_new0 (NpDataset, 1);

  if (!read_info (ds, dir, info, error) || !read_manifest (ds, dir, manifest, error))
    return NULL;
  for (guint i = 0; i < ds->n_stacks; i++)
    {
      Stack *s = &ds->stacks[i];
      if (!(s->bytes = stack_func (s->kind, data, error)) || !read_stack (ds, dir, s, error))
        return NULL;
    }
  return g_steal_pointer (&ds);
}

/* ---- from a folder ------------------------------------------------------------ */

/* A file, mapped (the stacks can be gigabytes; pages come in on use). */
static GBytes *
map_file (const char *path, GError **error)
{
  g_autoptr(GError) map_error = NULL;
  GMappedFile *mapped;
  GBytes      *bytes;

  if (!(mapped = g_mapped_file_new (path, FALSE, &map_error)))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_IO, "%s", map_error->message);
      return NULL;
    }
  bytes = g_mapped_file_get_bytes (mapped);
  g_mapped_file_unref (mapped);
  return bytes;
}

static GBytes *
map_stack (const char *kind, gpointer dir, GError **error)
{
  g_autofree gchar *file = g_strconcat (kind, NP_DATASET_STACK_EXT, NULL);
  g_autofree gchar *path = g_build_filename (dir, file, NULL);
  return map_file (path, error);
}

NpDataset *
np_dataset_open (const char *dir, GError **error)
{
  g_autofree gchar *info_path = g_build_filename (dir, NP_DATASET_INFO, NULL);
  g_autofree gchar *manifest_path = g_build_filename (dir, NP_DATASET_MANIFEST, NULL);
  g_autoptr(GBytes) info = NULL, manifest = NULL;

  g_return_val_if_fail (dir != NULL, NULL);

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_IO, "%s: not a folder (a dataset is the folder "
                   "neuropaint prepare writes)", dir);
      return NULL;
    }
  if (!g_file_test (info_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_IO, "%s: missing: not a dataset, or one whose "
                   "writing did not finish (run neuropaint prepare again)", info_path);
      return NULL;
    }
  if (!(info = map_file (info_path, error)) || !(manifest = map_file (manifest_path, error)))
    return NULL;
  return np_dataset_load (dir, info, manifest, map_stack, (gpointer) dir, error);
}

/* ---- access ------------------------------------------------------------ */

static const Stack *
find_stack (const NpDataset *ds, const char *kind)
{
  for (guint i = 0; kind && i < ds->n_stacks; i++)
    if (strcmp (ds->stacks[i].kind, kind) == 0)
      return &ds->stacks[i];
  return NULL;
}

gint
np_dataset_width (const NpDataset *ds)
{
  return ds->width;
}

gint
np_dataset_height (const NpDataset *ds)
{
  return ds->height;
}

guint
np_dataset_size (const NpDataset *ds)
{
  return ds->count;
}

const NpDatasetItem *
np_dataset_item (const NpDataset *ds, guint index)
{
  g_return_val_if_fail (index < ds->count, NULL);
  return &ds->items[index];
}

gint
np_dataset_channels (const NpDataset *ds, const char *kind)
{
  const Stack *s = find_stack (ds, kind);
  return s ? s->channels : 0;
}

const guint8 *
np_dataset_pixels (const NpDataset *ds, const char *kind, guint index)
{
  const Stack *s = find_stack (ds, kind);

  g_return_val_if_fail (index < ds->count, NULL);
  return s ? s->pixels + (gsize) index * ds->item_pixels * s->channels : NULL;
}

GHashTable *
np_dataset_filter_params (const NpDataset *ds, const char *kind)
{
  const Stack *s = find_stack (ds, kind);
  return s ? s->params : NULL;
}

const char *
np_dataset_item_line (const NpDataset *ds, guint index, gsize *length)
{
  g_return_val_if_fail (index < ds->count, NULL);
  *length = ds->lines[2 * index + 1];
  return (const char *) g_bytes_get_data (ds->manifest, NULL) + ds->lines[2 * index];
}

const char *const *
np_dataset_skipped (const NpDataset *ds, guint *n)
{
  *n = ds->skipped->len;
  return (const char *const *) ds->skipped->pdata;
}

guint
np_dataset_n_kinds (const NpDataset *ds)
{
  return ds->n_stacks;
}
