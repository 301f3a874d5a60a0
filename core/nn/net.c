/* neuropaint — a network: layers parsed from a description, run in order.
 *
 * The description is the only model definition: the loops below never look
 * at a layer's kind, they call its class. Activations are planned once per
 * input shape; pointwise layers whose input feeds nobody else run in place,
 * and the workspace is one block per thread sized by the hungriest layer. */
#include "np-nn-private.h"

#include <math.h>
#include <string.h>

#define MAX_LAYERS 4096
#define MAX_DESCRIPTION (1 << 20)

struct _NpNet
{
  gchar      *description;
  GPtrArray  *layers;          /* NpLayer* */
  gint64     *channels;        /* output channels per layer */
  gint       *n_consumers;     /* how many layers read each layer's output */
  GHashTable *metadata;
  NpBnMode    bn_mode;
  gboolean    training;

  /* The plan for the last input shape. */
  gint64      plan_ne[NP_LAYER_MAX_INPUTS * 4];
  gint        plan_inputs;
  NpTensor  **outputs;         /* per layer; aliases where in place */
  gboolean   *owns_output;
  NpTensor  **d_outputs;       /* gradients, per layer (training) */
  gfloat    **workspace;
  gsize       workspace_size;
  gint        workspace_threads;
};

/* ---- Parsing ------------------------------------------------------------ */

/* Keys each kind accepts besides name and from. */
static const char *const kind_keys[NP_LAYER_COUNT] = {
  [NP_LAYER_INPUT] = "c",
  [NP_LAYER_CONV] = "out k s p",
  [NP_LAYER_CONVT] = "out k s p",
  [NP_LAYER_BATCHNORM] = "eps",
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
layer_free (gpointer data)
{
  NpLayer *layer = data;

  for (int i = 0; i < layer->n_params; i++)
    {
      np_tensor_free (layer->params[i]);
      np_tensor_free (layer->grads[i]);
    }
  g_free (layer->name);
  g_free (layer);
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
          layer_free (l);
          return NULL;
        }
      if (!parse_key (net, l, kv[0], kv[1], error))
        {
          layer_free (l);
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
  layer_free (l);
  return NULL;
}

/* Channel counts and parameter tensors, now that every layer is known. */
static gboolean
build_params (NpNet *net, GError **error)
{
  net->channels = g_new0 (gint64, net->layers->len);
  net->n_consumers = g_new0 (gint, net->layers->len);

  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      gint64   in_ch[NP_LAYER_MAX_INPUTS] = { 0 };
      gint64   shapes[NP_LAYER_MAX_PARAMS][4] = { { 0 } };

      for (int j = 0; j < l->n_inputs; j++)
        {
          in_ch[j] = net->channels[l->inputs[j]];
          net->n_consumers[l->inputs[j]]++;
        }
      net->channels[i] = l->klass->out_channels (l, in_ch);
      if (net->channels[i] > 65536)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "layer %u has %" G_GINT64_FORMAT " channels",
                       i + 1, net->channels[i]);
          return FALSE;
        }
      l->klass->param_shapes (l, in_ch[0], shapes);
      for (int j = 0; j < NP_LAYER_MAX_PARAMS && l->klass->param_names[j]; j++)
        {
          l->params[j] = np_tensor_new (shapes[j][0], shapes[j][1], shapes[j][2], shapes[j][3], error);
          if (l->params[j] == NULL)
            return FALSE;
          l->n_params = j + 1;
        }
    }
  return TRUE;
}

NpNet *
np_net_new (const char *description, GError **error)
{
  g_autoptr(NpNet) net = NULL;
  g_auto(GStrv) lines = NULL;

  g_return_val_if_fail (description != NULL, NULL);

  if (strlen (description) > MAX_DESCRIPTION)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "network description longer than %d bytes",
                   MAX_DESCRIPTION);
      return NULL;
    }

  net = g_new0 (NpNet, 1);
  net->description = g_strdup (description);
  net->layers = g_ptr_array_new_with_free_func (layer_free);
  net->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  net->bn_mode = NP_BN_RUNNING;

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
          return NULL;
        }
      l = parse_line (net, lines[i], &line_error);
      if (l == NULL)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "network description, line %d: %s",
                       i + 1, line_error->message);
          return NULL;
        }
      g_ptr_array_add (net->layers, l);
    }
  if (net->layers->len == 0 || np_net_n_inputs (net) == 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "network description has no input layer");
      return NULL;
    }
  if (!build_params (net, error))
    return NULL;
  return g_steal_pointer (&net);
}

static void
free_plan (NpNet *net)
{
  if (net->outputs)
    {
      for (guint i = 0; i < net->layers->len; i++)
        {
          if (net->owns_output[i])
            np_tensor_free (net->outputs[i]);
          else
            g_free (net->outputs[i]);
        }
    }
  if (net->d_outputs)
    for (guint i = 0; i < net->layers->len; i++)
      np_tensor_free (net->d_outputs[i]);
  g_clear_pointer (&net->d_outputs, g_free);
  g_clear_pointer (&net->outputs, g_free);
  g_clear_pointer (&net->owns_output, g_free);
  net->plan_inputs = 0;
}

static void
free_workspace (NpNet *net)
{
  for (gint t = 0; t < net->workspace_threads; t++)
    g_free (net->workspace[t]);
  g_clear_pointer (&net->workspace, g_free);
  net->workspace_threads = 0;
  net->workspace_size = 0;
}

void
np_net_free (NpNet *net)
{
  if (net == NULL)
    return;
  free_plan (net);
  free_workspace (net);
  g_ptr_array_unref (net->layers);
  g_free (net->channels);
  g_free (net->n_consumers);
  g_hash_table_unref (net->metadata);
  g_free (net->description);
  g_free (net);
}

/* ---- Queries ------------------------------------------------------------ */

const char *
np_net_description (const NpNet *net)
{
  return net->description;
}

gint
np_net_n_layers (const NpNet *net)
{
  return (gint) net->layers->len;
}

NpLayer *
np_net_layer (NpNet *net, gint index)
{
  g_return_val_if_fail (index >= 0 && index < (gint) net->layers->len, NULL);
  return g_ptr_array_index (net->layers, index);
}

static NpLayer *
input_layer (const NpNet *net, gint which, gint *index)
{
  gint seen = 0;

  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      if (l->klass->kind == NP_LAYER_INPUT && seen++ == which)
        {
          if (index)
            *index = (gint) i;
          return l;
        }
    }
  return NULL;
}

gint
np_net_n_inputs (const NpNet *net)
{
  gint n = 0;
  while (input_layer (net, n, NULL))
    n++;
  return n;
}

gint64
np_net_input_channels (const NpNet *net, gint i)
{
  NpLayer *l = input_layer (net, i, NULL);
  g_return_val_if_fail (l != NULL, 0);
  return l->p.channels;
}

gint64
np_net_output_channels (const NpNet *net)
{
  return net->channels[net->layers->len - 1];
}

gint
np_net_size_multiple (const NpNet *net)
{
  /* The downsampling factor reaching each layer; inputs must divide by the
   * largest so every strided layer sees an even size. */
  g_autofree double *scale = g_new (double, net->layers->len);
  double most = 1;

  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      double   in = l->n_inputs ? scale[l->inputs[0]] : 1;
      switch (l->klass->kind)
        {
        case NP_LAYER_CONV:     scale[i] = in * l->p.geom.s; break;
        case NP_LAYER_CONVT:    scale[i] = in / l->p.geom.s; break;
        case NP_LAYER_UPSAMPLE: scale[i] = in / l->p.factor; break;
        default:                scale[i] = in; break;
        }
      most = MAX (most, scale[i]);
    }
  return (gint) MIN (most, 1 << 20);
}

gint64
np_net_n_parameters (const NpNet *net, gboolean with_buffers)
{
  gint64 total = 0;

  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      for (int j = 0; j < l->n_params; j++)
        if (with_buffers || !g_str_has_prefix (l->klass->param_names[j], "running_"))
          total += np_tensor_n_elements (l->params[j]);
    }
  return total;
}

NpTensor *
np_net_param (NpNet *net, const char *name)
{
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      gsize    len = l->name ? strlen (l->name) : 0;
      if (len == 0 || strncmp (name, l->name, len) != 0 || name[len] != '.')
        continue;
      for (int j = 0; j < l->n_params; j++)
        if (strcmp (name + len + 1, l->klass->param_names[j]) == 0)
          return l->params[j];
    }
  return NULL;
}

void
np_net_foreach_param (NpNet *net,
                      void (*func) (const char *name, NpTensor *t, gpointer data),
                      gpointer data)
{
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      for (int j = 0; j < l->n_params; j++)
        {
          g_autofree gchar *name = g_strdup_printf ("%s.%s", l->name, l->klass->param_names[j]);
          func (name, l->params[j], data);
        }
    }
}

void
np_net_init_random (NpNet *net, guint64 seed, gfloat std)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) (seed ^ (seed >> 32)));

  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      for (int j = 0; j < l->n_params; j++)
        {
          const char *what = l->klass->param_names[j];
          NpTensor   *t = l->params[j];
          gint64      n = np_tensor_n_elements (t);
          gboolean    bn = l->klass->kind == NP_LAYER_BATCHNORM;

          for (gint64 k = 0; k < n; k++)
            {
              if (strcmp (what, "weight") == 0 && !bn)
                {
                  /* Box–Muller: GRand has no normal deviates. */
                  double u = 1.0 - g_rand_double (rand), v = g_rand_double (rand);
                  t->data[k] = (gfloat) (std * sqrt (-2.0 * log (u)) * cos (2 * G_PI * v));
                }
              else
                t->data[k] = (bn && (strcmp (what, "weight") == 0 || strcmp (what, "running_var") == 0))
                             ? 1.0f : 0.0f;
            }
        }
    }
}

void
np_net_set_training (NpNet *net, gboolean training)
{
  if (net->training != !!training)
    free_plan (net);
  net->training = !!training;
}

void
np_net_set_bn_mode (NpNet *net, NpBnMode mode)
{
  net->bn_mode = mode;
}

NpBnMode
np_net_get_bn_mode (const NpNet *net)
{
  return net->bn_mode;
}

GHashTable *
np_net_metadata (NpNet *net)
{
  return net->metadata;
}

/* ---- Planning and running ------------------------------------------------ */

/* Output shapes of every layer for these inputs (data pointers unset). */
static gboolean
plan_shapes (NpNet *net, const NpTensor *const *inputs, gint n_inputs,
             NpTensor *shapes, GError **error)
{
  gint next_input = 0;

  if (n_inputs != np_net_n_inputs (net))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "the network takes %d inputs, not %d",
                   np_net_n_inputs (net), n_inputs);
      return FALSE;
    }
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer        *l = g_ptr_array_index (net->layers, i);
      const NpTensor *in[NP_LAYER_MAX_INPUTS];
      gint64          ne[4];

      if (l->klass->kind == NP_LAYER_INPUT)
        {
          const NpTensor *x = inputs[next_input++];
          if (x->ne[2] != l->p.channels || (next_input > 1 && x->ne[3] != inputs[0]->ne[3]))
            {
              g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                           "input %d has %" G_GINT64_FORMAT " channels; the network wants %" G_GINT64_FORMAT,
                           next_input, x->ne[2], l->p.channels);
              return FALSE;
            }
          memcpy (ne, x->ne, sizeof ne);
        }
      else
        {
          for (int j = 0; j < l->n_inputs; j++)
            in[j] = &shapes[l->inputs[j]];
          if (!l->klass->shape (l, in, ne, error))
            return FALSE;
        }
      if (ne[0] > NP_TENSOR_MAX_ELEMENTS / ne[1] || ne[0] * ne[1] > NP_TENSOR_MAX_ELEMENTS / ne[2]
          || ne[0] * ne[1] * ne[2] > NP_TENSOR_MAX_ELEMENTS / ne[3])
        {
          g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "input too large for this network");
          return FALSE;
        }
      shapes[i] = np_tensor_view (NULL, ne[0], ne[1], ne[2], ne[3]);
    }
  return TRUE;
}

/* Lets the producers of a concatenation's inputs write straight into its
 * output, so the concatenation copies nothing (the U-Net's decoder output and
 * its encoder skip both land in place). root[i] is the layer owning the
 * memory layer i writes (itself, or the producer it runs in place on). A
 * root moves into a concatenation only if all layers on its memory run
 * before it and nobody reads them after it, since layers running in place
 * on the concatenation (its ReLU) overwrite them. Later concatenations go
 * first, so one nested in another still finds its final address. */
static void
place_concat_inputs (NpNet *net, const gint *root)
{
  guint n = net->layers->len;

  for (gint c = (gint) n - 1; c >= 0; c--)
    {
      NpLayer  *cat = g_ptr_array_index (net->layers, c);
      NpTensor *out = net->outputs[c];
      gint64    offset = 0;

      if (cat->klass->kind != NP_LAYER_CONCAT || root[c] != c)
        continue;
      for (gint j = 0; j < 2; j++)
        {
          gint     r = root[cat->inputs[j]];
          gboolean ok = r >= 0 && net->owns_output[r];
          NpTensor view;

          for (guint k = 0; k < n && ok; k++)
            {
              NpLayer *l = g_ptr_array_index (net->layers, k);
              if (root[k] == r && (gint) k > c)
                ok = FALSE;
              for (gint m = 0; m < l->n_inputs && ok; m++)
                if (root[l->inputs[m]] == r && (gint) k > c)
                  ok = FALSE;
            }
          if (ok)
            {
              view = *net->outputs[r];
              view.data = np_tensor_at (out, 0, 0, offset, 0);
              view.nb[3] = out->nb[3];
              view.owns_data = FALSE;
              np_tensor_free (net->outputs[r]);
              net->outputs[r] = g_new (NpTensor, 1);
              net->owns_output[r] = FALSE;
              for (guint k = 0; k < n; k++)
                if (root[k] == r)
                  *net->outputs[k] = view;
            }
          offset += net->outputs[cat->inputs[j]]->ne[2];
        }
    }
}

static gboolean
plan (NpNet *net, const NpTensor *const *inputs, gint n_inputs, gint n_threads, GError **error)
{
  g_autofree NpTensor *shapes = g_new0 (NpTensor, net->layers->len);
  g_autofree gint *root = NULL;
  gint64 key[NP_LAYER_MAX_INPUTS * 4] = { 0 };
  gsize  need = 0;

  for (gint i = 0; i < MIN (n_inputs, NP_LAYER_MAX_INPUTS); i++)
    memcpy (key + 4 * i, inputs[i]->ne, sizeof inputs[i]->ne);

  if (net->outputs == NULL || net->plan_inputs != n_inputs || memcmp (key, net->plan_ne, sizeof key))
    {
      free_plan (net);
      if (!plan_shapes (net, inputs, n_inputs, shapes, error))
        return FALSE;
      net->outputs = g_new0 (NpTensor *, net->layers->len);
      net->owns_output = g_new0 (gboolean, net->layers->len);
      root = g_new (gint, net->layers->len);
      for (guint i = 0; i < net->layers->len; i++)
        {
          NpLayer *l = g_ptr_array_index (net->layers, i);
          gint     src = l->n_inputs ? l->inputs[0] : -1;

          root[i] = (gint) i;
          if (l->klass->kind == NP_LAYER_INPUT)
            {
              net->outputs[i] = g_new0 (NpTensor, 1);   /* set to the caller's tensor */
              root[i] = -1;
            }
          else if (!net->training && l->klass->in_place && net->n_consumers[src] == 1 && root[src] >= 0)
            {
              net->outputs[i] = g_new (NpTensor, 1);
              *net->outputs[i] = *net->outputs[src];
              root[i] = root[src];
            }
          else
            {
              net->outputs[i] = np_tensor_new (shapes[i].ne[0], shapes[i].ne[1], shapes[i].ne[2],
                                               shapes[i].ne[3], error);
              if (net->outputs[i] == NULL)
                {
                  free_plan (net);
                  return FALSE;
                }
              net->owns_output[i] = TRUE;
            }
        }
      if (!net->training)
        place_concat_inputs (net, root);
      memcpy (net->plan_ne, key, sizeof key);
      net->plan_inputs = n_inputs;
    }

  /* The input layers' outputs are the caller's tensors, for this call. */
  for (guint i = 0, next = 0; i < net->layers->len; i++)
    if (((NpLayer *) g_ptr_array_index (net->layers, i))->klass->kind == NP_LAYER_INPUT)
      *net->outputs[i] = *inputs[next++];

  /* Workspace: the largest any layer asks for, one block per thread. */
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer        *l = g_ptr_array_index (net->layers, i);
      const NpTensor *in[NP_LAYER_MAX_INPUTS];
      for (int j = 0; j < l->n_inputs; j++)
        in[j] = net->outputs[l->inputs[j]];
      if (l->klass->workspace)
        need = MAX (need, l->klass->workspace (l, in, net->outputs[i], n_threads));
    }
  if (need > net->workspace_size || n_threads != net->workspace_threads)
    {
      free_workspace (net);
      net->workspace = g_new0 (gfloat *, n_threads);
      for (gint t = 0; t < n_threads; t++)
        if ((net->workspace[t] = g_try_malloc (MAX (need, 1) * sizeof (gfloat))) == NULL)
          {
            net->workspace_threads = t;
            free_workspace (net);
            g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "out of memory for the workspace");
            return FALSE;
          }
      net->workspace_threads = n_threads;
      net->workspace_size = need;
    }
  return TRUE;
}

/* Which pointwise layers each convolution applies itself: those that follow
 * it in place as the only reader of the previous one's output, so nobody can
 * see the output before they ran. Batch norm folds in only on running
 * statistics (batch statistics need the whole output first). */
static void
plan_fusion (NpNet *net)
{
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      l->n_fused = 0;
      l->is_fused = FALSE;
    }
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      guint    last = i;

      if (!l->klass->fuses_pointwise || net->training)
        continue;
      for (guint j = i + 1; j < net->layers->len && l->n_fused < NP_LAYER_MAX_FUSED; j++)
        {
          NpLayer *f = g_ptr_array_index (net->layers, j);
          NpLayerKind kind = f->klass->kind;

          if (f->n_inputs != 1 || f->inputs[0] != (gint) last || net->n_consumers[last] != 1
              || !f->klass->in_place || net->outputs[j]->data != net->outputs[last]->data
              || (kind == NP_LAYER_BATCHNORM && net->bn_mode != NP_BN_RUNNING))
            break;
          l->fused[l->n_fused++] = f;
          f->is_fused = TRUE;
          last = j;
        }
    }
}

const NpTensor *
np_net_forward (NpNet *net, const NpTensor *const *inputs, gint n_inputs,
                gint n_threads, GError **error)
{
  NpCompute compute;

  g_return_val_if_fail (net != NULL && inputs != NULL, NULL);

  n_threads = CLAMP (n_threads, 1, 256);
  if (!plan (net, inputs, n_inputs, n_threads, error))
    return NULL;
  compute = (NpCompute) { n_threads, net->workspace, net->bn_mode };
  plan_fusion (net);

  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer        *l = g_ptr_array_index (net->layers, i);
      const NpTensor *in[NP_LAYER_MAX_INPUTS];

      if (l->klass->kind == NP_LAYER_INPUT || l->is_fused)
        continue;
      for (int j = 0; j < l->n_inputs; j++)
        in[j] = net->outputs[l->inputs[j]];
      l->klass->forward (l, in, net->outputs[i], &compute);
    }
  return net->outputs[net->layers->len - 1];
}

double
np_net_flops (NpNet *net, gint64 width, gint64 height, gint64 batch)
{
  g_autofree NpTensor *shapes = g_new0 (NpTensor, net->layers->len);
  g_autofree NpTensor *inputs = g_new0 (NpTensor, np_net_n_inputs (net));
  g_autofree const NpTensor **in_ptrs = g_new0 (const NpTensor *, np_net_n_inputs (net));
  double flops = 0;

  for (gint i = 0; i < np_net_n_inputs (net); i++)
    {
      inputs[i] = np_tensor_view (NULL, width, height, np_net_input_channels (net, i), batch);
      in_ptrs[i] = &inputs[i];
    }
  if (!plan_shapes (net, in_ptrs, np_net_n_inputs (net), shapes, NULL))
    return 0;
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      /* Every weight meets every pixel of the side the kernel slides over. */
      if (l->klass->kind == NP_LAYER_CONV || l->klass->kind == NP_LAYER_LINEAR)
        flops += 2.0 * np_tensor_n_elements (l->params[0]) * shapes[i].ne[0] * shapes[i].ne[1] * shapes[i].ne[3];
      else if (l->klass->kind == NP_LAYER_CONVT)
        flops += 2.0 * np_tensor_n_elements (l->params[0]) * shapes[l->inputs[0]].ne[0]
                 * shapes[l->inputs[0]].ne[1] * shapes[i].ne[3];
    }
  return flops;
}

/* ---- Training ------------------------------------------------------------- */

gboolean
np_net_backward (NpNet *net, const NpTensor *d_output, gint n_threads, GError **error)
{
  guint     last = net->layers->len - 1;
  NpCompute compute;

  g_return_val_if_fail (net != NULL && d_output != NULL, FALSE);

  if (!net->training || net->outputs == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "backward needs a forward in training mode first");
      return FALSE;
    }
  if (!np_tensor_same_shape (d_output, net->outputs[last]))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "the gradient is not shaped as the output");
      return FALSE;
    }
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      if (l->klass->kind != NP_LAYER_INPUT && l->klass->backward == NULL)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED, "no backward for %s layers",
                       np_layer_kind_name (l->klass->kind));
          return FALSE;
        }
    }

  /* Gradients of every output (zeroed: layers add into them) and of every
   * trainable parameter (batch-norm statistics are not trained). */
  if (net->d_outputs == NULL)
    {
      net->d_outputs = g_new0 (NpTensor *, net->layers->len);
      for (guint i = 0; i < net->layers->len; i++)
        {
          const NpTensor *o = net->outputs[i];
          if ((net->d_outputs[i] = np_tensor_new (o->ne[0], o->ne[1], o->ne[2], o->ne[3], error)) == NULL)
            return FALSE;
        }
    }
  else
    for (guint i = 0; i < net->layers->len; i++)
      memset (net->d_outputs[i]->data, 0, np_tensor_n_elements (net->d_outputs[i]) * sizeof (gfloat));
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      for (gint j = 0; j < l->n_params; j++)
        {
          const NpTensor *p = l->params[j];
          if (g_str_has_prefix (l->klass->param_names[j], "running_"))
            continue;
          if (l->grads[j] == NULL)
            l->grads[j] = np_tensor_new (p->ne[0], p->ne[1], p->ne[2], p->ne[3], error);
          if (l->grads[j] == NULL)
            return FALSE;
          memset (l->grads[j]->data, 0, np_tensor_n_elements (p) * sizeof (gfloat));
        }
    }
  memcpy (net->d_outputs[last]->data, d_output->data, np_tensor_n_elements (d_output) * sizeof (gfloat));

  compute = (NpCompute) { CLAMP (n_threads, 1, 256), net->workspace, net->bn_mode };
  for (gint i = (gint) last; i >= 0; i--)
    {
      NpLayer        *l = g_ptr_array_index (net->layers, i);
      const NpTensor *in[NP_LAYER_MAX_INPUTS];
      NpTensor       *d_in[NP_LAYER_MAX_INPUTS];

      if (l->klass->kind == NP_LAYER_INPUT)
        continue;
      for (int j = 0; j < l->n_inputs; j++)
        {
          in[j] = net->outputs[l->inputs[j]];
          d_in[j] = net->d_outputs[l->inputs[j]];
        }
      l->klass->backward (l, in, net->outputs[i], net->d_outputs[i], d_in, &compute);
    }
  return TRUE;
}

NpTensor *
np_net_grad (NpNet *net, const char *name)
{
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      for (int j = 0; j < l->n_params; j++)
        if (l->params[j] == np_net_param (net, name))
          return l->grads[j];
    }
  return NULL;
}

const NpTensor *
np_net_input_grad (NpNet *net, gint i)
{
  gint index;

  g_return_val_if_fail (net->d_outputs != NULL, NULL);
  g_return_val_if_fail (input_layer (net, i, &index) != NULL, NULL);
  return net->d_outputs[index];
}

void
np_net_update (NpNet *net, gfloat learning_rate)
{
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      if (l->klass->update)
        l->klass->update (l, learning_rate);
    }
}
