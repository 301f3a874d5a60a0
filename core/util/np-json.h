/* neuropaint — JSON from outside files, read safely, and written by hand.
 *
 * json-glib's parser recurses once per nesting level, so a hostile file of
 * a million '[' could exhaust the stack: np_json_parse refuses deep nesting
 * before the parser sees it. Our formats never nest deeper than a few
 * levels. Writers that build one line at a time (JSON lines) append strings
 * with np_json_append_string and numbers with g_ascii_formatd, which keeps
 * numbers short and exact to the digits they mean.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include "np-error.h"

G_BEGIN_DECLS

#define NP_JSON_MAX_NESTING 64

/* One JSON value from length bytes of text (no NUL needed). NULL with
 * NP_ERROR_CORRUPT (json-glib's message, or too deep) on bad input; release
 * the result with json_node_unref. */
JsonNode *np_json_parse          (const char *text, gsize length, GError **error);

/* Appends s, UTF-8, as a JSON string literal with its quotes. */
void      np_json_append_string  (GString *out, const char *s);

G_END_DECLS
