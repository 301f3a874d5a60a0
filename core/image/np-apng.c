/* neuropaint — APNG chunks written by hand, pixels deflated by zlib. */
#include "np-apng.h"
#include "np-error.h"
#include "util/np-output.h"

#include <string.h>
#include <zlib.h>

struct _NpApng
{
  gchar    *path;
  NpOutput *output;
  gint      width, height, channels, n_frames, fps, added;
  guint32   sequence;  /* fcTL and fdAT share one counter */
};

static void
put32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static gboolean
write_chunk (NpApng *apng, const char *type, const guint8 *data, gsize size,
             GError **error)
{
  guint8  head[8], tail[4];
  uLong   crc = crc32 (0, (const Bytef *) type, 4);

  if (size > G_MAXINT32)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "%s: frame too large for PNG", apng->path);
      return FALSE;
    }
  /* zlib's crc32 with a NULL buffer returns its initial value, not crc. */
  if (size)
    crc = crc32 (crc, data, (uInt) size);
  put32 (head, (guint32) size);
  memcpy (head + 4, type, 4);
  put32 (tail, (guint32) crc);
  return np_output_write (apng->output, head, 8, error)
    && (size == 0 || np_output_write (apng->output, data, size, error))
    && np_output_write (apng->output, tail, 4, error);
}

NpApng *
np_apng_new (const char *path, gint width, gint height, gint channels,
             gint n_frames, gint fps, GError **error)
{
  g_autoptr(NpApng) apng = g_new0 (NpApng, 1);
  guint8 ihdr[13], actl[8];

  g_return_val_if_fail (channels == 3 || channels == 4, NULL);
  g_return_val_if_fail (width > 0 && height > 0 && n_frames > 0 && fps > 0, NULL);

  apng->path = g_strdup (path);
  apng->width = width;
  apng->height = height;
  apng->channels = channels;
  apng->n_frames = n_frames;
  apng->fps = fps;
  if (!(apng->output = np_output_new (path, error)))
    return NULL;

  put32 (ihdr, width);
  put32 (ihdr + 4, height);
  ihdr[8] = 8;                       /* bits per sample */
  ihdr[9] = channels == 4 ? 6 : 2;   /* RGBA or RGB */
  ihdr[10] = ihdr[11] = ihdr[12] = 0;
  put32 (actl, n_frames);
  put32 (actl + 4, 0);               /* loop forever */
  if (!np_output_write (apng->output, "\x89PNG\r\n\x1a\n", 8, error)
      || !write_chunk (apng, "IHDR", ihdr, sizeof ihdr, error)
      || !write_chunk (apng, "acTL", actl, sizeof actl, error))
    return NULL;
  return g_steal_pointer (&apng);
}

gboolean
np_apng_add_frame (NpApng *apng, const guint8 *pixels, gsize stride, GError **error)
{
  gsize   row = (gsize) apng->width * apng->channels;
  gsize   raw_size = (row + 1) * apng->height;
  g_autofree guint8 *raw = g_try_malloc (raw_size);
  uLongf  packed_size = compressBound (raw_size);
  g_autofree guint8 *packed = g_try_malloc (4 + packed_size);
  guint8  fctl[26];

  g_return_val_if_fail (apng->added < apng->n_frames, FALSE);
  if (raw == NULL || packed == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "%s: out of memory for a frame", apng->path);
      return FALSE;
    }
  for (gint y = 0; y < apng->height; y++)
    {
      raw[y * (row + 1)] = 0;  /* filter: none */
      memcpy (raw + y * (row + 1) + 1, pixels + y * stride, row);
    }
  if (compress2 (packed + 4, &packed_size, raw, raw_size, 6) != Z_OK)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_IO, "%s: zlib failed", apng->path);
      return FALSE;
    }

  put32 (fctl, apng->sequence++);
  put32 (fctl + 4, apng->width);
  put32 (fctl + 8, apng->height);
  put32 (fctl + 12, 0);                  /* x offset */
  put32 (fctl + 16, 0);                  /* y offset */
  fctl[20] = 0, fctl[21] = 1;            /* delay 1/fps s */
  fctl[22] = apng->fps >> 8, fctl[23] = apng->fps & 0xff;
  fctl[24] = 0;                          /* dispose: none */
  fctl[25] = 0;                          /* blend: source */
  if (!write_chunk (apng, "fcTL", fctl, sizeof fctl, error))
    return FALSE;
  /* The first frame is the default image (IDAT); later ones are fdAT, the
   * same data behind a sequence number. */
  if (apng->added == 0)
    {
      if (!write_chunk (apng, "IDAT", packed + 4, packed_size, error))
        return FALSE;
    }
  else
    {
      put32 (packed, apng->sequence++);
      if (!write_chunk (apng, "fdAT", packed, packed_size + 4, error))
        return FALSE;
    }
  apng->added++;
  return TRUE;
}

gboolean
np_apng_finish (NpApng *apng, GError **error)
{
  if (apng->added != apng->n_frames)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "%s: %d of %d frames were added", apng->path, apng->added, apng->n_frames);
      return FALSE;
    }
  return write_chunk (apng, "IEND", NULL, 0, error) && np_output_commit (apng->output, error);
}

void
np_apng_free (NpApng *apng)
{
  if (apng == NULL)
    return;
  np_output_free (apng->output);
  g_free (apng->path);
  g_free (apng);
}
