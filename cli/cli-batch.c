/* neuropaint — batches: the input list (files, folders, --files-from), its
 * shard for this process, output names and their clash checks, and the loop
 * over the inputs that reports a bad one and goes on. */
#define _POSIX_C_SOURCE 200809L

#include "config.h"
#include "cli.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <sys/stat.h>

/* The names a folder's images have (any case); other files are left out. */
static const char *const image_exts[] = { ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".exr", NULL };

static gboolean
is_image_name (const char *name)
{
  g_autofree gchar *lower = g_ascii_strdown (name, -1);

  for (int i = 0; image_exts[i]; i++)
    if (g_str_has_suffix (lower, image_exts[i]))
      return TRUE;
  return FALSE;
}

/* "device:inode" of an existing file, or NULL. */
static gchar *
file_id (const char *path)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    return NULL;
  return g_strdup_printf ("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT,
                          (guint64) st.st_dev, (guint64) st.st_ino);
}

struct _CliInputIndex
{
  GPtrArray  *inputs;   /* borrowed */
  GHashTable *ids;      /* file_id → input; made at the first lookup that needs it */
};

CliInputIndex *
cli_inputs_index_new (GPtrArray *inputs)
{
  CliInputIndex *index = g_new0 (CliInputIndex, 1);

  index->inputs = inputs;
  return index;
}

void
cli_inputs_index_free (CliInputIndex *index)
{
  if (index == NULL)
    return;
  g_clear_pointer (&index->ids, g_hash_table_unref);
  g_free (index);
}

const char *
cli_inputs_find (CliInputIndex *index, const char *path)
{
  g_autofree gchar *id = file_id (path);

  /* A path that does not exist is no input: the inputs are not looked at. */
  if (id == NULL)
    return NULL;
  if (index->ids == NULL)
    {
      index->ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      for (guint i = 0; i < index->inputs->len; i++)
        {
          gchar *input_id = file_id (index->inputs->pdata[i]);
          if (input_id && !g_hash_table_contains (index->ids, input_id))
            g_hash_table_insert (index->ids, input_id, index->inputs->pdata[i]);
          else
            g_free (input_id);
        }
    }
  return g_hash_table_lookup (index->ids, id);
}

/* Files as given, folders expanded to their images in name order. Only the
 * folders given are looked at (a name with an image extension is taken for
 * a file, unread): every process of a batch makes this list, and a task
 * that owns a few of a million photos must not stat them all. For the same
 * reason a file given twice is recognised by its absolute, normalised name
 * (a.jpg and ./a.jpg, a photo and its folder), not by its inode. */
GPtrArray *
cli_collect_inputs (char **inputs, GError **error)
{
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree gchar *cwd = g_get_current_dir ();

  for (int i = 0; inputs && inputs[i]; i++)
    {
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

      if (!is_image_name (inputs[i]) && g_file_test (inputs[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr(GDir) dir = g_dir_open (inputs[i], 0, error);
          const char *name;

          if (dir == NULL)
            {
              g_ptr_array_unref (files);
              return NULL;
            }
          while ((name = g_dir_read_name (dir)))
            if (is_image_name (name))
              g_ptr_array_add (names, g_build_filename (inputs[i], name, NULL));
          cli_sort_strings (names);
        }
      else
        g_ptr_array_add (names, g_strdup (inputs[i]));
      /* The same file twice would only be done twice into the same output. */
      for (guint k = 0; k < names->len; k++)
        {
          gchar *absolute = g_canonicalize_filename (names->pdata[k], cwd);

          if (g_hash_table_contains (seen, absolute))
            {
              g_free (absolute);
              continue;
            }
          g_hash_table_add (seen, absolute);
          g_ptr_array_add (files, g_steal_pointer (&names->pdata[k]));
        }
    }
  return files;
}

/* The most shards a batch may have: far more than any cluster's array. */
#define MAX_SHARDS 1000000

/* An unsigned decimal number of the whole text, at most max. */
static gboolean
parse_count (const char *text, guint64 max, guint64 *value)
{
  return text && g_ascii_isdigit (*text) && g_ascii_string_to_unsigned (text, 10, 0, max, value, NULL);
}

/* A shard from environment variables, or FALSE with *bad naming the
 * variable at fault (NULL: none set). */
static gboolean
shard_from_environment (CliShard *shard, const char **bad)
{
  const char *id = g_getenv ("SLURM_ARRAY_TASK_ID"), *k8s = g_getenv ("JOB_COMPLETION_INDEX");
  guint64     task, min, step = 1, count, max, index;

  *bad = NULL;
  if (id)
    {
      /* Slurm numbers an array's tasks MIN, MIN + STEP, …, MAX; a list such
       * as 1,5,7 has no step that names them all. */
      const char *step_text = g_getenv ("SLURM_ARRAY_TASK_STEP");
      if (!parse_count (id, G_MAXUINT32, &task))
        *bad = "SLURM_ARRAY_TASK_ID";
      else if (!parse_count (g_getenv ("SLURM_ARRAY_TASK_MIN"), task, &min))
        *bad = "SLURM_ARRAY_TASK_MIN";
      else if (step_text && (!parse_count (step_text, G_MAXUINT32, &step) || step == 0))
        *bad = "SLURM_ARRAY_TASK_STEP";
      else if (!parse_count (g_getenv ("SLURM_ARRAY_TASK_COUNT"), MAX_SHARDS, &count) || count == 0)
        *bad = "SLURM_ARRAY_TASK_COUNT";
      else if ((task - min) % step || (task - min) / step >= count
               || (g_getenv ("SLURM_ARRAY_TASK_MAX")
                   && (!parse_count (g_getenv ("SLURM_ARRAY_TASK_MAX"), G_MAXUINT32, &max)
                       || max != min + (count - 1) * step)))
        *bad = "SLURM_ARRAY_TASK_ID";
      if (*bad)
        return FALSE;
      *shard = (CliShard) { (guint) ((task - min) / step), (guint) count, "SLURM_ARRAY_TASK_ID" };
      return TRUE;
    }
  if (k8s)
    {
      /* An indexed job says which index, not how many: the job's
       * completions, given again in NEUROPAINT_SHARDS. */
      if (!parse_count (g_getenv ("NEUROPAINT_SHARDS"), MAX_SHARDS, &count) || count == 0)
        *bad = "NEUROPAINT_SHARDS";
      else if (!parse_count (k8s, count - 1, &index))
        *bad = "JOB_COMPLETION_INDEX";
      if (*bad)
        return FALSE;
      *shard = (CliShard) { (guint) index, (guint) count, "JOB_COMPLETION_INDEX" };
      return TRUE;
    }
  *shard = (CliShard) { 0, 1, NULL };
  return TRUE;
}

/* This process's shard: --shard I/N; else, in a Slurm job array,
 * ((SLURM_ARRAY_TASK_ID − _MIN) / _STEP) of SLURM_ARRAY_TASK_COUNT; else,
 * in a Kubernetes indexed job, JOB_COMPLETION_INDEX of NEUROPAINT_SHARDS;
 * else 0 of 1. Prints a usage message and returns FALSE for a malformed
 * value or an array that is no even range. */
static gboolean
shard_resolve (const char *command, const char *option, CliShard *shard, int *exit_code)
{
  const char *slash = option ? strchr (option, '/') : NULL;
  const char *bad;
  guint64     index, count;

  if (option)
    {
      g_autofree gchar *first = slash ? g_strndup (option, slash - option) : NULL;
      if (slash == NULL || !parse_count (slash + 1, MAX_SHARDS, &count) || count == 0
          || !parse_count (first, count - 1, &index))
        {
          *exit_code = cli_fail (command, CLI_EXIT_USAGE, "--shard: I/N with 0 ≤ I < N ≤ %d, not “%s”",
                                    MAX_SHARDS, option);
          return FALSE;
        }
      *shard = (CliShard) { (guint) index, (guint) count, "--shard" };
      return TRUE;
    }
  if (!shard_from_environment (shard, &bad))
    {
      const char *value = g_getenv (bad);
      *exit_code = cli_fail (command, CLI_EXIT_USAGE,
                                "%s=%s: no shard of the batch follows from it (%s); give --shard I/N",
                                bad, value ? value : "(unset)",
                                g_str_has_prefix (bad, "SLURM")
                                  ? "a job array of tasks MIN, MIN + STEP, …, MAX is one shard each"
                                  : "set NEUROPAINT_SHARDS to the indexed job's completions");
      return FALSE;
    }
  return TRUE;
}

/* The lines of --files-from (a file, or standard input for "-"). */
static gboolean
read_file_list (const char *path, GPtrArray *into, GError **error)
{
  g_autofree gchar *text = NULL;
  g_auto(GStrv) lines = NULL;
  gsize length;

  if (strcmp (path, "-") == 0)
    {
      GString *in = g_string_new (NULL);
      gchar    buf[65536];
      gsize    n;

      while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
        g_string_append_len (in, buf, n);
      if (ferror (stdin))
        {
          g_string_free (in, TRUE);
          g_set_error (error, NP_ERROR, NP_ERROR_IO, "standard input: %s", g_strerror (errno));
          return FALSE;
        }
      length = in->len;
      text = g_string_free (in, FALSE);
    }
  else if (!g_file_get_contents (path, &text, &length, error))
    return FALSE;
  if (strlen (text) != length)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "%s: a NUL byte: one path a line, please",
                   strcmp (path, "-") == 0 ? "standard input" : path);
      return FALSE;
    }
  lines = g_strsplit (text, "\n", -1);
  for (gint i = 0; lines[i]; i++)
    {
      gsize n = strlen (lines[i]);
      if (n && lines[i][n - 1] == '\r')   /* a CRLF file */
        lines[i][n - 1] = '\0';
      if (*lines[i])
        g_ptr_array_add (into, g_strdup (lines[i]));
    }
  return TRUE;
}

gboolean
cli_batch_inputs (const char *command, const CliBatch *batch, char **args, GPtrArray **all,
                     GPtrArray **mine, CliShard *shard, int *exit_code)
{
  g_autoptr(GPtrArray) given = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;

  if (!shard_resolve (command, batch->shard, shard, exit_code))
    return FALSE;
  for (gint i = 0; args && args[i]; i++)
    g_ptr_array_add (given, g_strdup (args[i]));
  if (batch->files_from && !read_file_list (batch->files_from, given, &error))
    {
      *exit_code = cli_fail (command, CLI_EXIT_FAILED, "--files-from: %s", error->message);
      return FALSE;
    }
  if (given->len == 0)
    {
      *exit_code = cli_fail (command, CLI_EXIT_USAGE, "no input images given");
      return FALSE;
    }
  g_ptr_array_add (given, NULL);
  if (!(*all = cli_collect_inputs ((char **) given->pdata, &error)))
    {
      *exit_code = cli_fail (command, CLI_EXIT_FAILED, "%s", error->message);
      return FALSE;
    }
  if ((*all)->len == 0)
    {
      g_autofree gchar *exts = g_strjoinv (" ", (gchar **) image_exts);

      g_clear_pointer (all, g_ptr_array_unref);
      *exit_code = cli_fail (command, CLI_EXIT_USAGE, "no images found in the inputs (a folder's "
                                "images are its files named %s; others, such as .bmp and .gif, are "
                                "not read)", exts);
      return FALSE;
    }
  /* Every process of a batch must see one list, whatever order the
   * arguments, the file or the folders gave. */
  cli_sort_strings (*all);
  *mine = g_ptr_array_new ();
  for (guint k = shard->index; k < (*all)->len; k += shard->count)
    g_ptr_array_add (*mine, (*all)->pdata[k]);
  if (shard->count > 1)
    g_printerr ("neuropaint %s: shard %u of %u (%s): %u of %u inputs\n", command, shard->index, shard->count,
                shard->from, (*mine)->len, (*all)->len);
  return TRUE;
}

NpOutput *
cli_batch_folder (const CliShard *shard, const char *path, GError **error)
{
  g_autoptr(NpOutput) folder = np_output_new_folder (path, error);

  if (folder && shard->count > 1 && !np_output_commit (folder, error))
    return NULL;
  return g_steal_pointer (&folder);
}

void
cli_split_ext (const char *name, gchar **stem, const char **ext)
{
  const char *dot = strrchr (name, '.');

  /* A leading dot is a hidden name, not an extension. */
  if (dot == NULL || dot == name)
    dot = name + strlen (name);
  *stem = g_strndup (name, dot - name);
  *ext = dot;
}

gchar *
cli_shard_path (const CliShard *shard, const char *path)
{
  g_autofree gchar *dir = g_path_get_dirname (path), *base = g_path_get_basename (path), *stem = NULL;
  g_autofree gchar *name = NULL;
  const char *ext;

  if (shard->count <= 1)
    return g_strdup (path);
  cli_split_ext (base, &stem, &ext);
  name = g_strdup_printf ("%s.part-%u-of-%u%s", stem, shard->index, shard->count, ext);
  return strchr (path, '/') ? g_build_filename (dir, name, NULL) : g_steal_pointer (&name);
}

static gchar *
stem_of (const char *path)
{
  gchar      *base = g_path_get_basename (path);
  const char *dot = strrchr (base, '.');

  if (dot && dot != base)
    base[dot - base] = '\0';
  return base;
}

GPtrArray *
cli_output_stems (GPtrArray *inputs)
{
  GPtrArray *stems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < inputs->len; i++)
    {
      gchar *stem = stem_of (inputs->pdata[i]);
      g_hash_table_insert (counts, g_strdup (stem),
                           GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (counts, stem)) + 1));
      g_ptr_array_add (stems, stem);
    }
  for (guint i = 0; i < inputs->len; i++)
    if (GPOINTER_TO_UINT (g_hash_table_lookup (counts, stems->pdata[i])) > 1)
      {
        g_free (stems->pdata[i]);
        stems->pdata[i] = g_path_get_basename (inputs->pdata[i]);
      }
  return stems;
}

/* An output's identity: its folder's device and inode and its name, or its
 * canonical path while the folder does not exist yet. Each folder is looked
 * at once (folders: its name → its identity or "", for every output). */
static gchar *
output_id (const char *path, GHashTable *folders, const char *cwd)
{
  g_autofree gchar *dir = g_path_get_dirname (path);
  g_autofree gchar *base = g_path_get_basename (path);
  const char *id = g_hash_table_lookup (folders, dir);

  if (id == NULL)
    {
      gchar *found = file_id (dir);
      id = found ? found : g_strdup ("");
      g_hash_table_insert (folders, g_strdup (dir), (gpointer) id);
    }
  return *id ? g_strconcat (id, "/", base, NULL) : g_canonicalize_filename (path, cwd);
}

gboolean
cli_check_outputs (const char *command, GPtrArray *inputs, GPtrArray *outputs,
                      GPtrArray *sources, GPtrArray *writes, int *exit_code)
{
  g_autoptr(CliInputIndex) index = cli_inputs_index_new (inputs);
  g_autoptr(GHashTable) written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) to_write = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree gchar *cwd = g_get_current_dir ();

  for (guint i = 0; writes && i < writes->len; i++)
    g_hash_table_add (to_write, writes->pdata[i]);
  for (guint i = 0; i < outputs->len; i++)
    {
      const char *output = outputs->pdata[i];
      const char *source = sources ? sources->pdata[i] : NULL;
      const char *input = writes == NULL || g_hash_table_contains (to_write, output)
                            ? cli_inputs_find (index, output) : NULL;
      gchar      *id = output_id (output, folders, cwd);
      gpointer    other;

      if (input)
        {
          g_free (id);
          *exit_code = cli_fail (command, CLI_EXIT_USAGE,
                                    "%s would overwrite the input %s; nothing was done: write the "
                                    "results to another folder (-o)", output, input);
          return FALSE;
        }
      if (g_hash_table_lookup_extended (written, id, NULL, &other))
        {
          const char *first = other;
          g_free (id);
          if (first && source)
            *exit_code = cli_fail (command, CLI_EXIT_USAGE,
                                      "%s and %s would both be written to %s; nothing was done: "
                                      "rename one, or run them separately", first, source, output);
          else
            *exit_code = cli_fail (command, CLI_EXIT_USAGE,
                                      "two outputs would be written to %s; nothing was done: "
                                      "give them different names", output);
          return FALSE;
        }
      g_hash_table_insert (written, id, (gpointer) source);
    }
  return TRUE;
}

int
cli_each_input (const char *command, const char *progress_label, GPtrArray *files,
                   CliEachFunc func, gpointer data, GPtrArray *failed_files)
{
  CliProgress *progress = progress_label ? cli_progress_new (progress_label, files->len) : NULL;
  guint       failed = 0;
  gboolean    stop = FALSE;

  for (guint i = 0; i < files->len && !stop; i++)
    {
      const char *file = files->pdata[i];
      g_autofree gchar *base = g_path_get_basename (file);
      g_autoptr(GError) error = NULL;

      if (!func (file, data, &stop, &error))
        {
          failed++;
          if (failed_files)
            g_ptr_array_add (failed_files, (gpointer) file);
          if (progress)
            cli_progress_clear (progress);
          /* One message naming the file, whatever part failed. */
          if (g_str_has_prefix (error->message, file))
            g_printerr ("neuropaint %s: %s\n", command, error->message);
          else
            g_printerr ("neuropaint %s: %s: %s\n", command, file, error->message);
        }
      if (progress)
        cli_progress_step (progress, base);
    }
  cli_progress_free (progress);
  if (stop)
    return CLI_EXIT_FAILED;
  if (failed > 0 && files->len > 1)
    return cli_fail (command, CLI_EXIT_FAILED, "%u of %u inputs failed", failed, files->len);
  if (failed)
    return CLI_EXIT_FAILED;
  return CLI_EXIT_OK;
}
