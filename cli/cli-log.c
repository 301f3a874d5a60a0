/* neuropaint — capturing GEGL's log while a graph runs: its loaders, savers
 * and our ops report failures only as messages, which become one GError. */
#define _POSIX_C_SOURCE 200809L

#include "config.h"
#include "cli.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <stdio.h>
#include <unistd.h>

#include "np-op-host.h"

/* GEGL's loaders and savers report failure only as warnings or lines on
 * stderr (png-save's write errors), and the gegl pipeline goes on with an
 * empty buffer: catch the first message instead. Libraries that write to
 * the stderr descriptor themselves (libpng's "libpng error:" after GEGL's
 * own report) are muted meanwhile, so a bad file gets one message. One
 * capture at a time. */
static CliLogCapture *capturing;

static void
capture_message (CliLogCapture *capture, const gchar *message)
{
  if (capture->message == NULL)
    capture->message = g_strchomp (g_strdup (message));
}

static void
capture_log (const gchar   *domain,
             GLogLevelFlags level,
             const gchar   *message,
             gpointer       data)
{
  CliLogCapture *capture = data;

  /* Our ops report a failure as a message in GEGL's domain, naming the op
   * (np_op_fail), and a notice as one starting NP_OP_NOTICE, shown once the
   * capture ends; GEGL's own messages stay messages. */
  if ((level & G_LOG_LEVEL_MESSAGE) && g_strcmp0 (domain, "GEGL") == 0
      && g_str_has_prefix (message, NP_OP_NOTICE))
    g_ptr_array_add (capture->notices, g_strdup (message + strlen (NP_OP_NOTICE)));
  else if ((level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
      || ((level & G_LOG_LEVEL_MESSAGE) && g_strcmp0 (domain, "GEGL") == 0
          && g_str_has_prefix (message, "neuropaint:")))
    capture_message (capture, message);
  else
    capture->previous (domain, level, message, capture->previous_data);
}

static void
capture_printerr (const gchar *message)
{
  capture_message (capturing, message);
}

void
cli_log_capture_begin (CliLogCapture *capture, const char *hidden, const char *shown)
{
  *capture = (CliLogCapture) { .hidden = hidden, .shown = shown,
                              .notices = g_ptr_array_new_with_free_func (g_free) };
  capture->previous = g_log_set_default_handler (capture_log, capture);
  capturing = capture;
  capture->previous_printerr = g_set_printerr_handler (capture_printerr);
  fflush (stderr);
  capture->saved_stderr = dup (STDERR_FILENO);
  if (capture->saved_stderr >= 0)
    {
      gint null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
      if (null >= 0)
        dup2 (null, STDERR_FILENO), close (null);
    }
}

/* Returns FALSE, with the captured message as error, if anything was caught. */
gboolean
cli_log_capture_end (CliLogCapture *capture, const char *what, GError **error)
{
  g_autoptr(GString) message = NULL;

  if (capture->saved_stderr >= 0)
    {
      fflush (stderr);
      dup2 (capture->saved_stderr, STDERR_FILENO);
      close (capture->saved_stderr);
    }
  g_log_set_default_handler (capture->previous, capture->previous_data);
  g_set_printerr_handler (capture->previous_printerr);
  capturing = NULL;
  /* A notice is a warning about a result, unless there is no result. */
  for (guint i = 0; capture->message == NULL && i < capture->notices->len; i++)
    g_printerr ("%s: warning: %s: %s\n", g_get_prgname (), what, (char *) capture->notices->pdata[i]);
  g_clear_pointer (&capture->notices, g_ptr_array_unref);
  if (capture->message == NULL)
    return TRUE;
  message = g_string_new (capture->message);
  if (capture->hidden)
    g_string_replace (message, capture->hidden, capture->shown, 0);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what, message->str);
  g_clear_pointer (&capture->message, g_free);
  return FALSE;
}
