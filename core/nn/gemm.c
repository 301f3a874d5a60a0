/* neuropaint — gemm in cblas order, over OpenBLAS (the portable route and
 * the reference for sgemm.c's kernels), and the tiled gemm that shares a
 * product out among threads.
 *
 * Every caller in the core splits its work across threads itself and calls
 * this single-threaded: on the skinny shapes of convolutions OpenBLAS's own
 * threading was erratic and often slower than one thread (docs/seed.md), and two
 * thread pools stacked would oversubscribe the machine. */
#include "np-nn-private.h"

#include <cblas.h>

static gpointer
openblas_single_thread (gpointer unused)
{
  openblas_set_num_threads (1);
  return NULL;
}

void
np_gemm (gboolean ta, gboolean tb, gint m, gint n, gint k, gfloat alpha,
         const gfloat *a, gint lda, const gfloat *b, gint ldb,
         gfloat beta, gfloat *c, gint ldc)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, openblas_single_thread, NULL);
  cblas_sgemm (CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
               m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

typedef struct
{
  gint64         m, n, k, tm, tn, mr;
  const NpGemmA *a;
  const NpGemmB *b;
  gboolean       add;
  gfloat        *c;
  gint64         ldc;
  gfloat        *pack;      /* A packed for our kernels, or NULL */
} TiledGemm;

/* A's panels, a range at a time. */
static void
pack_range (gsize start, gsize end, guint part, gpointer data)
{
  const TiledGemm *g = data;

  np_nn_gemm_pack_a (g->a, g->m, g->k, g->b, start * g->mr, MIN (g->m, (gint64) end * g->mr), g->pack);
}

static void
run_tile (gint t, gpointer data)
{
  const TiledGemm *g = data;
  gint64  i = t / g->tn, j = t % g->tn;
  gint64  r0 = g->m * i / g->tm / g->mr * g->mr, r1 = i + 1 == g->tm ? g->m : g->m * (i + 1) / g->tm / g->mr * g->mr;
  gint64  c0 = g->n * j / g->tn, c1 = g->n * (j + 1) / g->tn;
  NpGemmA a = { g->a->data + (g->a->trans ? r0 : r0 * g->a->ld), g->a->ld, g->a->trans, g->pack,
                (g->m + g->mr - 1) / g->mr * g->mr, r0 };
  NpGemmB b = *g->b;

  /* B's columns from c0 on. */
  if (b.geom && b.trans)
    b.r0 += c0;
  else if (b.geom)
    b.p0 += c0;
  else
    b.data += b.trans ? c0 * b.ld : c0;
  np_nn_gemm_b (r1 - r0, c1 - c0, g->k, &a, &b, g->add, g->c + r0 * g->ldc + c0, g->ldc, NULL);
}

void
np_nn_gemm_tiled (gint n_threads, gint64 m, gint64 n, gint64 k, const NpGemmA *a, const NpGemmB *b,
                  gboolean add, gfloat *c, gint64 ldc, gfloat *pack, gboolean packed)
{
  /* Enough tiles for a few threads once a tile is worth one (~4 MFLOP),
   * columns first; never thinner than sgemm's micro tiles, rows cut at
   * whole panels of A, which our kernels pack once for all tiles. */
  gint64    want = (gint64) CLAMP (2.0 * m * n * k / 4e6, 1, 16);
  TiledGemm g = { m, n, k, 1, 1, np_nn_gemm_mr (), a, b, add, c, ldc, np_nn_gemm_own () ? pack : NULL };

  g_return_if_fail (b->geom == NULL || b->trans);
  g.tn = MAX (1, MIN (want, n / 64));
  g.tm = MAX (1, MIN ((want + g.tn - 1) / g.tn, m / MAX (16, g.mr)));
  if (g.pack && !packed)
    np_parallel_for ((m + g.mr - 1) / g.mr, 4, n_threads, pack_range, &g);
  /* Threads claim tiles as they finish, so uneven tiles even out; each
   * tile's bits are its own, whoever computes it. */
  np_parallel_claim ((gint) (g.tm * g.tn), n_threads, run_tile, &g);
}
