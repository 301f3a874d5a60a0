/* neuropaint models — the models a bare name can refer to (np_model_list):
 * each with its input filter, training size, target and its card's summary,
 * then the folders searched, in order. */
#include "config.h"
#include "cli.h"
#include "neuropaint.h"

static gboolean opt_verbose;

static const GOptionEntry entries[] = {
  { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Also print each model's file and card", NULL },
  { NULL }
};

/* text padded with spaces to width characters (not bytes: "256×320"). */
static void
append_column (GString *line, const char *text, glong width)
{
  g_string_append (line, text);
  for (glong n = g_utf8_strlen (text, -1); n < width; n++)
    g_string_append_c (line, ' ');
  g_string_append (line, "  ");
}

static const char *
meta_or (GHashTable *meta, const char *key, const char *fallback)
{
  const char *value = g_hash_table_lookup (meta, key);
  return value && *value ? value : fallback;
}

int
cli_cmd_models (int argc, char **argv, gboolean do_help)
{
  g_autoptr(GPtrArray) models = NULL;
  g_auto(GStrv)        dirs = NULL;
  g_autoptr(GString)   line = g_string_new (NULL);
  glong                name_width = 4;
  guint                failed = 0;
  int                  code;

  if (!cli_parse ("models", NULL, "List the models a name can refer to.",
                     "A model's name is its file's stem: model=gray2color (in the ops' model\n"
                     "property, or for neuropaint info) finds gray2color.safetensors in the first\n"
                     "of these folders that holds it:\n"
                     "  1. the source tree's models/, when neuropaint or the op runs from the build tree;\n"
                     "  2. $XDG_DATA_HOME/neuropaint/models (~/.local/share/neuropaint/models);\n"
                     "  3. the installed share/neuropaint/models.\n"
                     "Each model is listed with its input filter, training size, target (rgb, or\n"
                     "chroma-ycbcr: colour put on the input's own luminance) and the first line of\n"
                     "its card, NAME.md. An unreadable model is reported; the exit status is then 2.",
                     entries, &argc, &argv, do_help, &code))
    return code;
  if (argc > 1)
    return cli_fail ("models", CLI_EXIT_USAGE, "unexpected argument “%s”", argv[1]);

  models = np_model_list ();
  dirs = np_model_dirs ();
  for (guint i = 0; i < models->len; i++)
    name_width = MAX (name_width, g_utf8_strlen (((NpModelEntry *) models->pdata[i])->name, -1));

  if (models->len > 0)
    {
      append_column (line, "NAME", name_width);
      append_column (line, "INPUT", 8);
      append_column (line, "SIZE", 9);
      append_column (line, "TARGET", 12);
      g_string_append (line, "SUMMARY");
      g_print ("%s\n", line->str);
    }
  for (guint i = 0; i < models->len; i++)
    {
      NpModelEntry        *e = models->pdata[i];
      g_autoptr(GError)    error = NULL;
      g_autoptr(NpSafetensors) st = np_safetensors_read (e->path, &error);
      g_autofree gchar    *summary = e->card ? np_model_card_summary (e->card) : NULL;
      g_autofree gchar    *size = NULL;

      g_string_truncate (line, 0);
      append_column (line, e->name, name_width);
      if (st == NULL)
        {
          failed++;
          g_string_append_printf (line, "(unreadable: %s)", error->message);
          g_print ("%s\n", line->str);
          continue;
        }
      size = g_strdup_printf ("%s×%s", meta_or (st->metadata, "width", "?"), meta_or (st->metadata, "height", "?"));
      append_column (line, meta_or (st->metadata, "input_filter", "none"), 8);
      append_column (line, size, 9);
      append_column (line, meta_or (st->metadata, "target", "rgb"), 12);
      g_string_append (line, summary ? summary : "(no card)");
      g_print ("%s\n", line->str);
      if (opt_verbose)
        g_print ("%*s  file: %s\n%*s  card: %s\n", (int) name_width, "", e->path,
                 (int) name_width, "", e->card ? e->card : "none");
    }

  if (models->len == 0)
    g_print ("No models found.\n");
  g_print ("%sSearched, in this order:\n", models->len ? "\n" : "");
  for (gint i = 0; dirs[i]; i++)
    g_print ("  %s%s\n", dirs[i], g_file_test (dirs[i], G_FILE_TEST_IS_DIR) ? "" : " (absent)");
  if (failed)
    return cli_fail ("models", CLI_EXIT_FAILED, "%u model(s) could not be read", failed);
  return CLI_EXIT_OK;
}
