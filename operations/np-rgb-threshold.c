/* This file is part of neuropaint.
 *
 * neuropaint is free software; you can redistribute it and/or modify it under
 * the terms of the GNU Lesser General Public License as published by the Free
 * Software Foundation; either version 3 of the License, or (at your option)
 * any later version. See COPYING.LESSER.
 *
 * neuropaint:rgb-threshold — per channel (c > t) ? t : 0 on 0–255 values
 * (core/filters/rgb-threshold.c).
 */

#include "config.h"
#include <glib/gi18n-lib.h>

#ifdef GEGL_PROPERTIES

property_int (threshold, _("Threshold"), 200)
    description (_("Channel values above this (0–255) become this value, the "
                   "rest 0; the seed used 200"))
    value_range (0, 255)

#else

#define GEGL_OP_POINT_FILTER
#define GEGL_OP_NAME     np_rgb_threshold
#define GEGL_OP_C_SOURCE np-rgb-threshold.c

#include "gegl-op.h"
#include "np-op-util.h"

static void
prepare (GeglOperation *operation)
{
  np_op_set_formats (operation, "R'G'B'A u8");
}

static gboolean
process (GeglOperation       *operation,
         void                *in_buf,
         void                *out_buf,
         glong                n_pixels,
         const GeglRectangle *roi,
         gint                 level)
{
  GeglProperties *o = GEGL_PROPERTIES (operation);

  np_rgb_threshold_rgba_u8 (in_buf, out_buf, n_pixels, (guint8) o->threshold);
  return TRUE;
}

static void
gegl_op_class_init (GeglOpClass *klass)
{
  GeglOperationClass            *operation_class = GEGL_OPERATION_CLASS (klass);
  GeglOperationPointFilterClass *point_filter_class = GEGL_OPERATION_POINT_FILTER_CLASS (klass);

  operation_class->prepare = prepare;
  point_filter_class->process = process;

  gegl_operation_class_set_keys (operation_class,
    "name",        "neuropaint:rgb-threshold",
    "title",       _("RGB Binary Threshold"),
    "categories",  "neuropaint:color",
    "gimp:menu-path",  "<Image>/Filters/Neuropaint",
    "gimp:menu-label", _("RGB Binary Threshold..."),
    "reference-composition", NP_OP_REFERENCE ("<node operation='neuropaint:rgb-threshold' threshold='128'/>"),
    "reference-hash", "edb4907ef74589eeeffb083f6211f1f3",
    "description", _("Per colour channel on 0–255 values: (c > threshold) ? "
                     "threshold : 0, the seed's RGB binary layers; alpha is kept."),
    NULL);
}

#endif
