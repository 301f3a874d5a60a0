/* neuropaint — image allocation and views. */
#include "np-image.h"
#include "np-error.h"

#include <string.h>

gsize
np_sample_size (NpSampleType type)
{
  switch (type)
    {
    case NP_SAMPLE_U8:  return 1;
    case NP_SAMPLE_F32: return 4;
    }
  g_return_val_if_reached (1);
}

gboolean
np_image_check_size (gint width, gint height, GError **error)
{
  if (width <= 0 || height <= 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "image size %d×%d is empty", width, height);
      return FALSE;
    }
  if (width > NP_IMAGE_MAX_SIDE || height > NP_IMAGE_MAX_SIDE)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE,
                   "image size %d×%d exceeds the limit of %d pixels a side",
                   width, height, NP_IMAGE_MAX_SIDE);
      return FALSE;
    }
  return TRUE;
}

gboolean
np_image_check_decode_size (gint64 width, gint64 height, gint64 max_pixels, GError **error)
{
  if (max_pixels <= 0)
    max_pixels = NP_IMAGE_DEFAULT_MAX_PIXELS;
  if (width > NP_IMAGE_MAX_SIDE || height > NP_IMAGE_MAX_SIDE)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "image size %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " exceeds the limit of %d pixels a side",
                   width, height, NP_IMAGE_MAX_SIDE);
      return FALSE;
    }
  if (width > 0 && height > 0 && width * height > max_pixels)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE,
                   "image size %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " (%.1f megapixels) exceeds "
                   "the limit of %" G_GINT64_FORMAT " pixels",
                   width, height, width * height / 1e6, max_pixels);
      return FALSE;
    }
  return np_image_check_size ((gint) width, (gint) height, error);
}

NpImage *
np_image_new (NpSampleType type, gint width, gint height, gint channels,
              GError **error)
{
  NpImage *image;
  gsize    stride, bytes;
  gpointer data;

  g_return_val_if_fail (channels >= 1 && channels <= 4, NULL);

  if (!np_image_check_size (width, height, error))
    return NULL;

  stride = (gsize) width * (gsize) channels * np_sample_size (type);
  bytes = stride * (gsize) height;
  data = g_try_malloc0 (bytes);
  if (data == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE,
                   "cannot allocate %" G_GSIZE_FORMAT " MiB for a %d×%d image",
                   bytes >> 20, width, height);
      return NULL;
    }

  image = g_new (NpImage, 1);
  *image = np_image_view (type, width, height, channels, data, stride);
  image->owns_data = TRUE;
  return image;
}

void
np_image_free (NpImage *image)
{
  if (image == NULL)
    return;
  if (image->owns_data)
    g_free (image->data);
  g_free (image);
}

NpImage
np_image_view (NpSampleType type, gint width, gint height, gint channels,
               gpointer data, gsize stride)
{
  return (NpImage) {
    .type = type, .width = width, .height = height, .channels = channels,
    .stride = stride, .data = data, .owns_data = FALSE,
  };
}

void
np_image_draw_box (NpImage *image, gint x, gint y, gint width, gint height,
                   gint thickness, gconstpointer colour)
{
  gsize pixel = (gsize) image->channels * np_sample_size (image->type);

  for (gint py = MAX (y, 0); py < MIN (y + height, image->height); py++)
    {
      gboolean edge_row = py < y + thickness || py >= y + height - thickness;
      guint8  *row = np_image_row (image, py);

      for (gint px = MAX (x, 0); px < MIN (x + width, image->width); px++)
        if (edge_row || px < x + thickness || px >= x + width - thickness)
          memcpy (row + px * pixel, colour, pixel);
    }
}

void
np_image_orient_pixels (const guint8 *in, gint width, gint height, gsize in_stride, gsize pixel_bytes, gint o,
                        guint8 *out, gsize out_stride)
{
  gboolean swap = o >= 5;
  gint     w = swap ? height : width, h = swap ? width : height;

  for (gint y = 0; y < h; y++)
    {
      guint8 *row = out + (gsize) y * out_stride;

      for (gint x = 0; x < w; x++)
        {
          gint sx, sy;

          switch (o)
            {
            case 2: sx = width - 1 - x, sy = y; break;                  /* mirrored */
            case 3: sx = width - 1 - x, sy = height - 1 - y; break;     /* upside down */
            case 4: sx = x, sy = height - 1 - y; break;                 /* flipped */
            case 5: sx = y, sy = x; break;                              /* transposed */
            case 6: sx = y, sy = height - 1 - x; break;                 /* turned 90° clockwise */
            case 7: sx = width - 1 - y, sy = height - 1 - x; break;     /* transversed */
            case 8: sx = width - 1 - y, sy = x; break;                  /* 90° anticlockwise */
            default: sx = x, sy = y; break;                             /* 1: upright */
            }
          memcpy (row + (gsize) x * pixel_bytes, in + (gsize) sy * in_stride + (gsize) sx * pixel_bytes,
                  pixel_bytes);
        }
    }
}
