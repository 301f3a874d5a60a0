/* neuropaint — parallel-for on plain GThreads.
 *
 * Work items here are whole stripes of an image taking milliseconds, so the
 * ~20 µs of creating a thread per call is noise; a persistent pool would add
 * shared state (and shutdown order problems inside GEGL modules) for nothing.
 */
#include "np-parallel.h"

typedef struct
{
  NpRangeFunc func;
  gpointer    user_data;
  gsize       start, end;
  guint       part;
} NpRange;

static gpointer
run_range (gpointer data)
{
  NpRange *r = data;
  r->func (r->start, r->end, r->part, r->user_data);
  return NULL;
}

guint
np_parallel_parts (gsize n, gsize grain, gint n_threads)
{
  gsize parts;

  if (n == 0)
    return 0;
  if (n_threads <= 0)
    n_threads = (gint) g_get_num_processors ();
  if (grain == 0)
    grain = 1;
  parts = MIN ((gsize) n_threads, (n + grain - 1) / grain);
  return (guint) MAX (parts, 1);
}

void
np_parallel_for (gsize n, gsize grain, gint n_threads,
                 NpRangeFunc func, gpointer user_data)
{
  guint    parts = np_parallel_parts (n, grain, n_threads);
  NpRange *ranges;
  GThread **threads;

  if (parts == 0)
    return;
  if (parts == 1)
    {
      func (0, n, 0, user_data);
      return;
    }

  ranges = g_newa (NpRange, parts);
  threads = g_newa (GThread *, parts);
  for (guint p = 0; p < parts; p++)
    {
      ranges[p] = (NpRange) { func, user_data, n * p / parts, n * (p + 1) / parts, p };
      threads[p] = p == 0 ? NULL : g_thread_new ("np-worker", run_range, &ranges[p]);
    }
  run_range (&ranges[0]);
  for (guint p = 1; p < parts; p++)
    g_thread_join (threads[p]);
}
