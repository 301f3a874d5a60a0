/* libFuzzer target: a dataset (dataset.json, manifest.jsonl, the .npy
 * stacks) must open or fail with a GError, never crash, leak or read out
 * of bounds. The input holds the files one after another, separated by
 * SEPARATOR: dataset.json, manifest.jsonl, then the stacks in the order
 * dataset.json lists their kinds.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
 *   build-fuzz/tests/fuzz/fuzz-dataset -max_total_time=60 tests/fuzz/corpus-dataset
 */
#include "neuropaint.h"
#include "train/dataset-private.h"

#include <string.h>

#define SEPARATOR "\n--8<--\n"

int LLVMFuzzerTestOneInput (const guint8 *data, gsize size);

/* Where the bytes read go, so the reads are not optimised away. */
static volatile guint8 sink;

typedef struct
{
  GPtrArray *parts;   /* GBytes */
  guint      next;
} Parts;

static GBytes *
next_stack (const char *kind, gpointer data, GError **error)
{
  Parts *p = data;

  if (p->next >= p->parts->len)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_IO, "%s.npy: missing", kind);
      return NULL;
    }
  return g_bytes_ref (p->parts->pdata[p->next++]);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, gsize size)
{
  Parts       p = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref), 2 };
  gsize       sep = strlen (SEPARATOR), start = 0;
  GError     *error = NULL;
  NpDataset  *ds;

  for (gsize i = 0; i + sep <= size;)
    if (memcmp (data + i, SEPARATOR, sep) == 0)
      {
        g_ptr_array_add (p.parts, g_bytes_new (data + start, i - start));
        start = i = i + sep;
      }
    else
      i++;
  g_ptr_array_add (p.parts, g_bytes_new (data + start, size - start));
  while (p.parts->len < 2)
    g_ptr_array_add (p.parts, g_bytes_new (NULL, 0));

  ds = np_dataset_load ("fuzz", p.parts->pdata[0], p.parts->pdata[1], next_stack, &p, &error);
  if (ds)
    {
      /* Everything a trainer reads must be in bounds. */
      static const char *const kinds[] = { "color", "gray", "binary", "contours", "canny", NULL };
      gsize  pixels = (gsize) np_dataset_width (ds) * np_dataset_height (ds);
      guint8 sum = 0;

      for (guint i = 0; i < np_dataset_size (ds); i++)
        {
          const NpDatasetItem *item = np_dataset_item (ds, i);
          sum += (guint8) (strlen (item->source) + strlen (item->subset) + item->split);
          for (gint k = 0; kinds[k]; k++)
            {
              const guint8 *px = np_dataset_pixels (ds, kinds[k], i);
              gsize n = pixels * np_dataset_channels (ds, kinds[k]);
              if (px && n)
                sum += px[0] + px[n - 1];
            }
        }
      sink = sum;
      np_dataset_free (ds);
    }
  g_clear_error (&error);
  g_ptr_array_unref (p.parts);
  return 0;
}
