/* neuropaint — animated PNG (APNG) writer.
 *
 * Animations (CPPN z interpolation) need no GIF palette: APNG keeps every
 * frame's full 8-bit RGB(A), and viewers without APNG support show the first
 * frame as a plain PNG. Chunks per the APNG 1.0 specification (acTL, fcTL,
 * fdAT beside PNG's IHDR, IDAT, IEND), deflated with zlib.
 *
 *   NpApng *a = np_apng_new (path, w, h, 4, n_frames, 12, &error);
 *   for each frame: np_apng_add_frame (a, rgba_u8, stride, &error);
 *   np_apng_finish (a, &error);   // renames the finished file into place
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _NpApng NpApng;

/* channels 3 (RGB) or 4 (RGBA), 8 bits each; fps frames per second. */
NpApng   *np_apng_new       (const char *path, gint width, gint height,
                             gint channels, gint n_frames, gint fps,
                             GError **error);
gboolean  np_apng_add_frame (NpApng *apng, const guint8 *pixels, gsize stride,
                             GError **error);
/* Fails unless exactly n_frames were added; then nothing is left behind. */
gboolean  np_apng_finish    (NpApng *apng, GError **error);
/* Frees, and removes the unfinished file if np_apng_finish was not reached. */
void      np_apng_free      (NpApng *apng);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpApng, np_apng_free)

G_END_DECLS
