/* neuropaint — loading OpenCV's cascade XML files.
 *
 * The files are OpenCV FileStorage XML: elements named by key, lists as
 * repeated <_> children, numbers as whitespace-separated text. GMarkup turns
 * the file into a small element tree (no new XML dependency), which is then
 * read by key as OpenCV's FileNode does. Everything a file claims is checked
 * against what it holds — counts, node and feature indices, rectangles inside
 * the window, finite numbers — because a cascade is outside input: a bad one
 * gets one clear GError, never an out-of-bounds read during detection.
 */
#include "haar-private.h"
#include "np-error.h"
#include "util/np-file.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- a minimal element tree ------------------------------------------- */

#define XML_MAX_DEPTH 64          /* real cascades nest 8 deep */
#define XML_MAX_NODES (8u << 20)  /* far above the largest cascade (~400k) */

typedef struct _XNode XNode;
struct _XNode
{
  const gchar *name;
  GString     *text;
  XNode       *first, *last, *next;
  guint        n_children;
};

typedef struct
{
  GPtrArray    *all;                   /* owns every XNode, freed flat */
  GStringChunk *names;
  XNode        *stack[XML_MAX_DEPTH + 1];
  gint          depth;
  XNode        *root;
} XDoc;

static void
xnode_free (gpointer data)
{
  XNode *node = data;

  if (node->text)
    g_string_free (node->text, TRUE);
  g_free (node);
}

static void
xml_start (GMarkupParseContext *context,
           const gchar         *name,
           const gchar        **attr_names,
           const gchar        **attr_values,
           gpointer             user_data,
           GError             **error)
{
  XDoc  *doc = user_data;
  XNode *node;

  if (doc->depth >= XML_MAX_DEPTH)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT,
                   "elements nested deeper than %d levels", XML_MAX_DEPTH);
      return;
    }
  if (doc->all->len >= XML_MAX_NODES)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "more than %u elements", XML_MAX_NODES);
      return;
    }
  if (doc->depth == 0 && doc->root != NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "more than one top-level element");
      return;
    }

  node = g_new0 (XNode, 1);
  node->name = g_string_chunk_insert_const (doc->names, name);
  g_ptr_array_add (doc->all, node);

  if (doc->depth == 0)
    doc->root = node;
  else
    {
      XNode *parent = doc->stack[doc->depth - 1];
      if (parent->last)
        parent->last->next = node;
      else
        parent->first = node;
      parent->last = node;
      parent->n_children++;
    }
  doc->stack[doc->depth++] = node;
}

static void
xml_end (GMarkupParseContext *context,
         const gchar         *name,
         gpointer             user_data,
         GError             **error)
{
  XDoc *doc = user_data;
  doc->depth--;
}

static void
xml_text (GMarkupParseContext *context,
          const gchar         *text,
          gsize                len,
          gpointer             user_data,
          GError             **error)
{
  XDoc  *doc = user_data;
  XNode *node;

  if (doc->depth == 0)
    return;
  node = doc->stack[doc->depth - 1];
  if (node->text == NULL)
    node->text = g_string_sized_new (len);
  g_string_append_len (node->text, text, len);
}

static void
xdoc_clear (XDoc *doc)
{
  g_clear_pointer (&doc->all, g_ptr_array_unref);
  g_clear_pointer (&doc->names, g_string_chunk_free);
}

static gboolean
xdoc_parse (XDoc *doc, const char *data, gsize size, GError **error)
{
  static const GMarkupParser parser = { xml_start, xml_end, xml_text, NULL, NULL };
  GMarkupParseContext *context;
  GError  *parse_error = NULL;
  gboolean ok;

  memset (doc, 0, sizeof *doc);
  doc->all = g_ptr_array_new_with_free_func (xnode_free);
  doc->names = g_string_chunk_new (256);

  context = g_markup_parse_context_new (&parser, 0, doc, NULL);
  ok = g_markup_parse_context_parse (context, data, size, &parse_error) &&
       g_markup_parse_context_end_parse (context, &parse_error);
  g_markup_parse_context_free (context);

  if (!ok)
    {
      if (parse_error->domain == NP_ERROR)
        g_propagate_error (error, parse_error);
      else
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "not well-formed XML: %s",
                       parse_error->message);
          g_error_free (parse_error);
        }
      return FALSE;
    }
  if (doc->root == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "no XML element");
      return FALSE;
    }
  return TRUE;
}

static XNode *
xchild (const XNode *node, const char *name)
{
  for (XNode *c = node->first; c; c = c->next)
    if (strcmp (c->name, name) == 0)
      return c;
  return NULL;
}

/* ---- reading numbers from element text -------------------------------- */

/* The loader's state: the cascade being built and where we are, for messages. */
typedef struct
{
  NpHaarCascade *cascade;
  gchar          where[96];
} Loader;

typedef struct
{
  const char *p;
} Tokens;

static Tokens
tokens_of (const XNode *node)
{
  return (Tokens) { node && node->text ? node->text->str : "" };
}

static gboolean
tokens_next (Tokens *t, const char **start)
{
  while (g_ascii_isspace (*t->p))
    t->p++;
  *start = t->p;
  return *t->p != '\0';
}

static gboolean
tokens_done (Tokens *t)
{
  const char *start;
  return !tokens_next (t, &start);
}

static gboolean
corrupt (GError **error, const Loader *l, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
corrupt (GError **error, const Loader *l, const char *format, ...)
{
  va_list           args;
  g_autofree gchar *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s%s%s", l->where,
               l->where[0] ? ": " : "", message);
  return FALSE;
}

static gboolean
read_int (Tokens *t, gint *value, const Loader *l, const char *what, GError **error)
{
  const char *start;
  char       *end;
  gint64      v;

  if (!tokens_next (t, &start))
    return corrupt (error, l, "%s is missing", what);
  v = g_ascii_strtoll (start, &end, 10);
  /* OpenCV writes some integers as reals ("-1."); accept an empty fraction. */
  if (end != start && *end == '.')
    end++;
  if (end == start || !(*end == '\0' || g_ascii_isspace (*end)))
    return corrupt (error, l, "%s is not an integer", what);
  if (v < G_MININT32 || v > G_MAXINT32)
    return corrupt (error, l, "%s %" G_GINT64_FORMAT " is out of range", what, v);
  t->p = end;
  *value = (gint) v;
  return TRUE;
}

static gboolean
read_double (Tokens *t, gdouble *value, const Loader *l, const char *what, GError **error)
{
  const char *start;
  char       *end;
  gdouble     v;

  if (!tokens_next (t, &start))
    return corrupt (error, l, "%s is missing", what);
  v = g_ascii_strtod (start, &end);
  if (end == start || !(*end == '\0' || g_ascii_isspace (*end)))
    return corrupt (error, l, "%s is not a number", what);
  /* Every value ends up a float: beyond its range it would be infinite. */
  if (!isfinite (v) || fabs (v) > 1e30)
    return corrupt (error, l, "%s %g is not a finite float", what, v);
  t->p = end;
  *value = v;
  return TRUE;
}

/* The single integer or number an element holds. */
static gboolean
element_int (const XNode *node, gint *value, const Loader *l, const char *what, GError **error)
{
  Tokens t = tokens_of (node);

  if (node == NULL)
    return corrupt (error, l, "<%s> is missing", what);
  if (!read_int (&t, value, l, what, error))
    return FALSE;
  if (!tokens_done (&t))
    return corrupt (error, l, "<%s> holds more than one value", what);
  return TRUE;
}

static gboolean
element_double (const XNode *node, gdouble *value, const Loader *l, const char *what,
                GError **error)
{
  Tokens t = tokens_of (node);

  if (node == NULL)
    return corrupt (error, l, "<%s> is missing", what);
  if (!read_double (&t, value, l, what, error))
    return FALSE;
  if (!tokens_done (&t))
    return corrupt (error, l, "<%s> holds more than one value", what);
  return TRUE;
}

static const char *
element_string (const XNode *node)
{
  if (node == NULL || node->text == NULL)
    return "";
  g_strstrip (node->text->str);
  node->text->len = strlen (node->text->str);
  return node->text->str;
}

/* ---- shared checks ------------------------------------------------------ */

static gboolean
check_window (Loader *l, gint width, gint height, GError **error)
{
  /* The variance is taken over the window inset by one pixel. */
  if (width < 3 || height < 3)
    return corrupt (error, l, "window %d×%d is smaller than 3×3", width, height);
  if (width > NP_HAAR_MAX_WINDOW || height > NP_HAAR_MAX_WINDOW)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "window %d×%d is larger than %d×%d (OpenCV's 32-bit squared sums "
                   "would overflow)", width, height, NP_HAAR_MAX_WINDOW, NP_HAAR_MAX_WINDOW);
      return FALSE;
    }
  l->cascade->width = width;
  l->cascade->height = height;
  return TRUE;
}

/* Reads <rects> (1 to 3 "x y w h weight" lists) and <tilted> into a feature,
 * checking every rectangle lies inside the window: the detector reads the
 * integral images at these offsets without further checks. */
static gboolean
read_feature (Loader *l, const XNode *node, NpHaarFeature *f, GError **error)
{
  const NpHaarCascade *c = l->cascade;
  const XNode *rects = xchild (node, "rects");
  const XNode *tilted = xchild (node, "tilted");
  gint         flag = 0;

  memset (f, 0, sizeof *f);
  if (rects == NULL || rects->n_children == 0)
    return corrupt (error, l, "feature has no <rects>");
  if (rects->n_children > NP_HAAR_MAX_RECTS)
    return corrupt (error, l, "feature has %u rectangles (at most %d)",
                    rects->n_children, NP_HAAR_MAX_RECTS);
  if (tilted && !element_int (tilted, &flag, l, "tilted", error))
    return FALSE;
  if (flag != 0 && flag != 1)
    return corrupt (error, l, "<tilted> is %d, not 0 or 1", flag);
  f->tilted = flag;

  for (const XNode *r = rects->first; r; r = r->next)
    {
      NpHaarRect *rect = &f->rects[f->n_rects];
      Tokens      t = tokens_of (r);
      gdouble     weight;
      gboolean    inside;

      if (!read_int (&t, &rect->x, l, "rectangle x", error) ||
          !read_int (&t, &rect->y, l, "rectangle y", error) ||
          !read_int (&t, &rect->width, l, "rectangle width", error) ||
          !read_int (&t, &rect->height, l, "rectangle height", error) ||
          !read_double (&t, &weight, l, "rectangle weight", error))
        return FALSE;
      if (!tokens_done (&t))
        return corrupt (error, l, "rectangle has more than 5 values");
      rect->weight = (gfloat) weight;

      if (rect->width <= 0 || rect->height <= 0 ||
          rect->width > c->width + c->height || rect->height > c->width + c->height)
        inside = FALSE;
      else if (!f->tilted)  /* in 64 bits: x and y are any int the file says */
        inside = rect->x >= 0 && rect->y >= 0 &&
                 (gint64) rect->x + rect->width <= c->width &&
                 (gint64) rect->y + rect->height <= c->height;
      else  /* corners (x, y), (x−h, y+h), (x+w, y+w), (x+w−h, y+w+h) */
        inside = rect->y >= 0 && (gint64) rect->x - rect->height >= 0 &&
                 (gint64) rect->x + rect->width <= c->width &&
                 (gint64) rect->y + rect->width + rect->height <= c->height;
      if (!inside)
        return corrupt (error, l, "%srectangle (%d, %d, %d, %d) is not inside the %d×%d window",
                        f->tilted ? "tilted " : "", rect->x, rect->y, rect->width,
                        rect->height, c->width, c->height);
      f->n_rects++;
    }
  return TRUE;
}

/* Checks one tree's nodes (children after their parent, leaves in range)
 * once its nodes and leaves are appended. */
static gboolean
check_tree (Loader *l, const NpHaarTree *tree, guint n_leaves, GError **error)
{
  const NpHaarCascade *c = l->cascade;

  if (n_leaves != tree->n_nodes + 1)
    return corrupt (error, l, "%u leaf values for %u nodes (a tree has one more leaf "
                    "than nodes)", n_leaves, tree->n_nodes);
  for (guint i = 0; i < tree->n_nodes; i++)
    {
      const NpHaarNode *node = &g_array_index (c->nodes, NpHaarNode, tree->first_node + i);
      const gint *children = node->child;

      for (int k = 0; k < 2; k++)
        {
          gint child = children[k];
          if (child > 0 && (guint) child <= i)
            return corrupt (error, l, "node %u points back to node %d", i, child);
          if (child > 0 && (guint) child >= tree->n_nodes)
            return corrupt (error, l, "node %u points to node %d of %u", i, child, tree->n_nodes);
          if (child <= 0 && (guint) -(gint64) child >= n_leaves)
            return corrupt (error, l, "node %u points to leaf %" G_GINT64_FORMAT " of %u", i,
                            -(gint64) child, n_leaves);
        }
    }
  return TRUE;
}

static void
add_stage (NpHaarCascade *c, gdouble threshold)
{
  /* OpenCV stores the threshold less a small epsilon, so a sum landing exactly
   * on it passes; the arithmetic is float, as there. */
  NpHaarStage stage = { (gfloat) threshold - 1e-5f, c->trees->len, 0 };
  g_array_append_val (c->stages, stage);
}

/* ---- the current format: opencv-cascade-classifier ----------------------- */

static gboolean
read_new_weak (Loader *l, const XNode *weak, GError **error)
{
  NpHaarCascade *c = l->cascade;
  const XNode   *internal = xchild (weak, "internalNodes");
  const XNode   *leaf_values = xchild (weak, "leafValues");
  NpHaarTree     tree = { c->nodes->len, 0, c->leaves->len };
  Tokens         t = tokens_of (internal), lt = tokens_of (leaf_values);
  guint          n_leaves = 0;

  if (internal == NULL || leaf_values == NULL)
    return corrupt (error, l, "weak classifier lacks <internalNodes> or <leafValues>");

  while (!tokens_done (&t))
    {
      NpHaarNode node;
      gdouble    threshold;

      if (tree.n_nodes >= 4096)
        return corrupt (error, l, "weak classifier has more than 4096 nodes");
      if (!read_int (&t, &node.child[0], l, "node's left child", error) ||
          !read_int (&t, &node.child[1], l, "node's right child", error) ||
          !read_int (&t, &node.feature, l, "node's feature index", error) ||
          !read_double (&t, &threshold, l, "node's threshold", error))
        return FALSE;
      node.threshold = (gfloat) threshold;
      g_array_append_val (c->nodes, node);
      tree.n_nodes++;
    }
  while (!tokens_done (&lt))
    {
      gdouble value;
      gfloat  leaf;

      if (n_leaves > tree.n_nodes)
        return corrupt (error, l, "more leaf values than a %u-node tree has", tree.n_nodes);
      if (!read_double (&lt, &value, l, "leaf value", error))
        return FALSE;
      leaf = (gfloat) value;
      g_array_append_val (c->leaves, leaf);
      n_leaves++;
    }
  if (tree.n_nodes == 0)
    return corrupt (error, l, "weak classifier has no nodes");
  if (!check_tree (l, &tree, n_leaves, error))
    return FALSE;
  c->max_nodes = MAX (c->max_nodes, tree.n_nodes);
  g_array_append_val (c->trees, tree);
  return TRUE;
}

static gboolean
read_new_format (Loader *l, const XNode *root, GError **error)
{
  NpHaarCascade *c = l->cascade;
  const char    *stage_type = element_string (xchild (root, "stageType"));
  const char    *feature_type = element_string (xchild (root, "featureType"));
  const XNode   *params = xchild (root, "featureParams");
  const XNode   *stages = xchild (root, "stages");
  const XNode   *features = xchild (root, "features");
  gint           width, height, max_cat = 0, n_declared;
  guint          si = 0, fi = 0;

  if (strcmp (stage_type, "BOOST") != 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "stage type “%s” is not supported (only BOOST)", stage_type);
      return FALSE;
    }
  if (strcmp (feature_type, "HAAR") != 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "feature type “%s” is not supported (only HAAR; LBP and HOG "
                   "cascades are not)", feature_type);
      return FALSE;
    }
  if (!element_int (xchild (root, "width"), &width, l, "width", error) ||
      !element_int (xchild (root, "height"), &height, l, "height", error) ||
      !check_window (l, width, height, error))
    return FALSE;
  if (params == NULL)
    return corrupt (error, l, "<featureParams> is missing");
  if (xchild (params, "maxCatCount") &&
      !element_int (xchild (params, "maxCatCount"), &max_cat, l, "maxCatCount", error))
    return FALSE;
  if (max_cat != 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "categorical weak classifiers (maxCatCount %d) are not supported", max_cat);
      return FALSE;
    }
  if (stages == NULL || stages->n_children == 0)
    return corrupt (error, l, "no <stages>");
  if (features == NULL || features->n_children == 0)
    return corrupt (error, l, "no <features>");
  if (xchild (root, "stageNum"))
    {
      if (!element_int (xchild (root, "stageNum"), &n_declared, l, "stageNum", error))
        return FALSE;
      if (n_declared < 0 || (guint) n_declared != stages->n_children)
        return corrupt (error, l, "<stageNum> says %d stages but <stages> holds %u",
                        n_declared, stages->n_children);
    }

  for (const XNode *s = stages->first; s; s = s->next, si++)
    {
      const XNode *weaks = xchild (s, "weakClassifiers");
      gdouble      threshold;
      guint        wi = 0;

      g_snprintf (l->where, sizeof l->where, "stage %u", si);
      if (!element_double (xchild (s, "stageThreshold"), &threshold, l, "stageThreshold", error))
        return FALSE;
      if (weaks == NULL || weaks->n_children == 0)
        return corrupt (error, l, "no weak classifiers");
      if (xchild (s, "maxWeakCount"))
        {
          if (!element_int (xchild (s, "maxWeakCount"), &n_declared, l, "maxWeakCount", error))
            return FALSE;
          if (n_declared < 0 || (guint) n_declared != weaks->n_children)
            return corrupt (error, l, "<maxWeakCount> says %d but the stage holds %u",
                            n_declared, weaks->n_children);
        }
      add_stage (c, threshold);
      for (const XNode *w = weaks->first; w; w = w->next, wi++)
        {
          g_snprintf (l->where, sizeof l->where, "stage %u, weak classifier %u", si, wi);
          if (!read_new_weak (l, w, error))
            return FALSE;
        }
      g_array_index (c->stages, NpHaarStage, si).n_trees = wi;
    }

  for (const XNode *f = features->first; f; f = f->next, fi++)
    {
      NpHaarFeature feature;

      g_snprintf (l->where, sizeof l->where, "feature %u", fi);
      if (!read_feature (l, f, &feature, error))
        return FALSE;
      g_array_append_val (c->features, feature);
    }
  l->where[0] = '\0';

  for (guint i = 0; i < c->nodes->len; i++)
    {
      const NpHaarNode *node = &g_array_index (c->nodes, NpHaarNode, i);
      if (node->feature < 0 || (guint) node->feature >= c->features->len)
        return corrupt (error, l, "a node uses feature %d but there are %u features",
                        node->feature, c->features->len);
    }
  return TRUE;
}

/* ---- the old format: opencv-haar-classifier ------------------------------ */

/* One child of an old-format node: <left_node>/<right_node> (an index in the
 * tree) or <left_val>/<right_val> (a new leaf), as OpenCV's converter maps
 * them onto the current format. */
static gboolean
read_old_child (Loader *l, const XNode *node, const char *side, gint *child, GError **error)
{
  NpHaarCascade    *c = l->cascade;
  g_autofree gchar *node_key = g_strconcat (side, "_node", NULL);
  g_autofree gchar *val_key = g_strconcat (side, "_val", NULL);
  const XNode      *index = xchild (node, node_key);
  gdouble           value;
  gfloat            leaf;

  if (index)
    {
      if (!element_int (index, child, l, node_key, error))
        return FALSE;
      if (*child <= 0)
        return corrupt (error, l, "<%s> %d must point to a later node", node_key, *child);
      return TRUE;
    }
  if (!element_double (xchild (node, val_key), &value, l, val_key, error))
    return FALSE;
  leaf = (gfloat) value;
  g_array_append_val (c->leaves, leaf);
  *child = 0;  /* fixed up by the caller, who knows the tree's first leaf */
  return TRUE;
}

static gboolean
unsupported_links (GError **error, guint stage)
{
  g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
               "stage %u: tree-structured stage cascades (<parent>/<next> other than a "
               "chain) are not supported", stage);
  return FALSE;
}

static gboolean
read_old_format (Loader *l, const XNode *root, GError **error)
{
  NpHaarCascade *c = l->cascade;
  const XNode   *stages = xchild (root, "stages");
  Tokens         size = tokens_of (xchild (root, "size"));
  gint           width, height;
  guint          si = 0;

  if (!read_int (&size, &width, l, "window width in <size>", error) ||
      !read_int (&size, &height, l, "window height in <size>", error) ||
      !check_window (l, width, height, error))
    return FALSE;
  if (stages == NULL || stages->n_children == 0)
    return corrupt (error, l, "no <stages>");

  for (const XNode *s = stages->first; s; s = s->next, si++)
    {
      const XNode *trees = xchild (s, "trees");
      const XNode *parent = xchild (s, "parent"), *next = xchild (s, "next");
      gdouble      threshold;
      gint         link;
      guint        ti = 0;

      g_snprintf (l->where, sizeof l->where, "stage %u", si);
      if (!element_double (xchild (s, "stage_threshold"), &threshold, l, "stage_threshold", error))
        return FALSE;
      if (parent && !element_int (parent, &link, l, "parent", error))
        return FALSE;
      if (parent && link != (gint) si - 1)
        return unsupported_links (error, si);
      if (next && !element_int (next, &link, l, "next", error))
        return FALSE;
      if (next && link != -1)
        return unsupported_links (error, si);
      if (trees == NULL || trees->n_children == 0)
        return corrupt (error, l, "no <trees>");
      add_stage (c, threshold);

      for (const XNode *t = trees->first; t; t = t->next, ti++)
        {
          NpHaarTree tree = { c->nodes->len, 0, c->leaves->len };
          guint      ni = 0;

          g_snprintf (l->where, sizeof l->where, "stage %u, tree %u", si, ti);
          if (t->n_children == 0 || t->n_children > 4096)
            return corrupt (error, l, "tree has %u nodes", t->n_children);
          for (const XNode *n = t->first; n; n = n->next, ni++)
            {
              NpHaarFeature feature;
              NpHaarNode    node;
              gdouble       node_threshold;
              const XNode  *f = xchild (n, "feature");

              if (f == NULL)
                return corrupt (error, l, "node %u has no <feature>", ni);
              if (!read_feature (l, f, &feature, error) ||
                  !element_double (xchild (n, "threshold"), &node_threshold, l, "threshold", error))
                return FALSE;
              node.feature = (gint) c->features->len;
              node.threshold = (gfloat) node_threshold;
              g_array_append_val (c->features, feature);
              for (gint k = 0; k < 2; k++)
                {
                  if (!read_old_child (l, n, k == 0 ? "left" : "right", &node.child[k], error))
                    return FALSE;
                  if (node.child[k] == 0)
                    node.child[k] = -(gint) (c->leaves->len - 1 - tree.first_leaf);
                }
              g_array_append_val (c->nodes, node);
              tree.n_nodes++;
            }
          if (!check_tree (l, &tree, c->leaves->len - tree.first_leaf, error))
            return FALSE;
          c->max_nodes = MAX (c->max_nodes, tree.n_nodes);
          g_array_append_val (c->trees, tree);
        }
      g_array_index (c->stages, NpHaarStage, si).n_trees = ti;
    }
  l->where[0] = '\0';
  return TRUE;
}

/* ---- entry points -------------------------------------------------------- */

static NpHaarCascade *
cascade_new (void)
{
  NpHaarCascade *c = g_new0 (NpHaarCascade, 1);

  c->features = g_array_new (FALSE, FALSE, sizeof (NpHaarFeature));
  c->nodes = g_array_new (FALSE, FALSE, sizeof (NpHaarNode));
  c->leaves = g_array_new (FALSE, FALSE, sizeof (gfloat));
  c->trees = g_array_new (FALSE, FALSE, sizeof (NpHaarTree));
  c->stages = g_array_new (FALSE, FALSE, sizeof (NpHaarStage));
  return c;
}

void
np_haar_cascade_free (NpHaarCascade *cascade)
{
  if (cascade == NULL)
    return;
  g_array_unref (cascade->features);
  g_array_unref (cascade->nodes);
  g_array_unref (cascade->leaves);
  g_array_unref (cascade->trees);
  g_array_unref (cascade->stages);
  g_free (cascade);
}

NpHaarCascade *
np_haar_cascade_load_data (const char *data, gsize size, GError **error)
{
  g_autoptr(NpHaarCascade) cascade = NULL;
  const XNode *top;
  XDoc         doc;
  Loader       loader = { NULL, "" };
  gboolean     ok;

  g_return_val_if_fail (data != NULL || size == 0, NULL);

  if (size > NP_HAAR_MAX_FILE_SIZE)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE,
                   "%" G_GSIZE_FORMAT " bytes is larger than any cascade (limit %d MiB)",
                   size, NP_HAAR_MAX_FILE_SIZE >> 20);
      return NULL;
    }
  if (!xdoc_parse (&doc, data, size, error))
    {
      xdoc_clear (&doc);
      return NULL;
    }

  top = doc.root->first;
  if (strcmp (doc.root->name, "opencv_storage") != 0 || top == NULL)
    {
      xdoc_clear (&doc);
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT,
                   "not an OpenCV cascade (no <opencv_storage> with a cascade inside)");
      return NULL;
    }

  cascade = cascade_new ();
  loader.cascade = cascade;
  if (xchild (top, "stageType") || xchild (top, "featureType"))
    ok = read_new_format (&loader, top, error);
  else if (xchild (top, "size") && xchild (top, "stages"))
    ok = read_old_format (&loader, top, error);
  else
    ok = corrupt (error, &loader, "<%s> is neither an opencv-cascade-classifier nor an "
                  "opencv-haar-classifier", top->name);
  xdoc_clear (&doc);
  if (!ok)
    return NULL;

  for (guint i = 0; i < cascade->features->len; i++)
    cascade->has_tilted |= g_array_index (cascade->features, NpHaarFeature, i).tilted;
  return g_steal_pointer (&cascade);
}

NpHaarCascade *
np_haar_cascade_load (const char *path, GError **error)
{
  g_autoptr(GBytes) bytes = NULL;
  NpHaarCascade    *cascade;

  g_return_val_if_fail (path != NULL, NULL);

  if (!(bytes = np_file_read (path, NP_HAAR_MAX_FILE_SIZE, error)))
    return NULL;
  cascade = np_haar_cascade_load_data (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), error);
  if (cascade == NULL)
    g_prefix_error (error, "%s: ", path);
  return cascade;
}

void
np_haar_cascade_window (const NpHaarCascade *cascade, gint *width, gint *height)
{
  g_return_if_fail (cascade != NULL);
  if (width)
    *width = cascade->width;
  if (height)
    *height = cascade->height;
}

guint
np_haar_cascade_n_stages (const NpHaarCascade *cascade)
{
  return cascade->stages->len;
}

guint
np_haar_cascade_n_features (const NpHaarCascade *cascade)
{
  return cascade->features->len;
}

gboolean
np_haar_cascade_has_tilted (const NpHaarCascade *cascade)
{
  return cascade->has_tilted;
}

guint
np_haar_cascade_max_depth (const NpHaarCascade *cascade)
{
  return cascade->max_nodes;
}
