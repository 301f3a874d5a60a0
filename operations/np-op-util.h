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

/* The picture every op's reference-composition filters: colour checks under a
 * diagonal gradient, so thresholds, edges and contours all have work to do.
 * tests/ops/test-reference.c renders each composition and compares the MD5 of
 * its R'G'B'A u8 pixels with the op's reference-hash, recorded after the
 * result was checked by eye and by the oracle tests. */
#define NP_OP_REFERENCE_INPUT                                                  \
  "<node operation='gegl:crop' x='0' y='0' width='160' height='120'/>"         \
  "<node operation='gegl:over'>"                                               \
  "  <node operation='gegl:opacity' value='0.6'/>"                             \
  "  <node operation='gegl:linear-gradient' start-x='0' start-y='0'"           \
  "        end-x='160' end-y='120' start-color='#f0e020' end-color='#2010a0'/>" \
  "</node>"                                                                    \
  "<node operation='gegl:checkerboard' x='13' y='11' color1='#c03020'"         \
  "      color2='#20a0e0'/>"

/* A reference-composition: the op's node(s) over the reference picture. */
#define NP_OP_REFERENCE(op_nodes) "<gegl>" op_nodes NP_OP_REFERENCE_INPUT "</gegl>"

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
