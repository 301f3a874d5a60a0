/* This file is part of neuropaint.
 *
 * neuropaint is free software; you can redistribute it and/or modify it under
 * the terms of the GNU Lesser General Public License as published by the Free
 * Software Foundation; either version 3 of the License, or (at your option)
 * any later version. See COPYING.LESSER.
 *
 * neuropaint:super-resolution — the seed's ×2 super-resolution net on the
 * input: the result is twice its size each way, the network run in
 * overlapping tiles (core/paint/generate.c).
 */

#include "config.h"
#include <glib/gi18n-lib.h>

#ifdef GEGL_PROPERTIES

property_string (model, _("Model"), "sr2x")
  description (_("A ×2 super-resolution model's name (neuropaint models lists them) or file"))
  ui_meta ("sensitive", "installed-model {named}")

property_enum (installed_model, _("Installed model"), gint, np_super_resolution_models, 0)
  description (_("An installed ×2 super-resolution model, or the one Model names (those "
                 "installed when the program started)"))
  ui_meta ("neuropaint:choices-of", "model")

property_int (tile_size, _("Tile size"), NP_PAINT_SR_TILE_SIZE)
  description (_("Largest tile side, in input pixels; larger pictures run in overlapping "
                 "tiles, bounding the memory the network needs"))
  value_range (16, 4096)
  ui_range    (64, 1024)
  ui_meta     ("unit", "pixel-distance")

property_int (overlap, _("Tile overlap"), NP_PAINT_SR_OVERLAP)
  description (_("Input pixels shared by neighbouring tiles, blended with linear ramps "
                 "(the seed's net sees 7 pixels around each)"))
  value_range (0, 1024)
  ui_range    (0, 64)
  ui_meta     ("unit", "pixel-distance")

#else

#define GEGL_OP_FILTER
#define GEGL_OP_NAME     np_super_resolution
#define GEGL_OP_C_SOURCE np-super-resolution.c

/* The installed-model property's enum type (gegl-op.h calls NAME_get_type). */
#include "np-op-util.h"
#define np_super_resolution_models_get_type() np_op_model_choices (NP_MODEL_USE_SUPER_RESOLUTION)

#include "gegl-op.h"

#define SCALE 2

static void
prepare (GeglOperation *operation)
{
  np_op_set_float_formats (operation);
}

static GeglRectangle
get_bounding_box (GeglOperation *operation)
{
  const GeglRectangle *in = gegl_operation_source_get_bounding_box (operation, "input");

  if (in == NULL)
    return (GeglRectangle) { 0 };
  return (GeglRectangle) { SCALE * in->x, SCALE * in->y, SCALE * in->width, SCALE * in->height };
}

/* Every output pixel may come from tiles blended anywhere: all of it at once. */
static GeglRectangle
get_cached_region (GeglOperation       *operation,
                   const GeglRectangle *roi)
{
  return get_bounding_box (operation);
}

static GeglRectangle
get_invalidated_by_change (GeglOperation       *operation,
                           const gchar         *input_pad,
                           const GeglRectangle *roi)
{
  GeglRectangle in = np_op_whole_invalidated (operation, input_pad, roi);

  return (GeglRectangle) { SCALE * in.x, SCALE * in.y, SCALE * in.width, SCALE * in.height };
}

static gboolean
process (GeglOperation       *operation,
         GeglBuffer          *input,
         GeglBuffer          *output,
         const GeglRectangle *result,
         gint                 level)
{
  GeglProperties *o = GEGL_PROPERTIES (operation);
  NpPaintOptions  options = { o->tile_size, o->overlap, np_op_threads (), FALSE, FALSE };

  return np_op_generate (operation, input, output, result,
                         np_op_chosen_model (operation, o->model, o->installed_model),
                         NP_MODEL_USE_SUPER_RESOLUTION, SCALE, &options);
}

static void
gegl_op_class_init (GeglOpClass *klass)
{
  GeglOperationClass       *operation_class = GEGL_OPERATION_CLASS (klass);
  GeglOperationFilterClass *filter_class = GEGL_OPERATION_FILTER_CLASS (klass);

  operation_class->prepare = prepare;
  operation_class->get_bounding_box = get_bounding_box;
  np_op_class_whole_image (operation_class);
  operation_class->get_cached_region = get_cached_region;
  operation_class->get_invalidated_by_change = get_invalidated_by_change;
  filter_class->process = process;

  gegl_operation_class_set_keys (operation_class,
    "name",        "neuropaint:super-resolution",
    "title",       _("Super resolution ×2 (neural network)"),
    "categories",  "neuropaint:generative",
    "gimp:menu-path",  "<Image>/Filters/Neuropaint",
    "gimp:menu-label", _("Super Resolution..."),
    /* A tiny random SR net (tests/data, relative to the source tree where
     * the tests render). */
    "reference-composition", NP_OP_REFERENCE (
      "<node operation='neuropaint:super-resolution' model='tests/data/sr-tiny.safetensors'"
      " tile-size='64'/>"),
    "reference-hash", "501c391696e9b80618c666e662a3bd65",
    "neuropaint:reference-tolerance", "1",
    "description", _("Doubles the picture with a ×2 super-resolution model (default sr2x, "
                     "the seed's SR net), run in overlapping tiles; alpha is each input "
                     "pixel's for its four output pixels."),
    NULL);
}

#endif
