/* neuropaint — a model's description, read and written (np-model.h), and
 * what each kind of model is for.
 *
 * The reader and the writer name the same keys (docs/model-format.md); the
 * description is parsed once, when a model is made, and every stage reads
 * the parsed fields. */
#include "model-private.h"

#include <string.h>

/* The project's training size, for a file that does not say. */
#define DEFAULT_WIDTH  256
#define DEFAULT_HEIGHT 320

static gint64
meta_int (GHashTable *meta, const char *key, gint64 max)
{
  const char *v = g_hash_table_lookup (meta, key);
  gint64      n = 0;

  return v && g_ascii_string_to_signed (v, 10, 1, max, &n, NULL) ? n : 0;
}

/* The training size a model says: both sides, each 1 to NP_IMAGE_MAX_SIDE,
 * or neither (older models: DEFAULT_WIDTH×DEFAULT_HEIGHT). Anything else is
 * a broken or foreign file, not a reason to fall back to the default. */
static gboolean
parse_size (GHashTable *meta, gint *width, gint *height, GError **error)
{
  const char *keys[] = { "width", "height" };
  gint       *sides[] = { width, height };
  gint64      n;

  *width = DEFAULT_WIDTH, *height = DEFAULT_HEIGHT;
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      const char *value = g_hash_table_lookup (meta, keys[i]);
      const char *other = g_hash_table_lookup (meta, keys[1 - i]);

      if (value == NULL && other == NULL)
        return TRUE;
      if (!value || !g_ascii_string_to_signed (value, 10, 1, NP_IMAGE_MAX_SIDE, &n, NULL))
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "metadata “%s”: %s%s%s, not an integer from 1 to %d",
                       keys[i], value ? "“" : "missing", value ? value : "", value ? "”" : "", NP_IMAGE_MAX_SIDE);
          return FALSE;
        }
      *sides[i] = (gint) n;
    }
  return TRUE;
}

/* Whether net makes its width × height picture from a 1×1 input, a vector:
 * a picture model fails to plan so small an input (its strided layers) or
 * gives a picture of its input's size (or twice it). */
static gboolean
makes_from_vector (NpNet *net, gint width, gint height)
{
  gint64 w, h;

  return np_net_n_inputs (net) == 1 && (gint64) width * height > 4
         && np_net_output_size (net, 1, 1, &w, &h, NULL) && w == width && h == height;
}

NpModel *
np_model_new (NpNet *net, GError **error)
{
  GHashTable *meta = np_net_metadata (net);
  const char *target = g_hash_table_lookup (meta, "target");
  const char *norm = g_hash_table_lookup (meta, "normalization");
  const char *hints = g_hash_table_lookup (meta, "hints");
  NpModel    *m;
  gint        width, height;

  if (!parse_size (meta, &width, &height, error))
    return NULL;
  /* The one normalisation there is. */
  if (norm && strcmp (norm, "x/127.5-1") != 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "metadata “normalization”: unknown “%s” (known: x/127.5-1)", norm);
      return NULL;
    }
  /* The one hint encoding there is (np-model.h); a file that names another
   * would be fed what it never learnt. */
  if (hints && strcmp (hints, "ycbcr-spread") != 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "metadata “hints”: unknown “%s” (known: ycbcr-spread)", hints);
      return NULL;
    }
  m = g_new0 (NpModel, 1);
  /* A classification target's classes travel in the file: nothing else
   * says what its logits stand for. */
  if (target && np_model_target_from_name (target) == NP_MODEL_TARGET_CHROMA_BINS
      && (m->info.bins = np_chroma_bins_parse (g_hash_table_lookup (meta, "chroma_bins"),
                                               g_hash_table_lookup (meta, "chroma_bin_weights"), error)) == NULL)
    {
      g_free (m);
      return NULL;
    }
  m->net = net;
  m->info.input_filter = g_strdup (g_hash_table_lookup (meta, "input_filter"));
  m->info.params = g_hash_table_ref (meta);
  m->info.width = width;
  m->info.height = height;
  m->info.normalization = "x/127.5-1";
  /* A file without a target is a picture. */
  m->info.target = target ? np_model_target_from_name (target) : NP_MODEL_TARGET_RGB;
  m->info.architecture = g_strdup (g_hash_table_lookup (meta, "architecture"));
  m->info.hints = hints != NULL;
  m->info.latent = makes_from_vector (net, width, height);
  m->info.experiment = g_strdup (g_hash_table_lookup (meta, "experiment"));
  m->info.trained_with = g_strdup (g_hash_table_lookup (meta, "trained_with"));
  m->info.trained_from = g_strdup (g_hash_table_lookup (meta, "trained_from"));
  m->info.trained_steps = meta_int (meta, "trained_steps", G_MAXINT64);
  m->info.trained_batch = meta_int (meta, "trained_batch", G_MAXINT64);
  return m;
}

NpModel *
np_model_load (const char *name_or_path, GError **error)
{
  g_autofree gchar *path = np_model_resolve (name_or_path, error);
  NpNet            *net = path ? np_net_load (path, error) : NULL;
  NpModel          *model = net ? np_model_new (net, error) : NULL;

  if (net && model == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      np_net_free (net);
    }
  return model;
}

void
np_model_free (NpModel *m)
{
  if (m == NULL)
    return;
  np_net_free (m->net);
  /* A shared model's description is its cached model's (cache.c). */
  if (m->cached)
    {
      m->release (m->cached);
      g_free (m);
      return;
    }
  g_free ((gchar *) m->info.input_filter);
  g_hash_table_unref (m->info.params);
  g_free ((gchar *) m->info.architecture);
  g_free ((gchar *) m->info.experiment);
  g_free ((gchar *) m->info.trained_with);
  g_free ((gchar *) m->info.trained_from);
  np_chroma_bins_free (m->info.bins);
  g_free (m);
}

NpNet *
np_model_net (NpModel *m)
{
  return m->net;
}

const NpModelInfo *
np_model_info (const NpModel *m)
{
  return &m->info;
}

static void
put (GHashTable *meta, const char *key, gchar *value)
{
  if (value)
    g_hash_table_insert (meta, g_strdup (key), value);
}

gboolean
np_model_save (NpNet *net, const NpModelInfo *info, const char *path, NpDType dtype, GError **error)
{
  GHashTable *meta = np_net_metadata (net);

  put (meta, "input_filter", g_strdup (info->input_filter));
  if (info->params && info->params != meta)
    {
      GHashTableIter iter;
      gpointer       key, value;
      g_hash_table_iter_init (&iter, info->params);
      while (g_hash_table_iter_next (&iter, &key, &value))
        put (meta, key, g_strdup (value));
    }
  put (meta, "width", g_strdup_printf ("%d", info->width));
  put (meta, "height", g_strdup_printf ("%d", info->height));
  put (meta, "normalization", g_strdup (info->normalization));
  put (meta, "target", g_strdup (np_model_target_name (info->target)));
  put (meta, "architecture", g_strdup (info->architecture));
  if (info->hints)
    put (meta, "hints", g_strdup ("ycbcr-spread"));
  if (info->bins)
    {
      put (meta, "chroma_bins", np_chroma_bins_centres_text (info->bins));
      put (meta, "chroma_bin_weights", np_chroma_bins_weights_text (info->bins));
    }
  put (meta, "experiment", g_strdup (info->experiment));
  put (meta, "trained_with", g_strdup (info->trained_with));
  put (meta, "trained_from", g_strdup (info->trained_from));
  if (info->trained_with)
    {
      put (meta, "trained_steps", g_strdup_printf ("%" G_GINT64_FORMAT, info->trained_steps));
      put (meta, "trained_batch", g_strdup_printf ("%" G_GINT64_FORMAT, info->trained_batch));
    }
  return np_net_save (net, path, dtype, error);
}

/* The op a model belongs to: named in the message when a model is used for
 * something else. Its network tells its scale better than its metadata (a
 * graph's). */
static const char *
op_for (NpModel *m)
{
  static const char *const ops[] = {
    [NP_MODEL_USE_IMAGE] = "neuropaint:generator",
    [NP_MODEL_USE_COLORIZE] = "neuropaint:colorize",
    [NP_MODEL_USE_SUPER_RESOLUTION] = "neuropaint:super-resolution",
    [NP_MODEL_USE_NOISE] = "neuropaint:dream-face",
  };

  /* A latent model's picture is many times its 1×1 input, no ×2. */
  if (!m->info.latent && np_net_output_scale (m->net) > 1.0)
    return ops[NP_MODEL_USE_SUPER_RESOLUTION];
  return ops[np_model_intended_use (np_net_metadata (m->net))];
}

/* The checks of a model that takes a picture. */
static gboolean
check_picture_model (NpModel *m, NpModelUse use, GError **error)
{
  NpNet        *net = m->net;
  const char   *filter = m->info.input_filter;
  NpModelTarget target = m->info.target;
  gboolean      chroma = np_model_target_is_chroma (target);
  gdouble     scale = np_net_output_scale (net);
  gint64      cout = np_net_output_channels (net);
  /* The picture's channels: a hint model's further ones are its hints. */
  gint64      cin = np_net_input_channels (net, 0) - (m->info.hints ? NP_MODEL_HINT_CHANNELS : 0);
  /* A chroma-bins model's logits are at half the size (np-model.h). */
  gdouble     want = use == NP_MODEL_USE_SUPER_RESOLUTION ? 2.0 : target == NP_MODEL_TARGET_CHROMA_BINS ? 0.5 : 1.0;

  if (m->info.hints && (!chroma || np_net_n_inputs (net) != 1 || cin != 1))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "a hint model must be a chroma model of one gray channel and %d hint channels "
                   "(it takes %" G_GINT64_FORMAT " channels, target %s)", NP_MODEL_HINT_CHANNELS,
                   np_net_input_channels (net, 0), np_model_target_name (target));
      return FALSE;
    }
  if (np_net_n_inputs (net) != 1 || (cin != 1 && cin != 3)
      || (chroma ? cin != 1 || cout != np_model_target_channels (target, m->info.bins) : cout != 1 && cout != 3))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "not an image model (it takes %d input(s) of %" G_GINT64_FORMAT " channels and gives %"
                   G_GINT64_FORMAT "; we need one input of 1 or 3 channels and 1 or 3 out, or 1 in and "
                   "Cb, Cr out for a chroma model, one logit a bin for a chroma-bins one)",
                   np_net_n_inputs (net), cin, cout);
      return FALSE;
    }
  if (target == NP_MODEL_TARGET_CHROMA_BINS && use != NP_MODEL_USE_COLORIZE)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED, "a chroma-bins model gives colour at half the size "
                   "for a colouriser to put on a photo's luminance, not a picture: run it with %s",
                   op_for (m));
      return FALSE;
    }
  if (scale != want)
    {
      if (use == NP_MODEL_USE_SUPER_RESOLUTION)
        g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                     "not a ×2 super-resolution model (its output is %g× its input); run it with %s",
                     scale, op_for (m));
      else
        g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                     "the model changes the image size (its output is %g× its input): run it with %s",
                     scale, op_for (m));
      return FALSE;
    }
  if (target == NP_MODEL_TARGET_RESIDUAL && (cin != 3 || cout != 3))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "a residual model needs 3 channels in and out, not %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT,
                   cin, cout);
      return FALSE;
    }
  if (chroma && use == NP_MODEL_USE_SUPER_RESOLUTION)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "a chroma model gives colour for a gray picture, not a larger picture: run it with %s",
                   op_for (m));
      return FALSE;
    }
  if (use == NP_MODEL_USE_COLORIZE && filter != NULL && strcmp (filter, "gray") != 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "the model was trained on %s pictures (input filter “%s”), not on gray photos: run it "
                   "with %s", strcmp (filter, "identity") == 0 ? "colour" : filter, filter, op_for (m));
      return FALSE;
    }
  return TRUE;
}

gboolean
np_model_check_use (NpModel *m, NpModelUse use, GError **error)
{
  NpNet        *net = m->net;
  const char   *filter = m->info.input_filter;
  NpModelTarget target = m->info.target;
  gint64        cout = np_net_output_channels (net);

  if (target == NP_MODEL_TARGET_UNKNOWN)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED, "unknown target “%s” (known: rgb, chroma-ycbcr, "
                   "residual-bicubic, chroma-ycbcr-bins)", (char *) g_hash_table_lookup (np_net_metadata (net), "target"));
      return FALSE;
    }
  /* A dream model's picture comes from its vector alone: no picture in. */
  if (m->info.latent && use != NP_MODEL_USE_NOISE)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "a generator from a latent vector (it makes a %d×%d picture from %" G_GINT64_FORMAT
                   " numbers), not a model of pictures: run it with %s",
                   m->info.width, m->info.height, np_net_input_channels (net, 0), op_for (m));
      return FALSE;
    }
  if (m->info.latent && (target != NP_MODEL_TARGET_RGB || (cout != 1 && cout != 3)))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "a dream model must give a picture (target rgb, 1 or 3 channels), not %" G_GINT64_FORMAT
                   " channels of target %s", cout, np_model_target_name (target));
      return FALSE;
    }
  if (!m->info.latent && !check_picture_model (m, use, error))
    return FALSE;
  if (use == NP_MODEL_USE_NOISE && g_strcmp0 (filter, "noise") != 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "the model does not dream from noise (its input filter is “%s”, not “noise”): run it "
                   "with %s", filter ? filter : "none", op_for (m));
      return FALSE;
    }
  return TRUE;
}
