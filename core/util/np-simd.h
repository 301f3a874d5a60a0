/* neuropaint — wider vectors for hot loops without giving up portability.
 *
 * The binary targets baseline x86-64 (SSE2). A hot kernel written as plain
 * loops that GCC vectorises can be marked NP_VECTOR_CLONES: the compiler
 * then also builds AVX2 and AVX-512 copies and the dynamic loader picks the
 * best the CPU has (function multi-versioning through an ifunc). Measure
 * before marking: only loops that vectorise gain anything. */
#pragma once

#if defined(__x86_64__) && defined(__has_attribute) && defined(__ELF__)
#  if __has_attribute(target_clones)
#    define NP_VECTOR_CLONES __attribute__((target_clones ("arch=x86-64-v4", "avx2", "default")))
#  endif
#endif
#ifndef NP_VECTOR_CLONES
#  define NP_VECTOR_CLONES
#endif
