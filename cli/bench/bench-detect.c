/* neuropaint — bench detect: the face finder on --image's luma, the work
 * OpenCV's detectMultiScale does on a gray image (bench/bench_detect.py
 * times that in the same run). Decoding, gray conversion and cascade loading
 * happen once, before timing. */
#include "config.h"
#include "bench.h"

typedef struct
{
  NpFaceFinder  *finder;
  NpImage       *gray;
  NpHaarParams   params;
  gint           threads;
  GArray        *faces;
} CliDetectBench;

gpointer
cli_bench_detect_setup (const CliBench *bench, const CliBenchCommon *common, GError **error)
{
  g_autoptr(GeglBuffer) buffer = NULL;
  CliDetectBench *state;

  if (common->image == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "bench detect needs --image FILE");
      return NULL;
    }
  if (!(common->scale_factor > 1.0) || common->min_neighbors < 0 || common->min_size < 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--scale-factor must be > 1, --min-neighbors and --min-size >= 0");
      return NULL;
    }
  buffer = cli_load_image (common->image, NULL, error);
  if (buffer == NULL)
    return NULL;

  state = g_new0 (CliDetectBench, 1);
  state->params = (NpHaarParams) { common->scale_factor, common->min_neighbors,
                                   common->min_size, common->min_size, 0, 0 };
  state->threads = common->threads;
  if (!(state->gray = cli_read_gray (buffer, error)) ||
      !(state->finder = np_face_finder_new (common->cascade, FALSE, error)))
    {
      cli_bench_detect_teardown (state);
      return NULL;
    }
  return state;
}

void
cli_bench_detect_run (gpointer data)
{
  CliDetectBench *state = data;

  g_clear_pointer (&state->faces, g_array_unref);
  state->faces = np_face_finder_find (state->finder, state->gray, &state->params,
                                      state->threads, NULL);
}

void
cli_bench_detect_report (gpointer data, double median_ms, GString *json)
{
  CliDetectBench *state = data;
  g_autofree gchar *faces = np_haar_boxes_json (state->faces);
  gchar scale[G_ASCII_DTOSTR_BUF_SIZE];

  /* %g through g_ascii_formatd: 1.1, not 1.1000000000000001, in any locale. */
  g_string_append_printf (json, "\"width\": %d, \"height\": %d, \"scale_factor\": %s, "
                          "\"min_neighbors\": %d, \"min_size\": %d, \"faces\": %s, ",
                          state->gray->width, state->gray->height,
                          g_ascii_formatd (scale, sizeof scale, "%g", state->params.scale_factor),
                          state->params.min_neighbours, state->params.min_width, faces);
}

void
cli_bench_detect_teardown (gpointer data)
{
  CliDetectBench *state = data;

  np_face_finder_free (state->finder);
  np_image_free (state->gray);
  if (state->faces)
    g_array_unref (state->faces);
  g_free (state);
}
