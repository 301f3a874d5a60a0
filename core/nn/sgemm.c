/* neuropaint — our sgemm: register-blocked micro-kernels for the CPU's
 * widest vectors, chosen at run time (util/np-cpu.h), OpenBLAS otherwise.
 *
 * C (+)= op(A)·B, the blocking of BLIS (Van Zee & van de Geijn, 2015) cut
 * down to what convolutions need:
 *
 *   for each block of KC rows of B (columns of A)
 *     for each block of MC rows of A: packed in MR-row panels, k-major
 *       (or once for all calls, np_nn_gemm_pack_a)
 *       for each block of NC columns of C: B's block written once, KC × NC,
 *         in the layout the kernel reads (rows ld floats apart)
 *         for each MR-row panel of A (kept in L1)
 *           for each NR-wide strip of B's block (streamed from L2)
 *             the micro-kernel: an MR × NR tile of C in registers
 *
 * C's tiles are revisited once per KC rows: a few bytes per thousand FMAs.
 *
 * The point is B. A convolution's B is the im2col of its input: here the
 * block is filled straight from the image (np_im2col into the block), so
 * the columns are written once, in cache, and read in place by the kernel,
 * where the OpenBLAS route writes all columns to memory and OpenBLAS copies
 * them again into its own panels. B's rows are not interleaved in panels:
 * im2col writes whole rows, and the kernel streams NR-wide strips of rows
 * ld apart (ld padded off multiples of 4 kB, or the strips' rows fight for
 * the same L1 sets). A weight gradient's B, the columns transposed, is read
 * from the image pixel by pixel (np_im2row); a plain matrix in place. So is
 * a stride-1 convolution's, row by row of its output: each column row is
 * its zero-padded input's row shifted by a kernel tap, so the kernel reads
 * B's rows through a table of where each starts, and nothing is copied.
 *
 * Every value of C is summed over k in KC blocks, in order, each block one
 * accumulator in k order: the blocking depends on the shapes and the
 * kernel only, never on the thread count or on where a caller's tile lies.
 * np_nn_gemm_tiled, last, shares one product out among threads in tiles of
 * C fixed by the shape. */
#include "np-nn-private.h"

#include <string.h>

typedef void (*KernelFunc) (gint64 kc, const gfloat *a, const gfloat *b, const gint64 *rows,
                            gfloat *c, gint64 ldc, gint mr, gint nr, gboolean add);

typedef struct
{
  gint       mr, nr;
  KernelFunc run;
} Kernel;

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* AVX-512: 8 × 32, 16 accumulators of the 32 registers; the broadcasts of
 * A fold into the FMAs. Zen 4 and Intel's cores run one 16-wide FMA a
 * cycle per port pair at a latency of 4, so 16 chains keep them busy. */
#define KERNEL_NAME   kernel_avx512
#define KERNEL_TARGET __attribute__((target ("avx512f,avx2,fma")))
#define VEC           __m512
#define LANES         16
#define MR            8
#define NRV           2
#define VLOAD         _mm512_loadu_ps
#define VSTORE        _mm512_storeu_ps
#define VSET1         _mm512_set1_ps
#define VFMA          _mm512_fmadd_ps
#define VADD          _mm512_add_ps
#include "sgemm-kernel.h"

/* AVX2: 6 × 16, 12 accumulators, 2 of B and a broadcast of the 16
 * registers. */
#define KERNEL_NAME   kernel_avx2
#define KERNEL_TARGET __attribute__((target ("avx2,fma")))
#define VEC           __m256
#define LANES         8
#define MR            6
#define NRV           2
#define VLOAD         _mm256_loadu_ps
#define VSTORE        _mm256_storeu_ps
#define VSET1         _mm256_set1_ps
#define VFMA          _mm256_fmadd_ps
#define VADD          _mm256_add_ps
#include "sgemm-kernel.h"

static const Kernel kernels[NP_CPU_N_LEVELS] = {
  [NP_CPU_AVX2] = { 6, 16, kernel_avx2 },
  [NP_CPU_AVX512] = { 8, 32, kernel_avx512 },
};
#else
static const Kernel kernels[NP_CPU_N_LEVELS] = { { 0 } };
#endif

/* B's rows per block (about 256, whole image channels for im2col), its
 * columns per block, and A's MR panels per block: B's block is ~512 kB, in
 * L2 with A's. */
#define KC 256
#define NC 512
#define MC_PANELS 32
/* Fewer columns of C than this go to OpenBLAS (measured on the U-Net's
 * layers: 20–80 lost 10–40 % to it, 320 tied, 512 and more won). */
#define NARROW 256

static const Kernel *
current_kernel (void)
{
  const Kernel *k = &kernels[np_cpu_level ()];
  return k->run ? k : NULL;
}

gboolean
np_nn_gemm_own (void)
{
  return current_kernel () != NULL;
}

/* Products only a few strips wide (a deep layer's few pixels a job) leave
 * our strips part empty and pay packing A for little work: unless A was
 * packed for many such calls, OpenBLAS does better there, where it can (it
 * needs the columns laid out, so not for np_im2row's, nor for im2col's
 * without memory for them). */
gboolean
np_nn_gemm_own_takes (gint64 n, const NpGemmB *b, gboolean col)
{
  return current_kernel () && (n >= NARROW || (b->geom && (b->trans || !col)));
}

/* Packing buffers, kept between calls (threads come and go with each
 * parallel call): a step allocates nothing once they have grown. */
typedef struct
{
  gsize   size;
  gfloat *data;
} PackBuffer;

static GMutex     pool_lock;
static GPtrArray *pool;

static PackBuffer *
take_buffer (gsize floats)
{
  PackBuffer *buf = NULL;

  g_mutex_lock (&pool_lock);
  if (pool && pool->len)
    buf = g_ptr_array_steal_index_fast (pool, pool->len - 1);
  g_mutex_unlock (&pool_lock);
  if (buf == NULL)
    buf = g_new0 (PackBuffer, 1);
  if (buf->size < floats)
    {
      g_free (buf->data);
      buf->data = g_new (gfloat, floats);
      buf->size = floats;
    }
  return buf;
}

static void
give_buffer (PackBuffer *buf)
{
  g_mutex_lock (&pool_lock);
  if (pool == NULL)
    pool = g_ptr_array_new ();
  g_ptr_array_add (pool, buf);
  g_mutex_unlock (&pool_lock);
}

/* Rows of B per block: whole channels of an im2col. */
static gint64
block_k (const NpGemmB *b)
{
  gint64 kk = b->geom && !b->trans ? (gint64) b->geom->k * b->geom->k : 1;
  return MAX (1, KC / kk) * kk;
}

/* B[k0, k1) × [n0, n1) into dst, rows ld apart. */
static void
fill_b (const NpGemmB *b, gint64 k0, gint64 k1, gint64 n0, gint64 n1, gfloat *dst, gint64 ld)
{
  if (b->geom && b->trans)
    np_im2row (b->data, b->h, b->w, b->geom, b->ow, b->p0 + k0, b->p0 + k1, b->r0 + n0, b->r0 + n1, dst, ld);
  else if (b->geom)
    {
      gint64 kk = (gint64) b->geom->k * b->geom->k;
      np_im2col (b->data + k0 / kk * b->h * b->w, (gint) ((k1 - k0) / kk), b->h, b->w, b->geom,
                 b->oh, b->ow, b->p0 + n0, b->p0 + n1, dst, ld);
    }
  else if (!b->trans)
    for (gint64 r = k0; r < k1; r++)
      memcpy (dst + (r - k0) * ld, b->data + r * b->ld + n0, (n1 - n0) * sizeof (gfloat));
  else
    for (gint64 j = n0; j < n1; j++)
      {
        const gfloat *src = b->data + j * b->ld + k0;
        for (gint64 r = 0; r < k1 - k0; r++)
          dst[r * ld + j - n0] = src[r];
      }
}

/* Rows [m0, m1) of op(A), columns [k0, k1), in MR-row panels, each k-major
 * (the MR values of one k side by side), zero past m1. */
static void
pack_a (const NpGemmA *a, gint64 m0, gint64 m1, gint64 k0, gint64 k1, gint mr, gfloat *dst)
{
  gint64 kc = k1 - k0;

  for (gint64 i0 = m0; i0 < m1; i0 += mr, dst += kc * mr)
    {
      gint rows = (gint) MIN (mr, m1 - i0);

      if (rows < mr)
        memset (dst, 0, kc * mr * sizeof (gfloat));
      if (a->trans)
        for (gint64 p = 0; p < kc; p++)
          for (gint r = 0; r < rows; r++)
            dst[p * mr + r] = a->data[(k0 + p) * a->ld + i0 + r];
      else
        for (gint64 p = 0; p < kc; p++)
          for (gint r = 0; r < rows; r++)
            dst[p * mr + r] = a->data[(i0 + r) * a->ld + k0 + p];
    }
}

static void
own_gemm (const Kernel *kern, gint64 m, gint64 n, gint64 k, const NpGemmA *a, const NpGemmB *b, gboolean add,
          gfloat *c, gint64 ldc)
{
  gint64      mr = kern->mr, nr = kern->nr, mc = MC_PANELS * mr, m_padded = (m + mr - 1) / mr * mr;
  gint64      kc = MIN (block_k (b), k), nc = MIN (NC, n);
  /* Rows of B's block 16 floats past a multiple of NR: off 4 kB multiples. */
  gint64      ldb_max = (nc + nr - 1) / nr * nr + 16;
  gint64      b_floats = kc * ldb_max, a_floats = a->packed ? 0 : MIN (mc, m_padded) * kc;
  /* Two tables of where the kernel finds each row of B, after both blocks
   * (at an even float, so 8-byte aligned). */
  PackBuffer *buf = take_buffer ((b_floats + a_floats + 1) / 2 * 2 + 4 * kc);
  gfloat     *bb = buf->data, *ap = buf->data + b_floats;
  gint64     *in_place = (gint64 *) (buf->data + (b_floats + a_floats + 1) / 2 * 2), *block = in_place + kc;

  /* A's block is packed once and meets all of C's columns. */
  for (gint64 k0 = 0; k0 < k; k0 += kc)
    {
      gint64 k1 = MIN (k, k0 + kc);

      for (gint64 p = 0; p < k1 - k0; p++)
        in_place[p] = b->rows ? b->rows[k0 + p] : p * b->ld;
      for (gint64 m0 = 0; m0 < m; m0 += mc)
        {
          gint64 m1 = MIN (m, m0 + mc);
          const gfloat *panels = ap;

          if (a->packed)
            panels = a->packed + k0 * a->packed_m + (a->packed_i0 + m0) * (k1 - k0);
          else
            pack_a (a, m0, m1, k0, k1, (gint) mr, ap);
          for (gint64 n0 = 0; n0 < n; n0 += NC)
            {
              gint64 nb = MIN (NC, n - n0), padded = (nb + nr - 1) / nr * nr, ldb = padded + 16;
              /* Read in place: a plain matrix but for its last, partial
               * strip, and a padded image's shifted rows whole (the caller
               * left a strip's width readable past them); other B are
               * written into the block. */
              gint64 full = b->rows ? nb : b->geom || b->trans ? 0 : nb / nr * nr;
              const gfloat *src = b->data + (b->rows ? 0 : k0 * b->ld) + n0;

              if (full < nb)
                {
                  for (gint64 p = 0; p < k1 - k0; p++)
                    block[p] = p * ldb;
                  fill_b (b, k0, k1, n0 + full, n0 + nb, bb, ldb);
                  /* The last strip reads NR columns: zeros past the block. */
                  if (padded > nb)
                    for (gint64 r = 0; r < k1 - k0; r++)
                      memset (bb + r * ldb + nb - full, 0, (padded - nb) * sizeof (gfloat));
                }
              for (gint64 i0 = m0; i0 < m1; i0 += mr)
                for (gint64 j0 = 0; j0 < nb; j0 += nr)
                  kern->run (k1 - k0, panels + (i0 - m0) * (k1 - k0), j0 < full ? src + j0 : bb + j0 - full,
                             j0 < full ? in_place : block, c + i0 * ldc + n0 + j0, ldc,
                             (gint) MIN (mr, m1 - i0), (gint) MIN (nr, nb - j0), add || k0 > 0);
            }
        }
    }
  give_buffer (buf);
}

gint
np_nn_gemm_mr (void)
{
  const Kernel *kern = current_kernel ();
  return kern ? kern->mr : 1;
}

void
np_nn_gemm_pack_a (const NpGemmA *a, gint64 m, gint64 k, const NpGemmB *b, gint64 i0, gint64 i1, gfloat *dst)
{
  const Kernel *kern = current_kernel ();
  gint64        kc = MIN (block_k (b), k);

  g_return_if_fail (kern == NULL || (kern->mr <= NP_NN_GEMM_MAX_MR && i0 % kern->mr == 0));
  /* Each block of KC rows of B meets all of A's panels, side by side. */
  for (gint64 k0 = 0; kern && k0 < k; k0 += kc)
    {
      gint64 k1 = MIN (k, k0 + kc);
      pack_a (a, i0, i1, k0, k1, kern->mr, dst + k0 * ((m + kern->mr - 1) / kern->mr * kern->mr) + i0 * (k1 - k0));
    }
}

void
np_nn_gemm_b (gint64 m, gint64 n, gint64 k, const NpGemmA *a, const NpGemmB *b, gboolean add,
              gfloat *c, gint64 ldc, gfloat *col)
{
  const Kernel *kern = current_kernel ();

  if (m <= 0 || n <= 0)
    return;
  if (k <= 0)
    {
      for (gint64 i = 0; i < m && !add; i++)
        memset (c + i * ldc, 0, n * sizeof (gfloat));
      return;
    }
  if (a->packed == NULL && !np_nn_gemm_own_takes (n, b, col != NULL))
    kern = NULL;
  if (kern)
    {
      g_return_if_fail (a->packed == NULL || a->packed_i0 % kern->mr == 0);
      own_gemm (kern, m, n, k, a, b, add, c, ldc);
    }
  else if (b->geom)
    {
      g_return_if_fail (b->rows == NULL);
      /* The portable route: all the columns, then OpenBLAS. */
      fill_b (b, 0, k, 0, n, col, n);
      np_gemm (a->trans, FALSE, (gint) m, (gint) n, (gint) k, 1.0f, a->data, (gint) a->ld, col, (gint) n,
               add ? 1.0f : 0.0f, c, (gint) ldc);
    }
  else
    np_gemm (a->trans, b->trans, (gint) m, (gint) n, (gint) k, 1.0f, a->data, (gint) a->ld, b->data,
             (gint) b->ld, add ? 1.0f : 0.0f, c, (gint) ldc);
}

void
np_nn_gemm (gboolean ta, gboolean tb, gint64 m, gint64 n, gint64 k, const gfloat *a, gint64 lda,
            const gfloat *b, gint64 ldb, gboolean add, gfloat *c, gint64 ldc)
{
  NpGemmA ma = { a, lda, ta };
  NpGemmB mb = { .data = b, .ld = ldb, .trans = tb };

  np_nn_gemm_b (m, n, k, &ma, &mb, add, c, ldc, NULL);
}

/* ---- The tiled gemm that shares a product out among threads ------------- */

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
