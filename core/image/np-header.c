/* neuropaint — TIFF and WebP headers read for their claims, and the EXIF
 * orientation of JPEG and PNG files, every read bounds-checked (a fuzz
 * target replays hostile ones: tests/fuzz). */
#include "np-header.h"
#include "np-error.h"
#include "image/np-image.h"

#include <string.h>

/* ---- TIFF (TIFF 6.0: an 8-byte header, then IFDs of 12-byte entries) ---- */

typedef struct
{
  const guint8 *data;
  gsize         size;
  gboolean      big;     /* "MM": big-endian */
} NpTiff;

static guint32
tiff_u16 (const NpTiff *t, const guint8 *p)
{
  return t->big ? (guint32) p[0] << 8 | p[1] : (guint32) p[1] << 8 | p[0];
}

static guint32
tiff_u32 (const NpTiff *t, const guint8 *p)
{
  return t->big ? tiff_u16 (t, p) << 16 | tiff_u16 (t, p + 2) : tiff_u16 (t, p + 2) << 16 | tiff_u16 (t, p);
}

/* The SHORT or LONG values of an entry: in the entry when they fit in its
 * 4 bytes, else where it points. NULL for another type or values past the
 * file's end. */
static const guint8 *
tiff_values (const NpTiff *t, const guint8 *entry, guint32 *count, guint *item)
{
  guint32 type = tiff_u16 (t, entry + 2);
  guint64 bytes, offset;

  *count = tiff_u32 (t, entry + 4);
  *item = type == 3 ? 2 : type == 4 ? 4 : 0;
  if (*item == 0)
    return NULL;
  bytes = (guint64) *count * *item;
  if (bytes <= 4)
    return entry + 8;
  offset = tiff_u32 (t, entry + 8);
  return offset + bytes <= t->size ? t->data + offset : NULL;
}

static guint32
tiff_value (const NpTiff *t, const guint8 *values, guint item, guint32 i)
{
  return item == 2 ? tiff_u16 (t, values + 2 * (gsize) i) : tiff_u32 (t, values + 4 * (gsize) i);
}

/* The first value of a SHORT or LONG entry, or fallback. */
static guint32
tiff_first (const NpTiff *t, const guint8 *entry, guint32 fallback)
{
  guint32       count;
  guint         item;
  const guint8 *values = entry ? tiff_values (t, entry, &count, &item) : NULL;

  return values && count > 0 ? tiff_value (t, values, item, 0) : fallback;
}

gint
np_header_exif_orientation (const guint8 *data, gsize size)
{
  /* The Orientation tag (274, one SHORT) of IFD0: EXIF is a TIFF block. */
  NpTiff  t = { data, size, size > 0 && data[0] == 'M' };
  guint32 ifd, n, value;

  if (size < 8 || !((data[0] == 'I' && data[1] == 'I') || (data[0] == 'M' && data[1] == 'M'))
      || tiff_u16 (&t, data + 2) != 42 || (ifd = tiff_u32 (&t, data + 4)) < 8 || (guint64) ifd + 2 > size)
    return 1;
  n = tiff_u16 (&t, data + ifd);
  for (guint32 i = 0; i < n && (guint64) ifd + 2 + 12 * ((guint64) i + 1) <= size; i++)
    {
      const guint8 *entry = data + ifd + 2 + 12 * (gsize) i;

      if (tiff_u16 (&t, entry) != 274)
        continue;
      value = tiff_u16 (&t, entry + 2) == 3 && tiff_u32 (&t, entry + 4) >= 1 ? tiff_u16 (&t, entry + 8) : 1;
      return value >= 1 && value <= 8 ? (gint) value : 1;
    }
  return 1;
}

gint
np_header_png_orientation (const guint8 *data, gsize size)
{
  /* PNG's chunks (a length, a type, the data, a CRC) from byte 8; eXIf
   * (PNG 1.5's extensions, 2017) holds EXIF's TIFF block and comes before
   * the image data. */
  gsize pos = 8;

  if (size < 8 || memcmp (data, "\x89PNG\r\n\x1a\n", 8) != 0)
    return 1;
  while (pos + 8 <= size)
    {
      guint64 length = (guint64) data[pos] << 24 | data[pos + 1] << 16 | data[pos + 2] << 8 | data[pos + 3];
      const guint8 *type = data + pos + 4;

      if (length > size - pos - 8)
        return 1;
      if (memcmp (type, "eXIf", 4) == 0)
        return np_header_exif_orientation (data + pos + 8, length);
      if (memcmp (type, "IDAT", 4) == 0 || memcmp (type, "IEND", 4) == 0)
        return 1;
      pos += 12 + length;
    }
  return 1;
}

enum
{
  TAG_WIDTH = 256, TAG_LENGTH = 257, TAG_BITS = 258, TAG_COMPRESSION = 259, TAG_STRIP_OFFSETS = 273,
  TAG_PHOTOMETRIC = 262, TAG_SAMPLES = 277, TAG_STRIP_BYTES = 279, TAG_TILE_OFFSETS = 324, TAG_TILE_BYTES = 325,
};

static gboolean
tiff_check (const guint8 *data, gsize size, gint64 max_pixels, gint64 *width, gint64 *height,
            GError **error)
{
  NpTiff        t = { data, size, data[0] == 'M' };
  const guint8 *width_entry = NULL, *height_entry = NULL, *bits = NULL, *compression = NULL, *samples = NULL;
  const guint8 *photometric = NULL;
  const guint8 *offsets_entry = NULL, *bytes_entry = NULL, *offsets, *counts;
  guint32       ifd, n, n_offsets, n_counts;
  guint         offset_item, count_item;
  guint64       held = 0, needed;
  const char   *what;

  if (size < 8 || (ifd = tiff_u32 (&t, data + 4)) < 8 || (guint64) ifd + 2 > size || (guint64) ifd + 2 + 12 * (guint64) tiff_u16 (&t, data + ifd) > size)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "a truncated TIFF: its first directory is past the file's end");
      return FALSE;
    }
  n = tiff_u16 (&t, data + ifd);
  for (guint32 i = 0; i < n; i++)
    {
      const guint8 *entry = data + ifd + 2 + 12 * (gsize) i;

      switch (tiff_u16 (&t, entry))
        {
        case TAG_WIDTH:        width_entry = entry; break;
        case TAG_LENGTH:       height_entry = entry; break;
        case TAG_BITS:         bits = entry; break;
        case TAG_COMPRESSION:  compression = entry; break;
        case TAG_SAMPLES:      samples = entry; break;
        case TAG_PHOTOMETRIC:  photometric = entry; break;
        /* Strips or tiles, whichever the file has (tiles win, as in libtiff). */
        case TAG_STRIP_OFFSETS: offsets_entry = offsets_entry ? offsets_entry : entry; break;
        case TAG_STRIP_BYTES:   bytes_entry = bytes_entry ? bytes_entry : entry; break;
        case TAG_TILE_OFFSETS:  offsets_entry = entry; break;
        case TAG_TILE_BYTES:    bytes_entry = entry; break;
        default: break;
        }
    }
  *width = tiff_first (&t, width_entry, 0);
  *height = tiff_first (&t, height_entry, 0);
  if (*width == 0 || *height == 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "not a readable TIFF: no image size in its header");
      return FALSE;
    }
  if (!np_image_check_decode_size (*width, *height, max_pixels, error))
    return FALSE;
  if (offsets_entry == NULL || bytes_entry == NULL)
    return TRUE;   /* libtiff estimates what is missing, within the file */
  what = tiff_u16 (&t, offsets_entry) == TAG_TILE_OFFSETS ? "tile" : "strip";
  offsets = tiff_values (&t, offsets_entry, &n_offsets, &offset_item);
  counts = tiff_values (&t, bytes_entry, &n_counts, &count_item);
  if (offsets == NULL || counts == NULL || n_offsets != n_counts || n_offsets == 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT,
                   "a truncated or corrupt TIFF: its %s offsets and byte counts do not match", what);
      return FALSE;
    }
  for (guint32 i = 0; i < n_offsets; i++)
    {
      guint64 start = tiff_value (&t, offsets, offset_item, i), length = tiff_value (&t, counts, count_item, i);

      if (start + length > size)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT,
                       "a truncated TIFF: its %s %u ends at byte %" G_GUINT64_FORMAT ", past the file's end (%"
                       G_GSIZE_FORMAT " bytes)", what, i, start + length, size);
          return FALSE;
        }
      held += length;
    }
  /* Uncompressed strips hold every sample: width × samples × bits a row
   * (rounded down, so never more than any layout needs), but for YCbCr,
   * whose chroma may be subsampled. Sides are at most NP_IMAGE_MAX_SIDE
   * here, so this cannot overflow. */
  needed = (guint64) *width * tiff_first (&t, samples, 1) * tiff_first (&t, bits, 1) / 8 * (guint64) *height;
  if (tiff_first (&t, compression, 1) == 1 && tiff_first (&t, photometric, 2) != 6 && g_str_equal (what, "strip")
      && held < needed)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT,
                   "a truncated TIFF: its %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " uncompressed pixels need %"
                   G_GUINT64_FORMAT " bytes, its strips hold %" G_GUINT64_FORMAT,
                   *width, *height, needed, held);
      return FALSE;
    }
  return TRUE;
}

/* ---- WebP (RIFF; the container specification of libwebp) ---------------- */

static guint32
le24 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16;
}

static guint32
le32 (const guint8 *p)
{
  return le24 (p) | (guint32) p[3] << 24;
}

/* The size of a VP8 key frame or a VP8L image, from its chunk's payload. */
static gboolean
webp_frame_size (const char *fourcc, const guint8 *p, guint32 length, gint64 *width, gint64 *height,
                 GError **error)
{
  if (memcmp (fourcc, "VP8L", 4) == 0)
    {
      if (length < 5 || p[0] != 0x2F)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "not a readable WebP: a lossless image without its signature");
          return FALSE;
        }
      *width = (le32 (p + 1) & 0x3FFF) + 1;
      *height = (le32 (p + 1) >> 14 & 0x3FFF) + 1;
      return TRUE;
    }
  /* VP8: a 3-byte frame tag (bit 0 clear: a key frame), the start code
   * 9D 01 2A, then 14-bit width and height. */
  if (length < 10 || (p[0] & 1) || p[3] != 0x9D || p[4] != 0x01 || p[5] != 0x2A)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "not a readable WebP: a lossy image without a key frame");
      return FALSE;
    }
  *width = (p[6] | p[7] << 8) & 0x3FFF;
  *height = (p[8] | p[9] << 8) & 0x3FFF;
  if (*width == 0 || *height == 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "not a readable WebP: a lossy image of no size");
      return FALSE;
    }
  return TRUE;
}

/* The chunk at *pos (before end): its payload and length; moves *pos past
 * it (chunks are padded to even sizes). FALSE when it ends past end. */
static gboolean
webp_chunk (const guint8 *data, guint64 end, guint64 *pos, const guint8 **payload, guint32 *length)
{
  if (*pos + 8 > end || *pos + 8 + (*length = le32 (data + *pos + 4)) > end)
    return FALSE;
  *payload = data + *pos + 8;
  *pos += 8 + (guint64) *length + (*length & 1);
  return TRUE;
}

static gboolean
webp_check (const guint8 *data, gsize size, gint64 max_pixels, gint64 *width, gint64 *height,
            GError **error)
{
  guint64  end = (guint64) le32 (data + 4) + 8, pos = 12;
  gboolean canvas = FALSE, image = FALSE;

  if (end > size)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT,
                   "a truncated WebP: its header claims %" G_GUINT64_FORMAT " bytes, the file holds %" G_GSIZE_FORMAT,
                   end, size);
      return FALSE;
    }
  while (pos < end)
    {
      const char   *fourcc = (const char *) data + pos;
      gboolean      first = pos == 12;
      const guint8 *chunk;
      guint32       length;
      gint64        w, h;

      if (!webp_chunk (data, end, &pos, &chunk, &length))
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "a truncated WebP: a chunk ends past the file's end");
          return FALSE;
        }
      if (first && memcmp (fourcc, "VP8X", 4) == 0)
        {
          if (length < 10)
            {
              g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "not a readable WebP: a short VP8X header");
              return FALSE;
            }
          *width = le24 (chunk + 4) + 1;
          *height = le24 (chunk + 7) + 1;
          canvas = TRUE;
          if (!np_image_check_decode_size (*width, *height, max_pixels, error))
            return FALSE;
        }
      else if (memcmp (fourcc, "VP8 ", 4) == 0 || memcmp (fourcc, "VP8L", 4) == 0)
        {
          /* Each image is decoded at its own size: it must fit the limits
           * too, whatever the canvas says. */
          if (!webp_frame_size (fourcc, chunk, length, &w, &h, error)
              || !np_image_check_decode_size (w, h, max_pixels, error))
            return FALSE;
          if (!canvas && !image)
            *width = w, *height = h;
          image = TRUE;
        }
      else if (memcmp (fourcc, "ANMF", 4) == 0 && canvas)
        {
          /* An animation frame: offset, then its size less one, 24 bits each. */
          if (length < 16)
            {
              g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "not a readable WebP: a short animation frame");
              return FALSE;
            }
          if (!np_image_check_decode_size (le24 (chunk + 6) + 1, le24 (chunk + 9) + 1, max_pixels, error))
            return FALSE;
          image = TRUE;
        }
      else if (first)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT,
                       "not a readable WebP: it starts with no VP8, VP8L or VP8X chunk");
          return FALSE;
        }
    }
  if (!image)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "not a readable WebP: it holds no image");
      return FALSE;
    }
  return TRUE;
}

GBytes *
np_header_webp_icc (const guint8 *data, gsize size)
{
  guint64 end, pos = 12;

  if (size < 12 || memcmp (data, "RIFF", 4) != 0 || memcmp (data + 8, "WEBP", 4) != 0
      || (end = (guint64) le32 (data + 4) + 8) > size)
    return NULL;
  while (pos < end)
    {
      const char   *fourcc = (const char *) data + pos;
      const guint8 *chunk;
      guint32       length;

      if (!webp_chunk (data, end, &pos, &chunk, &length))
        return NULL;
      if (memcmp (fourcc, "ICCP", 4) == 0 && length > 0)
        return g_bytes_new (chunk, length);
    }
  return NULL;
}

gboolean
np_header_check (const guint8 *data, gsize size, gint64 max_pixels, gint64 *width, gint64 *height,
                 GError **error)
{
  *width = *height = 0;
  if (size >= 4 && (memcmp (data, "II*\0", 4) == 0 || memcmp (data, "MM\0*", 4) == 0))
    return tiff_check (data, size, max_pixels, width, height, error);
  if (size >= 12 && memcmp (data, "RIFF", 4) == 0 && memcmp (data + 8, "WEBP", 4) == 0)
    return webp_check (data, size, max_pixels, width, height, error);
  g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED, "neither a TIFF nor a WebP file");
  return FALSE;
}
