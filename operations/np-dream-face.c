/* This file is part of neuropaint.
 *
 * neuropaint is free software; you can redistribute it and/or modify it under
 * the terms of the GNU Lesser General Public License as published by the Free
 * Software Foundation; either version 3 of the License, or (at your option)
 * any later version. See COPYING.LESSER.
 *
 * neuropaint:dream-face — a source: the noise experiment's generator (the
 * seed's "pure generator") dreams a face from the seed's noise at the
 * model's size, resized to width × height (core/paint/dream.c).
 */

#include "config.h"
#include <glib/gi18n-lib.h>

#ifdef GEGL_PROPERTIES

property_seed (seed, _("Random seed"), rand)
    description (_("Names the noise, and so the face: the same seed gives the same face everywhere"))

property_string (model, _("Model"), "noise2face")
    description (_("A noise model's name (neuropaint models lists them) or file"))
    ui_meta ("sensitive", "installed-model {named}")

property_enum (installed_model, _("Installed model"), gint, np_dream_face_models, 0)
    description (_("An installed noise model, or the one Model names (those "
                   "installed when the program started)"))
    ui_meta ("neuropaint:choices-of", "model")

property_int (width, _("Width"), 256)
    description (_("Width of the picture (the face is dreamt at the model's size and resized)"))
    value_range (1, 16384)
    ui_range (16, 2048)
    ui_meta ("unit", "pixel-distance")
    ui_meta ("axis", "x")
    ui_meta ("role", "output-extent")

property_int (height, _("Height"), 320)
    description (_("Height of the picture"))
    value_range (1, 16384)
    ui_range (16, 2048)
    ui_meta ("unit", "pixel-distance")
    ui_meta ("axis", "y")
    ui_meta ("role", "output-extent")

#else

#define GEGL_OP_SOURCE
#define GEGL_OP_NAME     np_dream_face
#define GEGL_OP_C_SOURCE np-dream-face.c

/* The installed-model property's enum type (gegl-op.h calls NAME_get_type). */
#include "np-op-util.h"
#define np_dream_face_models_get_type() np_op_model_choices (NP_MODEL_USE_NOISE)

#include "gegl-op.h"

static void
prepare (GeglOperation *operation)
{
  gegl_operation_set_format (operation, "output", babl_format ("R'G'B'A float"));
}

static GeglRectangle
get_bounding_box (GeglOperation *operation)
{
  GeglProperties *o = GEGL_PROPERTIES (operation);
  return (GeglRectangle) { 0, 0, o->width, o->height };
}

/* The whole face at once: the network sees all of its noise. */
static GeglRectangle
get_cached_region (GeglOperation       *operation,
                   const GeglRectangle *roi)
{
  return get_bounding_box (operation);
}

static gboolean
process (GeglOperation       *operation,
         GeglBuffer          *output,
         const GeglRectangle *result,
         gint                 level)
{
  GeglProperties    *o = GEGL_PROPERTIES (operation);
  GeglRectangle      box = get_bounding_box (operation);
  g_autoptr(NpImage) face = NULL, sized = NULL;
  GError            *error = NULL;
  NpModel           *model;
  gboolean           ok;
  gint               mw = 0, mh = 0;

  model = np_op_lock_model (operation, np_op_chosen_model (operation, o->model, o->installed_model),
                            NP_MODEL_USE_NOISE, &error);
  if (model)
    mw = np_model_info (model)->width, mh = np_model_info (model)->height;
  ok = model && (face = np_image_new (NP_SAMPLE_F32, mw, mh, 4, &error))
       && np_paint_dream (model, (guint32) o->seed, face, np_op_threads (), &error);
  np_op_cache_unlock (operation);
  if (!ok)
    return np_op_fail (operation, NULL, NULL, NULL, error);

  if (mw != box.width || mh != box.height)
    {
      if ((sized = np_image_new (NP_SAMPLE_F32, box.width, box.height, 4, &error)) == NULL)
        return np_op_fail (operation, NULL, NULL, NULL, error);
      np_resize_cubic (face, sized);
      for (gint y = 0; y < sized->height; y++)
        {
          gfloat *p = np_image_row (sized, y);
          for (gint x = 0; x < 4 * sized->width; x++)
            p[x] = CLAMP (p[x], 0.0f, 1.0f);   /* the cubic kernel overshoots */
        }
    }
  np_op_write (output, &box, babl_format ("R'G'B'A float"), sized ? sized : face);
  return TRUE;
}

static void
gegl_op_class_init (GeglOpClass *klass)
{
  GeglOperationClass       *operation_class = GEGL_OPERATION_CLASS (klass);
  GeglOperationSourceClass *source_class = GEGL_OPERATION_SOURCE_CLASS (klass);

  operation_class->prepare = prepare;
  operation_class->get_bounding_box = get_bounding_box;
  operation_class->get_cached_region = get_cached_region;
  /* The core runs the network on GEGL's thread count itself. */
  operation_class->threaded = FALSE;
  source_class->process = process;

  gegl_operation_class_set_keys (operation_class,
    "name",        "neuropaint:dream-face",
    "title",       _("Dream face (neural network)"),
    "categories",  "neuropaint:render",
    "gimp:menu-path",  "<Image>/Filters/Render/Neuropaint",
    "gimp:menu-label", _("Dream Face..."),
    /* A tiny random noise model (tests/data, relative to the source tree
     * where the tests render). */
    "reference-composition",
      "<gegl><node operation='neuropaint:dream-face' model='tests/data/dream-tiny.safetensors'"
      " seed='7' width='64' height='80'/></gegl>",
    "reference-hash", "d303a1f39e75975cc19c689c00679cf1",
    "neuropaint:reference-tolerance", "1",
    "description", _("A face from noise: the noise model (default noise2face, the seed's "
                     "pure generator) turns the seed's Gaussian noise into a face at its "
                     "own size, resized to width × height. Every seed is a face, the same "
                     "one everywhere."),
    NULL);
}

#endif
