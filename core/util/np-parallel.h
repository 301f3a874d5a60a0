/* neuropaint — a minimal parallel-for over index ranges.
 *
 * The core runs its whole-image stages (Canny, contours, detection, rendering)
 * on a caller-given number of threads, so the GEGL faces can pass GEGL's own
 * thread count and the CLI its --threads option, and nothing oversubscribes.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Called with a half-open range [start, end) of the n items; `part` is the index
 * of the calling worker (0 .. n_parts-1), handy for per-thread scratch memory. */
typedef void (*NpRangeFunc) (gsize start, gsize end, guint part, gpointer user_data);

/* Splits [0, n) into at most n_threads contiguous ranges of at least `grain`
 * items and runs func on each, the calling thread taking the first. Returns when
 * every range is done. n_threads <= 0 means one per processor. */
void np_parallel_for (gsize n, gsize grain, gint n_threads,
                      NpRangeFunc func, gpointer user_data);

/* How many ranges np_parallel_for will use for these arguments, so callers can
 * size per-part scratch memory before the call. */
guint np_parallel_parts (gsize n, gsize grain, gint n_threads);

/* Called once for each item i of np_parallel_claim. */
typedef void (*NpItemFunc) (gint i, gpointer user_data);

/* Runs func on every item of [0, n_items) on up to n_threads threads
 * (<= 0: one per processor), the calling thread included, each claiming the
 * next item when done with the last. Returns when every item is done, even
 * if a helper thread has not started yet (it then finds nothing to claim and
 * exits alone): on a busy machine a late thread costs nothing, and uneven
 * items even out. Which thread runs which item varies from call to call. */
void np_parallel_claim (gint n_items, gint n_threads,
                        NpItemFunc func, gpointer user_data);

G_END_DECLS
