/* neuropaint — the command: a table of subcommands, as git and gio do it.
 *
 * `neuropaint CMD --help` and `neuropaint help CMD` print the same text, and
 * the usage is printed from the table, so the two never drift. */
#include "config.h"
#include "np-cli.h"

#include <locale.h>
#include <stdio.h>

static int np_cmd_help (int argc, char **argv, gboolean do_help);
static int np_cmd_version (int argc, char **argv, gboolean do_help);

static const NpCommand commands[] = {
  { "run",     np_cmd_run,     NP_CMD_GEGL, "Apply an operation chain or an XML graph to images" },
  { "demo",    np_cmd_demo,    NP_CMD_GEGL, "Render the seed's filtered versions of a sample photo" },
  { "cppn",    np_cmd_cppn,    NP_CMD_GEGL, "Render abstract art from a random network (CPPN)" },
  { "detect",  np_cmd_detect,  NP_CMD_GEGL, "Find faces (Haar cascade, as OpenCV's detectMultiScale)" },
  { "crop",    np_cmd_crop,    NP_CMD_GEGL, "Crop faces with the seed's padding; write a manifest" },
  { "prepare", np_cmd_prepare, 0,           "Make a training dataset: face crops, their filtered versions, a manifest" },
  { "merge",   np_cmd_merge,   0,           "Join the parts of a batch split with --shard (crop manifests, datasets)" },
  { "bench",   np_cmd_bench,   NP_CMD_GEGL, "Time a stage in-process; print JSON lines" },
  { "train",   np_cmd_train,   0,           "Train a generator on a dataset (pix2pix and the seed's experiments)" },
  { "info",    np_cmd_info,    0,           "Describe a model: architecture, parameters, metadata" },
  { "models",  np_cmd_models,  0,           "List the models found by name, with their input, size and summary" },
  { "help",    np_cmd_help,    0,           "Show help for the command or a subcommand" },
  { "version", np_cmd_version, 0,           "Print the version" },
  { NULL }
};

static const NpCommand *
find_command (const char *name)
{
  for (const NpCommand *c = commands; c->name; c++)
    if (g_strcmp0 (c->name, name) == 0)
      return c;
  return NULL;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage:\n  neuropaint COMMAND [OPTION…]\n\n"
                "Generative painting with neural networks, on GEGL.\n\nCommands:\n");
  for (const NpCommand *c = commands; c->name; c++)
    fprintf (out, "  %-9s %s\n", c->name, c->summary);
  fprintf (out, "\nUse “neuropaint COMMAND --help” for a command's options.\n");
}

static int
np_cmd_help (int argc, char **argv, gboolean do_help)
{
  const NpCommand *c;

  if (argc < 2 || do_help)
    {
      print_usage (stdout);
      return NP_EXIT_OK;
    }
  c = find_command (argv[1]);
  if (c == NULL)
    return np_cli_fail ("help", NP_EXIT_USAGE, "unknown command “%s”", argv[1]);
  return c->func (1, argv + 1, TRUE);
}

static int
np_cmd_version (int argc, char **argv, gboolean do_help)
{
  int bmajor, bminor, bmicro;

  babl_get_version (&bmajor, &bminor, &bmicro);
  g_print ("neuropaint %s (GEGL %d.%d.%d, babl %d.%d.%d)\n", NP_VERSION,
           GEGL_MAJOR_VERSION, GEGL_MINOR_VERSION, GEGL_MICRO_VERSION,
           bmajor, bminor, bmicro);
  return NP_EXIT_OK;
}

static int
run_command (int argc, char **argv)
{
  const NpCommand *c;
  gboolean do_help = FALSE;
  int code;

  if (argc < 2)
    {
      print_usage (stderr);
      return NP_EXIT_USAGE;
    }
  if (g_strcmp0 (argv[1], "--help") == 0 || g_strcmp0 (argv[1], "-h") == 0)
    return np_cmd_help (1, argv + 1, FALSE);
  if (g_strcmp0 (argv[1], "--version") == 0)
    return np_cmd_version (1, argv + 1, FALSE);

  c = find_command (argv[1]);
  if (c == NULL)
    {
      g_printerr ("neuropaint: unknown command “%s”\n\n", argv[1]);
      print_usage (stderr);
      return NP_EXIT_USAGE;
    }

  if (c->flags & NP_CMD_GEGL)
    {
      g_autoptr(GError) error = NULL;
      for (int i = 2; i < argc; i++)
        if (g_strcmp0 (argv[i], "--help") == 0 || g_strcmp0 (argv[i], "-h") == 0)
          do_help = TRUE;
      if (!do_help && !np_cli_gegl_init (&error))
        return np_cli_fail (c->name, NP_EXIT_FAILED, "%s", error->message);
    }

  code = c->func (argc - 1, argv + 1, FALSE);

  if ((c->flags & NP_CMD_GEGL) && !do_help)
    gegl_exit ();
  return code;
}

int
main (int argc, char **argv)
{
  const NpCommand *c = argc > 1 ? find_command (argv[1]) : NULL;

  setlocale (LC_ALL, "");
  np_cli_std_fds_open ();
  return np_cli_stdout_close (c ? c->name : NULL, run_command (argc, argv));
}
