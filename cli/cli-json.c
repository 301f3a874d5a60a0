/* neuropaint — file names in JSON and in lines of text: names are bytes, JSON
 * is UTF-8; stray bytes travel as lone surrogates (Python's surrogateescape). */

#include "config.h"
#include "cli.h"

/* ---- File names in JSON and in lines of text (issue 21, item 15) --------- */

/* U+DC80 + byte, in UTF-8 ED B2 80 to ED B3 BF: lone surrogates, which no
 * UTF-8 text holds, so they stand for a name's stray bytes unambiguously. */
#define STRAY_LEAD 0xED

gchar *
cli_json_name (const char *name)
{
  GString    *out = g_string_sized_new (strlen (name));
  const char *end;

  while (!g_utf8_validate (name, -1, &end))
    {
      guint8 b = (guint8) *end;

      g_string_append_len (out, name, end - name);
      g_string_append_c (out, STRAY_LEAD);
      g_string_append_c (out, 0xB0 | 0x02 | (b >> 6 & 1));
      g_string_append_c (out, 0x80 | (b & 0x3F));
      name = end + 1;
    }
  g_string_append (out, name);
  return g_string_free (out, FALSE);
}

static gboolean
is_stray (const guint8 *p)
{
  return p[0] == STRAY_LEAD && (p[1] == 0xB2 || p[1] == 0xB3) && (p[2] & 0xC0) == 0x80;
}

gchar *
cli_json_name_bytes (const char *json_name)
{
  GString *out = g_string_sized_new (strlen (json_name));

  for (const guint8 *p = (const guint8 *) json_name; *p; p++)
    if (is_stray (p))
      {
        g_string_append_c (out, (gchar) (0x80 | (p[1] & 1) << 6 | (p[2] & 0x3F)));
        p += 2;
      }
    else
      g_string_append_c (out, (gchar) *p);
  return g_string_free (out, FALSE);
}

gchar *
cli_json_text (JsonNode *root, gboolean pretty, gsize *length)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree gchar *text = NULL;
  GString *out;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, pretty);
  /* json-glib copies a string's bytes as they are: the stray ones become
   * the escapes \udc80 to \udcff here, and the text is UTF-8. */
  text = json_generator_to_data (gen, NULL);
  out = g_string_sized_new (strlen (text));
  for (const guint8 *p = (const guint8 *) text; *p; p++)
    if (is_stray (p))
      {
        g_string_append_printf (out, "\\udc%02x", 0x80 | (p[1] & 1) << 6 | (p[2] & 0x3F));
        p += 2;
      }
    else
      g_string_append_c (out, (gchar) *p);
  if (length)
    *length = out->len;
  return g_string_free (out, FALSE);
}

gchar *
cli_quote_name (const char *name)
{
  GString    *out;
  const char *end;
  gboolean    valid = g_utf8_validate (name, -1, &end);
  gboolean    plain = valid;

  for (const guint8 *p = (const guint8 *) name; plain && *p; p++)
    plain = *p >= 0x20 && *p != 0x7F && *p != '"' && *p != '\\';
  if (plain)
    return g_strdup (name);
  /* As git quotes a path (with core.quotePath off): C escapes in double
   * quotes, octal for control characters and for bytes that are no UTF-8. */
  out = g_string_new ("\"");
  for (;;)
    {
      valid = g_utf8_validate (name, -1, &end);
      for (const char *p = name; p < end; p++)
        if (*p == '"' || *p == '\\')
          g_string_append_printf (out, "\\%c", *p);
        else if (*p == '\n')
          g_string_append (out, "\\n");
        else if (*p == '\t')
          g_string_append (out, "\\t");
        else if ((guint8) *p < 0x20 || *p == 0x7F)
          g_string_append_printf (out, "\\%03o", (guint8) *p);
        else
          g_string_append_c (out, *p);
      if (valid)
        break;
      g_string_append_printf (out, "\\%03o", (guint8) *end);
      name = end + 1;
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

/* The code of the 4 hex digits at p, or -1. */
static gint
hex4 (const char *p)
{
  gint value = 0;

  for (gint i = 0; i < 4; i++)
    {
      gint d = g_ascii_xdigit_value (p[i]);
      if (d < 0)
        return -1;
      value = value << 4 | d;
    }
  return value;
}

/* Where the stray escapes would stand in json-glib's reading: a block of
 * 128 private-use characters the text does not hold, literally or escaped. */
#define STRAY_BLOCKS ((0xF900 - 0xE000) / 128)

static void
replace_strays (JsonNode *node, gunichar base)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      JsonNode      *member;

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, NULL, &member))
        replace_strays (member, base);
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
      replace_strays (json_array_get_element (json_node_get_array (node), i), base);
  else if (json_node_get_value_type (node) == G_TYPE_STRING)
    {
      GString *out = g_string_new (NULL);

      for (const char *p = json_node_get_string (node); *p; p = g_utf8_next_char (p))
        {
          gunichar c = g_utf8_get_char (p);
          if (c >= base && c < base + 128)
            g_string_append_c (g_string_append_c (g_string_append_c (out, STRAY_LEAD),
                                                  0xB2 | ((c - base) >> 6 & 1)),
                               0x80 | ((c - base) & 0x3F));
          else
            g_string_append_unichar (out, c);
        }
      json_node_set_string (node, out->str);
      g_string_free (out, TRUE);
    }
}

gboolean
cli_json_parse (JsonParser *parser, const char *text, gsize length, GError **error)
{
  /* json-glib reads a lone surrogate escape by eating what follows it, so
   * the strays' escapes are swapped for characters it reads, then back. */
  g_autoptr(GArray) strays = g_array_new (FALSE, FALSE, sizeof (gsize));   /* their offsets */
  g_autoptr(GString) swapped = NULL;
  gboolean    used[STRAY_BLOCKS] = { FALSE }, in_string = FALSE, after_high = FALSE;
  const char *end = text + length;
  gint        block = 0;
  gsize       from = 0;

  if (!g_utf8_validate (text, length, NULL))
    return json_parser_load_from_data (parser, text, length, error);   /* its error */
  for (const char *p = text; p < end; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gint     u = (gint) c;

      if (in_string && c == '\\' && p + 1 < end)
        {
          u = p[1] == 'u' && p + 6 <= end ? hex4 (p + 2) : -1;
          /* The low half of a surrogate pair (an escaped emoji) is no stray. */
          if (u >= 0xDC80 && u <= 0xDCFF && !after_high)
            g_array_append_val (strays, (gsize) { p - text });
          after_high = u >= 0xD800 && u <= 0xDBFF;
          p += u >= 0 ? 5 : 1;
        }
      else
        {
          after_high = FALSE;
          if (c == '"')
            in_string = !in_string;
        }
      if (u >= 0xE000 && u < 0xE000 + 128 * STRAY_BLOCKS)
        used[(u - 0xE000) / 128] = TRUE;
    }
  if (strays->len == 0)
    return json_parser_load_from_data (parser, text, length, error);
  while (block < STRAY_BLOCKS && used[block])
    block++;
  if (block == STRAY_BLOCKS)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "\\udc80–\\udcff escapes beside every private-use character: too odd to read");
      return FALSE;
    }
  swapped = g_string_sized_new (length);
  for (guint i = 0; i < strays->len; i++)
    {
      gsize at = g_array_index (strays, gsize, i);

      g_string_append_len (swapped, text + from, at - from);
      g_string_append_printf (swapped, "\\u%04X", 0xE000 + 128 * block + (hex4 (text + at + 2) - 0xDC80));
      from = at + 6;
    }
  g_string_append_len (swapped, text + from, length - from);
  if (!json_parser_load_from_data (parser, swapped->str, swapped->len, error))
    return FALSE;
  replace_strays (json_parser_get_root (parser), 0xE000 + 128 * block);
  return TRUE;
}

gboolean
cli_json_parse_file (JsonParser *parser, const char *path, GError **error)
{
  g_autofree gchar *text = NULL;
  gsize length;

  return g_file_get_contents (path, &text, &length, error) && cli_json_parse (parser, text, length, error);
}
