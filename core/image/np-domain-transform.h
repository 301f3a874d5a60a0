/* neuropaint — edge-aware smoothing by the domain transform.
 *
 * Gastal and Oliveira's recursive filter (2011; docs/operations.md#colour-hints):
 * each pair of neighbours is (1 + σ_s/σ_r·|ΔI|) pixels apart instead of 1,
 * ΔI the guide's step between them, and a first-order recursive filter
 * smooths along rows, then columns, over those distances, forwards and
 * backwards. Where the guide has an edge the neighbours are far apart, so
 * what is smoothed stops there. Repeated passes with σ shrinking (σ_i =
 * σ_s·√3·2^(N−i−1)/√(4^N − 1)) make the whole a smoothing of spread σ_s.
 */
#pragma once

#include "image/np-image.h"

G_BEGIN_DECLS

/* planes: F32, any channels, smoothed in place; guide: F32, one channel, the
 * same size. sigma_space in pixels (> 0), sigma_range in the guide's units
 * (> 0; INFINITY: no edges, a plain recursive smoothing), iterations ≥ 1.
 * Each line is filtered alone and in order, so the bits are the same on any
 * machine that rounds floats the same way. */
void np_domain_transform (NpImage *planes, const NpImage *guide, gdouble sigma_space,
                          gdouble sigma_range, gint iterations);

G_END_DECLS
