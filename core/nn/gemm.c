/* neuropaint — gemm in cblas order, over OpenBLAS.
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
  gboolean      ta, tb;
  gint          m, n, k, tm, tn;
  gfloat        alpha, beta;
  const gfloat *a, *b;
  gint          lda, ldb, ldc;
  gfloat       *c;
} TiledGemm;

static void
run_tile (gint t, gpointer data)
{
  const TiledGemm *g = data;
  gint i = t / g->tn, j = t % g->tn;
  gint r0 = (gint) ((gint64) g->m * i / g->tm), r1 = (gint) ((gint64) g->m * (i + 1) / g->tm);
  gint c0 = (gint) ((gint64) g->n * j / g->tn), c1 = (gint) ((gint64) g->n * (j + 1) / g->tn);

  np_gemm (g->ta, g->tb, r1 - r0, c1 - c0, g->k, g->alpha,
           g->a + (g->ta ? (gsize) r0 : (gsize) r0 * g->lda), g->lda,
           g->b + (g->tb ? (gsize) c0 * g->ldb : (gsize) c0), g->ldb,
           g->beta, g->c + (gsize) r0 * g->ldc + c0, g->ldc);
}

void
np_nn_gemm_tiled (gint n_threads, gboolean ta, gboolean tb, gint m, gint n, gint k,
                  gfloat alpha, const gfloat *a, gint lda, const gfloat *b, gint ldb,
                  gfloat beta, gfloat *c, gint ldc)
{
  /* Enough tiles for a few threads once a tile is worth one (~4 MFLOP),
   * columns first (then each tile packs all of A, a small matrix here: the
   * weights or the output gradient); never thinner than sgemm's micro
   * tiles. */
  gint      want = (gint) CLAMP (2.0 * m * n * k / 4e6, 1, 16);
  TiledGemm g = { ta, tb, m, n, k, 1, 1, alpha, beta, a, b, lda, ldb, ldc, c };

  g.tn = MAX (1, MIN (want, n / 64));
  g.tm = MAX (1, MIN ((want + g.tn - 1) / g.tn, m / 16));
  /* Threads claim tiles as they finish, so uneven tiles even out; each
   * tile's bits are its own, whoever computes it. */
  np_parallel_claim (g.tm * g.tn, n_threads, run_tile, &g);
}
