/* neuropaint cppn — abstract art from a random network, to PNG, JPEG, .npy
 * or an animated PNG.
 *
 * Renders straight through the core, band by band, into a buffer in the
 * file's own sample format, so memory stays near the encoded image's size
 * (4 bytes a pixel for 8-bit RGBA) whatever the resolution. */
#include "config.h"
#include "cli.h"

#include <stdio.h>

#include "neuropaint.h"

#define BAND_ROWS 64

static gchar   *opt_output;
static gint     opt_width = 512, opt_height = 512;
static gchar   *opt_color_mode = "rgb";
static gboolean opt_alpha;
static gint     opt_images = 1;
static gint     opt_depth = 10, opt_size = 15;
static gchar   *opt_activation = "tanh";
static gchar   *opt_activations;
static gdouble  opt_z1 = -0.618, opt_z2 = 0.618;
static gchar   *opt_z;
static gboolean opt_sym, opt_trig;
static gchar   *opt_seed;
static gchar   *opt_coords = "original";
static gdouble  opt_zoom = 1.0, opt_pan_x, opt_pan_y;
static gdouble  opt_hidden_std = 1.0, opt_output_std = 1.0;
static gboolean opt_no_bias, opt_no_radius;
static gint     opt_frames;
static gchar   *opt_z_to;
static gint     opt_fps = 12;
static gint     opt_bit_depth = 8;
static gchar   *opt_dump_weights;

static const GOptionEntry entries[] = {
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output,
    "The picture: .png, .jpg, .npy (float32 H×W×4, exact) or anything GEGL saves", "FILE" },
  { "width", 'W', 0, G_OPTION_ARG_INT, &opt_width, "Width in pixels (default 512)", "N" },
  { "height", 'H', 0, G_OPTION_ARG_INT, &opt_height, "Height in pixels (default 512)", "N" },
  { "color-mode", 'c', 0, G_OPTION_ARG_STRING, &opt_color_mode,
    "How outputs become colour: " NP_CPPN_COLOR_MODES " (default rgb)", "MODE" },
  { "alpha", 'a', 0, G_OPTION_ARG_NONE, &opt_alpha, "Model an alpha channel too", NULL },
  { "images", 'n', 0, G_OPTION_ARG_INT, &opt_images,
    "Pictures to make, seeds SEED, SEED+1, … (FILE becomes STEM-001.EXT, …)", "N" },
  { "depth", 'd', 0, G_OPTION_ARG_INT, &opt_depth, "Hidden layers (default 10)", "N" },
  { "size", 's', 0, G_OPTION_ARG_INT, &opt_size, "Units per hidden layer (default 15)", "N" },
  { "size-per-layer", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &opt_size, NULL, "N" },
  { "activation", 0, 0, G_OPTION_ARG_STRING, &opt_activation,
    "Hidden activation: " NP_CPPN_ACTIVATIONS " (default tanh)", "NAME" },
  { "activations", 0, 0, G_OPTION_ARG_STRING, &opt_activations,
    "Per-layer activations, a comma-separated list repeated over the layers", "LIST" },
  { "z1", 0, 0, G_OPTION_ARG_DOUBLE, &opt_z1, "First constant input (default -0.618)", "Z" },
  { "z2", 0, 0, G_OPTION_ARG_DOUBLE, &opt_z2, "Second constant input (default 0.618)", "Z" },
  { "z", 0, 0, G_OPTION_ARG_STRING, &opt_z,
    "The constant inputs as a list of any length (replaces --z1 --z2)", "Z1,Z2,…" },
  { "sym", 0, 0, G_OPTION_ARG_NONE, &opt_sym, "Symmetric: x ← x², y ← y² before r", NULL },
  { "trig", 0, 0, G_OPTION_ARG_NONE, &opt_trig, "z1 ← cos(z1·x), z2 ← sin(z2·y)", NULL },
  { "seed", 0, 0, G_OPTION_ARG_STRING, &opt_seed,
    "Names the weights; the same seed gives the same picture everywhere (default: random, printed)", "N" },
  { "coords", 0, 0, G_OPTION_ARG_STRING, &opt_coords,
    "original (x down the rows, as the seed) or centered (x right, y down, 0 at the centre)", "SYSTEM" },
  { "zoom", 0, 0, G_OPTION_ARG_DOUBLE, &opt_zoom, "centered: magnification (default 1)", "F" },
  { "pan-x", 0, 0, G_OPTION_ARG_DOUBLE, &opt_pan_x, "centered: x at the picture's centre", "X" },
  { "pan-y", 0, 0, G_OPTION_ARG_DOUBLE, &opt_pan_y, "centered: y at the picture's centre", "Y" },
  { "hidden-std", 0, 0, G_OPTION_ARG_DOUBLE, &opt_hidden_std,
    "Spread of the hidden layers' weights (default 1)", "S" },
  { "output-std", 0, 0, G_OPTION_ARG_DOUBLE, &opt_output_std,
    "Spread of the output layer's weights (default 1)", "S" },
  { "no-bias", 0, 0, G_OPTION_ARG_NONE, &opt_no_bias, "All biases 0", NULL },
  { "no-radius", 0, 0, G_OPTION_ARG_NONE, &opt_no_radius, "No r = √(x² + y²) input", NULL },
  { "frames", 0, 0, G_OPTION_ARG_INT, &opt_frames,
    "Animation: N frames from z to --z-to; FILE (.png) becomes an animated PNG and the "
    "frames STEM-0001.png, …", "N" },
  { "z-to", 0, 0, G_OPTION_ARG_STRING, &opt_z_to, "Animation: the last frame's z", "Z1,Z2,…" },
  { "fps", 0, 0, G_OPTION_ARG_INT, &opt_fps, "Animation: frames per second (default 12)", "N" },
  { "bit-depth", 'b', 0, G_OPTION_ARG_INT, &opt_bit_depth, "PNG bits per sample: 8 or 16 (default 8)", "B" },
  { "dump-weights", 0, 0, G_OPTION_ARG_FILENAME, &opt_dump_weights,
    "Write the network and parameters as JSON (format in docs/cppn.md; - for standard output)", "FILE" },
  CLI_THREADS_ENTRY ("Threads (default: every processor it may use)"),
  { NULL }
};

/* STEM-<index>.EXT for the index-th of several files. */
static gchar *
numbered_path (const char *path, const char *format, gint index)
{
  const char *dot = strrchr (path, '.');
  const char *slash = strrchr (path, '/');
  g_autofree gchar *number = g_strdup_printf (format, index);

  if (dot == NULL || (slash && dot < slash))
    dot = path + strlen (path);
  return g_strdup_printf ("%.*s-%s%s", (int) (dot - path), path, number, dot);
}

static gboolean
has_suffix (const char *path, const char *suffix)
{
  g_autofree gchar *lower = g_ascii_strdown (path, -1);
  return g_str_has_suffix (lower, suffix);
}

/* Renders the whole picture into a new buffer of format, BAND_ROWS rows of
 * float at a time, a progress step each (progress may be NULL). */
static GeglBuffer *
render_to_buffer (const NpCppn *cppn, const Babl *format, CliProgress *progress)
{
  GeglRectangle box = { 0, 0, opt_width, opt_height };
  GeglBuffer   *buffer = gegl_buffer_new (&box, format);
  gsize         stride = (gsize) opt_width * 4 * sizeof (gfloat);
  g_autofree gfloat *band = g_new (gfloat, (gsize) opt_width * 4 * BAND_ROWS);

  for (gint y = 0; y < opt_height; y += BAND_ROWS)
    {
      GeglRectangle rows = { 0, y, opt_width, MIN (BAND_ROWS, opt_height - y) };

      np_cppn_render (cppn, 0, y, rows.width, rows.height, band, stride, cli_threads ());
      gegl_buffer_set (buffer, &rows, 0, babl_format ("R'G'B'A float"), band, stride);
      if (progress)
        cli_progress_step (progress, NULL);
    }
  return buffer;
}

static gboolean
save_buffer (GeglBuffer *buffer, const char *path, GError **error)
{
  g_autoptr(GeglNode) graph = gegl_node_new ();
  GeglNode *source = gegl_node_new_child (graph, "operation", "gegl:buffer-source",
                                          "buffer", buffer, NULL);
  return cli_save_png_depth (source, path, opt_bit_depth, error);
}

static gboolean
render_picture (const NpCppn *cppn, const char *path, CliProgress *progress, GError **error)
{
  if (has_suffix (path, ".npy"))
    {
      g_autoptr(NpImage) image = np_image_new (NP_SAMPLE_F32, opt_width, opt_height, 4, error);

      if (image == NULL)
        return FALSE;
      for (gint y = 0; y < opt_height; y += BAND_ROWS)
        {
          np_cppn_render (cppn, 0, y, opt_width, MIN (BAND_ROWS, opt_height - y),
                          np_image_row (image, y), image->stride, cli_threads ());
          cli_progress_step (progress, NULL);
        }
      return np_npy_save (image, path, error);
    }
  else
    {
      /* The file's own sample format: no float copy of the whole picture. */
      const Babl *format = babl_format (opt_alpha ? (opt_bit_depth == 16 ? "R'G'B'A u16" : "R'G'B'A u8")
                                                  : (opt_bit_depth == 16 ? "R'G'B' u16" : "R'G'B' u8"));
      g_autoptr(GeglBuffer) buffer = render_to_buffer (cppn, format, progress);

      return save_buffer (buffer, path, error);
    }
}

/* The frames of an animation from z to z_to (same weights), as PNG files
 * and one animated PNG. The frames stay temporary files until the animation
 * is complete, then all are committed: an interruption leaves none. */
static gboolean
render_animation (NpCppnParams *params, const NpCppnParams *to, GError **error)
{
  const Babl *format = babl_format (opt_alpha ? "R'G'B'A u8" : "R'G'B' u8");
  gint        channels = opt_alpha ? 4 : 3;
  gsize       stride = (gsize) opt_width * channels;
  g_autofree guint8 *pixels = g_try_malloc (stride * opt_height);
  g_autoptr(NpApng) apng = NULL;
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func ((GDestroyNotify) np_output_free);
  NpCppnParams from = *params;
  CliProgress *progress;
  gboolean    ok = TRUE;

  if (pixels == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "out of memory for a %d×%d frame",
                   opt_width, opt_height);
      return FALSE;
    }
  apng = np_apng_new (opt_output, opt_width, opt_height, channels, opt_frames, opt_fps, error);
  if (apng == NULL)
    return FALSE;

  progress = cli_progress_new ("cppn", opt_frames);
  for (gint f = 0; f < opt_frames && ok; f++)
    {
      gdouble t = (gdouble) f / (opt_frames - 1);
      g_autofree gchar *path = numbered_path (opt_output, "%04d", f + 1);
      g_autoptr(NpCppn) cppn = NULL;
      g_autoptr(GeglBuffer) buffer = NULL;
      NpOutput *frame = NULL;

      for (int i = 0; i < from.n_z; i++)
        params->z[i] = from.z[i] + t * (to->z[i] - from.z[i]);
      cppn = np_cppn_new (params, error);
      ok = cppn != NULL && (frame = np_output_new (path, error)) != NULL;
      if (frame)
        g_ptr_array_add (frames, frame);
      if (ok)
        {
          g_autoptr(GeglNode) graph = gegl_node_new ();
          GeglRectangle box = { 0, 0, opt_width, opt_height };
          GeglNode *source;

          buffer = render_to_buffer (cppn, format, NULL);
          gegl_buffer_get (buffer, &box, 1.0, format, pixels, stride, GEGL_ABYSS_NONE);
          source = gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", buffer, NULL);
          /* Closed: thousands of frames cannot all hold a descriptor. */
          ok = cli_save_to_output (source, frame, opt_bit_depth, error)
            && np_output_close (frame, error)
            && np_apng_add_frame (apng, pixels, stride, error);
        }
      cli_progress_step (progress, path);
    }
  cli_progress_free (progress);
  if (!ok || !np_apng_finish (apng, error))
    return FALSE;
  for (guint i = 0; i < frames->len; i++)
    if (!np_output_commit (frames->pdata[i], error))
      return FALSE;
  return TRUE;
}

/* Whether the weights go to standard output (--dump-weights -): the
 * command's own report goes to stderr then, so the stream is JSON only. */
static gboolean
weights_to_stdout (void)
{
  return g_strcmp0 (opt_dump_weights, "-") == 0;
}

static gboolean
dump_weights (const NpCppn *cppn, const char *path, GError **error)
{
  g_autofree gchar *json = np_cppn_to_json (cppn);

  if (weights_to_stdout ())
    {
      fputs (json, stdout);
      return cli_stdout_flush (error);
    }
  return np_output_set_contents (path, json, strlen (json), error);
}

/* Every file the command will write, for cli_check_outputs. */
static GPtrArray *
planned_outputs (void)
{
  GPtrArray *outputs = g_ptr_array_new_with_free_func (g_free);

  if (opt_frames)
    {
      g_ptr_array_add (outputs, g_strdup (opt_output));
      for (gint f = 0; f < opt_frames; f++)
        g_ptr_array_add (outputs, numbered_path (opt_output, "%04d", f + 1));
    }
  for (gint k = 0; k < (opt_frames ? 0 : opt_images); k++)
    g_ptr_array_add (outputs, opt_images > 1 ? numbered_path (opt_output, "%03d", k + 1)
                                             : g_strdup (opt_output));
  for (gint k = 0; opt_dump_weights && !weights_to_stdout () && k < (opt_frames ? 1 : opt_images); k++)
    g_ptr_array_add (outputs, opt_images > 1 ? numbered_path (opt_dump_weights, "%03d", k + 1)
                                             : g_strdup (opt_dump_weights));
  return outputs;
}

static int
check_options (NpCppnParams *params, NpCppnParams *to)
{
  g_autoptr(GError) error = NULL;
  guint64 seed;

  if (opt_output == NULL)
    return cli_fail ("cppn", CLI_EXIT_USAGE, "name the picture with -o FILE");
  if (!has_suffix (opt_output, ".npy") && !cli_check_output_name (opt_output, &error))
    return cli_fail ("cppn", CLI_EXIT_USAGE, "-o: %s (or .npy)", error->message);
  if (opt_bit_depth != 8 && opt_bit_depth != 16)
    return cli_fail ("cppn", CLI_EXIT_USAGE, "--bit-depth must be 8 or 16, not %d", opt_bit_depth);
  if (opt_bit_depth == 16 && !has_suffix (opt_output, ".png"))
    return cli_fail ("cppn", CLI_EXIT_USAGE, "--bit-depth 16 needs a .png output");
  if (opt_images < 1 || opt_images > 100000)
    return cli_fail ("cppn", CLI_EXIT_USAGE, "--images must be between 1 and 100000");
  if (opt_frames != 0 && (opt_frames < 2 || opt_frames > 100000))
    return cli_fail ("cppn", CLI_EXIT_USAGE, "--frames must be between 2 and 100000");
  if ((opt_frames != 0) != (opt_z_to != NULL))
    return cli_fail ("cppn", CLI_EXIT_USAGE, "--frames and --z-to go together");
  if (opt_frames && (opt_images > 1 || !has_suffix (opt_output, ".png") || opt_bit_depth != 8))
    return cli_fail ("cppn", CLI_EXIT_USAGE,
                        "an animation is one 8-bit animated .png (with its frames beside it)");
  if (weights_to_stdout () && opt_images > 1)
    return cli_fail ("cppn", CLI_EXIT_USAGE, "--dump-weights - writes one network: not with --images");
  if (opt_fps < 1 || opt_fps > 1000)
    return cli_fail ("cppn", CLI_EXIT_USAGE, "--fps must be between 1 and 1000");
  if (cli_threads_option > 1024)
    return cli_fail ("cppn", CLI_EXIT_USAGE, "--threads must be between 0 and 1024");
  /* Up to 2^63 − 1: the JSON dump stores the seed as a (signed) integer. */
  if (opt_seed && !g_ascii_string_to_unsigned (opt_seed, 10, 0, G_MAXINT64, &seed, &error))
    return cli_fail ("cppn", CLI_EXIT_USAGE, "--seed: %s", error->message);

  np_cppn_params_init (params);
  params->seed = opt_seed ? seed : ((guint64) g_random_int_range (0, G_MAXINT32) << 32 | g_random_int ());
  params->width = opt_width;
  params->height = opt_height;
  params->color_mode = opt_color_mode;
  params->alpha = opt_alpha;
  params->depth = opt_depth;
  params->size = opt_size;
  params->activation = opt_activations ? opt_activations : opt_activation;
  params->z[0] = opt_z1;
  params->z[1] = opt_z2;
  params->sym = opt_sym;
  params->trig = opt_trig;
  if (g_strcmp0 (opt_coords, "original") == 0)
    params->coords = NP_CPPN_COORDS_ORIGINAL;
  else if (g_strcmp0 (opt_coords, "centered") == 0)
    params->coords = NP_CPPN_COORDS_CENTERED;
  else
    return cli_fail ("cppn", CLI_EXIT_USAGE, "--coords must be original or centered, not “%s”",
                        opt_coords);
  /* The original layout has no zoom or pan: say so rather than ignore them. */
  if (params->coords == NP_CPPN_COORDS_ORIGINAL && (opt_zoom != 1.0 || opt_pan_x != 0.0 || opt_pan_y != 0.0))
    return cli_fail ("cppn", CLI_EXIT_USAGE, "--zoom, --pan-x and --pan-y need --coords centered");
  params->zoom = opt_zoom;
  params->pan_x = opt_pan_x;
  params->pan_y = opt_pan_y;
  params->hidden_std = opt_hidden_std;
  params->output_std = opt_output_std;
  params->bias = !opt_no_bias;
  params->radius = !opt_no_radius;
  if (opt_z && !np_cppn_params_set_z (params, opt_z, &error))
    return cli_fail ("cppn", CLI_EXIT_USAGE, "--z: %s", error->message);
  *to = *params;
  if (opt_z_to && !np_cppn_params_set_z (to, opt_z_to, &error))
    return cli_fail ("cppn", CLI_EXIT_USAGE, "--z-to: %s", error->message);
  if (to->n_z != params->n_z)
    return cli_fail ("cppn", CLI_EXIT_USAGE, "--z-to has %d entries but z has %d",
                        to->n_z, params->n_z);
  return CLI_EXIT_OK;
}

int
cli_cmd_cppn (int argc, char **argv, gboolean do_help)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) written = g_string_new (NULL);
  NpCppnParams params, to;
  CliProgress  *progress;
  int          code;

  if (!cli_parse ("cppn", NULL,
                     "Render abstract art from a randomly initialised network (a CPPN).",
                     "Each pixel's x, y, r = √(x² + y²) and a constant z go through --depth "
                     "dense layers of --size units;\nthe sigmoid outputs are read as a colour. "
                     "Options of the original (random_art.py) map to:\n  -img_height/-img_width "
                     "→ --height/--width, -colormode → --color-mode, -alpha → --alpha,\n"
                     "  -n_images → --images, -n_depth → --depth, -n_size → --size, "
                     "-activation → --activation,\n  -z1/-z2 → --z1/--z2, -sym → --sym, "
                     "-trig → --trig.\n\n"
                     "Examples:\n  neuropaint cppn -o art.png --seed 7 --color-mode hsv\n"
                     "  neuropaint cppn -o wide.png --width 1920 --height 1080 --coords centered --zoom 0.5\n"
                     "  neuropaint cppn -o anim.png --seed 3 --frames 48 --z=-0.6,0.6 --z-to=0.6,-0.6",
                     entries, &argc, &argv, do_help, &code))
    return code;
  if (argc > 1)
    return cli_fail ("cppn", CLI_EXIT_USAGE, "unexpected argument “%s”", argv[1]);
  if ((code = check_options (&params, &to)) != CLI_EXIT_OK)
    return code;
  {
    g_autoptr(GPtrArray) none = g_ptr_array_new ();
    g_autoptr(GPtrArray) outputs = planned_outputs ();

    if (!cli_check_outputs ("cppn", none, outputs, NULL, NULL, &code))
      return code;
  }

  if (opt_frames)
    {
      g_autoptr(NpCppn) cppn = np_cppn_new (&params, &error);

      if (cppn == NULL)
        return cli_fail ("cppn", CLI_EXIT_USAGE, "%s", error->message);
      if (opt_dump_weights && !dump_weights (cppn, opt_dump_weights, &error))
        return cli_fail_error ("cppn", g_steal_pointer (&error));
      if (!render_animation (&params, &to, &error))
        return cli_fail_error ("cppn", g_steal_pointer (&error));
      (weights_to_stdout () ? g_printerr : g_print) ("wrote %s (%d frames, seed %" G_GUINT64_FORMAT ")\n",
                                                     opt_output, opt_frames, params.seed);
      return CLI_EXIT_OK;
    }

  progress = cli_progress_new ("cppn", (gsize) opt_images * ((opt_height + BAND_ROWS - 1) / BAND_ROWS));
  for (gint k = 0; k < opt_images; k++)
    {
      g_autofree gchar *path = opt_images > 1 ? numbered_path (opt_output, "%03d", k + 1)
                                              : g_strdup (opt_output);
      g_autoptr(NpCppn) cppn = NULL;

      params.seed = to.seed + k;
      cppn = np_cppn_new (&params, &error);
      if (cppn == NULL)
        {
          cli_progress_free (progress);
          return cli_fail ("cppn", CLI_EXIT_USAGE, "%s", error->message);
        }
      if (opt_dump_weights)
        {
          g_autofree gchar *json_path = opt_images > 1 ? numbered_path (opt_dump_weights, "%03d", k + 1)
                                                       : g_strdup (opt_dump_weights);
          if (!dump_weights (cppn, json_path, &error))
            break;
        }
      if (!render_picture (cppn, path, progress, &error))
        break;
      g_string_append_printf (written, "wrote %s (seed %" G_GUINT64_FORMAT ")\n", path, params.seed);
    }
  /* Printed once the progress bar is gone, so the two never share a line. */
  cli_progress_free (progress);
  (weights_to_stdout () ? g_printerr : g_print) ("%s", written->str);
  if (error)
    return cli_fail_error ("cppn", g_steal_pointer (&error));
  return CLI_EXIT_OK;
}
