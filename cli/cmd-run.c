/* neuropaint run — apply an op chain or an XML graph to many images. */
#include "config.h"
#include "np-cli.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

static gchar *opt_graph;
static gchar *opt_output;
static gchar *opt_ext = "png";
static gint   opt_threads;
static gchar **opt_inputs;

static const GOptionEntry entries[] = {
  { "graph", 'g', 0, G_OPTION_ARG_STRING, &opt_graph,
    "XML graph: a built-in name (see below) or a file; its gegl:load node reads each input", "GRAPH" },
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output,
    "Folder for the results (created if missing)", "DIR" },
  { "ext", 'e', 0, G_OPTION_ARG_STRING, &opt_ext,
    "File type of the results: png (8-bit), jpg, tif, exr… (default png)", "EXT" },
  { "threads", 'j', 0, G_OPTION_ARG_INT, &opt_threads,
    "Threads GEGL may use (default: all processors)", "N" },
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_inputs, NULL, NULL },
  { NULL }
};

/* Builds source → (chain | graph) for one decoded input; returns the node to
 * save. A graph's gegl:load node becomes a buffer source, so each image is
 * decoded once. */
static GeglNode *
build_pipeline (GeglNode    *top,
                GeglBuffer  *input,
                char       **chain,
                const char  *graph_xml,
                const char  *path_root,
                GError     **error)
{
  if (graph_xml)
    {
      GeglNode *graph = np_cli_graph_add (top, graph_xml, path_root, input, error);

      if (graph == NULL)
        g_prefix_error (error, "%s: ", opt_graph);
      return graph;
    }
  else
    {
      GeglNode *load = gegl_node_new_child (top, "operation", "gegl:buffer-source",
                                            "buffer", input, NULL);
      return np_cli_chain_add (top, load, chain, path_root, error);
    }
}

static gboolean
run_one (const char *input, const char *output, char **chain,
         const char *graph_xml, const char *path_root, GError **error)
{
  g_autoptr(GeglNode) top = gegl_node_new ();
  g_autoptr(GeglBuffer) buffer = NULL;
  GeglNode *end;

  /* Decoding up front lets a missing or corrupt input fail with its own name. */
  buffer = np_cli_load_image (input, NULL, error);
  if (buffer == NULL)
    return FALSE;

  end = build_pipeline (top, buffer, chain, graph_xml, path_root, error);
  return end && np_cli_save (end, output, error);
}

int
np_cmd_run (int argc, char **argv, gboolean do_help)
{
  g_autoptr(GPtrArray) files = NULL;
  g_autofree gchar *graph_xml = NULL;
  g_autofree gchar *path_root = NULL;
  g_autofree gchar *graphs = NULL;
  g_autofree gchar *description = NULL;
  g_auto(GStrv) names = np_cli_graph_names ();
  g_autoptr(GError) error = NULL;
  char      **chain = NULL;
  NpProgress *progress;
  guint       failed = 0;
  int         code;

  graphs = g_strjoinv (", ", names);
  description = g_strdup_printf (
    "Built-in graphs: %s.\n\n"
    "Examples:\n"
    "  neuropaint run -o out photos/ -- neuropaint:canny low=100 high=200\n"
    "  neuropaint run -o out -g seed-contours a.jpg b.jpg\n"
    "  neuropaint run -o out -g my-graph.xml photos/", graphs);

  /* Everything after "--" is a GEGL chain, as in the gegl command. */
  for (int i = 1; i < argc; i++)
    if (g_strcmp0 (argv[i], "--") == 0)
      {
        chain = &argv[i + 1];
        argv[i] = NULL;
        argc = i;
        break;
      }

  if (!np_cli_parse ("run", "INPUT… [-- OPERATION [KEY=VALUE…]…]",
                     "Apply an operation chain or an XML graph to each input image "
                     "(files, or folders of images).",
                     description, entries, &argc, &argv, do_help, &code))
    return code;

  if (opt_output == NULL)
    return np_cli_fail ("run", NP_EXIT_USAGE, "--output DIR is required");
  if (opt_inputs == NULL)
    return np_cli_fail ("run", NP_EXIT_USAGE, "no input images given");
  if ((opt_graph != NULL) == (chain != NULL && chain[0] != NULL))
    return np_cli_fail ("run", NP_EXIT_USAGE, "give either --graph or an operation chain after --");
  if (opt_threads < 0)
    return np_cli_fail ("run", NP_EXIT_USAGE, "--threads must be positive");
  if (opt_threads > 0)
    g_object_set (gegl_config (), "threads", opt_threads, NULL);

  if (opt_graph)
    {
      graph_xml = np_cli_graph_xml (opt_graph, &path_root, &error);
      if (graph_xml == NULL)
        return np_cli_fail ("run", NP_EXIT_USAGE, "%s", error->message);
    }
  else
    path_root = g_get_current_dir ();

  files = np_cli_collect_inputs (opt_inputs, &error);
  if (files == NULL)
    return np_cli_fail ("run", NP_EXIT_FAILED, "%s", error->message);
  if (files->len == 0)
    return np_cli_fail ("run", NP_EXIT_USAGE, "no images found in the inputs");
  if (g_mkdir_with_parents (opt_output, 0755) != 0)
    return np_cli_fail ("run", NP_EXIT_FAILED, "%s: %s", opt_output, g_strerror (errno));

  progress = np_progress_new ("run", files->len);
  for (guint i = 0; i < files->len; i++)
    {
      const char *input = files->pdata[i];
      g_autofree gchar *base = g_path_get_basename (input);
      g_autofree gchar *stem = g_strndup (base, strrchr (base, '.') ? (gsize) (strrchr (base, '.') - base) : strlen (base));
      g_autofree gchar *name = g_strconcat (stem, ".", opt_ext, NULL);
      g_autofree gchar *output = g_build_filename (opt_output, name, NULL);
      GError *one_error = NULL;

      if (!run_one (input, output, chain, graph_xml, path_root, &one_error))
        {
          g_printerr ("neuropaint run: %s\n", one_error->message);
          g_error_free (one_error);
          failed++;
        }
      np_progress_step (progress, base);
    }
  np_progress_free (progress);

  if (failed)
    return np_cli_fail ("run", NP_EXIT_FAILED, "%u of %u images failed", failed, files->len);
  g_print ("%u image(s) written to %s\n", files->len, opt_output);
  return NP_EXIT_OK;
}
