/* neuropaint — the training step (pix2pix, or a generator alone) and its
 * checkpoints. */
#include "np-train.h"
#include "util/np-rng.h"

#include <math.h>
#include <string.h>

#define CHECKPOINT_FORMAT "neuropaint-checkpoint"

/* Streams of np_trainer_key used here. */
enum
{
  STREAM_INIT_G = 100,
  STREAM_INIT_D,
  STREAM_DROPOUT,
  STREAM_AUGMENT_FAKE,   /* DiffAugment's draws: D's fake pictures, */
  STREAM_AUGMENT_REAL,   /* its real ones, */
  STREAM_AUGMENT_G,      /* and the fake ones of G's term */
  STREAM_INIT_SN,        /* spectral norm's first u */
};

/* A weight of D under spectral norm: out × in rows at offset in D's
 * trainable block, its u and v at u_at, v_at of the trainer's blocks. */
typedef struct
{
  gsize   offset, u_at, v_at;
  gint64  rows, cols;
  gdouble sigma;
} SnWeight;

struct _NpTrainer
{
  NpTrainParams p;
  gint64        step;
  NpNet        *g, *d;           /* d: NULL without a GAN term */
  NpAdam       *adam_g, *adam_d;
  NpTensor     *d_fake;          /* d(loss)/d(G's output) */
  NpTensor     *d_logits;        /* d(loss)/d(D's output) */
  NpTensor     *augmented;       /* what D sees with p.augment */
  GArray       *sn;              /* SnWeight: D's weights under spectral norm */
  gfloat       *sn_u, *sn_v;     /* their vectors */
  gfloat       *d_raw;           /* D's trainable block while it holds W/σ */
  gfloat       *ema;             /* G's parameter block averaged (p.ema > 0) */
  NpTreeSum    *sum_g, *sum_d;   /* micro-batches' gradients */
  gint          rank, n_ranks;   /* np_trainer_set_group */
  NpTrainSumFunc group_sum;
  gpointer      group_data;
  NpChromaBins *bins;            /* a chroma-bins target's (np_trainer_set_chroma_bins) */
};

void
np_trainer_free (NpTrainer *t)
{
  if (t == NULL)
    return;
  np_net_free (t->g);
  np_net_free (t->d);
  np_adam_free (t->adam_g);
  np_adam_free (t->adam_d);
  np_tensor_free (t->d_fake);
  np_tensor_free (t->d_logits);
  np_tensor_free (t->augmented);
  if (t->sn)
    g_array_unref (t->sn);
  g_free (t->sn_u);
  g_free (t->sn_v);
  g_free (t->d_raw);
  g_free (t->ema);
  np_tree_sum_free (t->sum_g);
  np_tree_sum_free (t->sum_d);
  np_chroma_bins_free (t->bins);
  g_free (t);
}

/* ---- Spectral norm on D ------------------------------------------------------ */

typedef struct
{
  NpNet  *d;
  GArray *sn;
  gsize   n_u, n_v;
} SnFind;

static void
find_normalised (const char *name, NpTensor *t, gboolean trainable, gpointer data)
{
  SnFind  *f = data;
  gint64   rows = trainable ? np_net_weight_rows (f->d, name) : 0;
  SnWeight w;

  if (rows <= 0)
    return;
  w.offset = (gsize) (t->data - np_net_trainable (f->d));
  w.rows = rows, w.cols = np_tensor_n_elements (t) / rows;
  w.u_at = f->n_u, w.v_at = f->n_v, w.sigma = 1;
  f->n_u += (gsize) w.rows, f->n_v += (gsize) w.cols;
  g_array_append_val (f->sn, w);
}

/* x / max(‖x‖, 1e-12), PyTorch's normalize. */
static void
normalise (gfloat *x, gint64 n)
{
  double sum = 0;

  for (gint64 i = 0; i < n; i++)
    sum += (double) x[i] * x[i];
  sum = MAX (sqrt (sum), 1e-12);
  for (gint64 i = 0; i < n; i++)
    x[i] = (gfloat) (x[i] / sum);
}

/* D's weights under spectral norm, their u from `key` (N(0, 1),
 * normalised, as PyTorch starts it) and v zero. */
static void
sn_setup (NpTrainer *t, guint64 key)
{
  SnFind f = { t->d, g_array_new (FALSE, FALSE, sizeof (SnWeight)), 0, 0 };
  NpRng  rng;

  np_net_foreach_param (t->d, find_normalised, &f);
  t->sn = f.sn;
  t->sn_u = g_new (gfloat, MAX (f.n_u, 1));
  t->sn_v = g_new0 (gfloat, MAX (f.n_v, 1));
  t->d_raw = g_new (gfloat, np_net_n_parameters (t->d, FALSE));
  np_rng_init (&rng, key);
  for (gsize i = 0; i < f.n_u; i++)
    t->sn_u[i] = (gfloat) np_rng_normal (&rng);
  for (guint k = 0; k < t->sn->len; k++)
    {
      SnWeight *w = &g_array_index (t->sn, SnWeight, k);
      normalise (t->sn_u + w->u_at, w->rows);
    }
}

/* Row i of the rows × cols matrix m times v, summed in double in order. */
static double
row_times (const gfloat *m, gint64 cols, gint64 i, const gfloat *v)
{
  double sum = 0;

  for (gint64 j = 0; j < cols; j++)
    sum += (double) m[i * cols + j] * v[j];
  return sum;
}

/* σ = uᵀWv of each weight of D's block, after one power iteration when
 * `iterate` (v = Wᵀu/‖·‖, u = Wv/‖·‖); then the block's weights become W/σ,
 * W kept in d_raw. Serial sums in double: the same bits for any thread
 * count. */
static void
sn_normalise (NpTrainer *t, gboolean iterate)
{
  gfloat *block = np_net_trainable (t->d);

  memcpy (t->d_raw, block, np_net_n_parameters (t->d, FALSE) * sizeof (gfloat));
  for (guint k = 0; k < t->sn->len; k++)
    {
      SnWeight     *w = &g_array_index (t->sn, SnWeight, k);
      const gfloat *m = t->d_raw + w->offset;
      gfloat       *u = t->sn_u + w->u_at, *v = t->sn_v + w->v_at;
      double        sigma = 0;

      if (iterate)
        {
          for (gint64 j = 0; j < w->cols; j++)
            {
              double sum = 0;
              for (gint64 i = 0; i < w->rows; i++)
                sum += (double) m[i * w->cols + j] * u[i];
              v[j] = (gfloat) sum;
            }
          normalise (v, w->cols);
          for (gint64 i = 0; i < w->rows; i++)
            u[i] = (gfloat) row_times (m, w->cols, i, v);
          normalise (u, w->rows);
        }
      for (gint64 i = 0; i < w->rows; i++)
        sigma += u[i] * row_times (m, w->cols, i, v);
      w->sigma = sigma;
      for (gint64 i = 0; i < w->rows * w->cols; i++)
        block[w->offset + i] = (gfloat) (m[i] / sigma);
    }
}

/* D's block back to W; the gradients of W/σ in grads become those of W:
 * G/σ − (⟨G, W⟩/σ²)·u vᵀ (u, v constants). */
static void
sn_restore (NpTrainer *t, gfloat *grads)
{
  memcpy (np_net_trainable (t->d), t->d_raw, np_net_n_parameters (t->d, FALSE) * sizeof (gfloat));
  for (guint k = 0; grads && k < t->sn->len; k++)
    {
      SnWeight     *w = &g_array_index (t->sn, SnWeight, k);
      const gfloat *m = t->d_raw + w->offset, *u = t->sn_u + w->u_at, *v = t->sn_v + w->v_at;
      gfloat       *g = grads + w->offset;
      double        inner = 0, scale;

      for (gint64 i = 0; i < w->rows * w->cols; i++)
        inner += (double) g[i] * m[i];
      scale = inner / (w->sigma * w->sigma);
      for (gint64 i = 0; i < w->rows; i++)
        for (gint64 j = 0; j < w->cols; j++)
          g[i * w->cols + j] = (gfloat) (g[i * w->cols + j] / w->sigma - scale * u[i] * v[j]);
    }
}

/* A trainer around networks already made (new or loaded); it owns them from
 * here on, also when it fails. */
static NpTrainer *
assemble (NpNet *g, NpNet *d, const NpTrainParams *params, GError **error)
{
  g_autoptr(NpTrainer) t = g_new0 (NpTrainer, 1);

  t->p = *params;
  t->g = g, t->d = d;
  t->n_ranks = 1;
  if (params->spectral_norm && d == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "training: spectral norm needs a discriminator");
      return NULL;
    }
  if (params->augment && (d == NULL || np_net_n_inputs (d) != 1))
    {
      /* A conditional D would see its pair moved apart. */
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "training: DiffAugment needs a discriminator of the picture alone");
      return NULL;
    }
  /* Both run on batch statistics (every pass says so); checkpoints say it
   * too. */
  for (NpNet *net = g; net; net = net == g ? d : NULL)
    np_net_set_bn_mode (net, NP_BN_BATCH);
  if ((t->adam_g = np_adam_new (np_net_n_parameters (g, FALSE), &params->adam, error)) == NULL
      || (d && (t->adam_d = np_adam_new (np_net_n_parameters (d, FALSE), &params->adam, error)) == NULL))
    return NULL;
  return g_steal_pointer (&t);
}

static gboolean
check_params (const NpTrainParams *p, gboolean has_d, GError **error)
{
  gfloat      rg_of[3], yb_of[3];
  const char *bad = !(p->adam.lr > 0 && p->adam.lr < 1) ? "learning rate"
                    : !(p->adam.beta1 >= 0 && p->adam.beta1 < 1) ? "beta1"
                    : !(p->adam.beta2 >= 0 && p->adam.beta2 < 1) ? "beta2"
                    : !(p->adam.eps > 0 && p->adam.eps < 1) ? "Adam's epsilon"
                    : !(p->recon_weight >= 0 && p->recon_weight <= 1e6) ? "reconstruction weight"
                    : !(p->gan_weight >= 0 && p->gan_weight <= 1e6) ? "GAN weight"
                    : !(p->colour_weight >= 0 && p->colour_weight <= 1e6) ? "colourfulness weight"
                    : !(p->init_std > 0 && p->init_std <= 10) ? "initial weights' spread"
                    : !(p->ema >= 0 && p->ema < 1) ? "moving average's decay"
                    : !(p->decay_start >= 0 && p->decay_end >= 0) ? "learning rate's schedule" : NULL;

  if (bad)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "training: the %s is out of range", bad);
      return FALSE;
    }
  if (p->colour_weight > 0 && (p->target >= NP_MODEL_N_TARGETS || !np_model_target_opponents (p->target, rg_of, yb_of)))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "training: the colourfulness term needs the colours themselves (rgb or chroma), not a %s",
                   p->target < NP_MODEL_N_TARGETS ? np_model_target_name (p->target) : "target unknown");
      return FALSE;
    }
  if (p->recon >= NP_N_RECONS)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "training: reconstruction loss %d unknown",
                   (gint) p->recon);
      return FALSE;
    }
  if (p->recon == NP_RECON_L1_MAGNITUDE && p->target != NP_MODEL_TARGET_CHROMA)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "training: the magnitude term is a chroma target's (its two channels are a colour)");
      return FALSE;
    }
  /* Cross-entropy is a chroma-bins target's loss, and its only one; a
   * discriminator would judge logits, not pictures. */
  if ((p->recon == NP_RECON_CROSS_ENTROPY) != (p->target == NP_MODEL_TARGET_CHROMA_BINS)
      || (p->target == NP_MODEL_TARGET_CHROMA_BINS && p->gan_weight > 0))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "training: a chroma-bins target learns by cross-entropy alone (no L1, MSE or GAN term), "
                   "and only it does");
      return FALSE;
    }
  if ((p->gan_weight > 0) != has_d)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   has_d ? "training: a discriminator but no GAN term" : "training: a GAN term needs a discriminator");
      return FALSE;
    }
  return TRUE;
}

NpTrainer *
np_trainer_new (const char *generator, const char *discriminator, const NpTrainParams *params,
                GError **error)
{
  g_autoptr(NpNet) g = NULL, d = NULL;
  NpTrainer *t;

  if (!check_params (params, discriminator != NULL, error) || (g = np_net_new (generator, error)) == NULL
      || (discriminator && (d = np_net_new (discriminator, error)) == NULL))
    return NULL;
  if (d && !(np_net_n_inputs (d) == 1 && np_net_input_channels (d, 0) == np_net_output_channels (g))
      && !(np_net_n_inputs (d) == 2 && np_net_input_channels (d, 0) == np_net_input_channels (g, 0)
           && np_net_input_channels (d, 1) == np_net_output_channels (g)))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "training: the discriminator must take the generator's output, or its input and output");
      return NULL;
    }
  if ((t = assemble (g_steal_pointer (&g), g_steal_pointer (&d), params, error)) == NULL)
    return NULL;
  np_net_init_random (t->g, np_trainer_key (t, 0, STREAM_INIT_G), (gfloat) params->init_std);
  if (t->d)
    np_net_init_random (t->d, np_trainer_key (t, 0, STREAM_INIT_D), (gfloat) params->init_std);
  if (params->ema > 0)
    t->ema = g_memdup2 (np_net_trainable (t->g), np_net_n_parameters (t->g, TRUE) * sizeof (gfloat));
  if (params->spectral_norm)
    sn_setup (t, np_trainer_key (t, 0, STREAM_INIT_SN));
  return t;
}

gint64
np_trainer_step_count (const NpTrainer *t)
{
  return t->step;
}

const NpTrainParams *
np_trainer_params (const NpTrainer *t)
{
  return &t->p;
}

void
np_trainer_set_schedule (NpTrainer *t, gint64 decay_start, gint64 decay_end)
{
  t->p.decay_start = decay_start;
  t->p.decay_end = decay_end;
}

void
np_trainer_set_chroma_bins (NpTrainer *t, const NpChromaBins *bins)
{
  GHashTable *meta = np_net_metadata (t->g);

  np_chroma_bins_free (t->bins);
  t->bins = np_chroma_bins_copy (bins);
  g_hash_table_insert (meta, g_strdup ("chroma_bins"), np_chroma_bins_centres_text (bins));
  g_hash_table_insert (meta, g_strdup ("chroma_bin_weights"), np_chroma_bins_weights_text (bins));
}

const NpChromaBins *
np_trainer_chroma_bins (const NpTrainer *t)
{
  return t->bins;
}

NpNet *
np_trainer_generator (NpTrainer *t)
{
  return t->g;
}

NpNet *
np_trainer_discriminator (NpTrainer *t)
{
  return t->d;
}

guint64
np_trainer_key (const NpTrainer *t, gint64 step, guint stream)
{
  return np_rng_hash (t->p.seed ^ np_rng_hash (((guint64) step << 8) | stream));
}

/* *tensor, zeroed, shaped as like (made or remade only when the shape
 * changes). */
static gboolean
zeroed_like (NpTensor **tensor, const NpTensor *like, GError **error)
{
  if (*tensor == NULL || !np_tensor_same_shape (*tensor, like))
    {
      np_tensor_free (*tensor);
      *tensor = np_tensor_new (like->ne[0], like->ne[1], like->ne[2], like->ne[3], error);
      return *tensor != NULL;
    }
  memset ((*tensor)->data, 0, np_tensor_n_elements (like) * sizeof (gfloat));
  return TRUE;
}

/* The schedule's learning rate at a step: 1, …, 1, then falling linearly so
 * that the last step before decay_end still learns a little. */
static gdouble
learning_rate (const NpTrainParams *p, gint64 step)
{
  if (p->decay_end <= p->decay_start || step < p->decay_start)
    return p->adam.lr;
  return p->adam.lr * MAX (0.0, 1.0 - (gdouble) (step - p->decay_start + 1) / (p->decay_end - p->decay_start + 1));
}

/* D on a (source, target) pair (or the target alone, for a discriminator
 * of one input; DiffAugmented with the draws of `stream` when the run
 * augments, its images from first_image on in the group's batch), its BCE
 * against `label` weighted, and backward; micro-batch `micro` of the
 * group's batch moves the running statistics only if it is the first. */
static gboolean
discriminate (NpTrainer *t, const NpTensor *source, const NpTensor *target, gint64 micro, gint64 first_image,
              guint stream, gfloat label, gdouble weight, NpGradFlags what, gdouble *loss, gint n_threads,
              GError **error)
{
  const NpTensor *pair[] = { source, target };
  gint            n = np_net_n_inputs (t->d);
  NpCompute       compute = { .n_threads = n_threads, .training = TRUE, .bn_mode = NP_BN_BATCH,
                              .freeze_running = micro != 0 };
  const NpTensor *logits;

  if (t->p.augment)
    {
      if (!zeroed_like (&t->augmented, target, error))
        return FALSE;
      np_diffaugment (target, t->augmented, np_trainer_key (t, t->step, stream), first_image);
      pair[1] = t->augmented;
    }
  if ((logits = np_net_forward (t->d, pair + 2 - n, n, &compute, error)) == NULL
      || !zeroed_like (&t->d_logits, logits, error))
    return FALSE;
  *loss = np_loss_bce_logits (logits, label, (gfloat) weight, t->d_logits);
  return np_net_backward (t->d, t->d_logits, what, n_threads, error);
}

void
np_trainer_set_group (NpTrainer *t, gint rank, gint n_ranks, NpTrainSumFunc sum, gpointer user_data)
{
  g_return_if_fail (n_ranks >= 1 && rank >= 0 && rank < n_ranks && (n_ranks == 1 || sum != NULL));
  t->rank = rank, t->n_ranks = n_ranks;
  t->group_sum = sum, t->group_data = user_data;
}

/* Micro-batch k of a batch: a view of its images. */
static NpTensor
micro_batch (const NpTensor *batch, gint k, gint n_micro)
{
  gint64 n = batch->ne[3] / n_micro;
  return np_tensor_view (np_tensor_at (batch, 0, 0, 0, k * n), batch->ne[0], batch->ne[1], batch->ne[2], n);
}

/* G's forward on the micro-batch whose images start at first_image in the
 * whole group's batch, with the step's dropout masks, moving the running
 * statistics when asked. */
static const NpTensor *
generate (NpTrainer *t, const NpTensor *source, const NpTensor *target, gint64 first_image, gboolean update_running,
          gint n_threads, GError **error)
{
  const NpTensor *inputs[] = { source }, *fake;
  NpCompute       compute = { .n_threads = n_threads, .training = TRUE, .bn_mode = NP_BN_BATCH,
                              .key = np_trainer_key (t, t->step, STREAM_DROPOUT),
                              .first_image = first_image, .freeze_running = !update_running };

  if ((fake = np_net_forward (t->g, inputs, 1, &compute, error)) == NULL)
    return NULL;
  /* A chroma-bins target's truth is the chroma its loss encodes over the
   * logits, at twice their size. */
  if (t->p.target == NP_MODEL_TARGET_CHROMA_BINS
      ? 2 * fake->ne[0] != target->ne[0] || 2 * fake->ne[1] != target->ne[1] || fake->ne[3] != target->ne[3]
        || fake->ne[2] != t->bins->n || target->ne[2] != 2
      : !np_tensor_same_shape (fake, target))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "training: the target is not shaped as the generator's output");
      return NULL;
    }
  return fake;
}

/* Keeps a micro-batch's gradients (the net's gradient block); returns the
 * step's gradients once all are in: the block itself for one micro-batch
 * in one process, else their sum over micro-batches and ranks, averaged. */
static gfloat *
gather (NpTrainer *t, NpNet *net, NpTreeSum **sum, gint k, gint n_micro, GError **error)
{
  gsize   n = np_net_n_parameters (net, FALSE);
  gint    total = n_micro * t->n_ranks;
  gfloat *grads = np_net_gradients (net);

  if (n_micro > 1)
    {
      if (*sum == NULL)
        *sum = np_tree_sum_new (n);
      if (k == 0)
        np_tree_sum_reset (*sum);
      np_tree_sum_add (*sum, grads);
      if (k < n_micro - 1)
        return NULL;
      grads = np_tree_sum_result (*sum);
    }
  if (t->n_ranks > 1 && !t->group_sum (grads, n, t->group_data, error))
    return NULL;
  if (total > 1)
    {
      gfloat scale = 1.0f / (gfloat) total;
      for (gsize i = 0; i < n; i++)
        grads[i] *= scale;
    }
  return grads;
}

/* The losses' means over every micro-batch of the group. */
static gboolean
mean_losses (NpTrainer *t, NpTrainLosses *l, gint n_micro, GError **error)
{
  gfloat  sums[5] = { (gfloat) l->d_real, (gfloat) l->d_fake, (gfloat) l->g_gan, (gfloat) l->g_recon,
                      (gfloat) l->g_colour };
  gdouble total = (gdouble) n_micro * t->n_ranks;

  if (t->n_ranks == 1)
    {
      l->d_real /= total, l->d_fake /= total, l->g_gan /= total, l->g_recon /= total, l->g_colour /= total;
      return TRUE;
    }
  if (!t->group_sum (sums, 5, t->group_data, error))
    return FALSE;
  *l = (NpTrainLosses) { sums[0] / total, sums[1] / total, sums[2] / total, sums[3] / total, sums[4] / total };
  return TRUE;
}

/* The moving average of G's trainable weights after step t->step; its
 * buffers (batch norm's running statistics) are G's, as StyleGAN2's copy
 * them. The decay ramps up as TensorFlow's ExponentialMovingAverage does
 * with num_updates, min(ema, (1 + step)/(10 + step)), so the average of a
 * short run is not mostly the random start. */
static void
average (NpTrainer *t)
{
  const gfloat *w = np_net_trainable (t->g);
  gsize         n = np_net_n_parameters (t->g, FALSE), all = np_net_n_parameters (t->g, TRUE);
  gfloat        keep = (gfloat) MIN (t->p.ema, (1.0 + t->step) / (10.0 + t->step));

  for (gsize i = 0; i < n; i++)
    t->ema[i] = keep * t->ema[i] + (1.0f - keep) * w[i];
  memcpy (t->ema + n, w + n, (all - n) * sizeof (gfloat));
}

gboolean
np_trainer_shipped_generator (NpTrainer *t, NpNet *dst, GError **error)
{
  if (!np_net_copy_params (dst, t->g, error))
    return FALSE;
  if (t->ema)
    memcpy (np_net_trainable (dst), t->ema, np_net_n_parameters (t->g, TRUE) * sizeof (gfloat));
  return TRUE;
}

gboolean
np_trainer_step (NpTrainer *t, const NpTensor *source, const NpTensor *target, gint n_micro, gint n_threads,
                 NpTrainLosses *losses, GError **error)
{
  const NpTensor *fake = NULL;
  NpTrainLosses   l = { 0 };
  gint64          per_micro = source->ne[3] / MAX (n_micro, 1);
  gfloat         *grads;

  if (n_micro < 1 || source->ne[3] % n_micro || target->ne[3] != source->ne[3])
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "training: a batch of %" G_GINT64_FORMAT " is no %d micro-batches of equal size",
                   source->ne[3], n_micro);
      return FALSE;
    }
  if (t->p.target == NP_MODEL_TARGET_CHROMA_BINS && t->bins == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "training: a chroma-bins target without its bins");
      return FALSE;
    }
  /* The average starts at the weights the run starts from (--init's too,
   * copied in after np_trainer_new). */
  if (t->ema && t->step == 0)
    memcpy (t->ema, np_net_trainable (t->g), np_net_n_parameters (t->g, TRUE) * sizeof (gfloat));
  np_adam_set_lr (t->adam_g, learning_rate (&t->p, t->step));
  if (t->adam_d)
    np_adam_set_lr (t->adam_d, learning_rate (&t->p, t->step));

  if (t->d)
    {
      /* D learns fake from real on every micro-batch, each term weighted ½
       * (pix2pix's order), then takes one step (on W itself under spectral
       * norm, D's passes having seen W/σ). */
      if (t->sn)
        sn_normalise (t, TRUE);
      for (gint k = 0; k < n_micro; k++)
        {
          NpTensor src = micro_batch (source, k, n_micro), tgt = micro_batch (target, k, n_micro);
          gint64   micro = (gint64) t->rank * n_micro + k;
          gdouble  d_fake, d_real;

          if ((fake = generate (t, &src, &tgt, micro * per_micro, micro == 0, n_threads, error)) == NULL
              || !np_net_zero_grad (t->d, error)
              || !discriminate (t, &src, fake, micro, micro * per_micro, STREAM_AUGMENT_FAKE, 0, 0.5,
                                NP_GRAD_PARAMS, &d_fake, n_threads, error)
              || !discriminate (t, &src, &tgt, micro, micro * per_micro, STREAM_AUGMENT_REAL, 1, 0.5,
                                NP_GRAD_PARAMS, &d_real, n_threads, error))
            return FALSE;
          l.d_fake += d_fake, l.d_real += d_real;
          if ((grads = gather (t, t->d, &t->sum_d, k, n_micro, error)) == NULL && k == n_micro - 1)
            return FALSE;
        }
      if (t->sn)
        sn_restore (t, grads);
      np_adam_step (t->adam_d, np_net_trainable (t->d), grads, n_threads);
      if (t->sn)
        sn_normalise (t, FALSE);
    }

  /* G's adversarial term through the updated D left unchanged, and its
   * reconstruction term, on every micro-batch; then one step. */
  for (gint k = 0; k < n_micro; k++)
    {
      NpTensor src = micro_batch (source, k, n_micro), tgt = micro_batch (target, k, n_micro);
      gint64   micro = (gint64) t->rank * n_micro + k;
      gdouble  g_gan = 0;

      /* With one micro-batch, G's activations are still those of D's pass. */
      if ((t->d == NULL || n_micro > 1)
          && (fake = generate (t, &src, &tgt, micro * per_micro, t->d == NULL && micro == 0, n_threads, error)) == NULL)
        return FALSE;
      if (!zeroed_like (&t->d_fake, fake, error))
        return FALSE;
      if (t->d)
        {
          const NpTensor *d_target;

          if (!discriminate (t, &src, fake, micro, micro * per_micro, STREAM_AUGMENT_G, 1, t->p.gan_weight,
                             NP_GRAD_INPUTS, &g_gan, n_threads, error))
            return FALSE;
          d_target = np_net_input_grad (t->d, np_net_n_inputs (t->d) - 1);
          if (t->p.augment)
            np_diffaugment_backward (d_target, t->d_fake, np_trainer_key (t, t->step, STREAM_AUGMENT_G),
                                     micro * per_micro);
          else
            memcpy (t->d_fake->data, d_target->data, np_tensor_n_elements (d_target) * sizeof (gfloat));
        }
      l.g_gan += g_gan;
      switch (t->p.recon)
        {
        case NP_RECON_L1:
          l.g_recon += np_loss_l1 (fake, &tgt, (gfloat) t->p.recon_weight, t->d_fake);
          break;
        case NP_RECON_MSE:
          l.g_recon += np_loss_mse (fake, &tgt, (gfloat) t->p.recon_weight, t->d_fake);
          break;
        case NP_RECON_ROOT:
          l.g_recon += np_loss_root (fake, &tgt, (gfloat) t->p.recon_weight, t->d_fake);
          break;
        case NP_RECON_L1_MAGNITUDE:
          l.g_recon += np_loss_l1 (fake, &tgt, (gfloat) t->p.recon_weight, t->d_fake)
                       + np_loss_magnitude (fake, &tgt, (gfloat) t->p.recon_weight, t->d_fake);
          break;
        case NP_N_RECONS:
          g_assert_not_reached ();
        case NP_RECON_CROSS_ENTROPY:
          l.g_recon += np_chroma_bins_loss (fake, &tgt, t->bins, (gfloat) t->p.recon_weight, t->d_fake, n_threads);
          break;
        }
      if (t->p.colour_weight > 0)
        l.g_colour += np_colourfulness_loss (fake, &tgt, t->p.target, (gfloat) t->p.colour_weight, t->d_fake);
      if (!np_net_zero_grad (t->g, error)
          || !np_net_backward (t->g, t->d_fake, NP_GRAD_PARAMS, n_threads, error))
        return FALSE;
      if ((grads = gather (t, t->g, &t->sum_g, k, n_micro, error)) == NULL && k == n_micro - 1)
        return FALSE;
    }
  if (t->sn)
    sn_restore (t, NULL);
  np_adam_step (t->adam_g, np_net_trainable (t->g), grads, n_threads);
  if (t->ema)
    average (t);

  t->step++;
  if (!mean_losses (t, &l, n_micro, error))
    return FALSE;
  if (losses)
    *losses = l;
  return TRUE;
}

/* ---- Checkpoints -------------------------------------------------------- */

static void
put_double (GHashTable *meta, const char *key, gdouble value)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
  /* Shortest text that reads back as the same double. */
  g_hash_table_insert (meta, g_strdup (key), g_strdup (g_ascii_dtostr (buf, sizeof buf, value)));
}

static void
put_int (GHashTable *meta, const char *key, gint64 value)
{
  g_hash_table_insert (meta, g_strdup (key), g_strdup_printf ("%" G_GINT64_FORMAT, value));
}

static const char *const recon_names[NP_N_RECONS] = {
  [NP_RECON_L1] = "l1", [NP_RECON_MSE] = "mse", [NP_RECON_CROSS_ENTROPY] = "cross-entropy",
  [NP_RECON_ROOT] = "l0.5", [NP_RECON_L1_MAGNITUDE] = "l1+magnitude",
};

const char *
np_recon_name (NpRecon recon)
{
  g_return_val_if_fail (recon < NP_N_RECONS, NULL);
  return recon_names[recon];
}

NpRecon
np_recon_from_name (const char *name)
{
  for (guint i = 0; i < NP_N_RECONS; i++)
    if (g_strcmp0 (name, recon_names[i]) == 0)
      return i;
  return NP_N_RECONS;
}

gboolean
np_trainer_save (NpTrainer *t, const char *path, GHashTable *metadata, GError **error)
{
  g_autoptr(GHashTable) meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray)  names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray)  tensors = g_ptr_array_new ();
  NpTensor              moments[4], ema, sn_u, sn_v;
  NpAdam               *adams[] = { t->adam_g, t->adam_d };
  GHashTableIter        iter;
  gpointer              key, value;

  np_net_add_to_file (t->g, "G.", names, tensors, meta);
  if (t->d)
    np_net_add_to_file (t->d, "D.", names, tensors, meta);
  for (int i = 0; i < 2 && adams[i]; i++)
    {
      const char *net = i ? "D" : "G";
      gsize       n = np_adam_size (adams[i]);

      moments[2 * i] = np_tensor_view (np_adam_m (adams[i]), n, 1, 1, 1);
      moments[2 * i + 1] = np_tensor_view (np_adam_v (adams[i]), n, 1, 1, 1);
      g_ptr_array_add (names, g_strdup_printf ("adam.%s.m", net));
      g_ptr_array_add (tensors, &moments[2 * i]);
      g_ptr_array_add (names, g_strdup_printf ("adam.%s.v", net));
      g_ptr_array_add (tensors, &moments[2 * i + 1]);
      put_int (meta, i ? "adam.D.t" : "adam.G.t", *np_adam_t (adams[i]));
    }

  if (t->ema)
    {
      ema = np_tensor_view (t->ema, np_net_n_parameters (t->g, TRUE), 1, 1, 1);
      g_ptr_array_add (names, g_strdup ("ema.G"));
      g_ptr_array_add (tensors, &ema);
    }
  if (t->sn && t->sn->len)
    {
      const SnWeight *last = &g_array_index (t->sn, SnWeight, t->sn->len - 1);
      sn_u = np_tensor_view (t->sn_u, (gint64) last->u_at + last->rows, 1, 1, 1);
      sn_v = np_tensor_view (t->sn_v, (gint64) last->v_at + last->cols, 1, 1, 1);
      g_ptr_array_add (names, g_strdup ("sn.D.u"));
      g_ptr_array_add (tensors, &sn_u);
      g_ptr_array_add (names, g_strdup ("sn.D.v"));
      g_ptr_array_add (tensors, &sn_v);
    }
  g_hash_table_insert (meta, g_strdup ("format"), g_strdup (CHECKPOINT_FORMAT));
  put_int (meta, "train.step", t->step);
  g_hash_table_insert (meta, g_strdup ("train.seed"), g_strdup_printf ("%" G_GUINT64_FORMAT, t->p.seed));
  put_double (meta, "train.lr", t->p.adam.lr);
  put_double (meta, "train.beta1", t->p.adam.beta1);
  put_double (meta, "train.beta2", t->p.adam.beta2);
  put_double (meta, "train.eps", t->p.adam.eps);
  put_double (meta, "train.recon_weight", t->p.recon_weight);
  put_double (meta, "train.gan_weight", t->p.gan_weight);
  put_double (meta, "train.colour_weight", t->p.colour_weight);
  g_hash_table_insert (meta, g_strdup ("train.target"), g_strdup (np_model_target_option (t->p.target)));
  put_double (meta, "train.init_std", t->p.init_std);
  put_int (meta, "train.decay_start", t->p.decay_start);
  put_int (meta, "train.decay_end", t->p.decay_end);
  put_double (meta, "train.ema", t->p.ema);
  put_int (meta, "train.augment", t->p.augment);
  put_int (meta, "train.spectral_norm", t->p.spectral_norm);
  g_hash_table_insert (meta, g_strdup ("train.recon"), g_strdup (recon_names[t->p.recon]));
  if (metadata)
    {
      g_hash_table_iter_init (&iter, metadata);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_hash_table_insert (meta, g_strconcat ("run.", key, NULL), g_strdup (value));
    }
  return np_safetensors_write (path, meta, (const char *const *) names->pdata,
                               (NpTensor *const *) tensors->pdata, (gint) names->len, NP_DTYPE_F32, error);
}

/* A metadata number of the checkpoint, or FALSE with an error naming it. */
static gboolean
get_number (GHashTable *meta, const char *key, gboolean integer, gdouble *d, gint64 *i, GError **error)
{
  const char *text = g_hash_table_lookup (meta, key);
  gchar      *end = NULL;

  if (text)
    {
      if (integer)
        *i = g_ascii_strtoll (text, &end, 10);
      else
        *d = g_ascii_strtod (text, &end);
    }
  if (text == NULL || end == text || *end || (integer && *i < 0))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "checkpoint: “%s” is missing or not a number", key);
      return FALSE;
    }
  return TRUE;
}

static gboolean
load_moments (NpSafetensors *st, const char *net, NpAdam *adam, GError **error)
{
  g_autofree gchar *m_name = g_strdup_printf ("adam.%s.m", net), *v_name = g_strdup_printf ("adam.%s.v", net);
  g_autofree gchar *t_name = g_strdup_printf ("adam.%s.t", net);
  NpTensor *m = np_safetensors_get (st, m_name), *v = np_safetensors_get (st, v_name);
  gsize     n = np_adam_size (adam);
  gdouble   unused;

  if (m == NULL || v == NULL || np_tensor_n_elements (m) != (gint64) n || np_tensor_n_elements (v) != (gint64) n)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT,
                   "checkpoint: the optimiser's state of %s is missing or not of its %" G_GSIZE_FORMAT
                   " parameters", net, n);
      return FALSE;
    }
  memcpy (np_adam_m (adam), m->data, n * sizeof (gfloat));
  memcpy (np_adam_v (adam), v->data, n * sizeof (gfloat));
  return get_number (st->metadata, t_name, TRUE, &unused, np_adam_t (adam), error);
}

static NpTrainer *
trainer_from_file (NpSafetensors *st, GHashTable **metadata, GError **error)
{
  GHashTable        *meta = st->metadata;
  g_autoptr(NpNet)   g = NULL, d = NULL;
  g_autoptr(NpTrainer) t = NULL;
  NpTrainParams      p;
  const char        *recon = g_hash_table_lookup (meta, "train.recon");
  const char        *seed = g_hash_table_lookup (meta, "train.seed");
  gint64             step;
  gdouble            unused;
  gint64             unused_i;
  GHashTableIter     iter;
  gpointer           key, value;

  if (g_strcmp0 (g_hash_table_lookup (meta, "format"), CHECKPOINT_FORMAT) != 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "not a neuropaint training checkpoint");
      return NULL;
    }
  if (!get_number (meta, "train.step", TRUE, &unused, &step, error)
      || !get_number (meta, "train.lr", FALSE, &p.adam.lr, &unused_i, error)
      || !get_number (meta, "train.beta1", FALSE, &p.adam.beta1, &unused_i, error)
      || !get_number (meta, "train.beta2", FALSE, &p.adam.beta2, &unused_i, error)
      || !get_number (meta, "train.eps", FALSE, &p.adam.eps, &unused_i, error)
      || !get_number (meta, "train.recon_weight", FALSE, &p.recon_weight, &unused_i, error)
      || !get_number (meta, "train.gan_weight", FALSE, &p.gan_weight, &unused_i, error)
      || !get_number (meta, "train.init_std", FALSE, &p.init_std, &unused_i, error))
    return NULL;
  /* A schedule: checkpoints before schedules existed had none. */
  p.decay_start = p.decay_end = 0;
  if (g_hash_table_contains (meta, "train.decay_end")
      && (!get_number (meta, "train.decay_start", TRUE, &unused, &p.decay_start, error)
          || !get_number (meta, "train.decay_end", TRUE, &unused, &p.decay_end, error)))
    return NULL;
  p.recon = np_recon_from_name (recon);
  if (seed == NULL || !g_ascii_string_to_unsigned (seed, 10, 0, G_MAXUINT64, &p.seed, NULL)
      || p.recon == NP_N_RECONS)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "checkpoint: bad “train.seed” or “train.recon”");
      return NULL;
    }
  /* The moving average: checkpoints before it existed had none. */
  p.ema = 0;
  if (g_hash_table_contains (meta, "train.ema") && !get_number (meta, "train.ema", FALSE, &p.ema, &unused_i, error))
    return NULL;
  /* Spectral norm: checkpoints before it existed had none. */
  p.spectral_norm = FALSE;
  if (g_hash_table_contains (meta, "train.spectral_norm"))
    {
      gint64 sn;
      if (!get_number (meta, "train.spectral_norm", TRUE, &unused, &sn, error))
        return NULL;
      p.spectral_norm = sn != 0;
    }
  /* DiffAugment: checkpoints before it existed had none. */
  p.augment = FALSE;
  if (g_hash_table_contains (meta, "train.augment"))
    {
      gint64 augment;
      if (!get_number (meta, "train.augment", TRUE, &unused, &augment, error))
        return NULL;
      p.augment = augment != 0;
    }
  /* The colourfulness term: checkpoints before it existed had none. */
  p.colour_weight = 0, p.target = NP_MODEL_TARGET_RGB;
  if (g_hash_table_contains (meta, "train.colour_weight"))
    {
      if (!get_number (meta, "train.colour_weight", FALSE, &p.colour_weight, &unused_i, error))
        return NULL;
      p.target = np_model_target_from_option (g_hash_table_lookup (meta, "train.target"));
      if (p.target == NP_MODEL_TARGET_UNKNOWN)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "checkpoint: bad “train.target”");
          return NULL;
        }
    }

  if ((g = np_net_from_file (st, "G.", error)) == NULL
      || ((g_hash_table_contains (meta, "D.graph") || g_hash_table_contains (meta, "D.architecture"))
          && (d = np_net_from_file (st, "D.", error)) == NULL)
      || !check_params (&p, d != NULL, error))
    return NULL;
  if ((t = assemble (g_steal_pointer (&g), g_steal_pointer (&d), &p, error)) == NULL)
    return NULL;
  t->step = step;
  /* A chroma-bins target's classes, from G's metadata (np_trainer_set_chroma_bins). */
  if (p.target == NP_MODEL_TARGET_CHROMA_BINS)
    {
      GHashTable *g_meta = np_net_metadata (t->g);
      g_autoptr(NpChromaBins) bins = np_chroma_bins_parse (g_hash_table_lookup (g_meta, "chroma_bins"),
                                                          g_hash_table_lookup (g_meta, "chroma_bin_weights"), error);
      if (bins == NULL)
        return NULL;
      np_trainer_set_chroma_bins (t, bins);
    }
  if (!load_moments (st, "G", t->adam_g, error) || (t->d && !load_moments (st, "D", t->adam_d, error)))
    return NULL;
  if (p.ema > 0)
    {
      NpTensor *ema = np_safetensors_get (st, "ema.G");
      gint64    n = np_net_n_parameters (t->g, TRUE);

      if (ema == NULL || np_tensor_n_elements (ema) != n)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT,
                       "checkpoint: G's moving average is missing or not of its %" G_GINT64_FORMAT " parameters", n);
          return NULL;
        }
      t->ema = g_memdup2 (ema->data, n * sizeof (gfloat));
    }
  if (p.spectral_norm)
    {
      NpTensor *u = np_safetensors_get (st, "sn.D.u"), *v = np_safetensors_get (st, "sn.D.v");
      gint64    n_u = 0, n_v = 0;

      sn_setup (t, 0);
      for (guint k = 0; k < t->sn->len; k++)
        n_u += g_array_index (t->sn, SnWeight, k).rows, n_v += g_array_index (t->sn, SnWeight, k).cols;
      if (n_u && (u == NULL || v == NULL || np_tensor_n_elements (u) != n_u || np_tensor_n_elements (v) != n_v))
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT,
                       "checkpoint: spectral norm's vectors are missing or not of D's weights");
          return NULL;
        }
      if (n_u)
        {
          memcpy (t->sn_u, u->data, n_u * sizeof (gfloat));
          memcpy (t->sn_v, v->data, n_v * sizeof (gfloat));
        }
    }

  if (metadata)
    {
      *metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_iter_init (&iter, meta);
      while (g_hash_table_iter_next (&iter, &key, &value))
        if (g_str_has_prefix (key, "run."))
          g_hash_table_insert (*metadata, g_strdup ((char *) key + 4), g_strdup (value));
    }
  return g_steal_pointer (&t);
}

NpTrainer *
np_trainer_load (const char *path, GHashTable **metadata, GError **error)
{
  g_autoptr(NpSafetensors) st = np_safetensors_read (path, error);
  GError    *local = NULL;
  NpTrainer *t;

  if (st == NULL)
    return NULL;
  if ((t = trainer_from_file (st, metadata, &local)) == NULL)
    {
      g_autofree gchar *name = g_filename_display_name (path);
      g_set_error (error, NP_ERROR, local->code, "%s: %s", name, local->message);
      g_error_free (local);
    }
  return t;
}
