/* neuropaint — inside core/train: the dataset reader on file contents, so
 * the fuzz target and the tests reach every check without a file system. */
#pragma once

#include "np-dataset.h"

G_BEGIN_DECLS

/* The file names inside a dataset folder. */
#define NP_DATASET_INFO      "dataset.json"
#define NP_DATASET_MANIFEST  "manifest.jsonl"
#define NP_DATASET_STACK_EXT ".npy"

/* The contents of KIND.npy (for the reader to keep while the dataset
 * lives), or NULL with an error naming the file. */
typedef GBytes *(*NpDatasetStackFunc) (const char *kind, gpointer data, GError **error);

/* np_dataset_open on the contents of dataset.json and manifest.jsonl, with
 * each stack from stack_func; messages name the files under dir. */
NpDataset *np_dataset_load (const char *dir, GBytes *info, GBytes *manifest,
                            NpDatasetStackFunc stack_func, gpointer data, GError **error);

/* Item index's line of manifest.jsonl (without its newline): what the
 * writer copies an item's description from. */
const char *np_dataset_item_line (const NpDataset *dataset, guint index, gsize *length);

/* How many kinds of picture (stacks) the dataset holds. */
guint       np_dataset_n_kinds   (const NpDataset *dataset);

G_END_DECLS
