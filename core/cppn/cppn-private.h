/* neuropaint — what cppn.c shares with its kernel (not public). */
#pragma once

#include "np-cppn.h"

/* Pixels per layer step: the activations of a block (size × block floats)
 * stay in L1, and weights are reused across the whole block. */
#define NP_CPPN_BLOCK 256

/* One dense layer over a block, channels by pixels: out[o][p] =
 * act (b[o] + Σ_i W[o][i] · in[i][p]) for the NP_CPPN_BLOCK pixels p. */
void np_cppn_layer (const gfloat *W, const gfloat *b, gint n_in, gint n_out,
                    NpCppnActivation activation,
                    const gfloat *in, gfloat *out);
