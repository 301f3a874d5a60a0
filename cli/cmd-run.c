/* neuropaint run — apply an op chain or an XML graph to many images. */
#include "config.h"
#include "cli.h"

#include <gio/gio.h>
#include <string.h>

static gchar *opt_graph;
static gchar *opt_output;
static gchar *opt_aux;
static gchar *opt_ext = "png";
static gchar **opt_inputs;
static CliBatch opt_batch;

static const GOptionEntry entries[] = {
  { "graph", 'g', 0, G_OPTION_ARG_STRING, &opt_graph,
    "XML graph: a built-in name (see below) or a file; its gegl:load node reads each input", "GRAPH" },
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output,
    "Folder for the results (created if missing)", "DIR" },
  { "ext", 'e', 0, G_OPTION_ARG_STRING, &opt_ext,
    "File type of the results: png (8-bit), jpg, tif, exr… (default png)", "EXT" },
  { "aux", 0, 0, G_OPTION_ARG_FILENAME, &opt_aux,
    "Colour hints: DIR/NAME.png, a transparent picture of the photo's size whose opaque dots ask for "
    "their colour, feeds the aux pad of neuropaint:colorize for the photo NAME.EXT (a photo without one "
    "is coloured without hints)", "DIR" },
  CLI_THREADS_ENTRY ("Threads GEGL may use, up to 64 (default: every processor it may use)"),
  CLI_MAX_PIXELS_ENTRY,
  CLI_BATCH_ENTRIES (opt_batch),
  CLI_SKIP_EXISTING_ENTRY (opt_batch),
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_inputs, NULL, NULL },
  { NULL }
};

/* Builds source → (chain | graph) once, for the first decoded input; returns
 * the node to save and the source node in *source, whose "buffer" takes each
 * next image. A graph's gegl:load node becomes that source, so each image is
 * decoded once; reusing one graph keeps what the ops cache per node (parsed
 * cascades, loaded models) across the images. */
static GeglNode *
build_pipeline (GeglNode    *top,
                GeglBuffer  *input,
                char       **chain,
                const char  *graph_xml,
                const char  *path_root,
                GeglNode   **source,
                GError     **error)
{
  GeglNode *end;

  if (graph_xml)
    {
      end = cli_graph_add (top, graph_xml, path_root, input, source, error);
      if (end == NULL)
        g_prefix_error (error, "%s: ", opt_graph);
      return end;
    }
  *source = gegl_node_new_child (top, "operation", "gegl:buffer-source", "buffer", input, NULL);
  return cli_chain_add (top, *source, chain, path_root, error);
}

/* What every image of the run shares. */
typedef struct
{
  GeglNode   *top, *source, *end;
  char      **chain;
  const char *graph_xml, *path_root;
  GHashTable *outputs;   /* input → output path */
  GeglNode   *hints;     /* --aux: the source of each photo's hints */
  GPtrArray  *takers;    /* … and the nodes it feeds */
} CliRun;

/* The nodes under parent whose op takes colour hints at its aux pad (the
 * op's key "neuropaint:aux" is "hints"), into takers. */
static void
find_hint_takers (GeglNode *parent, GPtrArray *takers)
{
  g_autoptr(GSList) children = gegl_node_get_children (parent);

  for (GSList *l = children; l; l = l->next)
    {
      const char *op = gegl_node_get_operation (l->data);

      if (op && g_strcmp0 (gegl_operation_get_key (op, "neuropaint:aux"), "hints") == 0)
        g_ptr_array_add (takers, l->data);
      find_hint_takers (l->data, takers);
    }
}

/* --aux: input's hints (DIR/NAME.png) to every taker, or none when there
 * is no such file. */
static gboolean
feed_hints (CliRun *run, const char *input, GError **error)
{
  g_autofree gchar *base = g_path_get_basename (input);
  char             *dot = strrchr (base, '.');
  g_autofree gchar *name = NULL, *path = NULL;
  g_autoptr(GeglBuffer) hints = NULL;

  if (dot && dot != base)
    *dot = '\0';
  name = g_strconcat (base, ".png", NULL);
  path = g_build_filename (opt_aux, name, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      for (guint i = 0; i < run->takers->len; i++)
        gegl_node_disconnect (run->takers->pdata[i], "aux");
      return TRUE;
    }
  if ((hints = cli_load_image (path, NULL, error)) == NULL)
    return FALSE;
  gegl_node_set (run->hints, "buffer", hints, NULL);
  for (guint i = 0; i < run->takers->len; i++)
    gegl_node_connect_to (run->hints, "output", run->takers->pdata[i], "aux");
  return TRUE;
}

static gboolean
run_one (const char *input, gpointer data, gboolean *stop, GError **error)
{
  CliRun *run = data;
  g_autoptr(GeglBuffer) buffer = cli_load_image (input, NULL, error);

  /* Decoding up front lets a missing or corrupt input fail with its own name. */
  if (buffer == NULL)
    return FALSE;
  if (run->end == NULL)
    {
      run->end = build_pipeline (run->top, buffer, run->chain, run->graph_xml, run->path_root,
                                 &run->source, error);
      /* A bad chain or graph would fail every image: stop. */
      *stop = run->end == NULL;
      if (*stop)
        return FALSE;
      if (opt_aux)
        {
          run->takers = g_ptr_array_new ();
          find_hint_takers (run->top, run->takers);
          run->hints = gegl_node_new_child (run->top, "operation", "gegl:buffer-source", NULL);
          if ((*stop = run->takers->len == 0))
            {
              g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                           "--aux: nothing in the %s takes colour hints (neuropaint:colorize does)",
                           run->graph_xml ? "graph" : "chain");
              return FALSE;
            }
        }
    }
  else
    gegl_node_set (run->source, "buffer", buffer, NULL);
  if (opt_aux && !feed_hints (run, input, error))
    return FALSE;
  return cli_save (run->end, g_hash_table_lookup (run->outputs, input), error);
}

int
cli_cmd_run (int argc, char **argv, gboolean do_help)
{
  g_autoptr(GPtrArray) files = NULL, mine = NULL, todo = NULL, writes = NULL;
  g_autoptr(GPtrArray) stems = NULL;
  g_autoptr(GPtrArray) outputs = NULL;
  g_autoptr(GHashTable) output_of = NULL;
  g_autofree gchar *graph_xml = NULL;
  g_autofree gchar *path_root = NULL;
  g_autofree gchar *graphs = NULL;
  g_autofree gchar *description = NULL;
  g_autofree gchar *probe = NULL;
  g_auto(GStrv) names = cli_graph_names ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GeglNode) top = NULL;
  char      **chain = NULL;
  CliRun       run = { NULL };
  g_autoptr(NpOutput) folder = NULL;
  CliShard  shard;
  int         code;

  graphs = g_strjoinv (", ", names);
  description = g_strdup_printf (
    "Built-in graphs: %s.\n\n"
    "Each input IMAGE becomes DIR/IMAGE's name.EXT (with its own extension kept, as\n"
    "a.jpg.png, where two inputs share a name). An output that would overwrite an\n"
    "input is refused before anything is done. A bad image is reported and skipped;\n"
    "the exit status is then 2. --shard, --files-from and --skip-existing split a\n"
    "batch over many processes or machines (docs/scale-out.md).\n\n"
    "Examples:\n"
    "  neuropaint run -o out photos/ -- neuropaint:canny low=100 high=200\n"
    "  neuropaint run -o out -g seed-contours a.jpg b.jpg\n"
    "  neuropaint run -o out -g my-graph.xml photos/\n"
    "  neuropaint run -o out --aux hints/ photos/ -- neuropaint:colorize", graphs);

  /* Everything after "--" is a GEGL chain, as in the gegl command. */
  for (int i = 1; i < argc; i++)
    if (g_strcmp0 (argv[i], "--") == 0)
      {
        chain = &argv[i + 1];
        argv[i] = NULL;
        argc = i;
        break;
      }

  if (!cli_parse ("run", "INPUT… [-- OPERATION [KEY=VALUE…]…]",
                     "Apply an operation chain or an XML graph to each input image "
                     "(files, or folders of images).",
                     description, entries, &argc, &argv, do_help, &code))
    return code;

  if (opt_output == NULL)
    return cli_fail ("run", CLI_EXIT_USAGE, "--output DIR is required");
  if ((opt_graph != NULL) == (chain != NULL && chain[0] != NULL))
    return cli_fail ("run", CLI_EXIT_USAGE, "give either --graph or an operation chain after --");
  if (opt_aux && !g_file_test (opt_aux, G_FILE_TEST_IS_DIR))
    return cli_fail ("run", CLI_EXIT_USAGE, "--aux %s: not a folder", opt_aux);
  if (cli_threads_option > CLI_MAX_THREADS)
    return cli_fail ("run", CLI_EXIT_USAGE, "--threads must be between 0 (all processors) and %d",
                        CLI_MAX_THREADS);
  /* "-e .png" means png (not small..png). */
  if (opt_ext[0] == '.')
    opt_ext++;
  probe = g_strconcat ("*.", opt_ext, NULL);
  if (!cli_check_output_name (probe, &error))
    return cli_fail ("run", CLI_EXIT_USAGE, "--ext: %s", error->message);
  g_object_set (gegl_config (), "threads", MIN (cli_threads (), CLI_MAX_THREADS), NULL);

  if (opt_graph)
    {
      graph_xml = cli_graph_xml (opt_graph, &path_root, &error);
      if (graph_xml == NULL)
        return cli_fail ("run", CLI_EXIT_USAGE, "%s", error->message);
    }
  else
    path_root = g_get_current_dir ();
  if (chain && !cli_check_chain_nodes (chain, &error))
    return cli_fail ("run", CLI_EXIT_USAGE, "%s", error->message);

  if (!cli_batch_inputs ("run", &opt_batch, opt_inputs, &files, &mine, &shard, &code))
    return code;

  /* Every output is known now: refuse any that would overwrite an input or
   * another output before a single image is touched. */
  stems = cli_output_stems (files);
  outputs = g_ptr_array_new_with_free_func (g_free);
  output_of = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < files->len; i++)
    {
      g_autofree gchar *name = g_strconcat (stems->pdata[i], ".", opt_ext, NULL);
      g_ptr_array_add (outputs, g_build_filename (opt_output, name, NULL));
      g_hash_table_insert (output_of, files->pdata[i], outputs->pdata[i]);
    }
  /* A batch run again finishes what is missing, or cut short. */
  todo = g_ptr_array_new ();
  writes = g_ptr_array_new ();
  for (guint i = 0; i < mine->len; i++)
    if (!opt_batch.skip_existing || !cli_output_complete (g_hash_table_lookup (output_of, mine->pdata[i])))
      {
        g_ptr_array_add (todo, mine->pdata[i]);
        g_ptr_array_add (writes, g_hash_table_lookup (output_of, mine->pdata[i]));
      }
  if (!cli_check_outputs ("run", files, outputs, files, writes, &code))
    return code;
  /* A folder made for results that all fail, or that a signal stops
   * before the first, goes again (only if empty; not in a sharded batch). */
  if (!(folder = cli_batch_folder (&shard, opt_output, &error)))
    return cli_fail_error ("run", g_steal_pointer (&error));

  top = gegl_node_new ();
  run = (CliRun) { .top = top, .chain = chain, .graph_xml = graph_xml, .path_root = path_root,
                  .outputs = output_of };
  code = cli_each_input ("run", "run", todo, run_one, &run, NULL);
  g_clear_pointer (&run.takers, g_ptr_array_unref);
  if (code == CLI_EXIT_OK)
    g_print ("%u image(s) written to %s%s\n", todo->len, opt_output,
             todo->len < mine->len ? " (the others were there already)" : "");
  return code;
}
