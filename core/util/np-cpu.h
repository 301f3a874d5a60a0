/* neuropaint — which vector instructions the core's own kernels use.
 *
 * The binary targets baseline x86-64; kernels built for wider vectors (the
 * CPPN's, core/cppn/cppn-kernel.c; sgemm's, core/nn/sgemm.c) are chosen at
 * run time by what the CPU has. The environment variable NP_CPU (avx512,
 * avx2 or generic) picks a lower level, so tests and benchmarks can run every
 * path the machine can; a level the CPU lacks falls back to the best it has.
 * At "generic" the CPPN runs its 16-byte copy and convolutions the portable
 * OpenBLAS route. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  NP_CPU_GENERIC,
  NP_CPU_AVX2,     /* x86-64-v3: AVX2, FMA, BMI2 */
  NP_CPU_AVX512,   /* x86-64-v4: AVX-512 F, BW, CD, DQ, VL */
  NP_CPU_N_LEVELS
} NpCpuLevel;

/* The level the core runs at. */
NpCpuLevel  np_cpu_level      (void);
/* The best level this CPU can run. */
NpCpuLevel  np_cpu_best       (void);
/* Runs the core at `level` from now on (tests: each path in one process);
 * FALSE, and nothing changes, if the CPU cannot. */
gboolean    np_cpu_use        (NpCpuLevel level);
/* "avx512", "avx2", "generic". */
const char *np_cpu_level_name (NpCpuLevel level);

G_END_DECLS
