/* neuropaint — model files: a network and its weights in one safetensors
 * file, the description (or the architecture's numbers) in __metadata__.
 *
 * Metadata keys we read: "graph" (a network description, preferred when
 * present) or "architecture" ("unet", "patchgan", "sr") with its numbers
 * (ngf, depth, ...); "batchnorm" ("running", the default, or "batch").
 * Keys we only carry: "input_filter", "width", "height", "normalization". */
#include "np-nn-private.h"

#include <math.h>
#include <string.h>

static gchar *
shape_string (const NpTensor *t)
{
  int rank = 4;
  GString *s = g_string_new ("[");

  while (rank > 1 && t->ne[rank - 1] == 1)
    rank--;
  for (int i = rank - 1; i >= 0; i--)
    g_string_append_printf (s, "%" G_GINT64_FORMAT "%s", t->ne[i], i ? ", " : "]");
  return g_string_free (s, FALSE);
}

typedef struct
{
  NpSafetensors *st;
  const char    *prefix;
  GError       **error;
  gboolean       ok;
  gboolean       copy;   /* second pass: shapes are known good */
} LoadJob;

/* First pass: the file holds every parameter at its shape, finite; second
 * pass (once the network has memory): copy it in. */
static void
load_param (const char *name, NpTensor *t, gboolean trainable, gpointer data)
{
  LoadJob          *job = data;
  g_autofree gchar *full = g_strconcat (job->prefix, name, NULL);
  NpTensor         *src;

  if (!job->ok)
    return;
  src = np_safetensors_get (job->st, full);
  if (job->copy)
    memcpy (t->data, src->data, np_tensor_n_elements (t) * sizeof (gfloat));
  else if (src == NULL)
    {
      g_set_error (job->error, NP_ERROR, NP_ERROR_CORRUPT, "the model lacks tensor “%s”", full);
      job->ok = FALSE;
    }
  else if (!np_tensor_same_shape (src, t))
    {
      g_autofree gchar *have = shape_string (src), *want = shape_string (t);
      g_set_error (job->error, NP_ERROR, NP_ERROR_CORRUPT,
                   "tensor “%s” has shape %s; the architecture wants %s", full, have, want);
      job->ok = FALSE;
    }
  else
    /* A NaN or an infinity spreads to every pixel: refuse the file rather
     * than paint garbage. */
    for (gint64 i = 0; i < np_tensor_n_elements (src) && job->ok; i++)
      if (!isfinite (src->data[i]))
        {
          g_set_error (job->error, NP_ERROR, NP_ERROR_CORRUPT,
                       "tensor “%s” holds %s values", full, isnan (src->data[i]) ? "NaN" : "infinite");
          job->ok = FALSE;
        }
}

NpNet *
np_net_from_file (NpSafetensors *st, const char *prefix, GError **error)
{
  g_autoptr(GHashTable) meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree gchar *description = NULL;
  g_autoptr(NpNet)  net = NULL;
  LoadJob           job = { st, prefix, error, TRUE };
  const char       *graph, *bn;
  GHashTableIter    iter;
  gpointer          key, value;

  /* This network's keys, without the prefix. */
  g_hash_table_iter_init (&iter, st->metadata);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_str_has_prefix (key, prefix))
      g_hash_table_insert (meta, g_strdup ((char *) key + strlen (prefix)), g_strdup (value));
  graph = g_hash_table_lookup (meta, "graph");
  bn = g_hash_table_lookup (meta, "batchnorm");

  if (graph == NULL && g_hash_table_lookup (meta, "architecture") == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT,
                   "no “%sarchitecture” or “%sgraph” in the metadata: not a neuropaint model", prefix, prefix);
      return NULL;
    }
  description = graph ? g_strdup (graph)
                      : np_arch_describe (g_hash_table_lookup (meta, "architecture"), meta, error);
  if (description == NULL || (net = np_net_new_unallocated (description, error)) == NULL)
    return NULL;

  if (bn && strcmp (bn, "running") && strcmp (bn, "batch"))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "batchnorm “%s” is neither “running” nor “batch”", bn);
      return NULL;
    }
  np_net_set_bn_mode (net, bn && strcmp (bn, "batch") == 0 ? NP_BN_BATCH : NP_BN_RUNNING);

  for (guint i = 0; i < st->names->len; i++)
    {
      const char *name = st->names->pdata[i];
      if (g_str_has_prefix (name, prefix) && np_net_param (net, name + strlen (prefix)) == NULL)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "tensor “%s” is not part of the architecture", name);
          return NULL;
        }
    }
  /* Memory only once the file has shown it holds every parameter, so a
   * tiny hostile description cannot allocate gigabytes. */
  np_net_foreach_param (net, load_param, &job);
  if (!job.ok || !np_net_allocate (net, error))
    return NULL;
  job.copy = TRUE;
  np_net_foreach_param (net, load_param, &job);

  g_hash_table_iter_init (&iter, meta);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (np_net_metadata (net), g_strdup (key), g_strdup (value));
  return g_steal_pointer (&net);
}

NpNet *
np_net_load_from_data (const guint8 *data, gsize size, GError **error)
{
  g_autoptr(NpSafetensors) st = np_safetensors_parse (data, size, error);
  return st ? np_net_from_file (st, "", error) : NULL;
}

NpNet *
np_net_load (const char *path, GError **error)
{
  g_autoptr(NpSafetensors) st = np_safetensors_read (path, error);
  NpNet   *net;
  GError  *local = NULL;

  if (st == NULL)
    return NULL;
  net = np_net_from_file (st, "", &local);
  if (net == NULL)
    {
      g_autofree gchar *name = g_filename_display_name (path);
      g_set_error (error, NP_ERROR, local->code, "%s: %s", name, local->message);
      g_error_free (local);
    }
  return net;
}

typedef struct
{
  const char *prefix;
  GPtrArray  *names, *tensors;
} SaveJob;

static void
collect_param (const char *name, NpTensor *t, gboolean trainable, gpointer data)
{
  SaveJob *job = data;
  g_ptr_array_add (job->names, g_strconcat (job->prefix, name, NULL));
  g_ptr_array_add (job->tensors, t);
}

static void
add_metadata (GHashTable *metadata, const char *prefix, const char *key, const char *value)
{
  g_hash_table_insert (metadata, g_strconcat (prefix, key, NULL), g_strdup (value));
}

void
np_net_add_to_file (NpNet *net, const char *prefix, GPtrArray *names, GPtrArray *tensors,
                    GHashTable *metadata)
{
  SaveJob        job = { prefix, names, tensors };
  GHashTableIter iter;
  gpointer       key, value;

  g_hash_table_iter_init (&iter, np_net_metadata (net));
  while (g_hash_table_iter_next (&iter, &key, &value))
    add_metadata (metadata, prefix, key, value);
  /* The description travels with the weights, so the file stands alone. */
  add_metadata (metadata, prefix, "graph", np_net_description (net));
  if (!g_hash_table_contains (np_net_metadata (net), "architecture"))
    add_metadata (metadata, prefix, "architecture", "graph");
  add_metadata (metadata, prefix, "batchnorm", np_net_get_bn_mode (net) == NP_BN_BATCH ? "batch" : "running");
  np_net_foreach_param (net, collect_param, &job);
}

gboolean
np_net_save (NpNet *net, const char *path, NpDType dtype, GError **error)
{
  g_autoptr(GHashTable) meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray)  names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray)  tensors = g_ptr_array_new ();

  np_net_add_to_file (net, "", names, tensors, meta);
  add_metadata (meta, "", "format", "neuropaint");
  return np_safetensors_write (path, meta, (const char *const *) names->pdata,
                               (NpTensor *const *) tensors->pdata, (gint) names->len, dtype, error);
}
