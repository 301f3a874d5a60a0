/* neuropaint — graphs and chains: the built-in graphs, XML graphs and
 * `OP KEY=VALUE…` chains added to a GEGL graph, with their size and their
 * values checked before GEGL sees them (GEGL only warns, or hangs). */

#include "config.h"
#include "cli.h"

#include <gegl-plugin.h>
#include <gio/gio.h>
#include <math.h>

#define CLI_GRAPHS_RESOURCE "/org/neuropaint/graphs/"

gchar **
cli_graph_names (void)
{
  g_auto(GStrv) files = g_resources_enumerate_children (CLI_GRAPHS_RESOURCE, 0, NULL);
  GPtrArray *names = g_ptr_array_new ();

  for (guint i = 0; files && files[i]; i++)
    if (g_str_has_suffix (files[i], ".xml"))
      g_ptr_array_add (names, g_strndup (files[i], strlen (files[i]) - 4));
  cli_sort_strings (names);
  g_ptr_array_add (names, NULL);
  return (gchar **) g_ptr_array_free (names, FALSE);
}

static gboolean
check_xml (const char *xml, GError **error)
{
  static const GMarkupParser nothing = { NULL };
  g_autoptr(GMarkupParseContext) context = g_markup_parse_context_new (&nothing, 0, NULL, NULL);

  if (g_markup_parse_context_parse (context, xml, -1, error)
      && g_markup_parse_context_end_parse (context, error))
    return TRUE;
  g_prefix_error (error, "not well-formed XML: ");
  return FALSE;
}

/* ---- How many ops a graph or chain may have (issue 21, item 17) ---------- */

/* GEGL's time to set up a graph grows faster than the square of its nodes
 * (1,000 take a second, 4,000 forty, 200,000 never end): far more than any
 * pipeline needs, and refused before GEGL sees them. */
#define MAX_NODES 1000

static void
count_node (GMarkupParseContext *context, const gchar *element, const gchar **names,
            const gchar **values, gpointer data, GError **error)
{
  if (g_str_equal (element, "node") && ++*(guint *) data > MAX_NODES)
    g_set_error (error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT, "stop");
}

static gboolean
check_graph_nodes (const char *xml, GError **error)
{
  static const GMarkupParser counter = { count_node };
  guint nodes = 0;
  g_autoptr(GMarkupParseContext) context = g_markup_parse_context_new (&counter, 0, &nodes, NULL);

  /* Well-formed already (check_xml): an error here is the count's. */
  if (g_markup_parse_context_parse (context, xml, -1, NULL) && nodes <= MAX_NODES)
    return TRUE;
  g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
               "more than %d nodes: too many for GEGL, whose time grows faster than their square", MAX_NODES);
  return FALSE;
}

gboolean
cli_check_chain_nodes (char **chain, GError **error)
{
  guint nodes = 0;

  for (gint i = 0; chain[i]; i++)
    if (!strchr (chain[i], '=') && !g_str_equal (chain[i], "]") && !g_str_equal (chain[i], "["))
      nodes++;
  if (nodes <= MAX_NODES)
    return TRUE;
  g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
               "operation chain: %u ops, more than %d: too many for GEGL, whose time grows faster than "
               "their square", nodes, MAX_NODES);
  return FALSE;
}

gchar *
cli_graph_xml (const char *name_or_path, gchar **path_root, GError **error)
{
  g_autofree gchar *resource = g_strconcat (CLI_GRAPHS_RESOURCE, name_or_path, ".xml", NULL);
  g_autoptr(GBytes) bytes = g_resources_lookup_data (resource, 0, NULL);
  g_autoptr(GBytes) file = NULL;
  gchar *xml;

  if (bytes)
    {
      *path_root = g_get_current_dir ();
      return g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
    }
  /* A graph is a few kilobytes; a FIFO or a folder is refused, not waited on. */
  if (!(file = np_file_read (name_or_path, 16 << 20, error)))
    return NULL;
  xml = g_strndup (g_bytes_get_data (file, NULL), g_bytes_get_size (file));
  if (!check_xml (xml, error) || !check_graph_nodes (xml, error))
    {
      g_prefix_error (error, "%s: ", name_or_path);
      g_free (xml);
      return NULL;
    }
  *path_root = g_path_get_dirname (name_or_path);
  return xml;
}

/* Digits with an optional minus: what g_ascii_string_to_signed reads. */
static gboolean
is_integer (const char *text)
{
  if (*text == '-')
    text++;
  if (!g_ascii_isdigit (*text))
    return FALSE;
  while (g_ascii_isdigit (*text))
    text++;
  return *text == '\0';
}

/* A finite number and nothing else (GEGL reads "12abc" as 12, "banana" as
 * 0, and GObject's range check lets NaN through). */
static gboolean
is_number (const char *text)
{
  gchar  *end;
  gdouble value = g_ascii_strtod (text, &end);

  return end != text && *end == '\0' && isfinite (value);
}

/* Every spelling GEGL's loaders take as TRUE; anything else becomes FALSE
 * there, so only the usual ways to say false are let through. */
static gboolean
is_boolean (const char *text)
{
  static const char *const spellings[] = { "true", "TRUE", "YES", "yes", "y", "Y", "1", "on",
                                           "false", "FALSE", "NO", "no", "n", "N", "0", "off" };

  for (guint i = 0; i < G_N_ELEMENTS (spellings); i++)
    if (g_str_equal (text, spellings[i]))
      return TRUE;
  return FALSE;
}

/* GEGL's chain and XML readers turn a property's text into its value
 * without checking it ("threshold=banana" gives 0, "12abc" 12, "faces=maybe"
 * FALSE), and GObject reports a clamped integer as the clamped number
 * (99999999999999999999 as “-2147483648”): check the text first, as the
 * user wrote it. A chain's numbers may be relative ("0.5rel"). Other types
 * (strings, colours, enums, paths) are GEGL's to read. */
static gboolean
check_property_value (const char *op, const char *key, const char *text, gboolean relative,
                      GError **error)
{
  GParamSpec       *spec = gegl_has_operation (op) ? gegl_operation_find_property (op, key) : NULL;
  g_autofree gchar *number = g_strstrip (g_strdup (text));
  const char       *wanted = NULL;

  if (spec == NULL)
    return TRUE;
  if (relative && g_str_has_suffix (number, "rel"))
    number[strlen (number) - 3] = '\0';
  if (G_IS_PARAM_SPEC_INT (spec))
    {
      GParamSpecInt *range = G_PARAM_SPEC_INT (spec);
      if (!is_integer (number) || !g_ascii_string_to_signed (number, 10, range->minimum, range->maximum, NULL, NULL))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "property '%s' of %s takes an integer from %d to %d, not “%s”", key, op,
                       range->minimum, range->maximum, text);
          return FALSE;
        }
      return TRUE;
    }
  if ((G_IS_PARAM_SPEC_DOUBLE (spec) || G_IS_PARAM_SPEC_FLOAT (spec)) && !is_number (number))
    wanted = "a number";
  else if (G_IS_PARAM_SPEC_BOOLEAN (spec) && !is_boolean (text))
    wanted = "true or false";
  if (wanted)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "property '%s' of %s takes %s, not “%s”", key, op, wanted, text);
      return FALSE;
    }
  return TRUE;
}

/* The chain's op names and values, each value against its op's property
 * (ops nest in [ ... ]: aux=[ op ... ]). */
static gboolean
check_chain_values (char **chain, GError **error)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);   /* a stack */

  for (int i = 0; chain[i]; i++)
    {
      const char *arg = chain[i], *eq = strchr (arg, '=');

      if (g_str_equal (arg, "]"))
        {
          if (ops->len)
            g_ptr_array_remove_index (ops, ops->len - 1);
        }
      else if (eq == NULL)
        {
          g_autofree gchar *ours = g_strconcat ("neuropaint:", arg, NULL);

          /* GEGL reads a bare name as gegl:NAME: where we have an op of
           * that name too, "-- gray" would silently run GEGL's. */
          if (!strchr (arg, ':') && gegl_has_operation (ours))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "“%s” names two operations: write %s (ours) or gegl:%s (GEGL's)", arg, ours, arg);
              return FALSE;
            }
          if (ops->len)
            g_ptr_array_remove_index (ops, ops->len - 1);
          g_ptr_array_add (ops, strchr (arg, ':') ? g_strdup (arg) : g_strconcat ("gegl:", arg, NULL));
        }
      else if (g_str_has_suffix (arg, "=["))
        g_ptr_array_add (ops, NULL);   /* the auxiliary chain's op comes next */
      else if (ops->len && ops->pdata[ops->len - 1] && eq[1] != '{')   /* {…}: keyframes */
        {
          g_autofree gchar *key = g_strndup (arg, eq - arg);

          if (!check_property_value (ops->pdata[ops->len - 1], key, eq + 1, TRUE, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* The graph's values, as GEGL's XML reader finds them: a node's attributes
 * and its <param name="…">value</param> elements. */
typedef struct
{
  GPtrArray *ops;     /* the op of each open node element (NULL: not a node) */
  gchar     *param;   /* the open <param>'s name */
} GraphValues;

static void
graph_start (GMarkupParseContext *context, const gchar *element, const gchar **names,
             const gchar **values, gpointer data, GError **error)
{
  static const char *const not_nodes[] = { "gegl", "image", "graph", "params", "param", "curve",
                                           "curve-point", "link", "links", "stack", "launcher",
                                           "launchers", "source", "destination", "tree", "layers" };
  GraphValues *g = data;
  const char  *op = element;

  if (g_str_equal (element, "param"))
    {
      for (int i = 0; names[i]; i++)
        if (g_str_equal (names[i], "name"))
          g->param = g_strdup (values[i]);
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (not_nodes); i++)
    if (g_str_equal (element, not_nodes[i]))
      {
        g_ptr_array_add (g->ops, NULL);
        return;
      }
  if (g_str_equal (element, "clone") || g_str_equal (element, "layer"))
    op = g_str_equal (element, "clone") ? "gegl:clone" : "gegl:layer";
  for (int i = 0; names[i]; i++)
    if (g_str_equal (names[i], g_str_equal (element, "filter") ? "type" : "operation"))
      op = values[i];
  g_ptr_array_add (g->ops, g_strdup (op));
  for (int i = 0; names[i]; i++)
    if (!g_strv_contains ((const gchar *const[]) { "name", "id", "ref", "operation", "type", NULL }, names[i])
        && !check_property_value (op, names[i], values[i], FALSE, error))
      return;
}

static void
graph_text (GMarkupParseContext *context, const gchar *text, gsize length, gpointer data,
            GError **error)
{
  GraphValues      *g = data;
  g_autofree gchar *value = g_strndup (text, length);
  const char       *op = NULL;

  /* The innermost node's. */
  for (guint i = g->ops->len; i > 0 && op == NULL; i--)
    op = g->ops->pdata[i - 1];
  if (g->param && op)
    check_property_value (op, g->param, value, FALSE, error);
}

static void
graph_end (GMarkupParseContext *context, const gchar *element, gpointer data, GError **error)
{
  GraphValues *g = data;

  if (g_str_equal (element, "param"))
    g_clear_pointer (&g->param, g_free);
  else if (g->ops->len)
    g_ptr_array_remove_index (g->ops, g->ops->len - 1);
}

static gboolean
check_graph_values (const char *xml, GError **error)
{
  static const GMarkupParser parser = { graph_start, graph_end, graph_text, NULL, NULL };
  GraphValues g = { g_ptr_array_new_with_free_func (g_free), NULL };
  g_autoptr(GMarkupParseContext) context = g_markup_parse_context_new (&parser, 0, &g, NULL);
  gboolean ok = g_markup_parse_context_parse (context, xml, -1, error)
                && g_markup_parse_context_end_parse (context, error);

  g_ptr_array_unref (g.ops);
  g_free (g.param);
  return ok;
}

/* Whether node's output goes to some node's aux pad. */
static gboolean
feeds_aux (GeglNode *node)
{
  GeglNode   **nodes = NULL;
  const gchar **pads = NULL;
  gint         n = gegl_node_get_consumers (node, "output", &nodes, &pads);
  gboolean     aux = FALSE;

  for (gint i = 0; i < n; i++)
    aux |= g_strcmp0 (pads[i], "aux") == 0;
  g_free (nodes);
  g_free (pads);
  return aux;
}

GeglNode *
cli_graph_add (GeglNode *top, const char *xml, const char *path_root,
                  GeglBuffer *input, GeglNode **source, GError **error)
{
  GeglNode    *graph, *load = NULL;
  g_autoptr(GSList) children = NULL;
  CliLogCapture capture;

  /* GEGL parses with GMarkup but never asks it whether the document ended,
   * so a truncated file became a partial graph: ask. */
  if (!check_xml (xml, error) || !check_graph_nodes (xml, error) || !check_graph_values (xml, error))
    return NULL;
  /* GEGL turns unknown ops into pass-throughs and skips unknown properties,
   * with a warning each: make those errors. */
  cli_log_capture_begin (&capture, NULL, NULL);
  graph = gegl_node_new_from_xml (xml, path_root);
  if (!cli_log_capture_end (&capture, "graph", error))
    {
      g_clear_object (&graph);
      return NULL;
    }
  if (graph == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not a GEGL XML graph");
      return NULL;
    }
  gegl_node_add_child (top, graph);
  g_object_unref (graph);
  if (input == NULL)
    return graph;

  /* The photo's gegl:load: not one that feeds an aux pad (colour hints). */
  children = gegl_node_get_children (graph);
  for (GSList *l = children; l && !load; l = l->next)
    if (g_strcmp0 (gegl_node_get_operation (l->data), "gegl:load") == 0 && !feeds_aux (l->data))
      load = l->data;
  if (load == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "the graph has no gegl:load node to read the input");
      return NULL;
    }
  gegl_node_set (load, "operation", "gegl:buffer-source", "buffer", input, NULL);
  if (source)
    *source = load;
  return graph;
}

GeglNode *
cli_chain_add (GeglNode *top, GeglNode *source, char **chain,
                  const char *path_root, GError **error)
{
  GeglNode    *end = gegl_node_new_child (top, "operation", "gegl:nop", NULL);
  GError      *chain_error = NULL;
  CliLogCapture capture;

  if (!cli_check_chain_nodes (chain, error))
    return NULL;
  if (!check_chain_values (chain, error))
    {
      g_prefix_error (error, "operation chain: ");
      return NULL;
    }

  /* Out-of-range values are only warned about by GObject, which then keeps
   * the default: make them errors. */
  cli_log_capture_begin (&capture, NULL, NULL);
  gegl_create_chain_argv (chain, source, end, 0.0, 0, path_root, &chain_error);
  if (!cli_log_capture_end (&capture, "operation chain", error))
    {
      g_clear_error (&chain_error);
      return NULL;
    }
  if (chain_error)
    {
      g_propagate_prefixed_error (error, chain_error, "operation chain: ");
      return NULL;
    }
  return end;
}
