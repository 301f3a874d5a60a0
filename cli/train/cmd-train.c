/* neuropaint train — a generator from a dataset (neuropaint prepare): the
 * seed's pix2pix training and each of its experiments, with validation
 * against trivial baselines, a history, sample grids and checkpoints that
 * resume bit for bit.
 *
 * The loop in train_loop() reads top to bottom, as llm.c's does: a batch,
 * a step, its losses; validation, samples and checkpoints every so often. */
#include "config.h"
#include "cli.h"
#include "train-group.h"
#include "train-report.h"

#include <math.h>
#include <signal.h>
#include <string.h>

static gchar   *opt_output, *opt_input, *opt_target, *opt_arch, *opt_loss, *opt_resume, *opt_seed, *opt_dtype;
static gchar   *opt_init, *opt_augment, *opt_d_norm;
/* UNSET: not given (the checkpoint's or the default value applies). */
#define UNSET G_MININT
static gint     opt_ngf = UNSET, opt_ndf = UNSET, opt_blocks = UNSET, opt_batch = UNSET, opt_steps = UNSET;
static gint     opt_lr_decay_from = UNSET;
static gdouble  opt_lr = UNSET, opt_beta1 = UNSET, opt_l1_weight = UNSET, opt_gan_weight = UNSET;
static gdouble  opt_colour_weight = UNSET, opt_ema = UNSET;
static gint     opt_validate_every = 100, opt_checkpoint_every = 500, opt_checkpoint_minutes = 10;
static gint     opt_samples = 4, opt_accumulate = UNSET;
static gchar  **opt_dataset;

static const GOptionEntry entries[] = {
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output,
    "The model file (.safetensors); beside it STEM.ckpt, STEM.history.csv, STEM.history.png, "
    "STEM.samples.png", "MODEL" },
  { "input", 'i', 0, G_OPTION_ARG_STRING, &opt_input,
    "What G learns from: gray, gray-hints (gray and colour hints simulated from the photo; chroma), binary, "
    "contours, canny, identity (autoencoder), noise (pure generator), dream (a latent vector → a 64×80 face: "
    "the generator built for noise), morph (the average face), lowres (super resolution ×2) (default gray)", "KIND" },
  { "target", 0, 0, G_OPTION_ARG_STRING, &opt_target,
    "What G predicts: rgb, chroma (YCbCr's Cb and Cr, put on the input's own luminance; gray input), "
    "chroma-bins (a logit for each bin of quantised Cb, Cr found in the training photos, learnt by "
    "rebalanced cross-entropy, decoded by their annealed mean: vivid colour, Zhang et al. 2016; gray or gray-hints input) "
    "or residual (what the bicubic upscale misses, added to it; lowres) (default rgb; residual for lowres)",
    "KIND" },
  { "arch", 0, 0, G_OPTION_ARG_STRING, &opt_arch,
    "G's architecture: unet (pix2pix's U-Net), sr (the seed's super-resolution net), edsr (residual "
    "blocks and a pixel shuffle, super resolution ×2) or dream (a latent vector → linear → nearest ×2 + 3×3 conv "
    "blocks, with an unconditional discriminator; the dream input) (default: the input's; sr for lowres, "
    "dream for dream)", "NAME" },
  { "ngf", 0, 0, G_OPTION_ARG_INT, &opt_ngf,
    "G's base width (default 32; 64 features for lowres's SR net, 32 for edsr; the seed: 64)", "N" },
  { "ndf", 0, 0, G_OPTION_ARG_INT, &opt_ndf, "D's base width (default: ngf)", "N" },
  { "blocks", 0, 0, G_OPTION_ARG_INT, &opt_blocks,
    "G's residual blocks, for --arch edsr (default 4): depth, which widens what each output pixel sees", "N" },
  { "batch", 'b', 0, G_OPTION_ARG_INT, &opt_batch, "Pairs a step (default 8; the seed: 64)", "B" },
  { "steps", 's', 0, G_OPTION_ARG_INT, &opt_steps, "Steps in all (default 2000; the seed: 200 of 64)", "N" },
  { "accumulate", 0, 0, G_OPTION_ARG_INT, &opt_accumulate,
    "Split each process's part of the batch into K micro-batches and sum their gradients: a large batch "
    "in little memory (default 1, or what the resumed run used)", "K" },
  { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &opt_lr, "Adam's learning rate (default 2e-4)", "F" },
  { "beta1", 0, 0, G_OPTION_ARG_DOUBLE, &opt_beta1, "Adam's β1 (default 0.5)", "F" },
  { "lr-decay-from", 0, 0, G_OPTION_ARG_INT, &opt_lr_decay_from,
    "From step S the learning rate falls linearly to 0 at the last step, as pix2pix's schedule "
    "(default: constant)", "S" },
  { "l1-weight", 0, 0, G_OPTION_ARG_DOUBLE, &opt_l1_weight,
    "Weight of the reconstruction term (default 100; 1 for lowres and chroma-bins)", "W" },
  { "gan-weight", 0, 0, G_OPTION_ARG_DOUBLE, &opt_gan_weight,
    "Weight of the adversarial term; 0 trains G alone, with no discriminator (default 1; 0 for lowres and "
    "chroma-bins, which takes none)", "W" },
  { "colour-weight", 0, 0, G_OPTION_ARG_DOUBLE, &opt_colour_weight,
    "Weight of the colourfulness term: how far each output's colourfulness (Hasler and Süsstrunk's, "
    "0–255) is from its photo's; against L1's dull mean colour (default 0: none; rgb or chroma targets)", "W" },
  { "ema", 0, 0, G_OPTION_ARG_DOUBLE, &opt_ema,
    "Keep a moving average of G's weights, avg ← E·avg + (1 − E)·weights after each step, and ship it "
    "instead of the weights (default 0: none; 0.999 for dream)", "E" },
  { "augment", 0, 0, G_OPTION_ARG_STRING, &opt_augment,
    "What the discriminator sees: diff (DiffAugment's colour, translation and cutout on real and fake, for D "
    "and G; a discriminator of the picture alone) or none (default none; diff for dream)", "POLICY" },
  { "d-norm", 0, 0, G_OPTION_ARG_STRING, &opt_d_norm,
    "The discriminator's weights: spectral (each convolution's and linear layer's divided by its largest "
    "singular value, one power iteration a step, Miyato et al. 2018) or none (default none; spectral for "
    "dream)", "NORM" },
  { "loss", 0, 0, G_OPTION_ARG_STRING, &opt_loss, "Reconstruction loss: l1, mse, l0.5 ((|d| + 0.01)^½: "
    "where a colour is uncertain, the likeliest one instead of L1's median between them) or l1+magnitude (a "
    "chroma target's: L1 plus |‖chroma‖ − ‖the photo's‖| at each pixel, as saturated as the photo wherever "
    "the hue is uncertain) (default l1; mse for lowres), or cross-entropy (chroma-bins' only one)", "L" },
  { "seed", 0, 0, G_OPTION_ARG_STRING, &opt_seed, "Seeds weights, batches, flips, dropout (default 1)", "N" },
  CLI_THREADS_ENTRY ("Threads (default: the processors it may use, shared by the ranks on a machine; the losses "
                     "do not depend on it)"),
  { "init", 0, 0, G_OPTION_ARG_FILENAME, &opt_init,
    "Start G from this model's weights (a model of the same network: name or file) instead of random "
    "ones, with a fresh optimiser: a second stage on a trained model; or from the trunk of a model that "
    "differs only in its last layer (out), which starts random: a chroma-bins head on a chroma model", "MODEL" },
  { "resume", 'r', 0, G_OPTION_ARG_FILENAME, &opt_resume,
    "Continue from a checkpoint, exactly as if never stopped (its options are the defaults)", "CKPT" },
  { "validate-every", 0, 0, G_OPTION_ARG_INT, &opt_validate_every,
    "Validate, draw samples and the history every N steps (default 100)", "N" },
  { "checkpoint-every", 0, 0, G_OPTION_ARG_INT, &opt_checkpoint_every, "Checkpoint every N steps (default 500)", "N" },
  { "checkpoint-minutes", 0, 0, G_OPTION_ARG_INT, &opt_checkpoint_minutes,
    "… and at least every M minutes (default 10)", "M" },
  { "samples", 0, 0, G_OPTION_ARG_INT, &opt_samples, "Validation pictures in the sample grid (default 4)", "N" },
  { "dtype", 0, 0, G_OPTION_ARG_STRING, &opt_dtype, "The model file's numbers: f32 or f16 (default f32)", "T" },
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_dataset, NULL, NULL },
  { NULL }
};

/* Everything that defines a run; stored in its checkpoints. */
typedef struct
{
  gchar        *dataset, *output;
  gchar        *init;          /* --init: the model G started from, or NULL */
  gchar        *init_made_by;  /* the commands that made it, oldest first (NpModelInfo's trained_from) */
  const NpExperiment *experiment;   /* --input's row of the table */
  const NpTrainArch  *arch;         /* G's architecture */
  NpModelTarget target;
  gint          ngf, ndf, batch;
  gint          blocks;        /* --blocks, or 0: the architecture's default */
  gint          micro;         /* micro-batches a step, over every process: ranks × --accumulate */
  gint64        steps;
  NpDType       dtype;
  NpTrainParams params;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->dataset);
  g_free (run->output);
  g_free (run->init);
  g_free (run->init_made_by);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

/* The run's defining options as strings, for checkpoints. The paths are
 * resolved now (train never changes folder): --resume works from any
 * folder. */
static GHashTable *
run_to_metadata (const Run *run, gdouble seconds)
{
  GHashTable *m = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  g_hash_table_insert (m, g_strdup ("dataset"), g_canonicalize_filename (run->dataset, NULL));
  g_hash_table_insert (m, g_strdup ("output"), g_canonicalize_filename (run->output, NULL));
  g_hash_table_insert (m, g_strdup ("input"), g_strdup (run->experiment->name));
  g_hash_table_insert (m, g_strdup ("arch"), g_strdup (run->arch->name));
  g_hash_table_insert (m, g_strdup ("target"), g_strdup (np_model_target_option (run->target)));
  g_hash_table_insert (m, g_strdup ("ngf"), g_strdup_printf ("%d", run->ngf));
  g_hash_table_insert (m, g_strdup ("ndf"), g_strdup_printf ("%d", run->ndf));
  if (run->blocks)
    g_hash_table_insert (m, g_strdup ("blocks"), g_strdup_printf ("%d", run->blocks));
  g_hash_table_insert (m, g_strdup ("batch"), g_strdup_printf ("%d", run->batch));
  g_hash_table_insert (m, g_strdup ("micro_batches"), g_strdup_printf ("%d", run->micro));
  g_hash_table_insert (m, g_strdup ("steps"), g_strdup_printf ("%" G_GINT64_FORMAT, run->steps));
  g_hash_table_insert (m, g_strdup ("dtype"), g_strdup (run->dtype == NP_DTYPE_F16 ? "f16" : "f32"));
  g_hash_table_insert (m, g_strdup ("seconds"), g_strdup_printf ("%.1f", seconds));
  if (run->init)
    g_hash_table_insert (m, g_strdup ("init"), g_strdup (run->init));
  if (run->init_made_by)
    g_hash_table_insert (m, g_strdup ("init_made_by"), g_strdup (run->init_made_by));
  return m;
}

/* What made the model a run starts from (--init, at path): the commands
 * that made its own start, then its own; the model file records them all
 * (trained_from), so a model trained in stages says every stage. */
static gchar *
init_made_by (const NpModelInfo *init, const char *path)
{
  g_autofree gchar *own = init->trained_with
                          ? g_strdup (init->trained_with)
                          : g_strdup_printf ("(%s: a model file that does not say how it was made)", path);

  return init->trained_from ? g_strconcat (init->trained_from, "\n", own, NULL) : g_steal_pointer (&own);
}

static gint64
meta_int (GHashTable *m, const char *key)
{
  const char *v = g_hash_table_lookup (m, key);
  return v ? g_ascii_strtoll (v, NULL, 10) : -1;
}

/* "gray, binary, …": the names of a table's n rows of size bytes, each row
 * starting with its name (NpExperiment, NpTrainArch). */
static gchar *
row_names (gconstpointer rows, gsize size, guint n, const char *separator)
{
  GString *names = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append_printf (names, "%s%s", i ? separator : "",
                            *(const char *const *) ((const char *) rows + i * size));
  return g_string_free (names, FALSE);
}

/* The architecture a checkpoint's run trained: its "arch", or (a checkpoint
 * written before --arch) its input's. */
static const char *
resumed_arch (GHashTable *resumed)
{
  const NpExperiment *e = np_experiment_find (g_hash_table_lookup (resumed, "input"));
  const char         *arch = g_hash_table_lookup (resumed, "arch");

  return arch ? arch : e ? e->architecture : NULL;
}

/* Options first, then (resuming) the checkpoint's, then the defaults;
 * options that would change a resumed network are refused. */
static int
resolve_run (Run *run, GHashTable *resumed, NpTrainer *trainer, gint ranks)
{
  const char *input = opt_input ? opt_input : resumed ? g_hash_table_lookup (resumed, "input") : "gray";
  const char *dtype = opt_dtype ? opt_dtype : resumed ? g_hash_table_lookup (resumed, "dtype") : "f32";
  const NpExperiment *e = np_experiment_find (input);
  const char *arch = opt_arch ? opt_arch : resumed ? resumed_arch (resumed) : e ? e->architecture : NULL;
  const char *target = opt_target ? opt_target : resumed ? g_hash_table_lookup (resumed, "target")
                                               : e ? np_model_target_option (e->target) : NULL;
  /* The options only a discriminator takes. */
  const char *d_option = opt_gan_weight != UNSET && opt_gan_weight != 0 ? "--gan-weight"
                         : g_strcmp0 (opt_augment, "diff") == 0 ? "--augment diff"
                         : g_strcmp0 (opt_d_norm, "spectral") == 0 ? "--d-norm spectral" : NULL;
  guint       n;
  gboolean    bins;

  if (e == NULL)
    {
      const NpExperiment *all = np_experiment_list (&n);
      g_autofree gchar   *known = row_names (all, sizeof *all, n, ", ");
      return cli_fail ("train", CLI_EXIT_USAGE, "--input: unknown kind “%s” (%s)", input ? input : "", known);
    }
  if (np_train_arch_find (arch) == NULL)
    {
      const NpTrainArch *all = np_train_arch_list (&n);
      g_autofree gchar  *known = row_names (all, sizeof *all, n, " or ");
      return cli_fail ("train", CLI_EXIT_USAGE, "--arch: %s, not “%s”", known, arch ? arch : "");
    }
  if (np_model_target_from_option (target) == NP_MODEL_TARGET_UNKNOWN)
    return cli_fail ("train", CLI_EXIT_USAGE, "--target: rgb, chroma, chroma-bins or residual, not “%s”",
                        target ? target : "");
  if (g_strcmp0 (dtype, "f32") && g_strcmp0 (dtype, "f16"))
    return cli_fail ("train", CLI_EXIT_USAGE, "--dtype: f32 or f16, not “%s”", dtype ? dtype : "");
  if (opt_loss && np_recon_from_name (opt_loss) == NP_N_RECONS)
    return cli_fail ("train", CLI_EXIT_USAGE, "--loss: l1, mse, l0.5, l1+magnitude or cross-entropy, not “%s”",
                     opt_loss);
  run->experiment = e;
  run->arch = np_train_arch_find (arch);
  run->target = np_model_target_from_option (target);
  bins = run->target == NP_MODEL_TARGET_CHROMA_BINS;
  if (opt_loss && (strcmp (opt_loss, "cross-entropy") == 0) != bins)
    return cli_fail ("train", CLI_EXIT_USAGE, "--loss %s: cross-entropy is the chroma-bins target's loss, and "
                     "its only one", opt_loss);
  if (bins && d_option)
    return cli_fail ("train", CLI_EXIT_USAGE, "%s: a chroma-bins target learns by cross-entropy alone (its "
                     "outputs are logits, no picture for a discriminator)", d_option);
  run->dtype = strcmp (dtype, "f16") == 0 ? NP_DTYPE_F16 : NP_DTYPE_F32;
  run->ngf = opt_ngf != UNSET ? opt_ngf : resumed ? (gint) meta_int (resumed, "ngf") : run->arch->width;
  run->ndf = opt_ndf != UNSET ? opt_ndf : resumed ? (gint) meta_int (resumed, "ndf") : run->ngf;
  run->blocks = opt_blocks != UNSET ? opt_blocks : resumed ? (gint) MAX (meta_int (resumed, "blocks"), 0) : 0;
  run->batch = opt_batch != UNSET ? opt_batch : resumed ? (gint) meta_int (resumed, "batch") : 8;
  run->steps = opt_steps != UNSET ? opt_steps : resumed ? meta_int (resumed, "steps") : 2000;

  if (run->ngf < 1 || run->ngf > 512 || run->ndf < 1 || run->ndf > 512)
    return cli_fail ("train", CLI_EXIT_USAGE, "--ngf and --ndf must be between 1 and 512");
  if (opt_blocks != UNSET && !run->arch->depth_key)
    return cli_fail ("train", CLI_EXIT_USAGE, "--blocks: --arch %s has no blocks to set (edsr has)", run->arch->name);
  if (opt_blocks != UNSET && (opt_blocks < 1 || opt_blocks > 64))
    return cli_fail ("train", CLI_EXIT_USAGE, "--blocks must be between 1 and 64");
  if (run->batch < 1 || run->batch > 1024)
    return cli_fail ("train", CLI_EXIT_USAGE, "--batch must be between 1 and 1024");
  /* A resumed run keeps its micro-batches, so it goes on as it was on any
   * number of processes that divides them. */
  if (opt_accumulate != UNSET)
    run->micro = opt_accumulate * ranks;
  else if (resumed && meta_int (resumed, "micro_batches") > 0 && meta_int (resumed, "micro_batches") % ranks == 0)
    run->micro = (gint) meta_int (resumed, "micro_batches");
  else
    run->micro = ranks;
  if (run->micro < ranks || run->micro > 1024)
    return cli_fail ("train", CLI_EXIT_USAGE, "--accumulate must be between 1 and %d", 1024 / ranks);
  if (run->batch % run->micro)
    return cli_fail ("train", CLI_EXIT_USAGE, "--batch %d is no %d micro-batches of equal size (%d process%s"
                        " × --accumulate %d)", run->batch, run->micro, ranks, ranks > 1 ? "es" : "",
                        run->micro / ranks);
  if (run->steps < 0 || run->steps > 100000000)
    return cli_fail ("train", CLI_EXIT_USAGE, "--steps must be between 0 and 10⁸");
  if (opt_validate_every < 1 || opt_checkpoint_every < 1 || opt_checkpoint_minutes < 1
      || opt_samples < 1 || opt_samples > 64)
    return cli_fail ("train", CLI_EXIT_USAGE, "--validate-every, --checkpoint-every and --checkpoint-minutes "
                        "must be positive, --samples 1 to 64");

  if (opt_colour_weight != UNSET)
    {
      gfloat rg_of[3], yb_of[3];
      if (!(opt_colour_weight >= 0 && opt_colour_weight <= 1e6))
        return cli_fail ("train", CLI_EXIT_USAGE, "--colour-weight must be between 0 and 10⁶");
      if (opt_colour_weight > 0 && !np_model_target_opponents (run->target, rg_of, yb_of))
        return cli_fail ("train", CLI_EXIT_USAGE, "--colour-weight: the colourfulness term needs the colours "
                         "themselves (--target rgb or chroma), not a %s", np_model_target_option (run->target));
    }
  if (opt_augment && g_strcmp0 (opt_augment, "diff") && g_strcmp0 (opt_augment, "none"))
    return cli_fail ("train", CLI_EXIT_USAGE, "--augment: diff or none, not “%s”", opt_augment);
  if (opt_augment && strcmp (opt_augment, "diff") == 0 && !run->arch->discriminator)
    return cli_fail ("train", CLI_EXIT_USAGE, "--augment diff needs a discriminator of the picture alone "
                     "(--arch dream), not pix2pix's of pairs");
  if (opt_d_norm && g_strcmp0 (opt_d_norm, "spectral") && g_strcmp0 (opt_d_norm, "none"))
    return cli_fail ("train", CLI_EXIT_USAGE, "--d-norm: spectral or none, not “%s”", opt_d_norm);
  if (opt_ema != UNSET && !(opt_ema >= 0 && opt_ema < 1))
    return cli_fail ("train", CLI_EXIT_USAGE, "--ema must be at least 0 and below 1");
  if (opt_lr_decay_from != UNSET && (opt_lr_decay_from < 0 || opt_lr_decay_from > run->steps))
    return cli_fail ("train", CLI_EXIT_USAGE, "--lr-decay-from must be a step from 0 to --steps");

  if (trainer)
    {
      /* The checkpoint's own parameters; the network's shape must agree. */
      const NpTrainParams *p = np_trainer_params (trainer);
      gint64 decay_from = p->decay_end ? p->decay_start : UNSET;
      if ((opt_input || opt_target || opt_arch || opt_ngf != UNSET || opt_ndf != UNSET || opt_blocks != UNSET
           || opt_loss || opt_lr != UNSET || opt_beta1 != UNSET || opt_l1_weight != UNSET || opt_gan_weight != UNSET
           || opt_colour_weight != UNSET || opt_ema != UNSET || opt_augment || opt_d_norm || opt_seed)
          && (g_strcmp0 (input, g_hash_table_lookup (resumed, "input"))
              || g_strcmp0 (target, g_hash_table_lookup (resumed, "target"))
              || g_strcmp0 (arch, resumed_arch (resumed))
              || run->ngf != meta_int (resumed, "ngf") || run->ndf != meta_int (resumed, "ndf")
              || run->blocks != MAX (meta_int (resumed, "blocks"), 0)
              || (opt_loss && np_recon_from_name (opt_loss) != p->recon)
              || (opt_lr != UNSET && opt_lr != p->adam.lr) || (opt_beta1 != UNSET && opt_beta1 != p->adam.beta1)
              || (opt_l1_weight != UNSET && opt_l1_weight != p->recon_weight)
              || (opt_gan_weight != UNSET && opt_gan_weight != p->gan_weight)
              || (opt_colour_weight != UNSET && opt_colour_weight != p->colour_weight)
              || (opt_ema != UNSET && opt_ema != p->ema)
              || (opt_augment && (strcmp (opt_augment, "diff") == 0) != p->augment)
              || (opt_d_norm && (strcmp (opt_d_norm, "spectral") == 0) != p->spectral_norm)
              || (opt_seed && g_ascii_strtoull (opt_seed, NULL, 10) != p->seed)))
        return cli_fail ("train", CLI_EXIT_USAGE,
                            "%s was trained with other options (%s ngf %" G_GINT64_FORMAT " ndf %" G_GINT64_FORMAT
                            ", target %s): a checkpoint resumes only the run it belongs to",
                            opt_resume, (char *) g_hash_table_lookup (resumed, "input"), meta_int (resumed, "ngf"),
                            meta_int (resumed, "ndf"), (char *) g_hash_table_lookup (resumed, "target"));
      if (opt_lr_decay_from != UNSET && opt_lr_decay_from != decay_from)
        return cli_fail ("train", CLI_EXIT_USAGE, "%s was trained with another --lr-decay-from", opt_resume);
      /* More steps move the schedule's end, which is the run from scratch
       * with those steps only while the rate has not started falling. */
      run->params = *p;
      if (p->decay_end && run->steps != p->decay_end)
        {
          if (np_trainer_step_count (trainer) > p->decay_start)
            return cli_fail ("train", CLI_EXIT_USAGE, "%s: its learning rate already falls towards step %"
                                G_GINT64_FORMAT "; a longer run is a new one (more --steps from the start)",
                                opt_resume, p->decay_end);
          run->params.decay_end = run->steps;
          np_trainer_set_schedule (trainer, run->params.decay_start, run->params.decay_end);
        }
      return CLI_EXIT_OK;
    }

  run->params = (NpTrainParams) {
    .adam = { opt_lr != UNSET ? opt_lr : 2e-4, opt_beta1 != UNSET ? opt_beta1 : 0.5, 0.999, 1e-8 },
    /* Cross-entropy is a chroma-bins target's own loss, weighted 1. */
    .recon_weight = opt_l1_weight != UNSET ? opt_l1_weight : bins ? 1 : e->recon_weight,
    .gan_weight = opt_gan_weight != UNSET ? opt_gan_weight : bins ? 0 : e->gan_weight,
    .recon = bins ? NP_RECON_CROSS_ENTROPY : opt_loss ? np_recon_from_name (opt_loss) : e->recon,
    .colour_weight = opt_colour_weight != UNSET ? opt_colour_weight : 0,
    .ema = opt_ema != UNSET ? opt_ema : e->ema,
    .augment = opt_augment ? strcmp (opt_augment, "diff") == 0 : e->augment,
    .spectral_norm = opt_d_norm ? strcmp (opt_d_norm, "spectral") == 0 : e->spectral_norm,
    .target = run->target,
    .init_std = 0.02,
    .seed = opt_seed ? g_ascii_strtoull (opt_seed, NULL, 10) : 1,
    .decay_start = opt_lr_decay_from != UNSET ? opt_lr_decay_from : 0,
    .decay_end = opt_lr_decay_from != UNSET ? run->steps : 0,
  };
  return CLI_EXIT_OK;
}

/* The command that trains this run from scratch, every defining option
 * spelled out: a resumed run equals the run never stopped, and the thread
 * count changes no bit, so it makes the very same model. */
static gchar *
run_command (const Run *run)
{
  const NpTrainParams *p = &run->params;
  gchar lr[G_ASCII_DTOSTR_BUF_SIZE], beta1[G_ASCII_DTOSTR_BUF_SIZE];
  gchar l1[G_ASCII_DTOSTR_BUF_SIZE], gan[G_ASCII_DTOSTR_BUF_SIZE], colour[G_ASCII_DTOSTR_BUF_SIZE];
  gchar ema[G_ASCII_DTOSTR_BUF_SIZE];
  /* Options added since the shipped models were trained are said only when
   * used, so those models' commands read as they did. */
  g_autofree gchar *extra = g_strdup_printf ("%s%s%s%s%s%s%s%s", p->colour_weight > 0 ? " --colour-weight " : "",
                                             p->colour_weight > 0
                                               ? g_ascii_formatd (colour, sizeof colour, "%.15g", p->colour_weight)
                                               : "",
                                             p->ema > 0 ? " --ema " : "",
                                             p->ema > 0 ? g_ascii_formatd (ema, sizeof ema, "%.15g", p->ema) : "",
                                             p->augment ? " --augment diff" : "",
                                             p->spectral_norm ? " --d-norm spectral" : "",
                                             run->init ? " --init " : "", run->init ? run->init : "");
  g_autofree gchar *decay = p->decay_end ? g_strdup_printf (" --lr-decay-from %" G_GINT64_FORMAT, p->decay_start)
                                         : g_strdup ("");
  /* Only another architecture than the input's is said, so a default run's
   * command reads as it did before --arch. */
  g_autofree gchar *arch = run->arch != np_train_arch_find (run->experiment->architecture)
                           ? g_strdup_printf (" --arch %s", run->arch->name) : g_strdup ("");
  g_autofree gchar *blocks = run->blocks ? g_strdup_printf (" --blocks %d", run->blocks) : g_strdup ("");

  /* R processes of K micro-batches are one process of R·K (np_trainer_step). */
  return g_strdup_printf ("neuropaint train %s -o %s --input %s --target %s --ngf %d --ndf %d --batch %d "
                          "--accumulate %d --steps %" G_GINT64_FORMAT " --lr %s --beta1 %s --l1-weight %s "
                          "--gan-weight %s --loss %s --seed %" G_GUINT64_FORMAT " --dtype %s%s%s%s%s",
                          run->dataset, run->output, run->experiment->name,
                          np_model_target_option (run->target), run->ngf, run->ndf, run->batch, run->micro,
                          run->steps, g_ascii_formatd (lr, sizeof lr, "%.15g", p->adam.lr),
                          g_ascii_formatd (beta1, sizeof beta1, "%.15g", p->adam.beta1),
                          g_ascii_formatd (l1, sizeof l1, "%.15g", p->recon_weight),
                          g_ascii_formatd (gan, sizeof gan, "%.15g", p->gan_weight),
                          np_recon_name (p->recon), p->seed,
                          run->dtype == NP_DTYPE_F16 ? "f16" : "f32",
                          decay, arch, blocks, extra);
}

/* The descriptions of G (the run's architecture, giving the target's
 * channels for bins: a chroma-bins target's) and D. */
static gboolean
describe_nets (const Run *run, const gint64 sne[4], const gint64 tne[4], const NpChromaBins *bins, gchar **g,
               gchar **d, GError **error)
{
  g_autoptr(GHashTable) p = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  gint64 src_channels = sne[2], tgt_channels = tne[2];

  if ((*g = run->arch->describe (run->arch, src_channels, np_model_target_channels (run->target, bins), run->ngf,
                                 run->blocks, run->target == NP_MODEL_TARGET_CHROMA_BINS, tne[0], tne[1],
                                 error)) == NULL)
    return FALSE;
  *d = NULL;
  if (run->params.gan_weight <= 0)
    return TRUE;
  if (!np_train_arch_grid (run->arch, tne[0], tne[1], p, error))
    return FALSE;
  /* pix2pix's D judges the pair; where G changes the picture's size (super
   * resolution) the pair does not stack, and D judges the picture alone, as
   * SRGAN's does (in_channels 0). */
  g_hash_table_insert (p, "in_channels", g_strdup_printf ("%" G_GINT64_FORMAT,
                                                          sne[0] == tne[0] && sne[1] == tne[1] ? src_channels : 0));
  g_hash_table_insert (p, "out_channels", g_strdup_printf ("%" G_GINT64_FORMAT, tgt_channels));
  g_hash_table_insert (p, "ndf", g_strdup_printf ("%d", run->ndf));
  g_hash_table_insert (p, "logits", g_strdup ("1"));
  return (*d = np_arch_describe (run->arch->discriminator ? run->arch->discriminator : "patchgan", p, error)) != NULL;
}

/* ---- What a run writes ------------------------------------------------------- */

typedef struct
{
  Run        *run;
  NpDataset  *dataset;
  NpBatcher  *train, *val;
  NpTrainer  *trainer;
  CliGroup    *group;          /* the processes of the run; rank 0 writes */
  NpNet      *eval;           /* G for inference: running statistics, no dropout */
  NpTensor   *source, *target;
  CliHistory  *history;
  CliBaselines baselines;
  gint        threads;
  gchar      *ckpt_path, *csv_path, *plot_path, *grid_path;
  gchar      *command;        /* the command that makes this run, for the model's card */
  gdouble     seconds;        /* training time of earlier sessions */
  gint64      started;        /* this session's start, monotonic µs */
} Train;

static void
train_clear (Train *t)
{
  np_batcher_free (t->train);
  np_batcher_free (t->val);
  np_trainer_free (t->trainer);
  np_net_free (t->eval);
  np_dataset_free (t->dataset);
  np_tensor_free (t->source);
  np_tensor_free (t->target);
  cli_history_free (t->history);
  g_free (t->ckpt_path);
  g_free (t->csv_path);
  g_free (t->plot_path);
  g_free (t->grid_path);
  g_free (t->command);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Train, train_clear)

static gdouble
elapsed (const Train *t)
{
  return t->seconds + (g_get_monotonic_time () - t->started) / 1e6;
}

static NpTensor *
tensor_like (const gint64 ne[4], gint64 n, GError **error)
{
  return np_tensor_new (ne[0], ne[1], ne[2], n, error);
}

/* The photos samples are drawn from: the validation split's, or without
 * one (a dataset made without --val-list) the first training photos. */
static NpBatcher *
shown (const Train *t)
{
  return t->val ? t->val : t->train;
}

/* "input 23.68, mean colour 25.93": the baselines the split has (an
 * experiment without an input picture, like noise, has no input baseline). */
static gchar *
baselines_text (const Train *t, const char *unit)
{
  GString *text = g_string_new (NULL);

  for (int i = 0; i < 2; i++)
    if (!isnan (t->baselines.psnr[i]))
      g_string_append_printf (text, "%s%s %.2f%s", text->len ? ", " : "", t->baselines.name[i],
                              t->baselines.psnr[i], unit);
  return g_string_free (text, FALSE);
}

/* Validation: G (as it will be saved) over the whole validation split,
 * given `hints` hints a photo (a hint input; np_batcher_set_hints), scored
 * as the pictures it stands for against the photos; and (once) the
 * baselines. Fills `samples` columns for the first batch when asked (all
 * there is to do without a validation split). */
static gboolean
validate (Train *t, gint hints, NpScore *score, NpScore base[2], NpTensor *const *samples, GError **error)
{
  gint64 sne[4], tne[4];
  guint  n = MIN ((guint) t->run->batch, np_batcher_size (shown (t)));
  guint  n_val = t->val ? np_batcher_size (t->val) : samples ? n : 0;
  g_autoptr(NpTensor) src = NULL, tgt = NULL, rgb = NULL, photos = NULL;

  np_batcher_shapes (shown (t), (gint) n, sne, tne);
  if ((src = tensor_like (sne, n, error)) == NULL || (tgt = tensor_like (tne, n, error)) == NULL
      || (rgb = np_tensor_new (tne[0], tne[1], 3, n, error)) == NULL
      || (photos = np_tensor_new (tne[0], tne[1], 3, n, error)) == NULL
      || !np_trainer_shipped_generator (t->trainer, t->eval, error))
    return FALSE;

  np_batcher_set_hints (shown (t), hints);
  for (guint first = 0; first < n_val; first += n)
    {
      const NpTensor *inputs[] = { src }, *out;
      /* The last batch wraps round; only its first items count. */
      NpTensor part_rgb = *rgb, part_photos = *photos;
      part_rgb.ne[3] = part_photos.ne[3] = MIN (n, n_val - first);

      np_batcher_items (shown (t), first, 0, src, tgt);
      np_batcher_photos (shown (t), first, photos);
      if ((out = np_net_forward (t->eval, inputs, 1, &(NpCompute) { .n_threads = t->threads }, error)) == NULL)
        return FALSE;
      np_batcher_compose (shown (t), src, out, np_trainer_chroma_bins (t->trainer), rgb);
      if (t->val)
        np_score_add (score, &part_rgb, &part_photos);
      if (first == 0 && samples)
        {
          /* input | output | photo */
          np_batcher_source_picture (shown (t), src, samples[0]);
          memcpy (samples[1]->data, rgb->data, np_tensor_n_elements (samples[1]) * sizeof (gfloat));
          memcpy (samples[2]->data, photos->data, np_tensor_n_elements (samples[2]) * sizeof (gfloat));
        }
      if (base && t->val)
        {
          if (np_batcher_baseline_input (t->val, src, rgb))
            np_score_add (&base[0], &part_rgb, &part_photos);
          np_batcher_baseline_mean (t->val, t->train, src, rgb);
          np_score_add (&base[1], &part_rgb, &part_photos);
        }
    }
  np_batcher_set_hints (shown (t), 0);
  return TRUE;
}

/* The hint counts validation scores a hint model with besides none, as
 * Zhang et al. 2017 report theirs. */
static const gint hint_counts[] = { 2, 10 };

/* ", hints 2: 27.10 dB, 10: 29.40 dB" for a hint input: the same photos
 * with that many 5×5 hints each; "" for other inputs. */
static gchar *
validate_hints (Train *t, GError **error)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; t->val && t->run->experiment->source == NP_SOURCE_HINTS && i < G_N_ELEMENTS (hint_counts); i++)
    {
      NpScore score = { 0 };
      if (!validate (t, hint_counts[i], &score, NULL, NULL, error))
        {
          g_string_free (text, TRUE);
          return NULL;
        }
      g_string_append_printf (text, "%s%d: %.2f dB", i ? ", " : ", hints ", hint_counts[i], np_score_psnr (&score));
    }
  return g_string_free (text, FALSE);
}

/* The model file: the inference copy of G with what the generator op needs
 * to run it alone (input filter, size, target) and how it was made. */
static gboolean
save_model (Train *t, GError **error)
{
  const Run            *run = t->run;
  g_autoptr(GHashTable) params = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  /* The filter's parameters as the dataset applied them, so inference
   * filters the same way. */
  GHashTable           *filter = np_dataset_filter_params (t->dataset, run->experiment->input_filter);
  gint64                sne[4], tne[4];
  NpModelInfo           info;

  /* The size it makes: the dataset's, or (a shrunk target) less. */
  np_batcher_shapes (t->train, 1, sne, tne);
  info = (NpModelInfo) {
    .input_filter = run->experiment->input_filter,
    .params = params,
    .width = tne[0],
    .height = tne[1],
    .normalization = "x/127.5-1",
    .target = run->target,
    .architecture = run->arch->name,
    .hints = run->experiment->source == NP_SOURCE_HINTS,
    .bins = (NpChromaBins *) np_trainer_chroma_bins (t->trainer),
    .experiment = run->experiment->name,
    .trained_with = t->command,
    .trained_from = t->run->init_made_by,
    .trained_steps = np_trainer_step_count (t->trainer),
    .trained_batch = run->batch,
  };

  if (filter)
    {
      GHashTableIter iter;
      gpointer       key, value;
      g_hash_table_iter_init (&iter, filter);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_hash_table_insert (params, key, g_strdup (value));
    }
  /* The architecture's numbers, for `neuropaint info` (the description
   * itself travels in "graph"). */
  g_hash_table_insert (params, (gpointer) run->arch->width_key, g_strdup_printf ("%d", run->ngf));
  if (run->blocks)
    g_hash_table_insert (params, (gpointer) run->arch->depth_key, g_strdup_printf ("%d", run->blocks));
  return np_trainer_shipped_generator (t->trainer, t->eval, error)
         && np_model_save (t->eval, &info, run->output, run->dtype, error);
}

static gboolean
save_checkpoint (Train *t, GError **error)
{
  g_autoptr(GHashTable) meta = run_to_metadata (t->run, elapsed (t));

  return np_trainer_save (t->trainer, t->ckpt_path, meta, error) && save_model (t, error)
         && cli_history_save (t->history, t->csv_path, error);
}

/* ---- Signals: finish the step, checkpoint, stop ---------------------------- */

static volatile sig_atomic_t stop_signal;

static void
on_signal (int signum)
{
  stop_signal = signum;
}

/* While training, the signals that end a run (Ctrl-C, kill, a closed
 * terminal or ssh session, Ctrl-\, and SIGUSR1, which Slurm's
 * --signal=B:USR1@120 sends before the time limit) only raise the flag;
 * before and after, whatever handled them before (NpOutput's clean-up) does
 * again. An ignored one (nohup's SIGHUP) stays ignored. */
static void
catch_signals (gboolean on)
{
  static const int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 };
  static struct sigaction before[G_N_ELEMENTS (signals)];
  struct sigaction sa = { 0 };

  sa.sa_handler = on_signal;
  sigemptyset (&sa.sa_mask);
  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    if (on)
      {
        sigaction (signals[i], NULL, &before[i]);
        if (before[i].sa_handler != SIG_IGN)
          sigaction (signals[i], &sa, NULL);
      }
    else
      sigaction (signals[i], &before[i], NULL);
}

/* ---- The loop ------------------------------------------------------------------ */

static int
train_loop (Train *t)
{
  g_autoptr(GError) error = NULL;
  const Run  *run = t->run;
  gint        rank = cli_group_rank (t->group), ranks = cli_group_size (t->group);
  gboolean    writer = rank == 0;
  gint64      last_ckpt = g_get_monotonic_time (), first_step = np_trainer_step_count (t->trainer);
  CliProgress *progress = writer ? cli_progress_new ("train", (gsize) MAX (run->steps - first_step, 0)) : NULL;
  g_autoptr(NpTensor) s_in = NULL, s_out = NULL, s_photo = NULL;
  gint64      tne[4], sne[4];
  gint        shown_n = (gint) MIN ((guint) run->batch, np_batcher_size (shown (t)));
  gint        rows = MIN (opt_samples, shown_n);
  int         code = CLI_EXIT_OK;

  np_batcher_shapes (shown (t), rows, sne, tne);
  s_in = np_tensor_new (tne[0], tne[1], 3, shown_n, &error);
  s_out = np_tensor_new (tne[0], tne[1], 3, s_in ? s_in->ne[3] : 1, &error);
  s_photo = np_tensor_new (tne[0], tne[1], 3, s_in ? s_in->ne[3] : 1, &error);
  if (s_photo == NULL)
    return cli_fail_error ("train", g_steal_pointer (&error));

  catch_signals (TRUE);
  while (np_trainer_step_count (t->trainer) < run->steps)
    {
      gint64        step = np_trainer_step_count (t->trainer);
      NpTrainLosses losses;
      CliHistoryRow  row;
      gchar         label[128];

      /* A batch (this process's part of it), a step. */
      np_batcher_random (t->train, np_trainer_key (t->trainer, step, NP_TRAIN_STREAM_BATCH),
                         (gint64) rank * t->source->ne[3], t->source, t->target);
      if (!np_trainer_step (t->trainer, t->source, t->target, run->micro / ranks, t->threads, &losses, &error))
        {
          code = cli_fail_error ("train", g_steal_pointer (&error));
          break;
        }
      row = (CliHistoryRow) { step + 1, elapsed (t), losses, NAN, NAN, NAN };
      g_snprintf (label, sizeof label, "%.2f step/s  G %.4f  D %.3f",
                  (step + 1 - first_step) / MAX (1e-3, (g_get_monotonic_time () - t->started) / 1e6),
                  losses.g_recon, (losses.d_real + losses.d_fake) / 2);
      if (progress)
        cli_progress_step (progress, label);

      /* Validation, samples and the history plot (the writer's). */
      if (writer && ((step + 1) % opt_validate_every == 0 || step + 1 == run->steps))
        {
          NpScore   score = { 0 };
          NpTensor *columns[] = { s_in, s_out, s_photo };
          g_autofree gchar *hints = NULL;

          if (!validate (t, 0, &score, NULL, columns, &error)
              || !cli_grid_save (columns, 3, rows, t->grid_path, &error)
              || (hints = validate_hints (t, &error)) == NULL)
            code = cli_fail_error ("train", g_steal_pointer (&error));
          g_print ("step %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "  %.0f s  G %.4f  D %.3f", step + 1,
                   run->steps, row.seconds, losses.g_recon, (losses.d_real + losses.d_fake) / 2);
          if (t->val)
            {
              g_autofree gchar *baselines = baselines_text (t, "");

              row.val_l1 = np_score_l1 (&score), row.val_psnr = np_score_psnr (&score);
              row.val_colourfulness = np_score_colourfulness (&score);
              g_print ("  val L1 %.2f PSNR %.2f dB%s (%s), colourfulness %.1f of the photos' %.1f", row.val_l1,
                       row.val_psnr, hints ? hints : "", baselines, row.val_colourfulness,
                       t->baselines.photo_colourfulness);
            }
          g_print ("\n");
        }
      cli_history_add (t->history, &row);
      if (writer && code == CLI_EXIT_OK && (step + 1) % opt_validate_every == 0
          && !cli_history_plot (t->history, &t->baselines, t->plot_path, &error))
        code = cli_fail_error ("train", g_steal_pointer (&error));

      /* Checkpoints: every so many steps and minutes. */
      if (writer && code == CLI_EXIT_OK
          && ((step + 1) % opt_checkpoint_every == 0
              || g_get_monotonic_time () - last_ckpt > opt_checkpoint_minutes * G_GINT64_CONSTANT (60000000)))
        {
          if (!save_checkpoint (t, &error))
            code = cli_fail_error ("train", g_steal_pointer (&error));
          last_ckpt = g_get_monotonic_time ();
        }

      /* Every process stops at the same step: after a signal to any of
       * them (they come at different moments), or a failure of the writer. */
      if (cli_group_any (t->group, stop_signal != 0 || code != CLI_EXIT_OK))
        break;
    }
  cli_progress_free (progress);

  /* The end, an interruption or a failed step: keep what was learnt. */
  if (writer && (!save_checkpoint (t, &error) || !cli_history_plot (t->history, &t->baselines, t->plot_path, &error)))
    code = cli_fail_error ("train", g_steal_pointer (&error));
  catch_signals (FALSE);
  if (!writer)
    return code == CLI_EXIT_OK && np_trainer_step_count (t->trainer) < run->steps ? CLI_EXIT_STOPPED : code;
  if (ranks > 1)
    g_print ("%d processes: %.3f s a step summing gradients\n", ranks,
             cli_group_sum_seconds (t->group) / MAX (1, np_trainer_step_count (t->trainer) - first_step));
  /* Stopped whole: a status of its own, so a job script can requeue. */
  if (code == CLI_EXIT_OK && np_trainer_step_count (t->trainer) < run->steps)
    return cli_fail ("train", CLI_EXIT_STOPPED, "stopped by a signal at step %" G_GINT64_FORMAT
                        "; continue with: %sneuropaint train --resume %s", np_trainer_step_count (t->trainer),
                        ranks > 1 ? "mpirun … " : "", t->ckpt_path);
  if (code == CLI_EXIT_OK)
    g_print ("%s: %" G_GINT64_FORMAT " steps in %.0f s; checkpoint %s, history %s\n", run->output,
             np_trainer_step_count (t->trainer), elapsed (t), t->ckpt_path, t->plot_path);
  return code;
}

/* Every file the run writes can be made, found now rather than after hours
 * of training: a temporary file of each in its folder, removed again. */
static gboolean
outputs_writable (const Train *t, GError **error)
{
  const char *paths[] = { t->run->output, t->ckpt_path, t->csv_path, t->plot_path, t->grid_path };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr(NpOutput) probe = np_output_new (paths[i], error);
      if (probe == NULL)
        return FALSE;
    }
  return TRUE;
}

/* Scores the trivial baselines on the validation split and says what the
 * run is. */
static gboolean
baselines (Train *t, GError **error)
{
  NpScore score = { 0 }, base[2] = { { 0 } };

  if (!validate (t, 0, &score, base, NULL, error))
    return FALSE;
  for (int i = 0; i < 2; i++)
    {
      t->baselines.psnr[i] = base[i].pictures ? np_score_psnr (&base[i]) : NAN;
      t->baselines.l1[i] = base[i].pictures ? np_score_l1 (&base[i]) : NAN;
    }
  /* An experiment without an input baseline (its score stays NaN) never
   * shows the name. */
  t->baselines.name[0] = t->run->experiment->input_baseline ? t->run->experiment->input_baseline : "input";
  t->baselines.name[1] = "mean colour";
  t->baselines.photo_colourfulness = np_score_photo_colourfulness (&score);
  g_print ("%s: %u training and %u validation photos, %s → %s, %" G_GINT64_FORMAT " parameters in G",
           t->run->dataset, np_batcher_size (t->train), t->val ? np_batcher_size (t->val) : 0,
           t->run->experiment->name, np_model_target_option (t->run->target),
           np_net_n_parameters (np_trainer_generator (t->trainer), FALSE));
  if (t->val)
    {
      g_autofree gchar *baselines = baselines_text (t, " dB");

      g_print ("; baselines: %s", baselines);
    }
  g_print ("\n");
  return TRUE;
}

/* ---- Set-up ----------------------------------------------------------------------- */

static gchar *
beside (const char *model, const char *suffix)
{
  const char *dot = g_str_has_suffix (model, ".safetensors") ? model + strlen (model) - 12 : NULL;
  g_autofree gchar *stem = dot ? g_strndup (model, dot - model) : g_strdup (model);
  return g_strconcat (stem, suffix, NULL);
}

int
cli_cmd_train (int argc, char **argv, gboolean do_help)
{
  /* Left last: MPI_Finalize after everything else. */
  g_autoptr(CliGroup) group = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) resumed = NULL;
  g_auto(Run) run = { 0 };
  g_auto(Train) t = { 0 };
  g_autofree gchar *g_desc = NULL, *d_desc = NULL;
  g_autoptr(NpChromaBins) bins = NULL;
  gint64 sne[4], tne[4];
  gboolean ok;
  int    code;

  if (!cli_parse ("train", "DATASET",
                     "Train a generator on a dataset made by “neuropaint prepare”.",
                     "Every experiment of the seed is an --input; the default recipe is the seed's pix2pix\n"
                     "(U-Net G, PatchGAN D on logits, 100·L1 + GAN, Adam 2e-4, β1 0.5, random flips).\n"
                     "--gan-weight 0 trains G alone (no D), --target chroma keeps the input's luminance,\n"
                     "--target chroma-bins too, classifying each pixel's colour for vivid colour (docs/models.md).\n"
                     "Writes MODEL (runs in neuropaint:generator as it is), STEM.ckpt (resume with --resume),\n"
                     "STEM.history.csv and .png (losses, validation PSNR against the trivial baselines)\n"
                     "and STEM.samples.png (input | output | photo). Ctrl-C finishes the step, checkpoints\n"
                     "and stops; the same seed gives the same losses on any thread count.\n"
                     "Under MPI (mpirun -np R neuropaint train …) each of the R processes takes its part of\n"
                     "every batch and their gradients are summed in a fixed order; rank 0 writes. R processes\n"
                     "with --accumulate K give one process's --accumulate R·K (docs/scale-out.md).\n"
                     "Example: neuropaint train faces/ -o gray2color.safetensors --input gray --target chroma \\\n"
                     "           --gan-weight 0 --ngf 32 --batch 8 --steps 3000\n"
                     "         neuropaint train --resume gray2color.ckpt --steps 6000",
                     entries, &argc, &argv, do_help, &code))
    return code;

  if ((group = cli_group_new (&error)) == NULL)
    return cli_fail_error ("train", g_steal_pointer (&error));
  if (opt_resume)
    {
      if ((t.trainer = np_trainer_load (opt_resume, &resumed, &error)) == NULL)
        return cli_fail_error ("train", g_steal_pointer (&error));
    }
  else if (opt_output == NULL)
    return cli_fail ("train", CLI_EXIT_USAGE, "--output MODEL is required");
  if (opt_dataset && opt_dataset[1])
    return cli_fail ("train", CLI_EXIT_USAGE, "one dataset at a time");
  run.dataset = g_strdup (opt_dataset ? opt_dataset[0] : resumed ? g_hash_table_lookup (resumed, "dataset") : NULL);
  run.output = g_strdup (opt_output ? opt_output : resumed ? g_hash_table_lookup (resumed, "output") : NULL);
  if (run.dataset == NULL || run.output == NULL)
    return cli_fail ("train", CLI_EXIT_USAGE, "name a DATASET (made by neuropaint prepare)");
  if (!g_str_has_suffix (run.output, ".safetensors"))
    return cli_fail ("train", CLI_EXIT_USAGE, "--output: a .safetensors file, not “%s”", run.output);
  if (opt_init && resumed)
    return cli_fail ("train", CLI_EXIT_USAGE, "--init starts a run; --resume goes on with one");
  run.init = g_strdup (opt_init ? opt_init : resumed ? g_hash_table_lookup (resumed, "init") : NULL);
  /* Read from the checkpoint, not the file, which may have changed since. */
  run.init_made_by = g_strdup (resumed ? g_hash_table_lookup (resumed, "init_made_by") : NULL);
  if ((code = resolve_run (&run, resumed, t.trainer, cli_group_size (group))) != CLI_EXIT_OK)
    return code;

  t.run = &run;
  t.group = group;
  /* The processors are shared among the processes on this machine. */
  t.threads = cli_threads_option > 0 ? MIN (cli_threads_option, 256)
                              : MAX (1, cli_threads () / cli_group_local_size (group));
  t.command = run_command (&run);
  t.ckpt_path = beside (run.output, ".ckpt");
  t.csv_path = beside (run.output, ".history.csv");
  t.plot_path = beside (run.output, ".history.png");
  t.grid_path = beside (run.output, ".samples.png");
  t.history = cli_history_new ();
  if ((t.dataset = np_dataset_open (run.dataset, &error)) == NULL
      || (t.train = np_batcher_new (t.dataset, run.experiment, run.target, NP_SPLIT_TRAIN, &error)) == NULL
      || (t.val = np_batcher_new (t.dataset, run.experiment, run.target, NP_SPLIT_VAL, &error)) == NULL)
    {
      /* The training split works, so the validation split is empty: said
       * once, by the writer, not by every rank. */
      if (t.train == NULL)
        return cli_fail_error ("train", g_steal_pointer (&error));
      if (cli_group_rank (group) == 0)
        g_printerr ("neuropaint train: warning: %s: no validation scores (prepare --val-list makes a "
                    "validation split)\n", error->message);
      g_clear_error (&error);
    }

  np_batcher_shapes (t.train, run.batch, sne, tne);
  /* A chroma-bins target's classes: the training photos' (a resumed run's
   * checkpoint holds them, found from the same photos). */
  if (run.target == NP_MODEL_TARGET_CHROMA_BINS && t.trainer == NULL
      && (bins = np_batcher_chroma_bins (t.train, &error)) == NULL)
    return cli_fail_error ("train", g_steal_pointer (&error));
  if (!describe_nets (&run, sne, tne, t.trainer ? np_trainer_chroma_bins (t.trainer) : bins, &g_desc,
                      &d_desc, &error))
    return cli_fail_error ("train", g_steal_pointer (&error));
  if (t.trainer == NULL && (t.trainer = np_trainer_new (g_desc, d_desc, &run.params, &error)) == NULL)
    return cli_fail_error ("train", g_steal_pointer (&error));
  if (bins)
    np_trainer_set_chroma_bins (t.trainer, bins);
  if (opt_init)
    {
      g_autoptr(NpModel) init = np_model_load (opt_init, &error);
      g_autofree gchar  *init_bins = init && np_model_info (init)->bins
                                     ? np_chroma_bins_centres_text (np_model_info (init)->bins) : NULL;
      g_autofree gchar  *run_bins = bins ? np_chroma_bins_centres_text (bins) : NULL;

      if (init == NULL)
        return cli_fail_error ("train", g_steal_pointer (&error));
      run.init_made_by = init_made_by (np_model_info (init), opt_init);
      if (!np_net_copy_params (np_trainer_generator (t.trainer), np_model_net (init), NULL))
        {
          /* Another head on the same trunk, or a first layer that reads
           * more (hints beside the gray). */
          g_autoptr(GPtrArray) left = g_ptr_array_new_with_free_func (g_free);
          g_autoptr(GPtrArray) widened = g_ptr_array_new_with_free_func (g_free);
          gboolean             head_only = TRUE;

          np_net_copy_matching_params (np_trainer_generator (t.trainer), np_model_net (init), left, widened);
          for (guint i = 0; i < left->len; i++)
            head_only = head_only && g_str_has_prefix (left->pdata[i], "out.");
          if (!head_only || left->len + widened->len == 0)
            return cli_fail ("train", CLI_EXIT_USAGE, "--init %s: another network than this dataset and these "
                             "options make (--input, --target, --arch, --ngf), beyond its last layer and its "
                             "inputs", opt_init);
          if (left->len)
            g_printerr ("neuropaint train: --init %s: every layer but the last (out), which starts random\n",
                        opt_init);
          for (guint i = 0; i < widened->len; i++)
            g_printerr ("neuropaint train: --init %s: %s reads the new input channels with zero weights, so "
                        "the run starts from what the model computed\n", opt_init, (char *) widened->pdata[i]);
        }
      /* Logits of the same count may stand for other bins (a head left
       * random stands for none). */
      else if (g_strcmp0 (init_bins, run_bins) != 0)
        return cli_fail ("train", CLI_EXIT_USAGE, "--init %s: its chroma bins are not this dataset's", opt_init);
    }
  np_trainer_set_group (t.trainer, cli_group_rank (group), cli_group_size (group), cli_group_sum, group);
  if (g_strcmp0 (np_net_description (np_trainer_generator (t.trainer)), g_desc) != 0)
    return cli_fail ("train", CLI_EXIT_USAGE, "%s holds another architecture than this dataset and these "
                        "options make", opt_resume);
  /* An architecture that scales its input as the experiment's pairs do (a
   * chroma-bins target's logits are at half the size), or one that makes
   * pictures from a latent vector for a latent source (the size it makes is
   * checked against the target's at the first step). */
  if (run.arch->from_latent != (run.experiment->source == NP_SOURCE_LATENT))
    return cli_fail ("train", CLI_EXIT_USAGE, "--arch %s makes pictures from %s; the %s input is %s", run.arch->name,
                     run.arch->from_latent ? "a latent vector" : "pictures", run.experiment->name,
                     run.experiment->source == NP_SOURCE_LATENT ? "a latent vector" : "a picture");
  if (!run.arch->from_latent && np_net_output_scale (np_trainer_generator (t.trainer)) * sne[0]
                                != tne[0] / (run.target == NP_MODEL_TARGET_CHROMA_BINS ? 2 : 1))
    return cli_fail ("train", CLI_EXIT_USAGE, "--arch %s makes pictures %g× its input's size; the %s input "
                        "asks for %g×", run.arch->name, np_net_output_scale (np_trainer_generator (t.trainer)),
                        run.experiment->name, (gdouble) tne[0] / sne[0]);
  if (resumed)
    {
      const char *seconds = g_hash_table_lookup (resumed, "seconds");
      t.seconds = seconds ? g_ascii_strtod (seconds, NULL) : 0;
      if (g_file_test (t.csv_path, G_FILE_TEST_EXISTS)
          && !cli_history_load (t.history, t.csv_path, np_trainer_step_count (t.trainer), &error))
        return cli_fail_error ("train", g_steal_pointer (&error));
    }
  if ((t.eval = np_net_new (g_desc, &error)) == NULL
      || (t.source = tensor_like (sne, run.batch / cli_group_size (group), &error)) == NULL
      || (t.target = tensor_like (tne, run.batch / cli_group_size (group), &error)) == NULL)
    return cli_fail_error ("train", g_steal_pointer (&error));

  /* The outputs and the baselines, once, by the writer; every rank learns
   * whether it could. */
  ok = cli_group_rank (group) != 0 || (outputs_writable (&t, &error) && baselines (&t, &error));
  if (cli_group_any (group, !ok))
    return ok ? CLI_EXIT_FAILED : cli_fail_error ("train", g_steal_pointer (&error));

  t.started = g_get_monotonic_time ();
  return train_loop (&t);
}
