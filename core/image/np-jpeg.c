/* neuropaint — JPEG decoding and encoding with TurboJPEG, whose error API
 * returns every libjpeg error (it never exits). */
#include "np-jpeg.h"
#include "np-header.h"
#include "np-error.h"
#include "util/np-file.h"
#include "util/np-output.h"

#include <string.h>
#include <turbojpeg.h>

gboolean
np_jpeg_sniff (const guint8 *data, gsize size)
{
  return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

/* A marker segment's length: 16 bits, big-endian. */
static guint
be16 (const guint8 *p)
{
  return (guint) p[0] << 8 | p[1];
}

/* The next marker segment before the first scan, from *pos (2 at first):
 * its marker, and its payload after the 16-bit length. FALSE at the scan,
 * the end, or where the stream is malformed. */
static gboolean
next_segment (const guint8 *data, gsize size, gsize *pos, guint8 *marker,
              const guint8 **payload, gsize *length)
{
  while (*pos + 4 <= size)
    {
      gsize n;

      if (data[*pos] != 0xFF)
        return FALSE;
      *marker = data[*pos + 1];
      if (*marker == 0xFF)   /* fill byte */
        {
          (*pos)++;
          continue;
        }
      if (*marker == 0xD9 || *marker == 0xDA)   /* end of image, start of scan */
        return FALSE;
      if (*marker == 0x01 || (*marker >= 0xD0 && *marker <= 0xD7))   /* no length */
        {
          *pos += 2;
          continue;
        }
      n = be16 (data + *pos + 2);
      if (n < 2 || *pos + 2 + n > size)
        return FALSE;
      *payload = data + *pos + 4;
      *length = n - 2;
      *pos += 2 + n;
      return TRUE;
    }
  return FALSE;
}

gint
np_jpeg_orientation (const guint8 *data, gsize size)
{
  const guint8 *payload;
  gsize         pos = 2, length;
  guint8        marker;

  if (!np_jpeg_sniff (data, size))
    return 1;
  while (next_segment (data, size, &pos, &marker, &payload, &length))
    if (marker == 0xE1 && length >= 6 && memcmp (payload, "Exif\0\0", 6) == 0)
      return np_header_exif_orientation (payload + 6, length - 6);
  return 1;
}

GBytes *
np_jpeg_icc_profile (const guint8 *data, gsize size)
{
  /* ICC.1 Annex B.4: APP2 segments "ICC_PROFILE\0", sequence number (from
   * 1), count, then the profile's next bytes. */
  static const char tag[] = "ICC_PROFILE";
  const guint8 *chunks[256] = { NULL }, *payload;
  gsize         lengths[256] = { 0 }, pos = 2, length, total = 0;
  guint8        marker;
  guint         count = 0;
  GByteArray   *icc;

  if (!np_jpeg_sniff (data, size))
    return NULL;
  while (next_segment (data, size, &pos, &marker, &payload, &length))
    {
      guint seq, n;

      if (marker != 0xE2 || length < sizeof tag + 2 || memcmp (payload, tag, sizeof tag) != 0)
        continue;
      seq = payload[sizeof tag];
      n = payload[sizeof tag + 1];
      /* Numbered 1 to one count, each once; anything else is no profile. */
      if (seq == 0 || n == 0 || seq > n || (count && n != count) || chunks[seq])
        return NULL;
      count = n;
      chunks[seq] = payload + sizeof tag + 2;
      lengths[seq] = length - sizeof tag - 2;
      total += lengths[seq];
    }
  for (guint i = 1; i <= count; i++)
    if (chunks[i] == NULL)
      return NULL;
  if (count == 0 || total == 0)
    return NULL;
  icc = g_byte_array_sized_new (total);
  for (guint i = 1; i <= count; i++)
    g_byte_array_append (icc, chunks[i], lengths[i]);
  return g_byte_array_free_to_bytes (icc);
}

/* The upright image of one stored with EXIF orientation o (2–8). */
static NpImage *
orient (const NpImage *in, gint o, GError **error)
{
  gboolean swap = o >= 5;
  NpImage *out = np_image_new (NP_SAMPLE_U8, swap ? in->height : in->width, swap ? in->width : in->height,
                               in->channels, error);

  if (out)
    np_image_orient_pixels (in->data, in->width, in->height, in->stride, in->channels, o, out->data, out->stride);
  return out;
}

/* Adobe's CMYK JPEGs (nearly all there are) store inverted values; OpenCV
 * turns them into RGB with this formula, and so do we, so the pixels match
 * cv2.imread's. */
static void
cmyk_to_rgb (const guint8 *cmyk, NpImage *rgb)
{
  for (gint y = 0; y < rgb->height; y++)
    {
      guint8 *out = np_image_row (rgb, y);

      for (gint x = 0; x < rgb->width; x++, cmyk += 4, out += 3)
        {
          gint k = cmyk[3];
          for (gint i = 0; i < 3; i++)
            out[i] = (guint8) (k - ((255 - cmyk[i]) * k >> 8));
        }
    }
}

NpImage *
np_jpeg_decode (const guint8 *data, gsize size, gint64 max_pixels, GError **error)
{
  /* LIMITSCANS: a progressive file of thousands of tiny scans is a known way
   * to make libjpeg spin for minutes on a small file. */
  const int flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;
  tjhandle  tj = tjInitDecompress ();
  g_autoptr(NpImage) image = NULL;
  g_autofree guint8 *cmyk = NULL;
  int       width, height, subsamp, colorspace, status;
  gint      orientation;

  if (tj == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_IO, "TurboJPEG: %s", tjGetErrorStr2 (NULL));
      return NULL;
    }
  if (tjDecompressHeader3 (tj, data, size, &width, &height, &subsamp, &colorspace) != 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "not a readable JPEG: %s", tjGetErrorStr2 (tj));
      tjDestroy (tj);
      return NULL;
    }
  if (width <= 0 || height <= 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "not a readable JPEG: no image size in its header");
      tjDestroy (tj);
      return NULL;
    }
  if (!np_image_check_decode_size (width, height, max_pixels, error)
      || !(image = np_image_new (NP_SAMPLE_U8, width, height, 3, error)))
    {
      tjDestroy (tj);
      return NULL;
    }
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK)
    {
      /* TurboJPEG gives CMYK files only as CMYK. */
      cmyk = g_try_malloc ((gsize) width * height * 4);
      if (cmyk == NULL)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "out of memory for a %d×%d CMYK JPEG",
                       width, height);
          tjDestroy (tj);
          return NULL;
        }
      status = tjDecompress2 (tj, data, size, cmyk, width, width * 4, height, TJPF_CMYK, flags);
      if (status == 0)
        cmyk_to_rgb (cmyk, image);
    }
  else
    status = tjDecompress2 (tj, data, size, image->data, width, (int) image->stride, height,
                            TJPF_RGB, flags);
  if (status != 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "corrupt JPEG: %s", tjGetErrorStr2 (tj));
      tjDestroy (tj);
      return NULL;
    }
  tjDestroy (tj);

  orientation = np_jpeg_orientation (data, size);
  if (orientation != 1)
    return orient (image, orientation, error);
  return g_steal_pointer (&image);
}

NpImage *
np_jpeg_load (const char *path, gint64 max_pixels, GError **error)
{
  g_autoptr(GBytes) bytes = np_file_read (path, G_MAXSIZE, error);
  NpImage *image;

  if (bytes == NULL)
    return NULL;
  image = np_jpeg_decode (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), max_pixels, error);
  if (image == NULL)
    g_prefix_error (error, "%s: ", path);
  return image;
}

gboolean
np_jpeg_write (const NpImage *image, NpOutput *output, gint quality, GError **error)
{
  tjhandle       tj;
  unsigned char *jpeg = NULL;
  unsigned long  jpeg_size = 0;
  gboolean       ok;

  g_return_val_if_fail (image->type == NP_SAMPLE_U8 && (image->channels == 3 || image->channels == 1), FALSE);
  g_return_val_if_fail (quality >= 1 && quality <= 100, FALSE);

  tj = tjInitCompress ();
  if (tj == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_IO, "%s: TurboJPEG: %s", np_output_path (output),
                   tjGetErrorStr2 (NULL));
      return FALSE;
    }
  ok = tjCompress2 (tj, image->data, image->width, (int) image->stride, image->height,
                    image->channels == 3 ? TJPF_RGB : TJPF_GRAY, &jpeg, &jpeg_size,
                    image->channels == 3 ? TJSAMP_444 : TJSAMP_GRAY, quality, TJFLAG_PROGRESSIVE) == 0;
  if (!ok)
    g_set_error (error, NP_ERROR, NP_ERROR_IO, "%s: JPEG encoding failed: %s", np_output_path (output),
                 tjGetErrorStr2 (tj));
  else
    ok = np_output_write (output, jpeg, jpeg_size, error);
  tjFree (jpeg);
  tjDestroy (tj);
  return ok;
}
