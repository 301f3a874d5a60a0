/* neuropaint — the CPU level the core's own kernels run at (np-cpu.h). */
#include "np-cpu.h"

static const char *const level_names[NP_CPU_N_LEVELS] = { "generic", "avx2", "avx512" };

/* The chosen level plus one; 0 until first asked. */
static gint current;

NpCpuLevel
np_cpu_best (void)
{
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  /* GCC's and clang's checks include the operating system's support (XCR0)
   * for the wider registers. */
  /* The features behind x86-64-v4 and -v3, by names GCC and clang both
   * know (clang rejects the level names here). */
  gboolean v3, v4;

  __builtin_cpu_init ();
  v3 = __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma")
       && __builtin_cpu_supports ("bmi") && __builtin_cpu_supports ("bmi2");
  v4 = v3 && __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw")
       && __builtin_cpu_supports ("avx512cd") && __builtin_cpu_supports ("avx512dq")
       && __builtin_cpu_supports ("avx512vl");
  if (v4)
    return NP_CPU_AVX512;
  if (v3)
    return NP_CPU_AVX2;
#endif
  return NP_CPU_GENERIC;
}

const char *
np_cpu_level_name (NpCpuLevel level)
{
  g_return_val_if_fail (level >= 0 && level < NP_CPU_N_LEVELS, NULL);
  return level_names[level];
}

NpCpuLevel
np_cpu_level (void)
{
  gint level = g_atomic_int_get (&current);

  if (level == 0)
    {
      const char *want = g_getenv ("NP_CPU");
      NpCpuLevel  best = np_cpu_best (), chosen = best;

      for (gint l = 0; want && l < NP_CPU_N_LEVELS; l++)
        if (g_ascii_strcasecmp (want, level_names[l]) == 0)
          chosen = MIN ((NpCpuLevel) l, best);
      /* Racing first calls all store the same value. */
      level = chosen + 1;
      g_atomic_int_set (&current, level);
    }
  return (NpCpuLevel) (level - 1);
}

gboolean
np_cpu_use (NpCpuLevel level)
{
  g_return_val_if_fail (level >= 0 && level < NP_CPU_N_LEVELS, FALSE);
  if (level > np_cpu_best ())
    return FALSE;
  g_atomic_int_set (&current, level + 1);
  return TRUE;
}
