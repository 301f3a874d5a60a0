/* neuropaint — the core's image: a strided, interleaved pixel rectangle.
 *
 * An NpImage either owns its pixels (np_image_new, released by np_image_free)
 * or is a view of someone else's memory (np_image_view, nothing to release):
 * the GEGL faces wrap the linear buffers they get from GeglBuffer as views, so
 * the core never copies pixels it is handed.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  NP_SAMPLE_U8,
  NP_SAMPLE_F32,
} NpSampleType;

typedef struct
{
  NpSampleType type;
  gint         width, height;
  gint         channels;  /* 1 gray, 3 RGB, 4 RGBA; alpha, when present, is last */
  gsize        stride;    /* bytes from one row to the next */
  gpointer     data;      /* the top-left pixel */
  gboolean     owns_data;
} NpImage;

/* The largest side we accept: beyond it sizes are surely a mistake, and the
 * byte counts of whole-image stages would overflow 32-bit row arithmetic. */
#define NP_IMAGE_MAX_SIDE 65536

gsize     np_sample_size   (NpSampleType type);

/* Allocates a zeroed image; fails with NP_ERROR_INVALID_ARGUMENT for empty or
 * NP_ERROR_TOO_LARGE for absurd sizes, never by aborting. */
NpImage  *np_image_new     (NpSampleType type, gint width, gint height,
                            gint channels, GError **error);
void      np_image_free    (NpImage *image);

NpImage   np_image_view    (NpSampleType type, gint width, gint height,
                            gint channels, gpointer data, gsize stride);

gboolean  np_image_check_size (gint width, gint height, GError **error);

/* The default limit on the pixels of an image decoded from a file. A header
 * claims any size in a few bytes, and decoders allocate for the claim before
 * reading a pixel: 100 megapixels (10000×10000, a medium-format photo) cost
 * 300 MB of 8-bit RGB, plus 600 MB of coefficients for a progressive JPEG.
 * Commands let the user raise it (--max-pixels). */
#define NP_IMAGE_DEFAULT_MAX_PIXELS G_GINT64_CONSTANT (100000000)

/* Checks a decoder's header before anything is allocated: sides above
 * NP_IMAGE_MAX_SIDE are NP_ERROR_UNSUPPORTED, an area above max_pixels (0:
 * the default) NP_ERROR_TOO_LARGE. */
gboolean  np_image_check_decode_size (gint64 width, gint64 height, gint64 max_pixels,
                                      GError **error);

static inline gpointer
np_image_row (const NpImage *image, gint y)
{
  return (guint8 *) image->data + (gsize) y * image->stride;
}

/* The upright picture of one stored with EXIF orientation o (2–8, TIFF's
 * numbering), by the same transposes and flips as OpenCV's imread: the
 * pixels (pixel_bytes each, any format) of in, width × height with rows
 * in_stride apart, into out, whose sides are swapped for 5–8 and whose rows
 * are out_stride apart. */
void      np_image_orient_pixels (const guint8 *in, gint width, gint height, gsize in_stride,
                                  gsize pixel_bytes, gint o, guint8 *out, gsize out_stride);

/* Draws the outline of a rectangle, `thickness` pixels wide inside it, in
 * `colour` (one sample per channel, of the image's type), clipped to the image. */
void      np_image_draw_box (NpImage *image, gint x, gint y, gint width, gint height,
                             gint thickness, gconstpointer colour);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpImage, np_image_free)

G_END_DECLS
