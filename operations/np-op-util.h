/* neuropaint — what every GEGL face shares: the bridge between GeglBuffer and
 * the core's NpImage, and the region rules of whole-image filters.
 *
 * Compiled into each op module (a module is one op), so this holds glue only:
 * no pixel arithmetic lives here.
 */
#pragma once

#include <gegl.h>
#include <gegl-plugin.h>
#include "neuropaint.h"

G_BEGIN_DECLS

/* The thread count GEGL is configured with (GEGL_THREADS or gegl_config()),
 * handed to the core's whole-image stages so both agree. */
gint          np_op_threads            (void);

/* For filters whose every output pixel may depend on the whole input
 * (hysteresis, contour tracing, detection): ask for and cache everything. */
GeglRectangle np_op_whole_input        (GeglOperation       *operation,
                                        const gchar         *input_pad,
                                        const GeglRectangle *roi);
GeglRectangle np_op_whole_cached       (GeglOperation       *operation,
                                        const GeglRectangle *roi);
void          np_op_class_whole_image  (GeglOperationClass  *operation_class);

/* Copies rect of buffer, in format, into a new NpImage (u8 or float samples,
 * as format says). */
NpImage      *np_op_read               (GeglBuffer          *buffer,
                                        const GeglRectangle *rect,
                                        const Babl          *format,
                                        GError             **error);
void          np_op_write              (GeglBuffer          *buffer,
                                        const GeglRectangle *rect,
                                        const Babl          *format,
                                        const NpImage       *image);

/* Reports a core failure the way GEGL ops can: a warning naming the op. */
gboolean      np_op_fail               (GeglOperation       *operation,
                                        GError              *error);

G_END_DECLS
