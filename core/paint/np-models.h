/* neuropaint — models by name, and what each kind of model is for.
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
 *   g_autoptr(NpNet) net = np_model_load ("gray2color", &error);
 */
#pragma once

#include <glib.h>
#include "np-error.h"
#include "nn/np-nn.h"

G_BEGIN_DECLS

/* The folders names are looked for in, in order (NULL-terminated; free with
 * g_strfreev). */
gchar      **np_model_dirs          (void);

/* The file name_or_path stands for. A name no folder holds is an
 * NP_ERROR_IO error that names it, the folders searched and the models they
 * hold; an empty value is NP_ERROR_INVALID_ARGUMENT. A path is returned as
 * it is (loading it reports a missing file). */
gchar       *np_model_resolve       (const char *name_or_path, GError **error);

/* np_model_resolve, then np_net_load. */
NpNet       *np_model_load          (const char *name_or_path, GError **error);

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

/* The first non-empty line of a card, without Markdown's leading '#'s, or
 * NULL when the file cannot be read. */
gchar       *np_model_card_summary  (const char *card_path);

/* What a model is run for; each use needs another kind of network. */
typedef enum
{
  NP_MODEL_USE_IMAGE,             /* image to image of the same size (neuropaint:generator) */
  NP_MODEL_USE_COLORIZE,          /* a gray picture to its colour, same size */
  NP_MODEL_USE_SUPER_RESOLUTION,  /* a picture to one twice its size */
  NP_MODEL_USE_NOISE,             /* Gaussian noise to a picture (dream faces) */
} NpModelUse;

/* What a model's output stands for: its metadata "target"
 * (docs/model-format.md). */
typedef enum
{
  NP_MODEL_TARGET_RGB,       /* "rgb" (or none): the picture */
  NP_MODEL_TARGET_CHROMA,    /* "chroma-ycbcr": Cb·2, Cr·2 for the input's luminance */
  NP_MODEL_TARGET_RESIDUAL,  /* "residual-bicubic": ×2 detail to add, times ½, to the
                              * input's bicubic upscale */
  NP_MODEL_N_TARGETS,
  NP_MODEL_TARGET_UNKNOWN = NP_MODEL_N_TARGETS
} NpModelTarget;

const char  *np_model_target_name   (NpModelTarget target);
NpModelTarget np_model_target       (NpNet *net);

/* Checks the network can serve use: its inputs, channels, output scale,
 * target and recorded input filter. A model of another kind is NP_ERROR_UNSUPPORTED,
 * with a message that says what the model is and which op runs it. */
gboolean     np_model_check_use     (NpNet *net, NpModelUse use, GError **error);

/* The size a model was trained at (metadata width and height), or the
 * project's training size, 256×320, when it does not say. */
void         np_model_size          (NpNet *net, gint *width, gint *height);

G_END_DECLS
