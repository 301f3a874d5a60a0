/* neuropaint — safetensors files: 8-byte little-endian header length, a JSON
 * header, then raw little-endian tensors (https://github.com/huggingface/safetensors).
 *
 *     { "__metadata__": { "key": "value", ... },
 *       "e1.weight": { "dtype": "F32", "shape": [64, 3, 4, 4], "data_offsets": [0, 12288] }, ... }
 *
 * Model files come from outside, so the parser trusts nothing: every length,
 * offset and shape is checked against the bytes actually present before a
 * single tensor byte is read, and every failure is an NP_ERROR_CORRUPT (or
 * _UNSUPPORTED, _TOO_LARGE) error, never a crash. */
#include "np-nn-private.h"
#include "util/np-file.h"
#include "util/np-json.h"
#include "util/np-output.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* A header is a few kilobytes for our models; a hundred megabytes is surely
 * not a header. */
#define MAX_HEADER (100u << 20)

static gboolean
fail (GError **error, gint code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (GError **error, gint code, const char *format, ...)
{
  va_list args;
  gchar  *msg;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, NP_ERROR, code, "safetensors: %s", msg);
  g_free (msg);
  return FALSE;
}

/* The first name the top-level object holds twice, as written, or NULL.
 * JSON parsers (json-glib too) keep the last of duplicate members, so a
 * file naming a tensor twice would load whichever came last: refuse it.
 * The header is known to be well-formed JSON here. */
static gchar *
duplicate_name (const char *json, gsize len)
{
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gint  depth = 0;
  char  last = 0;   /* the last character outside strings */

  for (gsize i = 0; i < len; i++)
    {
      char c = json[i];

      if (c == '"')
        {
          gsize start = ++i;
          while (i < len && json[i] != '"')
            i += json[i] == '\\' ? 2 : 1;
          if (depth == 1 && (last == '{' || last == ','))
            {
              gchar *name = g_strndup (json + start, MIN (i, len) - start);
              if (!g_hash_table_add (names, name))
                return g_strdup (name);
            }
          last = '"';
        }
      else if (!g_ascii_isspace (c))
        {
          if (c == '{' || c == '[')
            depth++;
          else if (c == '}' || c == ']')
            depth--;
          last = c;
        }
    }
  return NULL;
}

guint16
np_f32_to_f16 (gfloat f)
{
  guint32 x;
  guint32 sign, mag;

  memcpy (&x, &f, 4);
  sign = (x >> 16) & 0x8000u;
  mag = x & 0x7fffffffu;
  if (mag >= 0x7f800000u)                       /* inf or nan */
    return (guint16) (sign | 0x7c00u | (mag > 0x7f800000u ? 0x200u : 0));
  if (mag >= 0x477ff000u)                       /* rounds to >= 65536: inf */
    return (guint16) (sign | 0x7c00u);
  if (mag < 0x38800000u)                        /* subnormal half (or zero) */
    {
      /* Add the magnitude to 0.5 so the FPU rounds to the half subnormal
       * grid (2^-24) with round-to-nearest-even for us. */
      gfloat v, half = 0.5f;
      guint32 bits;
      memcpy (&v, &mag, 4);
      v += half;
      memcpy (&bits, &v, 4);
      return (guint16) (sign | (bits - 0x3f000000u));
    }
  /* Normal: rebias the exponent and round the 13 dropped bits to even. */
  mag += ((guint32) (15 - 127) << 23) + 0xfffu + ((mag >> 13) & 1u);
  return (guint16) (sign | (mag >> 13));
}

gfloat
np_f16_to_f32 (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  guint32 bits;
  gfloat  f;

  if (exp == 0)
    {
      /* Subnormal or zero: man · 2^-24, exact in float. */
      f = man * (1.0f / 16777216.0f);
      return sign ? -f : f;
    }
  if (exp == 31)
    bits = sign | 0x7f800000u | (man << 13);
  else
    bits = sign | ((exp + 112) << 23) | (man << 13);
  memcpy (&f, &bits, 4);
  return f;
}

static gboolean
read_uint (JsonNode *node, guint64 max, guint64 *out)
{
  gint64 v;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  v = json_node_get_int (node);
  if (v < 0 || (guint64) v > max)
    return FALSE;
  *out = (guint64) v;
  return TRUE;
}

typedef struct
{
  const char *name;
  guint64     begin, end;
} Span;

static gint
compare_spans (gconstpointer a, gconstpointer b)
{
  const Span *x = a, *y = b;
  return (x->begin > y->begin) - (x->begin < y->begin);
}

static gboolean
parse_metadata (GHashTable *metadata, JsonNode *node, GError **error)
{
  JsonObject *obj;
  g_autoptr(GList) members = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, NP_ERROR_CORRUPT, "__metadata__ is not an object");
  obj = json_node_get_object (node);
  members = json_object_get_members (obj);
  for (GList *m = members; m; m = m->next)
    {
      JsonNode *v = json_object_get_member (obj, m->data);
      if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
        return fail (error, NP_ERROR_CORRUPT, "metadata “%s” is not a string", (char *) m->data);
      g_hash_table_insert (metadata, g_strdup (m->data), g_strdup (json_node_get_string (v)));
    }
  return TRUE;
}

/* Checks one tensor's entry; on success fills span and the tensor's shape. */
static gboolean
parse_entry (const char *name, JsonNode *node, guint64 data_size, Span *span,
             gint64 ne[4], gboolean *f16, GError **error)
{
  JsonObject *obj;
  JsonArray  *shape, *offsets;
  JsonNode   *dtype, *shape_node, *offsets_node;
  const char *type;
  guint64     count = 1, dim, size;
  guint       rank;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, NP_ERROR_CORRUPT, "entry “%s” is not an object", name);
  obj = json_node_get_object (node);
  dtype = json_object_get_member (obj, "dtype");
  shape_node = json_object_get_member (obj, "shape");
  offsets_node = json_object_get_member (obj, "data_offsets");
  if (json_object_get_size (obj) != 3 || dtype == NULL || shape_node == NULL || offsets_node == NULL
      || !JSON_NODE_HOLDS_VALUE (dtype) || json_node_get_value_type (dtype) != G_TYPE_STRING
      || !JSON_NODE_HOLDS_ARRAY (shape_node) || !JSON_NODE_HOLDS_ARRAY (offsets_node))
    return fail (error, NP_ERROR_CORRUPT, "entry “%s” needs exactly dtype, shape and data_offsets", name);

  type = json_node_get_string (dtype);
  if (strcmp (type, "F32") == 0)
    *f16 = FALSE;
  else if (strcmp (type, "F16") == 0)
    *f16 = TRUE;
  else
    return fail (error, NP_ERROR_UNSUPPORTED, "tensor “%s” has dtype %s (we read F32 and F16)", name, type);

  shape = json_node_get_array (shape_node);
  rank = json_array_get_length (shape);
  if (rank > 4)
    return fail (error, NP_ERROR_UNSUPPORTED, "tensor “%s” has %u dimensions (at most 4)", name, rank);
  ne[0] = ne[1] = ne[2] = ne[3] = 1;
  for (guint i = 0; i < rank; i++)
    {
      if (!read_uint (json_array_get_element (shape, i), NP_TENSOR_MAX_ELEMENTS, &dim) || dim == 0)
        return fail (error, NP_ERROR_CORRUPT, "tensor “%s” has a bad dimension", name);
      count *= dim;   /* both ≤ 2^31: no overflow before the check */
      if (count > (guint64) NP_TENSOR_MAX_ELEMENTS)
        return fail (error, NP_ERROR_TOO_LARGE, "tensor “%s” is too large", name);
      ne[rank - 1 - i] = (gint64) dim;
    }

  offsets = json_node_get_array (offsets_node);
  if (json_array_get_length (offsets) != 2
      || !read_uint (json_array_get_element (offsets, 0), G_MAXINT64, &span->begin)
      || !read_uint (json_array_get_element (offsets, 1), G_MAXINT64, &span->end))
    return fail (error, NP_ERROR_CORRUPT, "tensor “%s” has bad data_offsets", name);
  size = count * (*f16 ? 2 : 4);
  if (span->begin > span->end || span->end > data_size)
    return fail (error, NP_ERROR_CORRUPT, "tensor “%s” lies past the end of the file", name);
  if (span->end - span->begin != size)
    return fail (error, NP_ERROR_CORRUPT, "tensor “%s” spans %" G_GUINT64_FORMAT " bytes but its shape needs %"
                 G_GUINT64_FORMAT, name, span->end - span->begin, size);
  span->name = name;
  return TRUE;
}

static NpTensor *
read_tensor (const guint8 *bytes, const gint64 ne[4], gboolean f16, GError **error)
{
  NpTensor *t = np_tensor_new (ne[0], ne[1], ne[2], ne[3], error);
  gint64    n;

  if (t == NULL)
    return NULL;
  n = np_tensor_n_elements (t);
  for (gint64 i = 0; i < n; i++)
    {
      if (f16)
        t->data[i] = np_f16_to_f32 ((guint16) (bytes[2 * i] | bytes[2 * i + 1] << 8));
      else
        {
          guint32 u = (guint32) bytes[4 * i] | (guint32) bytes[4 * i + 1] << 8
                    | (guint32) bytes[4 * i + 2] << 16 | (guint32) bytes[4 * i + 3] << 24;
          memcpy (&t->data[i], &u, 4);
        }
    }
  return t;
}

/* The header of the size bytes at data, checked (its length, its JSON, no
 * name twice), and its length. */
static JsonNode *
parse_header (const guint8 *data, gsize size, guint64 *length, GError **error)
{
  g_autoptr(JsonNode) header = NULL;
  g_autoptr(GError)   json_error = NULL;
  guint64             header_len = 0;

  if (size < 8)
    return fail (error, NP_ERROR_CORRUPT, "file of %" G_GSIZE_FORMAT " bytes is truncated", size), NULL;
  for (int i = 7; i >= 0; i--)
    header_len = header_len << 8 | data[i];
  if (header_len > size - 8)
    return fail (error, NP_ERROR_CORRUPT, "header length %" G_GUINT64_FORMAT " exceeds the %" G_GSIZE_FORMAT
                 " bytes that follow (truncated file?)", header_len, size - 8), NULL;
  if (header_len > MAX_HEADER)
    return fail (error, NP_ERROR_TOO_LARGE, "header of %" G_GUINT64_FORMAT " bytes", header_len), NULL;
  if (header_len < 2 || data[8] != '{')
    return fail (error, NP_ERROR_CORRUPT, "header is not a JSON object"), NULL;
  if (!g_utf8_validate ((const char *) data + 8, (gssize) header_len, NULL))
    return fail (error, NP_ERROR_CORRUPT, "header is not plain UTF-8 JSON"), NULL;
  /* One value, nested no deeper than our headers ever are. */
  if ((header = np_json_parse ((const char *) data + 8, header_len, &json_error)) == NULL)
    return fail (error, NP_ERROR_CORRUPT, "header: %s", json_error->message), NULL;
  if (!JSON_NODE_HOLDS_OBJECT (header))
    return fail (error, NP_ERROR_CORRUPT, "header is not a JSON object"), NULL;
  {
    g_autofree gchar *twice = duplicate_name ((const char *) data + 8, header_len);
    if (twice)
      return fail (error, NP_ERROR_CORRUPT, "“%s” is named twice in the header", twice), NULL;
  }
  *length = header_len;
  return g_steal_pointer (&header);
}

NpSafetensors *
np_safetensors_parse (const guint8 *data, gsize size, GError **error)
{
  g_autoptr(NpSafetensors) st = NULL;
  g_autoptr(JsonNode)   header = NULL;
  g_autoptr(GList) members = NULL;
  g_autoptr(GArray) spans = NULL;
  g_autoptr(GArray) shapes = NULL;
  g_autoptr(GArray) f16 = NULL;
  JsonObject *root;
  guint64     header_len = 0;
  const guint8 *body;
  guint64     body_size;

  g_return_val_if_fail (data != NULL || size == 0, NULL);

  if ((header = parse_header (data, size, &header_len, error)) == NULL)
    return NULL;
  root = json_node_get_object (header);

  st = g_new0 (NpSafetensors, 1);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  st->names = g_ptr_array_new_with_free_func (g_free);
  st->tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) np_tensor_free);

  body = data + 8 + header_len;
  body_size = size - 8 - header_len;
  spans = g_array_new (FALSE, FALSE, sizeof (Span));
  shapes = g_array_new (FALSE, FALSE, sizeof (gint64) * 4);
  f16 = g_array_new (FALSE, FALSE, sizeof (gboolean));
  members = json_object_get_members (root);
  for (GList *m = members; m; m = m->next)
    {
      JsonNode *node = json_object_get_member (root, m->data);
      Span      span;
      gint64    ne[4];
      gboolean  half;

      if (strcmp (m->data, "__metadata__") == 0)
        {
          if (!parse_metadata (st->metadata, node, error))
            return NULL;
          continue;
        }
      if (!parse_entry (m->data, node, body_size, &span, ne, &half, error))
        return NULL;
      g_array_append_val (spans, span);
      g_array_append_vals (shapes, ne, 1);
      g_array_append_val (f16, half);
    }

  /* No two tensors may share bytes: sorted by start, each must end before
   * the next begins. (Done on a copy: tensors keep the header's order.) */
  {
    g_autoptr(GArray) sorted = g_array_copy (spans);
    g_array_sort (sorted, compare_spans);
    for (guint i = 1; i < sorted->len; i++)
      if (g_array_index (sorted, Span, i).begin < g_array_index (sorted, Span, i - 1).end)
        return fail (error, NP_ERROR_CORRUPT, "tensors “%s” and “%s” overlap",
                     g_array_index (sorted, Span, i - 1).name, g_array_index (sorted, Span, i).name), NULL;
  }

  for (guint i = 0; i < spans->len; i++)
    {
      Span     *span = &g_array_index (spans, Span, i);
      NpTensor *t = read_tensor (body + span->begin, (gint64 *) (shapes->data + i * sizeof (gint64) * 4),
                                 g_array_index (f16, gboolean, i), error);
      if (t == NULL)
        return NULL;
      g_ptr_array_add (st->names, g_strdup (span->name));
      g_ptr_array_add (st->tensors, t);
    }
  return g_steal_pointer (&st);
}

NpSafetensors *
np_safetensors_read (const char *path, GError **error)
{
  g_autoptr(GMappedFile) file = np_file_map (path, error);
  NpSafetensors *st;
  GError        *parse_error = NULL;

  if (file == NULL)
    return NULL;
  st = np_safetensors_parse ((const guint8 *) g_mapped_file_get_contents (file),
                             g_mapped_file_get_length (file), &parse_error);
  if (st == NULL)
    {
      g_autofree gchar *name = g_filename_display_name (path);
      g_set_error (error, NP_ERROR, parse_error->code, "%s: %s", name, parse_error->message);
      g_error_free (parse_error);
    }
  return st;
}

GHashTable *
np_safetensors_read_metadata (const char *path, GError **error)
{
  g_autoptr(GMappedFile) file = np_file_map (path, error);
  g_autoptr(GHashTable)  metadata = NULL;
  g_autoptr(JsonNode)    header = NULL;
  GError                *parse_error = NULL;
  JsonNode              *node;
  guint64                header_len;

  if (file == NULL)
    return NULL;
  /* Mapped, so only the header's pages are read. */
  metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if ((header = parse_header ((const guint8 *) g_mapped_file_get_contents (file), g_mapped_file_get_length (file),
                              &header_len, &parse_error)) != NULL
      && (node = json_object_get_member (json_node_get_object (header), "__metadata__")) != NULL)
    parse_metadata (metadata, node, &parse_error);
  if (parse_error)
    {
      g_autofree gchar *name = g_filename_display_name (path);
      g_set_error (error, NP_ERROR, parse_error->code, "%s: %s", name, parse_error->message);
      g_error_free (parse_error);
      return NULL;
    }
  return g_steal_pointer (&metadata);
}

void
np_safetensors_free (NpSafetensors *st)
{
  if (st == NULL)
    return;
  g_hash_table_unref (st->metadata);
  g_ptr_array_unref (st->names);
  g_ptr_array_unref (st->tensors);
  g_free (st);
}

NpTensor *
np_safetensors_get (NpSafetensors *st, const char *name)
{
  for (guint i = 0; i < st->names->len; i++)
    if (strcmp (st->names->pdata[i], name) == 0)
      return st->tensors->pdata[i];
  return NULL;
}

/* The shape as written: outermost first, dropping the leading 1s that the
 * ne[] representation adds (a bias [64] is ne {64, 1, 1, 1}). */
static JsonNode *
shape_node (const NpTensor *t)
{
  JsonArray *a = json_array_new ();
  int        rank = 4;

  while (rank > 1 && t->ne[rank - 1] == 1)
    rank--;
  for (int i = rank - 1; i >= 0; i--)
    json_array_add_int_element (a, t->ne[i]);
  return json_node_init_array (json_node_alloc (), a);
}

/* Values converted per write while saving. */
#define CHUNK 16384

gboolean
np_safetensors_write (const char *path, GHashTable *metadata,
                      const char *const *names, NpTensor *const *tensors, gint n,
                      NpDType dtype, GError **error)
{
  g_autoptr(JsonBuilder)   builder = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode)      root = NULL;
  g_autoptr(GByteArray)    buf = g_byte_array_new ();
  g_autoptr(NpOutput)      output = NULL;
  g_autofree gchar        *header = NULL;
  gsize    header_len, padded, offset = 0, elsize = dtype == NP_DTYPE_F16 ? 2 : 4;

  json_builder_begin_object (builder);
  if (metadata && g_hash_table_size (metadata))
    {
      g_autoptr(GList) keys = g_list_sort (g_hash_table_get_keys (metadata), (GCompareFunc) strcmp);
      json_builder_set_member_name (builder, "__metadata__");
      json_builder_begin_object (builder);
      for (GList *k = keys; k; k = k->next)
        {
          json_builder_set_member_name (builder, k->data);
          json_builder_add_string_value (builder, g_hash_table_lookup (metadata, k->data));
        }
      json_builder_end_object (builder);
    }
  for (gint i = 0; i < n; i++)
    {
      gsize bytes = np_tensor_n_elements (tensors[i]) * elsize;
      json_builder_set_member_name (builder, names[i]);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "dtype");
      json_builder_add_string_value (builder, dtype == NP_DTYPE_F16 ? "F16" : "F32");
      json_builder_set_member_name (builder, "shape");
      json_builder_add_value (builder, shape_node (tensors[i]));
      json_builder_set_member_name (builder, "data_offsets");
      json_builder_begin_array (builder);
      json_builder_add_int_value (builder, (gint64) offset);
      json_builder_add_int_value (builder, (gint64) (offset + bytes));
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      offset += bytes;
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (gen, root);
  header = json_generator_to_data (gen, &header_len);

  /* Pad with spaces to 8 bytes, as the reference writer does, so the
   * tensors that follow are aligned. */
  padded = (header_len + 7) & ~(gsize) 7;
  g_byte_array_set_size (buf, 8);
  for (int i = 0; i < 8; i++)
    buf->data[i] = (guint8) ((guint64) padded >> (8 * i));
  g_byte_array_append (buf, (guint8 *) header, header_len);
  for (gsize i = header_len; i < padded; i++)
    g_byte_array_append (buf, (const guint8 *) " ", 1);
  if ((output = np_output_new (path, error)) == NULL || !np_output_write (output, buf->data, buf->len, error))
    return FALSE;

  /* The tensors, little-endian, through a buffer of CHUNK values. */
  g_byte_array_set_size (buf, CHUNK * elsize);
  for (gint i = 0; i < n; i++)
    {
      gint64 count = np_tensor_n_elements (tensors[i]);
      for (gint64 j0 = 0; j0 < count; j0 += CHUNK)
        {
          gint64 len = MIN (CHUNK, count - j0);
          for (gint64 j = 0; j < len; j++)
            {
              guint8 *b = buf->data + j * elsize;
              gfloat  f = tensors[i]->data[j0 + j];
              if (dtype == NP_DTYPE_F16)
                {
                  guint16 h = np_f32_to_f16 (f);
                  b[0] = h & 0xff, b[1] = h >> 8;
                }
              else
                {
                  guint32 u;
                  memcpy (&u, &f, 4);
                  b[0] = u & 0xff, b[1] = (u >> 8) & 0xff, b[2] = (u >> 16) & 0xff, b[3] = u >> 24;
                }
            }
          if (!np_output_write (output, buf->data, len * elsize, error))
            return FALSE;
        }
    }
  return np_output_commit (output, error);
}
