/* neuropaint — what the files of core/nn/ share: layers, their classes and
 * the network's insides. Nothing outside core/nn/ (but its unit tests)
 * includes this. */
#pragma once

#include "np-nn.h"
#include "util/np-cpu.h"
#include "util/np-parallel.h"

#include <stddef.h>

G_BEGIN_DECLS

typedef struct _NpLayer NpLayer;

/* Which parameters a layer trains, and which it only carries (batch norm's
 * running statistics, updated by forward in training, never by gradients). */
typedef enum
{
  NP_PARAM_TRAINABLE,
  NP_PARAM_BUFFER,
} NpParamKind;

/* What a layer's forward and backward get besides their tensors: the
 * threads, a workspace per thread and one shared, of the sizes the layer
 * asked for, and the call's NpCompute as it applies to layers. */
typedef struct
{
  gint      n_threads;
  gfloat  **workspace;   /* n_threads blocks */
  gfloat   *shared;      /* one block for all threads */
  NpBnMode  bn_mode;     /* NP_BN_RUNNING or NP_BN_BATCH, never NP_BN_MODEL */
  gboolean  training;    /* batch norm keeps its batch statistics, dropout
                          * drops */
  gboolean  param_grads; /* backward adds parameter gradients */
  gboolean  update_running; /* training: batch norm moves its running statistics */
  gint64    first_image; /* the batch's first image in a larger one (dropout) */
} NpLayerRun;

#define NP_LAYER_MAX_INPUTS 2
#define NP_LAYER_MAX_PARAMS 4
#define NP_LAYER_MAX_FUSED  4

/* Hyper-parameters, read from the description line (those a kind takes no
 * key for stay 0). */
typedef struct
{
  gint64     channels;    /* input: c; conv/convt/linear: out */
  NpConvGeom geom;        /* conv, convt */
  gfloat     slope;       /* lrelu */
  gfloat     eps;         /* batchnorm */
  gfloat     momentum;    /* batchnorm: running statistics' update rate */
  gfloat     rate;        /* dropout */
  gint       factor;      /* upsample, pixelshuffle */
  gint       grid_h, grid_w; /* reshape: the output's h and w */
} NpLayerParams;

typedef enum
{
  NP_KEY_INT,       /* an integer, into a gint or gint64 field */
  NP_KEY_FLOAT,     /* a number, into a gfloat field */
  NP_KEY_PADDING,   /* "p=1" pads both sides, "p=1:2" 1 before and 2 after
                     * (Keras's 'same' with an even kernel and stride 1),
                     * into an NpConvGeom */
  NP_KEY_INPUT,     /* a layer's name: the one whose output is the second
                     * input */
} NpKeyType;

/* A key a kind accepts on its description line, declared once as libvips
 * declares an argument: where the value goes in NpLayerParams, its range,
 * and its default (PyTorch's, so a description only states what differs)
 * unless it is required. name= and from= (the first input, by default the
 * line before) every kind takes. */
typedef struct
{
  const char *name;
  NpKeyType   type;
  gsize       offset, size;   /* of the field in NpLayerParams */
  double      lo, hi;
  double      value;
  gboolean    required;
} NpLayerKey;

#define NP_KEY_FIELD(field) offsetof (NpLayerParams, field), sizeof (((NpLayerParams *) NULL)->field)

/* How np_net_init_random starts a parameter. */
typedef enum
{
  NP_INIT_ZERO,     /* biases, running means */
  NP_INIT_ONE,      /* batch norm's scale and running variance */
  NP_INIT_NORMAL,   /* weights: N(0, std) */
} NpParamInit;

/* A layer kind: everything the parser, the network and the planner ask of
 * it, so none of them looks at a kind and a new kind is a row of
 * np_layer_classes plus its file. */
typedef struct
{
  NpLayerKind kind;
  const char *name;            /* the description's word */
  /* Inputs: 0 for the network's inputs (the caller's tensors), 2 for a
   * concatenation or a sum. */
  gint        n_inputs;
  /* The keys it takes besides name= and from=, ending in a NULL name
   * (NULL: none). */
  const NpLayerKey *keys;
  /* Names of the parameter tensors, in order (suffixes after "NAME."),
   * which of them are trained, and how each starts. */
  const char *param_names[NP_LAYER_MAX_PARAMS];
  NpParamKind param_kinds[NP_LAYER_MAX_PARAMS];
  NpParamInit param_inits[NP_LAYER_MAX_PARAMS];
  /* Output channels for these input channel counts. */
  gint64   (*out_channels) (const NpLayer *layer, const gint64 *in_channels);
  /* Output shape for these inputs, or FALSE with an error. */
  gboolean (*shape)     (const NpLayer *layer, const NpTensor *const *in,
                         gint64 out_ne[4], GError **error);
  /* The input's scale (its side over the network input's) mapped to the
   * output's: times the stride of a convolution, over an upsampling's
   * factor (NULL: unchanged). */
  double   (*scale)     (const NpLayer *layer, double in);
  /* Parameter shapes (PyTorch's), once the input channel count is known. */
  void     (*param_shapes) (const NpLayer *layer, gint64 in_channels,
                            gint64 shapes[NP_LAYER_MAX_PARAMS][4]);
  /* The rows of its weight (params[0]) seen as a matrix of its outputs ×
   * the rest, PyTorch's dim 0, as spectral norm sees it (NULL: a weight
   * laid out otherwise, or none). */
  gint64   (*weight_rows) (const NpLayer *layer);
  /* Multiply-adds ×2 of forward at these shapes (NULL: none worth
   * counting). */
  double   (*flops)     (const NpLayer *layer, const NpTensor *const *in,
                         const NpTensor *out);
  /* Floats of per-thread workspace forward (or backward) needs (NULL:
   * none); may also ask for a workspace shared by all threads through
   * *shared. */
  gsize    (*workspace) (const NpLayer *layer, const NpTensor *const *in,
                         const NpTensor *out, gboolean backward, gsize *shared);
  /* Floats forward keeps for backward in training (batch norm's batch
   * statistics), at layer->saved. */
  gsize    (*saved)     (const NpLayer *layer, const NpTensor *const *in);
  void     (*forward)   (NpLayer *layer, const NpTensor *const *in,
                         NpTensor *out, const NpLayerRun *run);
  /* Training: backward gets d(loss)/d(out), ADDS d(loss)/d(in) into d_in[j]
   * (NULL where no gradient is wanted; a tensor may feed several layers) and,
   * when run->param_grads, adds parameter gradients into layer->grads. */
  void     (*backward)  (NpLayer *layer, const NpTensor *const *in,
                         const NpTensor *out, const NpTensor *d_out,
                         NpTensor *const *d_in, const NpLayerRun *run);
  /* Output may share its input's memory (pointwise layers); in training
   * too when backward_from_output says so for this layer (its backward
   * needs its output, not its input; NULL: never). */
  gboolean in_place;
  gboolean (*backward_from_output) (const NpLayer *layer);
  /* Backward reads the layer's own output (so nothing may overwrite it in
   * place). */
  gboolean backward_reads_output;
  /* The output is the inputs side by side along C, so their producers may
   * write straight into it and forward copies nothing. */
  gboolean concatenates;
  /* Forward applies the layer's `fused` pointwise layers to its output while
   * it is still in cache (convolutions). */
  gboolean fuses_pointwise;
  /* A pointwise layer such a producer may apply for it, on these
   * statistics (NULL: none): its part of np_nn_epilogue for one channel,
   * which either folds itself into the affine map a·x + b still to apply
   * or applies the map and itself to x and leaves the identity. */
  gboolean (*fusable)   (const NpLayer *layer, NpBnMode bn_mode);
  void     (*epilogue)  (const NpLayer *layer, gint64 channel, gfloat *a, gfloat *b,
                         gfloat *x, gsize n);
} NpLayerClass;

struct _NpLayer
{
  const NpLayerClass *klass;
  gchar        *name;          /* NULL for anonymous layers */
  gint          index;         /* in the network */
  gint          n_inputs;
  gint          inputs[NP_LAYER_MAX_INPUTS];   /* indices of earlier layers */
  NpLayerParams p;
  gint          n_params;
  /* Views into the network's parameter block, and (trainable ones, once the
   * network trains) into its gradient block; data NULL otherwise. */
  NpTensor      params[NP_LAYER_MAX_PARAMS];
  NpTensor      grads[NP_LAYER_MAX_PARAMS];
  /* Training: what forward keeps for backward (klass->saved floats), and the
   * key of this forward's random numbers (dropout masks). */
  gfloat       *saved;
  guint64       key;
  /* Set by the network before each run: the pointwise layers (batch norm on
   * running statistics, activations, dropout) right after this one that its
   * forward applies itself, and whether this layer is one of them (its own
   * forward is then skipped). */
  gint          n_fused;
  NpLayer      *fused[NP_LAYER_MAX_FUSED];
  gboolean      is_fused;
};

/* The table of kinds, by NpLayerKind (layer.c). */
extern const NpLayerClass *const np_layer_classes[NP_LAYER_COUNT];

extern const NpLayerClass np_input_class, np_conv_class, np_convt_class,
  np_batchnorm_class, np_dropout_class, np_lrelu_class, np_relu_class,
  np_tanh_class, np_sigmoid_class, np_concat_class, np_upsample_class,
  np_linear_class, np_pixelshuffle_class, np_add_class, np_reshape_class;

/* The network. Parsing (parse.c) fills the layers and answers which are the
 * inputs; net.c owns the parameter blocks; plan.c plans activations and runs
 * forward; backward.c runs backward. */
struct _NpNet
{
  gchar      *description;
  GPtrArray  *layers;          /* NpLayer* */
  gint64     *channels;        /* output channels per layer */
  gint       *n_consumers;     /* how many layers read each layer's output */
  GHashTable *metadata;
  NpBnMode    bn_mode;         /* the model file's (np_net_set_bn_mode) */

  /* Every parameter in one block: the trainable ones first, in layer order,
   * then the buffers; gradients of the trainable ones in a block of the same
   * layout (llm.c's), so optimisers run one flat loop. */
  gfloat     *param_block;
  gsize       n_trainable, n_params;
  /* The block is another network's (np_net_new_view): never freed here,
   * never written (no training). */
  gboolean    borrows_params;
  gfloat     *grad_block;

  /* The plan for the last input shape, in training or not, and the last
   * forward's run, whose options backward reuses. */
  gint64      plan_ne[NP_LAYER_MAX_INPUTS * 4];
  gint        plan_inputs;
  gboolean    plan_training;
  NpLayerRun  run;
  NpTensor  **outputs;         /* per layer; aliases where in place */
  gboolean   *owns_output;
  NpTensor  **d_outputs;       /* gradients, per layer (training) */
  gfloat     *saved;           /* what forward keeps for backward */
  gfloat    **workspace;
  gsize       workspace_size;
  gint        workspace_threads;
  gfloat     *shared;
  gsize       shared_size;
};

/* Work below this many floats is not worth a thread. */
#define NP_NN_GRAIN 16384

/* Floats of im2col columns a thread keeps at once: about half of a Zen 4
 * core's L2, so the columns are still cached when sgemm reads them. */
#define NP_NN_COL_BUDGET (128 * 1024)

/* Layers split work into at least this many pieces where they can, whatever
 * the thread count, so the pieces (and the sums) never depend on it. */
#define NP_NN_MIN_JOBS 4

/* Parses a description into layers (parse.c, which also answers the input
 * queries of np-nn.h). */
gboolean np_net_parse        (NpNet *net, const char *description, GError **error);
/* A network whose parameters have shapes but no memory (data NULL), for
 * loaders that check a file against the shapes before allocating: a hostile
 * description cannot make us allocate more than the file it came in. */
NpNet   *np_net_new_unallocated (const char *description, GError **error);
/* Gives an unallocated network its parameter block (zeroed). */
gboolean np_net_allocate     (NpNet *net, GError **error);
/* Plans activations for these inputs, for training or not (plan.c);
 * backward reuses the plan. */
gboolean np_net_plan         (NpNet *net, const NpTensor *const *inputs, gint n_inputs,
                              gboolean training, gint n_threads, GError **error);
void     np_net_free_plan    (NpNet *net);
/* Input layer `which` (0-based among the input layers), or NULL (parse.c). */
NpLayer *np_net_input_layer  (const NpNet *net, gint which);

/* y = act(a·x + b) for a pointwise kind; y = a·x + b for any other. */
void     np_nn_pointwise     (NpLayerKind kind, const NpLayerParams *p, gfloat a, gfloat b,
                              const gfloat *x, gfloat *y, gsize n);
/* Adds bias to n outputs of `channel` and applies the layer's fused
 * pointwise layers, in place. */
void     np_nn_epilogue      (const NpLayer *layer, gint64 channel, gfloat bias,
                              gfloat *x, gsize n);

/* Whether the layer is one of the network's inputs. */
static inline gboolean
np_layer_is_input (const NpLayer *layer)
{
  return layer->klass->n_inputs == 0;
}

/* dst += src, elementwise over equal shapes (strided images allowed),
 * planes shared out among the threads. */
void     np_nn_accumulate    (NpTensor *dst, const NpTensor *src, gint n_threads);

/* grad[c] += Σ over the pixels of image n, channel c of d_out (a bias's
 * gradient), channels shared out among the threads, each sum in double in
 * pixel order. */
void     np_nn_bias_grad     (const NpTensor *d_out, gint64 n, gfloat *grad, gint n_threads);

/* The right operand B (k × n) of np_nn_gemm_b: a matrix, B[r, j] =
 * data[r·ld + j] (data[j·ld + r] when trans), or, when geom is set, the
 * im2col columns of the image at data (channels of h × w) for an oh × ow
 * output, made as they are needed: B[r, j] = col[r][p0 + j], or when trans
 * B[p, j] = col[r0 + j][p0 + p] (np_im2row). When rows is set too (our
 * kernels only), B[r, j] = data[rows[r] + j], read in place: one output row
 * of a stride-1 convolution, whose columns are its zero-padded input's rows
 * shifted by each kernel tap, with a kernel strip's width (NP_NN_GEMM_MAX_NR
 * floats) readable past the last; geom then gives the blocking alone. */
typedef struct
{
  const gfloat     *data;
  gint64            ld;
  gboolean          trans;
  const NpConvGeom *geom;
  gint              h, w, oh, ow;
  gint64            p0, r0;
  const gint64     *rows;
} NpGemmB;

/* The left operand A (m × k) of np_nn_gemm_b: A[i, p] = data[i·ld + p]
 * (data[p·ld + i] when trans). packed, when not NULL, holds the rows of a
 * larger A of packed_m rows (rounded up as np_nn_gemm_pack_a rounds them)
 * laid out by np_nn_gemm_pack_a for this B, this A from its row packed_i0
 * on: calls sharing A pack it once. */
typedef struct
{
  const gfloat *data;
  gint64        ld;
  gboolean      trans;
  const gfloat *packed;
  gint64        packed_m, packed_i0;
} NpGemmA;

/* Our kernels' tiles are at most this many rows high and columns wide. */
#define NP_NN_GEMM_MAX_MR 8
#define NP_NN_GEMM_MAX_NR 32

/* C = A·B (+ C when add), single-threaded, C row-major: our kernels for the
 * CPU (sgemm.c) or OpenBLAS (generic). The OpenBLAS route lays out an im2col
 * B whole in col (k × n floats; unused otherwise, NULL for a matrix B). */
void     np_nn_gemm_b        (gint64 m, gint64 n, gint64 k, const NpGemmA *a, const NpGemmB *b, gboolean add,
                              gfloat *c, gint64 ldc, gfloat *col);
/* Rows [i0, i1) of A (m × k) packed for np_nn_gemm_b with this B, into
 * the layout of all m rows at dst: (m + NP_NN_GEMM_MAX_MR) · k floats at
 * most; packed_m is m rounded up to a multiple of np_nn_gemm_mr, and so
 * must i0 be. Nothing for OpenBLAS. */
void     np_nn_gemm_pack_a   (const NpGemmA *a, gint64 m, gint64 k, const NpGemmB *b, gint64 i0, gint64 i1,
                              gfloat *dst);
/* The rows of our kernel's tiles (1 for OpenBLAS). */
gint     np_nn_gemm_mr       (void);
/* np_nn_gemm_b on a matrix B. */
void     np_nn_gemm          (gboolean ta, gboolean tb, gint64 m, gint64 n, gint64 k, const gfloat *a,
                              gint64 lda, const gfloat *b, gint64 ldb, gboolean add, gfloat *c, gint64 ldc);
/* Whether our kernels run, making im2col columns block by block as they go
 * (otherwise callers may lay them out once and share them). */
gboolean np_nn_gemm_own      (void);
/* Whether np_nn_gemm_b runs our kernels on a product n columns wide with
 * this B, given memory for the columns or not (col), and A not packed
 * beforehand: callers pack A for a batch of such products only then. */
gboolean np_nn_gemm_own_takes (gint64 n, const NpGemmB *b, gboolean col);

/* C = A·B (+ C when add) as independent np_nn_gemm_b calls on a grid of
 * tiles of C fixed by the shape alone, run on n_threads: the same bits for
 * any thread count. B is a matrix or pixel-major columns (np_im2row), which
 * need no workspace; A is packed once for all tiles into pack ((m +
 * NP_NN_GEMM_MAX_MR) · k floats), or was already when packed (the weights,
 * by the call for a batch's first image, with a B of the same kind). */
void     np_nn_gemm_tiled    (gint n_threads, gint64 m, gint64 n, gint64 k, const NpGemmA *a,
                              const NpGemmB *b, gboolean add, gfloat *c, gint64 ldc, gfloat *pack,
                              gboolean packed);

/* Helpers for the class tables. */
extern const NpLayerKey np_conv_keys[];   /* conv's, convt's */
gint64   np_nn_same_channels (const NpLayer *layer, const gint64 *in_channels);
gboolean np_nn_same_shape    (const NpLayer *layer, const NpTensor *const *in,
                              gint64 out_ne[4], GError **error);
void     np_nn_no_params     (const NpLayer *layer, gint64 in_channels,
                              gint64 shapes[NP_LAYER_MAX_PARAMS][4]);
/* Every weight meets every output pixel (convolutions, linear layers). */
double   np_nn_output_flops  (const NpLayer *layer, const NpTensor *const *in,
                              const NpTensor *out);
/* Weights [out, …] (convolutions, linear layers): out rows. */
gint64   np_nn_out_rows      (const NpLayer *layer);

G_END_DECLS
