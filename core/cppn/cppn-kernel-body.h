/* neuropaint — the CPPN kernel body, compiled once per register width by
 * cppn-kernel.c (not a public header). Before including it, define
 * KERNEL_VECTOR_BYTES, KERNEL_NAME(name) (a per-copy suffix), KERNEL_FUNCTION
 * and KERNEL_INLINE (their attributes: the copy's target ISA). */

/* GCC's generic vectors of the register width this copy targets (each copy
 * has its own type names). */
#define NpV  KERNEL_NAME (NpV)
#define NpVi KERNEL_NAME (NpVi)
typedef gfloat NpV  __attribute__ ((vector_size (KERNEL_VECTOR_BYTES)));
typedef gint32 NpVi __attribute__ ((vector_size (KERNEL_VECTOR_BYTES)));
#define VL ((int) (sizeof (NpV) / sizeof (gfloat)))
#define LANES (2 * VL)

KERNEL_INLINE NpV
KERNEL_NAME (splat) (gfloat f)
{
  return (NpV) {} + f;
}

KERNEL_INLINE NpV
KERNEL_NAME (select) (NpVi mask, NpV a, NpV b)
{
  return (NpV) (((NpVi) a & mask) | ((NpVi) b & ~mask));
}

/* tanh |x| = 1 − 2 / (e^{2|x|} + 1): e^y by y = n ln2 + r, |r| ≤ ln2/2, a
 * degree-5 polynomial for e^r (fitted to the relative error on that range:
 * < 1e-7, so tanh is off by < 1.6e-7) and n put straight into the exponent
 * bits; no libm, no branch. Beyond |x| = 9, tanh rounds to ±1 in float.
 * (Forming e^y − 1 directly, to keep tanh's relative accuracy near 0, was
 * 8% slower and did not bring the network any closer to float64.) */
KERNEL_INLINE NpV
KERNEL_NAME (fast_tanh) (NpV x)
{
  const NpVi sign = (NpVi) x & (G_MININT32 + (NpVi) {});
  NpV  ax = (NpV) ((NpVi) x ^ sign);
  NpV  y, n, r, p, e;
  NpVi bits;

  y = 2.0f * KERNEL_NAME (select) (ax < 9.0f, ax, KERNEL_NAME (splat) (9.0f));
  /* Round to nearest by the 1.5·2^23 trick, branch-free on every ISA. */
  n = (y * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  r = (y - n * 0.693359375f) + n * 2.12194440e-4f;
  p = KERNEL_NAME (splat) (8.290293626e-3f);
  p = p * r + 4.189794138e-2f;
  p = p * r + 1.666763723e-1f;
  p = p * r + 4.999915063e-1f;
  p = p * r + 9.999997020e-1f;
  p = p * r + 1.0f;
  bits = (__builtin_convertvector (n, NpVi) + 127) << 23;
  e = p * (NpV) bits;
  return (NpV) ((NpVi) (1.0f - 2.0f / (e + 1.0f)) ^ sign);
}

KERNEL_INLINE NpV
KERNEL_NAME (activate) (NpCppnActivation activation, NpV v)
{
  switch (activation)
    {
    case NP_CPPN_TANH:
      return KERNEL_NAME (fast_tanh) (v);
    case NP_CPPN_SIGMOID:
      return 0.5f + 0.5f * KERNEL_NAME (fast_tanh) (0.5f * v);
    case NP_CPPN_RELU:
      return KERNEL_NAME (select) (v > 0.0f, v, KERNEL_NAME (splat) (0.0f));
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

G_STATIC_ASSERT (NP_CPPN_BLOCK % LANES == 0);

KERNEL_FUNCTION void
KERNEL_NAME (np_cppn_layer) (const gfloat *restrict W, const gfloat *restrict b,
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
            acc[u][0] = acc[u][1] = KERNEL_NAME (splat) (b[unit]);
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
            NpV     a0 = KERNEL_NAME (activate) (activation, acc[u][0]);
            NpV     a1 = KERNEL_NAME (activate) (activation, acc[u][1]);

            memcpy (dst, &a0, sizeof a0);
            memcpy (dst + VL, &a1, sizeof a1);
          }
      }
}

KERNEL_FUNCTION void
KERNEL_NAME (np_cppn_activate) (NpCppnActivation activation, gfloat *v, gsize n)
{
  for (gsize i = 0; i < n; i += VL)
    {
      gsize m = MIN ((gsize) VL, n - i);
      NpV   lanes = {};

      memcpy (&lanes, v + i, m * sizeof (gfloat));
      lanes = KERNEL_NAME (activate) (activation, lanes);
      memcpy (v + i, &lanes, m * sizeof (gfloat));
    }
}

#undef VL
#undef LANES
#undef NpV
#undef NpVi
