/* neuropaint — splitmix64 and portable normal deviates. */
#include "np-rng.h"

#include <math.h>

void
np_rng_init (NpRng *rng, guint64 seed)
{
  rng->state = seed;
  rng->has_spare = FALSE;
  rng->spare = 0.0;
}

guint64
np_rng_hash (guint64 x)
{
  guint64 z = x + G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

guint64
np_rng_next (NpRng *rng)
{
  guint64 z = np_rng_hash (rng->state);

  rng->state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  return z;
}

gdouble
np_rng_uniform (NpRng *rng)
{
  return (np_rng_next (rng) >> 11) * 0x1.0p-53;
}

gdouble
np_rng_log (gdouble x)
{
  /* x = m·2^e with m in [√½, √2), then ln m = 2 atanh s, s = (m−1)/(m+1),
   * |s| < 0.172: the odd series converges to double precision in 13 terms.
   * frexp and ldexp are exact; so every step is IEEE-rounded arithmetic. */
  const gdouble ln2 = 0.6931471805599453094172321;
  gdouble m, s, s2, term, sum;
  int     e;

  m = frexp (x, &e);
  if (m < G_SQRT2 / 2)
    {
      m *= 2;
      e -= 1;
    }
  s = (m - 1) / (m + 1);
  s2 = s * s;
  term = s;
  sum = 0;
  for (int k = 1; k <= 27; k += 2)
    {
      sum += term / k;
      term *= s2;
    }
  return 2 * sum + e * ln2;
}

gdouble
np_rng_normal (NpRng *rng)
{
  gdouble u, v, s, f;

  if (rng->has_spare)
    {
      rng->has_spare = FALSE;
      return rng->spare;
    }
  do
    {
      u = 2 * np_rng_uniform (rng) - 1;
      v = 2 * np_rng_uniform (rng) - 1;
      s = u * u + v * v;
    }
  while (s >= 1 || s == 0);
  f = sqrt (-2 * np_rng_log (s) / s);
  rng->spare = v * f;
  rng->has_spare = TRUE;
  return u * f;
}
