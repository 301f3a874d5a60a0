/* neuropaint — the CPPN's hot loop: dense layers over blocks of pixels.
 *
 * The layers are narrow (15 units by default), far too thin for sgemm to pay
 * off, so the kernel keeps the sums of OUTS units × 2 vectors of pixels in
 * registers while it streams the inputs (each input vector loaded once feeds
 * OUTS multiply–adds, as in a GEMM micro-kernel), then applies the activation
 * to those registers before storing them once: bias, product and activation
 * in a single pass over the block.
 *
 * The body (cppn-kernel-body.h) is written with GCC's generic vectors and
 * compiled three times: 64-byte vectors for AVX-512, 32-byte for AVX2+FMA and
 * 16-byte for anything else (SSE2, NEON); np_cppn_layer picks by CPU at run
 * time, so the binary stays portable. One width for all would not do: 64-byte
 * vectors lowered to AVX2 ran 50× slower. fp-contract lets the copies fuse
 * multiply–adds (the project builds as ISO C, where GCC would not). Every
 * pixel takes the same instructions whatever its block, so results never
 * depend on tiling.
 */
#include "cppn-private.h"

#include "util/np-cpu.h"

#include <math.h>
#include <string.h>

/* The vector helpers are always inlined into their copy's kernel, so no
 * vector ever crosses an ABI boundary: GCC's warnings about it do not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"

/* Units whose sums stay in registers together: 5 × 2 vectors fits AVX2's
 * 16 registers and divides the default 15 (and 45) units. */
#define OUTS 5

#if defined(__GNUC__) && !defined(__clang__)
#define KERNEL_CONTRACT optimize ("fp-contract=fast")
#else
#define KERNEL_CONTRACT
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define NP_CPPN_X86 1

#define KERNEL_VECTOR_BYTES 64
#define KERNEL_NAME(name) name##_avx512
#define KERNEL_FUNCTION __attribute__ ((target ("arch=x86-64-v4"), KERNEL_CONTRACT))
#define KERNEL_INLINE static inline __attribute__ ((always_inline, target ("arch=x86-64-v4"), KERNEL_CONTRACT))
#include "cppn-kernel-body.h"
#undef KERNEL_VECTOR_BYTES
#undef KERNEL_NAME
#undef KERNEL_FUNCTION
#undef KERNEL_INLINE

#define KERNEL_VECTOR_BYTES 32
#define KERNEL_NAME(name) name##_avx2
#define KERNEL_FUNCTION __attribute__ ((target ("arch=x86-64-v3"), KERNEL_CONTRACT))
#define KERNEL_INLINE static inline __attribute__ ((always_inline, target ("arch=x86-64-v3"), KERNEL_CONTRACT))
#include "cppn-kernel-body.h"
#undef KERNEL_VECTOR_BYTES
#undef KERNEL_NAME
#undef KERNEL_FUNCTION
#undef KERNEL_INLINE
#endif

#define KERNEL_VECTOR_BYTES 16
#define KERNEL_NAME(name) name##_generic
#define KERNEL_FUNCTION __attribute__ ((KERNEL_CONTRACT))
#define KERNEL_INLINE static inline __attribute__ ((always_inline, KERNEL_CONTRACT))
#include "cppn-kernel-body.h"

/* The widest copy the core runs at (util/np-cpu.h: NP_CPU=generic|avx2
 * forces a narrower one, so tests and benchmarks check every copy). */
const gchar *
np_cppn_kernel_isa (void)
{
  return np_cpu_level_name (np_cpu_level ());
}

void
np_cppn_layer (const gfloat *W, const gfloat *b, gint n_in, gint n_out,
               NpCppnActivation activation, const gfloat *in, gfloat *out)
{
  switch (np_cpu_level ())
    {
#ifdef NP_CPPN_X86
    case NP_CPU_AVX512:
      np_cppn_layer_avx512 (W, b, n_in, n_out, activation, in, out);
      return;
    case NP_CPU_AVX2:
      np_cppn_layer_avx2 (W, b, n_in, n_out, activation, in, out);
      return;
#endif
    default:
      np_cppn_layer_generic (W, b, n_in, n_out, activation, in, out);
    }
}

void
np_cppn_activate (NpCppnActivation activation, gfloat *v, gsize n)
{
  g_return_if_fail (activation < NP_CPPN_N_ACTIVATIONS);
  switch (np_cpu_level ())
    {
#ifdef NP_CPPN_X86
    case NP_CPU_AVX512:
      np_cppn_activate_avx512 (activation, v, n);
      return;
    case NP_CPU_AVX2:
      np_cppn_activate_avx2 (activation, v, n);
      return;
#endif
    default:
      np_cppn_activate_generic (activation, v, n);
    }
}

