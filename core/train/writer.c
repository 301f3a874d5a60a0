/* neuropaint — writing a dataset: each crop, every filter of the registry
 * applied to it, streamed to the stacks' temporary files; at commit the
 * counts go into the .npy headers and every file is renamed into place. */
#include "dataset-private.h"
#include "filters/np-filters.h"
#include "image/np-npy.h"
#include "util/np-json.h"
#include "util/np-output.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

/* Every stack's header takes this many bytes, whatever the count: it is
 * written before the count is known and rewritten in place at commit. */
#define HEADER_SIZE 128
#define MAX_STACKS 16

typedef struct
{
  const NpFilter *filter;   /* NULL: the crop itself */
  const char     *kind;
  gint            channels;
  NpOutput       *out;
  NpImage        *pixels;   /* this kind of the current crop */
} WriterStack;

struct _NpDatasetWriter
{
  gchar      *dir;
  NpOutput   *folder;
  gint        width, height;
  GHashTable *params;       /* the filter parameters given, or NULL */
  WriterStack stacks[MAX_STACKS];
  guint       n_stacks;
  NpOutput   *manifest;
  guint       count;
  GPtrArray  *skipped;      /* np_dataset_writer_skip's sources */
  gboolean    failed;       /* a write failed: the files are inconsistent */
  gboolean    committed;
};

void
np_dataset_writer_free (NpDatasetWriter *w)
{
  if (w == NULL)
    return;
  for (guint i = 0; i < w->n_stacks; i++)
    {
      np_output_free (w->stacks[i].out);
      np_image_free (w->stacks[i].pixels);
    }
  np_output_free (w->manifest);
  /* After the files: a folder made for them goes if they leave it empty. */
  np_output_free (w->folder);
  g_clear_pointer (&w->params, g_hash_table_unref);
  g_clear_pointer (&w->skipped, g_ptr_array_unref);
  g_free (w->dir);
  g_free (w);
}

static GBytes *
stack_header (const NpDatasetWriter *w, const WriterStack *s)
{
  guint64 shape[4] = { w->count, w->height, w->width, s->channels };
  return np_npy_header ("|u1", shape, 4, HEADER_SIZE);
}

static gboolean
add_stack (NpDatasetWriter *w, const NpFilter *filter, GError **error)
{
  WriterStack      *s = &w->stacks[w->n_stacks++];
  g_autofree gchar *file = NULL, *path = NULL;
  g_autoptr(GBytes) header = NULL;

  g_assert (w->n_stacks <= MAX_STACKS);
  s->filter = filter;
  s->kind = filter ? np_filter_name (filter) : NP_DATASET_COLOR;
  s->channels = filter ? np_filter_channels (filter) : 3;
  file = g_strconcat (s->kind, NP_DATASET_STACK_EXT, NULL);
  path = g_build_filename (w->dir, file, NULL);
  header = stack_header (w, s);
  return (s->pixels = np_image_new (NP_SAMPLE_U8, w->width, w->height, s->channels, error))
         && (s->out = np_output_new (path, error))
         && np_output_write (s->out, g_bytes_get_data (header, NULL), HEADER_SIZE, error);
}

/* Whether name is one of the files a dataset folder holds (or one of our
 * temporary files). */
static gboolean
dataset_file (const char *name)
{
  g_autofree gchar *kind = NULL;

  if (g_str_equal (name, NP_DATASET_INFO) || g_str_equal (name, NP_DATASET_MANIFEST)
      || g_str_has_prefix (name, ".np-"))
    return TRUE;
  if (!g_str_has_suffix (name, NP_DATASET_STACK_EXT))
    return FALSE;
  kind = g_strndup (name, strlen (name) - strlen (NP_DATASET_STACK_EXT));
  if (g_str_equal (kind, NP_DATASET_COLOR))
    return TRUE;
  for (const NpFilter *const *f = np_filter_list (); *f; f++)
    if (g_str_equal (kind, np_filter_name (*f)))
      return TRUE;
  return FALSE;
}

/* A dataset is written into a new or empty folder, or over a dataset: one
 * with its dataset.json, or one whose commit was cut (nothing but a
 * dataset's files, the colour stack among them). Anything else is the
 * user's folder, whose files (another tool's manifest.jsonl) are not
 * replaced. */
static gboolean
check_folder (const char *dir, GError **error)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autofree gchar *info = g_build_filename (dir, NP_DATASET_INFO, NULL);
  g_autofree gchar *color = g_build_filename (dir, NP_DATASET_COLOR NP_DATASET_STACK_EXT, NULL);
  g_autofree gchar *foreign = NULL, *ours = NULL;
  const char *name;

  /* Missing: made now; unreadable: the error comes with the first file. */
  if (d == NULL || g_file_test (info, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  while ((name = g_dir_read_name (d)) && foreign == NULL)
    if (!dataset_file (name))
      foreign = g_strdup (name);
    else if (ours == NULL && !g_str_has_prefix (name, ".np-"))
      ours = g_strdup (name);
  if (foreign == NULL && (ours == NULL || g_file_test (color, G_FILE_TEST_IS_REGULAR)))
    return TRUE;
  g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
               "%s: a folder that is not a dataset (it holds %s, and no %s): a dataset is written "
               "into a new or empty folder, or over a dataset", dir, foreign ? foreign : ours,
               NP_DATASET_INFO);
  return FALSE;
}

NpDatasetWriter *
np_dataset_writer_new (const char *dir, gint width, gint height, GHashTable *filter_params,
                       GError **error)
{
  g_autoptr(NpDatasetWriter) w = NULL;
  g_autofree gchar *manifest = NULL;

  g_return_val_if_fail (dir != NULL, NULL);

  if (width < 1 || height < 1 || width > NP_DATASET_MAX_SIDE || height > NP_DATASET_MAX_SIDE)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "dataset crops of %d×%d: each side must be 1 to %d", width, height,
                   NP_DATASET_MAX_SIDE);
      return NULL;
    }
  for (const NpFilter *const *f = np_filter_list (); *f; f++)
    if (!np_filter_check (*f, filter_params, error))
      return NULL;
  if (!check_folder (dir, error))
    return NULL;

  w = g_new0 (NpDatasetWriter, 1);
  w->dir = g_strdup (dir);
  w->skipped = g_ptr_array_new_with_free_func (g_free);
  if (!(w->folder = np_output_new_folder (dir, error)))
    return NULL;
  w->width = width;
  w->height = height;
  w->params = filter_params ? g_hash_table_ref (filter_params) : NULL;
  if (!add_stack (w, NULL, error))
    return NULL;
  for (const NpFilter *const *f = np_filter_list (); *f; f++)
    if (!add_stack (w, *f, error))
      return NULL;
  manifest = g_build_filename (dir, NP_DATASET_MANIFEST, NULL);
  if (!(w->manifest = np_output_new (manifest, error)))
    return NULL;
  return g_steal_pointer (&w);
}

static void
append_box (GString *line, const NpHaarBox *box)
{
  g_string_append_printf (line, "{\"x\": %d, \"y\": %d, \"w\": %d, \"h\": %d}",
                          box->x, box->y, box->width, box->height);
}

/* A number with two decimals: exact enough for 0–255 statistics, short. */
static void
append_number (GString *line, gdouble v)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append (line, g_ascii_formatd (buf, sizeof buf, "%.2f", v));
}

static GString *
manifest_line (guint index, const NpDatasetSource *source, const NpCropStats *stats)
{
  GString *line = g_string_new (NULL);

  g_string_append_printf (line, "{\"index\": %u, \"source\": ", index);
  np_json_append_string (line, source->source);
  g_string_append (line, ", \"subset\": ");
  np_json_append_string (line, source->subset);
  g_string_append_printf (line, ", \"split\": \"%s\", \"face\": ",
                          source->split == NP_SPLIT_VAL ? "val" : "train");
  if (source->face)
    append_box (line, source->face);
  else
    g_string_append (line, "null");
  g_string_append (line, ", \"eyes\": [");
  for (guint i = 0; i < source->n_eyes; i++)
    {
      if (i)
        g_string_append (line, ", ");
      append_box (line, &source->eyes[i]);
    }
  g_string_append (line, "], \"means\": [");
  for (gint c = 0; c < 3; c++)
    {
      if (c)
        g_string_append (line, ", ");
      append_number (line, stats->means[c]);
    }
  g_string_append (line, "], \"brightness\": ");
  append_number (line, stats->brightness);
  g_string_append (line, ", \"colour\": ");
  np_json_append_string (line, stats->colour);
  g_string_append_printf (line, ", \"gray\": %s}\n", stats->is_gray ? "true" : "false");
  return line;
}

/* The checks every appended item passes. */
static gboolean
can_append (NpDatasetWriter *w, GError **error)
{
  if (w->failed)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_IO, "%s: an earlier write failed", w->dir);
      return FALSE;
    }
  if (w->count == NP_DATASET_MAX_COUNT)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "%s: more than %d crops", w->dir,
                   NP_DATASET_MAX_COUNT);
      return FALSE;
    }
  return TRUE;
}

/* The pixels of every stack (in each stack's pixels) and the manifest
 * line, written. */
static gboolean
append (NpDatasetWriter *w, const GString *line, GError **error)
{
  w->failed = TRUE;
  for (guint i = 0; i < w->n_stacks; i++)
    {
      const NpImage *im = w->stacks[i].pixels;
      if (!np_output_write (w->stacks[i].out, im->data, im->stride * im->height, error))
        return FALSE;
    }
  if (!np_output_write (w->manifest, line->str, line->len, error))
    return FALSE;
  w->failed = FALSE;
  w->count++;
  return TRUE;
}

gboolean
np_dataset_writer_add (NpDatasetWriter *w, const NpImage *crop, const NpDatasetSource *source,
                       gint n_threads, NpCropStats *stats_out, GError **error)
{
  g_autoptr(GString) line = NULL;
  NpCropStats stats;

  g_return_val_if_fail (w != NULL && crop != NULL && source != NULL, FALSE);
  g_return_val_if_fail (crop->type == NP_SAMPLE_U8 && (crop->channels == 3 || crop->channels == 4), FALSE);
  g_return_val_if_fail (crop->width == w->width && crop->height == w->height, FALSE);
  g_return_val_if_fail (!w->committed, FALSE);
  g_return_val_if_fail (g_utf8_validate (source->source, -1, NULL)
                        && g_utf8_validate (source->subset, -1, NULL), FALSE);

  if (!can_append (w, error))
    return FALSE;

  /* Every kind first, then the writes: a filter that fails (memory) leaves
   * the files as they were. */
  for (guint i = 0; i < w->n_stacks; i++)
    {
      WriterStack *s = &w->stacks[i];

      if (s->filter == NULL)
        for (gint y = 0; y < crop->height; y++)
          {
            const guint8 *p = np_image_row (crop, y);
            guint8       *q = np_image_row (s->pixels, y);
            for (gint x = 0; x < crop->width; x++, p += crop->channels, q += 3)
              q[0] = p[0], q[1] = p[1], q[2] = p[2];
          }
      else if (!np_filter_apply (s->filter, w->params, crop, s->pixels, n_threads, error))
        return FALSE;
    }
  np_crop_stats (crop, &stats);
  line = manifest_line (w->count, source, &stats);

  if (!append (w, line, error))
    return FALSE;
  if (stats_out)
    *stats_out = stats;
  return TRUE;
}

/* ---- Merging --------------------------------------------------------------- */

/* The value a filter parameter has in this writer's dataset: given, or the
 * filter's default. */
static const char *
param_value (const NpDatasetWriter *w, const NpFilterParam *p)
{
  const char *given = w->params ? g_hash_table_lookup (w->params, p->key) : NULL;
  return given ? given : p->default_value;
}

NpDatasetWriter *
np_dataset_writer_new_like (const char *dir, const NpDataset *like, GError **error)
{
  g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);

  for (const NpFilter *const *f = np_filter_list (); *f; f++)
    {
      GHashTable    *kind = np_dataset_filter_params (like, np_filter_name (*f));
      GHashTableIter iter;
      gpointer       key, value;

      if (kind == NULL)
        continue;
      g_hash_table_iter_init (&iter, kind);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_hash_table_insert (params, key, value);
    }
  return np_dataset_writer_new (dir, np_dataset_width (like), np_dataset_height (like), params, error);
}

/* from holds what this writer writes: its size, its kinds and no other,
 * each filter with this writer's parameters. */
static gboolean
same_kinds (const NpDatasetWriter *w, const NpDataset *from, const char *name, GError **error)
{
  if (np_dataset_width (from) != w->width || np_dataset_height (from) != w->height)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "%s: crops of %d×%d, not %d×%d",
                   name, np_dataset_width (from), np_dataset_height (from), w->width, w->height);
      return FALSE;
    }
  if (np_dataset_n_kinds (from) != w->n_stacks)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "%s: %u kinds of picture, not %u",
                   name, np_dataset_n_kinds (from), w->n_stacks);
      return FALSE;
    }
  for (guint i = 0; i < w->n_stacks; i++)
    {
      const WriterStack   *s = &w->stacks[i];
      GHashTable          *params = np_dataset_filter_params (from, s->kind);
      const NpFilterParam *p = s->filter ? np_filter_params (s->filter) : NULL;

      if (np_dataset_channels (from, s->kind) != s->channels)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "%s: no “%s” of %d channels", name,
                       s->kind, s->channels);
          return FALSE;
        }
      for (gint k = 0; p && p[k].key; k++)
        if (g_strcmp0 (params ? g_hash_table_lookup (params, p[k].key) : NULL, param_value (w, &p[k])) != 0)
          {
            g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                         "%s: “%s” was made with %s = %s, not %s", name, s->kind, p[k].key,
                         params && g_hash_table_lookup (params, p[k].key)
                           ? (const char *) g_hash_table_lookup (params, p[k].key) : "nothing",
                         param_value (w, &p[k]));
            return FALSE;
          }
    }
  return TRUE;
}

static void
read_box (JsonNode *node, NpHaarBox *box)
{
  JsonObject *o = json_node_get_object (node);

  box->x = (gint) json_object_get_int_member (o, "x");
  box->y = (gint) json_object_get_int_member (o, "y");
  box->width = (gint) json_object_get_int_member (o, "w");
  box->height = (gint) json_object_get_int_member (o, "h");
}

gboolean
np_dataset_writer_copy (NpDatasetWriter *w, const NpDataset *from, const char *name, guint index,
                        GError **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GString) line = NULL;
  g_autoptr(GArray) eyes = g_array_new (FALSE, FALSE, sizeof (NpHaarBox));
  JsonObject *o;
  JsonArray  *list;
  NpHaarBox   face;
  NpDatasetSource source;
  NpCropStats stats;
  const char *text;
  gsize       length;

  g_return_val_if_fail (w != NULL && from != NULL && index < np_dataset_size (from), FALSE);
  g_return_val_if_fail (!w->committed, FALSE);

  if (!can_append (w, error) || !same_kinds (w, from, name, error))
    return FALSE;
  /* The reader checked every field of the line. */
  text = np_dataset_item_line (from, index, &length);
  if (!(root = np_json_parse (text, length, error)))
    return FALSE;
  o = json_node_get_object (root);
  source = (NpDatasetSource) {
    np_dataset_item (from, index)->source, np_dataset_item (from, index)->subset, np_dataset_item (from, index)->split,
    NULL, NULL, 0,
  };
  if (np_dataset_item (from, index)->has_face)
    {
      read_box (json_object_get_member (o, "face"), &face);
      source.face = &face;
    }
  list = json_object_get_array_member (o, "eyes");
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      NpHaarBox eye;
      read_box (json_array_get_element (list, i), &eye);
      g_array_append_val (eyes, eye);
    }
  source.eyes = (const NpHaarBox *) (gpointer) eyes->data;
  source.n_eyes = eyes->len;
  list = json_object_get_array_member (o, "means");
  for (guint c = 0; c < 3; c++)
    stats.means[c] = json_array_get_double_element (list, c);
  stats.brightness = json_object_get_double_member (o, "brightness");
  stats.colour = json_object_get_string_member (o, "colour");
  stats.is_gray = np_dataset_item (from, index)->is_gray;

  for (guint i = 0; i < w->n_stacks; i++)
    {
      NpImage *im = w->stacks[i].pixels;
      gsize    row = (gsize) im->width * im->channels;
      const guint8 *p = np_dataset_pixels (from, w->stacks[i].kind, index);

      for (gint y = 0; y < im->height; y++)
        memcpy (np_image_row (im, y), p + y * row, row);
    }
  line = manifest_line (w->count, &source, &stats);
  return append (w, line, error);
}

guint
np_dataset_writer_count (const NpDatasetWriter *w)
{
  return w->count;
}

void
np_dataset_writer_skip (NpDatasetWriter *w, const char *source)
{
  g_ptr_array_add (w->skipped, g_strdup (source));
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static GString *
info_text (const NpDatasetWriter *w)
{
  GString *text = g_string_new (NULL);

  g_string_append_printf (text, "{\n  \"format\": \"%s\",\n  \"version\": %d,\n"
                          "  \"width\": %d,\n  \"height\": %d,\n  \"count\": %u,\n  \"kinds\": {",
                          NP_DATASET_FORMAT, NP_DATASET_VERSION, w->width, w->height, w->count);
  for (guint i = 0; i < w->n_stacks; i++)
    g_string_append_printf (text, "%s\"%s\": %d", i ? ", " : "", w->stacks[i].kind,
                            w->stacks[i].channels);
  /* The parameters each filter read, given or the seed's: the model metadata
   * a model trained on that kind carries. */
  g_string_append (text, "},\n  \"filters\": {");
  for (guint i = 1; i < w->n_stacks; i++)
    {
      const NpFilterParam *p = np_filter_params (w->stacks[i].filter);

      g_string_append_printf (text, "%s\n    \"%s\": {", i > 1 ? "," : "", w->stacks[i].kind);
      for (gint k = 0; p[k].key; k++)
        {
          const char *given = w->params ? g_hash_table_lookup (w->params, p[k].key) : NULL;
          g_string_append_printf (text, "%s\"%s\": ", k ? ", " : "", p[k].key);
          np_json_append_string (text, given ? given : p[k].default_value);
        }
      g_string_append_c (text, '}');
    }
  g_string_append (text, "\n  }");
  /* Only when a photo was skipped: a whole dataset's file is as it was. In
   * byte order, as the input list (a merge adds its parts' in any order). */
  g_ptr_array_sort (w->skipped, compare_names);
  for (guint i = 0; i < w->skipped->len; i++)
    {
      g_string_append (text, i ? ",\n    " : ",\n  \"skipped\": [\n    ");
      np_json_append_string (text, w->skipped->pdata[i]);
    }
  g_string_append (text, w->skipped->len ? "\n  ]\n}\n" : "\n}\n");
  return text;
}

gboolean
np_dataset_writer_commit (NpDatasetWriter *w, GError **error)
{
  g_autofree gchar *info = g_build_filename (w->dir, NP_DATASET_INFO, NULL);
  g_autoptr(GString) text = NULL;

  g_return_val_if_fail (!w->committed, FALSE);
  if (w->failed)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_IO, "%s: an earlier write failed", w->dir);
      return FALSE;
    }
  for (guint i = 0; i < w->n_stacks; i++)
    {
      g_autoptr(GBytes) header = stack_header (w, &w->stacks[i]);
      if (!np_output_write_at (w->stacks[i].out, g_bytes_get_data (header, NULL), HEADER_SIZE, 0, error))
        return FALSE;
    }

  /* An old dataset.json goes first and the new one comes last: in between,
   * the folder is no dataset at all rather than a mix of two. */
  w->failed = TRUE;
  if (g_unlink (info) != 0 && errno != ENOENT)
    {
      int errsv = errno;
      g_set_error (error, NP_ERROR, NP_ERROR_IO, "%s: %s", info, g_strerror (errsv));
      return FALSE;
    }
  for (guint i = 0; i < w->n_stacks; i++)
    if (!np_output_commit (w->stacks[i].out, error))
      return FALSE;
  if (!np_output_commit (w->manifest, error))
    return FALSE;
  text = info_text (w);
  if (!np_output_set_contents (info, text->str, text->len, error))
    return FALSE;
  w->failed = FALSE;
  w->committed = TRUE;
  return np_output_commit (w->folder, error);
}
