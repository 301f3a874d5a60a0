/* neuropaint — what the layer files share inside core/nn/. */
#pragma once

#include "np-nn.h"
#include "util/np-parallel.h"

G_BEGIN_DECLS

extern const NpLayerClass np_input_class, np_conv_class, np_convt_class,
  np_batchnorm_class, np_dropout_class, np_lrelu_class, np_relu_class,
  np_tanh_class, np_sigmoid_class, np_concat_class, np_upsample_class,
  np_linear_class;

/* Work below this many floats is not worth a thread. */
#define NP_NN_GRAIN 16384

/* Floats of im2col columns a thread keeps at once: about half of a Zen 4
 * core's L2, so the columns are still cached when sgemm reads them. */
#define NP_NN_COL_BUDGET (128 * 1024)

/* Layers split work into at least this many pieces where they can, whatever
 * the thread count, so the pieces (and the sums) never depend on it. */
#define NP_NN_MIN_JOBS 4

/* y = act(a·x + b) for a pointwise kind (the identity for dropout). */
void     np_nn_pointwise     (NpLayerKind kind, const NpLayerParams *p, gfloat a, gfloat b,
                              const gfloat *x, gfloat *y, gsize n);
/* Adds bias to n outputs of `channel` and applies the layer's fused
 * pointwise layers, in place. */
void     np_nn_epilogue      (const NpLayer *layer, gint64 channel, gfloat bias,
                              gfloat *x, gsize n);

/* dst += src, elementwise over equal shapes (strided images allowed). */
void     np_nn_accumulate    (NpTensor *dst, const NpTensor *src);
/* Plain SGD over a layer's parameters. */
void     np_nn_sgd_update    (NpLayer *layer, gfloat learning_rate);

/* Helpers for the class tables. */
gint64   np_nn_same_channels (const NpLayer *layer, const gint64 *in_channels);
gboolean np_nn_same_shape    (const NpLayer *layer, const NpTensor *const *in,
                              gint64 out_ne[4], GError **error);
void     np_nn_no_params     (const NpLayer *layer, gint64 in_channels,
                              gint64 shapes[NP_LAYER_MAX_PARAMS][4]);

G_END_DECLS
