/* This file is part of neuropaint.
 *
 * neuropaint is free software; you can redistribute it and/or modify it under
 * the terms of the GNU Lesser General Public License as published by the Free
 * Software Foundation; either version 3 of the License, or (at your option)
 * any later version. See COPYING.LESSER.
 *
 * neuropaint:dream-face — a source: a noise model's face for a seed (a
 * dream model's from its latent vector, the noise experiment's from noise
 * pictures), two seeds' mixed and truncated, at the model's size or
 * enlarged through a super-resolution model (core/paint/dream.c).
 */

#include "config.h"
#include <glib/gi18n-lib.h>

#ifdef GEGL_PROPERTIES

property_seed (seed, _("Random seed"), rand)
    description (_("Names the noise (a dream model's latent vector z), and so the face: "
                   "the same seed gives the same face everywhere"))

property_seed (seed2, _("Second seed"), rand2)
    description (_("The face Mix walks to"))

property_double (mix, _("Mix"), 0.0)
    description (_("From the seed's face (0) to the second seed's (1), along the arc "
                   "between their noise (spherical interpolation)"))
    value_range (0.0, 1.0)

property_double (truncation, _("Truncation"), 1.0)
    description (_("ψ of the truncation trick for a plain z-GAN: the noise times ψ, toward "
                   "the prior's mean 0; lower gives more typical, less varied faces, 0 the "
                   "same face for every seed"))
    value_range (0.0, 1.0)

property_string (model, _("Model"), "noise2face")
    description (_("A noise model's name (neuropaint models lists them) or file"))
    ui_meta ("sensitive", "installed-model {named}")

property_enum (installed_model, _("Installed model"), gint, np_dream_face_models, 0)
    description (_("An installed noise model, or the one Model names (those "
                   "installed when the program started)"))
    ui_meta ("neuropaint:choices-of", "model")

property_string (sr_model, _("Super-resolution model"), "sr2x")
    description (_("The ×2 model (name or file) that enlarges a dream model's face asked "
                   "larger than the model makes it, ×2 at a time, as neuropaint:super-resolution "
                   "runs it (the noise U-Net's faces are resized)"))

property_int (width, _("Width"), 0)
    description (_("Width of the picture; 0: the model's own, or the one that keeps its "
                   "aspect with Height. A dream model's larger faces go through the super-resolution model"))
    value_range (0, 16384)
    ui_range (0, 2048)
    ui_meta ("unit", "pixel-distance")
    ui_meta ("axis", "x")
    ui_meta ("role", "output-extent")

property_int (height, _("Height"), 0)
    description (_("Height of the picture; 0: the model's own, or the one that keeps its "
                   "aspect with Width"))
    value_range (0, 16384)
    ui_range (0, 2048)
    ui_meta ("unit", "pixel-distance")
    ui_meta ("axis", "y")
    ui_meta ("role", "output-extent")

#else

#define GEGL_OP_SOURCE
#define GEGL_OP_NAME     np_dream_face
#define GEGL_OP_C_SOURCE np-dream-face.c

/* The installed-model property's enum type (gegl-op.h calls NAME_get_type). */
#include "np-op-util.h"
#define np_dream_face_models_get_type() np_op_model_choices (NP_MODEL_USE_NOISE)

#include "gegl-op.h"

static void
prepare (GeglOperation *operation)
{
  gegl_operation_set_format (operation, "output", babl_format ("R'G'B'A float"));
}

/* The op's models, cached together under both names: the dream model, and
 * the super-resolution model once a size asks for it. */
typedef struct
{
  NpModel *dream, *sr;
} Models;

static void
models_free (Models *models)
{
  np_model_free (models->dream);
  np_model_free (models->sr);
  g_free (models);
}

/* Locks the op's cache (np_op_cache_lock: unlock after, whatever this
 * returns) and returns its models, the super-resolution one loaded when a
 * dream of width × height (0: np_paint_dream_size's) needs it. */
static Models *
lock_models (GeglOperation *operation,
             gint           width,
             gint           height,
             GError       **error)
{
  GeglProperties   *o = GEGL_PROPERTIES (operation);
  const gchar      *name = np_op_chosen_model (operation, o->model, o->installed_model);
  g_autofree gchar *key = g_strconcat (name, "\n", o->sr_model, NULL);
  Models           *models = np_op_cache_lock (operation, key);
  NpModel          *dream;

  /* A file rewritten since: read again (np_op_cache_set frees the old). */
  if (models && (!np_model_is_current (models->dream) || (models->sr && !np_model_is_current (models->sr))))
    models = NULL;
  if (models == NULL)
    {
      if ((dream = np_op_load_model (name, NP_MODEL_USE_NOISE, error)) == NULL)
        return NULL;
      models = g_new0 (Models, 1);
      models->dream = dream;
      np_op_cache_set (operation, key, models, (GDestroyNotify) models_free);
    }
  np_paint_dream_size (models->dream, width, height, &width, &height);
  if (models->sr == NULL && np_paint_dream_steps (models->dream, width, height) > 0
      && (models->sr = np_op_load_model (o->sr_model, NP_MODEL_USE_SUPER_RESOLUTION, error)) == NULL)
    return NULL;
  return models;
}

static GeglRectangle
get_bounding_box (GeglOperation *operation)
{
  GeglProperties *o = GEGL_PROPERTIES (operation);
  Models         *models;
  gint            width = o->width, height = o->height;

  /* A side left 0 is the model's: a model that cannot load gives a pixel,
   * for process to report why. */
  if (width == 0 || height == 0)
    {
      models = lock_models (operation, 1, 1, NULL);
      if (models)
        np_paint_dream_size (models->dream, o->width, o->height, &width, &height);
      else
        width = height = 1;
      np_op_cache_unlock (operation);
    }
  return (GeglRectangle) { 0, 0, width, height };
}

/* The whole face at once: the network sees all of its noise. */
static GeglRectangle
get_cached_region (GeglOperation       *operation,
                   const GeglRectangle *roi)
{
  return get_bounding_box (operation);
}

static gboolean
process (GeglOperation       *operation,
         GeglBuffer          *output,
         const GeglRectangle *result,
         gint                 level)
{
  GeglProperties    *o = GEGL_PROPERTIES (operation);
  GeglRectangle      box = get_bounding_box (operation);
  g_autoptr(NpImage) face = NULL;
  GError            *error = NULL;
  Models            *models;
  gboolean           ok;

  models = lock_models (operation, box.width, box.height, &error);
  ok = models && (face = np_image_new (NP_SAMPLE_F32, box.width, box.height, 4, &error))
       && np_paint_dream (models->dream, &(NpDreamOptions) {
                            .seed = (guint32) o->seed, .seed2 = (guint32) o->seed2, .mix = o->mix,
                            .truncation = o->truncation, .super_resolution = models->sr,
                            .n_threads = np_op_threads () }, face, &error);
  np_op_cache_unlock (operation);
  if (!ok)
    return np_op_fail (operation, NULL, NULL, NULL, error);
  np_op_write (output, &box, babl_format ("R'G'B'A float"), face);
  return TRUE;
}

static void
gegl_op_class_init (GeglOpClass *klass)
{
  GeglOperationClass       *operation_class = GEGL_OPERATION_CLASS (klass);
  GeglOperationSourceClass *source_class = GEGL_OPERATION_SOURCE_CLASS (klass);

  operation_class->prepare = prepare;
  operation_class->get_bounding_box = get_bounding_box;
  operation_class->get_cached_region = get_cached_region;
  /* The core runs the network on GEGL's thread count itself. */
  operation_class->threaded = FALSE;
  source_class->process = process;

  gegl_operation_class_set_keys (operation_class,
    "name",        "neuropaint:dream-face",
    "title",       _("Dream face (neural network)"),
    "categories",  "neuropaint:render",
    "gimp:menu-path",  "<Image>/Filters/Render/Neuropaint",
    "gimp:menu-label", _("Dream Face..."),
    /* A tiny random noise model (tests/data, relative to the source tree
     * where the tests render). */
    "reference-composition",
      "<gegl><node operation='neuropaint:dream-face' model='tests/data/dream-tiny.safetensors'"
      " seed='7' width='64' height='80'/></gegl>",
    "reference-hash", "d303a1f39e75975cc19c689c00679cf1",
    "neuropaint:reference-tolerance", "1",
    "description", _("A face from noise: the noise model (default noise2face, a dream model, "
                     "which takes a latent vector; or the seed's noise U-Net) turns "
                     "the seed's Gaussian noise into a face at its own size (a dream model's "
                     "enlarged through the super-resolution model when asked larger). Every seed is a face, the "
                     "same one everywhere; Mix walks to the second seed's, Truncation pulls "
                     "toward the average."),
    NULL);
}

#endif
