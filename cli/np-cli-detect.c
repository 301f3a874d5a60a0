/* neuropaint — what detect, crop and bench detect share: the detection
 * options and one call from a decoded image to its faces. */
#include "config.h"
#include "np-cli.h"

gboolean
np_cli_detect_check (const char *command, const NpCliDetect *opts, int *exit_code)
{
  const char *problem = NULL;

  if (!(opts->scale_factor > 1.0 && opts->scale_factor <= 4.0))
    problem = "--scale-factor must be in (1, 4]";
  else if (opts->min_neighbors < 0)
    problem = "--min-neighbors must be >= 0";
  else if (opts->min_size < 0)
    problem = "--min-size must be >= 0";
  else if (opts->threads < 0 || opts->threads > 1024)
    problem = "--threads must be between 0 and 1024";
  if (problem == NULL)
    return TRUE;
  *exit_code = np_cli_fail (command, NP_EXIT_USAGE, "%s", problem);
  return FALSE;
}

gboolean
np_cli_detect_load (const NpCliDetect *opts, NpHaarCascade **cascade,
                    NpHaarCascade **eyes, GError **error)
{
  *eyes = NULL;
  *cascade = np_haar_cascade_load (opts->cascade ? opts->cascade : NP_HAAR_FRONTAL_FACE, error);
  if (*cascade == NULL)
    return FALSE;
  if (opts->verify_eyes && !(*eyes = np_haar_cascade_load (NP_HAAR_EYE, error)))
    {
      g_clear_pointer (cascade, np_haar_cascade_free);
      return FALSE;
    }
  return TRUE;
}

NpImage *
np_cli_read_gray (GeglBuffer *buffer, GError **error)
{
  const GeglRectangle *box = gegl_buffer_get_extent (buffer);
  g_autoptr(NpImage) rgb = np_image_new (NP_SAMPLE_U8, box->width, box->height, 3, error);

  if (rgb == NULL)
    return NULL;
  /* The file's own values, in its own colour space (no ICC conversion), as
   * OpenCV's imread gives them. */
  gegl_buffer_get (buffer, box, 1.0,
                   babl_format_with_space ("R'G'B' u8", gegl_buffer_get_format (buffer)),
                   rgb->data, rgb->stride, GEGL_ABYSS_NONE);
  return np_haar_gray (rgb, error);
}

GArray *
np_cli_detect_faces (const NpCliDetect *opts, const NpHaarCascade *cascade,
                     const NpHaarCascade *eyes, GeglBuffer *buffer, GError **error)
{
  NpHaarParams params = { opts->scale_factor, opts->min_neighbors,
                          opts->min_size, opts->min_size, 0, 0 };
  gint         threads = opts->threads > 0 ? opts->threads : (gint) g_get_num_processors ();
  g_autoptr(NpImage) gray = np_cli_read_gray (buffer, error);
  GArray      *faces;

  if (gray == NULL)
    return NULL;
  faces = np_haar_detect (cascade, gray, &params, threads, error);
  if (faces && eyes && !np_haar_verify_eyes (eyes, gray, faces, threads, error))
    g_clear_pointer (&faces, g_array_unref);
  return faces;
}
