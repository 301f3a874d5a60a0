/* Every neuropaint op through GEGL: sizes, input formats, and the same bytes
 * for any thread count, tile size and processing chunk size.
 *
 * To cover a new filter, add a row to `cases`: its name and the chain-syntax
 * properties to run it with, and for ops that change the geometry the output
 * size (the alpha check, which looks at known input positions, then skips).
 * Sources (no input) go in `sources` with the
 * size they must produce; they get the same-bytes check, plus a region
 * rendered alone against the same region cut from the whole. In chains,
 * @SOURCE_ROOT@ stands for the source tree, for ops reading files such as
 * models. Every op must also be ready for GIMP 3 (test_gimp_ready). */
#include <gegl.h>
#include <string.h>

typedef struct
{
  const char *chain;          /* op and properties, as after `gegl ... --` */
  gint        width, height;  /* the output size; 0 for the input's */
  gboolean    warns;          /* the test picture makes the op warn (no face) */
  gboolean    bytes_as_floats;  /* reads 8-bit pictures as bytes: must give the bytes
                                   the same picture in float gives */
} NpOpCase;

static const NpOpCase cases[] = {
  { "neuropaint:gray" },
  { "neuropaint:rgb-threshold threshold=120" },
  { "neuropaint:canny" },
  { "neuropaint:canny mode=gray gradient=l2 low=20.5 high=60" },
  { "neuropaint:canny pre-threshold=200 low=140 high=255" },   /* the seed's variant */
  { "neuropaint:contours" },
  { "neuropaint:contours thresholds=0,30,200,90" },
  /* The picture has no face: raw candidates (0 neighbours) still draw boxes. */
  { "neuropaint:face-detect min-neighbors=0 min-size=0 scale-factor=1.1" },
  { "neuropaint:face-crop width=64 height=80", 64, 80, TRUE },
  { "neuropaint:generator model=@SOURCE_ROOT@/tests/data/generator-tiny.safetensors apply-filter=true" },
  { "neuropaint:generator model=@SOURCE_ROOT@/tests/data/generator-tiny.safetensors tile-size=64 overlap=16" },
  /* A chroma model, then an RGB one (its chroma taken) rendered larger, in
   * Lab; faces (none in the picture) take the detection path. */
  { "neuropaint:colorize model=@SOURCE_ROOT@/tests/data/colorize-tiny.safetensors", .bytes_as_floats = TRUE },
  { "neuropaint:colorize model=@SOURCE_ROOT@/tests/data/colorize-tiny.safetensors saturation=4",
    .bytes_as_floats = TRUE },   /* the gamut rule at work */
  /* A chroma-bins model: the annealed mean of its logits. */
  { "neuropaint:colorize model=@SOURCE_ROOT@/tests/data/colorize-bins-tiny.safetensors", .bytes_as_floats = TRUE },
  { "neuropaint:colorize model=@SOURCE_ROOT@/tests/data/generator-tiny.safetensors render-size=150 "
    "color-space=lab saturation=1.5 faces=true", .bytes_as_floats = TRUE },
  { "neuropaint:colorize-without-hints model=@SOURCE_ROOT@/tests/data/generator-tiny.safetensors "
    "render-size=150 color-space=lab saturation=1.5 faces=true", .bytes_as_floats = TRUE },
  { "neuropaint:colorize-without-hints model=@SOURCE_ROOT@/tests/data/colorize-tiny.safetensors saturation=4",
    .bytes_as_floats = TRUE },
  { "neuropaint:super-resolution model=@SOURCE_ROOT@/tests/data/sr-tiny.safetensors tile-size=64 overlap=8",
    2 * 203, 2 * 149 },
  /* The EDSR-like net (residual blocks, pixel shuffle), its detail on the
   * bicubic upscale. */
  { "neuropaint:super-resolution model=@SOURCE_ROOT@/tests/data/edsr-tiny.safetensors tile-size=64 overlap=8",
    2 * 203, 2 * 149 },
};

typedef struct
{
  const char *chain;
  gint        width, height;
} NpSourceCase;

static const NpSourceCase sources[] = {
  { "neuropaint:cppn seed=3 width=203 height=149 color-mode=hsl alpha=true", 203, 149 },
  { "neuropaint:cppn seed=4 width=149 height=203 coords=centered zoom=0.7 activation=sin,tanh "
    "z=0.3,-0.2,0.9 trig=true", 149, 203 },
  /* The infinite plane, cut to a window around the origin that crosses the
   * picture's box (0, 0, 80, 60) where the coordinates are laid out. */
  { "neuropaint:cppn seed=5 width=80 height=60 coords=centered infinite=true color-mode=hsv "
    "gegl:crop x=-70 y=-40 width=190 height=130 gegl:translate x=70 y=40", 190, 130 },
  /* Dreamt at the model's 64×80 from noise pictures, resized. */
  { "neuropaint:dream-face model=@SOURCE_ROOT@/tests/data/dream-tiny.safetensors seed=3 width=203 height=149",
    203, 149 },
  /* A dream model (a latent vector in), two seeds mixed and truncated, at
   * its own size, then through the EDSR-like net, the width from the
   * height by the model's aspect. The model is test-paint.c's random_dream
   * saved: --arch dream at ngf 2 from 16 numbers, np_net_init_random (11,
   * 0.3), biases N(0, 0.3²) from np_rng seed 3. */
  { "neuropaint:dream-face model=@SOURCE_ROOT@/tests/data/dream-latent-tiny.safetensors seed=3 seed2=9 mix=0.4 "
    "truncation=0.7", 64, 80 },
  { "neuropaint:dream-face model=@SOURCE_ROOT@/tests/data/dream-latent-tiny.safetensors seed=4 "
    "sr-model=@SOURCE_ROOT@/tests/data/edsr-tiny.safetensors height=149", 119, 149 },
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

static gint
out_width (const NpOpCase *c)
{
  return c->width ? c->width : W;
}

static gint
out_height (const NpOpCase *c)
{
  return c->height ? c->height : H;
}

/* Runs chain on input (NULL for a source) and returns `region` of the result
 * (NULL: all of it, whose extent is returned) as R'G'B'A u8 bytes. With
 * `warns`, the op's documented warning (face-crop without a face) is allowed. */
static guint8 *
run_chain (const char *chain, GeglBuffer *input, const GeglRectangle *region,
           GeglRectangle *extent, gboolean warns)
{
  GLogLevelFlags fatal = 0;
  g_autoptr(GeglNode) graph = gegl_node_new ();
  GeglNode *source, *end;
  GError   *error = NULL;
  guint8   *bytes;

  source = input ? gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", input, NULL)
                 : gegl_node_new_child (graph, "operation", "gegl:nop", NULL);
  end = gegl_node_new_child (graph, "operation", "gegl:nop", NULL);
  gegl_create_chain (chain, source, end, 0.0, 0, NULL, &error);
  g_assert_no_error (error);

  *extent = gegl_node_get_bounding_box (end);
  if (region == NULL)
    region = extent;
  bytes = g_malloc (region->width * region->height * 4);
  if (warns)
    fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  gegl_node_blit (end, 1.0, region, babl_format ("R'G'B'A u8"), bytes,
                  GEGL_AUTO_ROWSTRIDE, GEGL_BLIT_DEFAULT);
  if (warns)
    g_log_set_always_fatal (fatal);
  return bytes;
}

static guint8 *
run_case (const NpOpCase *c, GeglBuffer *input, GeglRectangle *extent)
{
  return run_chain (c->chain, input, NULL, extent, c->warns);
}

/* The thread counts, tile sizes and chunk sizes every op must be blind to. */
static const struct { gint threads, tile_w, tile_h, chunk; } configs[] = {
  { 1, 128, 64, 1 << 20 },
  { 4, 128, 64, 1 << 20 },
  { 4, 17, 13, 512 },
  { 1, 64, 64, 999 },
  { 4, 512, 512, 4096 },
  { 2, 31, 200, 2000 },
};

static void
test_same_bytes (gconstpointer data)
{
  const NpOpCase *c = data;
  /* An op that reads bytes as they are has a path for pictures without
   * alpha too. */
  const char *formats[] = { "R'G'B'A u8", "R'G'B' u8" };
  gint default_threads, default_chunk;

  g_object_get (gegl_config (), "threads", &default_threads, "chunk-size", &default_chunk, NULL);
  for (gsize f = 0; f < (c->bytes_as_floats ? 2 : 1); f++)
    {
      g_autofree guint8 *first = NULL;

      for (gsize i = 0; i < G_N_ELEMENTS (configs); i++)
        {
          g_autoptr(GeglBuffer) input = NULL;
          g_autofree guint8 *bytes = NULL;
          GeglRectangle extent;

          g_object_set (gegl_config (), "threads", configs[i].threads,
                        "chunk-size", configs[i].chunk, NULL);
          input = make_picture (babl_format (formats[f]), configs[i].tile_w, configs[i].tile_h);
          bytes = run_case (c, input, &extent);
          g_assert_cmpint (extent.x, ==, 0);
          g_assert_cmpint (extent.y, ==, 0);
          g_assert_cmpint (extent.width, ==, out_width (c));
          g_assert_cmpint (extent.height, ==, out_height (c));
          if (first == NULL)
            first = g_steal_pointer (&bytes);
          else if (memcmp (first, bytes, out_width (c) * out_height (c) * 4) != 0)
            g_error ("%s: output differs with %d threads, %d×%d tiles, chunk %d (%s)",
                     c->chain, configs[i].threads, configs[i].tile_w, configs[i].tile_h,
                     configs[i].chunk, formats[f]);
        }
    }
  g_object_set (gegl_config (), "threads", default_threads, "chunk-size", default_chunk, NULL);
}

/* A source has no input tiles: its output tiles come from GEGL's own
 * tile size, so that is what varies here. */
static void
test_source_same_bytes (gconstpointer data)
{
  const NpSourceCase *c = data;
  const GeglRectangle region = { c->width / 3, c->height / 4, 37, 29 };
  g_autofree guint8 *first = NULL;
  gint default_threads, default_chunk, default_tile_w, default_tile_h;

  g_object_get (gegl_config (), "threads", &default_threads, "chunk-size", &default_chunk,
                "tile-width", &default_tile_w, "tile-height", &default_tile_h, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (configs); i++)
    {
      g_autofree guint8 *bytes = NULL;
      g_autofree guint8 *alone = NULL;
      GeglRectangle extent;

      g_object_set (gegl_config (), "threads", configs[i].threads,
                    "chunk-size", configs[i].chunk, "tile-width", configs[i].tile_w,
                    "tile-height", configs[i].tile_h, NULL);
      bytes = run_chain (c->chain, NULL, NULL, &extent, FALSE);
      g_assert_cmpint (extent.x, ==, 0);
      g_assert_cmpint (extent.y, ==, 0);
      g_assert_cmpint (extent.width, ==, c->width);
      g_assert_cmpint (extent.height, ==, c->height);
      if (first == NULL)
        first = g_steal_pointer (&bytes);
      else if (memcmp (first, bytes, (gsize) c->width * c->height * 4) != 0)
        g_error ("%s: output differs with %d threads, %d×%d tiles, chunk %d",
                 c->chain, configs[i].threads, configs[i].tile_w, configs[i].tile_h,
                 configs[i].chunk);

      alone = run_chain (c->chain, NULL, &region, &extent, FALSE);
      for (int y = 0; y < region.height; y++)
        g_assert_cmpmem (alone + 4 * y * region.width, region.width * 4,
                         first + 4 * ((gsize) (region.y + y) * c->width + region.x),
                         region.width * 4);
    }
  g_object_set (gegl_config (), "threads", default_threads, "chunk-size", default_chunk,
                "tile-width", default_tile_w, "tile-height", default_tile_h, NULL);
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
      g_assert_cmpint (extent.width, ==, out_width (c));
      g_assert_cmpint (extent.height, ==, out_height (c));
      for (gsize k = 0; k < (gsize) extent.width * extent.height * 4; k++)
        sum += bytes[k];
      /* Opaque black everywhere would mean the input never arrived. */
      g_assert_cmpuint (sum, >, (guint64) extent.width * extent.height * 255);
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

/* The picture as R'G'B'A u8 and as R'G'B'A float of the same values (v/255,
 * made here: babl's own conversions may be an ulp away): the same bytes out
 * (the float result rounded by babl); and without alpha, as R'G'B' u8. */
static void
test_bytes_as_floats (gconstpointer data)
{
  const NpOpCase *c = data;
  const char *formats[] = { "R'G'B'A u8", "R'G'B' u8" };

  for (gsize i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autoptr(GeglBuffer) bytes_in = make_picture (babl_format (formats[i]), 128, 64);
      g_autoptr(GeglBuffer) floats_in = gegl_buffer_new (gegl_buffer_get_extent (bytes_in),
                                                         babl_format ("R'G'B'A float"));
      gint ch = babl_format_get_n_components (babl_format (formats[i]));
      g_autofree guint8 *picture = g_malloc ((gsize) W * H * ch);
      g_autofree gfloat *values = g_new (gfloat, (gsize) W * H * 4);
      g_autofree guint8 *bytes = NULL, *floats = NULL;
      GeglRectangle extent;

      gegl_buffer_get (bytes_in, NULL, 1.0, babl_format (formats[i]), picture, GEGL_AUTO_ROWSTRIDE,
                       GEGL_ABYSS_NONE);
      for (gsize k = 0; k < (gsize) W * H; k++)
        for (gint j = 0; j < 4; j++)
          values[4 * k + j] = j < ch ? picture[ch * k + j] / 255.0f : 1.0f;
      gegl_buffer_set (floats_in, NULL, 0, babl_format ("R'G'B'A float"), values, GEGL_AUTO_ROWSTRIDE);
      bytes = run_case (c, bytes_in, &extent);
      floats = run_case (c, floats_in, &extent);
      g_assert_cmpmem (bytes, out_width (c) * out_height (c) * 4, floats, out_width (c) * out_height (c) * 4);
    }
}

/* What GIMP 3 needs to list an op as a filter in its menus and apply it
 * non-destructively: the two menu keys, under Filters, and the input pads
 * its filter dialog feeds: input, and aux (a picker for a layer), nothing
 * else. */
static void
test_gimp_ready (void)
{
  guint          n_ops = 0;
  g_autofree gchar **ops = gegl_list_operations (&n_ops);
  guint          n_ours = 0;

  for (guint i = 0; i < n_ops; i++)
    {
      const gchar      *path, *label;
      g_autoptr(GeglNode) graph = NULL;
      GeglNode         *node;
      g_auto(GStrv)     pads = NULL;

      if (!g_str_has_prefix (ops[i], "neuropaint:"))
        continue;
      n_ours++;
      path = gegl_operation_get_key (ops[i], "gimp:menu-path");
      label = gegl_operation_get_key (ops[i], "gimp:menu-label");
      g_test_message ("%s: %s ▸ %s", ops[i], path, label);
      g_assert_nonnull (path);
      g_assert_true (g_str_has_prefix (path, "<Image>/Filters/"));
      g_assert_nonnull (label);
      g_assert_true (g_str_has_suffix (label, "..."));   /* it opens a dialog */

      graph = gegl_node_new ();
      node = gegl_node_new_child (graph, "operation", ops[i], NULL);
      pads = gegl_node_list_input_pads (node);
      for (gint p = 0; pads && pads[p]; p++)
        g_assert_true (g_str_equal (pads[p], "input") || g_str_equal (pads[p], "aux"));
    }
  g_assert_cmpuint (n_ours, >=, 11);
}

/* chain with @SOURCE_ROOT@ replaced (newly allocated). */
static gchar *
in_source_root (const char *chain)
{
  const char   *root = g_getenv ("NP_SOURCE_ROOT") ? g_getenv ("NP_SOURCE_ROOT") : ".";
  g_auto(GStrv) parts = g_strsplit (chain, "@SOURCE_ROOT@", -1);

  return g_strjoinv (root, parts);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gegl_init (&argc, &argv);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      NpOpCase *c = g_memdup2 (&cases[i], sizeof cases[i]);   /* lives as long as the tests */
      g_auto(GStrv) words = NULL;
      g_autofree gchar *same = NULL, *formats = NULL, *alpha = NULL, *as_floats = NULL;

      c->chain = in_source_root (cases[i].chain);
      words = g_strsplit (c->chain, " ", 2);
      /* One op may have several cases: they are numbered. */
      same = g_strdup_printf ("/ops/%s/%" G_GSIZE_FORMAT "/same-bytes", words[0], i);
      formats = g_strdup_printf ("/ops/%s/%" G_GSIZE_FORMAT "/formats", words[0], i);
      alpha = g_strdup_printf ("/ops/%s/%" G_GSIZE_FORMAT "/alpha", words[0], i);
      as_floats = g_strdup_printf ("/ops/%s/%" G_GSIZE_FORMAT "/bytes-as-floats", words[0], i);

      if (!gegl_has_operation (words[0]))
        g_error ("%s is not loaded: is GEGL_PATH set to the build's operations?", words[0]);
      g_test_add_data_func (same, c, test_same_bytes);
      g_test_add_data_func (formats, c, test_formats);
      if (c->width == 0)
        g_test_add_data_func (alpha, c, test_alpha_kept);
      if (c->bytes_as_floats)
        g_test_add_data_func (as_floats, c, test_bytes_as_floats);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (sources); i++)
    {
      NpSourceCase *c = g_memdup2 (&sources[i], sizeof sources[i]);
      g_auto(GStrv) words = NULL;
      g_autofree gchar *same = NULL;

      c->chain = in_source_root (sources[i].chain);
      words = g_strsplit (c->chain, " ", 2);
      same = g_strdup_printf ("/ops/%s/source-%" G_GSIZE_FORMAT "/same-bytes", words[0], i);
      if (!gegl_has_operation (words[0]))
        g_error ("%s is not loaded: is GEGL_PATH set to the build's operations?", words[0]);
      g_test_add_data_func (same, c, test_source_same_bytes);
    }

  g_test_add_func ("/ops/gimp-ready", test_gimp_ready);

  {
    int result = g_test_run ();
    gegl_exit ();
    return result;
  }
}
