/* neuropaint — the classic filters the models learn from.
 *
 * Point filters work on flat runs of RGBA pixels (what a GEGL point filter is
 * handed, tile by tile); whole-image filters take NpImage views. Semantics
 * follow OpenCV 4.6 exactly where the seed used OpenCV (see docs/seed.md).
 */
#pragma once

#include <glib.h>
#include "image/np-image.h"
#include "np-error.h"

G_BEGIN_DECLS

/* ITU-R BT.601 luma of gamma-encoded R'G'B' (OpenCV's RGB2GRAY weights),
 * written to all three colour channels; alpha is copied. */
#define NP_GRAY_R 0.299f
#define NP_GRAY_G 0.587f
#define NP_GRAY_B 0.114f

void np_gray_rgba_f32          (const gfloat *in, gfloat *out, gsize n_pixels);

/* Per colour channel c on 0–255 values: (c > threshold) ? threshold : 0, the
 * seed's "RGB binary" layers; alpha is copied. */
void np_rgb_threshold_rgba_u8  (const guint8 *in, guint8 *out, gsize n_pixels,
                                guint8 threshold);

/* Canny edges with OpenCV 4.6's exact semantics (cv::Canny, aperture 3):
 * 3×3 Sobel with replicated borders, L1 or L2 magnitude, non-maximum
 * suppression along the gradient quantised to 4 directions, hysteresis
 * between `low` and `high` over 8-connected neighbours. */
typedef enum
{
  NP_CANNY_GRADIENT_L1,       /* |dx| + |dy|, OpenCV's default (L2gradient=false) */
  NP_CANNY_GRADIENT_L2,       /* sqrt(dx² + dy²), compared as squares */
} NpCannyGradient;

typedef enum
{
  NP_CANNY_PER_CHANNEL,       /* channel c of the output: the edges of channel c */
  NP_CANNY_GRAY,              /* all three: the edges of the luma, as OpenCV's
                               * Canny (cvtColor (RGB2GRAY)) */
} NpCannyMode;

/* Far above the largest 3×3 Sobel magnitude of 8-bit samples (2040 in L1). */
#define NP_CANNY_THRESHOLD_MAX 10000.0

typedef struct
{
  gdouble         low, high;      /* 0 .. NP_CANNY_THRESHOLD_MAX; swapped if low > high */
  NpCannyGradient gradient;
  NpCannyMode     mode;
  gint            pre_threshold;  /* -1: off; 0–255: every channel c becomes
                                   * (c > t) ? t : 0 first (the seed's variant) */
} NpCannyParams;

/* in and out: u8, 3 or 4 channels, same size and channel count; out may be
 * in (the edge maps are complete before any output row is written); edges are 255, the rest 0; alpha is copied. The result is the same for
 * any n_threads (<= 0: one per processor). Fails only on bad parameters or
 * when the edge maps cannot be allocated. */
gboolean np_canny                   (const NpImage       *in,
                                     NpImage             *out,
                                     const NpCannyParams *params,
                                     gint                 n_threads,
                                     GError             **error);

/* The colour contours of the seed: for each channel j (R, G, B) and each
 * threshold k in order, the borders of the mask c_j > k, as OpenCV's
 * findContours (RETR_TREE, CHAIN_APPROX_SIMPLE) traces them and drawContours
 * (thickness 1) draws them, in value k on channel j and 0 on the other two,
 * later passes overwriting earlier ones, on black; alpha is copied.
 * in and out: u8, 3 or 4 channels, same size and channels, distinct memory. */
#define NP_CONTOURS_MAX_THRESHOLDS 256

void     np_contours                (const NpImage       *in,
                                     NpImage             *out,
                                     const guint8        *thresholds,
                                     gsize                n_thresholds,
                                     gint                 n_threads);

/* Parses a threshold list such as "50,100,150,200": 1 to
 * NP_CONTOURS_MAX_THRESHOLDS integers from 0 to 255, separated by commas
 * and/or spaces, into thresholds (room for NP_CONTOURS_MAX_THRESHOLDS).
 * Returns how many, or 0 with error set (NP_ERROR_INVALID_ARGUMENT) naming
 * the offending entry. */
gsize    np_contours_parse_thresholds (const gchar       *text,
                                       guint8            *thresholds,
                                       GError           **error);

/* ---- The seed's filters by name ------------------------------------------
 *
 * One registry for the generator (a model's metadata "input_filter") and the
 * dataset builder (`neuropaint prepare`), so a model sees at inference what
 * it was trained on. Parameters come as string key/values, the keys of the
 * model metadata (a NULL table, or a missing key, means the seed's value):
 *
 *   gray       1 channel: BT.601 luma as np_gray_rgba_f32 computes it,
 *              rounded to 8 bits
 *   binary     (alias rgb-threshold) per channel (c > t) · t;
 *              input_threshold t, default 200
 *   contours   np_contours; input_thresholds, default "50,100,150,200"
 *   canny      the seed's variant: per channel (c > t) · t, then Canny
 *              (140, 255), L1; input_threshold t, default 200
 *
 *   const NpFilter *f = np_filter_find ("contours");
 *   g_autoptr(NpImage) out = np_image_new (NP_SAMPLE_U8, w, h, np_filter_channels (f), &error);
 *   np_filter_apply (f, metadata, rgb, out, n_threads, &error);
 */
typedef struct _NpFilter NpFilter;

typedef struct
{
  const char *key;            /* a model metadata key, e.g. "input_threshold" */
  const char *default_value;  /* the seed's value, e.g. "200" */
  const char *description;
} NpFilterParam;

/* By name or alias; NULL when no filter has that name. */
const NpFilter        *np_filter_find      (const char *name);
/* Every filter, in the order above, NULL-terminated. */
const NpFilter *const *np_filter_list      (void);
/* The canonical name ("binary" for rgb-threshold). */
const char            *np_filter_name      (const NpFilter *filter);
/* Channels of np_filter_apply's result: 1 (gray) or 3 (R, G, B). */
gint                   np_filter_channels  (const NpFilter *filter);
/* The parameters the filter reads, ended by an entry with key NULL. */
const NpFilterParam   *np_filter_params    (const NpFilter *filter);
/* Checks the filter's parameters in params (NP_ERROR_INVALID_ARGUMENT,
 * naming the key and the value). */
gboolean               np_filter_check     (const NpFilter *filter, GHashTable *params,
                                            GError **error);
/* in: u8 R'G'B' or R'G'B'A (alpha ignored); out: u8, in's size,
 * np_filter_channels channels. Fails on bad parameters or when memory runs
 * out. The result is the same for any n_threads. */
gboolean               np_filter_apply     (const NpFilter *filter, GHashTable *params,
                                            const NpImage *in, NpImage *out,
                                            gint n_threads, GError **error);
/* The same on R'G'B'A float, in place: the picture is quantised to 8 bits
 * (gray excepted: its float luma is exact at any depth), filtered, and R, G,
 * B replaced (a one-channel result in all three); alpha is kept. */
gboolean               np_filter_apply_rgba_f32 (const NpFilter *filter, GHashTable *params,
                                                 NpImage *rgba, gint n_threads,
                                                 GError **error);

G_END_DECLS
