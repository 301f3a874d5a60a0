/* peer-conv — what the convolution peers bench/bench_conv.py puts beside our
 * engine share (issue 18: choose the engine by measurement): a peer's
 * program (bench/onednn-conv, bench/libxsmm-conv) is one PeerConv, and
 * peer_conv_main does the rest the same way for every peer.
 *
 *     NAME-conv --layer "conv out=128 k=4 s=2 p=1" --channels 64 --size WxH --batch B
 *               [--backward] [--threads N] [--repeat R] [--layout L]
 *
 * times the layer as `neuropaint bench conv` does: the same net (one input,
 * the line), the same random weights and input, one warm-up then R runs,
 * one JSON line per layout of the peer's (or --layout's), in `neuropaint
 * bench conv`'s fields, with "bench": "conv-NAME", the peer's version as
 * "NAME" and the implementation it chose as "impl"; a layer the peer cannot
 * run gets a line saying why ("unsupported") instead of the timings.
 * --backward times the training forward, backward-data and backward-weights
 * (with the bias's gradient), as ours computes both gradients.
 *
 *     NAME-conv [--layout L] [--threads N] MODEL INPUTS OUTPUT
 *
 * (the peer's first layout unless told) runs the one conv or convt layer of
 * MODEL forward on the input tensor of INPUTS (named as the model's input)
 * and writes it as "output", and when INPUTS holds "d_output" runs both
 * backwards too and writes "d.INPUT", "grad.LAYER.weight" and
 * "grad.LAYER.bias": what tests/nn-forward writes for our engine, so that a
 * test compares the two and the timings compare the same arithmetic. A layer
 * the peer cannot run exits 3, saying why.
 *
 * The peers run on OpenMP (Debian's libdnnl is built on it; LIBXSMM's DNN
 * API runs its work on the caller's threads): the thread count is set as
 * PyTorch sets it (omp_set_num_threads), before the peer makes anything,
 * since they block their work by the thread count they see then. */
#pragma once

#include "neuropaint.h"

/* The layer as the peers want it, read from our net. */
typedef struct
{
  gboolean transposed;       /* a convt line; its weights [in, out, k, k] */
  gint64   batch, in_c, out_c, height, width, out_height, out_width;
  gint64   k, stride, pad0, pad1;  /* padding before and after, on both axes */
  NpTensor *weight, *bias;
  double   flops;            /* forward */
} PeerLayer;

/* Where the check wants the results, NCHW and our weight layouts; NULL:
 * not wanted. */
typedef struct
{
  const PeerLayer *layer;
  NpTensor        *y, *dx, *dw, *db;
} PeerResults;

typedef struct
{
  const char        *name;      /* the program is NAME-conv */
  const char        *version;   /* the peer's, in its JSON lines */
  const char        *summary;   /* --help's, ASCII */
  const char *const *layouts;   /* NULL-terminated, the first the check's default */

  /* Makes the layer's work in layouts[layout] on our input x (and output
   * gradient dy when backward), reordered into the peer's layouts now,
   * outside the timing; NULL with error when the peer cannot run the layer. */
  gpointer    (*prepare)      (const PeerLayer *l, int layout, gboolean backward, NpTensor *x, NpTensor *dy,
                               const PeerResults *res, GError **error);
  void        (*run)          (gpointer work);
  /* Copies the results into res's tensors, after a run. */
  void        (*copy_results) (gpointer work);
  const char *(*impl)         (gpointer work);
  void        (*free)         (gpointer work);
} PeerConv;

int peer_conv_main (const PeerConv *peer, int argc, char **argv);
