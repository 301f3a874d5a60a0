/* neuropaint — the seed's architectures, written as network descriptions.
 *
 * Each is a few numbers away from its description, so a model file only has
 * to record those numbers (and may record the description itself, "graph").
 * Layer names are the parameter names the PyTorch exporter uses. */
#include "np-nn-private.h"

#include <string.h>

typedef struct
{
  const char *key;
  gint64      fallback, lo, hi;
  gint64      value;
} ArchParam;

static gboolean
read_params (GHashTable *params, ArchParam *p, gint n, GError **error)
{
  for (gint i = 0; i < n; i++)
    {
      const char *text = params ? g_hash_table_lookup (params, p[i].key) : NULL;
      gchar      *end;

      p[i].value = p[i].fallback;
      if (text == NULL)
        continue;
      p[i].value = g_ascii_strtoll (text, &end, 10);
      if (end == text || *end || p[i].value < p[i].lo || p[i].value > p[i].hi)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT,
                       "architecture parameter %s=“%s” is not an integer in [%" G_GINT64_FORMAT
                       ", %" G_GINT64_FORMAT "]", p[i].key, text, p[i].lo, p[i].hi);
          return FALSE;
        }
    }
  return TRUE;
}

static const char *
bn_eps (GHashTable *params, GError **error)
{
  const char *eps = params ? g_hash_table_lookup (params, "bn_eps") : NULL;
  gchar      *end;
  double      v;

  if (eps == NULL)
    return "1e-05";
  v = g_ascii_strtod (eps, &end);
  if (end == eps || *end || !(v > 0 && v < 1) || strchr (eps, ' '))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "architecture parameter bn_eps=“%s” is not in (0, 1)", eps);
      return NULL;
    }
  return eps;
}

/* pix2pix U-Net: depth-1 encoder blocks and a bottleneck, each halving the
 * size; decoder blocks mirror the encoder and concatenate its activations.
 * The seed (docs/seed.md) is depth 6: e1..e5, bottleneck, d5..d1 ("d3..d7" there).
 *
 * half_logits=1 gives a classifier's head instead of the seed's transposed
 * convolution and tanh: out_channels logits from a 1×1 convolution at half
 * the size (the output is half the input's size). A chroma-bins target's
 * ~150 classes through the seed's last layer (4×4, stride 2, at full size)
 * would cost 16 times the multiply-adds a class, more than the rest of the
 * net; at half size and 1×1 they cost a tenth of it, and the softmax and
 * the loss run on a quarter of the pixels. Colour at half the size is what
 * JPEG's 4:2:0 keeps anyway (docs/models.md). */
static gchar *
describe_unet (GHashTable *params, GError **error)
{
  ArchParam p[] = {
    { "ngf", 64, 1, 4096 }, { "depth", 6, 2, 12 }, { "in_channels", 3, 1, 64 },
    { "out_channels", 3, 1, 1024 }, { "dropout_blocks", 1, 0, 12 }, { "half_logits", 0, 0, 1 },
  };
  gint64      ngf, depth;
  const char *eps = bn_eps (params, error);
  GString    *d;

  if (eps == NULL || !read_params (params, p, G_N_ELEMENTS (p), error))
    return NULL;
  ngf = p[0].value, depth = p[1].value;
  d = g_string_new (NULL);
  g_string_append_printf (d, "input name=input c=%" G_GINT64_FORMAT "\n", p[2].value);
  for (gint64 i = 1; i < depth; i++)
    {
      g_string_append_printf (d, "conv name=e%" G_GINT64_FORMAT " out=%" G_GINT64_FORMAT " k=4 s=2 p=1\n",
                              i, ngf * MIN (1 << (i - 1), 8));
      if (i > 1)
        g_string_append_printf (d, "batchnorm name=e%" G_GINT64_FORMAT "_bn eps=%s\n", i, eps);
      g_string_append_printf (d, "lrelu name=e%" G_GINT64_FORMAT "_out slope=0.2\n", i);
    }
  g_string_append_printf (d, "conv name=bottleneck out=%" G_GINT64_FORMAT " k=4 s=2 p=1\nrelu\n",
                          ngf * MIN (1 << (depth - 1), 8));
  for (gint64 i = depth - 1; i >= 1; i--)
    {
      g_string_append_printf (d, "convt name=d%" G_GINT64_FORMAT " out=%" G_GINT64_FORMAT " k=4 s=2 p=1\n"
                              "batchnorm name=d%" G_GINT64_FORMAT "_bn eps=%s\n",
                              i, ngf * MIN (1 << (i - 1), 8), i, eps);
      if (depth - 1 - i < p[4].value)
        g_string_append (d, "dropout rate=0.5\n");
      g_string_append_printf (d, "concat with=e%" G_GINT64_FORMAT "_out\nrelu\n", i);
    }
  if (p[5].value)
    g_string_append_printf (d, "conv name=out out=%" G_GINT64_FORMAT " k=1\n", p[3].value);
  else
    g_string_append_printf (d, "convt name=out out=%" G_GINT64_FORMAT " k=4 s=2 p=1\ntanh\n", p[3].value);
  return g_string_free (d, FALSE);
}

/* Conditional PatchGAN: (source, target) concatenated (or, in_channels 0,
 * the target alone), `layers` stride-2 convolutions, one stride-1, then a one-channel stride-1 patch map. Stride-1
 * layers pad 1 before and 2 after, Keras's 'same', so a 320×256 pair gives a
 * 20×16 map as the seed's did. logits=1 leaves out the final sigmoid: the
 * trainer's loss works on logits, which stay finite where it saturates. */
static gchar *
describe_patchgan (GHashTable *params, GError **error)
{
  ArchParam p[] = {
    { "ndf", 64, 1, 4096 }, { "layers", 4, 1, 10 },
    { "in_channels", 3, 0, 64 }, { "out_channels", 3, 1, 64 }, { "logits", 0, 0, 1 },
  };
  const char *eps = bn_eps (params, error);
  GString    *d;
  gint64      ndf, width = 0;

  if (eps == NULL || !read_params (params, p, G_N_ELEMENTS (p), error))
    return NULL;
  ndf = p[0].value;
  d = g_string_new (NULL);
  if (p[2].value)
    g_string_append_printf (d, "input name=source c=%" G_GINT64_FORMAT "\n"
                               "input name=target c=%" G_GINT64_FORMAT "\n"
                               "concat from=source with=target\n", p[2].value, p[3].value);
  else
    g_string_append_printf (d, "input name=target c=%" G_GINT64_FORMAT "\n", p[3].value);
  for (gint64 i = 1; i <= p[1].value + 1; i++)
    {
      gboolean last = i == p[1].value + 1;
      width = ndf * MIN (1 << (i - 1), 8);
      if (last)
        width = ndf * MIN (1 << (i - 2), 8);
      g_string_append_printf (d, "conv name=c%" G_GINT64_FORMAT " out=%" G_GINT64_FORMAT " k=4 s=%d p=%s\n",
                              i, width, last ? 1 : 2, last ? "1:2" : "1");
      if (i > 1)
        g_string_append_printf (d, "batchnorm name=c%" G_GINT64_FORMAT "_bn eps=%s\n", i, eps);
      g_string_append (d, "lrelu slope=0.2\n");
    }
  g_string_append (d, "conv name=patch out=1 k=4 s=1 p=1:2\n");
  if (!p[4].value)
    g_string_append (d, "sigmoid\n");
  return g_string_free (d, FALSE);
}

/* Super resolution ×2 (the seed's SRCNN-like net): 9×9 features, 3×3,
 * nearest ×2, LeakyReLU, 9×9 back to colour, tanh. */
static gchar *
describe_sr (GHashTable *params, GError **error)
{
  ArchParam p[] = {
    { "features", 64, 1, 4096 }, { "in_channels", 3, 1, 64 }, { "out_channels", 3, 1, 64 },
  };

  if (!read_params (params, p, G_N_ELEMENTS (p), error))
    return NULL;
  return g_strdup_printf ("input name=input c=%" G_GINT64_FORMAT "\n"
                          "conv name=c1 out=%" G_GINT64_FORMAT " k=9 p=4\nrelu\n"
                          "conv name=c2 out=%" G_GINT64_FORMAT " k=3 p=1\n"
                          "upsample factor=2\nlrelu slope=0.2\n"
                          "conv name=c3 out=%" G_GINT64_FORMAT " k=9 p=4\ntanh\n",
                          p[1].value, p[0].value, p[0].value, p[2].value);
}

/* Super resolution ×2 after EDSR-baseline (Lim et al. 2017), cut down to run
 * on a CPU: a 3×3 head to `features` channels, `blocks` residual blocks
 * (3×3, ReLU, 3×3, plus the block's input), a 3×3 conv plus the head's
 * output (the global skip), then ESPCN's sub-pixel upsampling (Shi et al.
 * 2016): a 3×3 conv to out_channels·4 at the input's size, pixel-shuffled to
 * twice the size. No output activation: a residual target's detail may
 * exceed ±1 where bicubic overshoots. */
static gchar *
describe_edsr (GHashTable *params, GError **error)
{
  ArchParam p[] = {
    { "features", 32, 1, 4096 }, { "blocks", 4, 0, 64 }, { "in_channels", 3, 1, 64 }, { "out_channels", 3, 1, 64 },
  };
  gint64   features, blocks;
  GString *d;

  if (!read_params (params, p, G_N_ELEMENTS (p), error))
    return NULL;
  features = p[0].value, blocks = p[1].value;
  d = g_string_new (NULL);
  g_string_append_printf (d, "input name=input c=%" G_GINT64_FORMAT "\n"
                             "conv name=head out=%" G_GINT64_FORMAT " k=3 p=1\n", p[2].value, features);
  for (gint64 i = 1; i <= blocks; i++)
    {
      g_autofree gchar *skip = i > 1 ? g_strdup_printf ("b%" G_GINT64_FORMAT, i - 1) : g_strdup ("head");
      g_string_append_printf (d, "conv name=b%" G_GINT64_FORMAT "_1 out=%" G_GINT64_FORMAT " k=3 p=1\nrelu\n"
                                 "conv name=b%" G_GINT64_FORMAT "_2 out=%" G_GINT64_FORMAT " k=3 p=1\n"
                                 "add name=b%" G_GINT64_FORMAT " with=%s\n",
                              i, features, i, features, i, skip);
    }
  g_string_append_printf (d, "conv name=body out=%" G_GINT64_FORMAT " k=3 p=1\nadd with=head\n"
                             "conv name=tail out=%" G_GINT64_FORMAT " k=3 p=1\npixelshuffle factor=2\n",
                          features, 4 * p[3].value);
  return g_string_free (d, FALSE);
}

/* A generator built for noise, after DCGAN (Radford et al. 2016) with
 * Odena et al.'s (2016) fix for its checkerboard: z (in_channels of 1×1) →
 * linear → a grid_w × grid_h grid (DCGAN's project and reshape) of
 * ngf·min(2^blocks, 8) channels → `blocks` blocks of nearest ×2 upsampling,
 * a 3×3 conv, batch norm and ReLU, halving the channels down to ngf → a 3×3
 * conv to out_channels → tanh. No transposed convolution: their uneven
 * overlap is what draws the checkerboard. The grid is 4×5 by default, a
 * portrait face's 4:5, so 4 blocks make 64×80. */
static gchar *
describe_dream (GHashTable *params, GError **error)
{
  ArchParam p[] = {
    { "ngf", 32, 1, 4096 }, { "blocks", 4, 1, 8 }, { "grid_w", 4, 1, 64 }, { "grid_h", 5, 1, 64 },
    { "in_channels", 128, 1, 4096 }, { "out_channels", 3, 1, 64 },
  };
  gint64      ngf, blocks, grid;
  const char *eps = bn_eps (params, error);
  GString    *d;

  if (eps == NULL || !read_params (params, p, G_N_ELEMENTS (p), error))
    return NULL;
  ngf = p[0].value, blocks = p[1].value;
  grid = ngf * MIN (1 << blocks, 8);
  d = g_string_new (NULL);
  g_string_append_printf (d, "input name=input c=%" G_GINT64_FORMAT "\n"
                             "linear name=project out=%" G_GINT64_FORMAT "\n"
                             "reshape c=%" G_GINT64_FORMAT " h=%" G_GINT64_FORMAT " w=%" G_GINT64_FORMAT "\n"
                             "batchnorm name=project_bn eps=%s\nrelu\n",
                          p[4].value, grid * p[2].value * p[3].value, grid, p[3].value, p[2].value, eps);
  for (gint64 i = 1; i <= blocks; i++)
    g_string_append_printf (d, "upsample factor=2\nconv name=up%" G_GINT64_FORMAT " out=%" G_GINT64_FORMAT " k=3 p=1\n"
                               "batchnorm name=up%" G_GINT64_FORMAT "_bn eps=%s\nrelu\n",
                            i, ngf * MIN (1 << (blocks - i), 8), i, eps);
  g_string_append_printf (d, "conv name=out out=%" G_GINT64_FORMAT " k=3 p=1\ntanh\n", p[5].value);
  return g_string_free (d, FALSE);
}

/* The dream generator's discriminator, unconditional (it sees the picture
 * alone: a noise source says nothing of the face): `blocks` stride-2 4×4
 * convolutions with leaky ReLU, from ndf channels doubling up to 8·ndf, down
 * to the generator's grid, flattened, then a linear layer to one logit per
 * picture. No batch norm: real and fake pass separately, and batch
 * statistics would tell them apart by the batch. */
static gchar *
describe_dream_d (GHashTable *params, GError **error)
{
  ArchParam p[] = {
    { "ndf", 32, 1, 4096 }, { "blocks", 4, 1, 8 }, { "grid_w", 4, 1, 64 }, { "grid_h", 5, 1, 64 },
    { "out_channels", 3, 1, 64 },
  };
  gint64   ndf, blocks, width = 0;
  GString *d;

  if (!read_params (params, p, G_N_ELEMENTS (p), error))
    return NULL;
  ndf = p[0].value, blocks = p[1].value;
  d = g_string_new (NULL);
  g_string_append_printf (d, "input name=target c=%" G_GINT64_FORMAT "\n", p[4].value);
  for (gint64 i = 1; i <= blocks; i++)
    {
      width = ndf * MIN (1 << (i - 1), 8);
      g_string_append_printf (d, "conv name=c%" G_GINT64_FORMAT " out=%" G_GINT64_FORMAT " k=4 s=2 p=1\n"
                                 "lrelu slope=0.2\n", i, width);
    }
  g_string_append_printf (d, "reshape c=%" G_GINT64_FORMAT "\nlinear name=logit out=1\n",
                          width * p[2].value * p[3].value);
  return g_string_free (d, FALSE);
}

gchar *
np_arch_describe (const char *architecture, GHashTable *params, GError **error)
{
  const char *graph;

  if (g_strcmp0 (architecture, "unet") == 0)
    return describe_unet (params, error);
  if (g_strcmp0 (architecture, "patchgan") == 0)
    return describe_patchgan (params, error);
  if (g_strcmp0 (architecture, "sr") == 0)
    return describe_sr (params, error);
  if (g_strcmp0 (architecture, "edsr") == 0)
    return describe_edsr (params, error);
  if (g_strcmp0 (architecture, "dream") == 0)
    return describe_dream (params, error);
  if (g_strcmp0 (architecture, "dream-d") == 0)
    return describe_dream_d (params, error);
  if (g_strcmp0 (architecture, "graph") == 0)
    {
      graph = params ? g_hash_table_lookup (params, "graph") : NULL;
      if (graph)
        return g_strdup (graph);
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "architecture “graph” without a graph");
      return NULL;
    }
  g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED, "unknown architecture “%s” (known: unet, patchgan, sr, edsr, dream, dream-d, graph)",
               architecture ? architecture : "(none)");
  return NULL;
}
