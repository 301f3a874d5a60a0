/* Every neuropaint op through GEGL: sizes, input formats, and the same bytes
 * for any thread count, tile size and processing chunk size.
 *
 * To cover a new op, add a row to `cases`: its name and the chain-syntax
 * properties to run it with (@SOURCE_ROOT@ stands for the source tree, for
 * ops reading files such as models). */
#include <gegl.h>
#include <string.h>

typedef struct
{
  const char *chain;   /* op and properties, as after `gegl ... --` */
} NpOpCase;

static const NpOpCase cases[] = {
  { "neuropaint:gray" },
  { "neuropaint:rgb-threshold threshold=120" },
  { "neuropaint:generator model=@SOURCE_ROOT@/tests/data/generator-tiny.safetensors apply-filter=true" },
  { "neuropaint:generator model=@SOURCE_ROOT@/tests/data/generator-tiny.safetensors tile-size=64 overlap=16" },
};

/* A deterministic test picture: gradients, a hard-edged disc and fine noise,
 * at an odd size so no tile grid lines up with it. */
#define W 203
#define H 149

static GeglBuffer *
make_picture (const Babl *format, gint tile_width, gint tile_height)
{
  GeglRectangle rect = { 0, 0, W, H };
  GeglBuffer   *buffer = g_object_new (GEGL_TYPE_BUFFER,
                                       "x", 0, "y", 0, "width", W, "height", H,
                                       "format", babl_format ("R'G'B'A float"),
                                       "tile-width", tile_width, "tile-height", tile_height,
                                       NULL);
  gfloat *px = g_new (gfloat, W * H * 4);
  guint32 state = 12345;

  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        gfloat *p = px + 4 * (y * W + x);
        gboolean disc = (x - 90) * (x - 90) + (y - 70) * (y - 70) < 40 * 40;
        state = state * 1664525u + 1013904223u;
        p[0] = disc ? 0.9f : x / (gfloat) W;
        p[1] = disc ? 0.2f : y / (gfloat) H;
        p[2] = (state >> 24) / 255.0f;
        p[3] = x < 10 ? 0.5f : 1.0f;
      }
  gegl_buffer_set (buffer, &rect, 0, babl_format ("R'G'B'A float"), px, GEGL_AUTO_ROWSTRIDE);
  g_free (px);

  if (format != babl_format ("R'G'B'A float"))
    {
      GeglBuffer *converted = g_object_new (GEGL_TYPE_BUFFER,
                                            "x", 0, "y", 0, "width", W, "height", H,
                                            "format", format,
                                            "tile-width", tile_width, "tile-height", tile_height,
                                            NULL);
      gegl_buffer_copy (buffer, NULL, GEGL_ABYSS_NONE, converted, NULL);
      g_object_unref (buffer);
      buffer = converted;
    }
  return buffer;
}

/* Runs the case on input and returns the result as R'G'B'A u8 bytes. */
static guint8 *
run_case (const NpOpCase *c, GeglBuffer *input, GeglRectangle *extent)
{
  g_autoptr(GeglNode) graph = gegl_node_new ();
  GeglNode *source, *end;
  GError   *error = NULL;
  guint8   *bytes;

  source = gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", input, NULL);
  end = gegl_node_new_child (graph, "operation", "gegl:nop", NULL);
  gegl_create_chain (c->chain, source, end, 0.0, 0, NULL, &error);
  g_assert_no_error (error);

  *extent = gegl_node_get_bounding_box (end);
  bytes = g_malloc (extent->width * extent->height * 4);
  gegl_node_blit (end, 1.0, extent, babl_format ("R'G'B'A u8"), bytes,
                  GEGL_AUTO_ROWSTRIDE, GEGL_BLIT_DEFAULT);
  return bytes;
}

static void
test_same_bytes (gconstpointer data)
{
  const NpOpCase *c = data;
  const struct { gint threads, tile_w, tile_h, chunk; } configs[] = {
    { 1, 128, 64, 1 << 20 },
    { 4, 128, 64, 1 << 20 },
    { 4, 17, 13, 512 },
    { 1, 64, 64, 999 },
    { 4, 512, 512, 4096 },
    { 2, 31, 200, 2000 },
  };
  g_autofree guint8 *first = NULL;
  gint default_threads, default_chunk;

  g_object_get (gegl_config (), "threads", &default_threads, "chunk-size", &default_chunk, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (configs); i++)
    {
      g_autoptr(GeglBuffer) input = NULL;
      g_autofree guint8 *bytes = NULL;
      GeglRectangle extent;

      g_object_set (gegl_config (), "threads", configs[i].threads,
                    "chunk-size", configs[i].chunk, NULL);
      input = make_picture (babl_format ("R'G'B'A u8"), configs[i].tile_w, configs[i].tile_h);
      bytes = run_case (c, input, &extent);
      g_assert_cmpint (extent.x, ==, 0);
      g_assert_cmpint (extent.y, ==, 0);
      g_assert_cmpint (extent.width, ==, W);
      g_assert_cmpint (extent.height, ==, H);
      if (first == NULL)
        first = g_steal_pointer (&bytes);
      else if (memcmp (first, bytes, W * H * 4) != 0)
        g_error ("%s: output differs with %d threads, %d×%d tiles, chunk %d",
                 c->chain, configs[i].threads, configs[i].tile_w, configs[i].tile_h,
                 configs[i].chunk);
    }
  g_object_set (gegl_config (), "threads", default_threads, "chunk-size", default_chunk, NULL);
}

static void
test_formats (gconstpointer data)
{
  const NpOpCase *c = data;
  const char *formats[] = {
    "Y u8", "Y' u8", "Y'A float", "RGB u16", "R'G'B' u8", "RGBA float", "R'G'B'A u16", "RaGaBaA float",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autoptr(GeglBuffer) input = make_picture (babl_format (formats[i]), 128, 64);
      g_autofree guint8 *bytes = NULL;
      GeglRectangle extent;
      guint64 sum = 0;

      bytes = run_case (c, input, &extent);
      g_assert_cmpint (extent.width, ==, W);
      g_assert_cmpint (extent.height, ==, H);
      for (gsize k = 0; k < (gsize) W * H * 4; k++)
        sum += bytes[k];
      /* Opaque black everywhere would mean the input never arrived. */
      g_assert_cmpuint (sum, >, (guint64) W * H * 255);
    }
}

static void
test_alpha_kept (gconstpointer data)
{
  const NpOpCase *c = data;
  g_autoptr(GeglBuffer) input = make_picture (babl_format ("R'G'B'A u8"), 128, 64);
  g_autofree guint8 *bytes = NULL;
  GeglRectangle extent;

  bytes = run_case (c, input, &extent);
  /* The picture is half transparent in its first ten columns. */
  g_assert_cmpint (bytes[4 * (5 * W + 3) + 3], ==, 128);
  g_assert_cmpint (bytes[4 * (5 * W + 50) + 3], ==, 255);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gegl_init (&argc, &argv);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *root = g_getenv ("NP_SOURCE_ROOT") ? g_getenv ("NP_SOURCE_ROOT") : ".";
      g_auto(GStrv) parts = g_strsplit (cases[i].chain, "@SOURCE_ROOT@", -1);
      NpOpCase *c = g_new0 (NpOpCase, 1);   /* lives as long as the tests */
      g_auto(GStrv) words = NULL;
      g_autofree gchar *same = NULL, *formats = NULL, *alpha = NULL;

      c->chain = g_strjoinv (root, parts);
      words = g_strsplit (c->chain, " ", 2);
      /* Cases of one op with other properties get numbered paths. */
      same = g_strdup_printf ("/ops/%s/%zu/same-bytes", words[0], i);
      formats = g_strdup_printf ("/ops/%s/%zu/formats", words[0], i);
      alpha = g_strdup_printf ("/ops/%s/%zu/alpha", words[0], i);

      if (!gegl_has_operation (words[0]))
        g_error ("%s is not loaded: is GEGL_PATH set to the build's operations?", words[0]);
      g_test_add_data_func (same, c, test_same_bytes);
      g_test_add_data_func (formats, c, test_formats);
      g_test_add_data_func (alpha, c, test_alpha_kept);
    }

  {
    int result = g_test_run ();
    gegl_exit ();
    return result;
  }
}
