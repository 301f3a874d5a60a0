/* neuropaint — the seed's face crop: a padded box around a detected face,
 * resampled (bicubic) to the training size. */
#include "np-haar.h"
#include "image/np-resize.h"

#include <math.h>

gboolean
np_face_crop_rect (const NpHaarBox *face, gint image_width, gint image_height,
                   gint *x, gint *y, gint *width, gint *height)
{
  /* dw = w/2, dh = dw·4/3; the crop is w + dw wide, 4/3 of that high, its
   * origin dw/2 left of and 0.75·dh above the face's. */
  gdouble dw = face->width / 2.0, dh = dw * 4.0 / 3.0;
  gdouble cw = face->width + dw, ch = cw * 4.0 / 3.0;
  gint    x0 = (gint) lrint (face->x - dw / 2), y0 = (gint) lrint (face->y - 0.75 * dh);
  gint    x1 = x0 + (gint) lrint (cw), y1 = y0 + (gint) lrint (ch);

  x0 = CLAMP (x0, 0, image_width);
  y0 = CLAMP (y0, 0, image_height);
  x1 = CLAMP (x1, 0, image_width);
  y1 = CLAMP (y1, 0, image_height);
  *x = x0;
  *y = y0;
  *width = x1 - x0;
  *height = y1 - y0;
  return *width > 0 && *height > 0;
}

NpImage *
np_face_crop (const NpImage *image, const NpHaarBox *face, gint width, gint height,
              GError **error)
{
  gint     x, y, w, h;
  NpImage *out, region;

  g_return_val_if_fail (image != NULL, NULL);

  out = np_image_new (image->type, width, height, image->channels, error);
  if (out == NULL)
    return NULL;
  if (face == NULL || !np_face_crop_rect (face, image->width, image->height, &x, &y, &w, &h))
    {
      /* No face: the largest centred rectangle of the output's aspect. */
      if ((gint64) image->width * height > (gint64) image->height * width)
        {
          h = image->height;
          w = MAX ((gint) lrint ((gdouble) h * width / height), 1);
        }
      else
        {
          w = image->width;
          h = MAX ((gint) lrint ((gdouble) w * height / width), 1);
        }
      x = (image->width - w) / 2;
      y = (image->height - h) / 2;
    }
  region = np_image_view (image->type, w, h, image->channels,
                          (guint8 *) np_image_row (image, y) + (gsize) x * image->channels
                                                               * np_sample_size (image->type),
                          image->stride);
  np_resize_cubic (&region, out);
  return out;
}
