/* neuropaint — GeglBuffer <-> NpImage glue shared by the op modules. */
#include "config.h"
#include <glib/gi18n-lib.h>
#include "np-op-util.h"

gint
np_op_threads (void)
{
  gint threads = 1;
  g_object_get (gegl_config (), "threads", &threads, NULL);
  return MAX (threads, 1);
}

void
np_op_set_formats (GeglOperation *operation,
                   const char    *format_name)
{
  const Babl *space = gegl_operation_get_source_space (operation, "input");
  const Babl *format = babl_format_with_space (format_name, space);

  gegl_operation_set_format (operation, "input", format);
  gegl_operation_set_format (operation, "output", format);
}

void
np_op_set_float_formats (GeglOperation *operation)
{
  const Babl *space = gegl_operation_get_source_space (operation, "input");
  const Babl *source = gegl_operation_get_source_format (operation, "input");
  gboolean    bytes = source && babl_format_get_type (source, 0) == babl_type ("u8");

  gegl_operation_set_format (operation, "input", babl_format_with_space ("R'G'B'A float", space));
  gegl_operation_set_format (operation, "output",
                             babl_format_with_space (bytes ? "R'G'B'A u8" : "R'G'B'A float", space));
}

const Babl *
np_op_source_rgb_u8_format (GeglOperation *operation, const gchar *pad)
{
  const Babl *source = gegl_operation_get_source_format (operation, pad);
  const Babl *space = gegl_operation_get_source_space (operation, pad);

  if (source != NULL && (source == babl_format_with_space ("R'G'B'A u8", space)
                         || source == babl_format_with_space ("R'G'B' u8", space)))
    return source;
  return NULL;
}

static G_DEFINE_QUARK (np-op-whole-input, np_op_whole_input)

GeglRectangle
np_op_whole_input (GeglOperation       *operation,
                   const gchar         *input_pad,
                   const GeglRectangle *roi)
{
  const GeglRectangle *box = gegl_operation_source_get_bounding_box (operation, "input");

  if (box == NULL)
    return *roi;
  /* Remembered for np_op_whole_invalidated, which may not ask the source. */
  g_object_set_qdata_full (G_OBJECT (operation), np_op_whole_input_quark (),
                           g_memdup2 (box, sizeof *box), g_free);
  return *box;
}

GeglRectangle
np_op_whole_invalidated (GeglOperation       *operation,
                         const gchar         *input_pad,
                         const GeglRectangle *roi)
{
  const GeglRectangle *box = g_object_get_qdata (G_OBJECT (operation), np_op_whole_input_quark ());
  GeglRectangle        all = *roi;

  if (box)
    gegl_rectangle_bounding_box (&all, roi, box);
  return all;
}

GeglRectangle
np_op_whole_cached (GeglOperation       *operation,
                    const GeglRectangle *roi)
{
  return np_op_whole_input (operation, "input", roi);
}

void
np_op_class_whole_image (GeglOperationClass *operation_class)
{
  operation_class->get_required_for_output = np_op_whole_input;
  operation_class->get_cached_region = np_op_whole_cached;
  operation_class->get_invalidated_by_change = np_op_whole_invalidated;
  /* GEGL would split the whole image it asks for; the op runs it once and
   * parallelises inside (the core with np_op_threads(), or colorize's
   * passes over the tiles with gegl_parallel_distribute_area). */
  operation_class->threaded = FALSE;
}

NpImage *
np_op_read (GeglBuffer          *buffer,
            const GeglRectangle *rect,
            const Babl          *format,
            GError             **error)
{
  gint         channels = babl_format_get_n_components (format);
  gint         bps = babl_format_get_bytes_per_pixel (format) / channels;
  NpSampleType type = bps == 1 ? NP_SAMPLE_U8 : NP_SAMPLE_F32;
  NpImage     *image;

  g_return_val_if_fail (bps == 1 || bps == 4, NULL);

  image = np_image_new (type, rect->width, rect->height, channels, error);
  if (image)
    gegl_buffer_get (buffer, rect, 1.0, format, image->data, image->stride,
                     GEGL_ABYSS_NONE);
  return image;
}

void
np_op_write (GeglBuffer          *buffer,
             const GeglRectangle *rect,
             const Babl          *format,
             const NpImage       *image)
{
  gegl_buffer_set (buffer, rect, 0, format, image->data, image->stride);
}

typedef struct
{
  GMutex         lock;
  gchar         *key;
  gpointer       value;
  GDestroyNotify free_value;
} NpOpCache;

static G_DEFINE_QUARK (np-op-cache, np_op_cache)

static void
np_op_cache_free (gpointer data)
{
  NpOpCache *cache = data;

  if (cache->value)
    cache->free_value (cache->value);
  g_free (cache->key);
  g_mutex_clear (&cache->lock);
  g_free (cache);
}

static NpOpCache *
np_op_cache_get (GeglOperation *operation)
{
  static GMutex create;
  NpOpCache    *cache;

  /* Two threads' first process() must not both attach a cache. */
  g_mutex_lock (&create);
  cache = g_object_get_qdata (G_OBJECT (operation), np_op_cache_quark ());
  if (cache == NULL)
    {
      cache = g_new0 (NpOpCache, 1);
      g_mutex_init (&cache->lock);
      g_object_set_qdata_full (G_OBJECT (operation), np_op_cache_quark (), cache, np_op_cache_free);
    }
  g_mutex_unlock (&create);
  return cache;
}

gpointer
np_op_cache_lock (GeglOperation *operation,
                  const gchar   *key)
{
  NpOpCache *cache = np_op_cache_get (operation);

  g_mutex_lock (&cache->lock);
  return g_strcmp0 (cache->key, key) == 0 ? cache->value : NULL;
}

void
np_op_cache_set (GeglOperation  *operation,
                 const gchar    *key,
                 gpointer        value,
                 GDestroyNotify  free_value)
{
  NpOpCache *cache = np_op_cache_get (operation);

  if (cache->value)
    cache->free_value (cache->value);
  g_free (cache->key);
  cache->key = g_strdup (key);
  cache->value = value;
  cache->free_value = free_value;
}

void
np_op_cache_unlock (GeglOperation *operation)
{
  g_mutex_unlock (&np_op_cache_get (operation)->lock);
}

static G_DEFINE_QUARK (np-op-gray-noted, np_op_gray_noted)

void
np_op_note_gray_host (GeglOperation *operation)
{
  const Babl  *source = gegl_operation_get_source_format (operation, "input");
  const gchar *host = g_get_prgname ();

  /* GIMP (the process named gimp) writes a filter's result back in the
   * layer's own format, so in a Grayscale image the colour is dropped
   * without a word. Other hosts keep the output's colour whatever the
   * input's format. */
  if (g_strcmp0 (gegl_operation_class_get_key (GEGL_OPERATION_GET_CLASS (operation), "neuropaint:makes-colour"),
                 "true") != 0
      || source == NULL || babl_format_get_n_components (source) > 2
      || host == NULL || !g_str_has_prefix (host, "gimp")
      || g_object_get_qdata (G_OBJECT (operation), np_op_gray_noted_quark ()))
    return;
  g_object_set_qdata (G_OBJECT (operation), np_op_gray_noted_quark (), GINT_TO_POINTER (TRUE));
  np_op_notice (operation, "this image is in Grayscale mode, which keeps no colour: use Image ▸ "
                "Neuropaint ▸ Colorize Photo, or Image ▸ Mode ▸ RGB first");
}

/* The input where the output should be, `scale` times its size: an op that
 * cannot run leaves the picture as it was, never a transparent hole (GIMP
 * would merge one into the layer). */
static void
pass_through (GeglBuffer          *input,
              GeglBuffer          *output,
              const GeglRectangle *result,
              gint                 scale)
{
  const Babl *format = gegl_buffer_get_format (output);
  guchar     *pixels;

  if (scale == 1)
    {
      gegl_buffer_copy (input, result, GEGL_ABYSS_NONE, output, result);
      return;
    }
  pixels = g_try_malloc ((gsize) result->width * result->height * babl_format_get_bytes_per_pixel (format));
  if (pixels == NULL)
    return;
  gegl_buffer_get (input, result, scale, format, pixels, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  gegl_buffer_set (output, result, 0, format, pixels, GEGL_AUTO_ROWSTRIDE);
  g_free (pixels);
}

static gboolean
fail_scaled (GeglOperation       *operation,
             GeglBuffer          *input,
             GeglBuffer          *output,
             const GeglRectangle *result,
             gint                 scale,
             GError              *error)
{
  g_autofree gchar *message = g_strdup_printf ("%s: %s", gegl_operation_get_name (operation), error->message);

  if (input && output)
    pass_through (input, output, result, scale);
  /* GEGL's own log domain, at message level: the one GIMP shows its users
   * (a dialog or the error console) for a filter running inside it; every
   * other host prints it. */
  g_log ("GEGL", G_LOG_LEVEL_MESSAGE, "%s", message);
  /* A host that must tell a failed run from a result (the GIMP plug-ins,
   * which would merge it into a layer) looks for this. */
  g_object_set_data_full (G_OBJECT (operation), NP_OP_FAILURE, g_steal_pointer (&message), g_free);
  g_error_free (error);
  return FALSE;
}

GType
np_op_model_choices (NpModelUse use)
{
  g_autofree gchar    *name = g_strdup_printf ("NpOpModelChoices%d", use);
  g_autoptr(GPtrArray) models = NULL;
  GEnumValue          *values;
  GType                type = g_type_from_name (name);

  if (type)
    return type;
  models = np_model_list_for (use);
  /* GLib keeps the values for the type's life, the process's: never freed. */
  values = g_new0 (GEnumValue, models->len + 2);
  values[0] = (GEnumValue) { 0, _("The one named in Model (a name or a file)"), NP_OP_MODEL_NAMED };
  for (guint i = 0; i < models->len; i++)
    {
      NpModelEntry     *e = models->pdata[i];
      g_autofree gchar *summary = e->card ? np_model_card_summary (e->card) : NULL;

      values[i + 1].value = i + 1;
      /* The label GIMP shows: the name and what the card says it does. */
      if (summary == NULL || *summary == '\0')
        values[i + 1].value_name = g_strdup (e->name);
      else if (g_str_has_prefix (summary, e->name))
        values[i + 1].value_name = g_steal_pointer (&summary);
      else
        values[i + 1].value_name = g_strdup_printf ("%s — %s", e->name, summary);
      /* A model named like the first value is offered by its file. */
      values[i + 1].value_nick = g_strdup (g_strcmp0 (e->name, NP_OP_MODEL_NAMED) ? e->name : e->path);
    }
  return g_enum_register_static (g_intern_string (name), values);
}

GType
np_op_chroma_space_type (void)
{
  /* GLib keeps the values for the type's life, the process's. */
  static GEnumValue values[] = {
    { NP_CHROMA_YCBCR, N_("YCbCr (keep the luma Y')"), "ycbcr" },
    { NP_CHROMA_LAB, N_("Lab (keep the lightness L*)"), "lab" },
    { 0, NULL, NULL }
  };
  GType type = g_type_from_name ("NpChromaSpace");

  if (type)
    return type;
  for (gsize i = 0; values[i].value_name; i++)
    values[i].value_name = _(values[i].value_name);
  return g_enum_register_static ("NpChromaSpace", values);
}

const gchar *
np_op_chosen_model (GeglOperation *operation, const gchar *model, gint choice)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (operation), "installed-model");
  GEnumValue *value = pspec && G_IS_PARAM_SPEC_ENUM (pspec)
                      ? g_enum_get_value (G_PARAM_SPEC_ENUM (pspec)->enum_class, choice) : NULL;

  return value && choice != 0 ? value->value_nick : model;
}

NpModel *
np_op_lock_model (GeglOperation *operation,
                  const gchar   *model,
                  NpModelUse     use,
                  GError       **error)
{
  NpModel *loaded = np_op_cache_lock (operation, model);

  /* The node keeps its model (and the network's plan) across runs, as
   * long as the file is the one it was read from. */
  if (loaded && np_model_is_current (loaded))
    return loaded;
  if ((loaded = np_op_load_model (model, use, error)) == NULL)
    return NULL;
  np_op_cache_set (operation, model, loaded, (GDestroyNotify) np_model_free);
  return loaded;
}

NpModel *
np_op_load_model (const gchar *model,
                  NpModelUse   use,
                  GError     **error)
{
  NpModel *loaded = np_model_load_shared (model, error);

  if (loaded && !np_model_check_use (loaded, use, error))
    {
      g_prefix_error (error, "%s: ", model);
      g_clear_pointer (&loaded, np_model_free);
    }
  return loaded;
}

gboolean
np_op_generate (GeglOperation        *operation,
                GeglBuffer           *input,
                GeglBuffer           *output,
                const GeglRectangle  *result,
                const gchar          *model,
                NpModelUse            use,
                gint                  scale,
                const NpPaintOptions *options)
{
  const Babl        *format = gegl_operation_get_format (operation, "input");
  GeglRectangle      box = np_op_whole_input (operation, "input", result);
  GeglRectangle      out_box = { scale * box.x, scale * box.y, scale * box.width, scale * box.height };
  g_autoptr(NpImage) in = NULL, out = NULL;
  GError            *error = NULL;
  NpModel           *loaded;
  gboolean           ok;

  if ((in = np_op_read (input, &box, format, &error)) == NULL
      || (out = np_image_new (NP_SAMPLE_F32, out_box.width, out_box.height, 4, &error)) == NULL)
    return fail_scaled (operation, input, output, &out_box, scale, error);

  loaded = np_op_lock_model (operation, model, use, &error);
  ok = loaded && np_paint_generate (loaded, in, out, options, &error);
  np_op_cache_unlock (operation);
  if (!ok)
    return fail_scaled (operation, input, output, &out_box, scale, error);
  np_op_write (output, &out_box, format, out);
  return TRUE;
}

GArray *
np_op_find_faces (GeglOperation      *operation,
                  const gchar        *cascade,
                  gboolean            verify_eyes,
                  const NpImage      *image,
                  const NpHaarParams *params,
                  GError            **error)
{
  g_autofree gchar *key = g_strdup_printf ("%d %s", verify_eyes, cascade);
  NpFaceFinder     *finder = np_op_cache_lock (operation, key);
  GArray           *faces = NULL;

  if (finder == NULL && (finder = np_face_finder_new (cascade, verify_eyes, error)))
    np_op_cache_set (operation, key, finder, (GDestroyNotify) np_face_finder_free);
  if (finder)
    faces = np_face_finder_find (finder, image, params, np_op_threads (), error);
  np_op_cache_unlock (operation);
  return faces;
}

void
np_op_notice (GeglOperation *operation, const char *format, ...)
{
  g_autofree gchar *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_log ("GEGL", G_LOG_LEVEL_MESSAGE, NP_OP_NOTICE "%s: %s", gegl_operation_get_name (operation), text);
}

gboolean
np_op_fail (GeglOperation       *operation,
            GeglBuffer          *input,
            GeglBuffer          *output,
            const GeglRectangle *result,
            GError              *error)
{
  return fail_scaled (operation, input, output, result, 1, error);
}
