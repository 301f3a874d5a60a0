/* neuropaint — training generators.
 *
 * The seed's pix2pix step (Isola et al., "Image-to-image translation with
 * conditional adversarial networks", 2017), read top to bottom as llm.c's
 * training loop reads:
 *
 *   fake = G(src)
 *   D:  zero_grad; BCE(D(src, fake), 0)·½ backward; BCE(D(src, real), 1)·½
 *       backward; Adam
 *   G:  BCE(D(src, fake), 1)·gan_weight through the frozen D, plus
 *       recon_weight·L1(fake, real) (or MSE), plus colour_weight·|C(fake) −
 *       C(real)| (colourfulness, np_colourfulness_loss); zero_grad;
 *       backward; Adam
 *
 * With gan_weight 0 there is no discriminator: G learns from the
 * reconstruction term alone. Every random number of a step (dropout masks
 * here; the batch, flips and noise in batch.c) is a pure function of the
 * seed and the step number, so a resumed run continues bit for bit, and the
 * losses of a seed are the same for any thread count.
 *
 *   g_autoptr(NpTrainer) t = np_trainer_new (g_desc, d_desc, &params, &error);
 *   while (np_trainer_step_count (t) < steps)
 *     {
 *       ... fill src and real for step np_trainer_step_count (t) ...
 *       np_trainer_step (t, src, real, 1, n_threads, &losses, &error);
 *     }
 *   np_trainer_save (t, "run.ckpt", NULL, &error);
 */
#pragma once

#include "nn/np-nn.h"
#include "train/np-dataset.h"
#include "model/np-model.h"

G_BEGIN_DECLS

typedef enum
{
  NP_RECON_L1,
  NP_RECON_MSE,
  NP_RECON_CROSS_ENTROPY,  /* a chroma-bins target's, and its only one (np_chroma_bins_loss) */
  NP_RECON_ROOT,           /* L½ (np_loss_root): the likeliest of a few values, not their median */
  NP_RECON_L1_MAGNITUDE,   /* L1 plus the chroma's magnitude's L1 (np_loss_magnitude): a chroma target's */
  NP_N_RECONS,
} NpRecon;

/* Each loss's name (--loss, a checkpoint's "train.recon"): l1, mse,
 * cross-entropy, l0.5, l1+magnitude; NP_N_RECONS for another name. */
const char  *np_recon_name       (NpRecon recon);
NpRecon      np_recon_from_name  (const char *name);

typedef struct
{
  NpAdamParams adam;           /* both networks (the seed: 2e-4, β1 0.5) */
  gdouble      recon_weight;   /* the seed's 100 (·L1) */
  gdouble      gan_weight;     /* the seed's 1; 0: no discriminator */
  NpRecon      recon;
  gdouble      colour_weight;  /* the colourfulness term's (0: none) */
  NpModelTarget target;        /* what G's output stands for: the colours that term measures */
  gdouble      init_std;       /* weights N(0, init_std): the seed's 0.02 */
  guint64      seed;
  /* The learning rate stays adam.lr before step decay_start, then falls
   * linearly towards 0 at step decay_end, as pix2pix's schedule does
   * (decay_end 0: constant). */
  gint64       decay_start, decay_end;
  /* An exponential moving average of G's weights (Karras et al. 2018 and
   * every small-data GAN since): after step s (from 0) avg ← β·avg + (1 −
   * β)·weights with β = min(ema, (1 + s)/(10 + s)), batch norm's running
   * statistics copied; the model a run ships is the average
   * (np_trainer_shipped_generator). 0: none. */
  gdouble      ema;
  /* DiffAugment (np_diffaugment) on every picture a discriminator of the
   * picture alone sees, real and fake, in D's step and G's. */
  gboolean     augment;
  /* Spectral norm on D's weights (Miyato et al. 2018): each convolution's
   * and linear layer's weight W, seen as out × the rest, is used as W/σ, σ
   * its largest singular value estimated by one power iteration a step
   * from a persistent u (v = Wᵀu/‖·‖, u = Wv/‖·‖, σ = uᵀWv), u and v
   * constants of the gradient as PyTorch's spectral_norm has them. The
   * iteration runs once at the start of D's step; G's term sees the
   * updated W over uᵀW'v with the same u, v. The checkpoint holds W
   * itself (PyTorch's weight_orig), u and v. */
  gboolean     spectral_norm;
} NpTrainParams;

typedef struct
{
  gdouble d_real, d_fake;      /* the discriminator's BCE on real and fake pairs */
  gdouble g_gan, g_recon;      /* the generator's adversarial and reconstruction terms */
  gdouble g_colour;            /* … and its colourfulness term (unweighted) */
} NpTrainLosses;

typedef struct _NpTrainer NpTrainer;

/* The mean over images of |C(pred) − C(target)|, C the colourfulness
 * (np_colourfulness, on 0–255) of the colours the target's values stand for
 * (np_model_target_opponents: rgb or chroma), adding weight times its
 * gradient into grad (when not NULL), as the losses of core/nn do. */
double         np_colourfulness_loss     (const NpTensor *pred, const NpTensor *target, NpModelTarget kind,
                                          gfloat weight, NpTensor *grad);

/* DiffAugment's colour, translation and cutout (augment.c) of each image of
 * x into y (shaped as x, not x itself), its draws a pure function of key
 * and the image's place first_image + n in the whole batch; and backward,
 * adding the transpose applied to dy into dx. */
void           np_diffaugment            (const NpTensor *x, NpTensor *y, guint64 key, gint64 first_image);
void           np_diffaugment_backward   (const NpTensor *dy, NpTensor *dx, guint64 key, gint64 first_image);

/* ---- Chroma bins: classification (Zhang et al. 2016) ------------------------
 *
 * The loss of a chroma-bins target (NP_RECON_CROSS_ENTROPY): at each pixel,
 * the softmax cross-entropy of the K logits against a soft encoding of the
 * true chroma (target: Cb·2, Cr·2, as np_model_target_encode gives): its
 * NP_CHROMA_BIN_NEAREST nearest bins, weighted by exp(−d²/2σ²) with σ =
 * NP_CHROMA_BIN_SIGMA on 0–255 and summing to 1; times the rebalancing
 * weight of the nearest bin (bins->weight). The mean over pixels, adding
 * weight times its gradient, (softmax − encoding)·w/count, into grad (when
 * not NULL). Pixels are shared among n_threads by rows; the sum is the
 * rows' in order, so the bits do not depend on the thread count. pred is
 * K×H×W, target 2×H×W, or 2×2H×2W for logits at half the size (the U-Net's
 * half_logits head): each logit pixel then stands for the 2×2 truth pixels
 * it covers, as if repeated over them. */
#define NP_CHROMA_BIN_NEAREST 5
#define NP_CHROMA_BIN_SIGMA   8.0   /* half a bin, as Zhang's σ = 5 on their 10-unit ab grid */
/* The rebalancing's mix with the uniform distribution (Zhang's λ). */
#define NP_CHROMA_BIN_LAMBDA  0.5

double         np_chroma_bins_loss       (const NpTensor *pred, const NpTensor *target,
                                          const NpChromaBins *bins, gfloat weight, NpTensor *grad,
                                          gint n_threads);

/* The bins of a histogram over the grid (counts[(cb/step + G)·(2G + 1) +
 * cr/step + G] pixels nearest each grid point, G = 128/NP_CHROMA_BIN_STEP):
 * the points with pixels, in that order, each weighted by Zhang's class
 * rebalancing, w ∝ ((1 − λ)·p̃ + λ/K)⁻¹, p̃ the bins' share of the pixels
 * smoothed by a Gaussian of σ = NP_CHROMA_BIN_SIGMA over the bins and
 * normalised, and E_p̃[w] = 1. NULL for a histogram of no pixels. */
#define NP_CHROMA_BIN_GRID (2 * (128 / NP_CHROMA_BIN_STEP) + 1)
NpChromaBins  *np_chroma_bins_from_counts (const guint64 *counts);

/* A generator (and a discriminator on logits, when params->gan_weight > 0)
 * from network descriptions, initialised from the seed, in training mode
 * (batch norm on batch statistics). A discriminator of two inputs judges
 * (source, output) pairs, pix2pix's conditional one; of one input, the
 * output alone (a source of noise says nothing of the picture). */
NpTrainer     *np_trainer_new            (const char *generator, const char *discriminator,
                                          const NpTrainParams *params, GError **error);
void           np_trainer_free           (NpTrainer *trainer);
/* A chroma-bins target's classes and weights, which its loss needs before
 * the first step: the trainer keeps a copy, and so does G's metadata
 * ("chroma_bins", "chroma_bin_weights"), so checkpoints carry them. */
void           np_trainer_set_chroma_bins (NpTrainer *trainer, const NpChromaBins *bins);
const NpChromaBins *np_trainer_chroma_bins (const NpTrainer *trainer);

/* One step on a batch (NCHW tensors in [-1, 1]; target shaped as the
 * generator's output), or, in a group (np_trainer_set_group), on this
 * process's part of the step's batch. The batch is n_micro micro-batches of
 * equal size, one after the other: each runs alone (batch norm on its own
 * statistics, as DDP without SyncBatchNorm), and their gradients are summed
 * (np_tree_sum's order, then over the group) and averaged into one update:
 *
 *   for each micro-batch k: fake_k = G(src_k); D's gradients of
 *       ½·BCE(D(src_k, fake_k), 0) + ½·BCE(D(src_k, real_k), 1)
 *   D: Adam on their mean
 *   for each micro-batch k: fake_k = G(src_k) again (the same bits: dropout
 *       masks are the key's); G's gradients of gan_weight·BCE(D(src_k,
 *       fake_k), 1) through the updated D, plus recon_weight·L1(fake_k, real_k)
 *   G: Adam on their mean
 *
 * Batch norm's running statistics move with the step's first micro-batch
 * only (G's first forward and D's three passes on it: what DDP's rank 0
 * broadcasts, and with one micro-batch the whole batch, as before); dropout
 * gives each image the mask it has in the whole batch. One micro-batch
 * leaves G's activations in place (no second forward). The losses are the
 * means over the micro-batches (of the whole group). Allocates only at the
 * first step or when the shapes change. */
gboolean       np_trainer_step           (NpTrainer *trainer, const NpTensor *source,
                                          const NpTensor *target, gint n_micro, gint n_threads,
                                          NpTrainLosses *losses, GError **error);

/* Data-parallel training: n_ranks processes (ranks 0 … n_ranks − 1) each
 * take micro-batches rank·n_micro … of every step's batch and sum their
 * gradients through sum, which replaces the n floats of data with their sum
 * over the ranks, in the order of np_tree_sum over the ranks in rank order
 * (so the bits are the same on every rank, in every run, and R ranks of
 * n_micro = 2^j equal one process with R·n_micro micro-batches). */
typedef gboolean (*NpTrainSumFunc) (gfloat *data, gsize n, gpointer user_data, GError **error);

void           np_trainer_set_group      (NpTrainer *trainer, gint rank, gint n_ranks,
                                          NpTrainSumFunc sum, gpointer user_data);

/* Sums of blocks of n floats in a fixed tree: n leaves split at the largest
 * power of two below n, (0 … p−1) + (p … n−1), each side again so. Leaves
 * are added in order; the result (valid until the next add or reset, and
 * writable) is the same bits for the same leaves, whatever else. Both the
 * trainer's micro-batches and a group's ranks are summed this way. */
typedef struct _NpTreeSum NpTreeSum;

NpTreeSum     *np_tree_sum_new           (gsize n);
void           np_tree_sum_free          (NpTreeSum *sum);
void           np_tree_sum_reset         (NpTreeSum *sum);
void           np_tree_sum_add           (NpTreeSum *sum, const gfloat *leaf);
gfloat        *np_tree_sum_result        (NpTreeSum *sum);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpTreeSum, np_tree_sum_free)

/* Copies the weights the run ships into dst (G's description): the moving
 * average with params->ema > 0, else G's own. */
gboolean       np_trainer_shipped_generator (NpTrainer *trainer, NpNet *dst, GError **error);

/* Steps taken so far. */
gint64         np_trainer_step_count     (const NpTrainer *trainer);
const NpTrainParams *np_trainer_params   (const NpTrainer *trainer);
/* A run resumed for more steps moves its schedule's end. */
void           np_trainer_set_schedule   (NpTrainer *trainer, gint64 decay_start, gint64 decay_end);
/* The networks (the trainer keeps them); the discriminator is NULL when
 * there is none. */
NpNet         *np_trainer_generator      (NpTrainer *trainer);
NpNet         *np_trainer_discriminator  (NpTrainer *trainer);
/* A key for random numbers of step `step` (the stream tells uses apart), a
 * pure function of the seed. */
guint64        np_trainer_key            (const NpTrainer *trainer, gint64 step, guint stream);

/* Checkpoints: one safetensors file with both networks (parameters and
 * running statistics), both optimisers' moments and step counts, the step,
 * the seed and the parameters, G's moving average (params->ema > 0), plus the caller's string metadata (its
 * options, to resume with), written atomically. Loading checks everything
 * and returns the caller's metadata in *metadata. */
gboolean       np_trainer_save           (NpTrainer *trainer, const char *path,
                                          GHashTable *metadata, GError **error);
NpTrainer     *np_trainer_load           (const char *path, GHashTable **metadata,
                                          GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpTrainer, np_trainer_free)

/* ---- Batches from a dataset ------------------------------------------------ */

/* ---- Experiments and architectures ----------------------------------------- */

/* How an experiment's source (what G learns from) is made from a photo. */
typedef enum
{
  NP_SOURCE_STACK,    /* the dataset's picture of the row's stack, as it is */
  NP_SOURCE_NOISE,    /* N(0, 1) noise, 3 channels, a pure function of the batch's key */
  NP_SOURCE_PARTNER,  /* another colour photo of the same subset */
  NP_SOURCE_HALF,     /* the colour photo at half its size, by a rule drawn per pair (aliased bicubic, block
                       * means or antialiased bilinear): the target is twice the source */
  NP_SOURCE_HINTS,    /* the stack's picture and colour hints simulated from the photo, as Zhang et al.
                       * 2017 did (np_batcher_random): NP_MODEL_HINT_CHANNELS more channels */
  NP_SOURCE_LATENT,   /* N(0, 1) noise of NP_TRAIN_LATENT channels of 1×1, a pure function of the batch's
                       * key: a generator's z */
} NpSource;

/* The channels of a latent source: DCGAN's and FastGAN's z. */
#define NP_TRAIN_LATENT 128

/* An experiment: one row of the table in experiments.c, picked by --input.
 * Everything but the source is a default that an option overrides. */
typedef struct
{
  const char   *name;           /* --input, and the model file's "experiment" */
  const char   *title;          /* what it is, for messages */
  NpSource      source;
  const char   *stack;          /* the dataset stack the source is made from ("gray", …, "color") */
  const char   *input_filter;   /* what a model trained on it records: the filter inference applies */
  const char   *architecture;   /* G's default --arch (np_train_arch_find) */
  NpModelTarget target;         /* the default --target */
  guint         targets;        /* the targets it can learn: 1 << NpModelTarget each */
  NpRecon       recon;          /* the default reconstruction loss (--loss) */
  gdouble       recon_weight;   /* … its weight (--l1-weight) */
  gdouble       gan_weight;     /* the adversarial term's (--gan-weight; 0: no discriminator) */
  gdouble       ema;            /* G's weights' moving average (--ema; 0: none) */
  gboolean      augment;        /* DiffAugment (--augment) */
  gboolean      spectral_norm;  /* spectral norm on D (--d-norm) */
  /* The trivial baselines validation reports: the input itself as a
   * picture, under this name (NULL: the input is no picture of the target,
   * as noise or the photo itself); and the training photos' per-pixel mean,
   * of their colour or (mean_chroma) of their chroma on the input's
   * luminance. */
  const char   *input_baseline;
  gboolean      mean_chroma;
  gboolean      flip;           /* augmentation: random horizontal flips */
  /* The target is the photo shrunk by this factor, each pixel the mean of
   * its shrink × shrink block (0 or 1: as it is): a generator from noise
   * learns at 64×80 what the dataset holds at 256×320, 16× cheaper. */
  gint          shrink;
} NpExperiment;

/* The experiment named name, or NULL. */
const NpExperiment *np_experiment_find         (const char *name);
/* The table: *n experiments. */
const NpExperiment *np_experiment_list         (guint *n);
/* Whether e can learn target; if not, an NP_ERROR_INVALID_ARGUMENT error
 * that says which input it needs. */
gboolean      np_experiment_check_target (const NpExperiment *e, NpModelTarget target, GError **error);

/* A generator architecture: one row of the registry in architectures.c,
 * picked by --arch (by default the experiment's). */
typedef struct _NpTrainArch NpTrainArch;
struct _NpTrainArch
{
  const char *name;       /* --arch, and the model file's "architecture" */
  const char *width_key;  /* the architecture parameter --ngf sets, as the model file records it */
  gint        width;      /* its default */
  /* G's description, in_channels to out_channels at width (and, where the
   * row has a depth_key, depth blocks; 0: the architecture's default), for targets of
   * out_width × out_height (which a generator from a latent vector makes
   * from a grid of that size over 2^blocks); with logits, out_channels
   * class logits (a chroma-bins target's) rather than a picture (an
   * architecture without a classifier's head refuses). */
  gchar    *(*describe) (const NpTrainArch *arch, gint64 in_channels, gint64 out_channels, gint width,
                         gint depth, gboolean logits, gint64 out_width, gint64 out_height, GError **error);
  /* D's architecture (np_arch_describe; NULL: pix2pix's conditional
   * patchgan), and whether G makes a picture from a latent vector (its
   * output's size is its own, not a multiple of its input's). */
  const char *discriminator;
  gboolean    from_latent;
  /* The architecture parameter --blocks sets (NULL: none; unset, the
   * architecture's own default). */
  const char *depth_key;
};

/* The blocks of a generator from a latent vector (np_arch_describe's
 * default): its pictures' sides are multiples of 2^blocks. */
#define NP_TRAIN_LATENT_BLOCKS 4

/* The architecture named name, or NULL. */
const NpTrainArch *np_train_arch_find          (const char *name);
/* For an architecture from a latent vector, the grid that makes out_width ×
 * out_height (grid_w, grid_h into params, as G's and D's descriptions take
 * them), or FALSE with an error when its sides do not divide; nothing for
 * others. */
gboolean      np_train_arch_grid         (const NpTrainArch *arch, gint64 out_width, gint64 out_height,
                                          GHashTable *params, GError **error);
/* The registry: *n architectures. */
const NpTrainArch *np_train_arch_list          (guint *n);

typedef struct _NpBatcher NpBatcher;

/* The stream of np_trainer_key that picks a step's batch. */
#define NP_TRAIN_STREAM_BATCH 1

/* Pairs of the experiment from the dataset's items of one split, leaving
 * out photos that are already gray (their colour is no target). Fails when
 * the split has no usable item (or, for a partner source, no subset with
 * two), or for a target the experiment cannot learn. */
NpBatcher    *np_batcher_new             (NpDataset *dataset, const NpExperiment *experiment,
                                          NpModelTarget target,
                                          NpSplit split, GError **error);
void          np_batcher_free            (NpBatcher *batcher);
guint         np_batcher_size            (const NpBatcher *batcher);
/* Shapes for a batch of n: source (C×H×W: the input's channels, half the
 * size for a half-size source) and target. */
void          np_batcher_shapes          (const NpBatcher *batcher, gint n, gint64 source_ne[4],
                                          gint64 target_ne[4]);
/* Simulated colour hints (a hint source), as Zhang et al. 2017 trained
 * theirs: with probability NP_BATCHER_NO_HINTS a crop has none at all,
 * otherwise their count is geometric with p = 1/8 (0, 1, 2, … with
 * probability p·(1 − p)^k, so 1/8 of these have none too), each a square
 * patch of 1 to 9 pixels (uniform) at a uniform place wholly inside the
 * crop, carrying the patch's mean colour; a later patch covers an earlier
 * one. No hints is the default model's first use: the extra share makes
 * about a quarter of the crops hintless (1/8 + 7/8 · 1/8 = 23 %), where
 * geometric draws alone give 12.5 %, so one model serves both uses. */
#define NP_BATCHER_NO_HINTS  0.125
#define NP_BATCHER_HINT_P    0.125
#define NP_BATCHER_HINT_MAX  9
/* Validation's hints (np_batcher_items): count hints of 5×5 pixels, each
 * carrying its patch's true mean colour, at places fixed for each photo
 * and count (0, the default: none). Random batches always simulate. */
#define NP_BATCHER_VAL_HINT  5
void          np_batcher_set_hints       (NpBatcher *batcher, gint count);
/* A random batch (items, horizontal flips, noise, morph partners, hints)
 * that is a pure function of key, into tensors of np_batcher_shapes: item first + n
 * of the batch into image n (a process's part of a larger batch). */
void          np_batcher_random          (NpBatcher *batcher, guint64 key, gint64 first,
                                          NpTensor *source, NpTensor *target);
/* Items first .. first + n − 1 in order, unflipped (validation, samples;
 * noise from key). */
void          np_batcher_items           (NpBatcher *batcher, guint first, guint64 key,
                                          NpTensor *source, NpTensor *target);
/* The picture the generator's output stands for, R'G'B' in [0, 1]
 * (rgb: C = 3, H, W, N as the target): the output itself, its chroma on
 * the source's luminance, or the source's bicubic upscale plus it. */
void          np_batcher_compose         (const NpBatcher *batcher, const NpTensor *source,
                                          const NpTensor *output, const NpChromaBins *bins,
                                          NpTensor *rgb);
/* A chroma-bins target's classes from the batcher's photos (all of them, as
 * they are: a flip moves no colour): the grid points the pixels' chroma
 * lies nearest to, with their rebalancing weights (np_chroma_bins_from_counts).
 * A pure function of the split's photos. */
NpChromaBins *np_batcher_chroma_bins     (const NpBatcher *batcher, GError **error);
/* The source as a picture (R'G'B' in [0, 1], shaped as the target): gray
 * and the filters as they are, a half-size source bicubic to full size,
 * noise as (x + 1)/2, hints as their chroma on the gray's luminance. */
void          np_batcher_source_picture  (const NpBatcher *batcher, const NpTensor *source,
                                          NpTensor *rgb);
/* The colour photos of items first .. first + n − 1 (R'G'B' in [0, 1]). */
void          np_batcher_photos          (const NpBatcher *batcher, guint first, NpTensor *rgb);

/* Trivial baselines a model must beat, as pictures of the items (the
 * experiment says which): the input (the input itself shown as colour, or
 * a half-size source's bicubic upscale; FALSE where the experiment has
 * none) and the mean (the per-pixel mean of the training photos given as
 * `mean_of`, or their mean chroma on the input's luminance). */
gboolean      np_batcher_baseline_input  (const NpBatcher *batcher, const NpTensor *source,
                                          NpTensor *rgb);
void          np_batcher_baseline_mean   (const NpBatcher *batcher, const NpBatcher *mean_of,
                                          const NpTensor *source, NpTensor *rgb);

/* Mean absolute error (on 0–255) and PSNR (dB, peak 1, per picture, then
 * averaged) of R'G'B' pictures in [0, 1], against their photos, and the
 * colourfulness of both (np_colourfulness on 0–255, per picture, then
 * averaged), as running totals over batches. */
typedef struct
{
  gdouble abs_sum, psnr_sum, colour_sum, photo_colour_sum;
  gint64  values, pictures;
} NpScore;

void          np_score_add               (NpScore *score, const NpTensor *a, const NpTensor *b);
gdouble       np_score_l1                (const NpScore *score);
gdouble       np_score_psnr              (const NpScore *score);
gdouble       np_score_colourfulness     (const NpScore *score);
gdouble       np_score_photo_colourfulness (const NpScore *score);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpBatcher, np_batcher_free)

G_END_DECLS
