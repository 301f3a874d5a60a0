/* neuropaint — the model contract: what a model file holds besides its
 * network, read and written in one place, and models by name.
 *
 * A model is a network (core/nn) and its description, the metadata that
 * says how to feed it and what its output stands for (docs/model-format.md):
 * the input filter and its parameters, the training size, the
 * normalisation, the target, the architecture and how it was made. The
 * description is parsed once, when the model is made, and travels with the
 * network in an NpModel; training writes it through np_model_save. Each
 * target's encoding (what training asks the network for) sits beside its
 * decoding (the picture an output stands for).
 *
 * A model is named by its file's stem (gray2color for gray2color.safetensors)
 * and looked for, in order, in:
 *   1. the source tree's models/, when the code asking runs from the build
 *      tree: the command or the op module that holds this code lies under
 *      the build root meson configured (so a fresh clone needs no install);
 *   2. $XDG_DATA_HOME/neuropaint/models (~/.local/share/neuropaint/models);
 *   3. the installed folder, DATADIR/neuropaint/models.
 * A value holding a '/' or ending in .safetensors is a file path instead.
 * Ops and commands all resolve through here, so `model=gray2color` means the
 * same file in gegl, GIMP and neuropaint.
 *
 *   g_autoptr(NpModel) model = np_model_load ("gray2color", &error);
 *   np_model_info (model)->target == NP_MODEL_TARGET_CHROMA
 */
#pragma once

#include <glib.h>
#include "np-error.h"
#include "nn/np-nn.h"

G_BEGIN_DECLS

/* ---- Targets: what a model's output stands for --------------------------- */

typedef enum
{
  NP_MODEL_TARGET_RGB,       /* the picture, x/127.5 − 1 */
  NP_MODEL_TARGET_CHROMA,    /* Cb·2, Cr·2, put on the input's own luminance (gray input) */
  NP_MODEL_TARGET_RESIDUAL,  /* ×2 detail to add, times ½, to the input's bicubic upscale: the
                              * net starts from bicubic's quality and learns the detail, as VDSR */
  NP_MODEL_TARGET_CHROMA_BINS, /* one logit per chroma bin of the model's table (NpChromaBins):
                              * the colour is their annealed mean, put on the input's luminance
                              * as a chroma target's (Zhang et al. 2016) */
  NP_MODEL_N_TARGETS,
  NP_MODEL_TARGET_UNKNOWN = NP_MODEL_N_TARGETS
} NpModelTarget;

/* ---- Chroma bins: a classification target's classes ----------------------
 *
 * Zhang et al. 2016 colour by classification: the network gives, at each
 * pixel, a logit for every bin of quantised chroma, and the colour is the
 * "annealed mean" of the bins' centres under softmax(logits / T), T = 0.38:
 * between the mean (T = 1, dull as regression) and the mode (T → 0, vivid
 * but patchy). Our bins are the points of a regular grid over (Cb, Cr),
 * NP_CHROMA_BIN_STEP apart on 0–255, that the training photos' pixels
 * fall nearest to (the grid restricted to the colours that occur), so the
 * table differs from one training set to another and travels in the model
 * file (metadata "chroma_bins"). Training adds each bin's class-rebalancing
 * weight (np_batcher_chroma_bins). The logits are at half the input's size
 * (the U-Net's half_logits head: docs/models.md says why), so only a
 * colouriser, which scales chroma up to the photo anyway, runs such a
 * model (np_model_check_use). */
#define NP_CHROMA_BIN_STEP  16        /* grid step on 0–255 (docs/models.md: why) */
#define NP_CHROMA_BIN_T     0.38f     /* the annealed mean's temperature */
#define NP_CHROMA_BINS_MAX  1024

typedef struct
{
  gint    n;          /* bins: the classification target's channels */
  gint   *cb, *cr;    /* centres on 0–255 less 128's scale: Cb·255 = cb[k] (multiples of the step) */
  gfloat *weight;     /* class-rebalancing weight of each bin (training's; 1 when the file says none) */
} NpChromaBins;

/* n bins, centres 0 and weights 1. */
NpChromaBins *np_chroma_bins_new          (gint n);
void          np_chroma_bins_free         (NpChromaBins *bins);
NpChromaBins *np_chroma_bins_copy         (const NpChromaBins *bins);
/* The metadata's text: centres "cb:cr,cb:cr,…" ("chroma_bins") and weights
 * "w,w,…" ("chroma_bin_weights", may be NULL: all 1). Anything but 1 to
 * NP_CHROMA_BINS_MAX distinct grid points within ±128 and as many finite
 * positive weights is NP_ERROR_CORRUPT. */
NpChromaBins *np_chroma_bins_parse        (const char *centres, const char *weights, GError **error);
gchar        *np_chroma_bins_centres_text (const NpChromaBins *bins);
gchar        *np_chroma_bins_weights_text (const NpChromaBins *bins);
/* The annealed mean of the bins' centres under softmax(logits / T), as Cb
 * and Cr (YCbCr's, in [−0.5, 0.5]); logits[k · stride] is bin k's. */
void          np_chroma_bins_decode       (const NpChromaBins *bins, const gfloat *logits, gsize stride,
                                           gfloat *cb, gfloat *cr);

/* Each target has two spellings: the model file's "target" ("rgb",
 * "chroma-ycbcr", "residual-bicubic", "chroma-ycbcr-bins"; a file without one
 * is rgb) and training's shorter --target ("rgb", "chroma", "residual",
 * "chroma-bins"). Back from a name: NP_MODEL_TARGET_UNKNOWN for another. */
const char   *np_model_target_name        (NpModelTarget target);
const char   *np_model_target_option      (NpModelTarget target);
NpModelTarget np_model_target_from_name   (const char *name);
NpModelTarget np_model_target_from_option (const char *option);

/* A target is read in two steps. The network's outputs at a pixel (its
 * channels: np_model_target_channels) stand for a few values
 * (np_model_target_reduce: np_model_target_values of them): the picture,
 * the chroma or the residual, what training's truth is encoded as
 * (np_model_target_encode) and what blends across tiles; the values stand
 * for a picture on the input (np_model_target_decode). Outputs and values
 * are the same but for chroma bins, whose logits stand for their annealed
 * mean's chroma. bins: the model's table (NpModelInfo.bins), NULL for the
 * targets without one. */
gint          np_model_target_channels    (NpModelTarget target, const NpChromaBins *bins);
gint          np_model_target_values      (NpModelTarget target);
/* Whether the values are chroma put on the input's own luminance. */
gboolean      np_model_target_is_chroma   (NpModelTarget target);
/* The values (up to 3) a pixel's n outputs stand for, outputs[k · stride]
 * being output k. An rgb output of one channel is gray: its one value
 * thrice. */
void          np_model_target_reduce      (NpModelTarget target, const NpChromaBins *bins,
                                           const gfloat *outputs, gint n, gsize stride, gfloat values[3]);

/* Encoding, for training: the values (np_model_target_values of them) the
 * target asks of the network at one pixel whose photo is `photo` (8-bit
 * R'G'B'), into `values`: a chroma-bins target's truth is its chroma, as a
 * chroma target's, which its loss encodes over the bins. base: the input's
 * bicubic upscale there, R'G'B' in [0, 1] (residual; unused otherwise). */
void          np_model_target_encode      (NpModelTarget target, const guint8 photo[3],
                                           const gfloat base[3], gfloat *values);
/* Decoding: the picture (R'G'B' in [0, 1], clamped) n values at one pixel
 * stand for. luma: the input's luminance there (chroma); base: the input's
 * bicubic upscale, clamped to [0, 1] (residual). An rgb value of one
 * channel is gray. */
void          np_model_target_decode      (NpModelTarget target, const gfloat *values, gint n,
                                           gfloat luma, const gfloat base[3], gfloat rgb[3]);
/* The Cb and Cr a chroma target's values stand for (what decoding puts on
 * the luminance). */
void          np_model_target_chroma      (const gfloat values[2], gfloat *cb, gfloat *cr);
/* The opponent colours of np_colourfulness, rg = R − G and yb = (R + G)/2 −
 * B on 0–255, as linear functions of the network's outputs (before
 * decoding's clamp): rg = Σ rg_of[k]·outputs[k], and so yb. They hold with
 * no constant term for rgb, and for chroma whatever the luminance, which
 * cancels. FALSE for a residual, whose colours depend on the input too,
 * and for chroma bins, whose logits stand for colours through a softmax. */
gboolean      np_model_target_opponents   (NpModelTarget target, gfloat rg_of[3], gfloat yb_of[3]);

/* ---- Colour hints: what a hint model takes besides the gray picture -------
 *
 * A model whose file says "hints": "ycbcr-spread" (NpModelInfo.hints) takes,
 * after its gray channel, three more at every pixel: the hints spread along
 * the gray picture (np_model_hints_spread). A hint is first encoded at its
 * pixels as Zhang et al. 2017's user-guided network takes it: its chroma as
 * a chroma target encodes it (Cb·2, Cr·2) and a mask, 1 where a hint is and
 * −1 where none is (the seed's x/127.5 − 1 of 255 and 0); 0, 0, −1 without
 * a hint. The spreading then gives every pixel the hints' chroma near it
 * along the picture, times q, and a mask 2q − 1, q in [0, 1] being how much
 * of the hints reach it past the picture's edges (1 at an isolated hint, 0
 * beyond every one's reach): a few dots become a signal the whole net sees,
 * where Zhang's sparse hints, a few pixels of a crop, taught ours nothing at
 * our budget (docs/models.md#colour-hints-what-the-hint-model-learnt). No
 * hint at all is 0, 0, −1 everywhere, an ordinary picture for it, so one
 * model serves both uses. */
#define NP_MODEL_HINT_CHANNELS 3
/* The spreading's reach, the domain transform's σ_s as a share of the
 * picture's longer side, and σ_r, the luma step (on 0–1) that counts as one
 * σ_s more of distance. Chosen on training photos
 * (docs/models.md#colour-hints-what-the-hint-model-learnt); the colouriser
 * spreads what a model missed at the hints by the same. */
#define NP_MODEL_HINT_SPREAD 0.2
#define NP_MODEL_HINT_EDGE   0.3
/* The hint channels at one pixel whose hint is the colour rgb (R'G'B' in
 * [0, 1]), or, for rgb NULL, at a pixel without one. */
void          np_model_hint_encode        (const gfloat *rgb, gfloat values[NP_MODEL_HINT_CHANNELS]);
/* hints: F32 of NP_MODEL_HINT_CHANNELS, each pixel encoded as above, spread
 * in place along gray (F32, one channel, luma on 0–1, the same size). FALSE
 * only when out of memory. */
gboolean      np_model_hints_spread       (NpImage *hints, const NpImage *gray, GError **error);

/* ---- The description a model file carries -------------------------------- */

typedef struct
{
  const char   *input_filter;   /* how training inputs were made from photos ("gray", "binary",
                                 * "contours", "canny", "identity", "noise"); NULL when unsaid */
  /* Further entries, as they are: the filter's parameters ("input_threshold",
   * ...) and the architecture's ("ngf", "features"). Read from a file: all
   * the metadata, where the filter finds its own. */
  GHashTable   *params;
  gint          width, height;  /* the training size; 256×320 when unsaid */
  const char   *normalization;  /* "x/127.5-1", the only one there is */
  NpModelTarget target;
  const char   *architecture;   /* "unet", "sr", or "graph" (np_arch_describe) */
  gboolean      hints;          /* takes colour hints after its gray channel (above) */
  /* Makes its width × height picture from a latent vector, a 1×1 input of
   * its input channels (a dream model, --arch dream), not from a picture:
   * found from the network when the model is made, ignored on saving. */
  gboolean      latent;
  NpChromaBins *bins;           /* a chroma-bins target's table ("chroma_bins"); NULL for others */
  /* How it was made (NULL and 0 when unsaid; the steps and batch are
   * written with the command). */
  const char   *experiment;     /* training's --input */
  const char   *trained_with;   /* the command that makes the very same file */
  /* The commands that made the model it started from (training's --init),
   * oldest first, a line each; NULL for a model trained from scratch. */
  const char   *trained_from;
  gint64        trained_steps, trained_batch;
} NpModelInfo;

/* A loaded model: its network and the description parsed from its metadata
 * once, when made. */
typedef struct _NpModel NpModel;

/* A model of net (which it takes), described by net's metadata; NULL, net
 * still the caller's, if that metadata is broken (a training size out of
 * range or given for one side only, an unknown normalisation). */
NpModel           *np_model_new       (NpNet *net, GError **error);
/* np_model_resolve, np_net_load, np_model_new. */
NpModel           *np_model_load      (const char *name_or_path, GError **error);
void               np_model_free      (NpModel *model);
NpNet             *np_model_net       (NpModel *model);
const NpModelInfo *np_model_info      (const NpModel *model);

/* ---- Models shared across the process (cache.c) ---------------------------
 *
 * Loading a model file (reading it, float16 to float, checking every value,
 * building the network) costs as much as a run of the colouriser on a
 * 12-megapixel photo, and every new GEGL node (a batch's next photo, GIMP's
 * preview) would pay it again. np_model_load_shared reads each file once per
 * process (per copy of the core: an op module linked on its own has its
 * own, docs/architecture.md): the model it returns has a network of its own (its activations
 * and workspace, so ops on several threads run at once), whose weights and
 * description are those of the one copy the cache keeps, read only. A file
 * is known by what stat says of it, not by its name: device and inode (the
 * same file under any name or link; a file renamed into place is another),
 * size, and the times of its last write and of its last change to the
 * nanosecond; the change time moves with every write, rename or touch and
 * no call can set it back, so a model rewritten in place, replaced, or
 * restored with its old modification time (cp -p, rsync -t) is read again.
 * A content hash would catch no more and would cost reading the whole file
 * on every load. Models no one holds stay loaded, the NP_MODEL_CACHE_IDLE
 * used last, so alternating ops and a batch's photos find theirs. */

/* Idle models kept: the model ops a GIMP session or a graph uses at once
 * (colorize, its hint twin's model, super resolution, a dream or generator
 * model) fit; at most ~120 MB of float weights with the shipped models
 * (gray2color holds 29 MB, the others 7 MB or less). */
#define NP_MODEL_CACHE_IDLE 4

/* As np_model_load, for inference: the file's model as the cache holds it
 * (read now if no model holds the file as it is on disk), with a network
 * of its own that never trains. Free with np_model_free. Thread-safe. */
NpModel           *np_model_load_shared (const char *name_or_path, GError **error);
/* FALSE once the file a shared model was read from has changed (rewritten,
 * replaced or removed): a holder keeping a model across runs loads it again
 * then. TRUE for a model of its own. */
gboolean           np_model_is_current  (const NpModel *model);
/* Frees the models the cache keeps and no one holds (a host short of
 * memory; tests); returns how many. */
guint              np_model_cache_drop_idle (void);

/* Writes net as a model file at path: its parameters, its description
 * (np_net_save) and info as metadata, the reader's keys (docs/model-format.md). */
gboolean           np_model_save      (NpNet *net, const NpModelInfo *info, const char *path,
                                       NpDType dtype, GError **error);

/* What a model is run for; each use needs another kind of network. */
typedef enum
{
  NP_MODEL_USE_IMAGE,             /* image to image of the same size (neuropaint:generator) */
  NP_MODEL_USE_COLORIZE,          /* a gray picture to its colour, same size */
  NP_MODEL_USE_SUPER_RESOLUTION,  /* a picture to one twice its size */
  NP_MODEL_USE_NOISE,             /* Gaussian noise to a picture (dream faces) */
} NpModelUse;

/* Checks the model can serve use: its inputs, channels, output scale,
 * target and recorded input filter (a hint model: a chroma model of a
 * gray channel and NP_MODEL_HINT_CHANNELS more; it serves IMAGE too, with
 * no hints; a latent model serves NOISE alone, an rgb picture of 1 or 3
 * channels from input filter "noise"). A model of another kind is NP_ERROR_UNSUPPORTED,
 * with a message that says what the model is and which op runs it. */
gboolean           np_model_check_use (NpModel *model, NpModelUse use, GError **error);

/* ---- Models by name (find.c) ---------------------------------------------- */

/* The folders names are looked for in, in order (NULL-terminated; free with
 * g_strfreev). */
gchar      **np_model_dirs          (void);

/* The file name_or_path stands for. A name no folder holds is an
 * NP_ERROR_IO error that names it, the folders searched and the models they
 * hold; an empty value is NP_ERROR_INVALID_ARGUMENT. A path is returned as
 * it is (loading it reports a missing file). */
gchar       *np_model_resolve       (const char *name_or_path, GError **error);

typedef struct
{
  gchar *name;    /* the file's stem */
  gchar *path;    /* NAME.safetensors */
  gchar *card;    /* NAME.md beside it, or NULL */
} NpModelEntry;

/* Every model the folders hold, by name; where two folders hold a name, the
 * one a lookup finds (the earlier folder). An array of NpModelEntry that
 * frees them. */
GPtrArray   *np_model_list          (void);

/* The use a model is made for, by its metadata alone (no network built):
 * what the ops offer it for. A noise input dreams, an "sr" or "edsr" network
 * or a residual target doubles, a gray input colours; any other maps an
 * image to an image. */
NpModelUse   np_model_intended_use  (GHashTable *metadata);

/* The models of np_model_list made for use (np_model_intended_use of each
 * file's metadata, its header alone read); unreadable ones are left out. */
GPtrArray   *np_model_list_for      (NpModelUse use);

/* The first non-empty line of a card, without Markdown's leading '#'s, or
 * NULL when the file cannot be read. */
gchar       *np_model_card_summary  (const char *card_path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpModel, np_model_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpChromaBins, np_chroma_bins_free)

G_END_DECLS
