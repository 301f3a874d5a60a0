/* neuropaint — the experiments training knows, one row each (np-train.h):
 * the seed's pix2pix experiments, colour hints and super resolution. A new experiment is
 * a new row (docs/adding-a-model.md); nothing else asks which one runs.
 *
 * The defaults are the recipes the shipped models record: pix2pix's
 * 100·L1 + GAN for the seed's experiments; for super resolution the seed's
 * SR net with its MSE loss alone, learning what the bicubic upscale misses. */
#include "np-train.h"

#define RGB      (1u << NP_MODEL_TARGET_RGB)
#define CHROMA   (1u << NP_MODEL_TARGET_CHROMA)
#define RESIDUAL (1u << NP_MODEL_TARGET_RESIDUAL)
#define BINS     (1u << NP_MODEL_TARGET_CHROMA_BINS)

static const NpExperiment experiments[] = {
  { .name = "gray", .title = "the gray version → colour",
    .source = NP_SOURCE_STACK, .stack = "gray", .input_filter = "gray",
    .architecture = "unet", .target = NP_MODEL_TARGET_RGB, .targets = RGB | CHROMA | BINS,
    .recon = NP_RECON_L1, .recon_weight = 100, .gan_weight = 1,
    .input_baseline = "input", .mean_chroma = TRUE, .flip = TRUE },
  { .name = "gray-hints", .title = "the gray version and colour hints → colour",
    .source = NP_SOURCE_HINTS, .stack = "gray", .input_filter = "gray",
    .architecture = "unet", .target = NP_MODEL_TARGET_CHROMA, .targets = CHROMA | BINS,
    .recon = NP_RECON_L1, .recon_weight = 100, .gan_weight = 1,
    .input_baseline = "input", .mean_chroma = TRUE, .flip = TRUE },
  { .name = "binary", .title = "the RGB binary threshold → colour",
    .source = NP_SOURCE_STACK, .stack = "binary", .input_filter = "binary",
    .architecture = "unet", .target = NP_MODEL_TARGET_RGB, .targets = RGB,
    .recon = NP_RECON_L1, .recon_weight = 100, .gan_weight = 1,
    .input_baseline = "input", .mean_chroma = FALSE, .flip = TRUE },
  { .name = "contours", .title = "the colour contours → colour",
    .source = NP_SOURCE_STACK, .stack = "contours", .input_filter = "contours",
    .architecture = "unet", .target = NP_MODEL_TARGET_RGB, .targets = RGB,
    .recon = NP_RECON_L1, .recon_weight = 100, .gan_weight = 1,
    .input_baseline = "input", .mean_chroma = FALSE, .flip = TRUE },
  { .name = "canny", .title = "the seed's colour Canny → colour",
    .source = NP_SOURCE_STACK, .stack = "canny", .input_filter = "canny",
    .architecture = "unet", .target = NP_MODEL_TARGET_RGB, .targets = RGB,
    .recon = NP_RECON_L1, .recon_weight = 100, .gan_weight = 1,
    .input_baseline = "input", .mean_chroma = FALSE, .flip = TRUE },
  { .name = "identity", .title = "colour → colour: the autoencoder",
    .source = NP_SOURCE_STACK, .stack = "color", .input_filter = "identity",
    .architecture = "unet", .target = NP_MODEL_TARGET_RGB, .targets = RGB,
    .recon = NP_RECON_L1, .recon_weight = 100, .gan_weight = 1,
    .input_baseline = NULL, .mean_chroma = FALSE, .flip = TRUE },
  { .name = "noise", .title = "Gaussian noise → a face: the pure generator",
    .source = NP_SOURCE_NOISE, .stack = "color", .input_filter = "noise",
    .architecture = "unet", .target = NP_MODEL_TARGET_RGB, .targets = RGB,
    .recon = NP_RECON_L1, .recon_weight = 100, .gan_weight = 1,
    .input_baseline = NULL, .mean_chroma = FALSE, .flip = TRUE },
  /* A generator built for noise (docs/models.md): no reconstruction term,
   * whose minimum against unpaired faces is the mean face; a discriminator
   * of the picture alone. */
  { .name = "dream", .title = "a latent vector → a face at 64×80: the generator built for noise",
    .source = NP_SOURCE_LATENT, .stack = "color", .input_filter = "noise",
    .architecture = "dream", .target = NP_MODEL_TARGET_RGB, .targets = RGB,
    .recon = NP_RECON_L1, .recon_weight = 0, .gan_weight = 1, .ema = 0.999, .augment = TRUE, .spectral_norm = TRUE,
    .input_baseline = NULL, .mean_chroma = FALSE, .flip = TRUE, .shrink = 4 },
  { .name = "morph", .title = "another photo of the same subset → this one: the average face",
    .source = NP_SOURCE_PARTNER, .stack = "color", .input_filter = "identity",
    .architecture = "unet", .target = NP_MODEL_TARGET_RGB, .targets = RGB,
    .recon = NP_RECON_L1, .recon_weight = 100, .gan_weight = 1,
    .input_baseline = "input", .mean_chroma = FALSE, .flip = TRUE },
  { .name = "lowres", .title = "super resolution ×2",
    .source = NP_SOURCE_HALF, .stack = "color", .input_filter = "identity",
    .architecture = "sr", .target = NP_MODEL_TARGET_RESIDUAL, .targets = RGB | RESIDUAL,
    .recon = NP_RECON_MSE, .recon_weight = 1, .gan_weight = 0,
    .input_baseline = "bicubic", .mean_chroma = FALSE, .flip = TRUE },
};

const NpExperiment *
np_experiment_find (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (experiments); i++)
    if (g_strcmp0 (name, experiments[i].name) == 0)
      return &experiments[i];
  return NULL;
}

const NpExperiment *
np_experiment_list (guint *n)
{
  *n = G_N_ELEMENTS (experiments);
  return experiments;
}

gboolean
np_experiment_check_target (const NpExperiment *e, NpModelTarget target, GError **error)
{
  /* What each target needs of its input, said by the input that has it. */
  static const char *const needs[NP_MODEL_N_TARGETS] = {
    [NP_MODEL_TARGET_RGB] = "a hint model gives chroma, put on the gray picture's luminance",
    [NP_MODEL_TARGET_CHROMA] = "the picture takes its luminance",
    [NP_MODEL_TARGET_RESIDUAL] = "it adds to the input's bicubic upscale",
    [NP_MODEL_TARGET_CHROMA_BINS] = "the picture takes its luminance",
  };
  GString *inputs;

  if (e->targets & (1u << target))
    return TRUE;
  inputs = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (experiments); i++)
    if (experiments[i].targets & (1u << target))
      g_string_append_printf (inputs, "%s%s", inputs->len ? " or " : "", experiments[i].name);
  g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "a %s target needs the %s input (%s)",
               np_model_target_option (target), inputs->str, needs[target]);
  g_string_free (inputs, TRUE);
  return FALSE;
}
