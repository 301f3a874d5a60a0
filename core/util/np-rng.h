/* neuropaint — a small portable random number generator.
 *
 * Seeds must give the same numbers on every machine and compiler (a CPPN seed
 * names an image), so nothing here uses rand(), GRand's algorithm choice or
 * libm: splitmix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014) for the bits, and Marsaglia's polar method with a
 * logarithm built from +, −, ×, ÷ and sqrt only, which IEEE 754 rounds
 * exactly, for the normal deviates.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint64  state;
  gboolean has_spare;  /* the polar method makes deviates in pairs */
  gdouble  spare;
} NpRng;

void    np_rng_init    (NpRng *rng, guint64 seed);
guint64 np_rng_next    (NpRng *rng);
/* splitmix64's mixing function alone: a well-spread 64-bit hash of x, for
 * random numbers that are a pure function of a key and a counter (any
 * element, any thread, any order gives the same). */
guint64 np_rng_hash    (guint64 x);
/* Uniform in [0, 1), 53 random bits. */
gdouble np_rng_uniform (NpRng *rng);
/* Standard normal N(0, 1). */
gdouble np_rng_normal  (NpRng *rng);

/* Natural logarithm of a positive finite x, portable to the last bit. */
gdouble np_rng_log     (gdouble x);

G_END_DECLS
