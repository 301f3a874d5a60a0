/* neuropaint info — what a model (a file, or a name np_model_resolve finds)
 * holds: architecture, parameter count, metadata and the layer list, after
 * the same checks loading it for real would make (so `info` doubles as a
 * validator). */
#include "config.h"
#include "cli.h"
#include "neuropaint.h"

#include <string.h>

static gboolean opt_layers;

static const GOptionEntry entries[] = {
  { "layers", 'l', 0, G_OPTION_ARG_NONE, &opt_layers, "Also print the network description", NULL },
  { NULL }
};

static gboolean
describe (const char *path, gpointer data, gboolean *stop, GError **error)
{
  g_autofree gchar *file = np_model_resolve (path, error);
  g_autoptr(NpNet) net = file ? np_net_load (file, error) : NULL;
  g_autoptr(GList) keys = NULL;
  GHashTable *meta;

  if (net == NULL)
    return FALSE;
  meta = np_net_metadata (net);
  g_print ("%s\n", file);
  g_print ("  architecture: %s\n", (char *) g_hash_table_lookup (meta, "architecture") ?: "graph");
  g_print ("  parameters:   %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT " with batch-norm statistics)\n",
           np_net_n_parameters (net, FALSE), np_net_n_parameters (net, TRUE));
  g_print ("  layers:       %d\n", np_net_n_layers (net));
  for (gint j = 0; j < np_net_n_inputs (net); j++)
    g_print ("  input %d:      %" G_GINT64_FORMAT " channels\n", j, np_net_input_channels (net, j));
  g_print ("  output:       %" G_GINT64_FORMAT " channels\n", np_net_output_channels (net));
  g_print ("  size multiple: %d\n", np_net_size_multiple (net));
  g_print ("  batch norm:   %s statistics\n", np_net_get_bn_mode (net) == NP_BN_BATCH ? "batch" : "running");
  keys = g_list_sort (g_hash_table_get_keys (meta), (GCompareFunc) strcmp);
  g_print ("  metadata:\n");
  for (GList *k = keys; k; k = k->next)
    if (strcmp (k->data, "graph") != 0)
      {
        /* A value of several lines (trained_from's commands) stays indented. */
        g_auto(GStrv) lines = g_strsplit (g_hash_table_lookup (meta, k->data), "\n", -1);
        g_autofree gchar *value = g_strjoinv ("\n      ", lines);
        g_print ("    %s = %s\n", (char *) k->data, value);
      }
  if (opt_layers)
    {
      g_autofree gchar *text = g_strchomp (g_strdup (np_net_description (net)));
      g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
      g_autofree gchar *indented = g_strjoinv ("\n    ", lines);
      g_print ("  network:\n    %s\n", indented);
    }
  return TRUE;
}

int
cli_cmd_info (int argc, char **argv, gboolean do_help)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new ();
  int code;

  if (!cli_parse ("info", "MODEL…", "Describe models: files (safetensors) or names.",
                     "Prints the architecture, the parameter count, the input size multiple and\n"
                     "the metadata (input filter, image size, normalisation) of each model, given\n"
                     "as a file or by name (gray2color; see neuropaint models).\n"
                     "A bad file is reported and skipped; the exit status is then 2.",
                     entries, &argc, &argv, do_help, &code))
    return code;
  if (argc < 2)
    return cli_fail ("info", CLI_EXIT_USAGE, "name a model file");
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (files, argv[i]);
  return cli_each_input ("info", NULL, files, describe, NULL, NULL);
}
