/* neuropaint — GEGL set-up: our ops, installed or from the build tree, and
 * GEGL's own, with a message saying what to fix when either is missing. */

#include "config.h"
#include "cli.h"

#include <gio/gio.h>

/* The directory of the running binary, to find the build tree's op modules. */
static gchar *
exe_dir (void)
{
  g_autofree gchar *exe = g_file_read_link ("/proc/self/exe", NULL);
  return exe ? g_path_get_dirname (exe) : NULL;
}

gboolean
cli_gegl_init (GError **error)
{
  gegl_init (NULL, NULL);

  if (!gegl_has_operation ("neuropaint:gray"))
    {
      /* Uninstalled: build/cli/neuropaint next to build/operations/. */
      g_autofree gchar *dir = exe_dir ();
      g_autofree gchar *ops = dir ? g_build_filename (dir, "..", "operations", NULL) : NULL;

      if (ops && g_file_test (ops, G_FILE_TEST_IS_DIR))
        gegl_load_module_directory (ops);
    }
  if (!gegl_has_operation ("neuropaint:gray"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "the neuropaint GEGL operations are not installed: run "
                   "“meson install”, or set GEGL_PATH to the build's operations/ folder");
      return FALSE;
    }
  /* GEGL_PATH replaces GEGL's own folder: a path naming only ours leaves no
   * gegl:load or gegl:buffer-source, and graphs would render nothing. */
  if (!gegl_has_operation ("gegl:buffer-source"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "GEGL's own operations are not found: GEGL_PATH replaces GEGL's folder, so list it too "
                   "(GEGL_PATH=%s:$(pkg-config --variable=pluginsdir gegl-0.4))",
                   g_getenv ("GEGL_PATH") ? g_getenv ("GEGL_PATH") : "");
      return FALSE;
    }
  return TRUE;
}
