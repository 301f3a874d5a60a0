/* neuropaint demo — the main job on built-in inputs: the seed's filtered
 * versions of a sample photo that ships with Debian, and a CPPN render. */
#include "config.h"
#include "np-cli.h"

#include <glib/gstdio.h>

#define NP_DEMO_IMAGE "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"

static gchar *opt_output = "neuropaint-demo";
static gchar *opt_image = NP_DEMO_IMAGE;

static const GOptionEntry entries[] = {
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "Folder for the results (default neuropaint-demo)", "DIR" },
  { "image", 'i', 0, G_OPTION_ARG_FILENAME, &opt_image, "Photo to filter (default: Debian's astronaut.png from python3-skimage)", "FILE" },
  NP_CLI_MAX_PIXELS_ENTRY,
  { NULL }
};

int
np_cmd_demo (int argc, char **argv, gboolean do_help)
{
  g_auto(GStrv) graphs = np_cli_graph_names ();
  g_autoptr(GeglBuffer) photo = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) inputs = g_ptr_array_new ();
  g_autoptr(GPtrArray) outputs = g_ptr_array_new_with_free_func (g_free);
  NpProgress *progress;
  int code;

  if (!np_cli_parse ("demo", NULL,
                     "Render the seed's four filtered versions (gray, binary, contours, "
                     "Canny) of a photo, and a 512×512 CPPN art picture, into a folder.",
                     NULL, entries, &argc, &argv, do_help, &code))
    return code;
  if (argc > 1)
    return np_cli_fail ("demo", NP_EXIT_USAGE, "unexpected argument “%s”", argv[1]);

  /* The results (the seed's filters and the CPPN art) never replace the photo. */
  g_ptr_array_add (inputs, opt_image);
  for (int i = 0; graphs[i]; i++)
    if (g_str_has_prefix (graphs[i], "seed-") || g_str_equal (graphs[i], "cppn-art"))
      {
        g_autofree gchar *name = g_strconcat (graphs[i], ".png", NULL);
        g_ptr_array_add (outputs, g_build_filename (opt_output, name, NULL));
      }
  if (!np_cli_check_outputs ("demo", inputs, outputs, NULL, &code))
    return code;

  photo = np_cli_load_image (opt_image, NULL, &error);
  if (photo == NULL)
    return np_cli_fail ("demo", NP_EXIT_FAILED, "%s%s", error->message,
                        g_strcmp0 (opt_image, NP_DEMO_IMAGE) == 0
                          ? " (install python3-skimage, or pass --image)" : "");
  if (g_mkdir_with_parents (opt_output, 0755) != 0)
    return np_cli_fail ("demo", NP_EXIT_FAILED, "%s: %s", opt_output, g_strerror (errno));

  progress = np_progress_new ("demo", g_strv_length (graphs));
  for (int i = 0; graphs[i]; i++)
    {
      g_autofree gchar *root = NULL;
      g_autofree gchar *xml = np_cli_graph_xml (graphs[i], &root, &error);
      g_autofree gchar *name = g_strconcat (graphs[i], ".png", NULL);
      g_autofree gchar *path = g_build_filename (opt_output, name, NULL);
      g_autoptr(GeglNode) top = gegl_node_new ();
      gboolean  art = g_strcmp0 (graphs[i], "cppn-art") == 0;
      GeglNode *graph;

      if (!g_str_has_prefix (graphs[i], "seed-") && !art)
        {
          np_progress_step (progress, NULL);
          continue;
        }
      graph = np_cli_graph_add (top, xml, root, art ? NULL : photo, NULL, &error);
      if (graph == NULL || !np_cli_save (graph, path, &error))
        {
          np_progress_free (progress);
          return np_cli_fail_error ("demo", g_steal_pointer (&error));
        }
      np_progress_step (progress, name);
    }
  np_progress_free (progress);
  g_print ("The seed's filtered versions of %s and CPPN art are in %s/\n", opt_image, opt_output);
  return NP_EXIT_OK;
}
