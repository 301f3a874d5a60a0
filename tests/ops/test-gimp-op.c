/* What both GIMP plug-ins rest on (plugins/neuropaint-gimp/np-gimp-op.c),
 * without GIMP: an op's values survive the chain-syntax text they are
 * remembered and passed as, the "sensitive" expressions read as GIMP 3 reads
 * them, and the filters GIMP is shown are ours with their menu keys. */
#include <gegl.h>
#include <gegl-paramspecs.h>
#include <string.h>

#include "np-gimp-op.h"

/* Every user property of op set to a value other than its default (within
 * its range), serialized, parsed back into a new node: all equal. */
static void
test_chain_round_trip (gconstpointer data)
{
  const gchar           *op = data;
  g_autoptr(GeglNode)    graph = gegl_node_new ();
  g_autoptr(GError)      error = NULL;
  GeglNode              *node = np_gimp_op_node (graph, op, NULL, &error), *back;
  GObject               *config, *parsed;
  g_autofree gchar      *chain = NULL;
  guint                  n = 0;
  g_autofree GParamSpec **pspecs = np_gimp_op_arguments (op, &n);

  g_assert_no_error (error);
  config = G_OBJECT (gegl_node_get_gegl_operation (node));
  for (guint i = 0; i < n; i++)
    {
      GParamSpec *p = pspecs[i];

      if (GEGL_IS_PARAM_SPEC_FILE_PATH (p))
        g_object_set (config, p->name, "/tmp/a b/it's.xml", NULL);   /* needs quoting */
      else if (G_IS_PARAM_SPEC_STRING (p))
        /* Lists (CPPN art checks its own as the node is made). */
        g_object_set (config, p->name, g_str_equal (p->name, "activation") ? "sin,tanh" : "0.5, 10,20", NULL);
      else if (G_IS_PARAM_SPEC_BOOLEAN (p))
        g_object_set (config, p->name, !G_PARAM_SPEC_BOOLEAN (p)->default_value, NULL);
      else if (G_IS_PARAM_SPEC_ENUM (p))
        {
          GEnumClass *e = G_PARAM_SPEC_ENUM (p)->enum_class;
          g_object_set (config, p->name, e->values[e->n_values - 1].value, NULL);
        }
      else if (G_IS_PARAM_SPEC_INT (p))
        g_object_set (config, p->name, G_PARAM_SPEC_INT (p)->minimum + 1, NULL);
      else if (G_IS_PARAM_SPEC_UINT (p))
        g_object_set (config, p->name, 4000000000u, NULL);
      else if (G_IS_PARAM_SPEC_DOUBLE (p))
        {
          gdouble lower, upper;

          /* A third of the slider: no short decimal, so precision shows. */
          g_assert_true (np_gimp_ui_range (p, &lower, &upper));
          g_object_set (config, p->name, lower + (upper - lower) / 3.0, NULL);
        }
    }

  chain = np_gimp_chain_from_object (op, config);
  g_test_message ("%s %s", op, chain);
  back = np_gimp_op_node (graph, op, chain, &error);
  g_assert_no_error (error);
  parsed = G_OBJECT (gegl_node_get_gegl_operation (back));
  for (guint i = 0; i < n; i++)
    {
      g_auto(GValue) a = G_VALUE_INIT, b = G_VALUE_INIT;

      g_value_init (&a, pspecs[i]->value_type);
      g_value_init (&b, pspecs[i]->value_type);
      g_object_get_property (config, pspecs[i]->name, &a);
      g_object_get_property (parsed, pspecs[i]->name, &b);
      if (g_param_values_cmp (pspecs[i], &a, &b) != 0)
        g_error ("%s: %s does not survive \"%s\"", op, pspecs[i]->name, chain);
    }
}

/* GIMP's expression grammar, on CPPN art's properties (coords an enum,
 * alpha and sym booleans). */
static void
test_sensitive (void)
{
  static const struct { const gchar *expression; gboolean want; } cases[] = {
    { "coords {centered}", TRUE },
    { "coords {original}", FALSE },
    { "coords { original , centered }", TRUE },
    { "alpha", TRUE },
    { "!alpha", FALSE },
    { "sym | alpha", TRUE },
    { "sym & alpha", FALSE },
    { "!(sym & alpha) & coords {centered}", TRUE },
    { "!sym & !alpha | coords {original}", FALSE },
    { "0 | 1", TRUE },
  };
  g_autoptr(GeglNode) graph = gegl_node_new ();
  GeglNode           *node = np_gimp_op_node (graph, "neuropaint:cppn", "coords=centered alpha=true sym=false",
                                              NULL);
  GObject            *config = G_OBJECT (gegl_node_get_gegl_operation (node));
  GParamSpec         *zoom = g_object_class_find_property (G_OBJECT_GET_CLASS (config), "zoom");
  GParamSpec         *probe = g_param_spec_int ("probe", NULL, NULL, 0, 1, 0, G_PARAM_READWRITE);

  /* The op's own key, then the grammar on a property made for the test. */
  g_assert_true (np_gimp_sensitive (config, zoom));
  g_object_set (config, "coords", 0, NULL);
  g_assert_false (np_gimp_sensitive (config, zoom));
  g_object_set (config, "coords", 1, NULL);

  g_assert_true (np_gimp_sensitive (config, probe));   /* no key */
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gegl_param_spec_set_property_key (probe, "sensitive", cases[i].expression);
      if (np_gimp_sensitive (config, probe) != cases[i].want)
        g_error ("\"%s\" should be %s", cases[i].expression, cases[i].want ? "true" : "false");
    }
  g_param_spec_unref (probe);
}

/* An op's aux pad is fed: Colorize's hints reach it (a red dot changes the
 * colour under it); the other ops have none. */
static void
test_aux_reaches_the_op (void)
{
  GeglRectangle         rect = { 0, 0, 32, 24 };
  g_autoptr(GeglBuffer) input = gegl_buffer_new (&rect, babl_format ("R'G'B'A u8"));
  g_autoptr(GeglBuffer) hints = gegl_buffer_new (&rect, babl_format ("R'G'B'A u8"));
  g_autoptr(GeglBuffer) output = gegl_buffer_new (&rect, babl_format ("R'G'B'A u8"));
  g_autoptr(GeglBuffer) hinted = gegl_buffer_new (&rect, babl_format ("R'G'B'A u8"));
  GeglRectangle         dot = { 10, 8, 2, 2 };
  const guint8          red[4] = { 230, 20, 20, 255 }, gray[4] = { 128, 128, 128, 255 };
  guint8                plain_px[4], hinted_px[4];
  g_autoptr(GError)     error = NULL;
  const char           *root = g_getenv ("NP_SOURCE_ROOT") ? g_getenv ("NP_SOURCE_ROOT") : ".";
  g_autofree gchar     *chain = g_strdup_printf ("model=%s/tests/data/colorize-tiny.safetensors", root);

  g_assert_true (np_gimp_op_takes_aux ("neuropaint:colorize"));
  g_assert_false (np_gimp_op_takes_aux ("neuropaint:gray"));
  /* The twin GIMP 3 keeps as an editable effect has no aux pad at all. */
  g_assert_false (np_gimp_op_takes_aux ("neuropaint:colorize-without-hints"));
  gegl_buffer_set_color_from_pixel (input, &rect, gray, babl_format ("R'G'B'A u8"));
  g_assert_true (np_gimp_run ("neuropaint:colorize", chain, input, NULL, NULL, output, &rect, NULL, NULL, &error));
  g_assert_no_error (error);
  gegl_buffer_set_color_from_pixel (hints, &dot, red, babl_format ("R'G'B'A u8"));
  g_assert_true (np_gimp_run ("neuropaint:colorize", chain, input, hints, NULL, hinted, &rect, NULL, NULL,
                              &error));
  g_assert_no_error (error);
  gegl_buffer_get (output, GEGL_RECTANGLE (10, 8, 1, 1), 1.0, babl_format ("R'G'B'A u8"), plain_px,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  gegl_buffer_get (hinted, GEGL_RECTANGLE (10, 8, 1, 1), 1.0, babl_format ("R'G'B'A u8"), hinted_px,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  /* A plain gray photo: the hint makes it red there. */
  g_assert_cmpint (hinted_px[0] - hinted_px[1], >, plain_px[0] - plain_px[1] + 20);
}

/* An op that fails makes the run fail with its reason (a host would
 * otherwise merge the output into a layer), and leaves the picture as it
 * was, never transparent (GIMP 3 merges a filter's output whatever
 * happened); one that works does not fail. */
static void
test_failure_is_reported (void)
{
  GeglRectangle         rect = { 0, 0, 32, 24 };
  g_autoptr(GeglBuffer) input = gegl_buffer_new (&rect, babl_format ("R'G'B'A u8"));
  g_autoptr(GeglBuffer) output = gegl_buffer_new (&rect, babl_format ("R'G'B'A u8"));
  g_autoptr(GError)     error = NULL;
  guint8                in[32 * 24 * 4], out[32 * 24 * 4];

  for (gsize i = 0; i < sizeof in; i++)
    in[i] = (guint8) (i * 7 + 3);
  gegl_buffer_set (input, &rect, 0, babl_format ("R'G'B'A u8"), in, GEGL_AUTO_ROWSTRIDE);
  g_assert_true (np_gimp_run ("neuropaint:rgb-threshold", "threshold=9", input, NULL, NULL, output, &rect,
                              NULL, NULL, &error));
  g_assert_no_error (error);

  /* GEGL's domain at message level: what GIMP shows its users. */
  g_test_expect_message ("GEGL", G_LOG_LEVEL_MESSAGE, "neuropaint:generator: no model file given*");
  g_assert_false (np_gimp_run ("neuropaint:generator", NULL, input, NULL, NULL, output, &rect, NULL, NULL,
                               &error));
  g_test_assert_expected_messages ();
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, "neuropaint:generator: no model file given"));
  gegl_buffer_get (output, &rect, 1.0, babl_format ("R'G'B'A u8"), out, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_assert_cmpmem (out, sizeof out, in, sizeof in);
}

/* A model property has its installed models' list (what the GIMP 2.10
 * plug-in offers in its field, and keeps out of the PDB arguments); no other
 * property has one. */
static void
test_choices (void)
{
  g_auto(GStrv) ops = np_gimp_filter_ops ();
  guint         n_models = 0;

  for (gchar **op = ops; *op; op++)
    {
      guint                  n = 0;
      g_autofree GParamSpec **pspecs = np_gimp_op_arguments (*op, &n);

      for (guint i = 0; i < n; i++)
        {
          GParamSpec *choices = np_gimp_choices_of (*op, pspecs[i]);

          if (g_str_equal (pspecs[i]->name, "model"))
            {
              g_assert_nonnull (choices);
              g_assert_cmpstr (choices->name, ==, "installed-model");
              g_assert_true (np_gimp_is_choices (choices));
              n_models++;
            }
          else
            {
              g_assert_null (choices);
              g_assert_true (np_gimp_is_choices (pspecs[i]) == g_str_equal (pspecs[i]->name, "installed-model"));
            }
        }
    }
  /* colorize (with and without hints), dream-face, generator, super-resolution */
  g_assert_cmpuint (n_models, ==, 5);
}

static void
test_filter_ops (void)
{
  g_auto(GStrv) ops = np_gimp_filter_ops ();

  g_assert_true (g_strv_contains ((const gchar * const *) ops, "neuropaint:canny"));
  g_assert_true (g_strv_contains ((const gchar * const *) ops, "neuropaint:cppn"));
  g_assert_true (np_gimp_op_is_source ("neuropaint:cppn"));
  g_assert_false (np_gimp_op_is_source ("neuropaint:canny"));
  for (gchar **op = ops; *op; op++)
    g_assert_true (g_str_has_prefix (*op, "neuropaint:"));
}

int
main (int argc, char **argv)
{
  g_auto(GStrv) ops = NULL;
  int           result;

  gegl_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  ops = np_gimp_filter_ops ();
  for (gchar **op = ops; *op; op++)
    {
      g_autofree gchar *path = g_strdup_printf ("/gimp-op/%s/chain-round-trip", *op + strlen ("neuropaint:"));
      g_test_add_data_func (path, g_strdup (*op), test_chain_round_trip);
    }
  g_test_add_func ("/gimp-op/sensitive", test_sensitive);
  g_test_add_func ("/gimp-op/filter-ops", test_filter_ops);
  g_test_add_func ("/gimp-op/choices", test_choices);
  g_test_add_func ("/gimp-op/aux", test_aux_reaches_the_op);
  g_test_add_func ("/gimp-op/failure-is-reported", test_failure_is_reported);
  result = g_test_run ();
  gegl_exit ();
  return result;
}
