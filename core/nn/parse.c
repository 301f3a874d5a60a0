/* neuropaint — network descriptions: one layer a line, `kind key=value…`.
 *
 *     input name=src c=3
 *     conv  name=e1 out=64 k=4 s=2 p=1     # parameters e1.weight, e1.bias
 *     lrelu slope=0.2
 *     concat with=src
 *
 * Each layer reads the previous line's output unless `from=NAME` says
 * otherwise. Descriptions come from model files, so every value is checked
 * against its range and every failure names the line.
 *
 * The questions about the inputs a description declares are answered here
 * too, so net.c, plan.c and backward.c ask this file and it asks none of
 * them back. */
#include "np-nn-private.h"

#include <string.h>

#define MAX_LAYERS 4096
#define MAX_DESCRIPTION (1 << 20)

static gboolean
parse_int (const char *value, gint64 lo, gint64 hi, gint64 *out)
{
  gchar *end;
  gint64 v = g_ascii_strtoll (value, &end, 10);

  if (end == value || *end != '\0' || v < lo || v > hi)
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
parse_float (const char *value, double lo, double hi, gfloat *out)
{
  gchar *end;
  double v = g_ascii_strtod (value, &end);

  if (end == value || *end != '\0' || !(v >= lo && v <= hi))
    return FALSE;
  *out = (gfloat) v;
  return TRUE;
}

static gint
find_layer (NpNet *net, const char *name)
{
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      if (g_strcmp0 (l->name, name) == 0)
        return (gint) i;
    }
  return -1;
}

static void
discard (NpLayer *l)
{
  g_free (l->name);
  g_free (l);
}

/* name= and from=, which every kind takes. */
static gboolean
parse_common_key (NpNet *net, NpLayer *l, const char *key, const char *value)
{
  gint i;

  if (strcmp (key, "from") == 0)
    {
      i = find_layer (net, value);
      l->inputs[0] = i;
      return i >= 0;
    }
  if (!g_regex_match_simple ("^[A-Za-z_][A-Za-z0-9_.]*$", value, 0, 0) || find_layer (net, value) >= 0)
    return FALSE;
  g_free (l->name);
  l->name = g_strdup (value);
  return TRUE;
}

/* An integer into a gint or gint64 field. */
static void
store_int (guint8 *field, gsize size, gint64 v)
{
  if (size == sizeof (gint64))
    memcpy (field, &v, sizeof v);
  else
    memcpy (field, &(gint) { (gint) v }, sizeof (gint));
}

/* A value of one of the kind's keys, into its field. */
static gboolean
parse_value (NpNet *net, NpLayer *l, const NpLayerKey *key, const char *value)
{
  guint8 *field = (guint8 *) &l->p + key->offset;
  gint64  v = 0, v2 = 0;
  gfloat  f;

  switch (key->type)
    {
    case NP_KEY_INT:
      if (!parse_int (value, (gint64) key->lo, (gint64) key->hi, &v))
        return FALSE;
      store_int (field, key->size, v);
      return TRUE;
    case NP_KEY_FLOAT:
      if (!parse_float (value, key->lo, key->hi, &f))
        return FALSE;
      memcpy (field, &f, sizeof f);
      return TRUE;
    case NP_KEY_PADDING:
      {
        g_auto(GStrv) parts = g_strsplit (value, ":", 3);
        NpConvGeom   *g = (NpConvGeom *) field;

        if (!(parts[0] && g_strv_length (parts) <= 2 && parse_int (parts[0], (gint64) key->lo, (gint64) key->hi, &v)
              && parse_int (parts[1] ? parts[1] : parts[0], (gint64) key->lo, (gint64) key->hi, &v2)))
          return FALSE;
        g->pad0 = (gint) v, g->pad1 = (gint) v2;
        return TRUE;
      }
    case NP_KEY_INPUT:
      l->inputs[1] = find_layer (net, value);
      return l->inputs[1] >= 0;
    }
  g_assert_not_reached ();
}

/* Its default into each field the kind has a key for. */
static void
set_defaults (NpLayer *l)
{
  for (const NpLayerKey *key = l->klass->keys; key && key->name; key++)
    {
      guint8 *field = (guint8 *) &l->p + key->offset;

      if (key->type == NP_KEY_INT)
        store_int (field, key->size, (gint64) key->value);
      else if (key->type == NP_KEY_FLOAT)
        memcpy (field, &(gfloat) { (gfloat) key->value }, sizeof (gfloat));
    }
}

static NpLayer *
parse_line (NpNet *net, const char *line, GError **error)
{
  g_auto(GStrv) words = g_strsplit_set (line, " \t", -1);
  g_autoptr(GPtrArray) tokens = g_ptr_array_new ();
  const NpLayerClass *klass = NULL;
  const NpLayerKey   *key;
  guint64  given = 0;   /* bit i: klass->keys[i] was on the line */
  NpLayer *l;

  for (int i = 0; words[i]; i++)
    if (*words[i])
      g_ptr_array_add (tokens, words[i]);

  for (gint kind = 0; kind < NP_LAYER_COUNT && klass == NULL; kind++)
    if (strcmp (tokens->pdata[0], np_layer_classes[kind]->name) == 0)
      klass = np_layer_classes[kind];
  if (klass == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "unknown layer kind “%s”", (char *) tokens->pdata[0]);
      return NULL;
    }

  l = g_new0 (NpLayer, 1);
  l->klass = klass;
  l->inputs[0] = (gint) net->layers->len - 1;
  l->inputs[1] = -1;
  l->n_inputs = klass->n_inputs;
  set_defaults (l);

  for (guint i = 1; i < tokens->len; i++)
    {
      g_auto(GStrv) kv = g_strsplit (tokens->pdata[i], "=", 2);
      gboolean      common = strcmp (kv[0], "name") == 0 || strcmp (kv[0], "from") == 0;

      for (key = klass->keys; key && key->name && strcmp (key->name, kv[0]); key++)
        ;
      if (kv[1] == NULL || (!common && (key == NULL || key->name == NULL)))
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s takes no “%s”", klass->name, (char *) tokens->pdata[i]);
          discard (l);
          return NULL;
        }
      if (!(common ? parse_common_key (net, l, kv[0], kv[1]) : parse_value (net, l, key, kv[1])))
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "bad value “%s” for %s", kv[1], kv[0]);
          discard (l);
          return NULL;
        }
      if (!common)
        given |= G_GUINT64_CONSTANT (1) << (key - klass->keys);
    }

  for (key = klass->keys; key && key->name; key++)
    if (key->required && !(given & G_GUINT64_CONSTANT (1) << (key - klass->keys)))
      {
        g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s needs %s=", klass->name, key->name);
        discard (l);
        return NULL;
      }
  if (klass->param_names[0] && l->name == NULL)
    g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s has parameters and needs name=", klass->name);
  else if (l->n_inputs >= 1 && l->inputs[0] < 0)
    g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s has no input (nothing before it)", klass->name);
  else
    return l;
  discard (l);
  return NULL;
}

/* ---- The description's inputs ----------------------------------------- */

NpLayer *
np_net_input_layer (const NpNet *net, gint which)
{
  gint seen = 0;

  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      if (np_layer_is_input (l) && seen++ == which)
        return l;
    }
  return NULL;
}

gint
np_net_n_inputs (const NpNet *net)
{
  gint n = 0;
  while (np_net_input_layer (net, n))
    n++;
  return n;
}

const char *
np_net_input_name (const NpNet *net, gint i)
{
  NpLayer *l = np_net_input_layer (net, i);
  g_return_val_if_fail (l != NULL, NULL);
  return l->name;
}

gint64
np_net_input_channels (const NpNet *net, gint i)
{
  NpLayer *l = np_net_input_layer (net, i);
  g_return_val_if_fail (l != NULL, 0);
  return l->p.channels;
}

/* ---- Parsing -------------------------------------------------------------- */

gboolean
np_net_parse (NpNet *net, const char *description, GError **error)
{
  g_auto(GStrv) lines = NULL;

  if (strlen (description) > MAX_DESCRIPTION)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "network description longer than %d bytes",
                   MAX_DESCRIPTION);
      return FALSE;
    }

  lines = g_strsplit (description, "\n", -1);
  for (int i = 0; lines[i]; i++)
    {
      g_autoptr(GError) line_error = NULL;
      gchar   *hash = strchr (lines[i], '#');
      NpLayer *l;

      if (hash)
        *hash = '\0';
      g_strstrip (lines[i]);
      if (*lines[i] == '\0')
        continue;
      if (net->layers->len == MAX_LAYERS)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "more than %d layers", MAX_LAYERS);
          return FALSE;
        }
      l = parse_line (net, lines[i], &line_error);
      if (l == NULL)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "network description, line %d: %s",
                       i + 1, line_error->message);
          return FALSE;
        }
      g_ptr_array_add (net->layers, l);
    }
  if (net->layers->len == 0 || np_net_n_inputs (net) == 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "network description has no input layer");
      return FALSE;
    }
  return TRUE;
}
