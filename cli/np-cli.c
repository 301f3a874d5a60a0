/* neuropaint — helpers shared by the subcommands: option parsing, GEGL set-up,
 * image load/save with clear errors, built-in graphs, the progress bar. */
#define _POSIX_C_SOURCE 200809L

#include "config.h"
#include "np-cli.h"

#include <gegl-plugin.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <unistd.h>

#include "neuropaint.h"

gboolean
np_cli_parse (const char          *command,
              const char          *parameter_string,
              const char          *summary,
              const char          *description,
              const GOptionEntry  *entries,
              int                 *argc,
              char              ***argv,
              gboolean             do_help,
              int                 *exit_code)
{
  g_autofree gchar *prgname = g_strdup_printf ("neuropaint %s", command);
  g_autoptr(GOptionContext) context = g_option_context_new (parameter_string);
  g_autoptr(GError) error = NULL;

  g_set_prgname (prgname);
  g_option_context_set_summary (context, summary);
  if (description)
    g_option_context_set_description (context, description);
  if (entries)
    g_option_context_add_main_entries (context, entries, NULL);

  if (do_help)
    {
      g_autofree gchar *help = g_option_context_get_help (context, TRUE, NULL);
      g_print ("%s", help);
      *exit_code = NP_EXIT_OK;
      return FALSE;
    }

  /* argv[0] is the command name itself, as GOption expects. */
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("neuropaint %s: %s\nTry “neuropaint %s --help”.\n",
                  command, error->message, command);
      *exit_code = NP_EXIT_USAGE;
      return FALSE;
    }
  return TRUE;
}

int
np_cli_fail (const char *command, int exit_code, const char *format, ...)
{
  va_list           args;
  g_autofree gchar *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("neuropaint %s: %s\n", command, message);
  return exit_code;
}

int
np_cli_fail_error (const char *command, GError *error)
{
  int code = np_cli_fail (command, NP_EXIT_FAILED, "%s", error->message);
  g_error_free (error);
  return code;
}

/* The directory of the running binary, to find the build tree's op modules. */
static gchar *
exe_dir (void)
{
  g_autofree gchar *exe = g_file_read_link ("/proc/self/exe", NULL);
  return exe ? g_path_get_dirname (exe) : NULL;
}

gboolean
np_cli_gegl_init (GError **error)
{
  gegl_init (NULL, NULL);

  if (!gegl_has_operation ("neuropaint:gray"))
    {
      /* Uninstalled: build/cli/neuropaint next to build/operations/. */
      g_autofree gchar *dir = exe_dir ();
      g_autofree gchar *ops = dir ? g_build_filename (dir, "..", "operations", NULL) : NULL;

      if (ops && g_file_test (ops, G_FILE_TEST_IS_DIR))
        gegl_load_module_directory (ops);
    }
  if (!gegl_has_operation ("neuropaint:gray"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "the neuropaint GEGL operations are not installed: run "
                   "“meson install”, or set GEGL_PATH to the build's operations/ folder");
      return FALSE;
    }
  return TRUE;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

void
np_cli_sort_strings (GPtrArray *strings)
{
  g_ptr_array_sort (strings, compare_strings);
}

#define NP_GRAPHS_RESOURCE "/org/neuropaint/graphs/"

gchar **
np_cli_graph_names (void)
{
  g_auto(GStrv) files = g_resources_enumerate_children (NP_GRAPHS_RESOURCE, 0, NULL);
  GPtrArray *names = g_ptr_array_new ();

  for (guint i = 0; files && files[i]; i++)
    if (g_str_has_suffix (files[i], ".xml"))
      g_ptr_array_add (names, g_strndup (files[i], strlen (files[i]) - 4));
  np_cli_sort_strings (names);
  g_ptr_array_add (names, NULL);
  return (gchar **) g_ptr_array_free (names, FALSE);
}

gchar *
np_cli_graph_xml (const char *name_or_path, gchar **path_root, GError **error)
{
  g_autofree gchar *resource = g_strconcat (NP_GRAPHS_RESOURCE, name_or_path, ".xml", NULL);
  g_autoptr(GBytes) bytes = g_resources_lookup_data (resource, 0, NULL);
  gchar *xml = NULL;

  if (bytes)
    {
      *path_root = g_get_current_dir ();
      return g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
    }
  if (!g_file_get_contents (name_or_path, &xml, NULL, error))
    return NULL;
  *path_root = g_path_get_dirname (name_or_path);
  return xml;
}

/* GEGL's loaders and savers report failure only as warnings, and the gegl
 * pipeline goes on with an empty buffer: catch the first warning instead. */
typedef struct
{
  GLogFunc  previous;
  gpointer  previous_data;
  gchar    *message;
} NpLogCapture;

static void
capture_log (const gchar   *domain,
             GLogLevelFlags level,
             const gchar   *message,
             gpointer       data)
{
  NpLogCapture *capture = data;

  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    {
      if (capture->message == NULL)
        capture->message = g_strdup (message);
    }
  else
    capture->previous (domain, level, message, capture->previous_data);
}

static void
log_capture_begin (NpLogCapture *capture)
{
  capture->message = NULL;
  capture->previous = g_log_set_default_handler (capture_log, capture);
  capture->previous_data = NULL;
}

/* Returns FALSE, with the captured message as error, if anything was caught. */
static gboolean
log_capture_end (NpLogCapture *capture, const char *what, GError **error)
{
  g_log_set_default_handler (capture->previous, capture->previous_data);
  if (capture->message == NULL)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what, capture->message);
  g_clear_pointer (&capture->message, g_free);
  return FALSE;
}

GeglNode *
np_cli_graph_add (GeglNode *top, const char *xml, const char *path_root,
                  GeglBuffer *input, GeglNode **source, GError **error)
{
  GeglNode    *graph, *load = NULL;
  g_autoptr(GSList) children = NULL;
  NpLogCapture capture;

  /* GEGL turns unknown ops into pass-throughs and skips unknown properties,
   * with a warning each: make those errors. */
  log_capture_begin (&capture);
  graph = gegl_node_new_from_xml (xml, path_root);
  if (!log_capture_end (&capture, "graph", error))
    {
      g_clear_object (&graph);
      return NULL;
    }
  if (graph == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not a GEGL XML graph");
      return NULL;
    }
  gegl_node_add_child (top, graph);
  g_object_unref (graph);
  if (input == NULL)
    return graph;

  children = gegl_node_get_children (graph);
  for (GSList *l = children; l && !load; l = l->next)
    if (g_strcmp0 (gegl_node_get_operation (l->data), "gegl:load") == 0)
      load = l->data;
  if (load == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "the graph has no gegl:load node to read the input");
      return NULL;
    }
  gegl_node_set (load, "operation", "gegl:buffer-source", "buffer", input, NULL);
  if (source)
    *source = load;
  return graph;
}

static GeglBuffer *
load_jpeg (const char *path, const Babl *format, GError **error)
{
  g_autoptr(NpImage) image = np_jpeg_load (path, error);
  const Babl   *rgb = babl_format ("R'G'B' u8");
  GeglRectangle box;
  GeglBuffer   *buffer;

  if (image == NULL)
    return NULL;
  box = (GeglRectangle) { 0, 0, image->width, image->height };
  buffer = gegl_buffer_new (&box, format ? format : rgb);
  gegl_buffer_set (buffer, &box, 0, rgb, image->data, image->stride);
  return buffer;
}

GeglBuffer *
np_cli_load_image (const char *path, const Babl *format, GError **error)
{
  g_autoptr(GeglNode) graph = NULL;
  GeglNode     *load, *sink;
  GeglBuffer   *buffer = NULL;
  GeglRectangle box;
  NpLogCapture  capture;
  gboolean      ok;
  guint8        magic[3] = { 0 };
  FILE         *file;

  file = g_fopen (path, "rb");
  if (file == NULL || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: %s", path,
                   file ? "not a regular file" : "no such file or unreadable");
      if (file)
        fclose (file);
      return NULL;
    }
  if (fread (magic, 1, sizeof magic, file) == 0)
    {
      fclose (file);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: empty file", path);
      return NULL;
    }
  fclose (file);
  if (np_jpeg_sniff (magic, sizeof magic))
    return load_jpeg (path, format, error);

  log_capture_begin (&capture);
  graph = gegl_node_new ();
  load = gegl_node_new_child (graph, "operation", "gegl:load", "path", path, NULL);
  box = gegl_node_get_bounding_box (load);
  if (box.width > 0 && box.height > 0)
    {
      if (format == NULL)
        format = gegl_operation_get_format (gegl_node_get_gegl_operation (load), "output");
      buffer = gegl_buffer_new (&box, format ? format : babl_format ("R'G'B'A float"));
      sink = gegl_node_new_child (graph, "operation", "gegl:write-buffer",
                                  "buffer", buffer, NULL);
      gegl_node_link (load, sink);
      gegl_node_process (sink);
    }
  ok = log_capture_end (&capture, path, error);

  if (ok && buffer == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: not an image GEGL can read, or an empty one", path);
      ok = FALSE;
    }
  if (!ok)
    g_clear_object (&buffer);
  return buffer;
}

GeglNode *
np_cli_chain_add (GeglNode *top, GeglNode *source, char **chain,
                  const char *path_root, GError **error)
{
  GeglNode    *end = gegl_node_new_child (top, "operation", "gegl:nop", NULL);
  GError      *chain_error = NULL;
  NpLogCapture capture;

  /* Out-of-range values are only warned about by GObject, which then keeps
   * the default: make them errors. */
  log_capture_begin (&capture);
  gegl_create_chain_argv (chain, source, end, 0.0, 0, path_root, &chain_error);
  if (!log_capture_end (&capture, "operation chain", error))
    {
      g_clear_error (&chain_error);
      return NULL;
    }
  if (chain_error)
    {
      g_propagate_prefixed_error (error, chain_error, "operation chain: ");
      return NULL;
    }
  return end;
}

gboolean
np_cli_save (GeglNode *output_node, const char *path, GError **error)
{
  return np_cli_save_png_depth (output_node, path, 8, error);
}

gboolean
np_cli_save_png_depth (GeglNode *output_node, const char *path, gint png_bit_depth,
                       GError **error)
{
  g_autofree gchar *dir = g_path_get_dirname (path);
  g_autofree gchar *base = g_path_get_basename (path);
  g_autofree gchar *tmp = g_strdup_printf ("%s/.%s.part-%d%s", dir, base, (int) getpid (),
                                           strrchr (base, '.') ? strrchr (base, '.') : "");
  g_autofree gchar *lower = g_ascii_strdown (path, -1);
  GeglNode     *graph = gegl_node_get_parent (output_node);
  GeglNode     *save;
  GeglRectangle box = gegl_node_get_bounding_box (output_node);
  NpLogCapture  capture;
  GStatBuf      st;
  gboolean      ok;

  if (box.width <= 0 || box.height <= 0 || gegl_rectangle_is_infinite_plane (&box))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: the graph produces no finite image to save", path);
      return FALSE;
    }

  /* PNG is 8-bit unless asked otherwise: what image viewers and the seed used. */
  g_return_val_if_fail (png_bit_depth == 8 || png_bit_depth == 16, FALSE);
  if (g_str_has_suffix (lower, ".png"))
    save = gegl_node_new_child (graph, "operation", "gegl:png-save",
                                "path", tmp, "bitdepth", png_bit_depth, NULL);
  else
    save = gegl_node_new_child (graph, "operation", "gegl:save", "path", tmp, NULL);
  gegl_node_link (output_node, save);

  log_capture_begin (&capture);
  gegl_node_process (save);
  ok = log_capture_end (&capture, path, error);
  gegl_node_remove_child (graph, save);

  if (ok && (g_stat (tmp, &st) != 0 || st.st_size == 0))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s: GEGL wrote nothing (unknown file type or unwritable folder?)", path);
      ok = FALSE;
    }
  if (ok && g_rename (tmp, path) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   "%s: %s", path, g_strerror (errno));
      ok = FALSE;
    }
  if (!ok)
    g_unlink (tmp);
  return ok;
}

struct _NpProgress
{
  gchar   *what;
  gsize    total, done;
  gint64   start;
  gboolean tty;
};

NpProgress *
np_progress_new (const char *what, gsize total)
{
  NpProgress *progress = g_new0 (NpProgress, 1);

  progress->what = g_strdup (what);
  progress->total = total;
  progress->start = g_get_monotonic_time ();
  progress->tty = isatty (STDERR_FILENO);
  return progress;
}

void
np_progress_step (NpProgress *progress, const char *item)
{
  enum { WIDTH = 30 };
  gsize  filled;
  gchar  bar[WIDTH + 1];
  double elapsed, eta;

  progress->done++;
  if (!progress->tty)
    return;

  filled = progress->total ? progress->done * WIDTH / progress->total : WIDTH;
  memset (bar, '#', filled);
  memset (bar + filled, '-', WIDTH - filled);
  bar[WIDTH] = '\0';
  elapsed = (g_get_monotonic_time () - progress->start) / 1e6;
  eta = progress->done ? elapsed * (progress->total - progress->done) / progress->done : 0;
  fprintf (stderr, "\r\033[K%s [%s] %" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT " %.0fs left %s",
           progress->what, bar, progress->done, progress->total, eta, item ? item : "");
  fflush (stderr);
}

void
np_progress_free (NpProgress *progress)
{
  if (progress == NULL)
    return;
  if (progress->tty)
    fprintf (stderr, "\r\033[K");
  g_free (progress->what);
  g_free (progress);
}

static gboolean
is_image_name (const char *name)
{
  static const char *const exts[] = { ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".exr", NULL };
  g_autofree gchar *lower = g_ascii_strdown (name, -1);

  for (int i = 0; exts[i]; i++)
    if (g_str_has_suffix (lower, exts[i]))
      return TRUE;
  return FALSE;
}

/* Files as given, folders expanded to their images in name order. */
GPtrArray *
np_cli_collect_inputs (char **inputs, GError **error)
{
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);

  for (int i = 0; inputs && inputs[i]; i++)
    {
      if (g_file_test (inputs[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr(GDir) dir = g_dir_open (inputs[i], 0, error);
          GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
          const char *name;

          if (dir == NULL)
            {
              g_ptr_array_unref (names);
              g_ptr_array_unref (files);
              return NULL;
            }
          while ((name = g_dir_read_name (dir)))
            if (is_image_name (name))
              g_ptr_array_add (names, g_build_filename (inputs[i], name, NULL));
          np_cli_sort_strings (names);
          g_ptr_array_extend_and_steal (files, names);
        }
      else
        g_ptr_array_add (files, g_strdup (inputs[i]));
    }
  return files;
}

gboolean
np_cli_parse_size (const char *text, gint *width, gint *height)
{
  char end;

  return sscanf (text, "%dx%d%c", width, height, &end) == 2
         && *width >= 1 && *height >= 1 && *width <= 8192 && *height <= 8192;
}
