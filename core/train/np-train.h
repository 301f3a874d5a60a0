/* neuropaint — training generators.
 *
 * The seed's pix2pix step (Isola et al., "Image-to-image translation with
 * conditional adversarial networks", 2017), read top to bottom as llm.c's
 * training loop reads:
 *
 *   fake = G(src)
 *   D:  zero_grad; BCE(D(src, fake), 0)·½ backward; BCE(D(src, real), 1)·½
 *       backward; Adam
 *   G:  BCE(D(src, fake), 1)·gan_weight through the frozen D, plus
 *       recon_weight·L1(fake, real) (or MSE); zero_grad; backward; Adam
 *
 * With gan_weight 0 there is no discriminator: G learns from the
 * reconstruction term alone. Every random number of a step (dropout masks
 * here; the batch, flips and noise in batch.c) is a pure function of the
 * seed and the step number, so a resumed run continues bit for bit, and the
 * losses of a seed are the same for any thread count.
 *
 *   g_autoptr(NpTrainer) t = np_trainer_new (g_desc, d_desc, &params, &error);
 *   while (np_trainer_step_count (t) < steps)
 *     {
 *       ... fill src and real for step np_trainer_step_count (t) ...
 *       np_trainer_step (t, src, real, n_threads, &losses, &error);
 *     }
 *   np_trainer_save (t, "run.ckpt", NULL, &error);
 */
#pragma once

#include "nn/np-nn.h"

G_BEGIN_DECLS

typedef enum
{
  NP_RECON_L1,
  NP_RECON_MSE,
} NpRecon;

typedef struct
{
  NpAdamParams adam;           /* both networks (the seed: 2e-4, β1 0.5) */
  gdouble      recon_weight;   /* the seed's 100 (·L1) */
  gdouble      gan_weight;     /* the seed's 1; 0: no discriminator */
  NpRecon      recon;
  gdouble      init_std;       /* weights N(0, init_std): the seed's 0.02 */
  guint64      seed;
} NpTrainParams;

typedef struct
{
  gdouble d_real, d_fake;      /* the discriminator's BCE on real and fake pairs */
  gdouble g_gan, g_recon;      /* the generator's adversarial and reconstruction terms */
} NpTrainLosses;

typedef struct _NpTrainer NpTrainer;

/* A generator (and a discriminator of (source, output) pairs on logits, when
 * params->gan_weight > 0) from network descriptions, initialised from the
 * seed, in training mode (batch norm on batch statistics). */
NpTrainer     *np_trainer_new            (const char *generator, const char *discriminator,
                                          const NpTrainParams *params, GError **error);
void           np_trainer_free           (NpTrainer *trainer);

/* One step on a batch (NCHW tensors in [-1, 1]; target shaped as the
 * generator's output). Allocates only at the first step or when the shapes
 * change. */
gboolean       np_trainer_step           (NpTrainer *trainer, const NpTensor *source,
                                          const NpTensor *target, gint n_threads,
                                          NpTrainLosses *losses, GError **error);

/* Steps taken so far. */
gint64         np_trainer_step_count     (const NpTrainer *trainer);
const NpTrainParams *np_trainer_params   (const NpTrainer *trainer);
/* The networks (the trainer keeps them); the discriminator is NULL when
 * there is none. */
NpNet         *np_trainer_generator      (NpTrainer *trainer);
NpNet         *np_trainer_discriminator  (NpTrainer *trainer);
/* A key for random numbers of step `step` (the stream tells uses apart), a
 * pure function of the seed. */
guint64        np_trainer_key            (const NpTrainer *trainer, gint64 step, guint stream);

/* Checkpoints: one safetensors file with both networks (parameters and
 * running statistics), both optimisers' moments and step counts, the step,
 * the seed and the parameters, plus the caller's string metadata (its
 * options, to resume with), written atomically. Loading checks everything
 * and returns the caller's metadata in *metadata. */
gboolean       np_trainer_save           (NpTrainer *trainer, const char *path,
                                          GHashTable *metadata, GError **error);
NpTrainer     *np_trainer_load           (const char *path, GHashTable **metadata,
                                          GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpTrainer, np_trainer_free)

G_END_DECLS
