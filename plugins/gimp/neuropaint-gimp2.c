/* neuropaint — the GIMP 2.10 plug-in: menu entries under Filters ▸ Neuropaint
 * that run our GEGL ops on the active drawable.
 *
 * GIMP 2.10 has no menu-path key for GEGL ops, so this registers one PDB
 * procedure per op. It holds no pixel maths: drawable buffer → op → shadow
 * buffer, merge, update. A procedure's extra "properties" argument takes the
 * op's properties in gegl chain syntax ("low=100 high=200"), so scripts can set
 * any of them without this file knowing their names. */
#include "config.h"

#include <libgimp/gimp.h>
#include <gegl.h>

typedef struct
{
  const char *procedure;
  const char *op;
  const char *label;
  const char *blurb;
  gboolean    source;   /* renders from nothing, at the drawable's size */
} NpGimpFilter;

static const NpGimpFilter filters[] = {
  { "plug-in-neuropaint-gray", "neuropaint:gray", "_Gray (BT.601 luma)",
    "Replace the colours with their BT.601 luma (OpenCV's RGB2GRAY)" },
  { "plug-in-neuropaint-rgb-threshold", "neuropaint:rgb-threshold", "RGB _Binary Threshold",
    "Per channel: values above the threshold become the threshold, the rest 0" },
  { "plug-in-neuropaint-contours", "neuropaint:contours", "Colour _Contours",
    "Per channel, the borders of c > 50, 100, 150, 200 drawn in that value (the seed's contours)" },
  { "plug-in-neuropaint-canny", "neuropaint:canny", "C_anny Edges",
    "Canny edges per channel or of the luma, as OpenCV's cv::Canny" },
  { "plug-in-neuropaint-face-detect", "neuropaint:face-detect", "_Face Detection",
    "Draw the boxes of the faces a Haar cascade finds, as OpenCV's detectMultiScale" },
  { "plug-in-neuropaint-generator", "neuropaint:generator", "_Generator (model file)…",
    "Run a trained generator model file (properties: \"model=/path/to/file.safetensors\")" },
  { "plug-in-neuropaint-cppn", "neuropaint:cppn", "CPPN _Art",
    "Render abstract art from a random network over the layer (properties: \"seed=7 color-mode=hsv\" ...)",
    TRUE },
};

static const NpGimpFilter *
find_filter (const gchar *procedure)
{
  for (gsize i = 0; i < G_N_ELEMENTS (filters); i++)
    if (g_strcmp0 (filters[i].procedure, procedure) == 0)
      return &filters[i];
  return NULL;
}

static void
query (void)
{
  static const GimpParamDef args[] = {
    { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }" },
    { GIMP_PDB_IMAGE, "image", "Input image (unused)" },
    { GIMP_PDB_DRAWABLE, "drawable", "Input drawable" },
    { GIMP_PDB_STRING, "properties", "Op properties in gegl chain syntax, e.g. \"threshold=150\" (may be empty)" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (filters); i++)
    {
      gimp_install_procedure (filters[i].procedure, filters[i].blurb, filters[i].blurb,
                              "neuropaint developers", "LGPL-3.0-or-later", "2026",
                              filters[i].label, "RGB*, GRAY*", GIMP_PLUGIN,
                              G_N_ELEMENTS (args), 0, args, NULL);
      gimp_plugin_menu_register (filters[i].procedure, "<Image>/Filters/Neuropaint");
    }
}

/* Runs op (with properties) from the drawable's buffer into its shadow. */
static gboolean
apply_filter (const NpGimpFilter *filter, gint32 drawable, const gchar *properties,
              GError **error)
{
  /* A source renders at the drawable's size; the caller's properties come
   * last, so they may still set width and height. */
  g_autofree gchar *size = filter->source
    ? g_strdup_printf ("width=%d height=%d", gimp_drawable_width (drawable), gimp_drawable_height (drawable))
    : g_strdup ("");
  g_autofree gchar *chain = g_strdup_printf ("%s %s %s", filter->op, size, properties ? properties : "");
  g_autoptr(GeglBuffer) buffer = gimp_drawable_get_buffer (drawable);
  g_autoptr(GeglBuffer) shadow = gimp_drawable_get_shadow_buffer (drawable);
  g_autoptr(GeglNode) graph = gegl_node_new ();
  GeglNode *source, *end, *sink;

  if (!gegl_has_operation (filter->op))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "%s is not installed in GEGL's plug-in folder", filter->op);
      return FALSE;
    }
  source = filter->source
    ? gegl_node_new_child (graph, "operation", "gegl:nop", NULL)
    : gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", buffer, NULL);
  end = gegl_node_new_child (graph, "operation", "gegl:nop", NULL);
  sink = gegl_node_new_child (graph, "operation", "gegl:write-buffer", "buffer", shadow, NULL);
  gegl_create_chain (chain, source, end, 0.0, 0, NULL, error);
  if (error && *error)
    return FALSE;
  gegl_node_link (end, sink);
  gegl_node_process (sink);
  gegl_buffer_flush (shadow);
  return TRUE;
}

static void
run (const gchar      *name,
     gint              n_params,
     const GimpParam  *param,
     gint             *n_return_vals,
     GimpParam       **return_vals)
{
  static GimpParam    values[2];
  const NpGimpFilter *filter = find_filter (name);
  GError             *error = NULL;
  gint32              drawable;
  gint                x, y, width, height;

  *n_return_vals = 1;
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;
  values[0].data.d_status = GIMP_PDB_SUCCESS;

  if (filter == NULL || n_params < 3)
    {
      values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
      return;
    }

  gegl_init (NULL, NULL);
  drawable = param[2].data.d_drawable;
  gimp_progress_init (filter->blurb);

  if (apply_filter (filter, drawable, n_params > 3 ? param[3].data.d_string : NULL, &error))
    {
      if (gimp_drawable_mask_intersect (drawable, &x, &y, &width, &height))
        {
          gimp_drawable_merge_shadow (drawable, TRUE);
          gimp_drawable_update (drawable, x, y, width, height);
        }
      if (param[0].data.d_int32 != GIMP_RUN_NONINTERACTIVE)
        gimp_displays_flush ();
    }
  else
    {
      *n_return_vals = 2;
      values[0].data.d_status = GIMP_PDB_EXECUTION_ERROR;
      values[1].type = GIMP_PDB_STRING;
      values[1].data.d_string = g_strdup_printf ("%s: %s", filter->procedure, error->message);
      g_error_free (error);
    }
  gegl_exit ();
}

const GimpPlugInInfo PLUG_IN_INFO = { NULL, NULL, query, run };

MAIN ()
