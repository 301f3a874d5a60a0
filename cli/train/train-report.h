/* neuropaint — the history and sample pictures of a training run. */
#pragma once

#include "neuropaint.h"

G_BEGIN_DECLS

/* One row a training step; the validation columns are NaN but every
 * --validate-every steps. */
typedef struct
{
  gint64        step;        /* steps done */
  gdouble       seconds;     /* training time so far, over every session */
  NpTrainLosses losses;
  gdouble       val_l1, val_psnr;
} NpHistoryRow;

/* The trivial baselines' validation PSNR: [0] the input itself (for
 * super resolution its bicubic upscale), [1] the mean face colour (NaN
 * where not defined), with what each is called in the progress and plot. */
typedef struct
{
  gdouble     psnr[2], l1[2];
  const char *name[2];
} NpBaselines;

typedef struct _NpHistory NpHistory;

NpHistory          *np_history_new   (void);
void                np_history_free  (NpHistory *history);
void                np_history_add   (NpHistory *history, const NpHistoryRow *row);
const NpHistoryRow *np_history_last  (const NpHistory *history);
/* Reads a history CSV, keeping the rows up to up_to_step (a resumed run). */
gboolean            np_history_load  (NpHistory *history, const char *path, gint64 up_to_step,
                                      GError **error);
gboolean            np_history_save  (const NpHistory *history, const char *path, GError **error);
/* The losses over the steps, and the validation PSNR against the baselines. */
gboolean            np_history_plot  (const NpHistory *history, const NpBaselines *baselines,
                                      const char *path, GError **error);

/* A grid PNG: row r, column c shows picture r of columns[c] (R'G'B' in
 * [0, 1], all of one size). */
gboolean            np_grid_save     (NpTensor *const *columns, gint n_columns, gint rows,
                                      const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpHistory, np_history_free)

G_END_DECLS
