/* neuropaint — planning a network's memory for an input shape, and forward.
 *
 * Activations are planned once per input shape: pointwise layers whose input
 * feeds nobody else run in place, producers write straight into the
 * concatenations that read them, and the workspace is one block per thread
 * plus one shared block, sized by the hungriest layers. Training keeps every
 * activation instead, plans their gradients and what forward keeps for
 * backward, and sizes the workspace for backward too, so a training step
 * allocates nothing. */
#include "np-nn-private.h"
#include "util/np-rng.h"

#include <string.h>

static void
free_workspace (NpNet *net)
{
  for (gint t = 0; t < net->workspace_threads; t++)
    g_free (net->workspace[t]);
  g_clear_pointer (&net->workspace, g_free);
  g_clear_pointer (&net->shared, g_free);
  net->workspace_threads = 0;
  net->workspace_size = 0;
  net->shared_size = 0;
}

void
np_net_free_plan (NpNet *net)
{
  for (guint i = 0; net->outputs && i < net->layers->len; i++)
    {
      if (net->owns_output[i])
        np_tensor_free (net->outputs[i]);
      else
        g_free (net->outputs[i]);
    }
  for (guint i = 0; net->d_outputs && i < net->layers->len; i++)
    np_tensor_free (net->d_outputs[i]);
  g_clear_pointer (&net->d_outputs, g_free);
  g_clear_pointer (&net->outputs, g_free);
  g_clear_pointer (&net->owns_output, g_free);
  g_clear_pointer (&net->saved, g_free);
  net->plan_inputs = 0;
  free_workspace (net);
}

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

      if (np_layer_is_input (l))
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

      if (!cat->klass->concatenates || root[c] != c)
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

/* Training: a gradient per activation, and the block of what forward keeps
 * for backward. */
static gboolean
plan_training (NpNet *net, GError **error)
{
  gsize need = 0, at = 0;

  net->d_outputs = g_new0 (NpTensor *, net->layers->len);
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer        *l = g_ptr_array_index (net->layers, i);
      const NpTensor *o = net->outputs[i];
      const NpTensor *in[NP_LAYER_MAX_INPUTS];

      for (int j = 0; j < l->n_inputs; j++)
        in[j] = net->outputs[l->inputs[j]];
      if (l->klass->saved)
        need += l->klass->saved (l, in);
      if ((net->d_outputs[i] = np_tensor_new (o->ne[0], o->ne[1], o->ne[2], o->ne[3], error)) == NULL)
        return FALSE;
    }
  if ((net->saved = g_try_malloc (MAX (need, 1) * sizeof (gfloat))) == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "out of memory for the training state");
      return FALSE;
    }
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer        *l = g_ptr_array_index (net->layers, i);
      const NpTensor *in[NP_LAYER_MAX_INPUTS];

      for (int j = 0; j < l->n_inputs; j++)
        in[j] = net->outputs[l->inputs[j]];
      l->saved = l->klass->saved ? net->saved + at : NULL;
      at += l->klass->saved ? l->klass->saved (l, in) : 0;
    }
  return TRUE;
}

/* Whether layer l may overwrite its input, the output of layer src (whose
 * only reader it is). In training, only if l's backward works from its
 * output and src's backward never reads what l overwrites. */
static gboolean
in_place (const NpNet *net, const NpLayer *l, gint src)
{
  const NpLayer *s = g_ptr_array_index (net->layers, src);

  if (!l->klass->in_place)
    return FALSE;
  if (!net->plan_training)
    return TRUE;
  return l->klass->backward_from_output && l->klass->backward_from_output (l)
         && !s->klass->backward_reads_output;
}

static gboolean
plan_outputs (NpNet *net, const NpTensor *const *inputs, gint n_inputs, GError **error)
{
  g_autofree NpTensor *shapes = g_new0 (NpTensor, net->layers->len);
  g_autofree gint *root = g_new (gint, net->layers->len);

  if (!plan_shapes (net, inputs, n_inputs, shapes, error))
    return FALSE;
  net->outputs = g_new0 (NpTensor *, net->layers->len);
  net->owns_output = g_new0 (gboolean, net->layers->len);
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer *l = g_ptr_array_index (net->layers, i);
      gint     src = l->n_inputs ? l->inputs[0] : -1;

      root[i] = (gint) i;
      if (np_layer_is_input (l))
        {
          /* The caller's tensor at each forward; its shape for now. */
          net->outputs[i] = g_memdup2 (&shapes[i], sizeof (NpTensor));
          root[i] = -1;
        }
      else if (net->n_consumers[src] == 1 && root[src] >= 0 && in_place (net, l, src))
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
            return FALSE;
          net->owns_output[i] = TRUE;
        }
    }
  if (!net->plan_training)
    place_concat_inputs (net, root);
  return TRUE;
}

/* Workspace: the largest any layer asks for (in forward, and in backward
 * when training), one block per thread and one shared. */
static gboolean
plan_workspace (NpNet *net, gint n_threads, GError **error)
{
  gsize need = 0, need_shared = 0;

  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer        *l = g_ptr_array_index (net->layers, i);
      const NpTensor *in[NP_LAYER_MAX_INPUTS];

      for (int j = 0; j < l->n_inputs; j++)
        in[j] = net->outputs[l->inputs[j]];
      for (int backward = 0; l->klass->workspace && backward <= net->plan_training; backward++)
        {
          gsize shared = 0;
          need = MAX (need, l->klass->workspace (l, in, net->outputs[i], backward, &shared));
          need_shared = MAX (need_shared, shared);
        }
    }
  if (need <= net->workspace_size && need_shared <= net->shared_size && n_threads == net->workspace_threads)
    return TRUE;

  free_workspace (net);
  if ((net->shared = g_try_malloc (MAX (need_shared, 1) * sizeof (gfloat))) == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "out of memory for the workspace");
      return FALSE;
    }
  net->shared_size = need_shared;
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
  return TRUE;
}

gboolean
np_net_plan (NpNet *net, const NpTensor *const *inputs, gint n_inputs, gboolean training, gint n_threads,
             GError **error)
{
  gint64 key[NP_LAYER_MAX_INPUTS * 4] = { 0 };

  for (gint i = 0; i < MIN (n_inputs, NP_LAYER_MAX_INPUTS); i++)
    memcpy (key + 4 * i, inputs[i]->ne, sizeof inputs[i]->ne);

  if (net->outputs == NULL || net->plan_inputs != n_inputs || memcmp (key, net->plan_ne, sizeof key)
      || net->plan_training != !!training)
    {
      np_net_free_plan (net);
      net->plan_training = !!training;
      if (!plan_outputs (net, inputs, n_inputs, error) || (training && !plan_training (net, error)))
        {
          np_net_free_plan (net);
          return FALSE;
        }
      memcpy (net->plan_ne, key, sizeof key);
      net->plan_inputs = n_inputs;
    }

  /* The input layers' outputs are the caller's tensors, for this call. */
  for (guint i = 0, next = 0; i < net->layers->len; i++)
    if (np_layer_is_input (g_ptr_array_index (net->layers, i)))
      *net->outputs[i] = *inputs[next++];

  return plan_workspace (net, n_threads, error);
}

/* Which pointwise layers each convolution applies itself: those that follow
 * it in place as the only reader of the previous one's output, so nobody can
 * see the output before they ran. Batch norm folds in only on running
 * statistics (batch statistics need the whole output first). */
static void
plan_fusion (NpNet *net, NpBnMode bn_mode)
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

      if (!l->klass->fuses_pointwise || net->plan_training)
        continue;
      for (guint j = i + 1; j < net->layers->len && l->n_fused < NP_LAYER_MAX_FUSED; j++)
        {
          NpLayer *f = g_ptr_array_index (net->layers, j);

          if (f->n_inputs != 1 || f->inputs[0] != (gint) last || net->n_consumers[last] != 1
              || !f->klass->in_place || net->outputs[j]->data != net->outputs[last]->data
              || !f->klass->fusable || !f->klass->fusable (f, bn_mode))
            break;
          l->fused[l->n_fused++] = f;
          f->is_fused = TRUE;
          last = j;
        }
    }
}

const NpTensor *
np_net_forward (NpNet *net, const NpTensor *const *inputs, gint n_inputs, const NpCompute *compute,
                GError **error)
{
  gint n_threads;

  g_return_val_if_fail (net != NULL && inputs != NULL && compute != NULL, NULL);
  g_return_val_if_fail (compute->first_image >= 0, NULL);
  /* Training would write the weights every view shares. */
  g_return_val_if_fail (!(compute->training && net->borrows_params), NULL);

  n_threads = CLAMP (compute->n_threads, 1, 256);
  if (!np_net_plan (net, inputs, n_inputs, compute->training, n_threads, error))
    return NULL;
  net->run = (NpLayerRun) {
    .n_threads = n_threads,
    .workspace = net->workspace,
    .shared = net->shared,
    .bn_mode = compute->bn_mode == NP_BN_MODEL ? net->bn_mode : compute->bn_mode,
    .training = compute->training,
    .update_running = compute->training && !compute->freeze_running,
    .first_image = compute->first_image,
  };
  plan_fusion (net, net->run.bn_mode);

  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer        *l = g_ptr_array_index (net->layers, i);
      const NpTensor *in[NP_LAYER_MAX_INPUTS];

      if (np_layer_is_input (l) || l->is_fused)
        continue;
      for (int j = 0; j < l->n_inputs; j++)
        in[j] = net->outputs[l->inputs[j]];
      /* Each layer's random numbers from the call's key and its position. */
      l->key = np_rng_hash (compute->key ^ np_rng_hash (i));
      l->klass->forward (l, in, net->outputs[i], &net->run);
    }
  return net->outputs[net->layers->len - 1];
}

/* Every layer's shape for each input at width × height. */
static gboolean
shapes_at (NpNet *net, gint64 width, gint64 height, gint64 batch, NpTensor *shapes, GError **error)
{
  g_autofree NpTensor *inputs = g_new0 (NpTensor, np_net_n_inputs (net));
  g_autofree const NpTensor **in_ptrs = g_new0 (const NpTensor *, np_net_n_inputs (net));

  for (gint i = 0; i < np_net_n_inputs (net); i++)
    {
      inputs[i] = np_tensor_view (NULL, width, height, np_net_input_channels (net, i), batch);
      in_ptrs[i] = &inputs[i];
    }
  return plan_shapes (net, in_ptrs, np_net_n_inputs (net), shapes, error);
}

gboolean
np_net_output_size (NpNet *net, gint64 width, gint64 height, gint64 *out_width, gint64 *out_height,
                    GError **error)
{
  g_autofree NpTensor *shapes = g_new0 (NpTensor, net->layers->len);

  if (!shapes_at (net, width, height, 1, shapes, error))
    return FALSE;
  *out_width = shapes[net->layers->len - 1].ne[0];
  *out_height = shapes[net->layers->len - 1].ne[1];
  return TRUE;
}

double
np_net_flops (NpNet *net, gint64 width, gint64 height, gint64 batch)
{
  g_autofree NpTensor *shapes = g_new0 (NpTensor, net->layers->len);
  double flops = 0;

  if (!shapes_at (net, width, height, batch, shapes, NULL))
    return 0;
  for (guint i = 0; i < net->layers->len; i++)
    {
      NpLayer        *l = g_ptr_array_index (net->layers, i);
      const NpTensor *in[NP_LAYER_MAX_INPUTS];

      for (int j = 0; j < l->n_inputs; j++)
        in[j] = &shapes[l->inputs[j]];
      if (l->klass->flops)
        flops += l->klass->flops (l, in, &shapes[i]);
    }
  return flops;
}
