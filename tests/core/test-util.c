/* Unit tests of core/util: atomic output files. */
#define _GNU_SOURCE   /* O_TMPFILE, mknod */
#include "neuropaint.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

/* Names in dir, sorted, joined by spaces. */
static gchar *
list_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (gchar **) names->pdata);
}

/* What dir holds while an output is being written: nothing where the file
 * system makes unnamed files (asked here, not of the code under test), else
 * one short hidden name. */
static gboolean
unnamed_files_work (const char *dir)
{
  int fd = open (dir, O_TMPFILE | O_RDWR, 0600);

  if (fd < 0)
    return FALSE;
  close (fd);
  return g_file_test ("/proc/self/fd", G_FILE_TEST_IS_DIR);
}

static void
assert_writing_listing (const char *dir)
{
  g_autofree gchar *listing = list_dir (dir);

  if (unnamed_files_work (dir))
    g_assert_cmpstr (listing, ==, "");
  else
    {
      g_assert_true (g_str_has_prefix (listing, ".np-"));
      g_assert_cmpuint (strlen (listing), ==, strlen (".np-XXXXXX"));
    }
}

static void
test_output_commit (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("np-output-XXXXXX", NULL);
  g_autofree gchar *path = g_build_filename (dir, "out.bin", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *contents = NULL, *listing = NULL;
  gsize length;
  NpOutput *out = np_output_new (path, &error);

  g_assert_no_error (error);
  g_assert_true (np_output_write (out, "hello, world", 12, &error));
  g_assert_true (np_output_write_at (out, "HELLO", 5, 0, &error));
  /* Nothing under the final name until commit. */
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  assert_writing_listing (dir);
  g_assert_true (np_output_commit (out, &error));
  np_output_free (out);
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpmem (contents, length, "HELLO, world", 12);
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "out.bin");
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_output_abandoned (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("np-output-XXXXXX", NULL);
  g_autofree gchar *path = g_build_filename (dir, "keep.bin", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *contents = NULL, *listing = NULL;
  NpOutput *out;

  /* An older file under the name survives an abandoned rewrite whole. */
  g_assert_true (np_output_set_contents (path, "old", 3, &error));
  out = np_output_new (path, &error);
  g_assert_true (np_output_write (out, "new and longer", 14, &error));
  np_output_free (out);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "old");
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "keep.bin");
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_output_missing_folder (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (np_output_new ("/nonexistent-np-folder/x.png", &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent-np-folder/x.png"));
}

/* A writer that opens the file by name (GEGL's savers, through GIO's
 * g_file_replace) fills our temporary file in place: no second temporary
 * file, and commit syncs what it wrote. */
static void
test_output_writer_path (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("np-output-XXXXXX", NULL);
  g_autofree gchar *path = g_build_filename (dir, "saved.png", NULL);
  g_autofree gchar *listing = NULL, *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFileOutputStream) stream = NULL;
  NpOutput *out = np_output_new (path, &error);

  file = g_file_new_for_path (np_output_writer_path (out));
  stream = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_output_stream_write_all (G_OUTPUT_STREAM (stream), "written by name", 15,
                                            NULL, NULL, &error));
  assert_writing_listing (dir);
  g_assert_true (g_output_stream_close (G_OUTPUT_STREAM (stream), NULL, &error));
  g_assert_true (np_output_commit (out, &error));
  np_output_free (out);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "written by name");
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "saved.png");
  g_unlink (path);
  g_rmdir (dir);
}

/* Closed outputs stay temporary until committed, and go with a free. */
static void
test_output_close (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("np-output-XXXXXX", NULL);
  g_autofree gchar *a = g_build_filename (dir, "a", NULL), *b = g_build_filename (dir, "b", NULL);
  g_autofree gchar *listing = NULL;
  g_autoptr(GError) error = NULL;
  NpOutput *first = np_output_new (a, &error), *second = np_output_new (b, &error);

  g_assert_true (np_output_write (first, "1", 1, &error) && np_output_close (first, &error));
  g_assert_true (np_output_write (second, "2", 1, &error) && np_output_close (second, &error));
  g_assert_false (g_file_test (a, G_FILE_TEST_EXISTS));
  g_assert_true (np_output_commit (first, &error));
  np_output_free (first);
  np_output_free (second);
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "a");
  g_unlink (a);
  g_rmdir (dir);
}

/* A child that gives up with exit() in the middle of a write leaks by
 * design: LeakSanitizer's documented hook turns its check off there. */
static gboolean in_dying_child;
int __lsan_is_turned_off (void);
int
__lsan_is_turned_off (void)
{
  return in_dying_child;
}

/* How far die_while_writing's output gets before the end. */
enum { WRITING, CLOSED, NAMED };

/* A child that writes an output (and closes it: CLOSED; or closes it past
 * the budget of unnamed files held open, which names it: NAMED) and then
 * dies by `how` (a signal, or 0: exit); returns its wait status. */
static int
die_while_writing (const char *dir, int how, int stage)
{
  pid_t pid = fork ();
  int   status = 0;

  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      g_autofree gchar *path = g_build_filename (dir, "big.bin", NULL);
      NpOutput *out = np_output_new (path, NULL);
      struct rlimit no_core = { 0, 0 };

      struct rlimit few_files = { 3, 3 };   /* a budget of 3/4: none held */

      in_dying_child = TRUE;
      setrlimit (RLIMIT_CORE, &no_core);   /* SIGQUIT's core dump */
      if (stage == NAMED)
        setrlimit (RLIMIT_NOFILE, &few_files);
      if (out == NULL || !np_output_write (out, "partial", 7, NULL)
          || (stage != WRITING && !np_output_close (out, NULL)))
        _exit (99);
      if (how == 0)
        exit (3);   /* a library giving up with exit() */
      kill (getpid (), how);
      _exit (98);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  return status;
}

/* A signal that ends the process, or exit(), removes the temporary files;
 * the signal still ends the process, and says so in its status. SIGKILL
 * cannot be caught: only an unnamed file leaves nothing then, and a closed
 * one (an animation's frame) is unnamed too. */
static void
test_output_signals (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("np-output-XXXXXX", NULL);
  int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGKILL, 0 };

  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    for (int stage = WRITING; stage <= NAMED; stage++)
      {
        int status;
        g_autofree gchar *listing = NULL;

        if (signals[i] == SIGKILL && (stage == NAMED || !unnamed_files_work (dir)))
          continue;
        status = die_while_writing (dir, signals[i], stage);
        listing = list_dir (dir);
        if (signals[i] == 0)
          {
            g_assert_true (WIFEXITED (status));
            g_assert_cmpint (WEXITSTATUS (status), ==, 3);
          }
        else
          {
            g_assert_true (WIFSIGNALED (status));
            g_assert_cmpint (WTERMSIG (status), ==, signals[i]);
          }
        g_assert_cmpstr (listing, ==, "");
      }
  g_rmdir (dir);
}

/* A commit over an older file replaces it whole. */
static void
test_output_replace (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("np-output-XXXXXX", NULL);
  g_autofree gchar *path = g_build_filename (dir, "again.bin", NULL);
  g_autofree gchar *contents = NULL, *listing = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (np_output_set_contents (path, "first and longer", 16, &error));
  g_assert_true (np_output_set_contents (path, "second", 6, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "second");
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "again.bin");
  g_unlink (path);
  g_rmdir (dir);
}

/* The type of what is at path: 'f'ile, 'l'ink, 'p'ipe, 'c'haracter device,
 * 'd'irectory. */
static char
kind (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (lstat (path, &st), ==, 0);
  return S_ISLNK (st.st_mode) ? 'l' : S_ISFIFO (st.st_mode) ? 'p' : S_ISCHR (st.st_mode) ? 'c'
       : S_ISDIR (st.st_mode) ? 'd' : 'f';
}

/* Only a regular file is replaced: a pipe (directly or through a link) is
 * written into, a link to a file writes the file and stays, and a folder or
 * a link to nothing is refused; nothing in the folder changes type. */
static void
test_output_not_regular (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("np-output-XXXXXX", NULL);
  g_autofree gchar *pipe = g_build_filename (dir, "pipe", NULL);
  g_autofree gchar *to_pipe = g_build_filename (dir, "to-pipe", NULL);
  g_autofree gchar *file = g_build_filename (dir, "file", NULL);
  g_autofree gchar *to_file = g_build_filename (dir, "to-file", NULL);
  g_autofree gchar *dangling = g_build_filename (dir, "dangling", NULL);
  g_autofree gchar *folder = g_build_filename (dir, "folder", NULL);
  g_autofree gchar *contents = NULL, *listing = NULL;
  g_autoptr(GError) error = NULL;
  char  buf[64];
  int   reader;

  g_assert_cmpint (mkfifo (pipe, 0600), ==, 0);
  g_assert_cmpint (symlink ("pipe", to_pipe), ==, 0);
  g_assert_true (g_file_set_contents (file, "old", 3, NULL));
  g_assert_cmpint (symlink ("file", to_file), ==, 0);
  g_assert_cmpint (symlink ("nowhere", dangling), ==, 0);
  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);

  /* A reader is waiting (non-blocking, so the test needs no thread). */
  reader = open (pipe, O_RDONLY | O_NONBLOCK);
  g_assert_cmpint (reader, >=, 0);
  g_assert_true (np_output_set_contents (pipe, "into the pipe", 13, &error));
  g_assert_no_error (error);
  g_assert_cmpint (read (reader, buf, sizeof buf), ==, 13);
  g_assert_cmpmem (buf, 13, "into the pipe", 13);
  g_assert_true (np_output_set_contents (to_pipe, "through a link", 14, &error));
  g_assert_no_error (error);
  g_assert_cmpint (read (reader, buf, sizeof buf), ==, 14);
  g_assert_cmpmem (buf, 14, "through a link", 14);
  close (reader);

  g_assert_true (np_output_set_contents (to_file, "new", 3, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (file, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "new");

  g_assert_false (np_output_set_contents (dangling, "x", 1, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_IO);
  g_assert_nonnull (strstr (error->message, dangling));
  g_assert_nonnull (strstr (error->message, "missing"));
  g_clear_error (&error);
  g_assert_false (np_output_set_contents (folder, "x", 1, &error));
  g_assert_nonnull (strstr (error->message, "folder"));
  g_clear_error (&error);

  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "dangling file folder pipe to-file to-pipe");
  g_assert_cmpint (kind (pipe), ==, 'p');
  g_assert_cmpint (kind (to_pipe), ==, 'l');
  g_assert_cmpint (kind (to_file), ==, 'l');
  g_assert_cmpint (kind (dangling), ==, 'l');
  g_assert_cmpint (kind (folder), ==, 'd');

  /* Character devices, where this user may make them (root): written into,
   * and a full one (as /dev/full) is an error naming it. */
  if (geteuid () == 0)
    {
      g_autofree gchar *null = g_build_filename (dir, "null", NULL);
      g_autofree gchar *full = g_build_filename (dir, "full", NULL);

      g_assert_cmpint (mknod (null, S_IFCHR | 0600, makedev (1, 3)), ==, 0);
      g_assert_cmpint (mknod (full, S_IFCHR | 0600, makedev (1, 7)), ==, 0);
      g_assert_true (np_output_set_contents (null, "gone", 4, &error));
      g_assert_no_error (error);
      g_assert_false (np_output_set_contents (full, "no room", 7, &error));
      g_assert_error (error, NP_ERROR, NP_ERROR_IO);
      g_assert_nonnull (strstr (error->message, full));
      g_assert_nonnull (strstr (error->message, g_strerror (ENOSPC)));
      g_assert_cmpint (kind (null), ==, 'c');
      g_assert_cmpint (kind (full), ==, 'c');
      g_unlink (null);
      g_unlink (full);
    }
  for (const char *const *p = (const char *const[]) { pipe, to_pipe, file, to_file, dangling, NULL }; *p; p++)
    g_unlink (*p);
  g_rmdir (folder);
  g_rmdir (dir);
}

/* A folder made for outputs (with its parents) goes again when left empty
 * by a free without commit or by a signal; one with files in it, one that
 * was there and a committed one stay. */
static void
test_output_folder (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("np-output-XXXXXX", NULL);
  g_autofree gchar *deep = g_build_filename (dir, "new", "deeper", NULL);
  g_autofree gchar *file = g_build_filename (deep, "kept", NULL);
  g_autofree gchar *listing = NULL;
  g_autoptr(GError) error = NULL;
  NpOutput *folder;
  pid_t     pid;
  int       status;

  folder = np_output_new_folder (deep, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (deep, G_FILE_TEST_IS_DIR));
  np_output_free (folder);
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "");

  /* Killed by a signal while still empty. */
  pid = fork ();
  if (pid == 0)
    {
      in_dying_child = TRUE;
      if (np_output_new_folder (deep, NULL) == NULL)
        _exit (99);
      kill (getpid (), SIGTERM);
      _exit (98);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status));
  g_free (listing);
  listing = list_dir (dir);
  g_assert_cmpstr (listing, ==, "");

  /* Not empty: stays, and so do its parents. */
  folder = np_output_new_folder (deep, &error);
  g_assert_true (np_output_set_contents (file, "x", 1, &error));
  np_output_free (folder);
  g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
  g_unlink (file);

  /* Committed: stays empty. */
  folder = np_output_new_folder (deep, &error);
  g_assert_true (np_output_commit (folder, &error));
  np_output_free (folder);
  g_assert_true (g_file_test (deep, G_FILE_TEST_IS_DIR));

  /* There before: never removed. */
  folder = np_output_new_folder (deep, &error);
  np_output_free (folder);
  g_assert_true (g_file_test (deep, G_FILE_TEST_IS_DIR));

  /* Something that is not a folder. */
  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  g_assert_null (np_output_new_folder (file, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "not a folder"));
  g_unlink (file);
  g_rmdir (deep);
  g_free (listing);
  listing = g_path_get_dirname (deep);
  g_rmdir (listing);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/util/output/commit", test_output_commit);
  g_test_add_func ("/util/output/abandoned", test_output_abandoned);
  g_test_add_func ("/util/output/missing-folder", test_output_missing_folder);
  g_test_add_func ("/util/output/writer-path", test_output_writer_path);
  g_test_add_func ("/util/output/close", test_output_close);
  g_test_add_func ("/util/output/signals", test_output_signals);
  g_test_add_func ("/util/output/replace", test_output_replace);
  g_test_add_func ("/util/output/not-regular", test_output_not_regular);
  g_test_add_func ("/util/output/folder", test_output_folder);
  return g_test_run ();
}
