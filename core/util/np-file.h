/* neuropaint — files from outside (images, models, cascades, graphs) are read
 * only when they are regular files.
 *
 * Opening a FIFO for reading blocks until a writer comes (a hang), and a
 * folder or a device is never what the user meant: every input is opened
 * without blocking and refused unless it is a regular file, with one error
 * (NP_ERROR_IO) that names it.
 */
#pragma once

#include <glib.h>
#include "np-error.h"

G_BEGIN_DECLS

/* A read-only descriptor of a regular file, or -1. */
gint         np_file_open (const char *path, GError **error);
/* The whole file; files above max_size bytes are NP_ERROR_TOO_LARGE. */
GBytes      *np_file_read (const char *path, gsize max_size, GError **error);
/* The whole file mapped in memory (large model files). */
GMappedFile *np_file_map  (const char *path, GError **error);

G_END_DECLS
