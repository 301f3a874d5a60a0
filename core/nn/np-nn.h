/* neuropaint — the neural core: tensors, layers, networks and model files.
 *
 * Overview
 * --------
 * A network (NpNet) is built from a text description, one layer a line:
 *
 *     input name=src c=3
 *     conv  name=e1 out=64 k=4 s=2 p=1
 *     lrelu slope=0.2
 *     convt name=d1 out=3 k=4 s=2 p=1
 *     concat with=src
 *     tanh
 *
 * Each layer reads the previous line's output unless `from=NAME` says
 * otherwise; `concat` and `add` take their second input from `with=NAME`.
 * Named layers own parameters called NAME.weight, NAME.bias (and NAME.running_mean, NAME.running_var for batch
 * norm), PyTorch's layouts, so a state_dict maps onto them one to one.
 * np_arch_describe() writes the descriptions of the seed's architectures
 * (the pix2pix U-Net, the PatchGAN, the super-resolution net) from a few
 * numbers, and model files (safetensors) store the description in their
 * metadata, so a file is self-describing:
 *
 *     g_autoptr(NpNet) net = np_net_load ("gray2color.safetensors", &error);
 *     const NpTensor *out = np_net_forward (net, &input, 1,
 *                                           &(NpCompute) { .n_threads = 4 }, &error);
 *
 * Layers are darknet-style: each kind is one file with a constructor-free
 * class (NpLayerClass: the keys its line takes, its parameters and how they
 * start, its shape, scale and FLOPs, forward and backward; no update, as the
 * optimiser runs over one flat block) and a row in the table of kinds, so
 * the parser and the network's loops (forward in order, backward in
 * reverse) never change when a kind is added. Training follows llm.c: parameters, gradients and the optimiser's
 * state are blocks of one layout, forward keeps what backward needs, and
 * backward adds into the gradients, so a step reads top to bottom:
 *
 *     NpCompute train = { .n_threads = 4, .training = TRUE, .bn_mode = NP_BN_BATCH,
 *                         .key = step };                  // dropout's masks
 *     y = np_net_forward (net, &x, 1, &train, &error);
 *     np_net_zero_grad (net, &error);
 *     loss = np_loss_l1 (y, target, 1.0f, d_y);          // d_y zeroed first
 *     np_net_backward (net, d_y, NP_GRAD_PARAMS, 4, &error);
 *     np_adam_step (adam, np_net_trainable (net), np_net_gradients (net), 4);
 *
 * Memory is explicit: the network plans every activation for an input shape
 * once (np_net_forward re-plans only when the shape, or training, changes)
 * and allocates one workspace per thread and one shared, sized by the
 * largest layer's needs.
 */
#pragma once

#include <glib.h>
#include "np-error.h"
#include "image/np-image.h"

G_BEGIN_DECLS

/* ---- Tensors ----------------------------------------------------------- */

/* A float32 tensor in NCHW order. ne[] counts elements per dimension from the
 * fastest: ne[0] = W, ne[1] = H, ne[2] = C, ne[3] = N; nb[] are byte strides:
 * nb[0] = sizeof (float), nb[i] = nb[i-1] * ne[i-1] for a contiguous tensor.
 * A tensor either owns data (np_tensor_new) or views another's memory. */
typedef struct
{
  gint64  ne[4];
  gsize   nb[4];
  gfloat *data;
  gboolean owns_data;
} NpTensor;

/* The largest tensor we accept (elements): 2^31, i.e. 8 GiB of floats.
 * Anything bigger in a file is hostile or a mistake. */
#define NP_TENSOR_MAX_ELEMENTS (G_GINT64_CONSTANT (1) << 31)

NpTensor *np_tensor_new      (gint64 w, gint64 h, gint64 c, gint64 n, GError **error);
void      np_tensor_free     (NpTensor *tensor);
NpTensor  np_tensor_view     (gfloat *data, gint64 w, gint64 h, gint64 c, gint64 n);
gint64    np_tensor_n_elements (const NpTensor *tensor);
gboolean  np_tensor_same_shape (const NpTensor *a, const NpTensor *b);

static inline gfloat *
np_tensor_at (const NpTensor *t, gint64 x, gint64 y, gint64 c, gint64 n)
{
  return (gfloat *) ((guint8 *) t->data + x * t->nb[0] + y * t->nb[1] + c * t->nb[2] + n * t->nb[3]);
}

/* Image n of t: N(0, 1) from np_rng seeded with seed, channel by channel,
 * row by row, so a seed names the same numbers on every machine: the noise
 * the noise experiment trains on, and the dream faces it makes. */
void      np_tensor_fill_normal (NpTensor *t, gint64 n, guint64 seed);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpTensor, np_tensor_free)

/* ---- Linear algebra (darknet's gemm in cblas order, over OpenBLAS) ------ */

/* C = alpha · op(A) · op(B) + beta · C, row-major, single-threaded: callers
 * split work across threads themselves (OpenBLAS's own threading on the
 * skinny shapes of convolutions is erratic; see docs/seed.md). */
void np_gemm (gboolean ta, gboolean tb, gint m, gint n, gint k, gfloat alpha,
              const gfloat *a, gint lda, const gfloat *b, gint ldb,
              gfloat beta, gfloat *c, gint ldc);

/* The geometry of a 2-D convolution window: kernel k×k, stride s, padding
 * pad0 before (top, left) and pad1 after (bottom, right). */
typedef struct
{
  gint k, s, pad0, pad1;
} NpConvGeom;

static inline gint64
np_conv_out_size (const NpConvGeom *g, gint64 in)
{
  return (in + g->pad0 + g->pad1 - g->k) / g->s + 1;
}

/* im2col for one image: col[(c·k + ky)·k + kx][p - p0] for output pixels
 * p in [p0, p1) (p = oy·ow + ox), rows ld floats apart (ld >= p1 - p0), zero
 * where the window leaves the image. col2im is its adjoint for the output
 * rows [oy0, oy0 + oh): it adds col (rows ld floats apart) back into the
 * image. */
void np_im2col (const gfloat *im, gint channels, gint h, gint w,
                const NpConvGeom *g, gint oh, gint ow,
                gint64 p0, gint64 p1, gfloat *col, gint64 ld);
void np_col2im (const gfloat *col, gint64 ld, gint channels, gint h, gint w,
                const NpConvGeom *g, gint oy0, gint oh, gint ow, gfloat *im);
/* im2col transposed: row[(p - p0)·ld + r - r0] = col[r][p] for output pixels
 * p in [p0, p1) and rows r in [r0, r1) of the columns, pixel by pixel (a
 * weight gradient's operand, without laying out the columns first). */
void np_im2row (const gfloat *im, gint h, gint w, const NpConvGeom *g, gint ow,
                gint64 p0, gint64 p1, gint64 r0, gint64 r1, gfloat *row, gint64 ld);

/* ---- Layers ------------------------------------------------------------ */

typedef enum
{
  NP_LAYER_INPUT,
  NP_LAYER_CONV,
  NP_LAYER_CONVT,
  NP_LAYER_BATCHNORM,
  NP_LAYER_DROPOUT,
  NP_LAYER_LRELU,
  NP_LAYER_RELU,
  NP_LAYER_TANH,
  NP_LAYER_SIGMOID,
  NP_LAYER_CONCAT,
  NP_LAYER_UPSAMPLE,
  NP_LAYER_LINEAR,
  NP_LAYER_PIXELSHUFFLE,
  NP_LAYER_ADD,
  NP_LAYER_RESHAPE,
  NP_LAYER_COUNT
} NpLayerKind;

const char *np_layer_kind_name (NpLayerKind kind);

/* ---- A call's options ------------------------------------------------- */

/* Batch norm's statistics: the running ones stored in the model (PyTorch's
 * eval mode), or those of the batch being processed (training, and the
 * seed's Keras model, which called BatchNormalization with training=True
 * also when generating); NP_BN_MODEL, in NpCompute, leaves the choice to
 * the model file (np_net_get_bn_mode). */
typedef enum
{
  NP_BN_MODEL,
  NP_BN_RUNNING,
  NP_BN_BATCH,
} NpBnMode;

/* How one forward runs: everything that may differ from one call to the
 * next, so a network carries no mode between calls and each of a trainer's
 * passes (a micro-batch, a discriminator frozen under the generator, the
 * inference copy) says what it is. A zeroed NpCompute is inference as the
 * model file says, on one thread:
 *
 *     np_net_forward (net, &x, 1, &(NpCompute) { .n_threads = 4 }, &error);
 */
typedef struct
{
  gint      n_threads;
  /* Keep every layer's output (no in-place layers, no fusion, no writing
   * into concatenations) for np_net_backward; batch norm on batch
   * statistics also moves its running statistics (PyTorch's momentum, 0.1
   * by default, unbiased variance); dropout drops, with masks drawn from
   * key. */
  gboolean  training;
  NpBnMode  bn_mode;
  /* The key of the forward's random numbers (dropout masks): a pure
   * function of it, so the same key gives the same masks on any machine and
   * thread count (the trainer derives it from its seed and step). */
  guint64   key;
  /* The inputs are images first.. of a larger batch, one micro-batch of it
   * (gradient accumulation, data-parallel training): dropout draws the
   * masks those images have in the whole batch. */
  gint64    first_image;
  /* Training on batch statistics: leave the running statistics where they
   * are, as PyTorch does with momentum 0: a forward recomputed for
   * backward, or a micro-batch whose statistics another one stands for. */
  gboolean  freeze_running;
} NpCompute;

/* ---- Networks ---------------------------------------------------------- */

typedef struct _NpNet NpNet;

/* Parses a description (see the overview); parameters are allocated and
 * zeroed. Unknown kinds or keys, dangling names and impossible channel counts
 * are NP_ERROR_CORRUPT errors. */
NpNet       *np_net_new           (const char *description, GError **error);
void         np_net_free          (NpNet *net);

const char  *np_net_description   (const NpNet *net);
gint         np_net_n_layers      (const NpNet *net);
gint         np_net_n_inputs      (const NpNet *net);
/* Name and channels of input i. */
const char  *np_net_input_name    (const NpNet *net, gint i);
gint64       np_net_input_channels (const NpNet *net, gint i);
gint64       np_net_output_channels (const NpNet *net);
/* Sides must be multiples of this for every layer's shapes to line up
 * (2^downsamplings for the U-Net). */
gint         np_net_size_multiple (const NpNet *net);
/* The output's side over the input's: 1 for the U-Net, 2 for the ×2
 * super-resolution net. */
double       np_net_output_scale  (const NpNet *net);
/* The output's width and height when every input is width × height (what
 * np_net_forward would make), or FALSE with the error a forward would
 * give. A generator from a latent vector makes its picture from 1 × 1. */
gboolean     np_net_output_size   (NpNet *net, gint64 width, gint64 height,
                                   gint64 *out_width, gint64 *out_height, GError **error);
gint64       np_net_n_parameters  (const NpNet *net, gboolean with_buffers);
/* A parameter by its full name ("e1.weight"), or NULL. */
NpTensor    *np_net_param         (NpNet *net, const char *name);
/* The rows of weight `name` seen as a matrix of the layer's outputs × the
 * rest (PyTorch's dim 0, what spectral norm normalises: a convolution's or
 * linear layer's `out`), or 0 for any other parameter. */
gint64       np_net_weight_rows   (NpNet *net, const char *name);
/* Calls func for every parameter in layer order; `trainable` is FALSE for
 * buffers (batch norm's running statistics). */
void         np_net_foreach_param (NpNet *net,
                                   void (*func) (const char *name, NpTensor *t,
                                                 gboolean trainable, gpointer data),
                                   gpointer data);

/* A network of src's description and metadata whose parameters are src's
 * own, not copied: it plans and keeps its activations and workspace apart,
 * so views of one network run forwards on several threads at once (only
 * the weights are shared, and inference only reads them). For inference
 * only: a view never trains (np_net_forward refuses compute->training, which
 * would move the shared running statistics). src must outlive it and stay
 * unchanged while it lives. */
NpNet       *np_net_new_view      (const NpNet *src, GError **error);

/* Every parameter (running statistics too) of src into dst, a network of
 * the same description (an inference copy of a network in training). */
gboolean     np_net_copy_params   (NpNet *dst, const NpNet *src, GError **error);
/* The parameters of src (running statistics too) into those of dst with the
 * same name, layer kind and shape: a network started from another's trunk
 * (a classifier's head on a regression model's body). With widened not
 * NULL, a convolution of dst that reads more input channels than src's
 * takes src's weights for src's inputs and zeros for the new ones (hint
 * channels after the gray one), so dst starts computing what src did; its
 * weight's name goes into widened. The names of dst's parameters left as
 * they were go into left (when not NULL; both own them); returns how many
 * were copied, widened ones included. */
gint         np_net_copy_matching_params (NpNet *dst, NpNet *src, GPtrArray *left, GPtrArray *widened);

/* Weights N(0, std) (the seed used 0.02) from np_rng_normal, so a seed gives
 * the same weights on every machine; biases 0, batch norm at identity. */
void         np_net_init_random   (NpNet *net, guint64 seed, gfloat std);

/* The batch-norm statistics the model file asks for at inference (its
 * "batchnorm" metadata, saved with it): what NP_BN_MODEL runs on.
 * NP_BN_RUNNING unless set or loaded. */
void         np_net_set_bn_mode   (NpNet *net, NpBnMode mode);
NpBnMode     np_net_get_bn_mode   (const NpNet *net);

/* Runs the network as compute says; inputs are NCHW tensors, one per input
 * layer. The result belongs to the network and stays valid until the next
 * forward. Shapes that do not fit the network are NP_ERROR_INVALID_ARGUMENT
 * errors. Not reentrant: one forward at a time per network. */
const NpTensor *np_net_forward    (NpNet *net, const NpTensor *const *inputs,
                                   gint n_inputs, const NpCompute *compute,
                                   GError **error);

/* ---- Training ------------------------------------------------------------ */

/* Every trainable parameter in one block of np_net_n_parameters (net, FALSE)
 * floats, in layer order; np_net_zero_grad gives their gradients a block of
 * the same layout (NULL before), so an optimiser is one flat loop. */
gfloat      *np_net_trainable     (NpNet *net);
gfloat      *np_net_gradients     (NpNet *net);
/* Zeroes the gradient block (allocating it the first time). */
gboolean     np_net_zero_grad     (NpNet *net, GError **error);

typedef enum
{
  NP_GRAD_PARAMS = 1 << 0,   /* add parameter gradients into the gradient block */
  NP_GRAD_INPUTS = 1 << 1,   /* compute the inputs' gradients (np_net_input_grad) */
} NpGradFlags;

/* After a forward with compute->training: propagates d_output (shaped as
 * the output) back through the network on n_threads, in pieces fixed by the
 * shapes, so the result does not depend on the thread count, with that
 * forward's options (its statistics, key and first image). Parameter
 * gradients ADD to the gradient block (np_net_zero_grad first), so several
 * passes sum; without NP_GRAD_PARAMS the parameters stay out of it (a frozen
 * discriminator passing gradients back to a generator). */
gboolean     np_net_backward      (NpNet *net, const NpTensor *d_output, NpGradFlags what,
                                   gint n_threads, GError **error);
/* A trainable parameter's gradient, a view into the gradient block. */
NpTensor    *np_net_grad          (NpNet *net, const char *name);
const NpTensor *np_net_input_grad (NpNet *net, gint i);

/* Multiply-adds ×2 of one forward at this input size (convolutions and
 * linear layers), for benchmarks. */
double       np_net_flops         (NpNet *net, gint64 width, gint64 height,
                                   gint64 batch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpNet, np_net_free)

/* ---- Architectures ----------------------------------------------------- */

/* The description of a named architecture, from string parameters (the
 * model file's metadata): "unet" (ngf, depth, in_channels, out_channels,
 * dropout_blocks, bn_eps), "patchgan" (ndf, in_channels, out_channels,
 * layers, bn_eps, logits),
 * "sr" (features, in_channels, out_channels). Missing parameters take the
 * seed's values; "graph" means the parameters hold the description itself
 * under "graph". Unknown names and out-of-range values are errors. */
gchar       *np_arch_describe     (const char *architecture, GHashTable *params,
                                   GError **error);

/* ---- Model files (safetensors) ----------------------------------------- */

typedef enum
{
  NP_DTYPE_F32,
  NP_DTYPE_F16,
} NpDType;

/* A parsed safetensors file: named tensors (converted to float32) and the
 * string map __metadata__. */
typedef struct
{
  GHashTable *metadata;   /* gchar* → gchar* */
  GPtrArray  *names;      /* gchar*, in file order */
  GPtrArray  *tensors;    /* NpTensor*, parallel to names: a shape
                             [d0, d1, d2, d3] (outermost first) becomes
                             ne = {d3, d2, d1, d0}, missing dims 1 */
} NpSafetensors;

NpSafetensors *np_safetensors_parse (const guint8 *data, gsize size, GError **error);
NpSafetensors *np_safetensors_read  (const char *path, GError **error);
void           np_safetensors_free  (NpSafetensors *st);
/* The metadata alone (gchar* → gchar*), its header checked as _parse
 * checks it, no tensor read: cheap enough to look at every model. */
GHashTable    *np_safetensors_read_metadata (const char *path, GError **error);
NpTensor      *np_safetensors_get   (NpSafetensors *st, const char *name);

/* Writes the named tensors (in the given order) and metadata, through a
 * temporary file renamed into place. */
gboolean       np_safetensors_write (const char *path, GHashTable *metadata,
                                     const char *const *names,
                                     NpTensor *const *tensors, gint n,
                                     NpDType dtype, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpSafetensors, np_safetensors_free)

/* A model file: the network its metadata describes ("graph", or
 * "architecture" and its parameters), with every parameter loaded and
 * checked against the shape the network expects. */
NpNet       *np_net_load          (const char *path, GError **error);
NpNet       *np_net_load_from_data (const guint8 *data, gsize size, GError **error);
gboolean     np_net_save          (NpNet *net, const char *path, NpDType dtype,
                                   GError **error);
/* Files holding several networks (training checkpoints) name each one's
 * tensors and metadata keys with a prefix ("G.", "D."; "" for a model file):
 * np_net_add_to_file adds the net's parameters (borrowed, not copied) to
 * names/tensors and its description and metadata to metadata (a table that
 * owns its keys and values); np_net_from_file builds and loads the network
 * stored under prefix, checked as np_net_load checks a model file. */
void         np_net_add_to_file   (NpNet *net, const char *prefix, GPtrArray *names,
                                   GPtrArray *tensors, GHashTable *metadata);
NpNet       *np_net_from_file     (NpSafetensors *st, const char *prefix, GError **error);
/* The model's metadata (architecture, input_filter, width, height,
 * normalization, ...); the net owns it, callers may add keys before saving. */
GHashTable  *np_net_metadata      (NpNet *net);

/* ---- Losses -------------------------------------------------------------- */

/* Each returns the loss, a mean over every element, and when grad is not
 * NULL ADDS weight · d(loss)/d(input) into it (shaped as the input), so a
 * generator's terms sum into one gradient. Sums run in double, in a fixed
 * order. */

/* Binary cross-entropy of sigmoid(logits) against a constant target (0 or
 * 1), computed on the logits (max(x, 0) − x·t + log(1 + e^−|x|)), which
 * stays finite where the sigmoid saturates. */
double       np_loss_bce_logits   (const NpTensor *logits, gfloat target, gfloat weight,
                                   NpTensor *grad);
/* |pred − target|; the gradient at 0 is 0, as PyTorch's. */
double       np_loss_l1           (const NpTensor *pred, const NpTensor *target, gfloat weight,
                                   NpTensor *grad);
/* (pred − target)². */
double       np_loss_mse          (const NpTensor *pred, const NpTensor *target, gfloat weight,
                                   NpTensor *grad);
/* (|pred − target| + ε)^½ − ε^½, ε = NP_LOSS_ROOT_EPS: a power below 1 is
 * least where most of the targets are, so where a value is uncertain
 * between a few (a red or a blue shirt) its minimum lies at the likeliest
 * of them, where L1's lies at the median between them and MSE's at the
 * mean. ε keeps the slope finite at 0 (½·ε^−½ = 5 against L1's 1). */
#define NP_LOSS_ROOT_EPS 0.01
double       np_loss_root         (const NpTensor *pred, const NpTensor *target, gfloat weight,
                                   NpTensor *grad);
/* |‖pred‖ − ‖target‖| at each pixel, ‖·‖ the norm over the channels
 * (√(Σ v² + ε), ε = NP_LOSS_MAGNITUDE_EPS keeping its slope finite at 0),
 * a mean over the pixels: beside L1 on a chroma target it asks each pixel
 * to be as saturated as the photo's, whatever hue L1 settles on. */
#define NP_LOSS_MAGNITUDE_EPS 1e-6
double       np_loss_magnitude    (const NpTensor *pred, const NpTensor *target, gfloat weight,
                                   NpTensor *grad);

/* ---- Adam ---------------------------------------------------------------- */

/* Adam (Kingma & Ba) as PyTorch computes it: m ← β1·m + (1−β1)·g,
 * v ← β2·v + (1−β2)·g², p ← p − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε),
 * over a flat block of n parameters and their gradients (np_net_trainable,
 * np_net_gradients). */
typedef struct
{
  gdouble lr, beta1, beta2, eps;
} NpAdamParams;

typedef struct _NpAdam NpAdam;

NpAdam      *np_adam_new          (gsize n, const NpAdamParams *params, GError **error);
void         np_adam_free         (NpAdam *adam);
/* The learning rate of the next steps (a schedule's). */
void         np_adam_set_lr       (NpAdam *adam, gdouble lr);
/* One step (t ← t + 1); elementwise, so any thread count gives the same bits. */
void         np_adam_step         (NpAdam *adam, gfloat *params, const gfloat *grads,
                                   gint n_threads);
/* The state, for checkpoints: the moments (n floats each) and the step
 * count t, all writable so a checkpoint can restore them. */
gsize        np_adam_size         (const NpAdam *adam);
gfloat      *np_adam_m            (NpAdam *adam);
gfloat      *np_adam_v            (NpAdam *adam);
gint64      *np_adam_t            (NpAdam *adam);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpAdam, np_adam_free)

/* Float16 conversion (IEEE binary16, round to nearest even). */
guint16      np_f32_to_f16        (gfloat f);
gfloat       np_f16_to_f32        (guint16 h);

G_END_DECLS
