/* neuropaint — helpers shared by the subcommands: option parsing, GEGL set-up,
 * image load/save with clear errors, built-in graphs, the progress bar. */
#define _POSIX_C_SOURCE 200809L

#include "config.h"
#include "np-cli.h"

#include <gegl-plugin.h>

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "neuropaint.h"
#include "np-op-host.h"

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
  if (np_cli_max_pixels < 1)
    {
      *exit_code = np_cli_fail (command, NP_EXIT_USAGE, "--max-pixels must be at least 1, not %" G_GINT64_FORMAT,
                                np_cli_max_pixels);
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

/* The first error writing standard output (0: none), and whether a message
 * said so already. */
static int      stdout_errno;
static gboolean stdout_reported;

static void
print_checked (const gchar *string)
{
  if ((fputs (string, stdout) == EOF || fflush (stdout) != 0) && stdout_errno == 0)
    stdout_errno = errno;
}

void
np_cli_std_fds_open (void)
{
  for (int fd = 0; fd <= 2; fd++)
    if (fcntl (fd, F_GETFD) < 0 && errno == EBADF)
      {
        int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0)
          null = open ("/", O_RDONLY | O_CLOEXEC);
        /* The lowest free descriptor: fd itself, lower ones are open. */
        g_warn_if_fail (null == fd || null < 0);
      }
  g_set_print_handler (print_checked);
}

gboolean
np_cli_stdout_flush (GError **error)
{
  if (fflush (stdout) != 0 && stdout_errno == 0)
    stdout_errno = errno;
  if (ferror (stdout) && stdout_errno == 0)
    stdout_errno = EIO;
  if (stdout_errno == 0)
    return TRUE;
  stdout_reported = TRUE;
  g_set_error (error, NP_ERROR, NP_ERROR_IO, "standard output: %s", g_strerror (stdout_errno));
  return FALSE;
}

int
np_cli_stdout_close (const char *command, int exit_code)
{
  gboolean told = stdout_reported;

  if (np_cli_stdout_flush (NULL) && fclose (stdout) != 0)
    stdout_errno = errno;
  if (stdout_errno == 0)
    return exit_code;
  if (!told)
    g_printerr ("neuropaint%s%s: standard output: %s\n", command ? " " : "", command ? command : "",
                g_strerror (stdout_errno));
  return exit_code == NP_EXIT_OK ? NP_EXIT_FAILED : exit_code;
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
  /* GEGL_PATH replaces GEGL's own folder: a path naming only ours leaves no
   * gegl:load or gegl:buffer-source, and graphs would render nothing. */
  if (!gegl_has_operation ("gegl:buffer-source"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "GEGL's own operations are not found: GEGL_PATH replaces GEGL's folder, so list it too "
                   "(GEGL_PATH=%s:$(pkg-config --variable=pluginsdir gegl-0.4))",
                   g_getenv ("GEGL_PATH") ? g_getenv ("GEGL_PATH") : "");
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

static gboolean
check_xml (const char *xml, GError **error)
{
  static const GMarkupParser nothing = { NULL };
  g_autoptr(GMarkupParseContext) context = g_markup_parse_context_new (&nothing, 0, NULL, NULL);

  if (g_markup_parse_context_parse (context, xml, -1, error)
      && g_markup_parse_context_end_parse (context, error))
    return TRUE;
  g_prefix_error (error, "not well-formed XML: ");
  return FALSE;
}

/* ---- How many ops a graph or chain may have (issue 21, item 17) ---------- */

/* GEGL's time to set up a graph grows faster than the square of its nodes
 * (1,000 take a second, 4,000 forty, 200,000 never end): far more than any
 * pipeline needs, and refused before GEGL sees them. */
#define MAX_NODES 1000

static void
count_node (GMarkupParseContext *context, const gchar *element, const gchar **names,
            const gchar **values, gpointer data, GError **error)
{
  if (g_str_equal (element, "node") && ++*(guint *) data > MAX_NODES)
    g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT, "stop");
}

static gboolean
check_graph_nodes (const char *xml, GError **error)
{
  static const GMarkupParser counter = { count_node };
  guint nodes = 0;
  g_autoptr(GMarkupParseContext) context = g_markup_parse_context_new (&counter, 0, &nodes, NULL);

  /* Well-formed already (check_xml): an error here is the count's. */
  if (g_markup_parse_context_parse (context, xml, -1, NULL) && nodes <= MAX_NODES)
    return TRUE;
  g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
               "more than %d nodes: too many for GEGL, whose time grows faster than their square", MAX_NODES);
  return FALSE;
}

gboolean
np_cli_check_chain_nodes (char **chain, GError **error)
{
  guint nodes = 0;

  for (gint i = 0; chain[i]; i++)
    if (!strchr (chain[i], '=') && !g_str_equal (chain[i], "]") && !g_str_equal (chain[i], "["))
      nodes++;
  if (nodes <= MAX_NODES)
    return TRUE;
  g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
               "operation chain: %u ops, more than %d: too many for GEGL, whose time grows faster than "
               "their square", nodes, MAX_NODES);
  return FALSE;
}

gchar *
np_cli_graph_xml (const char *name_or_path, gchar **path_root, GError **error)
{
  g_autofree gchar *resource = g_strconcat (NP_GRAPHS_RESOURCE, name_or_path, ".xml", NULL);
  g_autoptr(GBytes) bytes = g_resources_lookup_data (resource, 0, NULL);
  g_autoptr(GBytes) file = NULL;
  gchar *xml;

  if (bytes)
    {
      *path_root = g_get_current_dir ();
      return g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
    }
  /* A graph is a few kilobytes; a FIFO or a folder is refused, not waited on. */
  if (!(file = np_file_read (name_or_path, 16 << 20, error)))
    return NULL;
  xml = g_strndup (g_bytes_get_data (file, NULL), g_bytes_get_size (file));
  if (!check_xml (xml, error) || !check_graph_nodes (xml, error))
    {
      g_prefix_error (error, "%s: ", name_or_path);
      g_free (xml);
      return NULL;
    }
  *path_root = g_path_get_dirname (name_or_path);
  return xml;
}

/* GEGL's loaders and savers report failure only as warnings or lines on
 * stderr (png-save's write errors), and the gegl pipeline goes on with an
 * empty buffer: catch the first message instead. Libraries that write to
 * the stderr descriptor themselves (libpng's "libpng error:" after GEGL's
 * own report) are muted meanwhile, so a bad file gets one message. One
 * capture at a time. */
typedef struct
{
  GLogFunc    previous;
  gpointer    previous_data;
  GPrintFunc  previous_printerr;
  gint        saved_stderr;
  gchar      *message;
  GPtrArray  *notices;   /* of ops that did their work another way (np-op-host.h) */
  const char *hidden;    /* a temporary file's name, shown as... */
  const char *shown;     /* ...the final one */
} NpLogCapture;

static NpLogCapture *capturing;

static void
capture_message (NpLogCapture *capture, const gchar *message)
{
  if (capture->message == NULL)
    capture->message = g_strchomp (g_strdup (message));
}

static void
capture_log (const gchar   *domain,
             GLogLevelFlags level,
             const gchar   *message,
             gpointer       data)
{
  NpLogCapture *capture = data;

  /* Our ops report a failure as a message in GEGL's domain, naming the op
   * (np_op_fail), and a notice as one starting NP_OP_NOTICE, shown once the
   * capture ends; GEGL's own messages stay messages. */
  if ((level & G_LOG_LEVEL_MESSAGE) && g_strcmp0 (domain, "GEGL") == 0
      && g_str_has_prefix (message, NP_OP_NOTICE))
    g_ptr_array_add (capture->notices, g_strdup (message + strlen (NP_OP_NOTICE)));
  else if ((level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
      || ((level & G_LOG_LEVEL_MESSAGE) && g_strcmp0 (domain, "GEGL") == 0
          && g_str_has_prefix (message, "neuropaint:")))
    capture_message (capture, message);
  else
    capture->previous (domain, level, message, capture->previous_data);
}

static void
capture_printerr (const gchar *message)
{
  capture_message (capturing, message);
}

static void
log_capture_begin (NpLogCapture *capture, const char *hidden, const char *shown)
{
  *capture = (NpLogCapture) { .hidden = hidden, .shown = shown,
                              .notices = g_ptr_array_new_with_free_func (g_free) };
  capture->previous = g_log_set_default_handler (capture_log, capture);
  capturing = capture;
  capture->previous_printerr = g_set_printerr_handler (capture_printerr);
  fflush (stderr);
  capture->saved_stderr = dup (STDERR_FILENO);
  if (capture->saved_stderr >= 0)
    {
      gint null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
      if (null >= 0)
        dup2 (null, STDERR_FILENO), close (null);
    }
}

/* Returns FALSE, with the captured message as error, if anything was caught. */
static gboolean
log_capture_end (NpLogCapture *capture, const char *what, GError **error)
{
  g_autoptr(GString) message = NULL;

  if (capture->saved_stderr >= 0)
    {
      fflush (stderr);
      dup2 (capture->saved_stderr, STDERR_FILENO);
      close (capture->saved_stderr);
    }
  g_log_set_default_handler (capture->previous, capture->previous_data);
  g_set_printerr_handler (capture->previous_printerr);
  capturing = NULL;
  /* A notice is a warning about a result, unless there is no result. */
  for (guint i = 0; capture->message == NULL && i < capture->notices->len; i++)
    g_printerr ("%s: warning: %s: %s\n", g_get_prgname (), what, (char *) capture->notices->pdata[i]);
  g_clear_pointer (&capture->notices, g_ptr_array_unref);
  if (capture->message == NULL)
    return TRUE;
  message = g_string_new (capture->message);
  if (capture->hidden)
    g_string_replace (message, capture->hidden, capture->shown, 0);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what, message->str);
  g_clear_pointer (&capture->message, g_free);
  return FALSE;
}

/* Digits with an optional minus: what g_ascii_string_to_signed reads. */
static gboolean
is_integer (const char *text)
{
  if (*text == '-')
    text++;
  if (!g_ascii_isdigit (*text))
    return FALSE;
  while (g_ascii_isdigit (*text))
    text++;
  return *text == '\0';
}

/* A finite number and nothing else (GEGL reads "12abc" as 12, "banana" as
 * 0, and GObject's range check lets NaN through). */
static gboolean
is_number (const char *text)
{
  gchar  *end;
  gdouble value = g_ascii_strtod (text, &end);

  return end != text && *end == '\0' && isfinite (value);
}

/* Every spelling GEGL's loaders take as TRUE; anything else becomes FALSE
 * there, so only the usual ways to say false are let through. */
static gboolean
is_boolean (const char *text)
{
  static const char *const spellings[] = { "true", "TRUE", "YES", "yes", "y", "Y", "1", "on",
                                           "false", "FALSE", "NO", "no", "n", "N", "0", "off" };

  for (guint i = 0; i < G_N_ELEMENTS (spellings); i++)
    if (g_str_equal (text, spellings[i]))
      return TRUE;
  return FALSE;
}

/* GEGL's chain and XML readers turn a property's text into its value
 * without checking it ("threshold=banana" gives 0, "12abc" 12, "faces=maybe"
 * FALSE), and GObject reports a clamped integer as the clamped number
 * (99999999999999999999 as “-2147483648”): check the text first, as the
 * user wrote it. A chain's numbers may be relative ("0.5rel"). Other types
 * (strings, colours, enums, paths) are GEGL's to read. */
static gboolean
check_property_value (const char *op, const char *key, const char *text, gboolean relative,
                      GError **error)
{
  GParamSpec       *spec = gegl_has_operation (op) ? gegl_operation_find_property (op, key) : NULL;
  g_autofree gchar *number = g_strstrip (g_strdup (text));
  const char       *wanted = NULL;

  if (spec == NULL)
    return TRUE;
  if (relative && g_str_has_suffix (number, "rel"))
    number[strlen (number) - 3] = '\0';
  if (G_IS_PARAM_SPEC_INT (spec))
    {
      GParamSpecInt *range = G_PARAM_SPEC_INT (spec);
      if (!is_integer (number) || !g_ascii_string_to_signed (number, 10, range->minimum, range->maximum, NULL, NULL))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "property '%s' of %s takes an integer from %d to %d, not “%s”", key, op,
                       range->minimum, range->maximum, text);
          return FALSE;
        }
      return TRUE;
    }
  if ((G_IS_PARAM_SPEC_DOUBLE (spec) || G_IS_PARAM_SPEC_FLOAT (spec)) && !is_number (number))
    wanted = "a number";
  else if (G_IS_PARAM_SPEC_BOOLEAN (spec) && !is_boolean (text))
    wanted = "true or false";
  if (wanted)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "property '%s' of %s takes %s, not “%s”", key, op, wanted, text);
      return FALSE;
    }
  return TRUE;
}

/* The chain's op names and values, each value against its op's property
 * (ops nest in [ ... ]: aux=[ op ... ]). */
static gboolean
check_chain_values (char **chain, GError **error)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);   /* a stack */

  for (int i = 0; chain[i]; i++)
    {
      const char *arg = chain[i], *eq = strchr (arg, '=');

      if (g_str_equal (arg, "]"))
        {
          if (ops->len)
            g_ptr_array_remove_index (ops, ops->len - 1);
        }
      else if (eq == NULL)
        {
          g_autofree gchar *ours = g_strconcat ("neuropaint:", arg, NULL);

          /* GEGL reads a bare name as gegl:NAME: where we have an op of
           * that name too, "-- gray" would silently run GEGL's. */
          if (!strchr (arg, ':') && gegl_has_operation (ours))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "“%s” names two operations: write %s (ours) or gegl:%s (GEGL's)", arg, ours, arg);
              return FALSE;
            }
          if (ops->len)
            g_ptr_array_remove_index (ops, ops->len - 1);
          g_ptr_array_add (ops, strchr (arg, ':') ? g_strdup (arg) : g_strconcat ("gegl:", arg, NULL));
        }
      else if (g_str_has_suffix (arg, "=["))
        g_ptr_array_add (ops, NULL);   /* the auxiliary chain's op comes next */
      else if (ops->len && ops->pdata[ops->len - 1] && eq[1] != '{')   /* {…}: keyframes */
        {
          g_autofree gchar *key = g_strndup (arg, eq - arg);

          if (!check_property_value (ops->pdata[ops->len - 1], key, eq + 1, TRUE, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* The graph's values, as GEGL's XML reader finds them: a node's attributes
 * and its <param name="…">value</param> elements. */
typedef struct
{
  GPtrArray *ops;     /* the op of each open node element (NULL: not a node) */
  gchar     *param;   /* the open <param>'s name */
} GraphValues;

static void
graph_start (GMarkupParseContext *context, const gchar *element, const gchar **names,
             const gchar **values, gpointer data, GError **error)
{
  static const char *const not_nodes[] = { "gegl", "image", "graph", "params", "param", "curve",
                                           "curve-point", "link", "links", "stack", "launcher",
                                           "launchers", "source", "destination", "tree", "layers" };
  GraphValues *g = data;
  const char  *op = element;

  if (g_str_equal (element, "param"))
    {
      for (int i = 0; names[i]; i++)
        if (g_str_equal (names[i], "name"))
          g->param = g_strdup (values[i]);
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (not_nodes); i++)
    if (g_str_equal (element, not_nodes[i]))
      {
        g_ptr_array_add (g->ops, NULL);
        return;
      }
  if (g_str_equal (element, "clone") || g_str_equal (element, "layer"))
    op = g_str_equal (element, "clone") ? "gegl:clone" : "gegl:layer";
  for (int i = 0; names[i]; i++)
    if (g_str_equal (names[i], g_str_equal (element, "filter") ? "type" : "operation"))
      op = values[i];
  g_ptr_array_add (g->ops, g_strdup (op));
  for (int i = 0; names[i]; i++)
    if (!g_strv_contains ((const gchar *const[]) { "name", "id", "ref", "operation", "type", NULL }, names[i])
        && !check_property_value (op, names[i], values[i], FALSE, error))
      return;
}

static void
graph_text (GMarkupParseContext *context, const gchar *text, gsize length, gpointer data,
            GError **error)
{
  GraphValues      *g = data;
  g_autofree gchar *value = g_strndup (text, length);
  const char       *op = NULL;

  /* The innermost node's. */
  for (guint i = g->ops->len; i > 0 && op == NULL; i--)
    op = g->ops->pdata[i - 1];
  if (g->param && op)
    check_property_value (op, g->param, value, FALSE, error);
}

static void
graph_end (GMarkupParseContext *context, const gchar *element, gpointer data, GError **error)
{
  GraphValues *g = data;

  if (g_str_equal (element, "param"))
    g_clear_pointer (&g->param, g_free);
  else if (g->ops->len)
    g_ptr_array_remove_index (g->ops, g->ops->len - 1);
}

static gboolean
check_graph_values (const char *xml, GError **error)
{
  static const GMarkupParser parser = { graph_start, graph_end, graph_text, NULL, NULL };
  GraphValues g = { g_ptr_array_new_with_free_func (g_free), NULL };
  g_autoptr(GMarkupParseContext) context = g_markup_parse_context_new (&parser, 0, &g, NULL);
  gboolean ok = g_markup_parse_context_parse (context, xml, -1, error)
                && g_markup_parse_context_end_parse (context, error);

  g_ptr_array_unref (g.ops);
  g_free (g.param);
  return ok;
}

GeglNode *
np_cli_graph_add (GeglNode *top, const char *xml, const char *path_root,
                  GeglBuffer *input, GeglNode **source, GError **error)
{
  GeglNode    *graph, *load = NULL;
  g_autoptr(GSList) children = NULL;
  NpLogCapture capture;

  /* GEGL parses with GMarkup but never asks it whether the document ended,
   * so a truncated file became a partial graph: ask. */
  if (!check_xml (xml, error) || !check_graph_nodes (xml, error) || !check_graph_values (xml, error))
    return NULL;
  /* GEGL turns unknown ops into pass-throughs and skips unknown properties,
   * with a warning each: make those errors. */
  log_capture_begin (&capture, NULL, NULL);
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

gint64 np_cli_max_pixels = NP_IMAGE_DEFAULT_MAX_PIXELS;

/* The GEGL loader for the image type the first bytes say, or NULL. */
static const char *
sniff_loader (const guint8 *magic, gsize size)
{
  static const struct { const char *bytes; gsize length; const char *loader; } types[] = {
    { "\x89PNG\r\n\x1a\n", 8, "gegl:png-load" },
    { "II*\0", 4, "gegl:tiff-load" },
    { "MM\0*", 4, "gegl:tiff-load" },
    { "v/1\x01", 4, "gegl:exr-load" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    if (size >= types[i].length && memcmp (magic, types[i].bytes, types[i].length) == 0)
      return types[i].loader;
  if (size >= 12 && memcmp (magic, "RIFF", 4) == 0 && memcmp (magic + 8, "WEBP", 4) == 0)
    return "gegl:webp-load";
  return NULL;
}

/* The colour space of an embedded RGB or gray ICC profile, or sRGB: for
 * one babl cannot read (broken, cut short), as GEGL's PNG loader does, and
 * for a CMYK one, which describes the inks our decoder already made RGB. */
static const Babl *
icc_space (GBytes *icc)
{
  const char *why = NULL;
  const Babl *space = icc ? babl_space_from_icc (g_bytes_get_data (icc, NULL), (int) g_bytes_get_size (icc),
                                                 BABL_ICC_INTENT_RELATIVE_COLORIMETRIC, &why)
                          : NULL;

  return space && !babl_space_is_cmyk (space) ? space : babl_space ("sRGB");
}

static GeglBuffer *
load_jpeg (const char *path, const Babl *format, GError **error)
{
  g_autoptr(GBytes) bytes = np_file_read (path, G_MAXSIZE, error);
  g_autoptr(GBytes) icc = NULL;
  g_autoptr(NpImage) image = NULL;
  const Babl   *rgb;
  GeglRectangle box;
  GeglBuffer   *buffer;

  if (bytes == NULL)
    return NULL;
  image = np_jpeg_decode (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), np_cli_max_pixels, error);
  if (image == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  /* The values as decoded, in the colour space of the file's profile, as
   * GEGL's loaders give PNG and TIFF files. */
  icc = np_jpeg_icc_profile (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  rgb = babl_format_with_space ("R'G'B' u8", icc_space (icc));
  box = (GeglRectangle) { 0, 0, image->width, image->height };
  buffer = gegl_buffer_new (&box, format ? format : rgb);
  gegl_buffer_set (buffer, &box, 0, rgb, image->data, image->stride);
  return buffer;
}

/* Through GEGL's loader for the sniffed type (never gegl:load, which picks
 * by extension, so a text file named .jpg reached libjpeg, which exits). The
 * header's size is checked before a pixel is decoded. */
static GeglBuffer *
load_gegl (const char *path, const char *loader, const Babl *space, const Babl *format, GError **error)
{
  g_autoptr(GeglNode) graph = gegl_node_new ();
  g_autoptr(GError) size_error = NULL;
  GeglNode     *load, *sink;
  GeglBuffer   *buffer = NULL;
  GeglRectangle box;
  NpLogCapture  capture;

  if (!gegl_has_operation (loader))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED, "%s: this GEGL has no %s to read it", path, loader);
      return NULL;
    }
  log_capture_begin (&capture, NULL, NULL);
  load = gegl_node_new_child (graph, "operation", loader, "path", path, NULL);
  box = gegl_node_get_bounding_box (load);
  if (box.width > 0 && box.height > 0
      && np_image_check_decode_size (box.width, box.height, np_cli_max_pixels, &size_error))
    {
      const Babl *own = gegl_operation_get_format (gegl_node_get_gegl_operation (load), "output");
      GeglNode   *end = load;

      if (space)   /* the file's profile, which the loader left out */
        {
          end = gegl_node_new_child (graph, "operation", "gegl:cast-space", "pointer", space, NULL);
          own = own ? babl_format_with_space (babl_format_get_encoding (own), space) : NULL;
        }
      /* The file's own format keeps its space; a format asked for is
       * converted to. */
      buffer = gegl_buffer_new (&box, format ? format : own ? own : babl_format ("R'G'B'A float"));
      sink = gegl_node_new_child (graph, "operation", "gegl:write-buffer", "buffer", buffer, NULL);
      if (end != load)
        gegl_node_link (load, end);
      gegl_node_link (end, sink);
      gegl_node_process (sink);
    }
  if (!log_capture_end (&capture, path, error))
    {
      g_clear_object (&buffer);
      /* A loader that fails without a word leaves GEGL's assertion on the
       * empty result: no news to the user. */
      if (error && *error && strstr ((*error)->message, ": assertion '"))
        {
          g_clear_error (error);
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s: a corrupt or truncated image (%s could not decode it)",
                       path, loader);
        }
    }
  else if (size_error)
    g_propagate_prefixed_error (error, g_steal_pointer (&size_error), "%s: ", path);
  else if (buffer == NULL)
    g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s: a corrupt or empty image", path);
  return buffer;
}

/* libtiff and libwebp allocate for the size their header claims as GEGL
 * asks it: read the claim first (np_header_check). PNG's and OpenEXR's
 * loaders read no more than the header for GEGL's bounding box. */
static gboolean
check_header (const char *path, const char *loader, GBytes **icc, GError **error)
{
  g_autoptr(GMappedFile) file = NULL;
  const guint8 *data;
  gint64 width, height;

  if (!g_str_equal (loader, "gegl:tiff-load") && !g_str_equal (loader, "gegl:webp-load"))
    return TRUE;
  if (!(file = g_mapped_file_new (path, FALSE, error)))
    return FALSE;
  data = (const guint8 *) g_mapped_file_get_contents (file);
  if (!np_header_check (data, g_mapped_file_get_length (file), np_cli_max_pixels, &width, &height, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  /* GEGL's WebP loader reads no profile (its TIFF loader does). */
  *icc = np_header_webp_icc (data, g_mapped_file_get_length (file));
  return TRUE;
}

GeglBuffer *
np_cli_load_image (const char *path, const Babl *format, GError **error)
{
  guint8       magic[12];
  gssize       n;
  gint         fd = np_file_open (path, error);
  const char  *loader;
  GeglBuffer  *buffer;
  g_autoptr(GBytes) icc = NULL;

  if (fd < 0)
    return NULL;
  n = read (fd, magic, sizeof magic);
  close (fd);
  if (n <= 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s: %s", path, n == 0 ? "empty file" : g_strerror (errno));
      return NULL;
    }
  if (np_jpeg_sniff (magic, n))
    buffer = load_jpeg (path, format, error);
  else if ((loader = sniff_loader (magic, n)) != NULL)
    buffer = check_header (path, loader, &icc, error)
               ? load_gegl (path, loader, icc ? icc_space (icc) : NULL, format, error) : NULL;
  else
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "%s: not an image (its first bytes are those of no JPEG, PNG, TIFF, WebP or OpenEXR file)",
                   path);
      return NULL;
    }
  /* The area limit is the user's (the side limit is not). */
  if (buffer == NULL && error && *error && g_error_matches (*error, NP_ERROR, NP_ERROR_TOO_LARGE))
    {
      gchar *message = g_strconcat ((*error)->message, " (raise it with --max-pixels)", NULL);
      g_free ((*error)->message);
      (*error)->message = message;
    }
  return buffer;
}

/* Whether an image file another run left is whole (--skip-existing): a
 * regular file whose last bytes are those a complete file of its type ends
 * with (PNG's IEND chunk, JPEG's end-of-image marker) or whose size is the
 * one its header gives (WebP's RIFF size). Our own outputs are atomic; this
 * catches a file cut by another program, a crash of an older version or a
 * `touch`. TIFF and OpenEXR say where their data ends in tables only a
 * decoder reads, so they are decoded. */
gboolean
np_cli_output_complete (const char *path)
{
  static const guint8 iend[12] = { 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82 };
  g_autoptr(GeglBuffer) buffer = NULL;
  guint8      head[12], tail[12];
  struct stat st;
  gint        fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  gboolean    read_ok;

  if (fd < 0)
    return FALSE;
  read_ok = fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size >= (goffset) sizeof head
            && pread (fd, head, sizeof head, 0) == sizeof head
            && pread (fd, tail, sizeof tail, st.st_size - sizeof tail) == sizeof tail;
  close (fd);
  if (!read_ok)
    return FALSE;
  if (memcmp (head, "\x89PNG\r\n\x1a\n", 8) == 0)
    return memcmp (tail, iend, sizeof iend) == 0;
  if (np_jpeg_sniff (head, sizeof head))
    return tail[10] == 0xFF && tail[11] == 0xD9;
  if (memcmp (head, "RIFF", 4) == 0 && memcmp (head + 8, "WEBP", 4) == 0)
    return GUINT32_FROM_LE (*(guint32 *) (gpointer) (head + 4)) + (goffset) 8 == st.st_size;
  return sniff_loader (head, sizeof head) != NULL
    && (buffer = np_cli_load_image (path, NULL, NULL)) != NULL;
}

GeglNode *
np_cli_chain_add (GeglNode *top, GeglNode *source, char **chain,
                  const char *path_root, GError **error)
{
  GeglNode    *end = gegl_node_new_child (top, "operation", "gegl:nop", NULL);
  GError      *chain_error = NULL;
  NpLogCapture capture;

  if (!np_cli_check_chain_nodes (chain, error))
    return NULL;
  if (!check_chain_values (chain, error))
    {
      g_prefix_error (error, "operation chain: ");
      return NULL;
    }

  /* Out-of-range values are only warned about by GObject, which then keeps
   * the default: make them errors. */
  log_capture_begin (&capture, NULL, NULL);
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

/* The file types the command writes, by extension; saver NULL: ours (JPEG,
 * whose errors GEGL's jpg-save cannot report: libjpeg exits the process). */
typedef struct
{
  const char *ext;
  const char *saver;
} NpOutputType;

static const NpOutputType output_types[] = {
  { "png", "gegl:png-save" },
  { "jpg", NULL },
  { "jpeg", NULL },
  { "tif", "gegl:tiff-save" },
  { "tiff", "gegl:tiff-save" },
  { "webp", "gegl:webp-save" },
  { "exr", "gegl:exr-save" },
};

static const NpOutputType *
output_type (const char *path)
{
  g_autofree gchar *base = g_path_get_basename (path);
  const char *dot = strrchr (base, '.');

  if (dot && dot != base)
    for (guint i = 0; i < G_N_ELEMENTS (output_types); i++)
      if (g_ascii_strcasecmp (dot + 1, output_types[i].ext) == 0
          && (output_types[i].saver == NULL || gegl_has_operation (output_types[i].saver)))
        return &output_types[i];
  return NULL;
}

gboolean
np_cli_check_output_name (const char *path, GError **error)
{
  g_autoptr(GString) known = g_string_new (NULL);

  if (output_type (path))
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (output_types); i++)
    if (output_types[i].saver == NULL || gegl_has_operation (output_types[i].saver))
      g_string_append_printf (known, "%s.%s", known->len ? ", " : "", output_types[i].ext);
  g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
               "“%s”: unknown file type (known: %s)", path, known->str);
  return FALSE;
}

gboolean
np_cli_save (GeglNode *output_node, const char *path, GError **error)
{
  return np_cli_save_png_depth (output_node, path, 8, error);
}

static gboolean
save_jpeg (GeglNode *output_node, const GeglRectangle *box, NpOutput *output, GError **error)
{
  g_autoptr(NpImage) image = np_image_new (NP_SAMPLE_U8, box->width, box->height, 3, error);
  NpLogCapture capture;

  if (image == NULL)
    return FALSE;
  log_capture_begin (&capture, NULL, NULL);
  gegl_node_blit (output_node, 1.0, box, babl_format ("R'G'B' u8"), image->data, image->stride,
                  GEGL_BLIT_DEFAULT);
  /* The quality and options of GEGL's jpg-save: 90, 4:4:4, progressive. */
  return log_capture_end (&capture, np_output_path (output), error)
    && np_jpeg_write (image, output, 90, error);
}

gboolean
np_cli_save_to_output (GeglNode *output_node, NpOutput *output, gint png_bit_depth,
                       GError **error)
{
  const char   *path = np_output_path (output);
  const NpOutputType *type = output_type (path);
  GeglNode     *graph = gegl_node_get_parent (output_node);
  GeglRectangle box = gegl_node_get_bounding_box (output_node);
  GeglNode     *save, *srgb = NULL;
  const Babl   *produced;
  NpLogCapture  capture;
  GStatBuf      st;
  gboolean      ok;

  g_return_val_if_fail (png_bit_depth == 8 || png_bit_depth == 16, FALSE);
  if (type == NULL)
    return np_cli_check_output_name (path, error);
  if (box.width <= 0 || box.height <= 0 || gegl_rectangle_is_infinite_plane (&box))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: the graph produces no finite image to save", path);
      return FALSE;
    }
  if (type->saver == NULL)
    return save_jpeg (output_node, &box, output, error);

  /* Files are written in sRGB, converted from the input's colour space (its
   * ICC profile), as our JPEG encoder's blit does: GEGL's png-save writes
   * any other space's primaries as a cHRM chunk, which libpng refuses for
   * wide gamuts (Display P3, Rec. 2020: "invalid chromaticities"), next to
   * a wrong gAMA, and a gray profile into an RGB file. The bounding box
   * above prepared the graph, so the format the end gives is known; in sRGB
   * already it goes straight to the saver (a conversion node costs a copy). */
  produced = gegl_operation_get_format (gegl_node_get_gegl_operation (output_node), "output");
  if (produced == NULL || babl_format_get_space (produced) != babl_space ("sRGB"))
    srgb = gegl_node_new_child (graph, "operation", "gegl:convert-space", "space-name", "sRGB", NULL);
  /* GEGL's saver fills the temporary file by a name of its own (see
   * np_output_writer_path): messages show the final name instead. */
  save = gegl_node_new_child (graph, "operation", type->saver,
                              "path", np_output_writer_path (output), NULL);
  /* PNG is 8-bit unless asked otherwise: what image viewers and the seed used. */
  if (g_str_equal (type->saver, "gegl:png-save"))
    gegl_node_set (save, "bitdepth", png_bit_depth, NULL);
  if (srgb)
    gegl_node_link_many (output_node, srgb, save, NULL);
  else
    gegl_node_link (output_node, save);

  log_capture_begin (&capture, np_output_writer_path (output), path);
  gegl_node_process (save);
  ok = log_capture_end (&capture, path, error);
  gegl_node_remove_child (graph, save);
  if (srgb)
    gegl_node_remove_child (graph, srgb);

  if (ok && (g_stat (np_output_writer_path (output), &st) != 0 || st.st_size == 0))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: GEGL wrote nothing", path);
      ok = FALSE;
    }
  return ok;
}

gboolean
np_cli_save_png_depth (GeglNode *output_node, const char *path, gint png_bit_depth,
                       GError **error)
{
  g_autoptr(NpOutput) output = NULL;

  /* Refused before a temporary file is made. */
  if (!np_cli_check_output_name (path, error))
    return FALSE;
  output = np_output_new (path, error);
  return output && np_cli_save_to_output (output_node, output, png_bit_depth, error)
    && np_output_commit (output, error);
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
np_progress_clear (NpProgress *progress)
{
  if (progress->tty)
    {
      fprintf (stderr, "\r\033[K");
      fflush (stderr);
    }
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

GHashTable *
np_cli_inputs_index (GPtrArray *inputs)
{
  GHashTable *index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < inputs->len; i++)
    {
      gchar *id = file_id (inputs->pdata[i]);
      if (id && !g_hash_table_contains (index, id))
        g_hash_table_insert (index, id, inputs->pdata[i]);
      else
        g_free (id);
    }
  return index;
}

const char *
np_cli_inputs_find (GHashTable *index, const char *path)
{
  g_autofree gchar *id = file_id (path);

  return id ? g_hash_table_lookup (index, id) : NULL;
}

/* Files as given, folders expanded to their images in name order. */
GPtrArray *
np_cli_collect_inputs (char **inputs, GError **error)
{
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (int i = 0; inputs && inputs[i]; i++)
    {
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

      if (g_file_test (inputs[i], G_FILE_TEST_IS_DIR))
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
          np_cli_sort_strings (names);
        }
      else
        g_ptr_array_add (names, g_strdup (inputs[i]));
      /* The same file twice (a.jpg and ./a.jpg, or a file and its folder)
       * would only be done twice into the same output. */
      for (guint k = 0; k < names->len; k++)
        {
          gchar *id = file_id (names->pdata[k]);

          if (id && g_hash_table_contains (seen, id))
            {
              g_free (id);
              continue;
            }
          if (id)
            g_hash_table_add (seen, id);
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
shard_from_environment (NpCliShard *shard, const char **bad)
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
      *shard = (NpCliShard) { (guint) ((task - min) / step), (guint) count, "SLURM_ARRAY_TASK_ID" };
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
      *shard = (NpCliShard) { (guint) index, (guint) count, "JOB_COMPLETION_INDEX" };
      return TRUE;
    }
  *shard = (NpCliShard) { 0, 1, NULL };
  return TRUE;
}

/* This process's shard: --shard I/N; else, in a Slurm job array,
 * ((SLURM_ARRAY_TASK_ID − _MIN) / _STEP) of SLURM_ARRAY_TASK_COUNT; else,
 * in a Kubernetes indexed job, JOB_COMPLETION_INDEX of NEUROPAINT_SHARDS;
 * else 0 of 1. Prints a usage message and returns FALSE for a malformed
 * value or an array that is no even range. */
static gboolean
shard_resolve (const char *command, const char *option, NpCliShard *shard, int *exit_code)
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
          *exit_code = np_cli_fail (command, NP_EXIT_USAGE, "--shard: I/N with 0 ≤ I < N ≤ %d, not “%s”",
                                    MAX_SHARDS, option);
          return FALSE;
        }
      *shard = (NpCliShard) { (guint) index, (guint) count, "--shard" };
      return TRUE;
    }
  if (!shard_from_environment (shard, &bad))
    {
      const char *value = g_getenv (bad);
      *exit_code = np_cli_fail (command, NP_EXIT_USAGE,
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
np_cli_batch_inputs (const char *command, const NpCliBatch *batch, char **args, GPtrArray **all,
                     GPtrArray **mine, NpCliShard *shard, int *exit_code)
{
  g_autoptr(GPtrArray) given = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;

  if (!shard_resolve (command, batch->shard, shard, exit_code))
    return FALSE;
  for (gint i = 0; args && args[i]; i++)
    g_ptr_array_add (given, g_strdup (args[i]));
  if (batch->files_from && !read_file_list (batch->files_from, given, &error))
    {
      *exit_code = np_cli_fail (command, NP_EXIT_FAILED, "--files-from: %s", error->message);
      return FALSE;
    }
  if (given->len == 0)
    {
      *exit_code = np_cli_fail (command, NP_EXIT_USAGE, "no input images given");
      return FALSE;
    }
  g_ptr_array_add (given, NULL);
  if (!(*all = np_cli_collect_inputs ((char **) given->pdata, &error)))
    {
      *exit_code = np_cli_fail (command, NP_EXIT_FAILED, "%s", error->message);
      return FALSE;
    }
  if ((*all)->len == 0)
    {
      g_autofree gchar *exts = g_strjoinv (" ", (gchar **) image_exts);

      g_clear_pointer (all, g_ptr_array_unref);
      *exit_code = np_cli_fail (command, NP_EXIT_USAGE, "no images found in the inputs (a folder's "
                                "images are its files named %s; others, such as .bmp and .gif, are "
                                "not read)", exts);
      return FALSE;
    }
  /* Every process of a batch must see one list, whatever order the
   * arguments, the file or the folders gave. */
  np_cli_sort_strings (*all);
  *mine = g_ptr_array_new ();
  for (guint k = shard->index; k < (*all)->len; k += shard->count)
    g_ptr_array_add (*mine, (*all)->pdata[k]);
  if (shard->count > 1)
    g_printerr ("neuropaint %s: shard %u of %u (%s): %u of %u inputs\n", command, shard->index, shard->count,
                shard->from, (*mine)->len, (*all)->len);
  return TRUE;
}

void
np_cli_split_ext (const char *name, gchar **stem, const char **ext)
{
  const char *dot = strrchr (name, '.');

  /* A leading dot is a hidden name, not an extension. */
  if (dot == NULL || dot == name)
    dot = name + strlen (name);
  *stem = g_strndup (name, dot - name);
  *ext = dot;
}

gchar *
np_cli_shard_path (const NpCliShard *shard, const char *path)
{
  g_autofree gchar *dir = g_path_get_dirname (path), *base = g_path_get_basename (path), *stem = NULL;
  g_autofree gchar *name = NULL;
  const char *ext;

  if (shard->count <= 1)
    return g_strdup (path);
  np_cli_split_ext (base, &stem, &ext);
  name = g_strdup_printf ("%s.part-%u-of-%u%s", stem, shard->index, shard->count, ext);
  return strchr (path, '/') ? g_build_filename (dir, name, NULL) : g_steal_pointer (&name);
}

gboolean
np_cli_parse_size (const char *text, gint *width, gint *height)
{
  char end;

  return sscanf (text, "%dx%d%c", width, height, &end) == 2
         && *width >= 1 && *height >= 1 && *width <= 8192 && *height <= 8192;
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
np_cli_output_stems (GPtrArray *inputs)
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
 * canonical path while the folder does not exist yet. */
static gchar *
output_id (const char *path)
{
  g_autofree gchar *dir = g_path_get_dirname (path);
  g_autofree gchar *base = g_path_get_basename (path);
  g_autofree gchar *id = file_id (dir);

  return id ? g_strconcat (id, "/", base, NULL) : g_canonicalize_filename (path, NULL);
}

gboolean
np_cli_check_outputs (const char *command, GPtrArray *inputs, GPtrArray *outputs,
                      GPtrArray *sources, int *exit_code)
{
  g_autoptr(GHashTable) index = np_cli_inputs_index (inputs);
  g_autoptr(GHashTable) written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < outputs->len; i++)
    {
      const char *output = outputs->pdata[i];
      const char *source = sources ? sources->pdata[i] : NULL;
      const char *input = np_cli_inputs_find (index, output);
      gchar      *id = output_id (output);
      gpointer    other;

      if (input)
        {
          g_free (id);
          *exit_code = np_cli_fail (command, NP_EXIT_USAGE,
                                    "%s would overwrite the input %s; nothing was done: write the "
                                    "results to another folder (-o)", output, input);
          return FALSE;
        }
      if (g_hash_table_lookup_extended (written, id, NULL, &other))
        {
          const char *first = other;
          g_free (id);
          if (first && source)
            *exit_code = np_cli_fail (command, NP_EXIT_USAGE,
                                      "%s and %s would both be written to %s; nothing was done: "
                                      "rename one, or run them separately", first, source, output);
          else
            *exit_code = np_cli_fail (command, NP_EXIT_USAGE,
                                      "two outputs would be written to %s; nothing was done: "
                                      "give them different names", output);
          return FALSE;
        }
      g_hash_table_insert (written, id, (gpointer) source);
    }
  return TRUE;
}

int
np_cli_each_input (const char *command, const char *progress_label, GPtrArray *files,
                   NpCliEachFunc func, gpointer data)
{
  NpProgress *progress = progress_label ? np_progress_new (progress_label, files->len) : NULL;
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
          if (progress)
            np_progress_clear (progress);
          /* One message naming the file, whatever part failed. */
          if (g_str_has_prefix (error->message, file))
            g_printerr ("neuropaint %s: %s\n", command, error->message);
          else
            g_printerr ("neuropaint %s: %s: %s\n", command, file, error->message);
        }
      if (progress)
        np_progress_step (progress, base);
    }
  np_progress_free (progress);
  if (stop)
    return NP_EXIT_FAILED;
  if (failed > 0 && files->len > 1)
    return np_cli_fail (command, NP_EXIT_FAILED, "%u of %u inputs failed", failed, files->len);
  if (failed)
    return NP_EXIT_FAILED;
  return NP_EXIT_OK;
}

static gint
compare_entries (gconstpointer a, gconstpointer b)
{
  JsonObject *x = json_node_get_object (*(JsonNode *const *) a), *y = json_node_get_object (*(JsonNode *const *) b);
  const char *fx = json_object_get_string_member_with_default (x, "file", NULL);
  const char *fy = json_object_get_string_member_with_default (y, "file", NULL);
  g_autofree gchar *bx = fx ? np_cli_json_name_bytes (fx) : NULL, *by = fy ? np_cli_json_name_bytes (fy) : NULL;

  /* By the names' bytes, as the input list is sorted. */
  return g_strcmp0 (bx, by);
}

gboolean
np_cli_write_crop_manifest (const char *path, gint width, gint height, JsonArray *images,
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
  text = np_cli_json_text (root, TRUE, &length);
  return np_output_set_contents (path, text, length, error);
}

/* ---- File names in JSON and in lines of text (issue 21, item 15) --------- */

/* U+DC80 + byte, in UTF-8 ED B2 80 to ED B3 BF: lone surrogates, which no
 * UTF-8 text holds, so they stand for a name's stray bytes unambiguously. */
#define STRAY_LEAD 0xED

gchar *
np_cli_json_name (const char *name)
{
  GString    *out = g_string_sized_new (strlen (name));
  const char *end;

  while (!g_utf8_validate (name, -1, &end))
    {
      guint8 b = (guint8) *end;

      g_string_append_len (out, name, end - name);
      g_string_append_c (out, STRAY_LEAD);
      g_string_append_c (out, 0xB0 | 0x02 | (b >> 6 & 1));
      g_string_append_c (out, 0x80 | (b & 0x3F));
      name = end + 1;
    }
  g_string_append (out, name);
  return g_string_free (out, FALSE);
}

static gboolean
is_stray (const guint8 *p)
{
  return p[0] == STRAY_LEAD && (p[1] == 0xB2 || p[1] == 0xB3) && (p[2] & 0xC0) == 0x80;
}

gchar *
np_cli_json_name_bytes (const char *json_name)
{
  GString *out = g_string_sized_new (strlen (json_name));

  for (const guint8 *p = (const guint8 *) json_name; *p; p++)
    if (is_stray (p))
      {
        g_string_append_c (out, (gchar) (0x80 | (p[1] & 1) << 6 | (p[2] & 0x3F)));
        p += 2;
      }
    else
      g_string_append_c (out, (gchar) *p);
  return g_string_free (out, FALSE);
}

gchar *
np_cli_json_text (JsonNode *root, gboolean pretty, gsize *length)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree gchar *text = NULL;
  GString *out;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, pretty);
  /* json-glib copies a string's bytes as they are: the stray ones become
   * the escapes \udc80 to \udcff here, and the text is UTF-8. */
  text = json_generator_to_data (gen, NULL);
  out = g_string_sized_new (strlen (text));
  for (const guint8 *p = (const guint8 *) text; *p; p++)
    if (is_stray (p))
      {
        g_string_append_printf (out, "\\udc%02x", 0x80 | (p[1] & 1) << 6 | (p[2] & 0x3F));
        p += 2;
      }
    else
      g_string_append_c (out, (gchar) *p);
  if (length)
    *length = out->len;
  return g_string_free (out, FALSE);
}

gchar *
np_cli_quote_name (const char *name)
{
  GString    *out;
  const char *end;
  gboolean    valid = g_utf8_validate (name, -1, &end);
  gboolean    plain = valid;

  for (const guint8 *p = (const guint8 *) name; plain && *p; p++)
    plain = *p >= 0x20 && *p != 0x7F && *p != '"' && *p != '\\';
  if (plain)
    return g_strdup (name);
  /* As git quotes a path (with core.quotePath off): C escapes in double
   * quotes, octal for control characters and for bytes that are no UTF-8. */
  out = g_string_new ("\"");
  for (;;)
    {
      valid = g_utf8_validate (name, -1, &end);
      for (const char *p = name; p < end; p++)
        if (*p == '"' || *p == '\\')
          g_string_append_printf (out, "\\%c", *p);
        else if (*p == '\n')
          g_string_append (out, "\\n");
        else if (*p == '\t')
          g_string_append (out, "\\t");
        else if ((guint8) *p < 0x20 || *p == 0x7F)
          g_string_append_printf (out, "\\%03o", (guint8) *p);
        else
          g_string_append_c (out, *p);
      if (valid)
        break;
      g_string_append_printf (out, "\\%03o", (guint8) *end);
      name = end + 1;
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

/* The code of the 4 hex digits at p, or -1. */
static gint
hex4 (const char *p)
{
  gint value = 0;

  for (gint i = 0; i < 4; i++)
    {
      gint d = g_ascii_xdigit_value (p[i]);
      if (d < 0)
        return -1;
      value = value << 4 | d;
    }
  return value;
}

/* Where the stray escapes would stand in json-glib's reading: a block of
 * 128 private-use characters the text does not hold, literally or escaped. */
#define STRAY_BLOCKS ((0xF900 - 0xE000) / 128)

static void
replace_strays (JsonNode *node, gunichar base)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      JsonNode      *member;

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, NULL, &member))
        replace_strays (member, base);
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
      replace_strays (json_array_get_element (json_node_get_array (node), i), base);
  else if (json_node_get_value_type (node) == G_TYPE_STRING)
    {
      GString *out = g_string_new (NULL);

      for (const char *p = json_node_get_string (node); *p; p = g_utf8_next_char (p))
        {
          gunichar c = g_utf8_get_char (p);
          if (c >= base && c < base + 128)
            g_string_append_c (g_string_append_c (g_string_append_c (out, STRAY_LEAD),
                                                  0xB2 | ((c - base) >> 6 & 1)),
                               0x80 | ((c - base) & 0x3F));
          else
            g_string_append_unichar (out, c);
        }
      json_node_set_string (node, out->str);
      g_string_free (out, TRUE);
    }
}

gboolean
np_cli_json_parse (JsonParser *parser, const char *text, gsize length, GError **error)
{
  /* json-glib reads a lone surrogate escape by eating what follows it, so
   * the strays' escapes are swapped for characters it reads, then back. */
  g_autoptr(GArray) strays = g_array_new (FALSE, FALSE, sizeof (gsize));   /* their offsets */
  g_autoptr(GString) swapped = NULL;
  gboolean    used[STRAY_BLOCKS] = { FALSE }, in_string = FALSE, after_high = FALSE;
  const char *end = text + length;
  gint        block = 0;
  gsize       from = 0;

  if (!g_utf8_validate (text, length, NULL))
    return json_parser_load_from_data (parser, text, length, error);   /* its error */
  for (const char *p = text; p < end; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gint     u = (gint) c;

      if (in_string && c == '\\' && p + 1 < end)
        {
          u = p[1] == 'u' && p + 6 <= end ? hex4 (p + 2) : -1;
          /* The low half of a surrogate pair (an escaped emoji) is no stray. */
          if (u >= 0xDC80 && u <= 0xDCFF && !after_high)
            g_array_append_val (strays, (gsize) { p - text });
          after_high = u >= 0xD800 && u <= 0xDBFF;
          p += u >= 0 ? 5 : 1;
        }
      else
        {
          after_high = FALSE;
          if (c == '"')
            in_string = !in_string;
        }
      if (u >= 0xE000 && u < 0xE000 + 128 * STRAY_BLOCKS)
        used[(u - 0xE000) / 128] = TRUE;
    }
  if (strays->len == 0)
    return json_parser_load_from_data (parser, text, length, error);
  while (block < STRAY_BLOCKS && used[block])
    block++;
  if (block == STRAY_BLOCKS)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "\\udc80–\\udcff escapes beside every private-use character: too odd to read");
      return FALSE;
    }
  swapped = g_string_sized_new (length);
  for (guint i = 0; i < strays->len; i++)
    {
      gsize at = g_array_index (strays, gsize, i);

      g_string_append_len (swapped, text + from, at - from);
      g_string_append_printf (swapped, "\\u%04X", 0xE000 + 128 * block + (hex4 (text + at + 2) - 0xDC80));
      from = at + 6;
    }
  g_string_append_len (swapped, text + from, length - from);
  if (!json_parser_load_from_data (parser, swapped->str, swapped->len, error))
    return FALSE;
  replace_strays (json_parser_get_root (parser), 0xE000 + 128 * block);
  return TRUE;
}

gboolean
np_cli_json_parse_file (JsonParser *parser, const char *path, GError **error)
{
  g_autofree gchar *text = NULL;
  gsize length;

  return g_file_get_contents (path, &text, &length, error) && np_cli_json_parse (parser, text, length, error);
}
