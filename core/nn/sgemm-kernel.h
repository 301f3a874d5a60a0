/* neuropaint — the sgemm micro-kernel, written once for every vector width.
 *
 * sgemm.c includes this once per instruction set, after defining:
 *   KERNEL_NAME, KERNEL_TARGET (the function's target attribute), VEC (the
 *   vector type), LANES (floats in one), MR and NRV (the tile: MR rows of C
 *   by NRV vectors), and VLOAD, VSTORE, VSET1, VFMA (a·b + c, fused), VADD.
 *
 * C[MR × NR] (+)= Σ_p a[p][0..MR) ⊗ b[p][0..NR), NR = NRV·LANES: a is an
 * MR-row panel of A packed k-major, b a block of B whose row p starts at
 * b + rows[p] (a packed block's rows lie evenly apart; a stride-1
 * convolution's are its padded input's rows, shifted per kernel tap).
 * Each value of C is one accumulator summed in p order, then added to C (or
 * stored): the same bits wherever the tile lies and whoever computes it. */

KERNEL_TARGET static void
KERNEL_NAME (gint64 kc, const gfloat *restrict a, const gfloat *restrict b, const gint64 *restrict rows,
             gfloat *restrict c, gint64 ldc, gint mr, gint nr, gboolean add)
{
  VEC acc[MR][NRV];

  for (gint i = 0; i < MR; i++)
    for (gint j = 0; j < NRV; j++)
      acc[i][j] = VSET1 (0.0f);
  for (gint64 p = 0; p < kc; p++, a += MR)
    {
      const gfloat *bp = b + rows[p];
      VEC           bv[NRV];

      for (gint j = 0; j < NRV; j++)
        bv[j] = VLOAD (bp + j * LANES);
      for (gint i = 0; i < MR; i++)
        {
          VEC ai = VSET1 (a[i]);
          for (gint j = 0; j < NRV; j++)
            acc[i][j] = VFMA (ai, bv[j], acc[i][j]);
        }
    }
  if (mr == MR && nr == NRV * LANES)
    for (gint i = 0; i < MR; i++)
      for (gint j = 0; j < NRV; j++)
        {
          gfloat *to = c + i * ldc + j * LANES;
          VSTORE (to, add ? VADD (VLOAD (to), acc[i][j]) : acc[i][j]);
        }
  else
    {
      /* An edge tile: the whole tile to memory, its valid part into C. */
      gfloat tile[MR * NRV * LANES];

      for (gint i = 0; i < MR; i++)
        for (gint j = 0; j < NRV; j++)
          VSTORE (tile + (i * NRV + j) * LANES, acc[i][j]);
      for (gint i = 0; i < mr; i++)
        for (gint j = 0; j < nr; j++)
          c[i * ldc + j] = add ? c[i * ldc + j] + tile[i * NRV * LANES + j] : tile[i * NRV * LANES + j];
    }
}

#undef KERNEL_NAME
#undef KERNEL_TARGET
#undef VEC
#undef LANES
#undef MR
#undef NRV
#undef VLOAD
#undef VSTORE
#undef VSET1
#undef VFMA
#undef VADD
