/* neuropaint — sums of many blocks in one fixed order: a tree.
 *
 * Float addition is not associative, so a sum of gradients has the same
 * bits twice only when it is grouped the same way twice. The tree splits n
 * leaves at the largest power of two below n, (leaves 0 … p−1) + (p … n−1),
 * each side again so: the tree a binary counter builds as leaves arrive, and
 * the one a reduction over ranks builds by recursive doubling. A block of
 * 2^j leaves aligned on 2^j is a subtree, so R ranks of K = 2^j micro-batches
 * each give the bits of one process with R·K (docs/scale-out.md). */
#include "np-train.h"

#include <string.h>

#define MAX_LEVELS 32   /* 2^32 leaves */

struct _NpTreeSum
{
  gsize   n;
  gfloat *level[MAX_LEVELS];   /* the partial sum of 2^j leaves, or unused */
  guint64 count;               /* leaves so far: bit j says level j is in use */
  gfloat *result;
};

NpTreeSum *
np_tree_sum_new (gsize n)
{
  NpTreeSum *s = g_new0 (NpTreeSum, 1);

  s->n = n;
  return s;
}

void
np_tree_sum_free (NpTreeSum *s)
{
  if (s == NULL)
    return;
  for (int j = 0; j < MAX_LEVELS; j++)
    g_free (s->level[j]);
  g_free (s->result);
  g_free (s);
}

void
np_tree_sum_reset (NpTreeSum *s)
{
  s->count = 0;
}

/* a ← a + b (a the earlier leaves, b the later: commutative, so only the
 * grouping matters). */
static void
add_into (gfloat *restrict a, const gfloat *restrict b, gsize n)
{
  for (gsize i = 0; i < n; i++)
    a[i] += b[i];
}

static gfloat *
buffer (gfloat **slot, gsize n)
{
  if (*slot == NULL)
    *slot = g_new (gfloat, n);
  return *slot;
}

void
np_tree_sum_add (NpTreeSum *s, const gfloat *leaf)
{
  guint   j, cur = 0;
  gfloat *swap;

  g_return_if_fail (s->count < (G_GUINT64_CONSTANT (1) << (MAX_LEVELS - 1)));
  if (!(s->count & 1))
    {
      memcpy (buffer (&s->level[0], s->n), leaf, s->n * sizeof (gfloat));
      s->count++;
      return;
    }
  /* Carry, as in a binary counter: the new leaf joins the partial sums of
   * equal size before it, each the left (earlier) operand. */
  add_into (s->level[0], leaf, s->n);
  for (j = 1; s->count & (G_GUINT64_CONSTANT (1) << j); j++)
    {
      add_into (s->level[j], s->level[cur], s->n);
      cur = j;
    }
  /* The sum of 2^j leaves moves up to level j; the levels below are free. */
  swap = s->level[j];
  s->level[j] = s->level[cur];
  s->level[cur] = swap;
  s->count++;
}

gfloat *
np_tree_sum_result (NpTreeSum *s)
{
  gint  lowest = -1;

  g_return_val_if_fail (s->count > 0, NULL);
  for (gint j = 0; j < MAX_LEVELS; j++)
    if (s->count & (G_GUINT64_CONSTANT (1) << j))
      {
        if (lowest < 0)
          {
            lowest = j;
            if (s->count == (G_GUINT64_CONSTANT (1) << j))
              return s->level[j];
            memcpy (buffer (&s->result, s->n), s->level[j], s->n * sizeof (gfloat));
          }
        else
          /* The larger, earlier block on the left of the later ones. */
          add_into (s->result, s->level[j], s->n);
      }
  return s->result;
}
