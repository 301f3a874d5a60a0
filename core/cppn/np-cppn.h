/* neuropaint — CPPN art: a randomly initialised dense network evaluated at
 * every pixel (David Ha's idea, Tuan Le's NumPy version; see docs/seed.md).
 *
 * Inputs per pixel are x, y, r = √(x² + y²) and a constant z vector; depth
 * hidden layers of `size` units (tanh by default) lead to a sigmoid output
 * layer whose units are read as a colour. W and b are N(0, std²) drawn from a
 * portable generator (util/np-rng.h), so a seed names an image everywhere.
 *
 *   NpCppnParams p;
 *   np_cppn_params_init (&p);          // the original's defaults
 *   p.seed = 7;
 *   g_autoptr(NpCppn) net = np_cppn_new (&p, &error);
 *   np_cppn_render (net, 0, 0, p.width, p.height, rgba, stride, n_threads);
 *
 * A pixel depends only on its coordinates and the parameters: every pixel goes
 * through the same instructions, whichever region, tile or thread renders it,
 * so any rectangle can be rendered alone and tiles give identical bytes.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  NP_CPPN_COORDS_ORIGINAL, /* x = row/min(W,H) − 0.5, y = column/min(W,H) − 0.5 */
  NP_CPPN_COORDS_CENTERED, /* x right, y down, 0 at the centre, short side 1/zoom */
} NpCppnCoords;

typedef enum
{
  NP_CPPN_TANH,
  NP_CPPN_SIGMOID,
  NP_CPPN_RELU,
  NP_CPPN_IDENTITY,
  NP_CPPN_SOFTSIGN,
  NP_CPPN_SIN,
  NP_CPPN_COS,
  NP_CPPN_N_ACTIVATIONS
} NpCppnActivation;

#define NP_CPPN_MAX_Z      64
#define NP_CPPN_MAX_DEPTH  1000
#define NP_CPPN_MAX_SIZE   4096
/* Weights beyond this (64 MiB of floats) are surely a typo, not art. */
#define NP_CPPN_MAX_WEIGHTS (G_GINT64_CONSTANT (1) << 24)

typedef struct
{
  guint64      seed;
  gint         width, height;   /* the picture the coordinates are laid out on */
  const gchar *color_mode;      /* bw, rgb, cmyk, hsv or hsl */
  gboolean     alpha;           /* one more output, a = 0.25 + 0.75 (1 − |2·out − 1|) */
  gint         depth;           /* hidden layers */
  gint         size;            /* units per hidden layer */
  /* Hidden activation: one name, or a comma-separated list repeated over the
   * layers ("sin,tanh" alternates). */
  const gchar *activation;
  gint         n_z;             /* length of z (0 .. NP_CPPN_MAX_Z) */
  gdouble      z[NP_CPPN_MAX_Z];
  gboolean     sym;             /* x ← x², y ← y² before r */
  gboolean     trig;            /* z1 ← cos(z1·x), z2 ← sin(z2·y) */
  NpCppnCoords coords;
  gdouble      zoom, pan_x, pan_y;  /* centered coordinates only */
  gdouble      hidden_std;      /* spread of the hidden layers' W and b */
  gdouble      output_std;      /* spread of the output layer's W and b */
  gboolean     bias;            /* FALSE: every b is 0 (and none is drawn) */
  gboolean     radius;          /* FALSE: no r input */
} NpCppnParams;

typedef struct _NpCppn NpCppn;

/* The original's defaults: 512×512 rgb, depth 10, size 15, tanh, z = (−0.618,
 * 0.618), original coordinates, std 1, bias and radius on, seed 0. */
void          np_cppn_params_init   (NpCppnParams *params);

/* Checks every parameter (unknown names, depth 0, absurd sizes: one clear
 * NP_ERROR each, before any large allocation) and draws the weights. */
NpCppn       *np_cppn_new           (const NpCppnParams *params, GError **error);
void          np_cppn_free          (NpCppn *cppn);

/* Renders the pixels [x0, x0+width) × [y0, y0+height) of the plane (x0 a
 * column, y0 a row of the params' picture; outside it is allowed) as
 * unpremultiplied RGBA float, rows `stride` bytes apart. Thread-safe: cppn is
 * only read. n_threads <= 0 means one per processor. */
void          np_cppn_render        (const NpCppn *cppn,
                                     gint x0, gint y0, gint width, gint height,
                                     gfloat *rgba, gsize stride, gint n_threads);

/* The same at mipmap level (GEGL's `level`): pixel (x, y) of the result is
 * pixel (x·2^level, y·2^level) of the plane, so a zoomed-out preview shows
 * the picture at its size, point-sampled. Level 0 is np_cppn_render. */
void          np_cppn_render_level  (const NpCppn *cppn,
                                     gint x0, gint y0, gint width, gint height,
                                     gint level, gfloat *rgba, gsize stride,
                                     gint n_threads);

/* The network and the parameters that shape the picture, as JSON (format in
 * docs/cppn.md), so the maths can be checked by an independent program. */
gchar        *np_cppn_to_json       (const NpCppn *cppn);

/* Sets params->z from a comma-separated list of numbers ("" is allowed: no
 * z inputs); one clear error for anything else. */
gboolean      np_cppn_params_set_z  (NpCppnParams *params, const gchar *list,
                                     GError **error);

/* Multiply–adds per pixel, for GFLOP/s figures (one FLOP = half of one). */
gint64        np_cppn_macs_per_pixel (const NpCppn *cppn);

/* The kernel copy this CPU runs: "avx512", "avx2" or "generic" (see
 * cppn-kernel.c; NP_CPU forces a narrower one, util/np-cpu.h). */
const gchar  *np_cppn_kernel_isa    (void);

const gchar  *np_cppn_activation_name (NpCppnActivation activation);
gboolean      np_cppn_activation_from_name (const gchar *name,
                                            NpCppnActivation *activation,
                                            GError **error);
/* Names accepted for color_mode and activation, for help texts. */
#define NP_CPPN_COLOR_MODES "bw, rgb, cmyk, hsv, hsl"
#define NP_CPPN_ACTIVATIONS "tanh, sigmoid, relu, identity, softsign, sin, cos"

/* The pieces, exposed for the unit tests. All work on n floats in place. */
void          np_cppn_activate      (NpCppnActivation activation, gfloat *v, gsize n);
/* h, s, v / h, s, l in [0, 1] → r, g, b in [0, 1]. */
void          np_cppn_hsv_to_rgb    (gfloat h, gfloat s, gfloat v, gfloat rgb[3]);
void          np_cppn_hsl_to_rgb    (gfloat h, gfloat s, gfloat l, gfloat rgb[3]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpCppn, np_cppn_free)

G_END_DECLS
