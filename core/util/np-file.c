/* neuropaint — regular files only: open without blocking, then fstat. */
#define _POSIX_C_SOURCE 200809L

#include "np-file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void
fail (GError **error, gint code, const char *path, const char *problem)
{
  g_autofree gchar *name = g_filename_display_name (path);
  g_set_error (error, NP_ERROR, code, "%s: %s", name, problem);
}

gint
np_file_open (const char *path, GError **error)
{
  struct stat st;
  const char *kind = NULL;
  gint        fd;

  /* O_NONBLOCK: a FIFO opens at once instead of waiting for a writer. */
  fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    {
      fail (error, NP_ERROR_IO, path, g_strerror (errno));
      return -1;
    }
  if (fstat (fd, &st) != 0)
    kind = g_strerror (errno);
  else if (S_ISDIR (st.st_mode))
    kind = "a folder, not a file";
  else if (S_ISFIFO (st.st_mode) || S_ISSOCK (st.st_mode))
    kind = "a pipe or socket, not a regular file";
  else if (!S_ISREG (st.st_mode))
    kind = "a device, not a regular file";
  if (kind)
    {
      close (fd);
      fail (error, NP_ERROR_IO, path, kind);
      return -1;
    }
  /* Reads of a regular file never block; clear the flag all the same. */
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

GBytes *
np_file_read (const char *path, gsize max_size, GError **error)
{
  gint        fd = np_file_open (path, error);
  struct stat st;
  guint8     *data;
  gsize       done = 0;

  if (fd < 0)
    return NULL;
  if (fstat (fd, &st) != 0 || (guint64) st.st_size > max_size)
    {
      g_autofree gchar *limit = g_format_size_full (max_size, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree gchar *problem = g_strdup_printf ("larger than the %s limit for such a file", limit);
      close (fd);
      fail (error, NP_ERROR_TOO_LARGE, path, problem);
      return NULL;
    }
  data = g_malloc (st.st_size + 1);
  while (done < (gsize) st.st_size)
    {
      gssize n = read (fd, data + done, st.st_size - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          /* A file that shrank under us reads as what is there. */
          if (n == 0)
            break;
          fail (error, NP_ERROR_IO, path, g_strerror (errno));
          close (fd);
          g_free (data);
          return NULL;
        }
      done += n;
    }
  close (fd);
  data[done] = '\0';   /* text formats may parse it as a string */
  return g_bytes_new_take (data, done);
}

GMappedFile *
np_file_map (const char *path, GError **error)
{
  g_autoptr(GError) map_error = NULL;
  gint         fd = np_file_open (path, error);
  GMappedFile *file;

  if (fd < 0)
    return NULL;
  file = g_mapped_file_new_from_fd (fd, FALSE, &map_error);
  close (fd);
  if (file == NULL)
    fail (error, NP_ERROR_IO, path, map_error->message);
  return file;
}
