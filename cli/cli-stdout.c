/* neuropaint — standard output checked as any file: a full disk or a closed
 * stream is an error and a non-zero exit, never a silently truncated output. */
#define _POSIX_C_SOURCE 200809L

#include "config.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

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
cli_std_fds_open (void)
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
cli_stdout_flush (GError **error)
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
cli_stdout_close (const char *command, int exit_code)
{
  gboolean told = stdout_reported;

  if (cli_stdout_flush (NULL) && fclose (stdout) != 0)
    stdout_errno = errno;
  if (stdout_errno == 0)
    return exit_code;
  if (!told)
    g_printerr ("neuropaint%s%s: standard output: %s\n", command ? " " : "", command ? command : "",
                g_strerror (stdout_errno));
  return exit_code == CLI_EXIT_OK ? CLI_EXIT_FAILED : exit_code;
}
