/* neuropaint — NCHW float tensors. */
#include "np-nn.h"
#include "util/np-rng.h"

#include <string.h>

static void
set_contiguous (NpTensor *t, gint64 w, gint64 h, gint64 c, gint64 n)
{
  t->ne[0] = w, t->ne[1] = h, t->ne[2] = c, t->ne[3] = n;
  t->nb[0] = sizeof (gfloat);
  for (int i = 1; i < 4; i++)
    t->nb[i] = t->nb[i - 1] * (gsize) t->ne[i - 1];
}

NpTensor *
np_tensor_new (gint64 w, gint64 h, gint64 c, gint64 n, GError **error)
{
  NpTensor *t;

  if (w < 1 || h < 1 || c < 1 || n < 1)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "empty tensor shape %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                   "×%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT, n, c, h, w);
      return NULL;
    }
  /* Checked factor by factor so the product itself cannot overflow. */
  if (w > NP_TENSOR_MAX_ELEMENTS / h || w * h > NP_TENSOR_MAX_ELEMENTS / c
      || w * h * c > NP_TENSOR_MAX_ELEMENTS / n)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE,
                   "tensor of %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                   "×%" G_GINT64_FORMAT " floats is too large", n, c, h, w);
      return NULL;
    }
  t = g_new0 (NpTensor, 1);
  set_contiguous (t, w, h, c, n);
  t->data = g_try_malloc0 (w * h * c * n * sizeof (gfloat));
  if (t->data == NULL)
    {
      g_free (t);
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE, "out of memory for a tensor of %"
                   G_GINT64_FORMAT " floats", w * h * c * n);
      return NULL;
    }
  t->owns_data = TRUE;
  return t;
}

void
np_tensor_free (NpTensor *tensor)
{
  if (tensor == NULL)
    return;
  if (tensor->owns_data)
    g_free (tensor->data);
  g_free (tensor);
}

NpTensor
np_tensor_view (gfloat *data, gint64 w, gint64 h, gint64 c, gint64 n)
{
  NpTensor t = { .data = data };
  set_contiguous (&t, w, h, c, n);
  return t;
}

gint64
np_tensor_n_elements (const NpTensor *t)
{
  return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

gboolean
np_tensor_same_shape (const NpTensor *a, const NpTensor *b)
{
  return memcmp (a->ne, b->ne, sizeof a->ne) == 0;
}

void
np_tensor_fill_normal (NpTensor *t, gint64 n, guint64 seed)
{
  NpRng rng;

  np_rng_init (&rng, seed);
  for (gint64 c = 0; c < t->ne[2]; c++)
    for (gint64 y = 0; y < t->ne[1]; y++)
      {
        gfloat *row = np_tensor_at (t, 0, y, c, n);
        for (gint64 x = 0; x < t->ne[0]; x++)
          row[x] = (gfloat) np_rng_normal (&rng);
      }
}
