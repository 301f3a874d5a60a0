/* This file is part of neuropaint.
 *
 * neuropaint is free software; you can redistribute it and/or modify it under
 * the terms of the GNU Lesser General Public License as published by the Free
 * Software Foundation; either version 3 of the License, or (at your option)
 * any later version. See COPYING.LESSER.
 *
 * neuropaint:generator — run an image-to-image model (a pix2pix U-Net, by
 * name or file) on the input, tiled with overlap for large pictures
 * (core/paint/generate.c).
 *
 * The model is a string, not a file path, in every op: GEGL's XML loader
 * warns about a file-path value that names no file (a model's bare name),
 * and GIMP makes file paths into files relative to its own folder.
 */

#include "config.h"
#include <glib/gi18n-lib.h>

#ifdef GEGL_PROPERTIES

property_string (model, _("Model"), "")
  description (_("A model's name (neuropaint models lists them: gray2color, contours2color, ...) "
                 "or a model file (safetensors, as written by neuropaint or tools/export_torch.py)"))
  ui_meta ("sensitive", "installed-model {named}")

property_enum (installed_model, _("Installed model"), gint, np_generator_models, 0)
  description (_("An installed image-to-image model, or the one Model names (those "
                 "installed when the program started)"))
  ui_meta ("neuropaint:choices-of", "model")

property_boolean (apply_filter, _("Apply the model's input filter"), FALSE)
  description (_("Filter the input as the model's training inputs were (its metadata "
                 "“input_filter”, e.g. gray), so a photo can go in directly"))

property_int (tile_size, _("Tile size"), 512)
  description (_("Largest tile side in pixels; larger pictures run in overlapping tiles, "
                 "bounding the memory the network needs"))
  value_range (64, 8192)
  ui_range    (128, 2048)
  ui_meta     ("unit", "pixel-distance")

property_int (overlap, _("Tile overlap"), 64)
  description (_("Pixels shared by neighbouring tiles, blended with linear ramps"))
  value_range (0, 1024)
  ui_range    (0, 256)
  ui_meta     ("unit", "pixel-distance")

#else

#define GEGL_OP_FILTER
#define GEGL_OP_NAME     np_generator
#define GEGL_OP_C_SOURCE np-generator.c

/* The installed-model property's enum type (gegl-op.h calls NAME_get_type). */
#include "np-op-util.h"
#define np_generator_models_get_type() np_op_model_choices (NP_MODEL_USE_IMAGE)

#include "gegl-op.h"

static void
prepare (GeglOperation *operation)
{
  np_op_set_formats (operation, "R'G'B'A float");
}

static gboolean
process (GeglOperation       *operation,
         GeglBuffer          *input,
         GeglBuffer          *output,
         const GeglRectangle *result,
         gint                 level)
{
  GeglProperties *o = GEGL_PROPERTIES (operation);
  NpPaintOptions  options = { o->tile_size, o->overlap, np_op_threads (), o->apply_filter };

  np_op_note_gray_host (operation);
  return np_op_generate (operation, input, output, result,
                         np_op_chosen_model (operation, o->model, o->installed_model), NP_MODEL_USE_IMAGE, 1,
                         &options);
}

static void
gegl_op_class_init (GeglOpClass *klass)
{
  GeglOperationClass       *operation_class = GEGL_OPERATION_CLASS (klass);
  GeglOperationFilterClass *filter_class = GEGL_OPERATION_FILTER_CLASS (klass);

  operation_class->prepare = prepare;
  np_op_class_whole_image (operation_class);
  filter_class->process = process;

  gegl_operation_class_set_keys (operation_class,
    "name",        "neuropaint:generator",
    "title",       _("Generator (neural network)"),
    "categories",  "neuropaint:generative",
    "gimp:menu-path",  "<Image>/Filters/Neuropaint",
    "gimp:menu-label", _("Generator..."),
    /* Colour a Grayscale image in GIMP would drop (np_op_note_gray_host). */
    "neuropaint:makes-colour", "true",
    /* The model path is relative to the source tree (tests render there): a
     * tiny random model the tests also check by hand. */
    "reference-composition", NP_OP_REFERENCE (
      "<node operation='neuropaint:generator' model='tests/data/generator-tiny.safetensors'"
      " apply-filter='true'/>"),
    "reference-hash", "3cff9ef13526c1e7e6969397bdae706c",
    "neuropaint:reference-tolerance", "1",
    "description", _("Runs an image-to-image model (pix2pix U-Net, by name or "
                     "file) on the input: optional input filter, "
                     "padding to the model's multiple, overlapping tiles for "
                     "large pictures; alpha is kept."),
    NULL);
}

#endif
