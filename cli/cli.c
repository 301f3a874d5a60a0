/* neuropaint — what every subcommand uses: option parsing, failing with one
 * message, sorting names, --size, --threads. The other shared helpers live
 * one concern a file in cli-*.c (see cli.h), so each can be read on its own. */
#define _GNU_SOURCE   /* sched_getaffinity, CPU_COUNT */

#include "config.h"
#include "cli.h"

#include <sched.h>
#include <stdio.h>

gint cli_threads_option;

gboolean
cli_parse_threads (const gchar *option_name, const gchar *value, gpointer data, GError **error)
{
  guint64 n;

  if (*value == '\0')
    {
      cli_threads_option = 0;
      return TRUE;
    }
  if (!g_ascii_string_to_unsigned (value, 10, 0, G_MAXINT, &n, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s: a number of threads (or empty: every processor this process may use), not “%s”",
                   option_name, value);
      return FALSE;
    }
  cli_threads_option = (gint) n;
  return TRUE;
}

gint
cli_threads (void)
{
  cpu_set_t allowed;

  if (cli_threads_option > 0)
    return cli_threads_option;
  /* The processors this process may run on (taskset, Slurm's task
   * binding, a container's cpuset), not the machine's:
   * g_get_num_processors counts the latter. */
  if (sched_getaffinity (0, sizeof allowed, &allowed) == 0 && CPU_COUNT (&allowed) > 0)
    return CPU_COUNT (&allowed);
  return (gint) g_get_num_processors ();
}

gboolean
cli_parse (const char          *command,
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
      *exit_code = CLI_EXIT_OK;
      return FALSE;
    }

  /* argv[0] is the command name itself, as GOption expects. */
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("neuropaint %s: %s\nTry “neuropaint %s --help”.\n",
                  command, error->message, command);
      *exit_code = CLI_EXIT_USAGE;
      return FALSE;
    }
  if (cli_max_pixels < 1)
    {
      *exit_code = cli_fail (command, CLI_EXIT_USAGE, "--max-pixels must be at least 1, not %" G_GINT64_FORMAT,
                                cli_max_pixels);
      return FALSE;
    }
  return TRUE;
}

int
cli_fail (const char *command, int exit_code, const char *format, ...)
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
cli_fail_error (const char *command, GError *error)
{
  int code = cli_fail (command, CLI_EXIT_FAILED, "%s", error->message);
  g_error_free (error);
  return code;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

void
cli_sort_strings (GPtrArray *strings)
{
  g_ptr_array_sort (strings, compare_strings);
}

gboolean
cli_parse_size (const char *text, gint *width, gint *height)
{
  char end;

  return sscanf (text, "%dx%d%c", width, height, &end) == 2
         && *width >= 1 && *height >= 1 && *width <= 8192 && *height <= 8192;
}
