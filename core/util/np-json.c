/* neuropaint — JSON helpers: a nesting guard before json-glib, and string
 * literals for hand-built lines. */
#include "np-json.h"

#include <string.h>

/* Checks the nesting depth, and that an object or array at the top is all
 * there is: json-glib would take "{...} {...}" without a word. */
static const char *
check_structure (const char *text, gsize length)
{
  gint     depth = 0;
  gboolean in_string = FALSE, closed = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      char c = text[i];
      if (closed)
        {
          if (!g_ascii_isspace (c))
            return "more than one JSON value";
        }
      else if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if ((c == '[' || c == '{') && ++depth > NP_JSON_MAX_NESTING)
        return "JSON nested too deep";
      else if ((c == ']' || c == '}') && --depth == 0)
        closed = TRUE;
    }
  return NULL;
}

JsonNode *
np_json_parse (const char *text, gsize length, GError **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) json_error = NULL;
  const char *problem;

  if (length == 0 || length > G_MAXSSIZE)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, length ? "JSON text too long" : "empty");
      return NULL;
    }
  if ((problem = check_structure (text, length)) != NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s", problem);
      return NULL;
    }
  /* json-glib stops at a NUL even when told the length: refuse it here, or
   * whatever follows one would go unread. */
  if (memchr (text, '\0', length) != NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "a NUL byte in JSON text");
      return NULL;
    }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, (gssize) length, &json_error))
    {
      const char *message = json_error->message;
      /* json-glib names in-memory text "<data>"; the caller names the file. */
      if (g_str_has_prefix (message, "<data>:"))
        message += strlen ("<data>:");
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s", message);
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "no JSON value");
      return NULL;
    }
  return json_node_ref (json_parser_get_root (parser));
}

void
np_json_append_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *) s; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      if (*p < 0x20)
        g_string_append_printf (out, "\\u%04x", *p);
      else
        g_string_append_c (out, (gchar) *p);
    }
  g_string_append_c (out, '"');
}
