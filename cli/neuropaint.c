/* neuropaint — the command: a table of subcommands, as git and gio do it.
 *
 * `neuropaint CMD --help` and `neuropaint help CMD` print the same text, and
 * the usage is printed from the table, so the two never drift. */
#include "config.h"
#include "cli.h"

#include <locale.h>
#include <stdio.h>

static int cli_cmd_help (int argc, char **argv, gboolean do_help);
static int cli_cmd_version (int argc, char **argv, gboolean do_help);

static const CliCommand commands[] = {
  { "run",     cli_cmd_run,     CLI_CMD_GEGL, "Apply an operation chain or an XML graph to images" },
  { "demo",    cli_cmd_demo,    CLI_CMD_GEGL, "Render the seed's filtered versions of a sample photo" },
  { "cppn",    cli_cmd_cppn,    CLI_CMD_GEGL, "Render abstract art from a random network (CPPN)" },
  { "dream",   cli_cmd_dream,   CLI_CMD_GEGL, "Dream faces with a noise model: a grid of seeds, or a latent walk" },
  { "detect",  cli_cmd_detect,  CLI_CMD_GEGL, "Find faces (Haar cascade, as OpenCV's detectMultiScale)" },
  { "crop",    cli_cmd_crop,    CLI_CMD_GEGL, "Crop faces with the seed's padding; write a manifest" },
  { "prepare", cli_cmd_prepare, 0,           "Make a training dataset: face crops, their filtered versions, a manifest" },
  { "merge",   cli_cmd_merge,   0,           "Join the parts of a batch split with --shard (crop manifests, datasets)" },
  { "bench",   cli_cmd_bench,   CLI_CMD_GEGL, "Time a stage in-process; print JSON lines" },
  { "train",   cli_cmd_train,   0,           "Train a generator on a dataset (pix2pix and the seed's experiments)" },
  { "info",    cli_cmd_info,    0,           "Describe a model: architecture, parameters, metadata" },
  { "models",  cli_cmd_models,  0,           "List the models found by name, with their input, size and summary" },
  { "help",    cli_cmd_help,    0,           "Show help for the command or a subcommand" },
  { "version", cli_cmd_version, 0,           "Print the version" },
  { NULL }
};

static const CliCommand *
find_command (const char *name)
{
  for (const CliCommand *c = commands; c->name; c++)
    if (g_strcmp0 (c->name, name) == 0)
      return c;
  return NULL;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage:\n  neuropaint COMMAND [OPTION…]\n\n"
                "Generative painting with neural networks, on GEGL.\n\nCommands:\n");
  for (const CliCommand *c = commands; c->name; c++)
    fprintf (out, "  %-9s %s\n", c->name, c->summary);
  fprintf (out, "\nUse “neuropaint COMMAND --help” for a command's options.\n");
}

static int
cli_cmd_help (int argc, char **argv, gboolean do_help)
{
  const CliCommand *c;

  if (argc < 2 || do_help)
    {
      print_usage (stdout);
      return CLI_EXIT_OK;
    }
  c = find_command (argv[1]);
  if (c == NULL)
    return cli_fail ("help", CLI_EXIT_USAGE, "unknown command “%s”", argv[1]);
  return c->func (1, argv + 1, TRUE);
}

static int
cli_cmd_version (int argc, char **argv, gboolean do_help)
{
  int bmajor, bminor, bmicro;

  babl_get_version (&bmajor, &bminor, &bmicro);
  g_print ("neuropaint %s (GEGL %d.%d.%d, babl %d.%d.%d)\n", NP_VERSION,
           GEGL_MAJOR_VERSION, GEGL_MINOR_VERSION, GEGL_MICRO_VERSION,
           bmajor, bminor, bmicro);
  return CLI_EXIT_OK;
}

static int
run_command (int argc, char **argv)
{
  const CliCommand *c;
  gboolean do_help = FALSE;
  int code;

  if (argc < 2)
    {
      print_usage (stderr);
      return CLI_EXIT_USAGE;
    }
  if (g_strcmp0 (argv[1], "--help") == 0 || g_strcmp0 (argv[1], "-h") == 0)
    return cli_cmd_help (1, argv + 1, FALSE);
  if (g_strcmp0 (argv[1], "--version") == 0)
    return cli_cmd_version (1, argv + 1, FALSE);

  c = find_command (argv[1]);
  if (c == NULL)
    {
      g_printerr ("neuropaint: unknown command “%s”\n\n", argv[1]);
      print_usage (stderr);
      return CLI_EXIT_USAGE;
    }

  if (c->flags & CLI_CMD_GEGL)
    {
      g_autoptr(GError) error = NULL;
      for (int i = 2; i < argc; i++)
        if (g_strcmp0 (argv[i], "--help") == 0 || g_strcmp0 (argv[i], "-h") == 0)
          do_help = TRUE;
      if (!do_help && !cli_gegl_init (&error))
        return cli_fail (c->name, CLI_EXIT_FAILED, "%s", error->message);
    }

  code = c->func (argc - 1, argv + 1, FALSE);

  if ((c->flags & CLI_CMD_GEGL) && !do_help)
    gegl_exit ();
  return code;
}

int
main (int argc, char **argv)
{
  const CliCommand *c = argc > 1 ? find_command (argv[1]) : NULL;

  setlocale (LC_ALL, "");
  cli_std_fds_open ();
  return cli_stdout_close (c ? c->name : NULL, run_command (argc, argv));
}
