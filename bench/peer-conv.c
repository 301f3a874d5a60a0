/* peer-conv — what the convolution peers share: reading the layer from our
 * net, the timing, the JSON line and the check (bench/peer-conv.h). */
#include "peer-conv.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Finds the net's one conv or convt line and reads its stride and padding
 * (our parser has checked the line; k and out come from the weights). */
static gboolean
layer_from_net (NpNet *net, gint64 batch, gint64 width, gint64 height, PeerLayer *layer, GError **error)
{
  g_auto(GStrv) lines = g_strsplit (np_net_description (net), "\n", -1);
  g_autofree gchar *name = NULL;
  g_autofree gchar *bias_name = NULL;
  g_autofree gchar *weight_name = NULL;

  memset (layer, 0, sizeof *layer);
  layer->stride = 1;
  for (gchar **line = lines; *line && np_net_n_layers (net) == 2; line++)
    {
      g_auto(GStrv) words = g_strsplit_set (g_strstrip (*line), " \t", -1);

      if (g_strcmp0 (words[0], "conv") != 0 && g_strcmp0 (words[0], "convt") != 0)
        continue;
      layer->transposed = strcmp (words[0], "convt") == 0;
      name = g_strdup ("");
      for (gchar **w = words + 1; *w; w++)
        if (g_str_has_prefix (*w, "name="))
          g_free (name), name = g_strdup (*w + 5);
        else if (g_str_has_prefix (*w, "s="))
          layer->stride = g_ascii_strtoll (*w + 2, NULL, 10);
        else if (g_str_has_prefix (*w, "p="))
          {
            gchar *end;
            layer->pad0 = layer->pad1 = g_ascii_strtoll (*w + 2, &end, 10);
            if (*end == ':')
              layer->pad1 = g_ascii_strtoll (end + 1, NULL, 10);
          }
    }
  if (name == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "the net must be one input and one conv or convt layer");
      return FALSE;
    }
  weight_name = g_strdup_printf ("%s.weight", name);
  bias_name = g_strdup_printf ("%s.bias", name);
  layer->weight = np_net_param (net, weight_name);
  layer->bias = np_net_param (net, bias_name);
  if (layer->weight == NULL || layer->bias == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "the layer has no %s and %s", weight_name, bias_name);
      return FALSE;
    }
  layer->batch = batch, layer->width = width, layer->height = height;
  layer->in_c = np_net_input_channels (net, 0);
  layer->out_c = np_net_output_channels (net);
  layer->k = layer->weight->ne[0];
  layer->flops = np_net_flops (net, width, height, batch);
  return np_net_output_size (net, width, height, &layer->out_width, &layer->out_height, error);
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* Times the layer in one layout and prints its JSON line, in the fields
 * and order of `neuropaint bench conv`'s. */
static void
time_layer (const PeerConv *peer, const PeerLayer *l, int layout, gboolean backward, NpTensor *x, NpTensor *dy,
            gint threads, gint repeat)
{
  g_autoptr(GError) unsupported = NULL;
  g_autofree double *ms = g_new (double, repeat);
  double flops = l->flops * (backward ? 3 : 1), median;
  gpointer work = peer->prepare (l, layout, backward, x, dy, &(PeerResults) { NULL }, &unsupported);

  printf ("{\"bench\": \"conv-%s\", \"layout\": \"%s\", \"width\": %" G_GINT64_FORMAT ", \"height\": %" G_GINT64_FORMAT
          ", \"channels\": %" G_GINT64_FORMAT ", \"batch\": %" G_GINT64_FORMAT ", \"backward\": %s, \"%s\": \"%s\", ",
          peer->name, peer->layouts[layout], l->width, l->height, l->in_c, l->batch, backward ? "true" : "false",
          peer->name, peer->version);
  if (work == NULL)
    {
      g_autofree gchar *why = g_strescape (unsupported->message, NULL);

      printf ("\"unsupported\": \"%s\", \"threads\": %d}\n", why, threads);
      fflush (stdout);
      return;
    }
  peer->run (work);   /* warm-up: first-touch page faults, the peer's kernel generation */
  for (int i = 0; i < repeat; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      peer->run (work);
      ms[i] = (g_get_monotonic_time () - t0) / 1e3;
    }
  qsort (ms, repeat, sizeof (double), compare_doubles);
  median = repeat % 2 ? ms[repeat / 2] : (ms[repeat / 2 - 1] + ms[repeat / 2]) / 2;
  printf ("\"impl\": \"%s\", \"gflop\": %.3f, \"gflops\": %.1f, \"threads\": %d, \"repeat\": %d"
          ", \"median_ms\": %.3f, \"min_ms\": %.3f}\n",
          peer->impl (work), flops / 1e9, flops / 1e6 / median, threads, repeat, median, ms[0]);
  fflush (stdout);
  peer->free (work);
}

typedef struct
{
  const PeerResults *res;
  GPtrArray         *names, *tensors;
} CollectJob;

/* The gradients of the weights and bias as nn-forward names them. */
static void
collect (const char *name, NpTensor *t, gboolean trainable, gpointer data)
{
  CollectJob *job = data;
  const PeerLayer *l = job->res->layer;

  g_ptr_array_add (job->names, g_strdup_printf ("grad.%s", name));
  g_ptr_array_add (job->tensors, t == l->weight ? job->res->dw : job->res->db);
}

/* The check: the layer of MODEL on the tensors of INPUTS, results into
 * OUTPUT as tests/nn-forward writes ours; FALSE with *unsupported set when
 * the peer cannot run the layer. */
static gboolean
check_layer (const PeerConv *peer, const char *model, const char *inputs, const char *output, int layout,
             gboolean *unsupported, GError **error)
{
  g_autoptr(NpNet) net = NULL;
  g_autoptr(NpSafetensors) in = NULL;
  g_autoptr(NpTensor) y = NULL;
  g_autoptr(NpTensor) dx = NULL;
  g_autoptr(NpTensor) dw = NULL;
  g_autoptr(NpTensor) db = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) tensors = g_ptr_array_new ();
  NpTensor *x, *dy;
  PeerResults res;
  PeerLayer l;
  gpointer work;

  if ((net = np_net_load (model, error)) == NULL || (in = np_safetensors_read (inputs, error)) == NULL)
    return FALSE;
  if ((x = np_safetensors_get (in, np_net_input_name (net, 0))) == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "no tensor “%s” in %s",
                   np_net_input_name (net, 0), inputs);
      return FALSE;
    }
  if (!layer_from_net (net, x->ne[3], x->ne[0], x->ne[1], &l, error)
      || (y = np_tensor_new (l.out_width, l.out_height, l.out_c, l.batch, error)) == NULL)
    return FALSE;
  dy = np_safetensors_get (in, "d_output");
  if (x->ne[2] != l.in_c || (dy && np_tensor_n_elements (dy) != np_tensor_n_elements (y)))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "%s: “%s” or “d_output” is not the layer's shape",
                   inputs, np_net_input_name (net, 0));
      return FALSE;
    }
  g_ptr_array_add (names, g_strdup ("output"));
  g_ptr_array_add (tensors, y);
  res = (PeerResults) { .layer = &l, .y = y };
  if (dy)
    {
      CollectJob job = { &res, names, tensors };

      /* Shaped as the output, whatever rank the file gave it. */
      memcpy (dy->ne, y->ne, sizeof y->ne);
      memcpy (dy->nb, y->nb, sizeof y->nb);
      if ((res.dx = dx = np_tensor_new (x->ne[0], x->ne[1], x->ne[2], x->ne[3], error)) == NULL
          || (res.dw = dw = np_tensor_new (l.weight->ne[0], l.weight->ne[1], l.weight->ne[2], l.weight->ne[3],
                                           error)) == NULL
          || (res.db = db = np_tensor_new (l.out_c, 1, 1, 1, error)) == NULL)
        return FALSE;
      g_ptr_array_add (names, g_strdup_printf ("d.%s", np_net_input_name (net, 0)));
      g_ptr_array_add (tensors, dx);
      np_net_foreach_param (net, collect, &job);
    }
  if ((work = peer->prepare (&l, layout, dy != NULL, x, dy, &res, error)) == NULL)
    {
      *unsupported = TRUE;
      return FALSE;
    }
  peer->run (work);
  peer->copy_results (work);
  peer->free (work);
  return np_safetensors_write (output, NULL, (const char *const *) names->pdata,
                               (NpTensor *const *) tensors->pdata, (gint) names->len, NP_DTYPE_F32, error);
}

static gboolean
parse_size (const char *text, gint *width, gint *height)
{
  return text && sscanf (text, "%dx%d", width, height) == 2 && *width > 0 && *height > 0;
}

int
peer_conv_main (const PeerConv *peer, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(NpNet) net = NULL;
  g_autofree gchar *layer_line = NULL, *size = NULL, *layout_name = NULL, *description = NULL;
  g_autofree gchar *layout_help = g_strjoinv (" or ", (gchar **) peer->layouts);
  gint channels = 3, batch = 1, threads = 1, repeat = 10, width = 64, height = 80, layout = -1;
  gboolean backward = FALSE, unsupported = FALSE;
  GOptionEntry entries[] = {
    { "layer", 0, 0, G_OPTION_ARG_STRING, &layer_line, "A conv or convt line, as neuropaint bench conv's", "LINE" },
    { "channels", 0, 0, G_OPTION_ARG_INT, &channels, "The layer's input channels (default 3)", "C" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size, "Input width and height (default 64x80)", "WxH" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Batch (default 1)", "B" },
    { "backward", 0, 0, G_OPTION_ARG_NONE, &backward, "Time forward, backward-data and backward-weights", NULL },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "OpenMP threads (default 1)", "N" },
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat, "Timed runs after one warm-up (default 10)", "R" },
    { "layout", 0, 0, G_OPTION_ARG_STRING, &layout_name, "The peer's layout (default: a line for each)", "L" },
    { NULL }
  };
  PeerLayer l;

  context = g_option_context_new (peer->summary);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    goto fail;
  for (int i = 0; layout_name && peer->layouts[i]; i++)
    if (strcmp (layout_name, peer->layouts[i]) == 0)
      layout = i;
  if (layout_name && layout < 0)
    return fprintf (stderr, "%s-conv: --layout is %s\n", peer->name, layout_help), 1;
  if (threads < 1 || repeat < 1 || batch < 1 || channels < 1 || (size && !parse_size (size, &width, &height))
      || (layer_line == NULL) == (argc != 4))
    {
      fprintf (stderr, "%s-conv: give --layer (and positive --channels, --size WxH, --batch, --threads, "
                       "--repeat) to time, or MODEL INPUTS OUTPUT to run once\n", peer->name);
      return 1;
    }
  omp_set_num_threads (threads);

  if (layer_line)
    {
      g_autoptr(NpTensor) x = NULL;
      g_autoptr(NpTensor) dy = NULL;

      /* The net `neuropaint bench conv` builds, its weights, input and
       * output gradient made the same way. */
      description = g_strdup_printf ("input c=%d\n%s%s", channels, layer_line,
                                     strstr (layer_line, "name=") ? "" : " name=layer");
      if ((net = np_net_new (description, &error)) == NULL || !layer_from_net (net, batch, width, height, &l, &error)
          || (x = np_tensor_new (width, height, channels, batch, &error)) == NULL
          || (dy = np_tensor_new (l.out_width, l.out_height, l.out_c, batch, &error)) == NULL)
        goto fail;
      np_net_init_random (net, 1, 0.02f);
      for (gint64 i = 0; i < np_tensor_n_elements (x); i++)
        x->data[i] = (i % 509) / 254.5f - 1;
      for (gint64 i = 0; i < np_tensor_n_elements (dy); i++)
        dy->data[i] = (i % 311) / 155.5f - 1;
      for (int i = 0; peer->layouts[i]; i++)
        if (layout < 0 || layout == i)
          time_layer (peer, &l, i, backward, x, dy, threads, repeat);
      return 0;
    }

  if (!check_layer (peer, argv[1], argv[2], argv[3], MAX (layout, 0), &unsupported, &error))
    {
      fprintf (stderr, "%s-conv: %s%s\n", peer->name, unsupported ? "unsupported: " : "", error->message);
      return unsupported ? 3 : 2;
    }
  return 0;

fail:
  fprintf (stderr, "%s-conv: %s\n", peer->name, error->message);
  return 2;
}
