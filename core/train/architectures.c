/* neuropaint — the generator architectures training builds, one row each
 * (np-train.h), picked by --arch or by the experiment. A row's describe
 * writes G's network description, which the model file carries ("graph"),
 * so inference needs nothing but the file. A new architecture is a new row
 * with its builder (docs/adding-a-model.md). */
#include "np-train.h"

gboolean
np_train_arch_grid (const NpTrainArch *arch, gint64 out_width, gint64 out_height, GHashTable *params, GError **error)
{
  gint64 step = 1 << NP_TRAIN_LATENT_BLOCKS;

  if (!arch->from_latent)
    return TRUE;
  if (out_width % step || out_height % step)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "--arch %s makes pictures whose sides are multiples "
                   "of %" G_GINT64_FORMAT ", not %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT, arch->name, step,
                   out_width, out_height);
      return FALSE;
    }
  g_hash_table_insert (params, "grid_w", g_strdup_printf ("%" G_GINT64_FORMAT, out_width / step));
  g_hash_table_insert (params, "grid_h", g_strdup_printf ("%" G_GINT64_FORMAT, out_height / step));
  return TRUE;
}

/* The seed's architectures, written by the neural core (np_arch_describe)
 * from the channels and the row's width and depth parameters (and, from a
 * latent vector, the grid). */
static gchar *
describe_seed (const NpTrainArch *arch, gint64 in_channels, gint64 out_channels, gint width, gint depth,
               gboolean logits, gint64 out_width, gint64 out_height, GError **error)
{
  g_autoptr(GHashTable) p = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  /* Only the U-Net has a classifier's head (np_arch_describe's half_logits). */
  if (logits && g_strcmp0 (arch->name, "unet") != 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "--arch %s gives pictures, not class logits: "
                   "a chroma-bins target needs --arch unet", arch->name);
      return NULL;
    }
  if (logits)
    g_hash_table_insert (p, "half_logits", g_strdup ("1"));
  if (!np_train_arch_grid (arch, out_width, out_height, p, error))
    return NULL;
  g_hash_table_insert (p, "in_channels", g_strdup_printf ("%" G_GINT64_FORMAT, in_channels));
  g_hash_table_insert (p, "out_channels", g_strdup_printf ("%" G_GINT64_FORMAT, out_channels));
  g_hash_table_insert (p, (gpointer) arch->width_key, g_strdup_printf ("%d", width));
  if (arch->depth_key && depth > 0)
    g_hash_table_insert (p, (gpointer) arch->depth_key, g_strdup_printf ("%d", depth));
  return np_arch_describe (arch->name, p, error);
}

static const NpTrainArch architectures[] = {
  /* pix2pix's U-Net; the seed's base width is 64, 32 serves faces well. */
  { "unet", "ngf", 32, describe_seed },
  /* The seed's super-resolution net: 9×9, 3×3, ×2 upsampling, 9×9. */
  { "sr", "features", 64, describe_seed },
  /* EDSR-baseline cut down (4 residual blocks of 3×3 convolutions) with
   * ESPCN's pixel shuffle: super resolution ×2 (docs/models.md). */
  { "edsr", "features", 32, describe_seed, .depth_key = "blocks" },
  /* Built for noise (issue 20): z → linear → a 4×5 grid → nearest ×2 +
   * 3×3 conv blocks to 64×80, and an unconditional discriminator. */
  { "dream", "ngf", 32, describe_seed, "dream-d", TRUE },
};

const NpTrainArch *
np_train_arch_find (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (architectures); i++)
    if (g_strcmp0 (name, architectures[i].name) == 0)
      return &architectures[i];
  return NULL;
}

const NpTrainArch *
np_train_arch_list (guint *n)
{
  *n = G_N_ELEMENTS (architectures);
  return architectures;
}
