/* neuropaint — painting with a model: a picture in, the model's picture out.
 *
 * The stage above the neural core (nn) and the filters: it filters the
 * picture as the model's training inputs were (its metadata "input_filter",
 * through the filter registry in filters/np-filters.h), runs the network
 * tile by tile and blends the tiles.
 *
 *   g_autoptr(NpModel) model = np_model_load ("gray2color", &error);
 *   NpPaintOptions options = { .tile_size = 512, .overlap = 64, .n_threads = 2,
 *                              .apply_filter = TRUE };
 *   np_paint_generate (model, photo, result, &options, &error);
 */
#pragma once

#include <glib.h>
#include "np-error.h"
#include "image/np-image.h"
#include "nn/np-nn.h"
#include "model/np-model.h"
#include "haar/np-haar.h"

G_BEGIN_DECLS

typedef struct
{
  gint     tile_size;     /* largest tile side in pixels (rounded to the model's multiple) */
  gint     overlap;       /* pixels shared by neighbouring tiles, blended */
  gint     n_threads;
  gboolean apply_filter;  /* apply the model's metadata "input_filter" first */
  gboolean raw;           /* leave the network's outputs as they are (below) */
  /* A hint model's hint channels (np_model_hint_encode), F32 of
   * NP_MODEL_HINT_CHANNELS at the picture's size; NULL: no hints. */
  const NpImage *hints;
} NpPaintOptions;

/* Runs an image-to-image model (one input, 1 or 3 channels each way, output
 * the input's size, or s times it for a super-resolution net: see
 * np_net_output_scale; or half of it, rounded up, for a chroma-bins model,
 * which only raw runs serve, whole, untiled) on `in`, R'G'B'A float, into
 * `out` of that size:
 * optional input filter ("identity" or none: no filter; a name the filter
 * registry does not know is an NP_ERROR_UNSUPPORTED error), x·2 - 1
 * scaling, edge-replicated padding to np_net_size_multiple(), overlapping
 * tiles for larger pictures, (y + 1)/2 back, alpha copied (each input
 * pixel's to its s×s output pixels). Tiles blend the values the outputs
 * stand for (np_model_target_reduce: a chroma-bins model's logits become
 * their annealed mean's chroma). With options->raw those values stay on
 * the network's [-1, 1] scale in out's first channels (a chroma model's
 * Cb·2 and Cr·2), unclamped, for callers that compose them themselves;
 * otherwise they become the picture they stand for (np_model_target_decode).
 * A model that suits neither NP_MODEL_USE_IMAGE nor, for s = 2,
 * NP_MODEL_USE_SUPER_RESOLUTION is refused (np_model_check_use). A hint
 * model takes options->hints after its gray channel, or no hints; hints for
 * a model that takes none are NP_ERROR_UNSUPPORTED. With
 * batch norm on batch statistics each tile normalises by its own, so tiles
 * are not seamless: use a tile size above the picture. */
gboolean np_paint_generate (NpModel *model, const NpImage *in, NpImage *out,
                            const NpPaintOptions *options, GError **error);

/* The tiles neuropaint:super-resolution runs a ×2 model in by default
 * (input pixels), which dreams enlarged through one use too. */
#define NP_PAINT_SR_TILE_SIZE 256
#define NP_PAINT_SR_OVERLAP   16

/* A dream (dream.c says how each option works). */
typedef struct
{
  guint64  seed;
  guint64  seed2;             /* the seed mix walks to */
  gdouble  mix;               /* 0–1: 0 seed's face, 1 seed2's, between the arc between their z */
  gdouble  truncation;        /* ψ, 0–1: z times ψ, toward the prior's mean 0; 1 leaves z as drawn */
  NpModel *super_resolution;  /* a ×2 model for pictures larger than the model's; NULL: none */
  gint     n_threads;
} NpDreamOptions;

/* The size of a dream asked as width × height: a side of 0 is the model's
 * (its NpModelInfo's training size), or, with the other side given, the
 * one that keeps the model's aspect. */
void     np_paint_dream_size  (NpModel *model, gint width, gint height, gint *out_width, gint *out_height);
/* The ×2 steps through the super-resolution model a dream of width ×
 * height takes: 0 when the model's own picture is as large each way, and
 * for a model that is not latent (the noise U-Net, resized bicubically). */
gint     np_paint_dream_steps (NpModel *model, gint width, gint height);
/* A noise model's picture (np_model_check_use NP_MODEL_USE_NOISE: a latent
 * model from a vector, or a picture model from noise at its size) for
 * options, into out (R'G'B'A float, opaque, of any size): dreamt at the
 * model's size, through options->super_resolution np_paint_dream_steps
 * times (which it must then be; NP_ERROR_INVALID_ARGUMENT if NULL), then
 * resized bicubically if the size still differs. A mix or truncation
 * outside 0–1 is NP_ERROR_INVALID_ARGUMENT. */
gboolean np_paint_dream       (NpModel *model, const NpDreamOptions *options, NpImage *out, GError **error);

/* ---- Colourising photos of any size -------------------------------------
 *
 * A colouriser trained on 256×320 faces sees a 6000×4000 photo badly at the
 * photo's own scale, and running it there loses nothing but costs much. So,
 * as DeOldify (its render_factor) and Zhang et al. do: the photo's luma is
 * resized (not cropped) to the model's scale, the model colours that, only
 * its colour (chroma) is kept, scaled up bicubically, and put on the photo's
 * own full-resolution luminance. Detail, sharpness and tones stay the
 * photo's; the colour is the model's.
 *
 * The photo is read twice (three times with faces) in bands of rows, so
 * memory holds the rows resized across and the small render, never the
 * photo; the caller runs the bands and pieces on its threads:
 *
 *   c = np_colorizer_new (net, W, H, &options, &error);
 *   while (np_colorizer_needs_rows (c))
 *     {
 *       for each band of rows y..y+n, on any threads:
 *         np_colorizer_add_rows (c, y, rows y..y+n);
 *       np_colorizer_end_rows (c, &error);       // runs the model
 *     }
 *   for each piece (x, y) of the photo, on any threads:
 *     np_colorizer_apply (c, x, y, piece, out);
 */

typedef enum
{
  NP_CHROMA_YCBCR,   /* keep BT.601 luma Y', carry Cb and Cr (JPEG's YCbCr) */
  NP_CHROMA_LAB,     /* keep CIE L* (linear luminance), carry a* and b* */
} NpChromaSpace;

/* The render's long side: at least this, at most the other. */
#define NP_COLORIZE_MIN_RENDER  16
#define NP_COLORIZE_MAX_RENDER  4096
/* Faces are looked for on the photo's luma at most this long a side (a
 * face must be 60 pixels wide there), and at most this many are coloured. */
#define NP_COLORIZE_DETECT_SIDE 1024
#define NP_COLORIZE_MAX_FACES   16

typedef struct
{
  gint          render_size;  /* long side of the picture the model colours; 0: the model's
                                 training size's (its NpModelInfo's) */
  NpChromaSpace space;
  gfloat        saturation;   /* the model's chroma times this */
  NpFaceFinder *faces;        /* not NULL: also colour each face this finds at the model's
                                 scale, blended into the whole photo's colour */
  gint          n_threads;    /* the model's and the face finder's */
  gboolean      hints;        /* a hint picture comes with the photo (np_colorizer_add_hint_rows):
                                 a hint model takes it as input, and for any model what
                                 its colour missed at the hints is spread along the photo */
} NpColorizeOptions;

typedef struct _NpColorizer NpColorizer;

/* A colouriser for a width×height photo with model (np_model_check_use
 * NP_MODEL_USE_COLORIZE: a chroma model, or an RGB one whose chroma is
 * taken). A render size outside NP_COLORIZE_MIN/MAX_RENDER is
 * NP_ERROR_INVALID_ARGUMENT. The colouriser borrows model and the finder. */
NpColorizer *np_colorizer_new        (NpModel *model, gint width, gint height,
                                      const NpColorizeOptions *options, GError **error);
void         np_colorizer_free       (NpColorizer *colorizer);
/* Whether the photo must be read (again) before np_colorizer_apply. */
gboolean     np_colorizer_needs_rows (NpColorizer *colorizer);
/* Rows y .. y + rows->height − 1 of the photo, R'G'B'A float, or R'G'B'A or
 * R'G'B' u8 (an 8-bit photo as it is: the same bits as its values v/255 in
 * float), the photo's width; the whole photo, in bands of any height, in
 * any order and from several threads at once (each runs on the calling
 * thread): end_rows sums them in row order, so the result depends on
 * neither. */
void         np_colorizer_add_rows   (NpColorizer *colorizer, gint y, const NpImage *rows);
/* np_colorizer_add_rows in two steps, for a caller that gathers rows from
 * tiles: the luma of a piece of the photo (as for add_rows, any width; the
 * gray filter's, unclamped: what the models read) into luma, rows
 * luma_stride floats apart; and n rows of the photo's width so gathered,
 * added as rows y .. y + n − 1 (the same bits as add_rows, under its
 * rules). Rows no resampler wants (np_colorizer_wants_rows: none of rows
 * y .. y + n − 1, as a face's reading has) need not be read at all. */
void         np_colorizer_luma       (const NpImage *piece, gfloat *luma, gsize luma_stride);
gboolean     np_colorizer_wants_rows (NpColorizer *colorizer, gint y, gint n);
void         np_colorizer_add_luma_rows (NpColorizer *colorizer, gint y, gint n, const gfloat *luma,
                                         gsize luma_stride);
/* With options->hints: rows y .. y + rows->height − 1 of the hint picture,
 * R'G'B'A float of the photo's size, beside the photo's own in every
 * reading, from one thread, top to bottom. Its pixels more than half
 * opaque are hints of their colour; a picture without one colours as no
 * hint picture does, to the byte. */
void         np_colorizer_add_hint_rows (NpColorizer *colorizer, gint y, const NpImage *rows);
/* After the last row of a reading: resizes, runs the model (and the face
 * finder, then the model on every face). A hint picture opaque everywhere
 * is NP_ERROR_INVALID_ARGUMENT. */
gboolean     np_colorizer_end_rows   (NpColorizer *colorizer, GError **error);
/* Colours the piece of the photo at x, y of in's size (as for add_rows,
 * any width) into out (same size and format; may be in): the photo's
 * luminance, clamped to [0, 1], and the model's chroma; alpha copied. Where
 * that colour lies outside the gamut its chroma is scaled down until it
 * fits, which keeps the luminance; returns the number of such pixels. Bytes
 * out are the float result rounded as babl rounds float to u8 (v·255 + 0.5,
 * truncated): an 8-bit photo gives the bytes its float values and a
 * conversion give. It runs on the calling thread; pieces may be coloured
 * from several threads at once, in any order and of any size (an image's
 * tiles as they are), and the result depends on neither. */
gint64       np_colorizer_apply      (NpColorizer *colorizer, gint x, gint y, const NpImage *in,
                                      NpImage *out);
/* The size the model coloured the photo at, and the faces coloured. */
void         np_colorizer_render_size (NpColorizer *colorizer, gint *width, gint *height);
guint        np_colorizer_n_faces    (NpColorizer *colorizer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpColorizer, np_colorizer_free)

G_END_DECLS
