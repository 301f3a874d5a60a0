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
 *
 * Its aux pad, as GEGL's compositing ops have one, takes colour hints for a
 * model that takes them: a picture of the photo's size whose opaque pixels
 * are hints (a layer in GIMP 3's dialog, a nested gegl:load in a graph,
 * aux=[ gegl:load path=hints.png ] on the gegl command line). Its strips
 * are read beside the photo's.
 *
 * neuropaint:colorize-without-hints is this op without the aux pad
 * (np-colorize-without-hints.c compiles this file with
 * NP_COLORIZE_WITHOUT_HINTS), because GIMP 3.0 keeps no effect that has an
 * aux pad as a non-destructive filter: it merges it into the layer. GIMP's
 * Colorize... and Image ▸ Neuropaint ▸ Colorize Photo use the twin, so the
 * colour stays an effect the user can edit; Colorize with Hints... uses this
 * one (docs/gimp.md).
 */

#include "config.h"
#include <glib/gi18n-lib.h>

#ifdef GEGL_PROPERTIES

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

property_enum (color_space, _("Colour space"), NpChromaSpace, np_colorize_space,
               NP_CHROMA_YCBCR)
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

#ifdef NP_COLORIZE_WITHOUT_HINTS
#define GEGL_OP_FILTER
#define GEGL_OP_NAME     np_colorize_without_hints
#define GEGL_OP_C_SOURCE np-colorize-without-hints.c
#define OP_NAME          "neuropaint:colorize-without-hints"
#else
#define GEGL_OP_COMPOSER
#define GEGL_OP_NAME     np_colorize
#define GEGL_OP_C_SOURCE np-colorize.c
#define OP_NAME          "neuropaint:colorize"
#endif

/* The properties' enum types (gegl-op.h calls NAME_get_type), registered
 * once for both modules: a GType's name is the process's. */
#include "np-op-util.h"
#define np_colorize_models_get_type() np_op_model_choices (NP_MODEL_USE_COLORIZE)
#define np_colorize_space_get_type()  np_op_chroma_space_type ()

#include "gegl-op.h"

/* Rows read (and written) at a time: 64 rows of a 6000-pixel photo are
 * 6 MB of float. */
#define STRIP_ROWS 64
/* Pixels a thread must have to be worth starting (GEGL's own ops take a
 * few thousand). */
#define THREAD_COST 4096.0

static void
prepare (GeglOperation *operation)
{
  const Babl *bytes = np_op_source_rgb_u8_format (operation, "input");

  /* An 8-bit RGB photo is read and written in its own format, bytes in and
   * out (the core computes on them as on their float values), so no strip
   * is converted; others in float. */
  if (bytes)
    {
      gegl_operation_set_format (operation, "input", bytes);
      gegl_operation_set_format (operation, "output", bytes);
    }
  else
    np_op_set_float_formats (operation);
#ifndef NP_COLORIZE_WITHOUT_HINTS
  /* Hint colours in the photo's space, in float whatever the photo's. */
  gegl_operation_set_format (operation, "aux", babl_format_with_space ("R'G'B'A float",
                             gegl_operation_get_source_space (operation, "input")));
#endif
}

/* The photo's box, whatever the hints' (a composer's is both's). */
static GeglRectangle
get_bounding_box (GeglOperation *operation)
{
  const GeglRectangle *box = gegl_operation_source_get_bounding_box (operation, "input");

  return box ? *box : (GeglRectangle) { 0, 0, 0, 0 };
}

/* The whole photo, and the whole hint picture, wherever its box lies. */
static GeglRectangle
get_required_for_output (GeglOperation *operation, const gchar *input_pad, const GeglRectangle *roi)
{
  const GeglRectangle *aux = gegl_operation_source_get_bounding_box (operation, "aux");

  if (g_strcmp0 (input_pad, "aux") == 0)
    return aux ? *aux : *roi;
  return np_op_whole_input (operation, input_pad, roi);
}

/* Whether hints are given and fit the photo: a picture of its size, with
 * alpha. */
static gboolean
check_hints (GeglOperation *operation, const GeglRectangle *box, GeglRectangle *hints, GError **error)
{
  const GeglRectangle *aux = gegl_operation_source_get_bounding_box (operation, "aux");
  const Babl          *source = gegl_operation_get_source_format (operation, "aux");

  *hints = aux ? *aux : (GeglRectangle) { 0, 0, 0, 0 };
  if (hints->width != box->width || hints->height != box->height)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "the hint picture (aux) is %d×%d, the photo %d×%d: hints must be a picture of the photo's size",
                   hints->width, hints->height, box->width, box->height);
      return FALSE;
    }
  if (source && !babl_format_has_alpha (source))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "the hint picture (aux) has no alpha: hints are the opaque pixels of a transparent picture "
                   "(paint dots on an empty layer)");
      return FALSE;
    }
  return TRUE;
}

/* The first height rows of a strip buffer. */
static NpImage
strip_rows (NpImage *strip, gint height)
{
  return np_image_view (strip->type, strip->width, height, strip->channels, strip->data, strip->stride);
}

typedef struct
{
  NpColorizer  *c;
  GeglBuffer   *input;
  const Babl   *format;
  NpSampleType  type;
  gint          channels;
  GeglRectangle box;
  GError       *error;   /* the first thread's that could not allocate its rows */
} ReadArea;

/* Rows of area (whole rows: read_photo splits the photo horizontally)
 * through the colouriser: each band's luma gathered from the photo's tiles
 * in place (nothing copied where their format is the one asked), then
 * resized across. */
static void
read_area (const GeglRectangle *area, gpointer data)
{
  ReadArea          *a = data;
  GError            *error = NULL;
  gint               bpp = babl_format_get_bytes_per_pixel (a->format);
  g_autoptr(NpImage) luma = NULL;

  g_return_if_fail (area->x == a->box.x && area->width == a->box.width);
  if ((luma = np_image_new (NP_SAMPLE_F32, area->width, MIN (STRIP_ROWS, area->height), 1, &error)) == NULL)
    {
      if (!g_atomic_pointer_compare_and_exchange (&a->error, NULL, error))
        g_error_free (error);
      return;
    }
  for (gint y = area->y; y < area->y + area->height; y += STRIP_ROWS)
    {
      GeglRectangle       band = { area->x, y, area->width, MIN (STRIP_ROWS, area->y + area->height - y) };
      gsize               stride = luma->stride / sizeof (gfloat);
      GeglBufferIterator *it;

      if (!np_colorizer_wants_rows (a->c, y - a->box.y, band.height))
        continue;
      it = gegl_buffer_iterator_new (a->input, &band, 0, a->format, GEGL_ACCESS_READ, GEGL_ABYSS_NONE, 1);
      while (gegl_buffer_iterator_next (it))
        {
          const GeglRectangle *roi = &it->items[0].roi;
          NpImage piece = np_image_view (a->type, roi->width, roi->height, a->channels, it->items[0].data,
                                         (gsize) roi->width * bpp);

          np_colorizer_luma (&piece, (gfloat *) np_image_row (luma, roi->y - y) + (roi->x - area->x), stride);
        }
      np_colorizer_add_luma_rows (a->c, y - a->box.y, band.height, luma->data, stride);
    }
}

/* Reads the whole photo in format through the colouriser as long as it
 * asks, in bands of rows on GEGL's threads, and the hints, when given, at
 * hints in hint_format through hint_strip, top to bottom. */
static gboolean
read_photo (NpColorizer *c, GeglBuffer *input, GeglBuffer *aux, const GeglRectangle *box,
            const GeglRectangle *hints, const Babl *format, const Babl *hint_format, NpImage *hint_strip,
            GError **error)
{
  NpSampleType type = babl_format_get_type (format, 0) == babl_type ("u8") ? NP_SAMPLE_U8 : NP_SAMPLE_F32;
  ReadArea     read = { c, input, format, type, babl_format_get_n_components (format), *box, NULL };

  while (np_colorizer_needs_rows (c))
    {
      gegl_parallel_distribute_area (box, THREAD_COST, GEGL_SPLIT_STRATEGY_HORIZONTAL, read_area, &read);
      if (read.error)
        {
          g_propagate_error (error, read.error);
          return FALSE;
        }
      for (gint y = 0; aux && y < box->height; y += STRIP_ROWS)
        {
          GeglRectangle hint_rows = { hints->x, hints->y + y, box->width, MIN (STRIP_ROWS, box->height - y) };
          NpImage       hint_view = strip_rows (hint_strip, hint_rows.height);

          gegl_buffer_get (aux, &hint_rows, 1.0, hint_format, hint_strip->data, hint_strip->stride, GEGL_ABYSS_NONE);
          np_colorizer_add_hint_rows (c, y, &hint_view);
        }
      if (!np_colorizer_end_rows (c, error))
        return FALSE;
    }
  return TRUE;
}

typedef struct
{
  NpColorizer  *c;
  GeglBuffer   *input, *output;
  const Babl   *format;
  NpSampleType  type;
  gint          channels;
  GeglRectangle box;
} ApplyArea;

/* Colours area tile by tile in the buffers' own memory: where the photo's
 * tiles are in the format asked (an 8-bit photo's are), nothing is copied. */
static void
apply_area (const GeglRectangle *area, gpointer data)
{
  ApplyArea          *a = data;
  gint                bpp = babl_format_get_bytes_per_pixel (a->format);
  GeglBufferIterator *it = gegl_buffer_iterator_new (a->output, area, 0, a->format, GEGL_ACCESS_WRITE,
                                                     GEGL_ABYSS_NONE, 2);

  gegl_buffer_iterator_add (it, a->input, area, 0, a->format, GEGL_ACCESS_READ, GEGL_ABYSS_NONE);
  while (gegl_buffer_iterator_next (it))
    {
      const GeglRectangle *roi = &it->items[0].roi;
      NpImage out = np_image_view (a->type, roi->width, roi->height, a->channels, it->items[0].data,
                                   (gsize) roi->width * bpp);
      NpImage in = np_image_view (a->type, roi->width, roi->height, a->channels, it->items[1].data,
                                  (gsize) roi->width * bpp);

      np_colorizer_apply (a->c, roi->x - a->box.x, roi->y - a->box.y, &in, &out);
    }
}

/* The photo, with its hints when aux is given, to output. */
static gboolean
colorize (GeglOperation       *operation,
          GeglBuffer          *input,
          GeglBuffer          *aux,
          GeglBuffer          *output,
          const GeglRectangle *result)
{
  GeglProperties         *o = GEGL_PROPERTIES (operation);
  const Babl             *format = gegl_operation_get_format (operation, "input");
  /* Bytes in and out for an 8-bit RGB photo (prepare), floats otherwise. */
  NpSampleType            type = babl_format_get_type (format, 0) == babl_type ("u8") ? NP_SAMPLE_U8
                                                                                     : NP_SAMPLE_F32;
  gint                    channels = babl_format_get_n_components (format);
  const Babl             *hint_format = aux ? gegl_operation_get_format (operation, "aux") : NULL;
  GeglRectangle           box = np_op_whole_input (operation, "input", result);
  NpColorizeOptions       options = { o->render_size, o->color_space, (gfloat) o->saturation, NULL,
                                      np_op_threads (), aux != NULL };
  g_autoptr(NpFaceFinder) finder = NULL;
  g_autoptr(NpColorizer)  c = NULL;
  g_autoptr(NpImage)      hint_strip = NULL;
  GError                 *error = NULL;
  GeglRectangle           hints = { 0, 0, 0, 0 };
  NpModel                *model;
  gboolean                ok;

  if (input == NULL || box.width <= 0 || box.height <= 0)
    return TRUE;
  np_op_note_gray_host (operation);
  if ((aux && !check_hints (operation, &box, &hints, &error))
      || (o->faces && (finder = options.faces = np_face_finder_new (NULL, FALSE, &error)) == NULL)
      || (aux && (hint_strip = np_image_new (NP_SAMPLE_F32, box.width, MIN (STRIP_ROWS, box.height), 4,
                                             &error)) == NULL))
    return np_op_fail (operation, input, output, result, error);

  model = np_op_lock_model (operation, np_op_chosen_model (operation, o->model, o->installed_model),
                            NP_MODEL_USE_COLORIZE, &error);
  ok = model && (c = np_colorizer_new (model, box.width, box.height, &options, &error))
       && read_photo (c, input, aux, &box, &hints, format, hint_format, hint_strip, &error);
  np_op_cache_unlock (operation);
  if (!ok)
    return np_op_fail (operation, input, output, result, error);

  /* The photo's luminance, the model's colour, in the output's format
   * (the input's: prepare), on GEGL's threads. */
  {
    ApplyArea apply = { c, input, output, format, type, channels, box };
    gegl_parallel_distribute_area (&box, THREAD_COST, GEGL_SPLIT_STRATEGY_HORIZONTAL, apply_area, &apply);
  }
  return TRUE;
}

#ifdef NP_COLORIZE_WITHOUT_HINTS
static gboolean
process (GeglOperation       *operation,
         GeglBuffer          *input,
         GeglBuffer          *output,
         const GeglRectangle *result,
         gint                 level)
{
  return colorize (operation, input, NULL, output, result);
}
#else
static gboolean
process (GeglOperation       *operation,
         GeglBuffer          *input,
         GeglBuffer          *aux,
         GeglBuffer          *output,
         const GeglRectangle *result,
         gint                 level)
{
  return colorize (operation, input, aux, output, result);
}
#endif

/* What a user reads of the op; the twin's differs only by the hints. */
#define DESCRIPTION_COMMON \
  "Colours a photo of any size: a colourising model (default gray2color) colours the photo's gray " \
  "version at the model's own scale, and only its colour, scaled up, goes on the photo's " \
  "full-resolution luminance, so every detail stays the photo's. Colour photos are made gray " \
  "first; alpha is kept."

static void
gegl_op_class_init (GeglOpClass *klass)
{
  GeglOperationClass *operation_class = GEGL_OPERATION_CLASS (klass);

  operation_class->prepare = prepare;
  operation_class->get_bounding_box = get_bounding_box;
  np_op_class_whole_image (operation_class);
  operation_class->get_required_for_output = get_required_for_output;
#ifdef NP_COLORIZE_WITHOUT_HINTS
  GEGL_OPERATION_FILTER_CLASS (klass)->process = process;
  gegl_operation_class_set_keys (operation_class,
    "title",           _("Colorize (neural network, no hints)"),
    "gimp:menu-label", _("Colorize..."),
    "description",     _(DESCRIPTION_COMMON " This is neuropaint:colorize without its aux input, "
                         "so that GIMP 3 keeps it as an effect that stays editable."),
    NULL);
#else
  GEGL_OPERATION_COMPOSER_CLASS (klass)->process = process;
  GEGL_OPERATION_COMPOSER_CLASS (klass)->aux_label = _("Colour hints");
  GEGL_OPERATION_COMPOSER_CLASS (klass)->aux_description =
    _("A transparent picture of the photo's size: each opaque dot asks for its colour there, "
      "and the colour spreads over the region it belongs to");
  gegl_operation_class_set_keys (operation_class,
    "title",           _("Colorize (neural network)"),
    "gimp:menu-label", _("Colorize with Hints..."),
    /* Its aux pad takes colour hints (neuropaint run --aux feeds it). */
    "neuropaint:aux",  "hints",
    "description",     _(DESCRIPTION_COMMON " The aux input takes colour hints: a transparent "
                         "picture of the photo's size whose opaque dots ask for their colour."),
    NULL);
#endif
  gegl_operation_class_set_keys (operation_class,
    "name",        OP_NAME,
    "categories",  "neuropaint:generative",
    "gimp:menu-path",  "<Image>/Filters/Neuropaint",
    /* Colour a Grayscale image in GIMP would drop (np_op_note_gray_host). */
    "neuropaint:makes-colour", "true",
    /* A tiny random chroma model (tests/data, relative to the source tree
     * where the tests render): colour that is the model's, luminance that is
     * the picture's. Both ops give the same bytes without hints. */
    "reference-composition", NP_OP_REFERENCE (
      "<node operation='" OP_NAME "' model='tests/data/colorize-tiny.safetensors'/>"),
    "reference-hash", "4842c46c1b89f8529f41119f3e7ddfed",
    "neuropaint:reference-tolerance", "1",
    NULL);
}

#endif
