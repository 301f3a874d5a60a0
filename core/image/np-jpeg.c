/* neuropaint — JPEG decoding with TurboJPEG. */
#include "np-jpeg.h"
#include "np-error.h"

#include <turbojpeg.h>

gboolean
np_jpeg_sniff (const guint8 *data, gsize size)
{
  return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

NpImage *
np_jpeg_decode (const guint8 *data, gsize size, GError **error)
{
  tjhandle tj = tjInitDecompress ();
  NpImage *image = NULL;
  int      width, height, subsamp, colorspace;

  if (tj == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_IO, "TurboJPEG: %s", tjGetErrorStr2 (NULL));
      return NULL;
    }
  if (tjDecompressHeader3 (tj, data, size, &width, &height, &subsamp, &colorspace) != 0)
    g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "not a readable JPEG: %s", tjGetErrorStr2 (tj));
  else if ((image = np_image_new (NP_SAMPLE_U8, width, height, 3, error)) != NULL
           && tjDecompress2 (tj, data, size, image->data, width, (int) image->stride, height,
                             TJPF_RGB, TJFLAG_STOPONWARNING) != 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "corrupt JPEG: %s", tjGetErrorStr2 (tj));
      g_clear_pointer (&image, np_image_free);
    }
  tjDestroy (tj);
  return image;
}

NpImage *
np_jpeg_load (const char *path, GError **error)
{
  g_autofree gchar *data = NULL;
  gsize    size;
  NpImage *image;

  if (!g_file_get_contents (path, &data, &size, error))
    return NULL;
  image = np_jpeg_decode ((const guint8 *) data, size, error);
  if (image == NULL)
    g_prefix_error (error, "%s: ", path);
  return image;
}
