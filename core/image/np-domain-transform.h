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

/* Sparse samples spread along the guide (docs/operations.md#colour-hints):
 * planes holds c − 1 values times a mask, then the mask (1 at a sample, 0
 * elsewhere). Each is smoothed by 3 passes of the domain transform, so each
 * pixel's values become the samples' edge-aware mean near it; that is damped
 * by q = min(1, M/U), M the mask smoothed with edges and U without, so a
 * region walled off from every sample gets little, and its values become
 * q·mean and its mask q (0, 0 … 0 beyond a float's reach of every sample,
 * and everywhere when there is no sample). FALSE only when out of memory. */
gboolean np_domain_transform_spread (NpImage *planes, const NpImage *guide, gdouble sigma_space,
                                     gdouble sigma_range, GError **error);

G_END_DECLS
