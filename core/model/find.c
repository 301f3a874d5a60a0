/* neuropaint — models by name (np-model.h).
 *
 * "Uninstalled" is decided by where the running code lives, not by an
 * environment variable: the command's executable, or the shared object that
 * holds this function (an op module the gegl command or GIMP loaded), lies
 * under the build root meson configured. An installed copy of the same
 * module lies elsewhere and never looks in the source tree. */
#define _GNU_SOURCE   /* dladdr */

#include "config.h"
#include "np-model.h"
#include "util/np-file.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define NP_MODEL_EXT ".safetensors"
#define NP_CARD_EXT  ".md"

NpModelUse
np_model_intended_use (GHashTable *metadata)
{
  const char *filter = g_hash_table_lookup (metadata, "input_filter");
  const char *arch = g_hash_table_lookup (metadata, "architecture");

  if (g_strcmp0 (filter, "noise") == 0)
    return NP_MODEL_USE_NOISE;
  if (g_strcmp0 (arch, "sr") == 0 || g_strcmp0 (arch, "edsr") == 0
      || np_model_target_from_name (g_hash_table_lookup (metadata, "target")) == NP_MODEL_TARGET_RESIDUAL)
    return NP_MODEL_USE_SUPER_RESOLUTION;
  if (g_strcmp0 (filter, "gray") == 0)
    return NP_MODEL_USE_COLORIZE;
  return NP_MODEL_USE_IMAGE;
}

/* Whether path (made absolute and free of links) lies inside dir. */
static gboolean
lies_under (const char *path, const char *dir)
{
  g_autofree gchar *real_path = path ? realpath (path, NULL) : NULL;
  g_autofree gchar *real_dir = realpath (dir, NULL);
  gsize             n = real_dir ? strlen (real_dir) : 0;

  return real_path && real_dir && strncmp (real_path, real_dir, n) == 0 && real_path[n] == '/';
}

static gboolean
running_uninstalled (void)
{
  g_autofree gchar *exe = g_file_read_link ("/proc/self/exe", NULL);
  Dl_info           info;

  if (lies_under (exe, NP_BUILD_ROOT))
    return TRUE;
  return dladdr ((void *) running_uninstalled, &info) && info.dli_fname
         && lies_under (info.dli_fname, NP_BUILD_ROOT);
}

gchar **
np_model_dirs (void)
{
  GPtrArray *dirs = g_ptr_array_new ();

  if (running_uninstalled ())
    g_ptr_array_add (dirs, g_build_filename (NP_SOURCE_ROOT, "models", NULL));
  g_ptr_array_add (dirs, g_build_filename (g_get_user_data_dir (), "neuropaint", "models", NULL));
  g_ptr_array_add (dirs, g_strdup (NP_MODELS_DIR));
  g_ptr_array_add (dirs, NULL);
  return (gchar **) g_ptr_array_free (dirs, FALSE);
}

static gboolean
is_path (const char *value)
{
  return strchr (value, G_DIR_SEPARATOR) != NULL || g_str_has_suffix (value, NP_MODEL_EXT);
}

static void
entry_free (gpointer data)
{
  NpModelEntry *e = data;

  g_free (e->name);
  g_free (e->path);
  g_free (e->card);
  g_free (e);
}

static gint
compare_entries (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(NpModelEntry *const *) a)->name, (*(NpModelEntry *const *) b)->name);
}

GPtrArray *
np_model_list (void)
{
  g_auto(GStrv)         dirs = np_model_dirs ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray            *models = g_ptr_array_new_with_free_func (entry_free);

  for (gint i = 0; dirs[i]; i++)
    {
      g_autoptr(GDir) dir = g_dir_open (dirs[i], 0, NULL);
      const char     *file;

      while (dir && (file = g_dir_read_name (dir)))
        {
          NpModelEntry     *e;
          g_autofree gchar *card = NULL;

          if (!g_str_has_suffix (file, NP_MODEL_EXT) || strlen (file) == strlen (NP_MODEL_EXT))
            continue;
          e = g_new0 (NpModelEntry, 1);
          e->name = g_strndup (file, strlen (file) - strlen (NP_MODEL_EXT));
          if (g_hash_table_contains (seen, e->name))
            {
              entry_free (e);
              continue;
            }
          e->path = g_build_filename (dirs[i], file, NULL);
          card = g_strconcat (e->name, NP_CARD_EXT, NULL);
          e->card = g_build_filename (dirs[i], card, NULL);
          if (!g_file_test (e->card, G_FILE_TEST_IS_REGULAR))
            g_clear_pointer (&e->card, g_free);
          g_hash_table_add (seen, e->name);
          g_ptr_array_add (models, e);
        }
    }
  g_ptr_array_sort (models, compare_entries);
  return models;
}

GPtrArray *
np_model_list_for (NpModelUse use)
{
  GPtrArray *models = np_model_list ();

  for (guint i = models->len; i-- > 0;)
    {
      NpModelEntry          *e = models->pdata[i];
      g_autoptr(GHashTable)  metadata = np_safetensors_read_metadata (e->path, NULL);

      if (metadata == NULL || np_model_intended_use (metadata) != use)
        g_ptr_array_remove_index (models, i);
    }
  return models;
}

gchar *
np_model_resolve (const char *name_or_path, GError **error)
{
  g_auto(GStrv)        dirs = NULL;
  g_autoptr(GPtrArray) models = NULL;
  g_autofree gchar    *file = NULL, *searched = NULL;
  g_autoptr(GString)   known = g_string_new (NULL);

  if (name_or_path == NULL || *name_or_path == '\0')
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "no model file given (property “model”)");
      return NULL;
    }
  if (is_path (name_or_path))
    return g_strdup (name_or_path);

  dirs = np_model_dirs ();
  file = g_strconcat (name_or_path, NP_MODEL_EXT, NULL);
  for (gint i = 0; dirs[i]; i++)
    {
      gchar *path = g_build_filename (dirs[i], file, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return path;
      g_free (path);
    }

  models = np_model_list ();
  for (guint i = 0; i < models->len; i++)
    g_string_append_printf (known, "%s%s", i ? ", " : "", ((NpModelEntry *) models->pdata[i])->name);
  searched = g_strjoinv (", ", dirs);
  g_set_error (error, NP_ERROR, NP_ERROR_IO,
               "no model named “%s” (looked for %s in %s; %s%s)", name_or_path, file, searched,
               known->len ? "models there: " : "there are no models there: see models/README.md",
               known->str);
  return NULL;
}

gchar *
np_model_card_summary (const char *card_path)
{
  g_autoptr(GBytes) bytes = np_file_read (card_path, 1 << 20, NULL);
  g_autofree gchar *text = NULL;
  g_auto(GStrv)     lines = NULL;

  if (bytes == NULL)
    return NULL;
  text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  lines = g_strsplit (text, "\n", -1);
  for (gint i = 0; lines[i]; i++)
    {
      gchar *line = g_strstrip (lines[i]);
      while (*line == '#')
        line++;
      line = g_strstrip (line);
      if (*line)
        return g_utf8_make_valid (line, -1);
    }
  return g_strdup ("");
}
