/* neuropaint — output files that appear complete under their final name, or
 * not at all.
 *
 * Every writer of the project (model files, checkpoints, datasets, .npy,
 * animated PNG, the command's images) goes through an NpOutput: bytes go to a
 * temporary file with a short name in the destination's own folder (so the
 * final rename is atomic: one file system), every write is checked, and
 * commit flushes the data to disk (fsync), closes and renames. A failure, or
 * a free without commit, removes the temporary file, so a full disk or a
 * crash in the middle never leaves a truncated file under the final name.
 *
 *   g_autoptr(NpOutput) out = np_output_new ("model.safetensors", &error);
 *   if (!out || !np_output_write (out, header, n, &error)
 *       || !np_output_commit (out, &error))
 *     return FALSE;      // the error names model.safetensors
 */
#pragma once

#include <glib.h>
#include "np-error.h"

G_BEGIN_DECLS

typedef struct _NpOutput NpOutput;

/* Creates the temporary file next to path. Errors (NP_ERROR_IO) name path. */
NpOutput   *np_output_new          (const char *path, GError **error);
/* The final path, and the temporary file's, for writers that must open the
 * file themselves (GEGL's savers): they write to the temporary path, then
 * the caller commits. */
const char *np_output_path         (const NpOutput *output);
const char *np_output_tmp_path     (const NpOutput *output);
gboolean    np_output_write        (NpOutput *output, const void *data, gsize size,
                                    GError **error);
/* Overwrites bytes already written at offset (a header whose sizes are known
 * only at the end). */
gboolean    np_output_write_at     (NpOutput *output, const void *data, gsize size,
                                    goffset offset, GError **error);
/* fsync, close and rename into place; on failure the temporary file is gone
 * and the final path untouched. */
gboolean    np_output_commit       (NpOutput *output, GError **error);
/* Removes the temporary file unless committed. */
void        np_output_free         (NpOutput *output);

/* The whole file at once, through an NpOutput. */
gboolean    np_output_set_contents (const char *path, const void *data, gsize size,
                                    GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpOutput, np_output_free)

G_END_DECLS
