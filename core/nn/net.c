/* neuropaint — a network: its layers, its parameter and gradient blocks, and
 * the questions callers ask of it.
 *
 * Parsing and the input queries are parse.c, planning and forward plan.c,
 * backward backward.c. The
 * description is the only model definition: nothing here looks at a layer's
 * kind, only at its class. */
#include "np-nn-private.h"
#include "util/np-rng.h"

#include <string.h>

static void
layer_free (gpointer data)
{
  NpLayer *layer = data;

  g_free (layer->name);
  g_free (layer);
}

/* Channel counts and parameter shapes, now that every layer is known; the
 * parameters get views with no memory yet (np_net_allocate). */
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

      l->index = (gint) i;
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
          gint64 n;

          l->params[j] = np_tensor_view (NULL, shapes[j][0], shapes[j][1], shapes[j][2], shapes[j][3]);
          l->grads[j] = np_tensor_view (NULL, shapes[j][0], shapes[j][1], shapes[j][2], shapes[j][3]);
          l->n_params = j + 1;
          /* Each factor is at most 65536 (channels) or 64 (kernel sides). */
          n = np_tensor_n_elements (&l->params[j]);
          if (n > NP_TENSOR_MAX_ELEMENTS || net->n_params + n > NP_TENSOR_MAX_ELEMENTS)
            {
              g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "more than %" G_GINT64_FORMAT " parameters",
                           NP_TENSOR_MAX_ELEMENTS);
              return FALSE;
            }
          net->n_params += n;
          if (l->klass->param_kinds[j] == NP_PARAM_TRAINABLE)
            net->n_trainable += n;
        }
    }
  return TRUE;
}

NpNet *
np_net_new_unallocated (const char *description, GError **error)
{
  g_autoptr(NpNet) net = NULL;

  g_return_val_if_fail (description != NULL, NULL);

  net = g_new0 (NpNet, 1);
  net->description = g_strdup (description);
  net->layers = g_ptr_array_new_with_free_func (layer_free);
  net->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  net->bn_mode = NP_BN_RUNNING;
  if (!np_net_parse (net, description, error) || !build_params (net, error))
    return NULL;
  return g_steal_pointer (&net);
}

gboolean
np_net_allocate (NpNet *net, GError **error)
{
  gsize trainable = 0, buffer = net->n_trainable;

  g_return_val_if_fail (net->param_block == NULL, FALSE);

  net->param_block = g_try_malloc0 (MAX (net->n_params, 1) * sizeof (gfloat));
  if (net->param_block == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "out of memory for %" G_GSIZE_FORMAT " parameters",
                   net->n_params);
      return FALSE;
    }
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      for (int j = 0; j < l->n_params; j++)
        {
          gsize *at = l->klass->param_kinds[j] == NP_PARAM_TRAINABLE ? &trainable : &buffer;
          l->params[j].data = net->param_block + *at;
          *at += np_tensor_n_elements (&l->params[j]);
        }
    }
  return TRUE;
}

NpNet *
np_net_new (const char *description, GError **error)
{
  g_autoptr(NpNet) net = np_net_new_unallocated (description, error);

  if (net == NULL || !np_net_allocate (net, error))
    return NULL;
  return g_steal_pointer (&net);
}

NpNet *
np_net_new_view (const NpNet *src, GError **error)
{
  g_autoptr(NpNet) net = np_net_new_unallocated (src->description, error);
  GHashTableIter   iter;
  gpointer         key, value;

  if (net == NULL)
    return NULL;
  /* The same description makes the same layers and shapes, so each view
   * points where src's does. */
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer       *l = g_ptr_array_index (net->layers, i);
      const NpLayer *s = g_ptr_array_index (src->layers, i);
      for (int j = 0; j < l->n_params; j++)
        l->params[j].data = s->params[j].data;
    }
  net->param_block = src->param_block;
  net->borrows_params = TRUE;
  net->bn_mode = src->bn_mode;
  g_hash_table_iter_init (&iter, src->metadata);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (net->metadata, g_strdup (key), g_strdup (value));
  return g_steal_pointer (&net);
}

void
np_net_free (NpNet *net)
{
  if (net == NULL)
    return;
  np_net_free_plan (net);
  g_ptr_array_unref (net->layers);
  g_free (net->channels);
  g_free (net->n_consumers);
  if (!net->borrows_params)
    g_free (net->param_block);
  g_free (net->grad_block);
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

gint64
np_net_output_channels (const NpNet *net)
{
  return net->channels[net->layers->len - 1];
}

/* The downsampling factor from the input to each layer's output (0.5 after
 * an upsampling by 2), into scale[], one per layer. */
static void
layer_scales (const NpNet *net, double *scale)
{
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      double   in = l->n_inputs ? scale[l->inputs[0]] : 1;
      scale[i] = l->klass->scale ? l->klass->scale (l, in) : in;
    }
}

gint
np_net_size_multiple (const NpNet *net)
{
  /* Inputs must divide by the largest factor so every strided layer sees an
   * even size. */
  g_autofree double *scale = g_new (double, net->layers->len);
  double most = 1;

  layer_scales (net, scale);
  for (guint i = 0; i < net->layers->len; i++)
    most = MAX (most, scale[i]);
  return (gint) MIN (most, 1 << 20);
}

double
np_net_output_scale (const NpNet *net)
{
  g_autofree double *scale = g_new (double, net->layers->len);

  layer_scales (net, scale);
  return 1.0 / scale[net->layers->len - 1];
}

gint64
np_net_n_parameters (const NpNet *net, gboolean with_buffers)
{
  return (gint64) (with_buffers ? net->n_params : net->n_trainable);
}

/* The layer and index of a parameter called NAME.SUFFIX. */
static NpLayer *
find_param (NpNet *net, const char *name, gint *index)
{
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      gsize    len = l->name ? strlen (l->name) : 0;
      if (len == 0 || strncmp (name, l->name, len) != 0 || name[len] != '.')
        continue;
      for (int j = 0; j < l->n_params; j++)
        if (strcmp (name + len + 1, l->klass->param_names[j]) == 0)
          {
            *index = j;
            return l;
          }
    }
  return NULL;
}

NpTensor *
np_net_param (NpNet *net, const char *name)
{
  gint     j;
  NpLayer *l = find_param (net, name, &j);
  return l ? &l->params[j] : NULL;
}

gint64
np_net_weight_rows (NpNet *net, const char *name)
{
  gint     j;
  NpLayer *l = find_param (net, name, &j);
  return l && j == 0 && l->klass->weight_rows ? l->klass->weight_rows (l) : 0;
}

NpTensor *
np_net_grad (NpNet *net, const char *name)
{
  gint     j;
  NpLayer *l = find_param (net, name, &j);
  return l && l->grads[j].data ? &l->grads[j] : NULL;
}

void
np_net_foreach_param (NpNet *net,
                      void (*func) (const char *name, NpTensor *t, gboolean trainable, gpointer data),
                      gpointer data)
{
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      for (int j = 0; j < l->n_params; j++)
        {
          g_autofree gchar *name = g_strdup_printf ("%s.%s", l->name, l->klass->param_names[j]);
          func (name, &l->params[j], l->klass->param_kinds[j] == NP_PARAM_TRAINABLE, data);
        }
    }
}

/* Whether b is a's convolution weight with more input channels (ne[2]):
 * its kernels and outputs the same. */
static gboolean
wider_input (const NpLayer *l, const NpTensor *a, const NpTensor *b)
{
  return l->klass == &np_conv_class && a->ne[0] == b->ne[0] && a->ne[1] == b->ne[1] && a->ne[3] == b->ne[3]
         && a->ne[2] < b->ne[2];
}

gint
np_net_copy_matching_params (NpNet *dst, NpNet *src, GPtrArray *left, GPtrArray *widened)
{
  gint copied = 0;

  for (guint i = 0; i < dst->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (dst->layers, i);
      for (int j = 0; j < l->n_params; j++)
        {
          g_autofree gchar *name = g_strdup_printf ("%s.%s", l->name, l->klass->param_names[j]);
          NpTensor         *t = &l->params[j];
          gint              k;
          NpLayer          *from = find_param (src, name, &k);
          const NpTensor   *f = from && from->klass == l->klass ? &from->params[k] : NULL;

          if (f && np_tensor_same_shape (f, t))
            {
              memcpy (t->data, f->data, np_tensor_n_elements (t) * sizeof (gfloat));
              copied++;
            }
          else if (f && j == 0 && widened && wider_input (l, f, t))
            {
              /* [out, in, k, k]: each output's kernels over src's inputs,
               * then zeros over the new ones. */
              gint64 kk = t->ne[0] * t->ne[1];
              for (gint64 o = 0; o < t->ne[3]; o++)
                {
                  memcpy (t->data + o * t->ne[2] * kk, f->data + o * f->ne[2] * kk, f->ne[2] * kk * sizeof (gfloat));
                  memset (t->data + (o * t->ne[2] + f->ne[2]) * kk, 0, (t->ne[2] - f->ne[2]) * kk * sizeof (gfloat));
                }
              g_ptr_array_add (widened, g_steal_pointer (&name));
              copied++;
            }
          else if (left)
            g_ptr_array_add (left, g_steal_pointer (&name));
        }
    }
  return copied;
}

void
np_net_init_random (NpNet *net, guint64 seed, gfloat std)
{
  NpRng rng;

  np_rng_init (&rng, seed);
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);

      for (int j = 0; j < l->n_params; j++)
        {
          NpParamInit init = l->klass->param_inits[j];
          NpTensor   *t = &l->params[j];
          gint64      n = np_tensor_n_elements (t);

          for (gint64 k = 0; k < n; k++)
            t->data[k] = init == NP_INIT_NORMAL ? (gfloat) (std * np_rng_normal (&rng)) : init == NP_INIT_ONE;
        }
    }
}

/* ---- The model file's settings -------------------------------------------- */

void
np_net_set_bn_mode (NpNet *net, NpBnMode mode)
{
  g_return_if_fail (mode == NP_BN_RUNNING || mode == NP_BN_BATCH);
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

/* ---- Parameter and gradient blocks ----------------------------------------- */

gfloat *
np_net_trainable (NpNet *net)
{
  return net->param_block;
}

gfloat *
np_net_gradients (NpNet *net)
{
  return net->grad_block;
}

gboolean
np_net_zero_grad (NpNet *net, GError **error)
{
  gsize at = 0;

  g_return_val_if_fail (!net->borrows_params, FALSE);
  if (net->grad_block)
    {
      memset (net->grad_block, 0, MAX (net->n_trainable, 1) * sizeof (gfloat));
      return TRUE;
    }
  net->grad_block = g_try_malloc0 (MAX (net->n_trainable, 1) * sizeof (gfloat));
  if (net->grad_block == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "out of memory for %" G_GSIZE_FORMAT " gradients",
                   net->n_trainable);
      return FALSE;
    }
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      for (int j = 0; j < l->n_params; j++)
        if (l->klass->param_kinds[j] == NP_PARAM_TRAINABLE)
          {
            l->grads[j].data = net->grad_block + at;
            at += np_tensor_n_elements (&l->grads[j]);
          }
    }
  return TRUE;
}

gboolean
np_net_copy_params (NpNet *dst, const NpNet *src, GError **error)
{
  if (strcmp (dst->description, src->description) != 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "copying parameters between different networks");
      return FALSE;
    }
  memcpy (dst->param_block, src->param_block, src->n_params * sizeof (gfloat));
  return TRUE;
}
