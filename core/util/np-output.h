/* neuropaint — output files that appear complete under their final name, or
 * not at all.
 *
 * Every writer of the project (model files, checkpoints, datasets, .npy,
 * animated PNG, the command's images) goes through an NpOutput: bytes go to a
 * temporary file in the destination's own folder (so the final step is
 * atomic: one file system), every write is checked, and commit flushes the
 * data to disk (fsync) and puts the file under its name. A failure, or a free
 * without commit, removes the temporary file, so a full disk or a crash in
 * the middle never leaves a truncated file under the final name.
 *
 * The temporary file has no name at all where Linux allows it (O_TMPFILE
 * and /proc): commit links it into place (or, over an older file, names it
 * and renames), so even SIGKILL leaves nothing. Elsewhere it is a short
 * hidden name (.np-XXXXXX), removed when the process is ended by a signal
 * that can be caught (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, …: the
 * signal is then re-raised, so the exit status still says which), and when a
 * library calls exit() under us.
 *
 * Only a regular file is ever replaced. A symbolic link to a file is written
 * through (the file is replaced, the link stays); a character device or a
 * pipe (/dev/stdout, a FIFO) is written into at commit, as cp does, from a
 * temporary file in the temporary folder; a folder, a block device, a
 * socket or a link to nothing is refused with an error naming the path.
 *
 *   g_autoptr(NpOutput) out = np_output_new ("model.safetensors", &error);
 *   if (!out || !np_output_write (out, header, n, &error)
 *       || !np_output_commit (out, &error))
 *     return FALSE;      // the error names model.safetensors
 *
 * Outputs that belong together (an animation's frames) are each closed
 * (np_output_close: written and synced, still temporary) and committed
 * together at the end, so an interruption leaves none of them.
 */
#pragma once

#include <glib.h>
#include "np-error.h"

G_BEGIN_DECLS

typedef struct _NpOutput NpOutput;

/* Creates the temporary file for path. Errors (NP_ERROR_IO) name path. */
NpOutput   *np_output_new          (const char *path, GError **error);
/* A folder for outputs, made with its missing parents. It goes again, with
 * every folder made for it, when still empty at a free without commit, a
 * signal or exit (an interrupted or failed run leaves no empty folder);
 * commit keeps it. Folders that were there are never removed. */
NpOutput   *np_output_new_folder   (const char *path, GError **error);
/* The final path, as given. */
const char *np_output_path         (const NpOutput *output);
/* A name under which a writer that opens files itself (GEGL's savers) writes
 * into the temporary file: the open descriptor's /proc/self/fd entry. Through
 * it the writer truncates and fills our file in place, so it creates no file
 * of its own (GIO's g_file_replace would otherwise write a second temporary
 * file beside ours and rename it over ours: a leftover if a signal comes).
 * The temporary path itself where /proc is missing. Commit as usual after;
 * stat it to see what was written. */
const char *np_output_writer_path  (NpOutput *output);
gboolean    np_output_write        (NpOutput *output, const void *data, gsize size,
                                    GError **error);
/* Overwrites bytes already written at offset (a header whose sizes are known
 * only at the end). */
gboolean    np_output_write_at     (NpOutput *output, const void *data, gsize size,
                                    goffset offset, GError **error);
/* fsync and close: the file is complete but still temporary (removed by a
 * free without commit, or a signal). An unnamed one stays open and unnamed,
 * so not even SIGKILL leaves it, for as many closed outputs as a quarter of
 * the process's descriptor limit; past that it is named and closed. For
 * outputs held in numbers (frames); commit alone never names one. */
gboolean    np_output_close        (NpOutput *output, GError **error);
/* Syncs, then links or renames into place (or copies into a device or a
 * pipe), and closes; on failure the final path is untouched (the temporary
 * file goes with the free). */
gboolean    np_output_commit       (NpOutput *output, GError **error);
/* Removes the temporary file unless committed. */
void        np_output_free         (NpOutput *output);

/* The whole file at once, through an NpOutput. */
gboolean    np_output_set_contents (const char *path, const void *data, gsize size,
                                    GError **error);

/* Removes every live temporary file of this process. Async-signal-safe: for
 * programs that install their own SIGINT/SIGTERM/SIGHUP handler (ours is only
 * installed where the signal has its default action). */
void        np_output_remove_all   (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpOutput, np_output_free)

G_END_DECLS
