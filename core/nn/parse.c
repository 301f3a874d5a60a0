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

/* Keys each kind accepts besides name and from. */
static const char *const kind_keys[NP_LAYER_COUNT] = {
  [NP_LAYER_INPUT] = "c",
  [NP_LAYER_CONV] = "out k s p",
  [NP_LAYER_CONVT] = "out k s p",
  [NP_LAYER_BATCHNORM] = "eps momentum",
  [NP_LAYER_DROPOUT] = "rate",
  [NP_LAYER_LRELU] = "slope",
  [NP_LAYER_RELU] = "",
  [NP_LAYER_TANH] = "",
  [NP_LAYER_SIGMOID] = "",
  [NP_LAYER_CONCAT] = "with",
  [NP_LAYER_UPSAMPLE] = "factor",
  [NP_LAYER_LINEAR] = "out",
};

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

static gboolean
parse_key (NpNet *net, NpLayer *l, const char *key, const char *value, GError **error)
{
  gint64 v = 0, v2 = 0;
  gboolean ok = TRUE;

  if (strcmp (key, "name") == 0)
    {
      if (!g_regex_match_simple ("^[A-Za-z_][A-Za-z0-9_.]*$", value, 0, 0) || find_layer (net, value) >= 0)
        ok = FALSE;
      else
        {
          g_free (l->name);
          l->name = g_strdup (value);
        }
    }
  else if (strcmp (key, "from") == 0 || strcmp (key, "with") == 0)
    {
      gint i = find_layer (net, value);
      ok = i >= 0;
      l->inputs[strcmp (key, "from") == 0 ? 0 : 1] = i;
    }
  else if (strcmp (key, "c") == 0 || strcmp (key, "out") == 0)
    ok = parse_int (value, 1, 65536, &l->p.channels);
  else if (strcmp (key, "k") == 0)
    ok = parse_int (value, 1, 64, &v), l->p.geom.k = (gint) v;
  else if (strcmp (key, "s") == 0)
    ok = parse_int (value, 1, 64, &v), l->p.geom.s = (gint) v;
  else if (strcmp (key, "p") == 0)
    {
      /* "p=1" pads both sides; "p=1:2" pads 1 before and 2 after (Keras's
       * 'same' with an even kernel and stride 1). */
      g_auto(GStrv) parts = g_strsplit (value, ":", 3);
      ok = parts[0] && g_strv_length (parts) <= 2 && parse_int (parts[0], 0, 64, &v)
        && parse_int (parts[1] ? parts[1] : parts[0], 0, 64, &v2);
      l->p.geom.pad0 = (gint) v, l->p.geom.pad1 = ok ? (gint) v2 : 0;
    }
  else if (strcmp (key, "eps") == 0)
    ok = parse_float (value, 1e-12, 1.0, &l->p.eps);
  else if (strcmp (key, "momentum") == 0)
    ok = parse_float (value, 0.0, 1.0, &l->p.momentum);
  else if (strcmp (key, "rate") == 0)
    ok = parse_float (value, 0.0, 0.999, &l->p.rate);
  else if (strcmp (key, "slope") == 0)
    ok = parse_float (value, -1e3, 1e3, &l->p.slope);
  else if (strcmp (key, "factor") == 0)
    ok = parse_int (value, 1, 16, &v), l->p.factor = (gint) v;

  if (!ok)
    g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "bad value “%s” for %s", value, key);
  return ok;
}

static NpLayer *
parse_line (NpNet *net, const char *line, GError **error)
{
  g_auto(GStrv) words = g_strsplit_set (line, " \t", -1);
  g_autoptr(GPtrArray) tokens = g_ptr_array_new ();
  NpLayer *l;
  gint     kind;

  for (int i = 0; words[i]; i++)
    if (*words[i])
      g_ptr_array_add (tokens, words[i]);

  for (kind = 0; kind < NP_LAYER_COUNT; kind++)
    if (strcmp (tokens->pdata[0], np_layer_kind_name (kind)) == 0)
      break;
  if (kind == NP_LAYER_COUNT)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "unknown layer kind “%s”", (char *) tokens->pdata[0]);
      return NULL;
    }

  l = g_new0 (NpLayer, 1);
  l->klass = np_layer_classes[kind];
  l->inputs[0] = (gint) net->layers->len - 1;
  l->inputs[1] = -1;
  l->n_inputs = kind == NP_LAYER_INPUT ? 0 : kind == NP_LAYER_CONCAT ? 2 : 1;
  /* Defaults: PyTorch's, so a description only states what differs. */
  l->p.geom = (NpConvGeom) { 0, 1, 0, 0 };
  l->p.eps = 1e-5f;
  l->p.momentum = 0.1f;
  l->p.slope = 0.01f;
  l->p.rate = 0.5f;
  l->p.factor = 2;

  for (guint i = 1; i < tokens->len; i++)
    {
      g_auto(GStrv) kv = g_strsplit (tokens->pdata[i], "=", 2);
      g_auto(GStrv) allowed = g_strsplit (kind_keys[kind], " ", -1);

      if (kv[1] == NULL
          || (strcmp (kv[0], "name") && strcmp (kv[0], "from") && !g_strv_contains ((const gchar *const *) allowed, kv[0])))
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s takes no “%s”",
                       np_layer_kind_name (kind), (char *) tokens->pdata[i]);
          discard (l);
          return NULL;
        }
      if (!parse_key (net, l, kv[0], kv[1], error))
        {
          discard (l);
          return NULL;
        }
    }

  if ((kind == NP_LAYER_CONV || kind == NP_LAYER_CONVT) && l->p.geom.k == 0)
    g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s needs k=", np_layer_kind_name (kind));
  else if ((kind == NP_LAYER_CONV || kind == NP_LAYER_CONVT || kind == NP_LAYER_LINEAR
            || kind == NP_LAYER_INPUT) && l->p.channels == 0)
    g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s needs %s=", np_layer_kind_name (kind),
                 kind == NP_LAYER_INPUT ? "c" : "out");
  else if (l->klass->param_names[0] && l->name == NULL)
    g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s has parameters and needs name=",
                 np_layer_kind_name (kind));
  else if ((l->n_inputs >= 1 && l->inputs[0] < 0) || (l->n_inputs == 2 && l->inputs[1] < 0))
    g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s has no input (%s)", np_layer_kind_name (kind),
                 kind == NP_LAYER_CONCAT ? "concat needs with=" : "nothing before it");
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
      if (l->klass->kind == NP_LAYER_INPUT && seen++ == which)
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
