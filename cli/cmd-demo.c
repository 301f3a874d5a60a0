/* neuropaint demo — the point of the project on built-in inputs: a sample
 * photo that ships with Debian filtered as the seed did, made gray and
 * coloured again, its contours and edges turned back into colour, its face
 * coloured, its size doubled; a dream face and CPPN art. Every result is a
 * built-in graph; one whose models are not all installed is skipped,
 * saying which, and the rest are still written. */
#include "config.h"
#include "cli.h"

#include <glib/gstdio.h>

#define CLI_DEMO_IMAGE "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"

/* What the demo writes: graph GRAPH as GRAPH.png. */
typedef struct
{
  const char *graph;
  const char *models[2];  /* the models the graph needs, or none */
  gboolean    source;     /* renders from nothing (no gegl:load) */
} CliDemoItem;

static const CliDemoItem items[] = {
  { "seed-gray" },
  { "seed-binary" },
  { "seed-contours" },
  { "seed-canny" },
  { "colorize", { "gray2color" } },          /* the photo made gray and coloured again */
  { "face-colorize", { "gray2color" } },
  { "contours-color", { "contours2color" } },
  { "canny-color", { "canny2color" } },
  { "sr2x", { "sr2x" } },
  /* noise2face dreams at 64×80; sr2x doubles that twice to the graph's 256×320. */
  { "dream-face", { "noise2face", "sr2x" }, TRUE },
  { "cppn-art", { NULL }, TRUE },
};

static gchar *opt_output = "neuropaint-demo";
static gchar *opt_image = CLI_DEMO_IMAGE;

static const GOptionEntry entries[] = {
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "Folder for the results (default neuropaint-demo)", "DIR" },
  { "image", 'i', 0, G_OPTION_ARG_FILENAME, &opt_image, "Photo to use (default: Debian's astronaut.png from python3-skimage)", "FILE" },
  CLI_MAX_PIXELS_ENTRY,
  { NULL }
};

static gchar *
output_path (const CliDemoItem *item)
{
  g_autofree gchar *name = g_strconcat (item->graph, ".png", NULL);
  return g_build_filename (opt_output, name, NULL);
}

/* Renders one item into its file. */
static gboolean
render (const CliDemoItem *item, GeglBuffer *photo, GError **error)
{
  g_autofree gchar    *root = NULL, *path = output_path (item);
  g_autofree gchar    *xml = cli_graph_xml (item->graph, &root, error);
  g_autoptr(GeglNode)  top = gegl_node_new ();
  GeglNode            *graph;

  if (xml == NULL)
    return FALSE;
  graph = cli_graph_add (top, xml, root, item->source ? NULL : photo, NULL, error);
  return graph && cli_save (graph, path, error);
}

int
cli_cmd_demo (int argc, char **argv, gboolean do_help)
{
  g_autoptr(GeglBuffer) photo = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) inputs = g_ptr_array_new ();
  g_autoptr(GPtrArray) outputs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) missing = g_ptr_array_new ();
  CliProgress *progress;
  guint failed = 0, written = 0;
  int code;

  if (!cli_parse ("demo", NULL,
                     "Show what neuropaint does, on a sample photo: the seed's four filtered versions "
                     "(gray, binary, contours, Canny), the photo made gray and coloured again, its "
                     "face coloured, its contours and edges turned back into colour, its size "
                     "doubled, a dream face and CPPN art, each a PNG named after its built-in graph.",
                     "Results that need a model (gray2color, contours2color, canny2color, sr2x;\n"
                     "the dream face noise2face and sr2x; see neuropaint models) are skipped, saying\n"
                     "which, when one is not installed; the others are still written. The exit\n"
                     "status is 2 only when a result could not be made.",
                     entries, &argc, &argv, do_help, &code))
    return code;
  if (argc > 1)
    return cli_fail ("demo", CLI_EXIT_USAGE, "unexpected argument “%s”", argv[1]);

  /* The results never replace the photo. */
  g_ptr_array_add (inputs, opt_image);
  for (gsize i = 0; i < G_N_ELEMENTS (items); i++)
    g_ptr_array_add (outputs, output_path (&items[i]));
  if (!cli_check_outputs ("demo", inputs, outputs, NULL, NULL, &code))
    return code;

  photo = cli_load_image (opt_image, NULL, &error);
  if (photo == NULL)
    return cli_fail ("demo", CLI_EXIT_FAILED, "%s%s", error->message,
                        g_strcmp0 (opt_image, CLI_DEMO_IMAGE) == 0
                          ? " (install python3-skimage, or pass --image)" : "");
  if (g_mkdir_with_parents (opt_output, 0755) != 0)
    return cli_fail ("demo", CLI_EXIT_FAILED, "%s: %s", opt_output, g_strerror (errno));

  progress = cli_progress_new ("demo", G_N_ELEMENTS (items));
  for (gsize i = 0; i < G_N_ELEMENTS (items); i++)
    {
      const CliDemoItem *item = &items[i];
      g_autofree gchar *name = g_path_get_basename (outputs->pdata[i]);
      g_autoptr(GString) lacking = g_string_new (NULL);
      guint n_lacking = 0;

      for (gsize m = 0; m < G_N_ELEMENTS (item->models) && item->models[m]; m++)
        {
          g_autofree gchar *path = np_model_resolve (item->models[m], NULL);
          if (path)
            continue;
          g_string_append_printf (lacking, "%s“%s”", n_lacking++ ? " and " : "", item->models[m]);
          if (!g_ptr_array_find_with_equal_func (missing, item->models[m], g_str_equal, NULL))
            g_ptr_array_add (missing, (gpointer) item->models[m]);
        }
      if (n_lacking)
        {
          cli_progress_clear (progress);
          g_printerr ("neuropaint demo: %s skipped: it needs the model%s %s, which %s not installed\n", name,
                      n_lacking > 1 ? "s" : "", lacking->str, n_lacking > 1 ? "are" : "is");
        }
      else if (!render (item, photo, &error))
        {
          cli_progress_clear (progress);
          g_printerr ("neuropaint demo: %s: %s\n", name, error->message);
          g_clear_error (&error);
          failed++;
        }
      else
        written++;
      cli_progress_step (progress, name);
    }
  cli_progress_free (progress);

  g_print ("%u of %" G_GSIZE_FORMAT " results written to %s/ (from %s)\n", written, G_N_ELEMENTS (items),
           opt_output, opt_image);
  if (missing->len > 0)
    {
      g_auto(GStrv)     dirs = np_model_dirs ();
      g_autofree gchar *where = g_strjoinv (", ", dirs);
      g_autofree gchar *names = NULL;

      /* A model that is not installed is the installation's choice, not a
       * failure of the demo: said once, and the demo still succeeds. */
      g_ptr_array_add (missing, NULL);
      names = g_strjoinv (", ", (gchar **) missing->pdata);
      g_printerr ("neuropaint demo: models not installed: %s (looked in %s; neuropaint models lists what is "
                  "there)\n", names, where);
    }
  return failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}
