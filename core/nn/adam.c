/* neuropaint — Adam over a flat block of parameters (llm.c's layout: the
 * moments have the parameters' layout, so the update is one loop). */
#include "np-nn-private.h"

#include <math.h>

struct _NpAdam
{
  gsize        n;
  NpAdamParams p;
  gint64       t;
  gfloat      *m, *v;
};

NpAdam *
np_adam_new (gsize n, const NpAdamParams *params, GError **error)
{
  NpAdam *adam = g_new0 (NpAdam, 1);

  adam->n = n;
  adam->p = *params;
  adam->m = g_try_malloc0 (MAX (n, 1) * sizeof (gfloat));
  adam->v = g_try_malloc0 (MAX (n, 1) * sizeof (gfloat));
  if (adam->m == NULL || adam->v == NULL)
    {
      np_adam_free (adam);
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "out of memory for Adam's state");
      return NULL;
    }
  return adam;
}

void
np_adam_free (NpAdam *adam)
{
  if (adam == NULL)
    return;
  g_free (adam->m);
  g_free (adam->v);
  g_free (adam);
}

typedef struct
{
  NpAdam       *adam;
  gfloat       *params;
  const gfloat *grads;
  gfloat        step_size, correction2_sqrt;
} AdamJob;

static void
adam_range (gsize start, gsize end, guint part, gpointer data)
{
  const AdamJob *job = data;
  NpAdam        *a = job->adam;
  gfloat beta1 = (gfloat) a->p.beta1, beta2 = (gfloat) a->p.beta2, eps = (gfloat) a->p.eps;

  /* In float, in PyTorch's order of operations (torch/optim/adam.py,
   * _single_tensor_adam), so the two agree to rounding. */
  for (gsize i = start; i < end; i++)
    {
      gfloat g = job->grads[i];
      a->m[i] = a->m[i] * beta1 + g * (1.0f - beta1);
      a->v[i] = a->v[i] * beta2 + g * g * (1.0f - beta2);
      job->params[i] -= job->step_size * a->m[i] / (sqrtf (a->v[i]) / job->correction2_sqrt + eps);
    }
}

void
np_adam_set_lr (NpAdam *adam, gdouble lr)
{
  adam->p.lr = lr;
}

void
np_adam_step (NpAdam *adam, gfloat *params, const gfloat *grads, gint n_threads)
{
  AdamJob job = { adam, params, grads };

  adam->t++;
  job.step_size = (gfloat) (adam->p.lr / (1.0 - pow (adam->p.beta1, (double) adam->t)));
  job.correction2_sqrt = (gfloat) sqrt (1.0 - pow (adam->p.beta2, (double) adam->t));
  np_parallel_for (adam->n, 1 << 16, n_threads, adam_range, &job);
}

gsize
np_adam_size (const NpAdam *adam)
{
  return adam->n;
}

gfloat *
np_adam_m (NpAdam *adam)
{
  return adam->m;
}

gfloat *
np_adam_v (NpAdam *adam)
{
  return adam->v;
}

gint64 *
np_adam_t (NpAdam *adam)
{
  return &adam->t;
}
