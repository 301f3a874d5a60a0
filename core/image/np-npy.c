/* neuropaint — .npy writer (format: numpy.lib.format, version 1.0). */
#include "np-npy.h"
#include "np-error.h"
#include "util/np-output.h"

#include <string.h>

gboolean
np_npy_save (const NpImage *image, const char *path, GError **error)
{
  g_autoptr(GString) out = g_string_new ("\x93NUMPY\x01");
  g_autoptr(NpOutput) output = NULL;
  g_autofree gchar *dict = NULL;
  gsize header_len, row = (gsize) image->width * image->channels * sizeof (gfloat);

  g_return_val_if_fail (image != NULL && image->type == NP_SAMPLE_F32, FALSE);
  g_return_val_if_fail (G_BYTE_ORDER == G_LITTLE_ENDIAN, FALSE);

  /* The header (magic, version, length, dict, '\n') is padded with spaces
   * to a multiple of 64 bytes, so the data is aligned. */
  g_string_append_c (out, '\0');
  dict = g_strdup_printf ("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d), }",
                          image->height, image->width, image->channels);
  header_len = (10 + strlen (dict) + 1 + 63) / 64 * 64 - 10;
  g_string_append_c (out, (gchar) (header_len & 0xff));
  g_string_append_c (out, (gchar) (header_len >> 8));
  g_string_append (out, dict);
  while (out->len < 10 + header_len - 1)
    g_string_append_c (out, ' ');
  g_string_append_c (out, '\n');

  if (!(output = np_output_new (path, error)) || !np_output_write (output, out->str, out->len, error))
    return FALSE;
  for (gint y = 0; y < image->height; y++)
    if (!np_output_write (output, np_image_row (image, y), row, error))
      return FALSE;
  return np_output_commit (output, error);
}
