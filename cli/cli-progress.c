/* neuropaint — the progress bar on stderr (a line per step when stderr is no
 * terminal, so logs stay readable). */
#define _POSIX_C_SOURCE 200809L

#include "config.h"
#include "cli.h"

#include <stdio.h>
#include <unistd.h>

struct _CliProgress
{
  gchar   *what;
  gsize    total, done;
  gint64   start;
  gboolean tty;
};

CliProgress *
cli_progress_new (const char *what, gsize total)
{
  CliProgress *progress = g_new0 (CliProgress, 1);

  progress->what = g_strdup (what);
  progress->total = total;
  progress->start = g_get_monotonic_time ();
  progress->tty = isatty (STDERR_FILENO);
  return progress;
}

void
cli_progress_step (CliProgress *progress, const char *item)
{
  enum { WIDTH = 30 };
  gsize  filled;
  gchar  bar[WIDTH + 1];
  double elapsed, eta;

  progress->done++;
  if (!progress->tty)
    return;

  filled = progress->total ? progress->done * WIDTH / progress->total : WIDTH;
  memset (bar, '#', filled);
  memset (bar + filled, '-', WIDTH - filled);
  bar[WIDTH] = '\0';
  elapsed = (g_get_monotonic_time () - progress->start) / 1e6;
  eta = progress->done ? elapsed * (progress->total - progress->done) / progress->done : 0;
  fprintf (stderr, "\r\033[K%s [%s] %" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT " %.0fs left %s",
           progress->what, bar, progress->done, progress->total, eta, item ? item : "");
  fflush (stderr);
}

void
cli_progress_clear (CliProgress *progress)
{
  if (progress->tty)
    {
      fprintf (stderr, "\r\033[K");
      fflush (stderr);
    }
}

void
cli_progress_free (CliProgress *progress)
{
  if (progress == NULL)
    return;
  if (progress->tty)
    fprintf (stderr, "\r\033[K");
  g_free (progress->what);
  g_free (progress);
}
