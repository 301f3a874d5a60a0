/* This file is part of neuropaint.
 *
 * neuropaint is free software; you can redistribute it and/or modify it under
 * the terms of the GNU Lesser General Public License as published by the Free
 * Software Foundation; either version 3 of the License, or (at your option)
 * any later version. See COPYING.LESSER.
 *
 * neuropaint:canny — Canny edges per channel or of the luma, bit-exact with
 * OpenCV 4.6's cv::Canny (core/filters/canny.c).
 */

#include "config.h"
#include <glib/gi18n-lib.h>

#ifdef GEGL_PROPERTIES

enum_start (np_canny_op_gradient)
  enum_value (NP_CANNY_OP_L1, "l1", N_("L1: |dx| + |dy|"))
  enum_value (NP_CANNY_OP_L2, "l2", N_("L2: √(dx² + dy²)"))
enum_end (NpCannyOpGradient)

enum_start (np_canny_op_mode)
  enum_value (NP_CANNY_OP_PER_CHANNEL, "per-channel", N_("Per channel"))
  enum_value (NP_CANNY_OP_GRAY,        "gray",        N_("Gray (BT.601 luma)"))
enum_end (NpCannyOpMode)

property_double (low, _("Low threshold"), 100.0)
    description (_("Gradient magnitude a pixel must exceed to extend an edge "
                   "(OpenCV's threshold1; the two are swapped if low > high)"))
    value_range (0.0, 10000.0)
    ui_range    (0.0, 1000.0)

property_double (high, _("High threshold"), 200.0)
    description (_("Gradient magnitude a pixel must exceed to start an edge "
                   "(OpenCV's threshold2)"))
    value_range (0.0, 10000.0)
    ui_range    (0.0, 1000.0)

property_enum (gradient, _("Gradient"), NpCannyOpGradient, np_canny_op_gradient,
               NP_CANNY_OP_L1)
    description (_("Magnitude of the 3×3 Sobel gradient: L1 (OpenCV's default, "
                   "L2gradient=false) or L2"))

property_enum (mode, _("Mode"), NpCannyOpMode, np_canny_op_mode,
               NP_CANNY_OP_PER_CHANNEL)
    description (_("Per channel: R, G and B each get their own edges; gray: "
                   "the edges of the luma (OpenCV's RGB2GRAY) in all three"))

property_int (pre_threshold, _("Pre-threshold"), -1)
    description (_("If 0–255, every channel c first becomes (c > t) ? t : 0; "
                   "-1 turns it off. The seed used 200 with low 140, high 255"))
    value_range (-1, 255)

#else

#define GEGL_OP_FILTER
#define GEGL_OP_NAME     np_canny
#define GEGL_OP_C_SOURCE np-canny.c

#include "gegl-op.h"
#include "np-op-util.h"

static void
prepare (GeglOperation *operation)
{
  np_op_set_formats (operation, "R'G'B'A u8");
}

static gboolean
process (GeglOperation       *operation,
         GeglBuffer          *input,
         GeglBuffer          *output,
         const GeglRectangle *result,
         gint                 level)
{
  GeglProperties      *o = GEGL_PROPERTIES (operation);
  const Babl          *format = gegl_operation_get_format (operation, "output");
  const GeglRectangle *box = gegl_operation_source_get_bounding_box (operation, "input");
  NpCannyParams        params = {
    .low = o->low,
    .high = o->high,
    .gradient = o->gradient == NP_CANNY_OP_L2 ? NP_CANNY_GRADIENT_L2 : NP_CANNY_GRADIENT_L1,
    .mode = o->mode == NP_CANNY_OP_GRAY ? NP_CANNY_GRAY : NP_CANNY_PER_CHANNEL,
    .pre_threshold = o->pre_threshold,
  };
  g_autoptr(NpImage)   image = NULL;
  GError              *error = NULL;

  /* In place: no second image to allocate (and fault in) on every run. */
  if (!(image = np_op_read (input, box, format, &error))
      || !np_canny (image, image, &params, np_op_threads (), &error))
    return np_op_fail (operation, input, output, result, error);
  np_op_write (output, box, format, image);
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
    "name",        "neuropaint:canny",
    "title",       _("Canny Edges"),
    "categories",  "neuropaint:edge-detect",
    "gimp:menu-path",  "<Image>/Filters/Neuropaint",
    "gimp:menu-label", _("Canny Edges..."),
    "reference-composition", NP_OP_REFERENCE ("<node operation='neuropaint:canny' low='20' high='60'/>"),
    "reference-hash", "b6cb1675619e13984c5a0c020609591c",
    "description", _("Canny edge detection as OpenCV 4.6's cv::Canny with a 3×3 "
                     "Sobel: per channel or on the luma, L1 or L2 gradient, "
                     "hysteresis between low and high. Edges are 255, the rest "
                     "0; alpha is kept."),
    NULL);
}

#endif
