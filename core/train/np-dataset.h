/* neuropaint — training datasets: face crops of photos and every filtered
 * version of them, as stacks of NumPy arrays (docs/datasets.md).
 *
 * A dataset is a folder:
 *
 *   dataset.json    {"format": "neuropaint-dataset", "version": 1,
 *                    "width": W, "height": H, "count": N,
 *                    "kinds": {"color": 3, "gray": 1, "binary": 3, ...},
 *                    "filters": {"binary": {"input_threshold": "200"}, ...}}
 *   manifest.jsonl  line i describes item i of every stack (source photo,
 *                    subset, split, face and eye boxes, channel means,
 *                    brightness, dominant colour, gray flag)
 *   KIND.npy        one per kind: NumPy .npy 1.0, |u1, C order,
 *                    shape (N, H, W, channels)
 *
 * "color" is the crop as decoded; every other kind is a filter of the
 * registry (filters/np-filters.h) applied to it, with the parameters
 * "filters" records under the model metadata keys, so a model trained on a
 * kind gets the same inputs from the generator op.
 *
 * Reading validates everything on open (one NP_ERROR naming the file, the
 * line or the field at fault) and maps the stacks, so opening a dataset of
 * any size costs only its manifest:
 *
 *   g_autoptr(NpDataset) ds = np_dataset_open ("faces.dataset", &error);
 *   for (guint i = 0; i < np_dataset_size (ds); i++)
 *     if (np_dataset_item (ds, i)->split == NP_SPLIT_TRAIN && !np_dataset_item (ds, i)->is_gray)
 *       use (np_dataset_pixels (ds, "gray", i), np_dataset_pixels (ds, "color", i));
 *
 * Writing goes through NpDatasetWriter: every file is written to a temporary
 * name and renamed into place at commit, dataset.json last (and removed
 * first), so a reader sees either a complete dataset or none.
 */
#pragma once

#include <glib.h>
#include "np-error.h"
#include "image/np-image.h"
#include "haar/np-haar.h"

G_BEGIN_DECLS

/* The format this code reads and writes. */
#define NP_DATASET_FORMAT   "neuropaint-dataset"
#define NP_DATASET_VERSION  1
/* The crop's own pixels, always present. */
#define NP_DATASET_COLOR    "color"
/* The largest crop side, and the largest item count, we accept. */
#define NP_DATASET_MAX_SIDE  8192
#define NP_DATASET_MAX_COUNT G_MAXINT32

/* ---- Reading ----------------------------------------------------------- */

typedef struct _NpDataset NpDataset;

typedef enum
{
  NP_SPLIT_TRAIN,
  NP_SPLIT_VAL,
} NpSplit;

typedef struct
{
  const char *source;    /* the photo's path, as given to prepare */
  const char *subset;    /* the photo's folder name */
  NpSplit     split;
  gboolean    is_gray;   /* the photo has no colour (see np_crop_stats) */
  gboolean    has_face;  /* FALSE: a centre crop (no face found) */
} NpDatasetItem;

/* Opens the dataset in folder dir: NP_ERROR_IO for a missing or unreadable
 * file, NP_ERROR_CORRUPT for any file that does not follow the format or
 * disagrees with another (counts, sizes, kinds), NP_ERROR_UNSUPPORTED for a
 * newer version. */
NpDataset           *np_dataset_open      (const char *dir, GError **error);
void                 np_dataset_free      (NpDataset *dataset);

gint                 np_dataset_width     (const NpDataset *dataset);
gint                 np_dataset_height    (const NpDataset *dataset);
/* Items in every stack. */
guint                np_dataset_size      (const NpDataset *dataset);
const NpDatasetItem *np_dataset_item      (const NpDataset *dataset, guint index);
/* Channels of a kind ("color", "gray", ...); 0 when the dataset has none. */
gint                 np_dataset_channels  (const NpDataset *dataset, const char *kind);
/* Item index of a kind: height rows of width × channels bytes, R'G'B' order;
 * NULL when the dataset has no such kind. Valid until np_dataset_free. */
const guint8        *np_dataset_pixels    (const NpDataset *dataset, const char *kind,
                                           guint index);
/* The filter parameters a kind was made with (model metadata keys to
 * string values, e.g. "input_threshold" → "200"), for the model's metadata;
 * NULL for "color" or a kind the dataset lacks. Owned by the dataset. */
GHashTable          *np_dataset_filter_params (const NpDataset *dataset, const char *kind);
/* The photos prepare reported and skipped (paths as given, in the input
 * list's order); n of them, 0 when every photo made it. Owned by the
 * dataset. */
const char *const   *np_dataset_skipped   (const NpDataset *dataset, guint *n);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpDataset, np_dataset_free)

/* ---- What the manifest says about a crop ------------------------------- */

typedef struct
{
  gdouble     means[3];    /* mean R', G', B', 0–255 */
  gdouble     brightness;  /* mean BT.601 luma, 0–255 */
  const char *colour;      /* dominant colour name (a static string) */
  gboolean    is_gray;
} NpCropStats;

/* The crop's statistics (8-bit R'G'B' or R'G'B'A, alpha ignored):
 * - colour: each pixel takes the nearest (Euclidean, in R'G'B') of the 11
 *   basic colour terms — black, white, gray, red, orange, yellow, green,
 *   blue, purple, pink, brown, at their CSS values — and the most frequent
 *   name wins (ties: that order);
 * - is_gray: at most 1% of the pixels have a chroma above
 *   NP_CROP_GRAY_CHROMA, the chroma being sqrt(Cb² + Cr²) of BT.601 YCbCr
 *   (JPEG's) on 0–255 values. A gray photo stored in colour keeps a
 *   chroma of a unit or two from compression; a faint tint passes; the
 *   palest colour photos of FairFace start near 10. */
#define NP_CROP_GRAY_CHROMA 8.0

void                 np_crop_stats        (const NpImage *crop, NpCropStats *stats);

/* ---- Writing ----------------------------------------------------------- */

typedef struct _NpDatasetWriter NpDatasetWriter;

/* Where a crop came from. */
typedef struct
{
  const char      *source;   /* the photo's path as given (UTF-8) */
  const char      *subset;   /* the photo's folder name (UTF-8) */
  NpSplit          split;
  const NpHaarBox *face;     /* in the photo; NULL for a centre crop */
  const NpHaarBox *eyes;     /* n_eyes boxes in the photo */
  guint            n_eyes;
} NpDatasetSource;

/* Starts a dataset of width × height crops in folder dir (created if
 * needed), with every filter of the registry; filter_params (model metadata
 * keys, NULL for the seed's values) are checked here and recorded. The
 * files are temporary until np_dataset_writer_commit; freeing the writer
 * before removes them. */
NpDatasetWriter     *np_dataset_writer_new    (const char *dir, gint width, gint height,
                                               GHashTable *filter_params, GError **error);
/* Appends a crop (u8 R'G'B' or R'G'B'A, width × height) to every stack and
 * its line to the manifest; stats (may be NULL) gets what the line says of
 * the crop. A failure (a full disk) leaves the writer unusable: free it. */
gboolean             np_dataset_writer_add    (NpDatasetWriter *writer, const NpImage *crop,
                                               const NpDatasetSource *source, gint n_threads,
                                               NpCropStats *stats, GError **error);
guint                np_dataset_writer_count  (const NpDatasetWriter *writer);
/* A photo that could not be read (its path as given, UTF-8): listed, in
 * byte order, in dataset.json's "skipped", so a merge of a sharded
 * prepare's parts can say which. */
void                 np_dataset_writer_skip   (NpDatasetWriter *writer, const char *source);

/* Merging datasets (the parts of a sharded prepare): a writer of like's
 * crop size and filter parameters, and items of other datasets copied into
 * it, pixels of every kind and manifest line (renumbered) as they are. A
 * dataset of another crop size, other kinds or other filter parameters is
 * refused (name names it in the message): its pictures would not be the
 * same function of the photos. */
NpDatasetWriter     *np_dataset_writer_new_like (const char *dir, const NpDataset *like,
                                                 GError **error);
gboolean             np_dataset_writer_copy   (NpDatasetWriter *writer, const NpDataset *from,
                                               const char *name, guint index, GError **error);
/* Writes the counts into the headers and puts every file in place,
 * dataset.json last. */
gboolean             np_dataset_writer_commit (NpDatasetWriter *writer, GError **error);
void                 np_dataset_writer_free   (NpDatasetWriter *writer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpDatasetWriter, np_dataset_writer_free)

G_END_DECLS
