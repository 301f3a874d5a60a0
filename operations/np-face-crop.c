/* This file is part of neuropaint.
 *
 * neuropaint is free software; you can redistribute it and/or modify it under
 * the terms of the GNU Lesser General Public License as published by the Free
 * Software Foundation; either version 3 of the License, or (at your option)
 * any later version. See COPYING.LESSER.
 *
 * neuropaint:face-crop — the seed's padded crop of one detected face,
 * resampled to width×height (core/haar/crop.c). With no face (or fewer than
 * index + 1), the centre of the image at the output's aspect, and a notice
 * (np_op_notice: the crop is a result, not a failure).
 */

#include "config.h"
#include <glib/gi18n-lib.h>

#ifdef GEGL_PROPERTIES

#include "np-face-properties.h"

property_int (index, _("Face"), 0)
    description (_("Which face to crop, by decreasing size: 0 is the largest"))
    value_range (0, 10000)
    ui_range    (0, 10)

property_int (width, _("Width"), 256)
    description (_("Width of the crop"))
    value_range (1, 8192)
    ui_range    (16, 1024)
    ui_meta     ("unit", "pixel-distance")

property_int (height, _("Height"), 320)
    description (_("Height of the crop"))
    value_range (1, 8192)
    ui_range    (16, 1024)
    ui_meta     ("unit", "pixel-distance")

#else

#define GEGL_OP_FILTER
#define GEGL_OP_NAME     np_face_crop
#define GEGL_OP_C_SOURCE np-face-crop.c

#include "gegl-op.h"
#include "np-op-util.h"

static void
prepare (GeglOperation *operation)
{
  np_op_set_formats (operation, "R'G'B'A float");
}

static GeglRectangle
get_bounding_box (GeglOperation *operation)
{
  GeglProperties *o = GEGL_PROPERTIES (operation);
  return (GeglRectangle) { 0, 0, o->width, o->height };
}

/* The whole output at once: it all depends on where the face is. */
static GeglRectangle
get_cached_region (GeglOperation       *operation,
                   const GeglRectangle *roi)
{
  return get_bounding_box (operation);
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
  const Babl     *u8 = babl_format_with_space ("R'G'B'A u8", babl_format_get_space (format));
  GeglRectangle   box = np_op_whole_input (operation, "input", result);
  GeglRectangle   out_box = { 0, 0, o->width, o->height };
  NpHaarParams    params = { o->scale_factor, o->min_neighbors, o->min_size, o->min_size, 0, 0 };
  g_autoptr(NpImage) image = NULL, bytes = NULL, crop = NULL;
  g_autoptr(GArray) faces = NULL;
  const NpHaarBox *face = NULL;
  GError          *error = NULL;

  /* Detection sees the 8-bit pixels OpenCV would; the crop keeps float. */
  if (!(image = np_op_read (input, &box, format, &error)) ||
      !(bytes = np_op_read (input, &box, u8, &error)) ||
      !(faces = np_op_find_faces (operation, o->cascade, o->verify_eyes, bytes, &params, &error)))
    return np_op_fail (operation, input, output, &out_box, error);

  if ((guint) o->index < faces->len)
    face = &g_array_index (faces, NpHaarBox, o->index);
  else
    np_op_notice (operation, "%u face(s) found, none with index %d; cropping the centre of the image "
                  "instead", faces->len, o->index);

  if (!(crop = np_face_crop (image, face, o->width, o->height, &error)))
    return np_op_fail (operation, input, output, &out_box, error);
  np_op_write (output, &out_box, format, crop);
  return TRUE;
}

static void
gegl_op_class_init (GeglOpClass *klass)
{
  GeglOperationClass       *operation_class = GEGL_OPERATION_CLASS (klass);
  GeglOperationFilterClass *filter_class = GEGL_OPERATION_FILTER_CLASS (klass);

  operation_class->prepare = prepare;
  operation_class->get_bounding_box = get_bounding_box;
  np_op_class_whole_image (operation_class);
  operation_class->get_cached_region = get_cached_region;
  filter_class->process = process;

  gegl_operation_class_set_keys (operation_class,
    "name",        "neuropaint:face-crop",
    "title",       _("Face crop"),
    "categories",  "neuropaint:detect",
    "gimp:menu-path",  "<Image>/Filters/Neuropaint",
    "gimp:menu-label", _("Face Crop..."),
    /* A face to find: Debian's facedetect example photo (public domain). */
    "reference-composition", "<gegl><node operation='neuropaint:face-crop' width='96' height='120'/><node operation='gegl:load' path='/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg'/></gegl>",
    "reference-hash", "525de3c0bda2d8073032b584811932bf",
    "description", _("Detects faces with a Haar cascade and crops face “index” (0 = the "
                     "largest) with the seed's padding (1.5 × 2 face widths), resampled "
                     "bicubically to width × height. Without such a face it crops the "
                     "centre at the output's aspect and warns."),
    NULL);
}

#endif
