/* onednn-conv — one convolution layer of ours run by oneDNN, the peer
 * bench/bench_conv.py puts beside our engine (issue 18: choose the engine by
 * measurement). Debian's libdnnl 2.6.3 is the oneDNN PyTorch 1.13 runs.
 *
 *     onednn-conv --layer "conv out=128 k=4 s=2 p=1" --channels 64 --size WxH --batch B
 *                 [--backward] [--threads N] [--repeat R] [--layout any|nchw]
 *
 * times the layer as `neuropaint bench conv` does: the same net (one input,
 * the line), the same random weights and input, one warm-up then R runs,
 * one JSON line per layout. conv lines run as oneDNN convolutions, convt
 * lines as deconvolutions (our weight layout [in, out, k, k] is its iohw).
 * --backward times the training forward, backward-data and backward-weights
 * (with the bias's gradient), as ours computes both gradients.
 *
 * Two layouts, each its own line: "any" lets oneDNN choose the blocked
 * layouts it runs fastest, and the reorders from and to ours are done once,
 * outside the timing (its best case: a net kept in its layouts from layer
 * to layer); "nchw" hands it our tensors as they are, NCHW and the PyTorch
 * weight layouts.
 *
 *     onednn-conv [--layout any|nchw] [--threads N] MODEL INPUTS OUTPUT
 *
 * (layout any unless told) runs the one conv or convt layer of MODEL forward on the input tensor of
 * INPUTS (named as the model's input) and writes it as "output", and when
 * INPUTS holds "d_output" runs both backwards too and writes "d.INPUT",
 * "grad.LAYER.weight" and "grad.LAYER.bias": what tests/nn-forward writes
 * for our engine. tests/test_onednn_conv.py compares the two, so the
 * timings compare the same arithmetic.
 *
 * Debian builds libdnnl on OpenMP; the thread count is set as PyTorch sets
 * it (omp_set_num_threads), before any primitive is made, since oneDNN
 * blocks its work by the thread count it sees then. */
#include "neuropaint.h"

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if DNNL_CPU_RUNTIME != DNNL_RUNTIME_OMP
#error "onednn-conv sets oneDNN's threads through OpenMP, the runtime Debian's libdnnl is built with"
#endif

#define MAX_STEPS 3
#define MAX_ARGS  6

/* oneDNN's convolution and deconvolution: their descriptors are one type,
 * initialised with the same arguments. */
typedef dnnl_status_t (*ForwardInit) (dnnl_convolution_desc_t *desc, dnnl_prop_kind_t prop, dnnl_alg_kind_t alg,
                                      const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *weights,
                                      const dnnl_memory_desc_t *bias, const dnnl_memory_desc_t *dst,
                                      const dnnl_dims_t strides, const dnnl_dims_t pad_l, const dnnl_dims_t pad_r);
typedef dnnl_status_t (*BackwardDataInit) (dnnl_convolution_desc_t *desc, dnnl_alg_kind_t alg,
                                           const dnnl_memory_desc_t *diff_src, const dnnl_memory_desc_t *weights,
                                           const dnnl_memory_desc_t *diff_dst, const dnnl_dims_t strides,
                                           const dnnl_dims_t pad_l, const dnnl_dims_t pad_r);
typedef dnnl_status_t (*BackwardWeightsInit) (dnnl_convolution_desc_t *desc, dnnl_alg_kind_t alg,
                                              const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *diff_weights,
                                              const dnnl_memory_desc_t *diff_bias, const dnnl_memory_desc_t *diff_dst,
                                              const dnnl_dims_t strides, const dnnl_dims_t pad_l,
                                              const dnnl_dims_t pad_r);
typedef struct
{
  dnnl_alg_kind_t     alg;
  dnnl_format_tag_t   weight_tag;   /* our weights' layout */
  ForwardInit         forward;
  BackwardDataInit    backward_data;
  BackwardWeightsInit backward_weights;
} Kind;

static const Kind conv_kind = {
  dnnl_convolution_direct, dnnl_oihw, dnnl_convolution_forward_desc_init,
  dnnl_convolution_backward_data_desc_init, dnnl_convolution_backward_weights_desc_init,
};
/* Our [in, out, k, k], PyTorch's ConvTranspose2d layout. */
static const Kind convt_kind = {
  dnnl_deconvolution_direct, dnnl_iohw, dnnl_deconvolution_forward_desc_init,
  dnnl_deconvolution_backward_data_desc_init, dnnl_deconvolution_backward_weights_desc_init,
};

/* The layer as oneDNN wants it, from our net. */
typedef struct
{
  const Kind *kind;
  gint64   batch, in_c, out_c, height, width, out_height, out_width;
  dnnl_dims_t strides, pad_l, pad_r;
  NpTensor *weight, *bias;
  double   flops;          /* forward */
} Layer;

/* Where the check wants the results, NCHW and our weight layouts; NULL:
 * not wanted. */
typedef struct
{
  const Layer *layer;
  NpTensor    *y, *dx, *dw, *db;
} Results;

/* One primitive and what it reads and writes. */
typedef struct
{
  dnnl_primitive_t prim;
  dnnl_exec_arg_t  args[MAX_ARGS];
  int              n_args;
} Step;

typedef struct
{
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  GPtrArray    *memories;   /* dnnl_memory_t, destroyed at the end */
  GPtrArray    *pds;        /* dnnl_primitive_desc_t */
  GPtrArray    *results;    /* dnnl_memory_t pairs: a result, where it is copied after a run (the check) */
  Step          steps[MAX_STEPS];
  int           n_steps;
  GString      *impl;       /* the implementations oneDNN chose, in step order */
} Run;

static void
check (dnnl_status_t status, const char *what)
{
  if (status != dnnl_success)
    {
      fprintf (stderr, "onednn-conv: %s: %s\n", what, dnnl_status2str (status));
      exit (2);
    }
}
#define DNNL_CHECK(call) check ((call), #call)

/* Finds the net's one conv or convt line and reads its stride and padding
 * (our parser has checked the line; k and out come from the weights). */
static gboolean
layer_from_net (NpNet *net, gint64 batch, gint64 width, gint64 height, Layer *layer, GError **error)
{
  g_auto(GStrv) lines = g_strsplit (np_net_description (net), "\n", -1);
  g_autofree gchar *name = NULL;
  g_autofree gchar *bias_name = NULL;
  g_autofree gchar *weight_name = NULL;
  gint64 s = 1, p0 = 0, p1 = 0;

  memset (layer, 0, sizeof *layer);
  for (gchar **line = lines; *line && np_net_n_layers (net) == 2; line++)
    {
      g_auto(GStrv) words = g_strsplit_set (g_strstrip (*line), " \t", -1);

      if (g_strcmp0 (words[0], "conv") != 0 && g_strcmp0 (words[0], "convt") != 0)
        continue;
      layer->kind = strcmp (words[0], "convt") == 0 ? &convt_kind : &conv_kind;
      name = g_strdup ("");
      for (gchar **w = words + 1; *w; w++)
        if (g_str_has_prefix (*w, "name="))
          g_free (name), name = g_strdup (*w + 5);
        else if (g_str_has_prefix (*w, "s="))
          s = g_ascii_strtoll (*w + 2, NULL, 10);
        else if (g_str_has_prefix (*w, "p="))
          {
            gchar *end;
            p0 = p1 = g_ascii_strtoll (*w + 2, &end, 10);
            if (*end == ':')
              p1 = g_ascii_strtoll (end + 1, NULL, 10);
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
  layer->strides[0] = layer->strides[1] = s;
  layer->pad_l[0] = layer->pad_l[1] = p0;
  layer->pad_r[0] = layer->pad_r[1] = p1;
  layer->flops = np_net_flops (net, width, height, batch);
  return np_net_output_size (net, width, height, &layer->out_width, &layer->out_height, error);
}

static dnnl_memory_desc_t
memory_desc (gint64 d0, gint64 d1, gint64 d2, gint64 d3, int ndims, dnnl_format_tag_t tag)
{
  dnnl_memory_desc_t md;
  dnnl_dims_t dims = { d0, d1, d2, d3 };

  DNNL_CHECK (dnnl_memory_desc_init_by_tag (&md, ndims, dims, dnnl_f32, tag));
  return md;
}

/* A memory of the given description: on data (ours) or allocated. */
static dnnl_memory_t
new_memory (Run *run, const dnnl_memory_desc_t *md, void *data)
{
  dnnl_memory_t m;

  DNNL_CHECK (dnnl_memory_create (&m, md, run->engine, data ? data : DNNL_MEMORY_ALLOCATE));
  g_ptr_array_add (run->memories, m);
  return m;
}

/* Copies from into to, once, converting the layout. */
static void
reorder (Run *run, dnnl_memory_t from, dnnl_memory_t to)
{
  const dnnl_memory_desc_t *from_md, *to_md;
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t prim;
  dnnl_exec_arg_t args[] = { { DNNL_ARG_FROM, from }, { DNNL_ARG_TO, to } };

  DNNL_CHECK (dnnl_memory_get_memory_desc (from, &from_md));
  DNNL_CHECK (dnnl_memory_get_memory_desc (to, &to_md));
  DNNL_CHECK (dnnl_reorder_primitive_desc_create (&pd, from_md, run->engine, to_md, run->engine, NULL));
  DNNL_CHECK (dnnl_primitive_create (&prim, pd));
  DNNL_CHECK (dnnl_primitive_execute (prim, run->stream, 2, args));
  DNNL_CHECK (dnnl_stream_wait (run->stream));
  dnnl_primitive_destroy (prim);
  dnnl_primitive_desc_destroy (pd);
}

/* What the primitive reads, in the layout it chose: ours itself when the
 * layouts agree, else a copy made now, outside the timing. */
static dnnl_memory_t
input_in_layout (Run *run, const_dnnl_primitive_desc_t pd, dnnl_query_t what, int index, dnnl_memory_t ours)
{
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md (pd, what, index), *ours_md;
  dnnl_memory_t m;

  DNNL_CHECK (dnnl_memory_get_memory_desc (ours, &ours_md));
  if (dnnl_memory_desc_equal (md, ours_md))
    return ours;
  m = new_memory (run, md, NULL);
  reorder (run, ours, m);
  return m;
}

/* What the primitive writes, in its layout; with a tensor of ours (md its
 * layout), copied there by copy_results. */
static dnnl_memory_t
output_in_layout (Run *run, const_dnnl_primitive_desc_t pd, dnnl_query_t what, int index,
                  NpTensor *ours, const dnnl_memory_desc_t *ours_md)
{
  dnnl_memory_t m = new_memory (run, dnnl_primitive_desc_query_md (pd, what, index), NULL);

  if (ours)
    {
      g_ptr_array_add (run->results, m);
      g_ptr_array_add (run->results, new_memory (run, ours_md, ours->data));
    }
  return m;
}

static void
copy_results (Run *run)
{
  for (guint i = 0; i < run->results->len; i += 2)
    reorder (run, g_ptr_array_index (run->results, i), g_ptr_array_index (run->results, i + 1));
}

/* Makes the primitive of pd, a step with the arguments given as
 * (DNNL_ARG_*, memory) pairs. */
static void
add_step (Run *run, dnnl_primitive_desc_t pd, int n_args, ...)
{
  Step *step = &run->steps[run->n_steps++];
  const char *impl;
  va_list ap;

  g_assert (run->n_steps <= MAX_STEPS && n_args <= MAX_ARGS);
  g_ptr_array_add (run->pds, pd);
  DNNL_CHECK (dnnl_primitive_create (&step->prim, pd));
  va_start (ap, n_args);
  for (int i = 0; i < n_args; i++)
    {
      step->args[i].arg = va_arg (ap, int);
      step->args[i].memory = va_arg (ap, dnnl_memory_t);
    }
  va_end (ap);
  step->n_args = n_args;
  DNNL_CHECK (dnnl_primitive_desc_query (pd, dnnl_query_impl_info_str, 0, &impl));
  g_string_append_printf (run->impl, "%s%s", run->impl->len ? " + " : "", impl);
}

/* The primitives for the layer in layout "any" or "nchw", on our input x
 * and, for backward, our output gradient dy; res: where copy_results puts
 * the results. */
static void
make_steps (Run *run, const Layer *l, gboolean any, gboolean backward, NpTensor *x, NpTensor *dy, const Results *res)
{
  const Kind *kind = l->kind;
  gint64 k = l->weight->ne[0];
  dnnl_format_tag_t act_tag = any ? dnnl_format_tag_any : dnnl_nchw;
  dnnl_memory_desc_t ours_src = memory_desc (l->batch, l->in_c, l->height, l->width, 4, dnnl_nchw);
  dnnl_memory_desc_t ours_dst = memory_desc (l->batch, l->out_c, l->out_height, l->out_width, 4, dnnl_nchw);
  dnnl_memory_desc_t ours_weight = memory_desc (l->out_c, l->in_c, k, k, 4, kind->weight_tag);
  dnnl_memory_desc_t src_md = memory_desc (l->batch, l->in_c, l->height, l->width, 4, act_tag);
  dnnl_memory_desc_t dst_md = memory_desc (l->batch, l->out_c, l->out_height, l->out_width, 4, act_tag);
  dnnl_memory_desc_t weight_md = memory_desc (l->out_c, l->in_c, k, k, 4, any ? dnnl_format_tag_any : kind->weight_tag);
  dnnl_memory_desc_t bias_md = memory_desc (l->out_c, 0, 0, 0, 1, dnnl_x);
  dnnl_memory_t x_mem = new_memory (run, &ours_src, x->data);
  dnnl_memory_t w_mem = new_memory (run, &ours_weight, l->weight->data);
  dnnl_memory_t b_mem = new_memory (run, &bias_md, l->bias->data);
  dnnl_memory_t dy_mem;
  dnnl_convolution_desc_t desc;
  dnnl_primitive_desc_t fwd, bwd_data, bwd_weights;

  DNNL_CHECK (kind->forward (&desc, backward ? dnnl_forward_training : dnnl_forward_inference, kind->alg,
                             &src_md, &weight_md, &bias_md, &dst_md, l->strides, l->pad_l, l->pad_r));
  DNNL_CHECK (dnnl_primitive_desc_create (&fwd, &desc, NULL, run->engine, NULL));
  add_step (run, fwd, 4,
            DNNL_ARG_SRC, input_in_layout (run, fwd, dnnl_query_src_md, 0, x_mem),
            DNNL_ARG_WEIGHTS, input_in_layout (run, fwd, dnnl_query_weights_md, 0, w_mem),
            DNNL_ARG_BIAS, input_in_layout (run, fwd, dnnl_query_weights_md, 1, b_mem),
            DNNL_ARG_DST, output_in_layout (run, fwd, dnnl_query_dst_md, 0, res->y, &ours_dst));
  if (!backward)
    return;

  dy_mem = new_memory (run, &ours_dst, dy->data);
  DNNL_CHECK (kind->backward_data (&desc, kind->alg, &src_md, &weight_md, &dst_md, l->strides, l->pad_l, l->pad_r));
  DNNL_CHECK (dnnl_primitive_desc_create (&bwd_data, &desc, NULL, run->engine, fwd));
  add_step (run, bwd_data, 3,
            DNNL_ARG_DIFF_DST, input_in_layout (run, bwd_data, dnnl_query_diff_dst_md, 0, dy_mem),
            DNNL_ARG_WEIGHTS, input_in_layout (run, bwd_data, dnnl_query_weights_md, 0, w_mem),
            DNNL_ARG_DIFF_SRC, output_in_layout (run, bwd_data, dnnl_query_diff_src_md, 0, res->dx, &ours_src));
  DNNL_CHECK (kind->backward_weights (&desc, kind->alg, &src_md, &weight_md, &bias_md, &dst_md,
                                      l->strides, l->pad_l, l->pad_r));
  DNNL_CHECK (dnnl_primitive_desc_create (&bwd_weights, &desc, NULL, run->engine, fwd));
  add_step (run, bwd_weights, 4,
            DNNL_ARG_SRC, input_in_layout (run, bwd_weights, dnnl_query_src_md, 0, x_mem),
            DNNL_ARG_DIFF_DST, input_in_layout (run, bwd_weights, dnnl_query_diff_dst_md, 0, dy_mem),
            DNNL_ARG_DIFF_WEIGHTS, output_in_layout (run, bwd_weights, dnnl_query_diff_weights_md, 0,
                                                     res->dw, &ours_weight),
            DNNL_ARG_DIFF_BIAS, output_in_layout (run, bwd_weights, dnnl_query_diff_weights_md, 1,
                                                  res->db, &bias_md));
}

static void
run_steps (Run *run)
{
  for (int i = 0; i < run->n_steps; i++)
    DNNL_CHECK (dnnl_primitive_execute (run->steps[i].prim, run->stream, run->steps[i].n_args, run->steps[i].args));
  DNNL_CHECK (dnnl_stream_wait (run->stream));
}

static Run *
run_new (void)
{
  Run *run = g_new0 (Run, 1);

  DNNL_CHECK (dnnl_engine_create (&run->engine, dnnl_cpu, 0));
  DNNL_CHECK (dnnl_stream_create (&run->stream, run->engine, dnnl_stream_default_flags));
  run->memories = g_ptr_array_new ();
  run->pds = g_ptr_array_new ();
  run->results = g_ptr_array_new ();
  run->impl = g_string_new (NULL);
  return run;
}

static void
run_free (Run *run)
{
  for (int i = 0; i < run->n_steps; i++)
    dnnl_primitive_destroy (run->steps[i].prim);
  for (guint i = 0; i < run->pds->len; i++)
    dnnl_primitive_desc_destroy (g_ptr_array_index (run->pds, i));
  for (guint i = 0; i < run->memories->len; i++)
    dnnl_memory_destroy (g_ptr_array_index (run->memories, i));
  dnnl_stream_destroy (run->stream);
  dnnl_engine_destroy (run->engine);
  g_ptr_array_unref (run->memories);
  g_ptr_array_unref (run->pds);
  g_ptr_array_unref (run->results);
  g_string_free (run->impl, TRUE);
  g_free (run);
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
time_layer (const Layer *l, gboolean any, gboolean backward, NpTensor *x, NpTensor *dy, gint threads, gint repeat)
{
  g_autofree double *ms = g_new (double, repeat);
  const dnnl_version_t *version = dnnl_version ();
  double flops = l->flops * (backward ? 3 : 1), median;
  Run *run = run_new ();

  make_steps (run, l, any, backward, x, dy, &(Results) { NULL });
  run_steps (run);   /* warm-up: first-touch page faults, oneDNN's kernel generation */
  for (int i = 0; i < repeat; i++)
    {
      gint64 t0 = g_get_monotonic_time ();
      run_steps (run);
      ms[i] = (g_get_monotonic_time () - t0) / 1e3;
    }
  qsort (ms, repeat, sizeof (double), compare_doubles);
  median = repeat % 2 ? ms[repeat / 2] : (ms[repeat / 2 - 1] + ms[repeat / 2]) / 2;
  printf ("{\"bench\": \"conv-onednn\", \"layout\": \"%s\", \"width\": %" G_GINT64_FORMAT
          ", \"height\": %" G_GINT64_FORMAT ", \"channels\": %" G_GINT64_FORMAT ", \"batch\": %" G_GINT64_FORMAT
          ", \"backward\": %s, \"onednn\": \"%d.%d.%d\", \"impl\": \"%s\", \"gflop\": %.3f, \"gflops\": %.1f"
          ", \"threads\": %d, \"repeat\": %d, \"median_ms\": %.3f, \"min_ms\": %.3f}\n",
          any ? "any" : "nchw", l->width, l->height, l->in_c, l->batch, backward ? "true" : "false",
          version->major, version->minor, version->patch, run->impl->str, flops / 1e9, flops / 1e6 / median,
          threads, repeat, median, ms[0]);
  fflush (stdout);
  run_free (run);
}

typedef struct
{
  const Results *res;
  GPtrArray     *names, *tensors;
} CollectJob;

/* The gradients of the weights and bias as nn-forward names them. */
static void
collect (const char *name, NpTensor *t, gboolean trainable, gpointer data)
{
  CollectJob *job = data;
  const Layer *l = job->res->layer;

  g_ptr_array_add (job->names, g_strdup_printf ("grad.%s", name));
  g_ptr_array_add (job->tensors, t == l->weight ? job->res->dw : job->res->db);
}

/* The check: the layer of MODEL on the tensors of INPUTS, results into
 * OUTPUT as tests/nn-forward writes ours. */
static gboolean
check_layer (const char *model, const char *inputs, const char *output, gboolean any, GError **error)
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
  Results res;
  Layer l;
  Run *run;

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
  res = (Results) { .layer = &l, .y = y };
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
  run = run_new ();
  make_steps (run, &l, any, dy != NULL, x, dy, &res);
  run_steps (run);
  copy_results (run);
  run_free (run);
  return np_safetensors_write (output, NULL, (const char *const *) names->pdata,
                               (NpTensor *const *) tensors->pdata, (gint) names->len, NP_DTYPE_F32, error);
}

static gboolean
parse_size (const char *text, gint *width, gint *height)
{
  return text && sscanf (text, "%dx%d", width, height) == 2 && *width > 0 && *height > 0;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(NpNet) net = NULL;
  g_autofree gchar *layer_line = NULL, *size = NULL, *layout = NULL, *description = NULL;
  gint channels = 3, batch = 1, threads = 1, repeat = 10, width = 64, height = 80;
  gboolean backward = FALSE, any = TRUE, nchw = TRUE;
  GOptionEntry entries[] = {
    { "layer", 0, 0, G_OPTION_ARG_STRING, &layer_line, "A conv or convt line, as neuropaint bench conv's", "LINE" },
    { "channels", 0, 0, G_OPTION_ARG_INT, &channels, "The layer's input channels (default 3)", "C" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size, "Input width and height (default 64x80)", "WxH" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Batch (default 1)", "B" },
    { "backward", 0, 0, G_OPTION_ARG_NONE, &backward, "Time forward, backward-data and backward-weights", NULL },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "OpenMP threads (default 1)", "N" },
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat, "Timed runs after one warm-up (default 10)", "R" },
    { "layout", 0, 0, G_OPTION_ARG_STRING, &layout, "any or nchw (default: a line for each)", "L" },
    { NULL }
  };
  Layer l;

  context = g_option_context_new ("[MODEL INPUTS OUTPUT]: oneDNN's convolution on one layer of ours");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    goto fail;
  if (layout)
    {
      any = strcmp (layout, "any") == 0, nchw = strcmp (layout, "nchw") == 0;
      if (!any && !nchw)
        return fprintf (stderr, "onednn-conv: --layout is any or nchw\n"), 1;
    }
  if (threads < 1 || repeat < 1 || batch < 1 || channels < 1 || (size && !parse_size (size, &width, &height))
      || (layer_line == NULL) == (argc != 4))
    {
      fprintf (stderr, "onednn-conv: give --layer (and positive --channels, --size WxH, --batch, --threads, "
                       "--repeat) to time, or MODEL INPUTS OUTPUT to run once\n");
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
      if (any)
        time_layer (&l, TRUE, backward, x, dy, threads, repeat);
      if (nchw)
        time_layer (&l, FALSE, backward, x, dy, threads, repeat);
      return 0;
    }

  if (!check_layer (argv[1], argv[2], argv[3], any, &error))
    goto fail;
  return 0;

fail:
  fprintf (stderr, "onednn-conv: %s\n", error->message);
  return 2;
}
