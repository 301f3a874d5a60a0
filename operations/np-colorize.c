/* This file is part of neuropaint.
 *
 * neuropaint is free software; you can redistribute it and/or modify it under
 * the terms of the GNU Lesser General Public License as published by the Free
 * Software Foundation; either version 3 of the License, or (at your option)
 * any later version. See COPYING.LESSER.
 *
 * neuropaint:colorize — colour for a photo of any size: the model colours the
 * photo at its own scale, and its colour goes on the photo's full-resolution
 * luminance (core/paint/colorize.c). The photo is read in strips of rows,
 * never whole in float: once for the model's small render (twice with
 * faces), once more to combine.
 */

#include "config.h"
#include <glib/gi18n-lib.h>

#ifdef GEGL_PROPERTIES

enum_start (np_colorize_space)
  enum_value (NP_COLORIZE_YCBCR, "ycbcr", N_("YCbCr (keep the luma Y')"))
  enum_value (NP_COLORIZE_LAB,   "lab",   N_("Lab (keep the lightness L*)"))
enum_end (NpColorizeSpace)

property_string (model, _("Model"), "gray2color")
  description (_("A colourising model's name (neuropaint models lists them) or file: "
                 "a chroma model, or an RGB one whose colour is taken"))
  ui_meta ("sensitive", "installed-model {named}")

property_enum (installed_model, _("Installed model"), gint, np_colorize_models, 0)
  description (_("An installed colourising model, or the one Model names (those "
                 "installed when the program started)"))
  ui_meta ("neuropaint:choices-of", "model")

property_int (render_size, _("Render size"), 0)
  description (_("Long side, in pixels, of the picture the model colours: the photo is "
                 "resized to it, not cropped; 0: the model's training size"))
  value_range (0, 4096)
  ui_range    (0, 1024)
  ui_meta     ("unit", "pixel-distance")

property_enum (color_space, _("Colour space"), NpColorizeSpace, np_colorize_space,
               NP_COLORIZE_YCBCR)
  description (_("How colour is carried: which luminance stays the photo's and which "
                 "chroma comes from the model"))

property_double (saturation, _("Saturation"), 1.0)
  description (_("The model's chroma times this"))
  value_range (0.0, 10.0)
  ui_range    (0.0, 2.0)

property_boolean (faces, _("Faces"), FALSE)
  description (_("Also colour each face found (Haar cascade, the seed's crop) at the model's "
                 "scale and blend it into the whole photo's colour"))

#else

#define GEGL_OP_FILTER
#define GEGL_OP_NAME     np_colorize
#define GEGL_OP_C_SOURCE np-colorize.c

/* The installed-model property's enum type (gegl-op.h calls NAME_get_type). */
#include "np-op-util.h"
#define np_colorize_models_get_type() np_op_model_choices (NP_MODEL_USE_COLORIZE)

#include "gegl-op.h"

/* Rows read (and written) at a time: 64 rows of a 6000-pixel photo are
 * 6 MB of float. */
#define STRIP_ROWS 64

static void
prepare (GeglOperation *operation)
{
  np_op_set_float_formats (operation);
}

/* Reads the whole photo through the colouriser as long as it asks. */
static gboolean
read_photo (NpColorizer *c, GeglBuffer *input, const GeglRectangle *box, const Babl *format,
            NpImage *strip, GError **error)
{
  while (np_colorizer_needs_rows (c))
    {
      for (gint y = 0; y < box->height; y += STRIP_ROWS)
        {
          GeglRectangle rows = { box->x, box->y + y, box->width, MIN (STRIP_ROWS, box->height - y) };
          NpImage       view = np_image_view (NP_SAMPLE_F32, rows.width, rows.height, 4, strip->data,
                                              strip->stride);

          gegl_buffer_get (input, &rows, 1.0, format, strip->data, strip->stride, GEGL_ABYSS_NONE);
          np_colorizer_add_rows (c, y, &view);
        }
      if (!np_colorizer_end_rows (c, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
process (GeglOperation       *operation,
         GeglBuffer          *input,
         GeglBuffer          *output,
         const GeglRectangle *result,
         gint                 level)
{
  GeglProperties         *o = GEGL_PROPERTIES (operation);
  const Babl             *format = gegl_operation_get_format (operation, "input");
  GeglRectangle           box = np_op_whole_input (operation, "input", result);
  NpColorizeOptions       options = { o->render_size,
                                      o->color_space == NP_COLORIZE_LAB ? NP_CHROMA_LAB : NP_CHROMA_YCBCR,
                                      (gfloat) o->saturation, NULL, np_op_threads () };
  g_autoptr(NpFaceFinder) finder = NULL;
  g_autoptr(NpColorizer)  c = NULL;
  g_autoptr(NpImage)      strip = NULL;
  GError                 *error = NULL;
  NpModel                *model;
  gboolean                ok;

  if (box.width <= 0 || box.height <= 0)
    return TRUE;
  np_op_note_gray_host (operation);
  if ((o->faces && (finder = options.faces = np_face_finder_new (NULL, FALSE, &error)) == NULL)
      || (strip = np_image_new (NP_SAMPLE_F32, box.width, MIN (STRIP_ROWS, box.height), 4, &error)) == NULL)
    return np_op_fail (operation, input, output, result, error);

  model = np_op_lock_model (operation, np_op_chosen_model (operation, o->model, o->installed_model),
                            NP_MODEL_USE_COLORIZE, &error);
  ok = model && (c = np_colorizer_new (model, box.width, box.height, &options, &error))
       && read_photo (c, input, &box, format, strip, &error);
  np_op_cache_unlock (operation);
  if (!ok)
    return np_op_fail (operation, input, output, result, error);

  /* Strip by strip: the photo's luminance, the model's colour. */
  for (gint y = 0; y < box.height; y += STRIP_ROWS)
    {
      GeglRectangle rows = { box.x, box.y + y, box.width, MIN (STRIP_ROWS, box.height - y) };
      NpImage       view = np_image_view (NP_SAMPLE_F32, rows.width, rows.height, 4, strip->data,
                                          strip->stride);

      gegl_buffer_get (input, &rows, 1.0, format, strip->data, strip->stride, GEGL_ABYSS_NONE);
      np_colorizer_apply (c, y, &view, &view);
      gegl_buffer_set (output, &rows, 0, format, strip->data, strip->stride);
    }
  return TRUE;
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
    "name",        "neuropaint:colorize",
    "title",       _("Colorize (neural network)"),
    "categories",  "neuropaint:generative",
    "gimp:menu-path",  "<Image>/Filters/Neuropaint",
    "gimp:menu-label", _("Colorize..."),
    /* Colour a Grayscale image in GIMP would drop (np_op_note_gray_host). */
    "neuropaint:makes-colour", "true",
    /* A tiny random chroma model (tests/data, relative to the source tree
     * where the tests render): colour that is the model's, luminance that is
     * the picture's. */
    "reference-composition", NP_OP_REFERENCE (
      "<node operation='neuropaint:colorize' model='tests/data/colorize-tiny.safetensors'/>"),
    "reference-hash", "4842c46c1b89f8529f41119f3e7ddfed",
    "neuropaint:reference-tolerance", "1",
    "description", _("Colours a photo of any size: a colourising model (default gray2color) "
                     "colours the photo's gray version at the model's own scale, and only "
                     "its colour, scaled up, goes on the photo's full-resolution "
                     "luminance, so every detail stays the photo's. Colour photos are "
                     "made gray first; alpha is kept."),
    NULL);
}

#endif
