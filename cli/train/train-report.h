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
  gdouble       val_colourfulness;  /* the outputs' (np_score_colourfulness) */
} CliHistoryRow;

/* The trivial baselines' validation PSNR: [0] the input itself (for
 * super resolution its bicubic upscale), [1] the mean face colour (NaN
 * where not defined), with what each is called in the progress and plot. */
typedef struct
{
  gdouble     psnr[2], l1[2];
  const char *name[2];
  gdouble     photo_colourfulness;  /* the validation photos' own */
} CliBaselines;

typedef struct _NpHistory CliHistory;

CliHistory          *cli_history_new   (void);
void                cli_history_free  (CliHistory *history);
void                cli_history_add   (CliHistory *history, const CliHistoryRow *row);
const CliHistoryRow *cli_history_last  (const CliHistory *history);
/* Reads a history CSV, keeping the rows up to up_to_step (a resumed run). */
gboolean            cli_history_load  (CliHistory *history, const char *path, gint64 up_to_step,
                                      GError **error);
gboolean            cli_history_save  (const CliHistory *history, const char *path, GError **error);
/* The losses over the steps, and the validation PSNR against the baselines. */
gboolean            cli_history_plot  (const CliHistory *history, const CliBaselines *baselines,
                                      const char *path, GError **error);

/* A grid PNG: row r, column c shows picture r of columns[c] (R'G'B' in
 * [0, 1], all of one size). */
gboolean            cli_grid_save     (NpTensor *const *columns, gint n_columns, gint rows,
                                      const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliHistory, cli_history_free)

G_END_DECLS
