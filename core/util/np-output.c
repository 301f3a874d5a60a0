/* neuropaint — atomic output files: an unnamed temporary file (O_TMPFILE)
 * or a named one, checked writes, fsync, link or rename; devices and pipes
 * written into; named temporary files removed on signals.
 *
 * The live outputs form a list that a signal handler walks, so it is read
 * without locks: an output is linked in fully built, its temporary name is
 * set before the file of that name exists (so no instant has a file the
 * handler cannot see), outputs are unlinked under a mutex by writers, and
 * memory is freed only while no handler has started (`dying`, checked after
 * the unlink: with sequentially consistent atomics either the handler sees
 * the output gone or the writer sees `dying` and leaves the memory alone for
 * the few instants the process has left). */
#define _GNU_SOURCE   /* O_TMPFILE */

#include "np-output.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

struct _NpOutput
{
  NpOutput *next;      /* the list of live outputs */
  pid_t     owner;     /* a forked child must not remove its parent's files */
  gchar    *path;      /* as given: messages name it */
  gchar    *target;    /* where the bytes go: path, or the file a symbolic link names */
  gchar    *tmp;       /* the temporary file's name; NULL while it has none */
  gchar    *writer_path;
  gint      fd;        /* -1 once closed */
  gboolean  stream;    /* target is a device or a pipe: written into at commit */
  gboolean  held;      /* closed, but kept open and unnamed (held_open counts it) */
  gchar   **made;      /* a folder output: the folders it made, deepest first */
  gboolean  committed;
};

static NpOutput *live;
static GMutex    live_lock;
static gint      dying;
static gint      held_open;   /* closed outputs whose unnamed file is held open */

/* Every signal whose default action ends the process (and that a handler
 * can catch): SIGKILL is left to the unnamed files. */
static const int cleanup_signals[] = {
  SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE, SIGXCPU, SIGXFSZ,
};

void
np_output_remove_all (void)
{
  pid_t self = getpid ();

  g_atomic_int_set (&dying, 1);
  for (NpOutput *o = g_atomic_pointer_get (&live); o; o = g_atomic_pointer_get (&o->next))
    {
      const char *tmp = g_atomic_pointer_get (&o->tmp);
      if (tmp && o->owner == self)
        unlink (tmp);
    }
  /* Then the folders, which the files above may have been in. */
  for (NpOutput *o = g_atomic_pointer_get (&live); o; o = g_atomic_pointer_get (&o->next))
    for (gchar **d = o->made; d && *d && o->owner == self; d++)
      rmdir (*d);
}

static void
on_signal (int sig)
{
  np_output_remove_all ();
  /* SA_RESETHAND restored the default action: dying of the same signal tells
   * the parent (a shell, a test) what happened. */
  raise (sig);
}

static void
remove_at_exit (void)
{
  np_output_remove_all ();
}

static gpointer
install_cleanup (gpointer data)
{
  for (guint i = 0; i < G_N_ELEMENTS (cleanup_signals); i++)
    {
      struct sigaction old, action = { 0 };

      /* An ignored signal (nohup) stays ignored, and a program's own handler
       * stays in charge (it can call np_output_remove_all). */
      if (sigaction (cleanup_signals[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL
          || (old.sa_flags & SA_SIGINFO))
        continue;
      action.sa_handler = on_signal;
      action.sa_flags = SA_RESETHAND;
      sigemptyset (&action.sa_mask);
      sigaction (cleanup_signals[i], &action, NULL);
    }
  atexit (remove_at_exit);
  return NULL;
}

static void
live_add (NpOutput *output)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, install_cleanup, NULL);
  g_mutex_lock (&live_lock);
  output->next = live;
  g_atomic_pointer_set (&live, output);
  g_mutex_unlock (&live_lock);
}

static void
live_remove (NpOutput *output)
{
  g_mutex_lock (&live_lock);
  for (NpOutput **p = &live; *p; p = &(*p)->next)
    if (*p == output)
      {
        g_atomic_pointer_set (p, output->next);
        break;
      }
  g_mutex_unlock (&live_lock);
}

static gboolean
io_fail (const NpOutput *output, int errsv, GError **error)
{
  g_autofree gchar *name = g_filename_display_name (output->path);
  g_set_error (error, NP_ERROR, NP_ERROR_IO, "%s: %s", name, g_strerror (errsv));
  return FALSE;
}

static gboolean
refuse (const NpOutput *output, const char *why, GError **error)
{
  g_autofree gchar *name = g_filename_display_name (output->path);
  g_set_error (error, NP_ERROR, NP_ERROR_IO, "%s: %s", name, why);
  return FALSE;
}

/* The name of an open descriptor, through which an unnamed file is linked
 * and reopened. */
static void
fd_path (int fd, char buf[static 32])
{
  snprintf (buf, 32, "/proc/self/fd/%d", fd);
}

/* Decides what committing means for what is at path now. The rename only
 * ever replaces a regular file (or nothing): a character device or a pipe is
 * written into as cp does (`-o /dev/stdout`, a FIFO to another program), a
 * symbolic link keeps pointing where it did, and block devices, sockets and
 * folders are refused: no image belongs in them. */
static gboolean
choose_target (NpOutput *output, GError **error)
{
  struct stat st;

  output->target = g_strdup (output->path);
  /* Missing, or unreadable: created, and any error shows then. */
  if (lstat (output->path, &st) != 0)
    return TRUE;
  if (S_ISLNK (st.st_mode))
    {
      if (stat (output->path, &st) != 0)
        return errno == ENOENT
          ? refuse (output, "a symbolic link to a missing file: not replaced, nor written through", error)
          : io_fail (output, errno, error);
      if (S_ISREG (st.st_mode))
        {
          char *real = realpath (output->path, NULL);
          if (real == NULL)
            return io_fail (output, errno, error);
          g_free (output->target);
          output->target = g_strdup (real);
          free (real);
        }
    }
  if (S_ISREG (st.st_mode))
    return TRUE;
  if (S_ISCHR (st.st_mode) || S_ISFIFO (st.st_mode))
    return (output->stream = TRUE);
  return refuse (output, S_ISDIR (st.st_mode) ? "a folder, not a file"
                         : S_ISBLK (st.st_mode) ? "a block device: not written into"
                         : "a socket: not written into", error);
}

/* A file with no name in dir: nothing is left of it whatever kills the
 * process. It needs O_TMPFILE (Linux 3.11, most local file systems) and
 * /proc, through which it is linked into place (linkat's AT_EMPTY_PATH would
 * need a capability). */
static gboolean
open_unnamed (NpOutput *output, const char *dir)
{
#ifdef O_TMPFILE
  char proc[32];
  int  fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);

  if (fd < 0)
    return FALSE;
  fd_path (fd, proc);
  if (access (proc, F_OK) != 0)
    {
      close (fd);
      return FALSE;
    }
  output->fd = fd;
  return TRUE;
#else
  return FALSE;
#endif
}

/* The destination's own folder, so the rename is atomic (one file system);
 * a device's or a pipe's bytes wait in the temporary folder instead: its own
 * folder (/dev) is no place for files. */
static gchar *
temp_dir (const NpOutput *output)
{
  return output->stream ? g_strdup (g_get_tmp_dir ()) : g_path_get_dirname (output->target);
}

/* A short name: the final name may already be near NAME_MAX. */
static gchar *
tmp_name (const char *dir)
{
  static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  gchar name[] = ".np-XXXXXX";

  for (gsize i = 4; i < sizeof name - 1; i++)
    name[i] = letters[g_random_int_range (0, sizeof letters - 1)];
  return g_build_filename (dir, name, NULL);
}

/* Gives the output a temporary name in dir: creates the file when none is
 * open, links the unnamed one otherwise. Returns 0 or an errno. */
static int
take_temp_name (NpOutput *output, const char *dir)
{
  int errsv = EEXIST;

  for (int attempt = 0; attempt < 100 && errsv == EEXIST; attempt++)
    {
      gchar   *name = tmp_name (dir);
      gboolean ok;

      /* Set before the file exists, so a signal never misses it. */
      g_atomic_pointer_set (&output->tmp, name);
      if (output->fd < 0)
        ok = (output->fd = open (name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666)) >= 0;
      else
        {
          char proc[32];
          fd_path (output->fd, proc);
          ok = linkat (AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0;
        }
      if (ok)
        return 0;
      errsv = errno;
      g_atomic_pointer_set (&output->tmp, NULL);
      if (!g_atomic_int_get (&dying))
        g_free (name);
    }
  return errsv;
}

NpOutput *
np_output_new (const char *path, GError **error)
{
  NpOutput *output = g_new0 (NpOutput, 1);
  g_autofree gchar *dir = NULL;
  int       errsv = 0;

  output->path = g_strdup (path);
  output->owner = getpid ();
  output->fd = -1;
  if (!choose_target (output, error))
    {
      np_output_free (output);
      return NULL;
    }
  dir = temp_dir (output);
  live_add (output);
  if (!open_unnamed (output, dir) && (errsv = take_temp_name (output, dir)) != 0)
    {
      if (output->stream)
        {
          g_autofree gchar *name = g_filename_display_name (dir);
          g_autofree gchar *why = g_strdup_printf ("a temporary file in %s: %s", name, g_strerror (errsv));
          refuse (output, why, error);
        }
      else
        io_fail (output, errsv, error);
      np_output_free (output);
      return NULL;
    }
  return output;
}

NpOutput *
np_output_new_folder (const char *path, GError **error)
{
  NpOutput   *output = g_new0 (NpOutput, 1);
  GPtrArray  *missing = g_ptr_array_new ();
  gchar      *p = g_strdup (path);
  struct stat st;
  int         errsv = 0;

  output->path = g_strdup (path);
  output->owner = getpid ();
  output->fd = -1;
  /* The folders to make, deepest first. */
  while (lstat (p, &st) != 0 && errno == ENOENT)
    {
      gchar *parent = g_path_get_dirname (p);
      g_ptr_array_add (missing, p);
      if (g_str_equal (parent, p))
        {
          g_free (parent);
          p = NULL;
          break;
        }
      p = parent;
    }
  g_free (p);
  g_ptr_array_add (missing, NULL);
  output->made = (gchar **) g_ptr_array_free (missing, FALSE);
  /* Listed before the folders exist, so a signal never misses one. */
  live_add (output);
  for (gint i = (gint) g_strv_length (output->made) - 1; i >= 0 && errsv == 0; i--)
    if (mkdir (output->made[i], 0755) != 0 && errno != EEXIST)
      errsv = errno;
  if (errsv == 0 && stat (path, &st) != 0)
    errsv = errno;
  else if (errsv == 0 && !S_ISDIR (st.st_mode))
    errsv = ENOTDIR;
  if (errsv != 0)
    {
      if (errsv == ENOTDIR)
        refuse (output, "not a folder", error);
      else
        io_fail (output, errsv, error);
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
np_output_writer_path (NpOutput *output)
{
  g_return_val_if_fail (output->fd >= 0, NULL);
  if (output->writer_path == NULL)
    {
      char proc[32];
      fd_path (output->fd, proc);
      output->writer_path = g_strdup (access (proc, F_OK) == 0 ? proc : output->tmp);
    }
  return output->writer_path;
}

/* Writes all of size bytes to fd, at offset (or the file position when
 * negative). Returns 0 or an errno. */
static int
write_all (int fd, const guint8 *p, gsize size, goffset offset)
{
  while (size > 0)
    {
      gssize n = offset < 0 ? write (fd, p, size) : pwrite (fd, p, size, offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return n < 0 ? errno : ENOSPC;
      p += n, size -= n;
      if (offset >= 0)
        offset += n;
    }
  return 0;
}

gboolean
np_output_write_at (NpOutput *output, const void *data, gsize size, goffset offset,
                    GError **error)
{
  int errsv;

  g_return_val_if_fail (output->fd >= 0, FALSE);
  errsv = write_all (output->fd, data, size, offset);
  return errsv == 0 || io_fail (output, errsv, error);
}

gboolean
np_output_write (NpOutput *output, const void *data, gsize size, GError **error)
{
  return np_output_write_at (output, data, size, -1, error);
}

/* How many closed outputs may keep their unnamed file open: a quarter of
 * the descriptors the process may have, so an animation's frames leave
 * nothing even to SIGKILL and the rest of the process keeps its share. */
static gint
held_budget (void)
{
  struct rlimit lim;

  if (getrlimit (RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY)
    return 256;
  return (gint) MIN (lim.rlim_cur / 4, 4096);
}

static void
release (NpOutput *output)
{
  if (output->held)
    {
      output->held = FALSE;
      g_atomic_int_add (&held_open, -1);
    }
}

gboolean
np_output_close (NpOutput *output, GError **error)
{
  gint fd = output->fd;
  int  errsv = 0;

  g_return_val_if_fail (fd >= 0 && !output->committed && !output->held, FALSE);
  /* A full disk may only show at fsync or close (delayed allocation). A
   * stream's bytes are read back once, before a reboot could lose them. */
  if (!output->stream && fsync (fd) != 0)
    errsv = errno;
  /* An unnamed file stays open, and so unnamed, while the budget lasts;
   * closing it would drop it, so past the budget it takes a name first. */
  if (errsv == 0 && output->tmp == NULL && !output->stream)
    {
      if (g_atomic_int_add (&held_open, 1) < held_budget ())
        return (output->held = TRUE);
      g_atomic_int_add (&held_open, -1);
    }
  if (errsv == 0 && output->tmp == NULL)
    {
      g_autofree gchar *dir = temp_dir (output);
      errsv = take_temp_name (output, dir);
    }
  output->fd = -1;
  if (close (fd) != 0 && errsv == 0)
    errsv = errno;
  return errsv == 0 || io_fail (output, errsv, error);
}

/* cp's way for a device or a pipe: the bytes are copied in (nothing to
 * truncate, nothing to rename over). */
static gboolean
copy_into_target (NpOutput *output, GError **error)
{
  int         in = output->fd >= 0 ? output->fd : open (output->tmp, O_RDONLY | O_CLOEXEC);
  int         out = -1, errsv = 0;
  struct stat st;
  goffset     offset = 0;
  guint8      buf[1 << 16];

  if (in < 0)
    return io_fail (output, errno, error);
  /* A pipe without a reader blocks here, as it does for cp. */
  if ((out = open (output->target, O_WRONLY | O_NOCTTY | O_CLOEXEC)) < 0 || fstat (out, &st) != 0)
    errsv = errno;
  /* Something else took the name since: it is not written over. */
  else if (!S_ISCHR (st.st_mode) && !S_ISFIFO (st.st_mode))
    errsv = EEXIST;
  while (errsv == 0)
    {
      gssize n = pread (in, buf, sizeof buf, offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          errsv = n < 0 ? errno : 0;
          break;
        }
      errsv = write_all (out, buf, n, -1);
      offset += n;
    }
  if (out >= 0 && close (out) != 0 && errsv == 0)
    errsv = errno;
  if (in != output->fd)
    close (in);
  return errsv == 0 || io_fail (output, errsv, error);
}

/* Puts the complete file under the final name: linked there if the name is
 * free (an unnamed file never had another), else renamed over the old file. */
static gboolean
move_into_place (NpOutput *output, GError **error)
{
  if (output->tmp == NULL)
    {
      g_autofree gchar *dir = temp_dir (output);
      char proc[32];
      int  errsv;

      fd_path (output->fd, proc);
      if (linkat (AT_FDCWD, proc, AT_FDCWD, output->target, AT_SYMLINK_FOLLOW) == 0)
        return TRUE;
      if (errno != EEXIST)
        return io_fail (output, errno, error);
      if ((errsv = take_temp_name (output, dir)) != 0)
        return io_fail (output, errsv, error);
    }
  if (g_rename (output->tmp, output->target) != 0)
    return io_fail (output, errno, error);
  return TRUE;
}

gboolean
np_output_commit (NpOutput *output, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (!output->committed, FALSE);
  if (output->made)
    ok = TRUE;
  else if (output->stream)
    ok = copy_into_target (output, error);
  /* A named file is closed first: its close is the last check of its bytes. */
  else if (output->tmp)
    ok = (output->fd < 0 || np_output_close (output, error)) && move_into_place (output, error);
  else
    ok = (output->held || fsync (output->fd) == 0 || io_fail (output, errno, error))
         && move_into_place (output, error);
  if (!ok)
    return FALSE;
  output->committed = TRUE;
  live_remove (output);
  /* A stream's temporary file has done its work. */
  if (output->stream && output->tmp)
    g_unlink (output->tmp);
  release (output);
  if (output->fd >= 0)
    {
      int fd = output->fd;
      output->fd = -1;
      if (close (fd) != 0)
        return io_fail (output, errno, error);
    }
  return TRUE;
}

void
np_output_free (NpOutput *output)
{
  if (output == NULL)
    return;
  release (output);
  if (output->fd >= 0)
    close (output->fd);
  if (output->tmp && !output->committed)
    g_unlink (output->tmp);
  for (gchar **d = output->made; d && *d && !output->committed; d++)
    g_rmdir (*d);
  live_remove (output);
  /* A signal handler may be reading it: the process has instants to live. */
  if (g_atomic_int_get (&dying))
    return;
  g_strfreev (output->made);
  g_free (output->writer_path);
  g_free (output->tmp);
  g_free (output->target);
  g_free (output->path);
  g_free (output);
}

gboolean
np_output_set_contents (const char *path, const void *data, gsize size, GError **error)
{
  g_autoptr(NpOutput) output = np_output_new (path, error);

  return output && np_output_write (output, data, size, error) && np_output_commit (output, error);
}
