/* neuropaint — what the GIMP 2.10 and GIMP 3 plug-ins share (np-gimp-op.h). */
#include "config.h"

#include <string.h>
#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <gegl-paramspecs.h>

#include "np-gimp-op.h"
#include "np-op-host.h"

const NpGimpMenuEntry np_gimp_menu_entries[] = {
  { NP_GIMP_INTO_NEW_IMAGE, "neuropaint:face-crop", "plug-in-neuropaint-crop-face", "<Image>/Image/Neuropaint",
    N_("Crop Face..."),
    N_("Crop the largest face (or face \"index\") with the seed's padding into a new image") },
  /* The filter's result is twice the layer: as a layer filter GIMP keeps
   * only the layer's part of it. */
  { NP_GIMP_INTO_NEW_IMAGE, "neuropaint:super-resolution", "plug-in-neuropaint-upscale",
    "<Image>/Image/Neuropaint", N_("Super Resolution..."),
    N_("Double the layer with a ×2 super-resolution model (default sr2x) into a new image") },
  /* A scan opens in Grayscale mode, where a filter cannot put colour. */
  { NP_GIMP_ONTO_RGB, "neuropaint:colorize-without-hints", "plug-in-neuropaint-colorize-photo", "<Image>/Image/Neuropaint",
    N_("Colorize Photo"),
    N_("Colour a black-and-white photo in one click: the image becomes RGB if it is not, and the layer "
       "gets Colorize (gray2color)") },
};
const gsize np_gimp_n_menu_entries = G_N_ELEMENTS (np_gimp_menu_entries);

gchar **
np_gimp_filter_ops (void)
{
  guint              n_ops = 0;
  g_autofree gchar **ops = gegl_list_operations (&n_ops);
  GPtrArray         *filters = g_ptr_array_new ();

  for (guint i = 0; i < n_ops; i++)
    if (g_str_has_prefix (ops[i], "neuropaint:")
        && gegl_operation_get_key (ops[i], "gimp:menu-path") != NULL)
      g_ptr_array_add (filters, g_strdup (ops[i]));
  g_ptr_array_add (filters, NULL);
  return (gchar **) g_ptr_array_free (filters, FALSE);
}

gchar *
np_gimp_procedure_name (const gchar *op)
{
  g_autofree gchar *name = g_strdup (op);

  g_strdelimit (name, ":", '-');
  return g_strconcat ("plug-in-", name, NULL);
}

gboolean
np_gimp_op_makes_colour (const gchar *op)
{
  return g_strcmp0 (gegl_operation_get_key (op, "neuropaint:makes-colour"), "true") == 0;
}

gboolean
np_gimp_op_is_source (const gchar *op)
{
  g_autoptr(GeglNode) graph = gegl_node_new ();
  GeglNode *node = gegl_node_new_child (graph, "operation", op, NULL);

  return !gegl_node_has_pad (node, "input");
}

static gboolean
has_key (GParamSpec *pspec, const gchar *key, const gchar *value)
{
  return g_strcmp0 (gegl_param_spec_get_property_key (pspec, key), value) == 0;
}

GParamSpec **
np_gimp_op_arguments (const gchar *op, guint *n_arguments)
{
  guint        n = 0, kept = 0;
  GParamSpec **pspecs = gegl_operation_list_properties (op, &n);

  for (guint i = 0; i < n; i++)
    if (!has_key (pspecs[i], "role", "output-extent"))
      pspecs[kept++] = pspecs[i];
  *n_arguments = kept;
  return pspecs;
}

GParamSpec *
np_gimp_choices_of (const gchar *op, GParamSpec *pspec)
{
  guint                  n = 0;
  g_autofree GParamSpec **pspecs = gegl_operation_list_properties (op, &n);

  for (guint i = 0; i < n; i++)
    if (G_IS_PARAM_SPEC_ENUM (pspecs[i]) && has_key (pspecs[i], "neuropaint:choices-of", pspec->name))
      return pspecs[i];
  return NULL;
}

gboolean
np_gimp_is_choices (GParamSpec *pspec)
{
  return gegl_param_spec_get_property_key (pspec, "neuropaint:choices-of") != NULL;
}

gboolean
np_gimp_ui_range (GParamSpec *pspec, gdouble *lower, gdouble *upper)
{
  if (GEGL_IS_PARAM_SPEC_INT (pspec))
    *lower = GEGL_PARAM_SPEC_INT (pspec)->ui_minimum, *upper = GEGL_PARAM_SPEC_INT (pspec)->ui_maximum;
  else if (GEGL_IS_PARAM_SPEC_DOUBLE (pspec))
    *lower = GEGL_PARAM_SPEC_DOUBLE (pspec)->ui_minimum, *upper = GEGL_PARAM_SPEC_DOUBLE (pspec)->ui_maximum;
  else if (G_IS_PARAM_SPEC_INT (pspec))
    *lower = G_PARAM_SPEC_INT (pspec)->minimum, *upper = G_PARAM_SPEC_INT (pspec)->maximum;
  else if (G_IS_PARAM_SPEC_UINT (pspec))
    *lower = G_PARAM_SPEC_UINT (pspec)->minimum, *upper = G_PARAM_SPEC_UINT (pspec)->maximum;
  else if (G_IS_PARAM_SPEC_DOUBLE (pspec))
    *lower = G_PARAM_SPEC_DOUBLE (pspec)->minimum, *upper = G_PARAM_SPEC_DOUBLE (pspec)->maximum;
  else
    return FALSE;
  return TRUE;
}

/* A property of config as text: an enum as its nick, a file as its path. */
static gchar *
value_text (GObject *config, const gchar *name)
{
  GParamSpec      *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (config), name);
  g_auto(GValue)   value = G_VALUE_INIT;

  if (pspec == NULL)
    return NULL;
  g_value_init (&value, pspec->value_type);
  g_object_get_property (config, name, &value);

  if (G_VALUE_HOLDS (&value, G_TYPE_FILE))
    return g_value_get_object (&value) ? g_file_get_path (g_value_get_object (&value)) : g_strdup ("");
  if (G_VALUE_HOLDS_STRING (&value))
    return g_strdup (g_value_get_string (&value) ? g_value_get_string (&value) : "");
  if (G_VALUE_HOLDS_ENUM (&value))
    {
      g_autoptr(GEnumClass) enums = g_type_class_ref (pspec->value_type);
      GEnumValue *v = g_enum_get_value (enums, g_value_get_enum (&value));
      return g_strdup (v ? v->value_nick : "");
    }
  if (G_VALUE_HOLDS_BOOLEAN (&value))
    return g_strdup (g_value_get_boolean (&value) ? "true" : "false");
  if (G_VALUE_HOLDS_INT (&value))
    return g_strdup_printf ("%d", g_value_get_int (&value));
  if (G_VALUE_HOLDS_UINT (&value))
    return g_strdup_printf ("%u", g_value_get_uint (&value));
  if (G_VALUE_HOLDS_DOUBLE (&value))
    {
      gchar number[G_ASCII_DTOSTR_BUF_SIZE];
      return g_strdup (g_ascii_dtostr (number, sizeof number, g_value_get_double (&value)));
    }
  return NULL;
}

gchar *
np_gimp_chain_from_object (const gchar *op, GObject *config)
{
  guint                  n = 0;
  g_autofree GParamSpec **pspecs = np_gimp_op_arguments (op, &n);
  GString               *chain = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      g_autofree gchar *text = value_text (config, pspecs[i]->name);

      /* Empty is the op's default: GEGL would read an empty file path as
       * the current folder. */
      if (text == NULL || text[0] == '\0')
        continue;
      /* gegl_create_chain splits as a shell does: quote what needs it. */
      if (strpbrk (text, " \t\n'\"\\$`*?[]#~;&|<>()") != NULL)
        {
          g_autofree gchar *quoted = g_shell_quote (text);
          g_string_append_printf (chain, "%s%s=%s", chain->len ? " " : "", pspecs[i]->name, quoted);
        }
      else
        g_string_append_printf (chain, "%s%s=%s", chain->len ? " " : "", pspecs[i]->name, text);
    }
  return g_string_free (chain, FALSE);
}

/* GEGL UI meta's boolean expressions, as GIMP's propgui evaluates them. */
typedef struct
{
  GObject     *config;
  const gchar *at;
  gboolean     failed;
} NpGum;

static void
gum_space (NpGum *gum)
{
  while (g_ascii_isspace (*gum->at))
    gum->at++;
}

static gboolean
gum_accept (NpGum *gum, gchar c)
{
  gum_space (gum);
  if (*gum->at != c)
    return FALSE;
  gum->at++;
  return TRUE;
}

static gchar *
gum_name (NpGum *gum)
{
  const gchar *start;

  gum_space (gum);
  start = gum->at;
  while (g_ascii_isalnum (*gum->at) || *gum->at == '-' || *gum->at == '_')
    gum->at++;
  if (gum->at == start)
    gum->failed = TRUE;
  return g_strndup (start, gum->at - start);
}

static gboolean gum_or (NpGum *gum);

static gboolean
gum_simple (NpGum *gum)
{
  g_autofree gchar *name = NULL, *value = NULL;
  gboolean          match = FALSE;

  if (gum_accept (gum, '!'))
    return !gum_simple (gum);
  if (gum_accept (gum, '('))
    {
      gboolean result = gum_or (gum);
      gum->failed |= !gum_accept (gum, ')');
      return result;
    }
  name = gum_name (gum);
  if (g_str_equal (name, "0") || g_str_equal (name, "1"))
    return name[0] == '1';
  value = value_text (gum->config, name);
  gum->failed |= value == NULL;
  if (!gum_accept (gum, '{'))
    return g_strcmp0 (value, "true") == 0;
  do
    {
      g_autofree gchar *nick = gum_name (gum);
      match |= g_strcmp0 (nick, value) == 0;
    }
  while (!gum->failed && gum_accept (gum, ','));
  gum->failed |= !gum_accept (gum, '}');
  return match;
}

static gboolean
gum_and (NpGum *gum)
{
  gboolean result = gum_simple (gum);

  while (!gum->failed && gum_accept (gum, '&'))
    result &= gum_simple (gum);
  return result;
}

static gboolean
gum_or (NpGum *gum)
{
  gboolean result = gum_and (gum);

  while (!gum->failed && gum_accept (gum, '|'))
    result |= gum_and (gum);
  return result;
}

gboolean
np_gimp_sensitive (GObject *config, GParamSpec *pspec)
{
  NpGum    gum = { config, gegl_param_spec_get_property_key (pspec, "sensitive"), FALSE };
  gboolean result;

  if (gum.at == NULL)
    return TRUE;
  result = gum_or (&gum);
  gum_space (&gum);
  if (gum.failed || *gum.at != '\0')
    {
      g_warning ("%s: cannot read its \"sensitive\" expression", pspec->name);
      return TRUE;
    }
  return result;
}

/* The extent a source covers, as GIMP 3 sets it: properties in the role
 * "output-extent" with a pixel-distance unit get the size on their axis. */
static gchar *
extent_chain (const gchar *op, const GeglRectangle *size)
{
  guint                  n = 0;
  g_autofree GParamSpec **pspecs = gegl_operation_list_properties (op, &n);
  GString               *chain = g_string_new (NULL);

  for (guint i = 0; size && i < n; i++)
    if (has_key (pspecs[i], "role", "output-extent") && has_key (pspecs[i], "unit", "pixel-distance"))
      {
        if (has_key (pspecs[i], "axis", "x"))
          g_string_append_printf (chain, " %s=%d", pspecs[i]->name, size->width);
        else if (has_key (pspecs[i], "axis", "y"))
          g_string_append_printf (chain, " %s=%d", pspecs[i]->name, size->height);
      }
  return g_string_free (chain, FALSE);
}

/* Links start → "op extent chain" → a nop it returns, in graph. */
static GeglNode *
build_chain (GeglNode            *graph,
             GeglNode            *start,
             const gchar         *op,
             const gchar         *chain,
             const GeglRectangle *size,
             GError             **error)
{
  g_autofree gchar *extent = extent_chain (op, size);
  g_autofree gchar *text = g_strdup_printf ("%s%s %s", op, extent, chain ? chain : "");
  GeglNode         *end = gegl_node_new_child (graph, "operation", "gegl:nop", NULL);
  GError           *chain_error = NULL;

  if (!gegl_has_operation (op))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "%s is not installed in GEGL's plug-in folder", op);
      return NULL;
    }
  gegl_create_chain (text, start, end, 0.0, 0, NULL, &chain_error);
  if (chain_error)
    {
      g_propagate_prefixed_error (error, chain_error, "%s: ", op);
      return NULL;
    }
  return end;
}

GeglNode *
np_gimp_op_node (GeglNode *graph, const gchar *op, const gchar *chain, GError **error)
{
  GeglNode *start = gegl_node_new_child (graph, "operation", "gegl:nop", NULL);
  GeglNode *end = build_chain (graph, start, op, chain, NULL, error);
  GeglNode *node = end ? gegl_node_get_producer (end, "input", NULL) : NULL;

  if (end && (node == NULL || g_strcmp0 (gegl_node_get_operation (node), op) != 0))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: \"%s\" holds more than the op's properties", op, chain);
      return NULL;
    }
  return node;
}

gboolean
np_gimp_op_takes_aux (const gchar *op)
{
  g_autoptr(GeglNode) graph = gegl_node_new ();
  GeglNode *node = gegl_node_new_child (graph, "operation", op, NULL);

  return gegl_node_has_pad (node, "aux");
}

/* input (or nothing) → "op extent chain" → the nop it returns, in graph;
 * aux (or nothing) into the op's aux pad. */
static GeglNode *
build_graph (GeglNode            *graph,
             const gchar         *op,
             const gchar         *chain,
             GeglBuffer          *input,
             GeglBuffer          *aux,
             const GeglRectangle *size,
             GError             **error)
{
  GeglNode *start = input
    ? gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", input, NULL)
    : gegl_node_new_child (graph, "operation", "gegl:nop", NULL);
  GeglNode *end = build_chain (graph, start, op, chain, size, error);
  GeglNode **consumers = NULL;
  const gchar **pads = NULL;

  /* The op is the node start feeds. */
  if (end && aux && gegl_node_get_consumers (start, "output", &consumers, &pads) > 0)
    gegl_node_connect_to (gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", aux, NULL),
                          "output", consumers[0], "aux");
  g_free (consumers);
  g_free (pads);
  return end;
}

gboolean
np_gimp_extent (const gchar         *op,
                const gchar         *chain,
                GeglBuffer          *input,
                GeglRectangle       *extent,
                GError             **error)
{
  g_autoptr(GeglNode) graph = gegl_node_new ();
  GeglNode           *end = build_graph (graph, op, chain, input, NULL, NULL, error);

  if (end)
    *extent = gegl_node_get_bounding_box (end);
  return end != NULL;
}

gboolean
np_gimp_run (const gchar         *op,
             const gchar         *chain,
             GeglBuffer          *input,
             GeglBuffer          *aux,
             const GeglRectangle *size,
             GeglBuffer          *output,
             const GeglRectangle *roi,
             NpGimpProgress       progress,
             gpointer             progress_data,
             GError             **error)
{
  g_autoptr(GeglNode)      graph = gegl_node_new ();
  g_autoptr(GeglProcessor) processor = NULL;
  g_autoptr(GSList)        children = NULL;
  GeglNode                *end, *sink;
  gdouble                  done = 0.0;

  if (!(end = build_graph (graph, op, chain, input, aux, size, error)))
    return FALSE;
  sink = gegl_node_new_child (graph, "operation", "gegl:write-buffer", "buffer", output, NULL);
  gegl_node_link (end, sink);

  processor = gegl_node_new_processor (sink, roi);
  while (gegl_processor_work (processor, &done))
    if (progress)
      progress (done, progress_data);
  gegl_buffer_flush (output);

  /* An op that failed left an empty output and its reason (np_op_fail). */
  children = gegl_node_get_children (graph);
  for (GSList *child = children; child; child = child->next)
    {
      GeglOperation *operation = gegl_node_get_gegl_operation (child->data);
      const gchar   *failure = operation ? g_object_get_data (G_OBJECT (operation), NP_OP_FAILURE) : NULL;

      if (failure)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", failure);
          return FALSE;
        }
    }
  return TRUE;
}
