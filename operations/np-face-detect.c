/* This file is part of neuropaint.
 *
 * neuropaint is free software; you can redistribute it and/or modify it under
 * the terms of the GNU Lesser General Public License as published by the Free
 * Software Foundation; either version 3 of the License, or (at your option)
 * any later version. See COPYING.LESSER.
 *
 * neuropaint:face-detect — Haar-cascade detection as OpenCV's
 * detectMultiScale (core/haar/detect.c); draws the boxes over the image for
 * inspection and leaves them, as JSON, in the read-back property "faces".
 */

#include "config.h"
#include <glib/gi18n-lib.h>

#ifdef GEGL_PROPERTIES

#include "np-face-properties.h"

property_int (line_width, _("Line width"), 2)
    description (_("Width of the drawn boxes"))
    value_range (1, 64)
    ui_range    (1, 8)
    ui_meta     ("unit", "pixel-distance")

property_string (faces, _("Faces"), "[]")
    description (_("Output, read after processing: the boxes as a JSON array of "
                   "{\"x\", \"y\", \"w\", \"h\"}, largest first"))
    /* An output: GIMP neither shows nor saves properties in this role. */
    ui_meta     ("role", "output-extent")

#else

#define GEGL_OP_FILTER
#define GEGL_OP_NAME     np_face_detect
#define GEGL_OP_C_SOURCE np-face-detect.c

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
  GeglProperties *o = GEGL_PROPERTIES (operation);
  const Babl     *format = gegl_operation_get_format (operation, "output");
  GeglRectangle   box = np_op_whole_input (operation, "input", result);
  const guint8    green[4] = { 0, 255, 0, 255 };
  NpHaarParams    params = { o->scale_factor, o->min_neighbors, o->min_size, o->min_size, 0, 0 };
  g_autoptr(NpImage) image = NULL;
  g_autoptr(GArray) faces = NULL;
  GError         *error = NULL;

  if (!(image = np_op_read (input, &box, format, &error)) ||
      !(faces = np_op_find_faces (operation, o->cascade, o->verify_eyes, image, &params, &error)))
    return np_op_fail (operation, input, output, result, error);

  for (guint i = 0; i < faces->len; i++)
    {
      const NpHaarBox *f = &g_array_index (faces, NpHaarBox, i);
      np_image_draw_box (image, f->x, f->y, f->width, f->height, o->line_width, green);
    }
  np_op_write (output, &box, format, image);

  /* The result, for whoever reads the property back after processing. */
  g_free (o->faces);
  o->faces = np_haar_boxes_json (faces);
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
    "name",        "neuropaint:face-detect",
    "title",       _("Face detection (Haar cascade)"),
    "categories",  "neuropaint:detect",
    "gimp:menu-path",  "<Image>/Filters/Neuropaint",
    "gimp:menu-label", _("Face Detection..."),
    /* A face to find: Debian's facedetect example photo (public domain). */
    "reference-composition", "<gegl><node operation='neuropaint:face-detect'/><node operation='gegl:load' path='/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg'/></gegl>",
    "reference-hash", "61b38df644fc7379be8527d0edeaca34",
    "description", _("Finds faces (or whatever the cascade was trained on) as OpenCV's "
                     "detectMultiScale does, draws their boxes over the image and "
                     "leaves them as JSON in the “faces” property."),
    NULL);
}

#endif
