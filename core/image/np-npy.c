/* neuropaint — .npy headers and the float image writer (numpy.lib.format,
 * version 1.0). */
#include "np-npy.h"
#include "util/np-output.h"

#include <string.h>

#define PREAMBLE 10   /* magic (6), version (2), header length (2) */

GBytes *
np_npy_header (const char *descr, const guint64 *shape, gint rank, gsize size)
{
  g_autoptr(GString) dict = g_string_new (NULL);
  GString *out;

  g_return_val_if_fail (rank >= 0 && rank <= NP_NPY_MAX_RANK, NULL);
  g_return_val_if_fail (size % 64 == 0 && size <= 65535 + PREAMBLE, NULL);

  g_string_append_printf (dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (gint i = 0; i < rank; i++)
    g_string_append_printf (dict, "%s%" G_GUINT64_FORMAT, i ? ", " : "", shape[i]);
  /* A one-element tuple needs its comma: (5,). */
  g_string_append (dict, rank == 1 ? ",), }" : "), }");
  if (size == 0)
    size = (PREAMBLE + dict->len + 1 + 63) / 64 * 64;
  if (PREAMBLE + dict->len + 1 > size)
    return NULL;

  out = g_string_new_len ("\x93NUMPY\x01\x00", 8);
  g_string_append_c (out, (gchar) ((size - PREAMBLE) & 0xff));
  g_string_append_c (out, (gchar) ((size - PREAMBLE) >> 8));
  g_string_append_len (out, dict->str, dict->len);
  while (out->len < size - 1)
    g_string_append_c (out, ' ');
  g_string_append_c (out, '\n');
  return g_string_free_to_bytes (out);
}

gboolean
np_npy_save (const NpImage *image, const char *path, GError **error)
{
  guint64 shape[3] = { image->height, image->width, image->channels };
  g_autoptr(GBytes) header = NULL;
  g_autoptr(NpOutput) out = NULL;
  gsize row = (gsize) image->width * image->channels * sizeof (gfloat), n;
  gconstpointer h;

  g_return_val_if_fail (image != NULL && image->type == NP_SAMPLE_F32, FALSE);
  g_return_val_if_fail (G_BYTE_ORDER == G_LITTLE_ENDIAN, FALSE);

  header = np_npy_header ("<f4", shape, 3, 0);
  h = g_bytes_get_data (header, &n);
  if (!(out = np_output_new (path, error)) || !np_output_write (out, h, n, error))
    return FALSE;
  for (gint y = 0; y < image->height; y++)
    if (!np_output_write (out, np_image_row (image, y), row, error))
      return FALSE;
  return np_output_commit (out, error);
}

/* ---- reading a header ---------------------------------------------------- */

/* A cursor over the dict literal: just the Python numpy writes (and
 * numpy.save in any version writes): strings in single or double quotes
 * without escapes, True/False, tuples of non-negative integers. */
typedef struct
{
  const char *p, *end;
} Cursor;

static void
skip_blanks (Cursor *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
    c->p++;
}

static gboolean
take (Cursor *c, char ch)
{
  skip_blanks (c);
  if (c->p < c->end && *c->p == ch)
    {
      c->p++;
      return TRUE;
    }
  return FALSE;
}

static gchar *
take_string (Cursor *c)
{
  const char *start;
  char        quote;

  skip_blanks (c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    return NULL;
  quote = *c->p++;
  start = c->p;
  while (c->p < c->end && *c->p != quote && *c->p != '\\')
    c->p++;
  if (c->p >= c->end || *c->p != quote)
    return NULL;
  return g_strndup (start, c->p++ - start);
}

static gboolean
take_word (Cursor *c, const char *word)
{
  gsize n = strlen (word);

  skip_blanks (c);
  if ((gsize) (c->end - c->p) >= n && memcmp (c->p, word, n) == 0)
    {
      c->p += n;
      return TRUE;
    }
  return FALSE;
}

/* A tuple of integers below 2^62, as numpy writes shapes: (), (5,), (2, 3). */
static gboolean
take_shape (Cursor *c, guint64 *shape, gint *rank)
{
  *rank = 0;
  if (!take (c, '('))
    return FALSE;
  for (;;)
    {
      guint64 v = 0;
      gboolean digits = FALSE;

      /* "()" or a trailing comma: "(5,)", "(2, 3,)". */
      if (take (c, ')'))
        return TRUE;
      while (c->p < c->end && g_ascii_isdigit (*c->p))
        {
          if (v > (G_GUINT64_CONSTANT (1) << 62) / 10)
            return FALSE;
          v = v * 10 + (guint64) (*c->p++ - '0');
          digits = TRUE;
        }
      if (!digits || *rank == NP_NPY_MAX_RANK)
        return FALSE;
      shape[(*rank)++] = v;
      if (!take (c, ','))
        return take (c, ')') && *rank != 1;
    }
}

static gboolean
corrupt (GError **error, const char *what)
{
  g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "not a .npy file: %s", what);
  return FALSE;
}

gboolean
np_npy_parse_header (const guint8 *data, gsize size, gchar **descr, guint64 *shape,
                     gint *rank, gsize *data_offset, GError **error)
{
  g_autofree gchar *got_descr = NULL;
  gboolean has_order = FALSE, has_shape = FALSE, fortran = FALSE;
  gsize    header_len;
  Cursor   c;

  if (size < PREAMBLE || memcmp (data, "\x93NUMPY", 6) != 0)
    return corrupt (error, "no \\x93NUMPY magic");
  if (data[6] != 1 || data[7] != 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   ".npy format version %u.%u (we read 1.0)", data[6], data[7]);
      return FALSE;
    }
  header_len = data[8] | (gsize) data[9] << 8;
  if (size - PREAMBLE < header_len)
    return corrupt (error, "the header runs past the end of the file");
  if (header_len == 0 || data[PREAMBLE + header_len - 1] != '\n')
    return corrupt (error, "the header does not end with a newline");

  c.p = (const char *) data + PREAMBLE;
  c.end = c.p + header_len - 1;
  if (!take (&c, '{'))
    return corrupt (error, "the header is not a dict");
  while (!take (&c, '}'))
    {
      g_autofree gchar *key = take_string (&c);

      if (key == NULL || !take (&c, ':'))
        return corrupt (error, "a header key is not a quoted string followed by “:”");
      if (strcmp (key, "descr") == 0 && got_descr == NULL)
        {
          if (!(got_descr = take_string (&c)))
            return corrupt (error, "descr is not a string");
        }
      else if (strcmp (key, "fortran_order") == 0 && !has_order)
        {
          has_order = TRUE;
          if (take_word (&c, "True"))
            fortran = TRUE;
          else if (!take_word (&c, "False"))
            return corrupt (error, "fortran_order is not True or False");
        }
      else if (strcmp (key, "shape") == 0 && !has_shape)
        {
          has_shape = TRUE;
          if (!take_shape (&c, shape, rank))
            return corrupt (error, "shape is not a tuple of at most 8 integers");
        }
      else
        return corrupt (error, "a header key other than descr, fortran_order and shape, or twice the same");
      if (!take (&c, ',') && (skip_blanks (&c), c.p >= c.end || *c.p != '}'))
        return corrupt (error, "header entries are not separated by commas");
    }
  skip_blanks (&c);
  if (c.p != c.end)
    return corrupt (error, "text after the header dict");
  if (got_descr == NULL || !has_order || !has_shape)
    return corrupt (error, "the header lacks descr, fortran_order or shape");
  if (fortran)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED, ".npy array in Fortran order (we read C order)");
      return FALSE;
    }
  *descr = g_steal_pointer (&got_descr);
  *data_offset = PREAMBLE + header_len;
  return TRUE;
}
