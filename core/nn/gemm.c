/* neuropaint — gemm in cblas order, over OpenBLAS (the portable route and
 * the reference for sgemm.c's kernels).
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
