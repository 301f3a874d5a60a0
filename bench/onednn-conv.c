/* onednn-conv — one convolution layer of ours run by oneDNN, a peer
 * bench/bench_conv.py puts beside our engine (issue 18: choose the engine by
 * measurement). Debian's libdnnl 2.6.3 is the oneDNN PyTorch 1.13 runs. The
 * options, the timing and the check are every peer's (bench/peer-conv.h);
 * this file is what is oneDNN's.
 *
 * conv lines run as oneDNN convolutions, convt lines as deconvolutions (our
 * weight layout [in, out, k, k] is its iohw).
 *
 * Two layouts, each its own line: "any" lets oneDNN choose the blocked
 * layouts it runs fastest, and the reorders from and to ours are done once,
 * outside the timing (its best case: a net kept in its layouts from layer
 * to layer); "nchw" hands it our tensors as they are, NCHW and the PyTorch
 * weight layouts.
 *
 * Debian builds libdnnl on OpenMP, through which peer_conv_main sets its
 * threads. */
#include "peer-conv.h"

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
copy_results (gpointer data)
{
  Run *run = data;

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
make_steps (Run *run, const PeerLayer *l, gboolean any, gboolean backward, NpTensor *x, NpTensor *dy,
            const PeerResults *res)
{
  const Kind *kind = l->transposed ? &convt_kind : &conv_kind;
  gint64 k = l->k;
  dnnl_dims_t strides = { l->stride, l->stride }, pad_l = { l->pad0, l->pad0 }, pad_r = { l->pad1, l->pad1 };
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
                             &src_md, &weight_md, &bias_md, &dst_md, strides, pad_l, pad_r));
  DNNL_CHECK (dnnl_primitive_desc_create (&fwd, &desc, NULL, run->engine, NULL));
  add_step (run, fwd, 4,
            DNNL_ARG_SRC, input_in_layout (run, fwd, dnnl_query_src_md, 0, x_mem),
            DNNL_ARG_WEIGHTS, input_in_layout (run, fwd, dnnl_query_weights_md, 0, w_mem),
            DNNL_ARG_BIAS, input_in_layout (run, fwd, dnnl_query_weights_md, 1, b_mem),
            DNNL_ARG_DST, output_in_layout (run, fwd, dnnl_query_dst_md, 0, res->y, &ours_dst));
  if (!backward)
    return;

  dy_mem = new_memory (run, &ours_dst, dy->data);
  DNNL_CHECK (kind->backward_data (&desc, kind->alg, &src_md, &weight_md, &dst_md, strides, pad_l, pad_r));
  DNNL_CHECK (dnnl_primitive_desc_create (&bwd_data, &desc, NULL, run->engine, fwd));
  add_step (run, bwd_data, 3,
            DNNL_ARG_DIFF_DST, input_in_layout (run, bwd_data, dnnl_query_diff_dst_md, 0, dy_mem),
            DNNL_ARG_WEIGHTS, input_in_layout (run, bwd_data, dnnl_query_weights_md, 0, w_mem),
            DNNL_ARG_DIFF_SRC, output_in_layout (run, bwd_data, dnnl_query_diff_src_md, 0, res->dx, &ours_src));
  DNNL_CHECK (kind->backward_weights (&desc, kind->alg, &src_md, &weight_md, &bias_md, &dst_md,
                                      strides, pad_l, pad_r));
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
run_steps (gpointer data)
{
  Run *run = data;

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
run_free (gpointer data)
{
  Run *run = data;

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

static const char *const layouts[] = { "any", "nchw", NULL };

static gpointer
onednn_prepare (const PeerLayer *l, int layout, gboolean backward, NpTensor *x, NpTensor *dy,
                const PeerResults *res, GError **error)
{
  Run *run = run_new ();

  make_steps (run, l, layout == 0, backward, x, dy, res);
  return run;
}

static const char *
onednn_impl (gpointer run)
{
  return ((Run *) run)->impl->str;
}

int
main (int argc, char **argv)
{
  const dnnl_version_t *v = dnnl_version ();
  g_autofree gchar *version = g_strdup_printf ("%d.%d.%d", v->major, v->minor, v->patch);
  PeerConv peer = {
    "onednn", version, "[MODEL INPUTS OUTPUT]: oneDNN's convolution on one layer of ours", layouts,
    onednn_prepare, run_steps, copy_results, onednn_impl, run_free,
  };

  return peer_conv_main (&peer, argc, argv);
}
