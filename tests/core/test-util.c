/* Unit tests of core/util: atomic output files. */
#include "neuropaint.h"

#include <glib/gstdio.h>
#include <string.h>

/* Names in dir, sorted, joined by spaces. */
static gchar *
list_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (gchar **) names->pdata);
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
  g_assert_true (g_str_has_prefix (np_output_tmp_path (out), dir));
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/util/output/commit", test_output_commit);
  g_test_add_func ("/util/output/abandoned", test_output_abandoned);
  g_test_add_func ("/util/output/missing-folder", test_output_missing_folder);
  return g_test_run ();
}
