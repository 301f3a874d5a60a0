/* neuropaint — what detect, crop and bench detect share: the detection
 * options and one call from a decoded image to its faces. */
#include "config.h"
#include "cli.h"

gboolean
cli_detect_check (const char *command, const CliDetect *opts, int *exit_code)
{
  const char *problem = NULL;

  if (!(opts->scale_factor > 1.0 && opts->scale_factor <= 4.0))
    problem = "--scale-factor must be in (1, 4]";
  else if (opts->min_neighbors < 0)
    problem = "--min-neighbors must be >= 0";
  else if (opts->min_size < 0)
    problem = "--min-size must be >= 0";
  else if (opts->max_size < 0)
    problem = "--max-size must be >= 0";
  else if (cli_threads_option > 1024)
    problem = "--threads must be between 0 and 1024";
  if (problem == NULL)
    return TRUE;
  *exit_code = cli_fail (command, CLI_EXIT_USAGE, "%s", problem);
  return FALSE;
}

NpImage *
cli_read_rgb (GeglBuffer *buffer, GError **error)
{
  const GeglRectangle *box = gegl_buffer_get_extent (buffer);
  NpImage *rgb = np_image_new (NP_SAMPLE_U8, box->width, box->height, 3, error);

  if (rgb == NULL)
    return NULL;
  /* The file's own values, in its own colour space (no ICC conversion), as
   * OpenCV's imread gives them. */
  gegl_buffer_get (buffer, box, 1.0,
                   babl_format_with_space ("R'G'B' u8", gegl_buffer_get_format (buffer)),
                   rgb->data, rgb->stride, GEGL_ABYSS_NONE);
  return rgb;
}

NpImage *
cli_read_gray (GeglBuffer *buffer, GError **error)
{
  g_autoptr(NpImage) rgb = cli_read_rgb (buffer, error);
  return rgb ? np_haar_gray (rgb, error) : NULL;
}

GArray *
cli_find_faces (const CliDetect *opts, const NpFaceFinder *finder,
                   const NpImage *image, GError **error)
{
  NpHaarParams params = { opts->scale_factor, opts->min_neighbors,
                          opts->min_size, opts->min_size, opts->max_size, opts->max_size };

  return np_face_finder_find (finder, image, &params, cli_threads (), error);
}

GArray *
cli_detect_faces (const CliDetect *opts, const NpFaceFinder *finder,
                     GeglBuffer *buffer, GError **error)
{
  g_autoptr(NpImage) gray = cli_read_gray (buffer, error);
  return gray ? cli_find_faces (opts, finder, gray, error) : NULL;
}

void
cli_json_add_box (JsonBuilder *b, const NpHaarBox *box)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "x");
  json_builder_add_int_value (b, box->x);
  json_builder_set_member_name (b, "y");
  json_builder_add_int_value (b, box->y);
  json_builder_set_member_name (b, "w");
  json_builder_add_int_value (b, box->width);
  json_builder_set_member_name (b, "h");
  json_builder_add_int_value (b, box->height);
  json_builder_end_object (b);
}
