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

/* The shared state of np_parallel_claim lives on the heap, reference
 * counted: a helper that starts after the caller has returned still reads
 * `next` (and finds nothing left). func and user_data are used only by
 * threads that claimed an item, which the caller waits for. */
typedef struct
{
  gint        n, next, done;
  gint        refs;
  NpItemFunc  func;
  gpointer    user_data;
  GMutex      lock;
  GCond       finished;
} NpClaims;

static void
claims_unref (NpClaims *q)
{
  if (g_atomic_int_dec_and_test (&q->refs))
    {
      g_mutex_clear (&q->lock);
      g_cond_clear (&q->finished);
      g_free (q);
    }
}

static void
claim_items (NpClaims *q)
{
  gint i;

  while ((i = g_atomic_int_add (&q->next, 1)) < q->n)
    {
      q->func (i, q->user_data);
      g_mutex_lock (&q->lock);
      if (++q->done == q->n)
        g_cond_signal (&q->finished);
      g_mutex_unlock (&q->lock);
    }
}

static gpointer
claim_thread (gpointer data)
{
  claim_items (data);
  claims_unref (data);
  return NULL;
}

void
np_parallel_claim (gint n_items, gint n_threads,
                   NpItemFunc func, gpointer user_data)
{
  NpClaims *q;
  gint      helpers;

  if (n_items <= 0)
    return;
  if (n_threads <= 0)
    n_threads = (gint) g_get_num_processors ();
  helpers = MIN (n_threads, n_items) - 1;
  if (helpers <= 0)
    {
      for (gint i = 0; i < n_items; i++)
        func (i, user_data);
      return;
    }

  q = g_new0 (NpClaims, 1);
  *q = (NpClaims) { n_items, 0, 0, helpers + 1, func, user_data };
  g_mutex_init (&q->lock);
  g_cond_init (&q->finished);
  for (gint t = 0; t < helpers; t++)
    g_thread_unref (g_thread_new ("np-worker", claim_thread, q));

  claim_items (q);
  g_mutex_lock (&q->lock);
  while (q->done < q->n)
    g_cond_wait (&q->finished, &q->lock);
  g_mutex_unlock (&q->lock);
  claims_unref (q);
}
