/* neuropaint — benchmark of neuropaint:colorize on a 12-megapixel photo
 * (--image, or a synthetic 4000×3000 one, --size to change it), GeglBuffer
 * in (R'G'B'A u8, as a decoded photo) and out, through GEGL on --threads:
 * the strips read twice, the model at its scale, the combination. The JSON
 * adds the render size, the share of pixels whose colour the gamut rule
 * shrank, and the process's peak memory. */
#include "config.h"
#include "bench.h"
#include "neuropaint.h"

#include <math.h>
#include <sys/resource.h>

typedef struct
{
  GeglBuffer   *input;
  GeglRectangle extent;
  const char   *model;
  gint          render_width, render_height;
  gdouble       clipped;
} CliColorizeBench;

/* Smooth colour with fine noise, as a photo has, at the size asked. */
static GeglBuffer *
synthetic_photo (gint width, gint height)
{
  GeglRectangle rect = { 0, 0, width, height };
  GeglBuffer   *buffer = gegl_buffer_new (&rect, babl_format ("R'G'B'A u8"));
  g_autofree guint8 *row = g_new (guint8, (gsize) width * 4);
  guint32       state = 1;

  for (gint y = 0; y < height; y++)
    {
      GeglRectangle line = { 0, y, width, 1 };
      for (gint x = 0; x < width; x++)
        {
          gdouble u = (gdouble) x / width, v = (gdouble) y / height;
          state = state * 1664525u + 1013904223u;
          row[4 * x] = (guint8) (127 + 100 * sin (7 * u + 3 * v) + (state >> 28));
          row[4 * x + 1] = (guint8) (127 + 100 * cos (5 * v - 2 * u) + (state >> 28));
          row[4 * x + 2] = (guint8) (127 + 100 * sin (11 * u * v + 1) + (state >> 28));
          row[4 * x + 3] = 255;
        }
      gegl_buffer_set (buffer, &line, 0, babl_format ("R'G'B'A u8"), row, GEGL_AUTO_ROWSTRIDE);
    }
  return buffer;
}

gpointer
cli_bench_colorize_setup (const CliBench *bench, const CliBenchCommon *common, GError **error)
{
  g_autoptr(NpModel)     loaded = NULL;
  g_autoptr(NpColorizer) c = NULL;
  CliColorizeBench       *state;
  NpColorizeOptions      options = { 0, NP_CHROMA_YCBCR, 1.0f, NULL, common->threads };
  GeglBuffer            *input;
  const char            *model = common->model ? common->model : "gray2color";

  /* A missing or unsuitable model fails here, with its reason, not while timing. */
  if ((loaded = np_model_load (model, error)) == NULL
      || !np_model_check_use (loaded, NP_MODEL_USE_COLORIZE, error))
    return NULL;
  input = common->image ? cli_load_image (common->image, babl_format ("R'G'B'A u8"), error)
                        : synthetic_photo (common->width ? common->width : 4000,
                                           common->height ? common->height : 3000);
  if (input == NULL)
    return NULL;

  state = g_new0 (CliColorizeBench, 1);
  state->input = input;
  state->extent = *gegl_buffer_get_extent (input);
  state->model = model;
  if ((c = np_colorizer_new (loaded, state->extent.width, state->extent.height, &options, error)) == NULL)
    {
      cli_bench_colorize_teardown (state);
      return NULL;
    }
  np_colorizer_render_size (c, &state->render_width, &state->render_height);

  /* The gamut rule's share, once, through the core on the same pixels. */
  {
    gint    strip = 64;
    gint64  clipped = 0;
    g_autoptr(NpImage) rows = np_image_new (NP_SAMPLE_F32, state->extent.width, strip, 4, error);

    if (rows == NULL)
      {
        cli_bench_colorize_teardown (state);
        return NULL;
      }
    while (np_colorizer_needs_rows (c))
      {
        for (gint y = 0; y < state->extent.height; y += strip)
          {
            GeglRectangle r = { 0, y, state->extent.width, MIN (strip, state->extent.height - y) };
            NpImage       view = np_image_view (NP_SAMPLE_F32, r.width, r.height, 4, rows->data, rows->stride);
            gegl_buffer_get (input, &r, 1.0, babl_format ("R'G'B'A float"), rows->data, rows->stride,
                             GEGL_ABYSS_NONE);
            np_colorizer_add_rows (c, y, &view);
          }
        if (!np_colorizer_end_rows (c, error))
          {
            cli_bench_colorize_teardown (state);
            return NULL;
          }
      }
    for (gint y = 0; y < state->extent.height; y += strip)
      {
        GeglRectangle r = { 0, y, state->extent.width, MIN (strip, state->extent.height - y) };
        NpImage       view = np_image_view (NP_SAMPLE_F32, r.width, r.height, 4, rows->data, rows->stride);
        gegl_buffer_get (input, &r, 1.0, babl_format ("R'G'B'A float"), rows->data, rows->stride,
                         GEGL_ABYSS_NONE);
        clipped += np_colorizer_apply (c, 0, y, &view, &view);
      }
    state->clipped = (gdouble) clipped / ((gdouble) state->extent.width * state->extent.height);
  }
  return state;
}

void
cli_bench_colorize_run (gpointer data)
{
  CliColorizeBench      *state = data;
  g_autoptr(GeglNode)   graph = gegl_node_new ();
  g_autoptr(GeglBuffer) output = NULL;
  GeglNode             *source, *op, *sink;

  /* A new graph each time: GEGL would otherwise serve the cached result.
   * The result is the op's own buffer, as the peer's is the array its last
   * step made: a sink that copied it into a buffer of ours would write
   * every pixel once more. */
  source = gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", state->input, NULL);
  op = gegl_node_new_child (graph, "operation", "neuropaint:colorize", "model", state->model, NULL);
  sink = gegl_node_new_child (graph, "operation", "gegl:buffer-sink", "buffer", &output, NULL);
  gegl_node_link_many (source, op, sink, NULL);
  gegl_node_process (sink);
  if (output == NULL || !gegl_rectangle_equal (gegl_buffer_get_extent (output), &state->extent))
    g_error ("bench colorize: the op gave no %d×%d result", state->extent.width, state->extent.height);
}

void
cli_bench_colorize_report (gpointer data, double median_ms, GString *json)
{
  CliColorizeBench *state = data;
  struct rusage    usage;
  double           mpix = (double) state->extent.width * state->extent.height / 1e6;

  getrusage (RUSAGE_SELF, &usage);
  g_string_append_printf (json, "\"width\": %d, \"height\": %d, \"model\": \"%s\", \"render\": \"%dx%d\", "
                          "\"gamut_scaled_share\": %.6f, \"mpix_per_s\": %.2f, \"peak_rss_mb\": %.1f, ",
                          state->extent.width, state->extent.height, state->model, state->render_width,
                          state->render_height, state->clipped, median_ms > 0 ? mpix / (median_ms / 1e3) : 0.0,
                          usage.ru_maxrss / 1024.0);
}

void
cli_bench_colorize_teardown (gpointer data)
{
  CliColorizeBench *state = data;

  g_clear_object (&state->input);
  g_free (state);
}
