/* neuropaint — benchmark of one full training step, so the figure compares
 * with PyTorch's (bench/bench_train.py):
 * - train-step: the seed's U-Net (--ngf, 3 channels in and out) against a
 *   PatchGAN with ndf = ngf on logits, a batch of --batch random pairs at
 *   --size (default 256×320), pix2pix's D and G updates with Adam;
 * - sr-train-step: the seed's super-resolution net (--ngf features) on
 *   --batch pictures of half --size, MSE against --size, Adam. */
#include "config.h"
#include "bench.h"
#include "neuropaint.h"

#include <sys/resource.h>

typedef struct
{
  NpTrainer *trainer;
  NpTensor  *source, *target;
  gint       threads;
  double     flops;
} CliTrainBench;

/* PatchGAN on logits, ndf wide. */
static gchar *
describe_d (gint ndf, GError **error)
{
  g_autoptr(GHashTable) params = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  g_hash_table_insert (params, "ndf", g_strdup_printf ("%d", ndf));
  g_hash_table_insert (params, "logits", g_strdup ("1"));
  return np_arch_describe ("patchgan", params, error);
}

gpointer
cli_bench_train_setup (const CliBench *bench, const CliBenchCommon *common, GError **error)
{
  /* The experiments' own recipes: the autoencoder's (3 channels each way)
   * and super resolution's. */
  const NpExperiment *e = np_experiment_find (g_str_equal (bench->name, "sr-train-step") ? "lowres" : "identity");
  const NpTrainArch  *arch = np_train_arch_find (e->architecture);
  gboolean      gan = e->gan_weight > 0;
  gint          width = common->width ? common->width : 256, height = common->height ? common->height : 320;
  g_autofree gchar *g = arch->describe (arch, 3, 3, common->ngf, 0, FALSE, width, height, error);
  g_autofree gchar *d = g && gan ? describe_d (common->ngf, error) : NULL;
  NpTrainParams params = { .adam = { 2e-4, 0.5, 0.999, 1e-8 }, .recon_weight = e->recon_weight,
                           .gan_weight = e->gan_weight, .recon = e->recon, .init_std = 0.02, .seed = 1 };
  gint          scale = e->source == NP_SOURCE_HALF ? 2 : 1;
  g_autoptr(NpTrainer) trainer = NULL;
  CliTrainBench *state;

  if (g == NULL || (gan && d == NULL) || (trainer = np_trainer_new (g, d, &params, error)) == NULL)
    return NULL;
  state = g_new0 (CliTrainBench, 1);
  state->trainer = g_steal_pointer (&trainer);
  state->threads = common->threads;
  state->source = np_tensor_new (width / scale, height / scale, 3, common->batch, error);
  state->target = state->source ? np_tensor_new (width, height, 3, common->batch, error) : NULL;
  if (state->target == NULL)
    {
      cli_bench_train_teardown (state);
      return NULL;
    }
  for (gint64 i = 0; i < np_tensor_n_elements (state->source); i++)
    state->source->data[i] = (i % 509) / 254.5f - 1;
  for (gint64 i = 0; i < np_tensor_n_elements (state->target); i++)
    state->target->data[i] = (i % 311) / 155.5f - 1;
  /* Forward of G and of D once each: G's step runs forward and backward
   * (≈ 3 forwards); D's runs 3 forwards and 2 backwards with weight
   * gradients (≈ 2 forwards each) plus one without (≈ 1): ≈ 8 forwards, minus
   * the input gradient of D's first layer nobody asks for. */
  state->flops = 3 * np_net_flops (np_trainer_generator (state->trainer), width / scale, height / scale,
                                   common->batch);
  if (gan)
    state->flops += 8 * np_net_flops (np_trainer_discriminator (state->trainer), width, height, common->batch);
  /* Shape errors surface here, not while timing. */
  if (!np_trainer_step (state->trainer, state->source, state->target, 1, state->threads, NULL, error))
    {
      cli_bench_train_teardown (state);
      return NULL;
    }
  return state;
}

void
cli_bench_train_run (gpointer data)
{
  CliTrainBench *state = data;
  np_trainer_step (state->trainer, state->source, state->target, 1, state->threads, NULL, NULL);
}

void
cli_bench_train_report (gpointer data, double median_ms, GString *json)
{
  CliTrainBench *state = data;
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  g_string_append_printf (json, "\"width\": %" G_GINT64_FORMAT ", \"height\": %" G_GINT64_FORMAT
                          ", \"batch\": %" G_GINT64_FORMAT ", \"gflop\": %.1f, \"gflops\": %.1f"
                          ", \"peak_rss_mb\": %.0f, ",
                          state->target->ne[0], state->target->ne[1], state->target->ne[3],
                          state->flops / 1e9, state->flops / 1e6 / median_ms, usage.ru_maxrss / 1024.0);
}

void
cli_bench_train_teardown (gpointer data)
{
  CliTrainBench *state = data;
  np_trainer_free (state->trainer);
  np_tensor_free (state->source);
  np_tensor_free (state->target);
  g_free (state);
}
