/* neuropaint — benchmarks of one GEGL op on an image, GeglBuffer to GeglBuffer.
 *
 * The input is decoded and converted to the op's own format before timing, so
 * what is timed is the op (and GEGL's scheduling of it), never PNG or babl. */
#include "config.h"
#include "bench.h"

typedef struct
{
  const CliBench *bench;
  GeglBuffer    *input;
  GeglRectangle  extent;
} CliOpBench;

gpointer
cli_bench_op_setup (const CliBench *bench, const CliBenchCommon *common, GError **error)
{
  CliOpBench *state;
  GeglBuffer *input;

  if (common->image == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "bench %s needs --image FILE", bench->name);
      return NULL;
    }
  input = cli_load_image (common->image, babl_format (bench->format), error);
  if (input == NULL)
    return NULL;

  state = g_new0 (CliOpBench, 1);
  state->bench = bench;
  state->input = input;
  state->extent = *gegl_buffer_get_extent (input);
  return state;
}

void
cli_bench_op_run (gpointer data)
{
  CliOpBench *state = data;
  g_autoptr(GeglNode) graph = gegl_node_new ();
  g_autoptr(GeglBuffer) output = gegl_buffer_new (&state->extent, babl_format (state->bench->format));
  GeglNode *source, *op, *sink;

  /* A new graph each time: GEGL would otherwise serve the cached result. */
  source = gegl_node_new_child (graph, "operation", "gegl:buffer-source",
                                "buffer", state->input, NULL);
  op = gegl_node_new_child (graph, "operation", state->bench->op, NULL);
  sink = gegl_node_new_child (graph, "operation", "gegl:write-buffer",
                              "buffer", output, NULL);
  gegl_node_link_many (source, op, sink, NULL);
  gegl_node_process (sink);
}

void
cli_bench_op_report (gpointer data, double median_ms, GString *json)
{
  CliOpBench *state = data;
  double     mpix = (double) state->extent.width * state->extent.height / 1e6;

  g_string_append_printf (json, "\"width\": %d, \"height\": %d, \"mpix_per_s\": %.2f, ",
                          state->extent.width, state->extent.height,
                          median_ms > 0 ? mpix / (median_ms / 1e3) : 0.0);
}

void
cli_bench_op_teardown (gpointer data)
{
  CliOpBench *state = data;

  g_object_unref (state->input);
  g_free (state);
}
