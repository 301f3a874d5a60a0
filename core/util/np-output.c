/* neuropaint — atomic output files: temporary file, checked writes, fsync,
 * rename. */
#define _POSIX_C_SOURCE 200809L

#include "np-output.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

struct _NpOutput
{
  gchar   *path;
  gchar   *tmp;
  gint     fd;        /* -1 once closed */
  gboolean committed;
};

static gboolean
io_fail (const NpOutput *output, int errsv, GError **error)
{
  g_autofree gchar *name = g_filename_display_name (output->path);
  g_set_error (error, NP_ERROR, NP_ERROR_IO, "%s: %s", name, g_strerror (errsv));
  return FALSE;
}

NpOutput *
np_output_new (const char *path, GError **error)
{
  g_autofree gchar *dir = g_path_get_dirname (path);
  NpOutput *output = g_new0 (NpOutput, 1);

  output->path = g_strdup (path);
  /* A short name: the final name may already be near NAME_MAX. */
  output->tmp = g_build_filename (dir, ".np-XXXXXX", NULL);
  output->fd = g_mkstemp_full (output->tmp, O_RDWR | O_CLOEXEC, 0666);
  if (output->fd < 0)
    {
      io_fail (output, errno, error);
      g_clear_pointer (&output->tmp, g_free);
      np_output_free (output);
      return NULL;
    }
  return output;
}

const char *
np_output_path (const NpOutput *output)
{
  return output->path;
}

const char *
np_output_tmp_path (const NpOutput *output)
{
  return output->tmp;
}

gboolean
np_output_write_at (NpOutput *output, const void *data, gsize size, goffset offset,
                    GError **error)
{
  const guint8 *p = data;

  g_return_val_if_fail (output->fd >= 0, FALSE);
  while (size > 0)
    {
      gssize n = offset < 0 ? write (output->fd, p, size) : pwrite (output->fd, p, size, offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return io_fail (output, n < 0 ? errno : ENOSPC, error);
      p += n, size -= n;
      if (offset >= 0)
        offset += n;
    }
  return TRUE;
}

gboolean
np_output_write (NpOutput *output, const void *data, gsize size, GError **error)
{
  return np_output_write_at (output, data, size, -1, error);
}

gboolean
np_output_commit (NpOutput *output, GError **error)
{
  gint fd = output->fd;

  g_return_val_if_fail (fd >= 0 && !output->committed, FALSE);
  output->fd = -1;
  /* A full disk may only show at fsync or close (delayed allocation). */
  if (fsync (fd) != 0)
    {
      int errsv = errno;
      close (fd);
      return io_fail (output, errsv, error);
    }
  if (close (fd) != 0)
    return io_fail (output, errno, error);
  if (g_rename (output->tmp, output->path) != 0)
    return io_fail (output, errno, error);
  output->committed = TRUE;
  return TRUE;
}

void
np_output_free (NpOutput *output)
{
  if (output == NULL)
    return;
  if (output->fd >= 0)
    close (output->fd);
  if (output->tmp && !output->committed)
    g_unlink (output->tmp);
  g_free (output->tmp);
  g_free (output->path);
  g_free (output);
}

gboolean
np_output_set_contents (const char *path, const void *data, gsize size, GError **error)
{
  g_autoptr(NpOutput) output = np_output_new (path, error);

  return output && np_output_write (output, data, size, error) && np_output_commit (output, error);
}
