/* neuropaint — the losses the trainer needs: binary cross-entropy on logits
 * (the discriminator's), L1, MSE and L½ (the generator's reconstruction terms), and the
 * magnitude term beside L1.
 *
 * Each is a mean over every element, summed in double in element order, and
 * adds its weighted gradient into the caller's tensor, so terms combine. */
#include "np-nn-private.h"

#include <math.h>

/* Visits the elements of a (possibly strided) tensor image by image. */
#define FOR_EACH_ELEMENT(t, n, x, i)                                               \
  for (gint64 n = 0; n < (t)->ne[3]; n++)                                          \
    for (gint64 i = 0, per_ = (t)->ne[0] * (t)->ne[1] * (t)->ne[2]; i < per_; i++)

static gfloat *
element (const NpTensor *t, gint64 n, gint64 i)
{
  return np_tensor_at (t, 0, 0, 0, n) + i;
}

double
np_loss_bce_logits (const NpTensor *logits, gfloat target, gfloat weight, NpTensor *grad)
{
  gint64 count = np_tensor_n_elements (logits);
  double sum = 0;

  g_return_val_if_fail (grad == NULL || np_tensor_same_shape (grad, logits), NAN);

  FOR_EACH_ELEMENT (logits, n, x, i)
    {
      double x = *element (logits, n, i);
      /* log(1 + e^x) − x·t, rewritten so e^ never overflows. */
      sum += MAX (x, 0.0) - x * target + log1p (exp (-fabs (x)));
      if (grad)
        *element (grad, n, i) += (gfloat) (weight * (1.0 / (1.0 + exp (-x)) - target) / count);
    }
  return sum / count;
}

typedef enum
{
  DISTANCE_ABS,      /* |d| */
  DISTANCE_SQUARE,   /* d² */
  DISTANCE_ROOT,     /* (|d| + ε)^½ − ε^½ */
} Distance;

/* The mean of a distance over d = pred − target, and its gradient. */
static double
reconstruction (const NpTensor *pred, const NpTensor *target, gfloat weight, NpTensor *grad, Distance kind)
{
  gint64 count = np_tensor_n_elements (pred);
  double sum = 0, root_eps = sqrt (NP_LOSS_ROOT_EPS);

  g_return_val_if_fail (np_tensor_same_shape (pred, target), NAN);
  g_return_val_if_fail (grad == NULL || np_tensor_same_shape (grad, pred), NAN);

  FOR_EACH_ELEMENT (pred, n, x, i)
    {
      gfloat d = *element (pred, n, i) - *element (target, n, i);
      double r = kind == DISTANCE_ROOT ? sqrt (fabs ((double) d) + NP_LOSS_ROOT_EPS) : 0;

      sum += kind == DISTANCE_SQUARE ? (double) d * d : kind == DISTANCE_ABS ? fabsf (d) : r - root_eps;
      if (grad == NULL)
        continue;
      if (kind == DISTANCE_SQUARE)
        *element (grad, n, i) += 2.0f * weight * d / count;
      else
        {
          /* The slope of |d| (0 at 0, as PyTorch's), times ½·(|d| + ε)^−½. */
          gfloat slope = kind == DISTANCE_ABS ? weight / count : (gfloat) (0.5 * weight / (r * count));
          *element (grad, n, i) += d > 0 ? slope : d < 0 ? -slope : 0.0f;
        }
    }
  return sum / count;
}

double
np_loss_l1 (const NpTensor *pred, const NpTensor *target, gfloat weight, NpTensor *grad)
{
  return reconstruction (pred, target, weight, grad, DISTANCE_ABS);
}

double
np_loss_mse (const NpTensor *pred, const NpTensor *target, gfloat weight, NpTensor *grad)
{
  return reconstruction (pred, target, weight, grad, DISTANCE_SQUARE);
}

double
np_loss_root (const NpTensor *pred, const NpTensor *target, gfloat weight, NpTensor *grad)
{
  return reconstruction (pred, target, weight, grad, DISTANCE_ROOT);
}

double
np_loss_magnitude (const NpTensor *pred, const NpTensor *target, gfloat weight, NpTensor *grad)
{
  gint64 pixels = pred->ne[0] * pred->ne[1], count = pixels * pred->ne[3], channels = pred->ne[2];
  double sum = 0;

  g_return_val_if_fail (np_tensor_same_shape (pred, target), NAN);
  g_return_val_if_fail (grad == NULL || np_tensor_same_shape (grad, pred), NAN);

  for (gint64 n = 0; n < pred->ne[3]; n++)
    for (gint64 i = 0; i < pixels; i++)
      {
        const gfloat *p = np_tensor_at (pred, 0, 0, 0, n) + i, *t = np_tensor_at (target, 0, 0, 0, n) + i;
        double        pp = NP_LOSS_MAGNITUDE_EPS, tt = NP_LOSS_MAGNITUDE_EPS, mp, d;

        for (gint64 c = 0; c < channels; c++)
          pp += (double) p[c * pixels] * p[c * pixels], tt += (double) t[c * pixels] * t[c * pixels];
        mp = sqrt (pp);
        d = mp - sqrt (tt);
        sum += fabs (d);
        /* d|m(p) − m(t)|/dp_c = sign(d) · p_c / m(p). */
        if (grad && d != 0)
          for (gint64 c = 0; c < channels; c++)
            np_tensor_at (grad, 0, 0, 0, n)[i + c * pixels] += (gfloat) ((d > 0 ? weight : -weight) * p[c * pixels]
                                                                         / (mp * count));
      }
  return sum / count;
}
