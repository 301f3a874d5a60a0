/* neuropaint — painting with a model: a picture in, the model's picture out.
 *
 * The stage above the neural core (nn) and the filters: it filters the
 * picture as the model's training inputs were (its metadata "input_filter",
 * through the filter registry in filters/np-filters.h), runs the network
 * tile by tile and blends the tiles.
 *
 *   g_autoptr(NpNet) net = np_net_load ("gray2color.safetensors", &error);
 *   NpPaintOptions options = { .tile_size = 512, .overlap = 64, .n_threads = 2,
 *                              .apply_filter = TRUE };
 *   np_paint_generate (net, photo, result, &options, &error);
 */
#pragma once

#include <glib.h>
#include "np-error.h"
#include "image/np-image.h"
#include "nn/np-nn.h"

G_BEGIN_DECLS

typedef struct
{
  gint     tile_size;     /* largest tile side in pixels (rounded to the model's multiple) */
  gint     overlap;       /* pixels shared by neighbouring tiles, blended */
  gint     n_threads;
  gboolean apply_filter;  /* apply the model's metadata "input_filter" first */
} NpPaintOptions;

/* Runs an image-to-image model (one input, 1 or 3 channels each way, output
 * the input's size, or s times it for a super-resolution net: see
 * np_net_output_scale) on `in`, R'G'B'A float, into `out` of that size:
 * optional input filter ("identity" or none: no filter; a name the filter
 * registry does not know is an NP_ERROR_UNSUPPORTED error), x·2 - 1
 * scaling, edge-replicated padding to np_net_size_multiple(), overlapping
 * tiles for larger pictures, (y + 1)/2 back, alpha copied (each input
 * pixel's to its s×s output pixels). Callers check the model suits their
 * use first (np_model_check_use). With batch norm
 * on batch statistics each tile normalises by its own, so tiles are not
 * seamless: use a tile size above the picture. */
gboolean np_paint_generate (NpNet *net, const NpImage *in, NpImage *out,
                            const NpPaintOptions *options, GError **error);

G_END_DECLS
