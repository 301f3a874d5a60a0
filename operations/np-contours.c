/* This file is part of neuropaint.
 *
 * neuropaint is free software; you can redistribute it and/or modify it under
 * the terms of the GNU Lesser General Public License as published by the Free
 * Software Foundation; either version 3 of the License, or (at your option)
 * any later version. See COPYING.LESSER.
 *
 * neuropaint:contours — the seed's colour contours: per channel and threshold,
 * the borders OpenCV's findContours + drawContours would draw
 * (core/filters/contours.c).
 */

#include "config.h"
#include <glib/gi18n-lib.h>

#ifdef GEGL_PROPERTIES

property_string (thresholds, _("Thresholds"), "50,100,150,200")
    description (_("Integers 0–255 separated by commas: for each channel (R, "
                   "G, B) and each threshold k in this order, the borders of "
                   "c > k are drawn in value k on that channel, over earlier "
                   "ones"))

#else

#define GEGL_OP_AREA_FILTER
#define GEGL_OP_NAME     np_contours
#define GEGL_OP_C_SOURCE np-contours.c

#include "gegl-op.h"
#include "np-op-util.h"

static void
prepare (GeglOperation *operation)
{
  GeglOperationAreaFilter *area = GEGL_OPERATION_AREA_FILTER (operation);

  /* A pixel's contour test reads its 4 neighbours and nothing else
   * (core/filters/contours.c says why), so a 1-pixel halo lets the op stream
   * tile by tile in bounded memory. */
  area->left = area->right = area->top = area->bottom = 1;
  np_op_set_formats (operation, "R'G'B'A u8");
}

/* The input's box: an area filter would otherwise grow it by the halo. */
static GeglRectangle
get_bounding_box (GeglOperation *operation)
{
  const GeglRectangle *in = gegl_operation_source_get_bounding_box (operation, "input");
  return in ? *in : (GeglRectangle) { 0 };
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
  const GeglRectangle  halo = { result->x - 1, result->y - 1, result->width + 2, result->height + 2 };
  guint8               thresholds[NP_CONTOURS_MAX_THRESHOLDS];
  gsize                n_thresholds;
  g_autoptr(NpImage)   in = NULL;
  g_autoptr(NpImage)   out = NULL;
  NpImage              inner;
  GError              *error = NULL;

  /* Beyond the image np_op_read gives 0: the background findContours pads
   * with. The core's own edge rule only touches the halo ring, not written. */
  n_thresholds = np_contours_parse_thresholds (o->thresholds, thresholds, &error);
  if (n_thresholds == 0
      || !(in = np_op_read (input, &halo, format, &error))
      || !(out = np_image_new (NP_SAMPLE_U8, halo.width, halo.height, 4, &error)))
    return np_op_fail (operation, input, output, result, error);
  /* GEGL already runs the tiles on its threads. */
  np_contours (in, out, thresholds, n_thresholds, 1);
  inner = np_image_view (NP_SAMPLE_U8, result->width, result->height, 4,
                         (guint8 *) np_image_row (out, 1) + 4, out->stride);
  np_op_write (output, result, format, &inner);
  return TRUE;
}

static void
gegl_op_class_init (GeglOpClass *klass)
{
  GeglOperationClass       *operation_class = GEGL_OPERATION_CLASS (klass);
  GeglOperationFilterClass *filter_class = GEGL_OPERATION_FILTER_CLASS (klass);

  operation_class->prepare = prepare;
  operation_class->get_bounding_box = get_bounding_box;
  filter_class->process = process;

  gegl_operation_class_set_keys (operation_class,
    "name",        "neuropaint:contours",
    "title",       _("Colour Contours"),
    "categories",  "neuropaint:edge-detect",
    "gimp:menu-path",  "<Image>/Filters/Neuropaint",
    "gimp:menu-label", _("Colour Contours..."),
    "reference-composition", NP_OP_REFERENCE ("<node operation='neuropaint:contours'/>"),
    "reference-hash", "c16d9a03126285f6c9e975cc943f7a17",
    "description", _("The seed's contour layers: for each channel and threshold "
                     "k, the 1-pixel borders of c > k as OpenCV's findContours "
                     "(RETR_TREE, CHAIN_APPROX_SIMPLE) + drawContours draw them, "
                     "in value k on that channel, on black; alpha is kept."),
    NULL);
}

#endif
