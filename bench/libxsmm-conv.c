/* libxsmm-conv — one convolution layer of ours run by LIBXSMM 1.17's DNN
 * convolution (libxsmm_dnn_create_conv_layer: JIT-generated direct kernels
 * in its channel-blocked layouts), a peer bench/bench_conv.py puts beside
 * our engine (issue 18: choose the engine by measurement). The options, the
 * timing and the check are every peer's (bench/peer-conv.h); this file is
 * what is LIBXSMM's.
 *
 * One layout, "libxsmm": its blocked activations (channels in blocks of the
 * vector width, innermost) and filters, the input's rim of padding zeroed in
 * the buffer as its direct convolution wants (pad_h_in = pad_h); the copies
 * from and to ours are done once, outside the timing, as for oneDNN's
 * "any": its best case, a net kept in its layouts from layer to layer.
 *
 * What its API cannot do, and how it is done:
 * - no transposed convolution: a convt layer is the backward-data pass of
 *   the convolution it transposes (that convolution's K = our in, C = our
 *   out, its KCRS filter our [in, out, k, k] as it is), so its forward runs
 *   LIBXSMM's BWD, its backward-data FWD and its weights' gradient UPD with
 *   the roles of input and output gradient swapped;
 * - no bias (1.17 fuses nothing into a convolution): the bias is added, and
 *   its gradient summed, here, on the blocked tensors, in the same parallel
 *   region and inside the timing, as ours computes both;
 * - one padding for both sides: p=1:2 (the PatchGAN's stride-1 layers) is
 *   refused, said in the JSON line ("unsupported").
 *
 * Debian builds LIBXSMM without threads of its own (build.txt: OMP=0): the
 * caller runs every thread's piece (libxsmm_dnn_execute_st) in its own
 * parallel region, here OpenMP's, with the thread count the layer was made
 * for. Its forward and backward-data give the same bits with 1, 2 and 3
 * threads; its weights' gradient (UPD) does not on most layers
 * (docs/benchmarks.md#training). The bias's gradient here is summed in an
 * order fixed by the shapes. */
#include "peer-conv.h"

#include <libxsmm.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 5

/* The tensors a LIBXSMM convolution binds, in the order of tensor_types. */
typedef enum
{
  REGULAR_INPUT, REGULAR_OUTPUT, GRADIENT_INPUT, GRADIENT_OUTPUT, REGULAR_FILTER, GRADIENT_FILTER, N_ROLES
} Role;

static const libxsmm_dnn_tensor_type tensor_types[N_ROLES] = {
  LIBXSMM_DNN_REGULAR_INPUT, LIBXSMM_DNN_REGULAR_OUTPUT, LIBXSMM_DNN_GRADIENT_INPUT,
  LIBXSMM_DNN_GRADIENT_OUTPUT, LIBXSMM_DNN_REGULAR_FILTER, LIBXSMM_DNN_GRADIENT_FILTER,
};

/* A step: one of LIBXSMM's passes, or the bias's. */
typedef enum { STEP_FWD, STEP_BWD, STEP_UPD, STEP_BIAS, STEP_BIAS_GRADIENT } Step;

static const char *const step_names[] = { "fwd", "bwd", "upd", "bias", "bias-gradient" };

/* An activation in LIBXSMM's layout: images × blocks planes of
 * height × width pixels of block channels, the channel block innermost, a
 * rim of pad pixels around each plane. */
typedef struct
{
  float  *data;
  gint64  images, blocks, height, width, pad;
  int     block;
} Blocked;

typedef struct
{
  const PeerLayer   *layer;
  libxsmm_dnn_layer *handle;
  void              *scratch;
  libxsmm_dnn_tensor *tensors[N_ROLES];   /* NULL: not bound */
  void              *data[N_ROLES];
  NpTensor          *results[N_ROLES];    /* where copy_results copies them; NULL: not wanted */
  Blocked            blocked[N_ROLES];    /* the activations' */
  Role               y, dy;               /* which role holds our output and its gradient */
  float             *bias_gradient;       /* blocks × block */
  NpTensor          *db;
  Step               steps[MAX_STEPS];
  int                n_steps, threads;
  GString           *impl;
} Work;

static void
check (libxsmm_dnn_err_t status, const char *what)
{
  if (status != LIBXSMM_DNN_SUCCESS && status != LIBXSMM_DNN_WARN_FALLBACK)
    {
      fprintf (stderr, "libxsmm-conv: %s: %s\n", what, libxsmm_dnn_get_error (status));
      exit (2);
    }
}
#define XSMM_CHECK(call) check ((call), #call)

/* Copies between our NCHW tensor and b's blocked interior, either way. */
static void
copy_blocked (float *nchw, const Blocked *b, gboolean into_blocked)
{
  gint64 h = b->height - 2 * b->pad, w = b->width - 2 * b->pad;

  for (gint64 n = 0; n < b->images; n++)
    for (gint64 c = 0; c < b->blocks * b->block; c++)
      for (gint64 y = 0; y < h; y++)
        for (gint64 x = 0; x < w; x++)
          {
            float *ours = nchw + ((n * b->blocks * b->block + c) * h + y) * w + x;
            float *theirs = b->data + (((n * b->blocks + c / b->block) * b->height + y + b->pad) * b->width
                                       + x + b->pad) * b->block + c % b->block;

            if (into_blocked)
              *theirs = *ours;
            else
              *ours = *theirs;
          }
}

/* Makes the tensor of role r in the handle's layout, bound to it; from our
 * tensor `from` when given, else zero. Filters are copied by LIBXSMM (from
 * KCRS); activations here, since its copies from and to NCHW take the rim
 * of padding for part of the picture. */
static void
bind (Work *w, Role r, NpTensor *from)
{
  libxsmm_dnn_err_t status;
  libxsmm_dnn_tensor_datalayout *l = libxsmm_dnn_create_tensor_datalayout (w->handle, tensor_types[r], &status);
  gboolean filter = r == REGULAR_FILTER || r == GRADIENT_FILTER;
  size_t size;

  check (status, "libxsmm_dnn_create_tensor_datalayout");
  size = libxsmm_dnn_get_tensor_size (l, &status);
  check (status, "libxsmm_dnn_get_tensor_size");
  w->data[r] = libxsmm_aligned_malloc (size, 2097152);
  w->tensors[r] = libxsmm_dnn_link_tensor (l, w->data[r], &status);
  check (status, "libxsmm_dnn_link_tensor");
  XSMM_CHECK (libxsmm_dnn_zero_tensor (w->tensors[r]));   /* the rim of padding */
  if (filter && from)
    XSMM_CHECK (libxsmm_dnn_copyin_tensor (w->tensors[r], from->data, LIBXSMM_DNN_TENSOR_FORMAT_KCRS));
  if (!filter)
    {
      /* LIBXSMM_DNN_TENSOR_FORMAT_LIBXSMM, f32: [N][C/block][H][W][block],
       * innermost first in dim_size; the input's sides padded. */
      g_assert (l->num_dims == 5 && l->dim_type[1] == LIBXSMM_DNN_TENSOR_DIMTYPE_W
                && l->dim_type[2] == LIBXSMM_DNN_TENSOR_DIMTYPE_H && l->dim_type[4] == LIBXSMM_DNN_TENSOR_DIMTYPE_N);
      w->blocked[r] = (Blocked) { w->data[r], l->dim_size[4], l->dim_size[3], l->dim_size[2], l->dim_size[1],
                                  r == REGULAR_INPUT || r == GRADIENT_INPUT ? w->layer->pad0 : 0,
                                  (int) l->dim_size[0] };
      if (from)
        copy_blocked (from->data, &w->blocked[r], TRUE);
    }
  XSMM_CHECK (libxsmm_dnn_bind_tensor (w->handle, w->tensors[r], tensor_types[r]));
  XSMM_CHECK (libxsmm_dnn_destroy_tensor_datalayout (l));
}

/* Thread tid of n adds the bias to its planes of the output. */
static void
add_bias (Work *w, int tid, int n)
{
  const Blocked *y = &w->blocked[w->y];
  gint64 size = y->height * y->width;

  for (gint64 p = tid; p < y->images * y->blocks; p += n)
    {
      float *plane = y->data + p * size * y->block;
      const float *bias = w->layer->bias->data + p % y->blocks * y->block;

      for (gint64 i = 0; i < size; i++)
        for (int j = 0; j < y->block; j++)
          plane[i * y->block + j] += bias[j];
    }
}

/* Thread tid of n sums the output gradient of its channel blocks, in an
 * order fixed by the shapes alone. */
static void
sum_bias_gradient (Work *w, int tid, int n)
{
  const Blocked *dy = &w->blocked[w->dy];
  gint64 size = dy->height * dy->width;

  for (gint64 b = tid; b < dy->blocks; b += n)
    {
      float *sum = w->bias_gradient + b * dy->block;

      for (int j = 0; j < dy->block; j++)
        sum[j] = 0;
      for (gint64 image = 0; image < dy->images; image++)
        {
          const float *plane = dy->data + (image * dy->blocks + b) * size * dy->block;

          for (gint64 i = 0; i < size; i++)
            for (int j = 0; j < dy->block; j++)
              sum[j] += plane[i * dy->block + j];
        }
    }
}

static void
run (gpointer data)
{
  Work *w = data;

#pragma omp parallel num_threads (w->threads)
  {
    int tid = omp_get_thread_num ();

    for (int i = 0; i < w->n_steps; i++)
      {
        static const libxsmm_dnn_compute_kind kinds[] = {
          LIBXSMM_DNN_COMPUTE_KIND_FWD, LIBXSMM_DNN_COMPUTE_KIND_BWD, LIBXSMM_DNN_COMPUTE_KIND_UPD,
        };

        if (w->steps[i] == STEP_BIAS)
          add_bias (w, tid, w->threads);
        else if (w->steps[i] == STEP_BIAS_GRADIENT)
          sum_bias_gradient (w, tid, w->threads);
        else
          XSMM_CHECK (libxsmm_dnn_execute_st (w->handle, kinds[w->steps[i]], 0, tid));
#pragma omp barrier
      }
  }
}

static void
add_step (Work *w, Step step)
{
  g_assert (w->n_steps < MAX_STEPS);
  w->steps[w->n_steps++] = step;
  g_string_append_printf (w->impl, " %s%s", w->n_steps > 1 ? "+ " : "", step_names[step]);
}

static void
work_free (gpointer data)
{
  Work *w = data;

  for (int r = 0; r < N_ROLES; r++)
    if (w->tensors[r])
      {
        XSMM_CHECK (libxsmm_dnn_release_tensor (w->handle, tensor_types[r]));
        XSMM_CHECK (libxsmm_dnn_destroy_tensor (w->tensors[r]));
        libxsmm_free (w->data[r]);
      }
  if (w->scratch)
    {
      XSMM_CHECK (libxsmm_dnn_release_scratch (w->handle, LIBXSMM_DNN_COMPUTE_KIND_ALL));
      libxsmm_free (w->scratch);
    }
  if (w->handle)
    XSMM_CHECK (libxsmm_dnn_destroy_conv_layer (w->handle));
  g_free (w->bias_gradient);
  g_string_free (w->impl, TRUE);
  g_free (w);
}

static gpointer
prepare (const PeerLayer *l, int layout, gboolean backward, NpTensor *x, NpTensor *dy, const PeerResults *res,
         GError **error)
{
  Work *w = g_new0 (Work, 1);
  libxsmm_dnn_conv_desc desc = { 0 };
  libxsmm_dnn_err_t status;
  /* Our x, y, dy and dx, and the passes of forward, backward-data and
   * backward-weights: a convt is its convolution's backward-data. */
  Role x_role = l->transposed ? GRADIENT_OUTPUT : REGULAR_INPUT;
  Role dx_role = l->transposed ? REGULAR_OUTPUT : GRADIENT_INPUT;
  Step forward = l->transposed ? STEP_BWD : STEP_FWD, backward_data = l->transposed ? STEP_FWD : STEP_BWD;

  w->layer = l;
  w->threads = omp_get_max_threads ();
  w->impl = g_string_new (libxsmm_get_target_arch ());
  w->y = l->transposed ? GRADIENT_INPUT : REGULAR_OUTPUT;
  w->dy = l->transposed ? REGULAR_INPUT : GRADIENT_OUTPUT;
  if (l->pad0 != l->pad1)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED, "LIBXSMM pads both sides alike, not p=%" G_GINT64_FORMAT
                   ":%" G_GINT64_FORMAT, l->pad0, l->pad1);
      work_free (w);
      return NULL;
    }
  desc.N = l->batch;
  desc.C = l->transposed ? l->out_c : l->in_c;
  desc.K = l->transposed ? l->in_c : l->out_c;
  desc.H = l->transposed ? l->out_height : l->height;
  desc.W = l->transposed ? l->out_width : l->width;
  desc.R = desc.S = l->k;
  desc.u = desc.v = l->stride;
  desc.pad_h = desc.pad_w = desc.pad_h_in = desc.pad_w_in = l->pad0;
  desc.threads = w->threads;
  desc.datatype_in = desc.datatype_out = LIBXSMM_DNN_DATATYPE_F32;
  desc.buffer_format = desc.filter_format = LIBXSMM_DNN_TENSOR_FORMAT_LIBXSMM;
  desc.algo = LIBXSMM_DNN_CONV_ALGO_DIRECT;
  desc.options = LIBXSMM_DNN_CONV_OPTION_OVERWRITE;
  desc.fuse_ops = LIBXSMM_DNN_CONV_FUSE_NONE;
  w->handle = libxsmm_dnn_create_conv_layer (desc, &status);
  if (w->handle == NULL || (status != LIBXSMM_DNN_SUCCESS && status != LIBXSMM_DNN_WARN_FALLBACK))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED, "libxsmm_dnn_create_conv_layer: %s",
                   libxsmm_dnn_get_error (status));
      work_free (w);
      return NULL;
    }
  if (status == LIBXSMM_DNN_WARN_FALLBACK)
    g_string_append (w->impl, " (fallback loops)");
  g_string_append (w->impl, ":");
  w->scratch = libxsmm_aligned_malloc (libxsmm_dnn_get_scratch_size (w->handle, LIBXSMM_DNN_COMPUTE_KIND_ALL,
                                                                      &status), 2097152);
  check (status, "libxsmm_dnn_get_scratch_size");
  XSMM_CHECK (libxsmm_dnn_bind_scratch (w->handle, LIBXSMM_DNN_COMPUTE_KIND_ALL, w->scratch));

  bind (w, x_role, x);
  bind (w, REGULAR_FILTER, l->weight);
  bind (w, w->y, NULL);
  w->results[w->y] = res->y;
  add_step (w, forward);
  add_step (w, STEP_BIAS);
  if (backward)
    {
      bind (w, w->dy, dy);
      bind (w, dx_role, NULL);
      bind (w, GRADIENT_FILTER, NULL);
      w->results[dx_role] = res->dx;
      w->results[GRADIENT_FILTER] = res->dw;
      w->db = res->db;
      add_step (w, backward_data);
      add_step (w, STEP_UPD);
      add_step (w, STEP_BIAS_GRADIENT);
    }
  w->bias_gradient = g_new0 (float, l->out_c);
  return w;
}

static void
copy_results (gpointer data)
{
  Work *w = data;

  for (int r = 0; r < N_ROLES; r++)
    if (w->results[r] && r == GRADIENT_FILTER)
      XSMM_CHECK (libxsmm_dnn_copyout_tensor (w->tensors[r], w->results[r]->data, LIBXSMM_DNN_TENSOR_FORMAT_KCRS));
    else if (w->results[r])
      copy_blocked (w->results[r]->data, &w->blocked[r], FALSE);
  if (w->db)
    memcpy (w->db->data, w->bias_gradient, w->layer->out_c * sizeof (float));
}

static const char *
impl (gpointer data)
{
  return ((Work *) data)->impl->str;
}

static const char *const layouts[] = { "libxsmm", NULL };

int
main (int argc, char **argv)
{
  PeerConv peer = {
    "libxsmm", LIBXSMM_CONFIG_VERSION, "[MODEL INPUTS OUTPUT]: LIBXSMM's convolution on one layer of ours",
    layouts, prepare, run, copy_results, impl, work_free,
  };

  libxsmm_init ();
  return peer_conv_main (&peer, argc, argv);
}
