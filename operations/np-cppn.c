/* This file is part of neuropaint.
 *
 * neuropaint is free software; you can redistribute it and/or modify it under
 * the terms of the GNU Lesser General Public License as published by the Free
 * Software Foundation; either version 3 of the License, or (at your option)
 * any later version. See COPYING.LESSER.
 *
 * neuropaint:cppn — abstract art from a randomly initialised network
 * evaluated at every pixel (core/cppn/).
 */

#include "config.h"
#include <glib/gi18n-lib.h>

#ifdef GEGL_PROPERTIES

enum_start (np_cppn_op_color_mode)
  enum_value (NP_CPPN_OP_BW,   "bw",   N_("Black and white"))
  enum_value (NP_CPPN_OP_RGB,  "rgb",  N_("RGB"))
  enum_value (NP_CPPN_OP_CMYK, "cmyk", N_("CMYK"))
  enum_value (NP_CPPN_OP_HSV,  "hsv",  N_("HSV"))
  enum_value (NP_CPPN_OP_HSL,  "hsl",  N_("HSL"))
enum_end (NpCppnOpColorMode)

enum_start (np_cppn_op_coords)
  enum_value (NP_CPPN_OP_ORIGINAL, "original", N_("Original (x down the rows)"))
  enum_value (NP_CPPN_OP_CENTERED, "centered", N_("Centered, with zoom and pan"))
enum_end (NpCppnOpCoords)

property_seed (seed, _("Random seed"), rand)
    description (_("Names the weights: the same seed gives the same image everywhere"))

property_int (width, _("Width"), 512)
    description (_("Width of the picture the coordinates are laid out on"))
    value_range (1, 65536)
    ui_range (1, 4096)
    ui_meta ("unit", "pixel-distance")
    ui_meta ("axis", "x")
    ui_meta ("role", "output-extent")

property_int (height, _("Height"), 512)
    description (_("Height of the picture the coordinates are laid out on"))
    value_range (1, 65536)
    ui_range (1, 4096)
    ui_meta ("unit", "pixel-distance")
    ui_meta ("axis", "y")
    ui_meta ("role", "output-extent")

property_enum (color_mode, _("Colour mode"), NpCppnOpColorMode, np_cppn_op_color_mode,
               NP_CPPN_OP_RGB)
    description (_("How the network's outputs are read as a colour"))

property_boolean (alpha, _("Alpha"), FALSE)
    description (_("One more output as alpha: 0.25 + 0.75 (1 − |2·out − 1|)"))

property_int (depth, _("Depth"), 10)
    description (_("Hidden layers"))
    value_range (1, 1000)
    ui_range (1, 40)

property_int (size, _("Units per layer"), 15)
    description (_("Units in each hidden layer"))
    value_range (1, 4096)
    ui_range (1, 64)

property_string (activation, _("Activation"), "tanh")
    description (_("Hidden activation: tanh, sigmoid, relu, identity, softsign, "
                   "sin or cos, or a comma-separated list repeated over the layers"))

property_double (z1, _("z1"), -0.618)
    description (_("First constant input"))
    ui_range (-1.0, 1.0)

property_double (z2, _("z2"), 0.618)
    description (_("Second constant input"))
    ui_range (-1.0, 1.0)

property_string (z, _("z vector"), "")
    description (_("The constant inputs as a comma-separated list of any length; "
                   "when set, it replaces z1 and z2"))

property_boolean (sym, _("Symmetric"), FALSE)
    description (_("x ← x², y ← y² before the radius"))

property_boolean (trig, _("Trigonometric z"), FALSE)
    description (_("z1 ← cos(z1·x), z2 ← sin(z2·y)"))

property_enum (coords, _("Coordinates"), NpCppnOpCoords, np_cppn_op_coords,
               NP_CPPN_OP_ORIGINAL)
    description (_("original: x = row/min(W,H) − 0.5, y = column/min(W,H) − 0.5, "
                   "as the seed; centered: x right, y down, 0 at the centre"))

property_boolean (infinite, _("Infinite plane"), FALSE)
    description (_("Centered coordinates: render the whole plane (an infinite "
                   "bounding box, like gegl:checkerboard; crop it before saving)"))
    ui_meta ("sensitive", "coords {centered}")

property_double (zoom, _("Zoom"), 1.0)
    description (_("Centered coordinates: magnification (the short side spans 1/zoom)"))
    value_range (1e-6, 1e6)
    ui_range (0.05, 20.0)
    ui_gamma (3.0)
    ui_meta ("sensitive", "coords {centered}")

property_double (pan_x, _("Pan x"), 0.0)
    description (_("Centered coordinates: the x at the picture's centre"))
    ui_range (-2.0, 2.0)
    ui_meta ("sensitive", "coords {centered}")

property_double (pan_y, _("Pan y"), 0.0)
    description (_("Centered coordinates: the y at the picture's centre"))
    ui_range (-2.0, 2.0)
    ui_meta ("sensitive", "coords {centered}")

property_double (hidden_std, _("Hidden std"), 1.0)
    description (_("Standard deviation of the hidden layers' weights and biases"))
    value_range (0.0, 1000.0)
    ui_range (0.0, 4.0)

property_double (output_std, _("Output std"), 1.0)
    description (_("Standard deviation of the output layer's weights and biases"))
    value_range (0.0, 1000.0)
    ui_range (0.0, 4.0)

property_boolean (bias, _("Bias"), TRUE)
    description (_("Off: every bias is 0"))

property_boolean (radius, _("Radius input"), TRUE)
    description (_("Off: no r = √(x² + y²) input"))

#else

#define GEGL_OP_POINT_RENDER
#define GEGL_OP_NAME     np_cppn
#define GEGL_OP_C_SOURCE np-cppn.c

#include "gegl-op.h"
#include "np-op-util.h"

/* The properties as core parameters; the caller frees nothing (names are
 * static enum nicks or the properties' own strings). */
static gboolean
params_from_properties (GeglProperties *o, NpCppnParams *p, GError **error)
{
  g_autoptr(GEnumClass) modes = g_type_class_ref (np_cppn_op_color_mode_get_type ());

  np_cppn_params_init (p);
  p->seed = o->seed;
  p->width = o->width;
  p->height = o->height;
  p->color_mode = g_enum_get_value (modes, o->color_mode)->value_nick;
  p->alpha = o->alpha;
  p->depth = o->depth;
  p->size = o->size;
  p->activation = o->activation;
  p->z[0] = o->z1;
  p->z[1] = o->z2;
  p->sym = o->sym;
  p->trig = o->trig;
  p->coords = o->coords == NP_CPPN_OP_CENTERED ? NP_CPPN_COORDS_CENTERED
                                               : NP_CPPN_COORDS_ORIGINAL;
  p->zoom = o->zoom;
  p->pan_x = o->pan_x;
  p->pan_y = o->pan_y;
  p->hidden_std = o->hidden_std;
  p->output_std = o->output_std;
  p->bias = o->bias;
  p->radius = o->radius;
  return o->z[0] == '\0' || np_cppn_params_set_z (p, o->z, error);
}

static void
prepare (GeglOperation *operation)
{
  GeglProperties *o = GEGL_PROPERTIES (operation);
  GError         *error = NULL;
  NpCppnParams    params;

  gegl_operation_set_format (operation, "output", babl_format ("R'G'B'A float"));

  /* The network is rebuilt whenever GEGL re-prepares (a property changed);
   * process only reads it, from any number of threads. */
  g_clear_pointer ((NpCppn **) &o->user_data, np_cppn_free);
  if (params_from_properties (o, &params, &error))
    o->user_data = np_cppn_new (&params, &error);
  if (error)
    np_op_fail (operation, NULL, NULL, NULL, error);
}

static GeglRectangle
get_bounding_box (GeglOperation *operation)
{
  GeglProperties *o = GEGL_PROPERTIES (operation);

  /* Original coordinates are tied to the picture (its min(W, H)); centered
   * ones extend naturally in every direction. */
  if (o->infinite && o->coords == NP_CPPN_OP_CENTERED)
    return gegl_rectangle_infinite_plane ();
  return (GeglRectangle) { 0, 0, o->width, o->height };
}

static gboolean
process (GeglOperation       *operation,
         void                *out_buf,
         glong                n_pixels,
         const GeglRectangle *roi,
         gint                 level)
{
  GeglProperties *o = GEGL_PROPERTIES (operation);

  if (o->user_data == NULL)
    return FALSE;
  /* GEGL already runs regions on its threads: one thread per call. At a
   * mipmap level (zoomed-out previews) roi is in that level's pixels. */
  np_cppn_render_level (o->user_data, roi->x, roi->y, roi->width, roi->height, level,
                        out_buf, (gsize) roi->width * 4 * sizeof (gfloat), 1);
  return TRUE;
}

static void
finalize (GObject *object)
{
  GeglProperties *o = GEGL_PROPERTIES (object);

  g_clear_pointer ((NpCppn **) &o->user_data, np_cppn_free);
  G_OBJECT_CLASS (gegl_op_parent_class)->finalize (object);
}

static void
gegl_op_class_init (GeglOpClass *klass)
{
  GObjectClass                  *object_class = G_OBJECT_CLASS (klass);
  GeglOperationClass            *operation_class = GEGL_OPERATION_CLASS (klass);
  GeglOperationPointRenderClass *point_render_class = GEGL_OPERATION_POINT_RENDER_CLASS (klass);

  object_class->finalize = finalize;
  operation_class->prepare = prepare;
  operation_class->get_bounding_box = get_bounding_box;
  point_render_class->process = process;

  gegl_operation_class_set_keys (operation_class,
    "name",        "neuropaint:cppn",
    "title",       _("CPPN art"),
    "categories",  "neuropaint:render",
    "gimp:menu-path",  "<Image>/Filters/Render/Neuropaint",
    "gimp:menu-label", _("CPPN Art..."),
    /* A source: no reference picture below it. The hash is of the FMA
     * clones (x86-64-v3 and up); the portable clone rounds differently. */
    "reference-composition",
      "<gegl><node operation='neuropaint:cppn' seed='7' width='160' height='120'/></gegl>",
    "reference-hash", "6af4204f9856d0219f95d18c0cc53db4",
    "description", _("Abstract art from a randomly initialised dense network "
                     "evaluated at every pixel (inputs x, y, r, z; sigmoid "
                     "outputs read as a colour). Any region renders alone."),
    NULL);
}

#endif
