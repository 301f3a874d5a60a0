/* neuropaint dream — a noise model's faces: a grid of seeds in one picture,
 * or a latent walk from one seed's face to another's as an animated PNG.
 *
 * Each face is np_paint_dream's (core/paint/dream.c), the bytes
 * neuropaint:dream-face gives for the same seed, mix and truncation; this
 * file lays them out. */
#include "config.h"
#include "cli.h"

#include "neuropaint.h"

static gchar   *opt_output;
static gchar   *opt_grid = "8x8";
static gchar   *opt_seed;
static gchar   *opt_to;
static gdouble  opt_truncation = 1.0;
static gchar   *opt_size;
static gchar   *opt_sr_model = "sr2x";
static gint     opt_walk;
static gint     opt_fps = 12;

static const GOptionEntry entries[] = {
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output,
    "The picture (.png, .jpg, …), or with --walk the animated .png", "FILE" },
  { "grid", 'g', 0, G_OPTION_ARG_STRING, &opt_grid,
    "Columns × rows of faces, seeds SEED, SEED+1, … row by row (default 8x8)", "CxR" },
  { "seed", 's', 0, G_OPTION_ARG_STRING, &opt_seed,
    "The first face's seed: the same seed gives the same face everywhere (default: random, printed)", "N" },
  { "truncation", 't', 0, G_OPTION_ARG_DOUBLE, &opt_truncation,
    "ψ, 0 to 1: each z times ψ, toward the prior's mean 0 (the truncation trick; default 1)", "PSI" },
  { "size", 0, 0, G_OPTION_ARG_STRING, &opt_size,
    "Each face's size (default the model's); a dream model's larger faces go through --sr-model", "WxH" },
  { "sr-model", 0, 0, G_OPTION_ARG_STRING, &opt_sr_model,
    "The ×2 super-resolution model for faces larger than the model's (default sr2x)", "MODEL" },
  { "walk", 'w', 0, G_OPTION_ARG_INT, &opt_walk,
    "An animated PNG of N frames from SEED's face to --to's, along the arc between their z", "N" },
  { "to", 0, 0, G_OPTION_ARG_STRING, &opt_to, "--walk: the last frame's seed (default SEED + 1)", "N" },
  { "fps", 0, 0, G_OPTION_ARG_INT, &opt_fps, "--walk: frames per second (default 12)", "N" },
  CLI_THREADS_ENTRY ("Threads (default: every processor it may use)"),
  { NULL }
};

static gboolean
parse_seed (const char *option, const char *text, guint64 *seed, int *code)
{
  g_autoptr(GError) error = NULL;

  /* The op's seeds are 32-bit: the same face from either. */
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, seed, &error))
    {
      *code = cli_fail ("dream", CLI_EXIT_USAGE, "%s: %s", option, error->message);
      return FALSE;
    }
  return TRUE;
}

/* The face for options (a new R'G'B'A float picture of width × height). */
static NpImage *
dream_face (NpModel *model, const NpDreamOptions *options, gint width, gint height, GError **error)
{
  g_autoptr(NpImage) face = np_image_new (NP_SAMPLE_F32, width, height, 4, error);

  if (face == NULL || !np_paint_dream (model, options, face, error))
    return NULL;
  return g_steal_pointer (&face);
}

/* columns × rows faces of seeds options->seed, +1, … into one picture. */
static gboolean
write_grid (NpModel *model, NpDreamOptions *options, gint columns, gint rows, gint width, gint height,
            GError **error)
{
  GeglRectangle         box = { 0, 0, columns * width, rows * height };
  g_autoptr(GeglBuffer) grid = gegl_buffer_new (&box, babl_format ("R'G'B' u8"));
  g_autoptr(GeglNode)   graph = gegl_node_new ();
  guint64               first = options->seed;
  CliProgress          *progress = cli_progress_new ("dream", (gsize) columns * rows);
  gboolean              ok = TRUE;

  for (gint k = 0; k < columns * rows && ok; k++)
    {
      GeglRectangle      cell = { (k % columns) * width, (k / columns) * height, width, height };
      g_autoptr(NpImage) face = NULL;

      /* Seeds are 32-bit, as the op's: past the last, they wrap. */
      options->seed = (guint32) (first + (guint64) k);
      if ((ok = (face = dream_face (model, options, width, height, error)) != NULL))
        gegl_buffer_set (grid, &cell, 0, babl_format ("R'G'B'A float"), face->data, face->stride);
      cli_progress_step (progress, NULL);
    }
  cli_progress_free (progress);
  options->seed = first;
  return ok && cli_save (gegl_node_new_child (graph, "operation", "gegl:buffer-source", "buffer", grid, NULL),
                         opt_output, error);
}

/* opt_walk frames from options->seed's face (mix 0) to seed2's (mix 1). */
static gboolean
write_walk (NpModel *model, NpDreamOptions *options, gint width, gint height, GError **error)
{
  const Babl        *to_bytes = babl_fish (babl_format ("R'G'B'A float"), babl_format ("R'G'B' u8"));
  g_autofree guint8 *pixels = g_try_malloc ((gsize) width * height * 3);
  g_autoptr(NpApng)  apng = NULL;
  CliProgress       *progress;
  gboolean           ok = TRUE;

  if (pixels == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "out of memory for a %d×%d frame", width, height);
      return FALSE;
    }
  if ((apng = np_apng_new (opt_output, width, height, 3, opt_walk, opt_fps, error)) == NULL)
    return FALSE;
  progress = cli_progress_new ("dream", opt_walk);
  for (gint f = 0; f < opt_walk && ok; f++)
    {
      g_autoptr(NpImage) face = NULL;

      options->mix = (gdouble) f / (opt_walk - 1);
      ok = (face = dream_face (model, options, width, height, error)) != NULL;
      for (gint y = 0; ok && y < height; y++)
        babl_process (to_bytes, np_image_row (face, y), pixels + (gsize) y * width * 3, width);
      ok = ok && np_apng_add_frame (apng, pixels, (gsize) width * 3, error);
      cli_progress_step (progress, NULL);
    }
  cli_progress_free (progress);
  return ok && np_apng_finish (apng, error);
}

int
cli_cmd_dream (int argc, char **argv, gboolean do_help)
{
  g_autoptr(GError)   error = NULL;
  g_autoptr(NpModel)  model = NULL, sr = NULL;
  g_autoptr(GPtrArray) inputs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) outputs = g_ptr_array_new ();
  NpDreamOptions      options = { 0 };
  gint                columns, rows, width = 0, height = 0;
  guint64             seed, to;
  g_autofree gchar   *lower_output = NULL;
  int                 code;

  if (!cli_parse ("dream", "MODEL",
                  "Dream faces with a noise model: a grid of seeds, or a latent walk.",
                  "MODEL is a dream model (neuropaint train --input dream; noise2face is one) or the\n"
                  "seed's noise U-Net (--input noise), by name or file. Each face is the one neuropaint:dream-face gives "
                  "for the same seed.\n\n"
                  "Examples:\n  neuropaint dream MODEL -o grid.png --grid 8x8 --seed 1\n"
                  "  neuropaint dream MODEL -o walk.png --walk 48 --seed 1 --to 2",
                  entries, &argc, &argv, do_help, &code))
    return code;
  if (argc < 2)
    return cli_fail ("dream", CLI_EXIT_USAGE, "name the model (a dream model's name or file)");
  if (argc > 2)
    return cli_fail ("dream", CLI_EXIT_USAGE, "unexpected argument “%s”", argv[2]);
  if (opt_output == NULL)
    return cli_fail ("dream", CLI_EXIT_USAGE, "name the picture with -o FILE");
  if (!cli_check_output_name (opt_output, &error))
    return cli_fail ("dream", CLI_EXIT_USAGE, "-o: %s", error->message);
  if (!cli_parse_size (opt_grid, &columns, &rows) || (gint64) columns * rows > 4096)
    return cli_fail ("dream", CLI_EXIT_USAGE, "--grid must be COLUMNSxROWS, at most 4096 faces, not “%s”",
                     opt_grid);
  if (opt_size && !cli_parse_size (opt_size, &width, &height))
    return cli_fail ("dream", CLI_EXIT_USAGE, "--size must be WIDTHxHEIGHT, each 1 to 8192, not “%s”", opt_size);
  if (!(opt_truncation >= 0 && opt_truncation <= 1))
    return cli_fail ("dream", CLI_EXIT_USAGE, "--truncation must be between 0 and 1");
  if (opt_walk != 0 && (opt_walk < 2 || opt_walk > 100000))
    return cli_fail ("dream", CLI_EXIT_USAGE, "--walk must be between 2 and 100000 frames");
  if (opt_walk && !g_str_has_suffix (lower_output = g_ascii_strdown (opt_output, -1), ".png"))
    return cli_fail ("dream", CLI_EXIT_USAGE, "--walk writes an animated .png, not “%s”", opt_output);
  if (!opt_walk && opt_to)
    return cli_fail ("dream", CLI_EXIT_USAGE, "--to is the end of a --walk");
  if (opt_fps < 1 || opt_fps > 1000)
    return cli_fail ("dream", CLI_EXIT_USAGE, "--fps must be between 1 and 1000");
  if (cli_threads_option > 1024)
    return cli_fail ("dream", CLI_EXIT_USAGE, "--threads must be between 0 and 1024");
  if (opt_seed && !parse_seed ("--seed", opt_seed, &seed, &code))
    return code;
  if (!opt_seed)
    seed = g_random_int ();
  if (opt_to && !parse_seed ("--to", opt_to, &to, &code))
    return code;
  if (!opt_to)
    to = (guint32) (seed + 1);

  /* The model file is never the output. */
  g_ptr_array_add (inputs, np_model_resolve (argv[1], NULL));
  if (inputs->pdata[0] == NULL)
    g_ptr_array_remove_index (inputs, 0);
  g_ptr_array_add (outputs, opt_output);
  if (!cli_check_outputs ("dream", inputs, outputs, NULL, NULL, &code))
    return code;

  if ((model = np_model_load (argv[1], &error)) == NULL)
    return cli_fail_error ("dream", g_steal_pointer (&error));
  if (!np_model_check_use (model, NP_MODEL_USE_NOISE, &error))
    {
      g_prefix_error (&error, "%s: ", argv[1]);
      return cli_fail_error ("dream", g_steal_pointer (&error));
    }
  np_paint_dream_size (model, width, height, &width, &height);
  if ((gint64) width * (opt_walk ? 1 : columns) > 65536 || (gint64) height * (opt_walk ? 1 : rows) > 65536)
    return cli_fail ("dream", CLI_EXIT_USAGE, "a picture of more than 65536 pixels a side");
  if (np_paint_dream_steps (model, width, height) > 0)
    {
      if ((sr = np_model_load (opt_sr_model, &error)) == NULL)
        return cli_fail_error ("dream", g_steal_pointer (&error));
      if (!np_model_check_use (sr, NP_MODEL_USE_SUPER_RESOLUTION, &error))
        {
          g_prefix_error (&error, "--sr-model %s: ", opt_sr_model);
          return cli_fail_error ("dream", g_steal_pointer (&error));
        }
    }
  options.seed = seed;
  options.seed2 = to;
  options.truncation = opt_truncation;
  options.super_resolution = sr;
  options.n_threads = cli_threads ();

  if (!(opt_walk ? write_walk (model, &options, width, height, &error)
                 : write_grid (model, &options, columns, rows, width, height, &error)))
    return cli_fail_error ("dream", g_steal_pointer (&error));
  if (opt_walk)
    g_print ("wrote %s (%d frames, %d×%d, seed %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT ")\n", opt_output,
             opt_walk, width, height, seed, to);
  else
    g_print ("wrote %s (%d×%d faces of %d×%d, seeds %" G_GUINT64_FORMAT " to %u)\n",
             opt_output, columns, rows, width, height, seed, (guint32) (seed + (guint64) columns * rows - 1));
  return CLI_EXIT_OK;
}
