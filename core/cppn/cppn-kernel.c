/* neuropaint — the CPPN's hot loop: dense layers over blocks of pixels.
 *
 * The layers are narrow (15 units by default), far too thin for sgemm to pay
 * off, so the kernel keeps the sums of LANES pixels of one unit in registers
 * while it runs over the inputs (one load and one FMA per input vector), then
 * applies the activation to those registers before storing them once: bias,
 * product and activation in a single pass over the block.
 *
 * GCC vectorises the lane loops; target_clones builds an AVX2+FMA and an
 * AVX-512 body beside the portable one and picks at load time. fp-contract
 * lets the clones fuse multiply–adds (the project builds as ISO C, where GCC
 * would not). Every pixel takes the same instructions whatever its block, so
 * results never depend on tiling.
 */
#include "cppn-private.h"

#include <math.h>
#include <string.h>

/* The vector helpers below are always inlined into one clone, so no vector
 * ever crosses an ABI boundary: GCC's warning about it does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NP_CPPN_KERNEL \
  __attribute__ ((target_clones ("arch=x86-64-v4", "arch=x86-64-v3", "default"), \
                  optimize ("fp-contract=fast")))
#else
#define NP_CPPN_KERNEL
#endif

/* GCC's generic vectors: lowered to one zmm, two ymm or four xmm registers
 * by the clone that compiles them. */
typedef gfloat NpV  __attribute__ ((vector_size (64)));
typedef gint32 NpVi __attribute__ ((vector_size (64)));
#define VL ((int) (sizeof (NpV) / sizeof (gfloat)))
#define LANES (2 * VL)

static inline __attribute__ ((always_inline)) NpV
splat (gfloat f)
{
  return (NpV) {} + f;
}

static inline __attribute__ ((always_inline)) NpV
select (NpVi mask, NpV a, NpV b)
{
  return (NpV) (((NpVi) a & mask) | ((NpVi) b & ~mask));
}

/* tanh |x| = 1 − 2 / (e^{2|x|} + 1): e^y by y = n ln2 + r, |r| ≤ ln2/2, a
 * degree-6 Taylor polynomial for e^r (truncation 2e-7 relative, 1e-7 on
 * tanh), n put straight into the exponent bits, and the reciprocal from a
 * bit-level guess refined by three Newton steps (a division costs as much as
 * all the rest). Beyond |x| = 9, tanh rounds to ±1 in float. */
static inline __attribute__ ((always_inline)) NpV
fast_tanh (NpV x)
{
  const NpVi sign = (NpVi) x & (G_MININT32 + (NpVi) {});
  NpV  ax = (NpV) ((NpVi) x ^ sign);
  NpV  y, n, r, p, e;
  NpVi bits;

  y = 2.0f * select (ax < 9.0f, ax, splat (9.0f));
  /* Round to nearest by the 1.5·2^23 trick, branch-free on every ISA. */
  n = (y * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  r = (y - n * 0.693359375f) + n * 2.12194440e-4f;
  p = splat (1.0f / 720);
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  bits = (__builtin_convertvector (n, NpVi) + 127) << 23;
  e = p * (NpV) bits;
  return (NpV) ((NpVi) (1.0f - 2.0f / (e + 1.0f)) ^ sign);
}

static inline __attribute__ ((always_inline)) NpV
activate (NpCppnActivation activation, NpV v)
{
  switch (activation)
    {
    case NP_CPPN_TANH:
      return fast_tanh (v);
    case NP_CPPN_SIGMOID:
      return 0.5f + 0.5f * fast_tanh (0.5f * v);
    case NP_CPPN_RELU:
      return select (v > 0.0f, v, splat (0.0f));
    case NP_CPPN_IDENTITY:
      return v;
    case NP_CPPN_SOFTSIGN:
      return v / (1.0f + (NpV) ((NpVi) v & G_MAXINT32));
    case NP_CPPN_SIN:
      for (int k = 0; k < VL; k++)
        v[k] = sinf (v[k]);
      return v;
    case NP_CPPN_COS:
      for (int k = 0; k < VL; k++)
        v[k] = cosf (v[k]);
      return v;
    case NP_CPPN_N_ACTIVATIONS:
      break;
    }
  g_assert_not_reached ();
}

G_STATIC_ASSERT (NP_CPPN_BLOCK % 32 == 0);

/* Sums of OUTS units × LANES pixels in registers: each input vector loaded
 * once feeds OUTS multiply–adds, as in a GEMM micro-kernel. */
#define OUTS 5

NP_CPPN_KERNEL void
np_cppn_layer (const gfloat *restrict W, const gfloat *restrict b,
               gint n_in, gint n_out, NpCppnActivation activation,
               const gfloat *restrict in, gfloat *restrict out)
{
  for (gint p0 = 0; p0 < NP_CPPN_BLOCK; p0 += LANES)
    for (gint o = 0; o < n_out; o += OUTS)
      {
        /* A last group of fewer units repeats its last one (and drops it),
         * so every group runs the same code. */
        gint n = MIN (OUTS, n_out - o);
        const gfloat *w[OUTS];
        NpV acc[OUTS][2];

        for (int u = 0; u < OUTS; u++)
          {
            gint unit = o + MIN (u, n - 1);
            w[u] = W + (gsize) unit * n_in;
            acc[u][0] = acc[u][1] = splat (b[unit]);
          }
        for (gint i = 0; i < n_in; i++)
          {
            NpV s0, s1;

            memcpy (&s0, in + (gsize) i * NP_CPPN_BLOCK + p0, sizeof s0);
            memcpy (&s1, in + (gsize) i * NP_CPPN_BLOCK + p0 + VL, sizeof s1);
            for (int u = 0; u < OUTS; u++)
              {
                acc[u][0] += w[u][i] * s0;
                acc[u][1] += w[u][i] * s1;
              }
          }
        for (int u = 0; u < n; u++)
          {
            gfloat *dst = out + (gsize) (o + u) * NP_CPPN_BLOCK + p0;
            NpV     a0 = activate (activation, acc[u][0]);
            NpV     a1 = activate (activation, acc[u][1]);

            memcpy (dst, &a0, sizeof a0);
            memcpy (dst + VL, &a1, sizeof a1);
          }
      }
}

NP_CPPN_KERNEL void
np_cppn_activate (NpCppnActivation activation, gfloat *v, gsize n)
{
  g_return_if_fail (activation < NP_CPPN_N_ACTIVATIONS);
  for (gsize i = 0; i < n; i += VL)
    {
      gsize m = MIN ((gsize) VL, n - i);
      NpV   lanes = {};

      memcpy (&lanes, v + i, m * sizeof (gfloat));
      lanes = activate (activation, lanes);
      memcpy (v + i, &lanes, m * sizeof (gfloat));
    }
}
