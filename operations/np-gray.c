/* This file is part of neuropaint.
 *
 * neuropaint is free software; you can redistribute it and/or modify it under
 * the terms of the GNU Lesser General Public License as published by the Free
 * Software Foundation; either version 3 of the License, or (at your option)
 * any later version. See COPYING.LESSER.
 *
 * neuropaint:gray — BT.601 luma of R'G'B', as OpenCV's RGB2GRAY (core/filters/gray.c).
 */

#include "config.h"
#include <glib/gi18n-lib.h>

#ifdef GEGL_PROPERTIES

/* no properties */

#else

#define GEGL_OP_POINT_FILTER
#define GEGL_OP_NAME     np_gray
#define GEGL_OP_C_SOURCE np-gray.c

#include "gegl-op.h"
#include "np-op-util.h"

static void
prepare (GeglOperation *operation)
{
  np_op_set_formats (operation, "R'G'B'A float");
}

static gboolean
process (GeglOperation       *operation,
         void                *in_buf,
         void                *out_buf,
         glong                n_pixels,
         const GeglRectangle *roi,
         gint                 level)
{
  np_gray_rgba_f32 (in_buf, out_buf, n_pixels);
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
    "name",        "neuropaint:gray",
    "title",       _("Gray (BT.601 luma)"),
    "categories",  "neuropaint:color",
    "gimp:menu-path",  "<Image>/Filters/Neuropaint",
    "gimp:menu-label", _("Gray..."),
    "reference-composition", NP_OP_REFERENCE ("<node operation='neuropaint:gray'/>"),
    "reference-hash", "6f6a7325ba66078d0180eb095f1b15fd",
    "description", _("Replaces R', G' and B' with the luma 0.299 R' + 0.587 G' + "
                     "0.114 B' (OpenCV's RGB2GRAY); alpha is kept."),
    NULL);
}

#endif
