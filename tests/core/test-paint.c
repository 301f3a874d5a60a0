/* Unit tests of painting with a model (core/paint): the input filters a
 * model's metadata names. The tiling and the whole generator op are tested
 * through GEGL in tests/ops/test-generator.c. */
#define _POSIX_C_SOURCE 200809L   /* link, utimensat: a second name, an old time put back */
#include "neuropaint.h"
#include "image/np-colour.h"
#include "util/np-parallel.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <math.h>
#include <string.h>

/* A small U-Net with random weights. */
static NpNet *
small_unet (void)
{
  g_autoptr(GHashTable) p = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *desc = NULL;
  NpNet *net;

  g_hash_table_insert (p, "ngf", "4");
  g_hash_table_insert (p, "depth", "3");
  desc = np_arch_describe ("unet", p, &error);
  g_assert_no_error (error);
  net = np_net_new (desc, &error);
  g_assert_no_error (error);
  np_net_init_random (net, 5, 0.2f);
  return net;
}

/* A model of net (taken) whose metadata holds the NULL-terminated key,
 * value pairs. */
static NpModel *
model_with (NpNet *net, ...)
{
  va_list     ap;
  const char *key;

  va_start (ap, net);
  while ((key = va_arg (ap, const char *)))
    g_hash_table_insert (np_net_metadata (net), g_strdup (key), g_strdup (va_arg (ap, const char *)));
  va_end (ap);
  return np_model_new (net, NULL);
}

/* With apply_filter, np_paint_generate filters the picture as the model's
 * metadata says, with the seed's parameters: the same result as filtering it
 * here with the core filters and running the model on that. */
static void
test_generate_input_filters (void)
{
  enum { W = 37, H = 29 };
  static const char *const filters[] = { "rgb-threshold", "binary", "contours", "canny", "gray", "identity" };
  g_autoptr(NpImage) photo = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
  g_autoptr(GError) error = NULL;

  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++)
      {
        gfloat *px = (gfloat *) np_image_row (photo, y) + 4 * x;
        /* 8-bit values, so the u8 filters see exactly these. */
        px[0] = ((x * 37 + y * 11) % 256) / 255.0f;
        px[1] = ((x * 5 + y * 53) % 256) / 255.0f;
        px[2] = (x * y % 256) / 255.0f;
        px[3] = 1.0f;
      }

  for (gsize f = 0; f < G_N_ELEMENTS (filters); f++)
    {
      NpPaintOptions on = { 512, 0, 1, TRUE }, off = { 512, 0, 1, FALSE };
      g_autoptr(NpImage) a = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
      g_autoptr(NpImage) b = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
      g_autoptr(NpImage) bytes = np_image_new (NP_SAMPLE_U8, W, H, 4, NULL);
      g_autoptr(NpImage) drawn = np_image_new (NP_SAMPLE_U8, W, H, 4, NULL);
      g_autoptr(NpImage) filtered = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
      const guint8 ks[] = { 50, 100, 150, 200 };
      NpCannyParams seed = { .low = 140, .high = 255, .gradient = NP_CANNY_GRADIENT_L1,
                             .mode = NP_CANNY_PER_CHANNEL, .pre_threshold = 200 };
      const char *name = filters[f];
      g_autoptr(NpModel) model = model_with (small_unet (), "input_filter", name, NULL);

      g_assert_true (np_paint_generate (model, photo, a, &on, &error));
      g_assert_no_error (error);

      for (gint y = 0; y < H; y++)
        for (gint i = 0; i < W * 4; i++)
          ((guint8 *) np_image_row (bytes, y))[i] =
            (guint8) (((gfloat *) np_image_row (photo, y))[i] * 255.0f + 0.5f);
      if (strcmp (name, "rgb-threshold") == 0 || strcmp (name, "binary") == 0)
        for (gint y = 0; y < H; y++)
          np_rgb_threshold_rgba_u8 (np_image_row (bytes, y), np_image_row (drawn, y), W, 200);
      else if (strcmp (name, "contours") == 0)
        np_contours (bytes, drawn, ks, G_N_ELEMENTS (ks), 1);
      else if (strcmp (name, "canny") == 0)
        g_assert_true (np_canny (bytes, drawn, &seed, 1, NULL));
      for (gint y = 0; y < H; y++)
        for (gint i = 0; i < W * 4; i++)
          ((gfloat *) np_image_row (filtered, y))[i] =
            i % 4 == 3 ? 1.0f : ((guint8 *) np_image_row (drawn, y))[i] / 255.0f;
      /* Gray stays in float (exact at any depth); identity filters nothing. */
      if (strcmp (name, "gray") == 0 || strcmp (name, "identity") == 0)
        for (gint y = 0; y < H; y++)
          memcpy (np_image_row (filtered, y), np_image_row (photo, y), W * 4 * sizeof (gfloat));
      if (strcmp (name, "gray") == 0)
        for (gint y = 0; y < H; y++)
          np_gray_rgba_f32 (np_image_row (filtered, y), np_image_row (filtered, y), W);

      g_assert_true (np_paint_generate (model, filtered, b, &off, &error));
      for (gint y = 0; y < H; y++)
        g_assert_cmpmem (np_image_row (a, y), W * 4 * sizeof (gfloat),
                         np_image_row (b, y), W * 4 * sizeof (gfloat));
    }

  /* The filter's parameters come from the metadata too. */
  {
    NpPaintOptions on = { 512, 0, 1, TRUE }, off = { 512, 0, 1, FALSE };
    g_autoptr(NpImage) a = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
    g_autoptr(NpImage) b = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
    g_autoptr(NpImage) filtered = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
    g_autoptr(NpModel) model = model_with (small_unet (), "input_filter", "binary", "input_threshold", "90", NULL);
    g_autoptr(NpModel) bad = model_with (small_unet (), "input_filter", "binary", "input_threshold", "900", NULL);

    g_assert_true (np_paint_generate (model, photo, a, &on, &error));
    for (gint y = 0; y < H; y++)
      for (gint i = 0; i < W * 4; i++)
        {
          gint c = (gint) (((gfloat *) np_image_row (photo, y))[i] * 255.0f + 0.5f);
          ((gfloat *) np_image_row (filtered, y))[i] = i % 4 == 3 ? 1.0f : c > 90 ? 90 / 255.0f : 0.0f;
        }
    g_assert_true (np_paint_generate (model, filtered, b, &off, &error));
    for (gint y = 0; y < H; y++)
      g_assert_cmpmem (np_image_row (a, y), W * 4 * sizeof (gfloat),
                       np_image_row (b, y), W * 4 * sizeof (gfloat));

    /* A bad value is an error naming the key, not a silent clamp. */
    g_assert_false (np_paint_generate (bad, photo, a, &on, &error));
    g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "input_threshold"));
    g_clear_error (&error);
  }

  /* A filter the generator does not apply itself is refused clearly. */
  {
    NpPaintOptions on = { 512, 0, 1, TRUE };
    g_autoptr(NpImage) a = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
    g_autoptr(NpModel) model = model_with (small_unet (), "input_filter", "noise", NULL);
    g_assert_false (np_paint_generate (model, photo, a, &on, &error));
    g_assert_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "noise"));
  }
}

/* A chroma model's Cb and Cr land on the input's own luminance: with a
 * 1×1 convolution the chroma is known in closed form (tanh (w·(2g − 1) + b)
 * for each channel), so the expected colour is written out here with
 * BT.601's inverse, and the result's luma equals the input's where nothing
 * clips. */
static void
test_generate_chroma (void)
{
  enum { W = 19, H = 11 };
  g_autoptr(GError) error = NULL;
  g_autoptr(NpNet) net = np_net_new ("input name=x c=1\nconv name=c out=2 k=1\ntanh", &error);
  g_autoptr(NpModel) model = NULL;
  g_autoptr(NpImage) photo = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
  g_autoptr(NpImage) out = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
  NpPaintOptions options = { 512, 0, 1, FALSE };
  const gfloat w[2] = { 0.3f, -0.2f }, b[2] = { 0.1f, 0.05f };
  gint unclipped = 0;

  g_assert_no_error (error);
  memcpy (np_net_param (net, "c.weight")->data, w, sizeof w);
  memcpy (np_net_param (net, "c.bias")->data, b, sizeof b);
  model = model_with (g_steal_pointer (&net), "target", "chroma-ycbcr", NULL);
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++)
      {
        gfloat *p = (gfloat *) np_image_row (photo, y) + 4 * x;
        p[0] = (x * 13 % W) / (gfloat) W, p[1] = (y * 7 % H) / (gfloat) H, p[2] = ((x + y) % 5) / 5.0f, p[3] = 0.75f;
      }
  g_assert_true (np_paint_generate (model, photo, out, &options, &error));
  g_assert_no_error (error);
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++)
      {
        const gfloat *p = (gfloat *) np_image_row (photo, y) + 4 * x, *o = (gfloat *) np_image_row (out, y) + 4 * x;
        double luma = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
        double cb = 0.5 * tanh (w[0] * (2 * luma - 1) + b[0]), cr = 0.5 * tanh (w[1] * (2 * luma - 1) + b[1]);
        double want[3] = { luma + 1.402 * cr, luma - 0.344136 * cb - 0.714136 * cr, luma + 1.772 * cb };
        for (int c = 0; c < 3; c++)
          g_assert_cmpfloat_with_epsilon (o[c], CLAMP (want[c], 0, 1), 1e-4);
        g_assert_cmpfloat (o[3], ==, 0.75f);
        if (want[0] >= 0 && want[0] <= 1 && want[1] >= 0 && want[1] <= 1 && want[2] >= 0 && want[2] <= 1)
          {
            g_assert_cmpfloat_with_epsilon (0.299 * o[0] + 0.587 * o[1] + 0.114 * o[2], luma, 1e-5);
            unclipped++;
          }
      }
  g_assert_cmpint (unclipped, >, W * H / 2);

  /* A chroma model must take gray and give two channels. */
  {
    g_autoptr(NpModel) bad = model_with (np_net_new ("input name=x c=3\nconv name=c out=2 k=1", &error), "target",
                                         "chroma-ycbcr", NULL);
    g_assert_false (np_paint_generate (bad, photo, out, &options, &error));
    g_assert_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED);
  }
}

/* ---- Resampling rows as they arrive ------------------------------------- */

/* Runs a resampler of region (x, y, w, h) of a W×H picture to dw×dh, handed
 * its rows in pieces of `piece` rows (the rows are whole picture rows). */
static NpImage *
resample (const gfloat *picture, gint W, gint H, gint x, gint y, gint w, gint h, gint dw, gint dh)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NpResampler) r = np_resampler_new (x, y, w, h, dw, dh, 1, &error);
  NpImage *copy;

  g_assert_no_error (error);
  for (gint j = 0; j < H; j++)
    np_resampler_add_row (r, j, picture + (gsize) j * W);
  copy = np_image_new (NP_SAMPLE_F32, dw, dh, 1, NULL);
  for (gint j = 0; j < dh; j++)
    memcpy (np_image_row (copy, j), np_image_row (np_resampler_result (r), j), dw * sizeof (gfloat));
  return copy;
}

/* Hand-checkable cases of Pillow's BILINEAR: the same size is the picture;
 * halving weighs 4 pixels 1/8, 3/8, 3/8, 1/8 (the triangle widened to 2),
 * fewer at the edges, renormalised; an enlargement interpolates linearly;
 * a region's result ignores everything outside it. */
static void
test_resampler (void)
{
  enum { W = 12, H = 6 };
  gfloat picture[W * H];
  g_autoptr(NpImage) same = NULL, half = NULL, region = NULL, doubled = NULL;

  for (gint i = 0; i < W * H; i++)
    picture[i] = (gfloat) ((i * 37) % 11);
  same = resample (picture, W, H, 0, 0, W, H, W, H);
  for (gint j = 0; j < H; j++)
    for (gint i = 0; i < W; i++)
      g_assert_cmpfloat (((gfloat *) np_image_row (same, j))[i], ==, picture[j * W + i]);

  half = resample (picture, W, H, 0, 0, W, H, W / 2, H);
  for (gint j = 0; j < H; j++)
    for (gint i = 0; i < W / 2; i++)
      {
        const gfloat *p = picture + j * W;
        double want = i == 0 ? (3 * p[0] + 3 * p[1] + p[2]) / 7.0
                    : i == W / 2 - 1 ? (p[2 * i - 1] + 3 * p[2 * i] + 3 * p[2 * i + 1]) / 7.0
                    : (p[2 * i - 1] + 3 * p[2 * i] + 3 * p[2 * i + 1] + p[2 * i + 2]) / 8.0;
        g_assert_cmpfloat_with_epsilon (((gfloat *) np_image_row (half, j))[i], want, 1e-5);
      }

  /* Columns 4..7 of rows 2..3 only: halving those averages as above. */
  region = resample (picture, W, H, 4, 2, 4, 2, 2, 1);
  {
    const gfloat *a = picture + 2 * W + 4, *b = picture + 3 * W + 4;
    double left = ((3 * a[0] + 3 * a[1] + a[2]) + (3 * b[0] + 3 * b[1] + b[2])) / 14.0;
    g_assert_cmpfloat_with_epsilon (((gfloat *) np_image_row (region, 0))[0], left, 1e-5);
  }

  /* Twice the size of a ramp: (i + 0.5)/2 − 0.5 between its samples. */
  for (gint i = 0; i < W * H; i++)
    picture[i] = (gfloat) (i % W);
  doubled = resample (picture, W, H, 0, 0, W, H, 2 * W, H);
  for (gint i = 1; i < 2 * W - 1; i++)
    g_assert_cmpfloat_with_epsilon (((gfloat *) np_image_row (doubled, 3))[i], (i + 0.5) / 2 - 0.5, 1e-5);
}

/* Rows resized across side by side (np_resampler_shrink_rows: 8 a vector
 * lane each, the rest alone) give each row's bits alone, whatever the run
 * of rows handed over: a region shrunk 5.2 times across and 1.4 times
 * down, rows from 0 to 21 at a time, values of every sign and scale. */
static void
test_resampler_rows (void)
{
  enum { W = 61, H = 45, X = 3, Y = 2, RW = 52, RH = 41, DW = 10, DH = 29 };
  static const gint runs[] = { 0, 1, 7, 8, 9, 16, 21 };
  g_autofree gfloat *picture = g_new (gfloat, W * H);
  g_autofree gfloat *shrunk = g_new (gfloat, (gsize) H * DW);
  g_autoptr(NpImage) want = NULL;

  for (gint i = 0; i < W * H; i++)
    picture[i] = (gfloat) (sin (i * 0.37) * pow (10.0, (i % 7) - 3));
  want = resample (picture, W, H, X, Y, RW, RH, DW, DH);
  for (guint u = 0; u < G_N_ELEMENTS (runs); u++)
    {
      g_autoptr(NpResampler) r = np_resampler_new (X, Y, RW, RH, DW, DH, 1, NULL);
      gint j = Y;

      /* A run of 0 rows first, then the run's rows at a time. */
      np_resampler_shrink_rows (r, picture, W, 0, shrunk, DW);
      while (j < Y + RH)
        {
          gint n = MIN (MAX (runs[u], 1), Y + RH - j);

          np_resampler_shrink_rows (r, picture + (gsize) j * W, W, n, shrunk, DW);
          for (gint k = 0; k < n; k++)
            np_resampler_add_shrunk_row (r, j + k, shrunk + (gsize) k * DW);
          j += n;
        }
      for (gint k = 0; k < DH; k++)
        g_assert_cmpmem (np_image_row (np_resampler_result (r), k), DW * sizeof (gfloat),
                         np_image_row (want, k), DW * sizeof (gfloat));
    }
}

/* ---- Colourising ---------------------------------------------------------- */

/* A 1×1 chroma model, Cb, Cr = ½ tanh (w·(2·gray − 1) + b): its colour at
 * any scale is known in closed form. */
static NpModel *
pointwise_chroma (gfloat w0, gfloat b0, gfloat w1, gfloat b1)
{
  g_autoptr(GError) error = NULL;
  NpNet *net = np_net_new ("input name=x c=1\nconv name=c out=2 k=1\ntanh", &error);
  const gfloat w[2] = { w0, w1 }, b[2] = { b0, b1 };

  g_assert_no_error (error);
  memcpy (np_net_param (net, "c.weight")->data, w, sizeof w);
  memcpy (np_net_param (net, "c.bias")->data, b, sizeof b);
  return model_with (net, "target", "chroma-ycbcr", "input_filter", "gray", NULL);
}

/* A small U-Net chroma model (ngf 4, depth 3) of random weights: seed and
 * scale as np_net_init_random takes them. */
static NpModel *
random_unet_chroma (guint64 seed, gfloat scale)
{
  g_autoptr(GHashTable) p = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *desc = NULL;
  NpNet *net;

  g_hash_table_insert (p, "ngf", "4");
  g_hash_table_insert (p, "depth", "3");
  g_hash_table_insert (p, "in_channels", "1");
  g_hash_table_insert (p, "out_channels", "2");
  desc = np_arch_describe ("unet", p, &error);
  net = np_net_new (desc, &error);
  g_assert_no_error (error);
  np_net_init_random (net, seed, scale);
  return model_with (net, "target", "chroma-ycbcr", NULL);
}

/* A 1×1 hint model that gives its hint channels back as its chroma: Cb·2,
 * Cr·2 = the hint's, 0 without one (plus ±(gray_weight·gray + bias)). What
 * it paints is known exactly. */
static NpModel *
hint_echo (gfloat gray_weight, gfloat bias)
{
  g_autoptr(GError) error = NULL;
  NpNet *net = np_net_new ("input name=x c=4\nconv name=c out=2 k=1", &error);
  const gfloat w[8] = { gray_weight, 1, 0, 0, -gray_weight, 0, 1, 0 }, b[2] = { bias, -bias };

  g_assert_no_error (error);
  memcpy (np_net_param (net, "c.weight")->data, w, sizeof w);
  memcpy (np_net_param (net, "c.bias")->data, b, sizeof b);
  return model_with (net, "target", "chroma-ycbcr", "input_filter", "gray", "hints", "ycbcr-spread", NULL);
}

typedef struct
{
  NpColorizer   *c;
  const NpImage *photo;
  NpImage       *out;
  gint           piece, out_piece, across;   /* across: pieces in a row of the colouring */
  gint           threads;
  gint64        *clipped;                   /* per colouring piece */
} Pieces;

static NpImage
piece_view (const NpImage *image, gint x, gint y, gint w, gint h)
{
  gsize at = (gsize) x * image->channels * (image->type == NP_SAMPLE_U8 ? 1 : 4);
  return np_image_view (image->type, w, h, image->channels, (guint8 *) np_image_row (image, y) + at, image->stride);
}

/* Reading piece i: rows i·piece on, last piece first. On several threads
 * its luma is gathered from tiles 5 columns wide (np_colorizer_luma, then
 * np_colorizer_add_luma_rows), as the op reads a GEGL buffer. */
static void
read_piece (gint i, gpointer data)
{
  Pieces *p = data;
  gint    y = ((p->photo->height - 1) / p->piece - i) * p->piece, h = MIN (p->piece, p->photo->height - y);
  NpImage rows = piece_view (p->photo, 0, y, p->photo->width, h);
  g_autofree gfloat *luma = NULL;

  if (p->threads == 1)
    {
      np_colorizer_add_rows (p->c, y, &rows);
      return;
    }
  if (!np_colorizer_wants_rows (p->c, y, h))
    return;
  luma = g_new (gfloat, (gsize) p->photo->width * h);
  for (gint x = 0; x < p->photo->width; x += 5)
    {
      NpImage tile = piece_view (p->photo, x, y, MIN (5, p->photo->width - x), h);
      np_colorizer_luma (&tile, luma + x, p->photo->width);
    }
  np_colorizer_add_luma_rows (p->c, y, h, luma, p->photo->width);
}

/* Colouring piece i: out_piece rows by out_piece + 2 columns, last first. */
static void
colour_piece (gint i, gpointer data)
{
  Pieces *p = data;
  gint    cols = p->out_piece + 2, last = (p->photo->height - 1) / p->out_piece * p->across + p->across - 1;
  gint    x = (last - i) % p->across * cols, y = (last - i) / p->across * p->out_piece;
  gint    w = MIN (cols, p->photo->width - x), h = MIN (p->out_piece, p->photo->height - y);
  NpImage in = piece_view (p->photo, x, y, w, h), o = piece_view (p->out, x, y, w, h);

  p->clipped[i] = np_colorizer_apply (p->c, x, y, &in, &o);
}

/* Runs a colouriser over photo (R'G'B'A float or u8, R'G'B' u8; the result
 * is of its format), reading it in pieces of `piece` rows and colouring it
 * in pieces of `out_piece` rows by `out_piece` + 2 columns, last piece
 * first, on options->n_threads threads (reading from tiles when more than
 * one); hints are read top to bottom. */
static NpImage *
colorize_hinted (NpModel *model, const NpImage *photo, const NpImage *hints, const NpColorizeOptions *options,
                 gint piece, gint out_piece, gint64 *clipped)
{
  g_autoptr(GError) error = NULL;
  NpColorizeOptions with = *options;
  NpImage *out = np_image_new (photo->type, photo->width, photo->height, photo->channels, NULL);
  Pieces   p = { NULL, photo, out, piece, out_piece, (photo->width + out_piece + 1) / (out_piece + 2),
                 options->n_threads, NULL };
  gint     n_reads = (photo->height + piece - 1) / piece;
  gint     n_colours = (photo->height + out_piece - 1) / out_piece * p.across;

  with.hints = hints != NULL;
  p.c = np_colorizer_new (model, photo->width, photo->height, &with, &error);
  g_assert_no_error (error);
  while (np_colorizer_needs_rows (p.c))
    {
      np_parallel_claim (n_reads, options->n_threads, read_piece, &p);
      for (gint y = 0; hints && y < photo->height; y += piece)
        {
          NpImage hint_rows = piece_view (hints, 0, y, photo->width, MIN (piece, photo->height - y));
          np_colorizer_add_hint_rows (p.c, y, &hint_rows);
        }
      g_assert_true (np_colorizer_end_rows (p.c, &error));
      g_assert_no_error (error);
    }
  p.clipped = g_new0 (gint64, n_colours);
  np_parallel_claim (n_colours, options->n_threads, colour_piece, &p);
  np_colorizer_free (p.c);
  if (clipped)
    for (gint i = *clipped = 0; i < n_colours; i++)
      *clipped += p.clipped[i];
  g_free (p.clipped);
  return out;
}

static NpImage *
colorize (NpModel *model, const NpImage *photo, const NpColorizeOptions *options, gint piece, gint out_piece,
          gint64 *clipped)
{
  return colorize_hinted (model, photo, NULL, options, piece, out_piece, clipped);
}

/* Chroma (u, v) on luma y by the rule docs/operations.md states: the
 * largest t ≤ 1 for which y + t·(the chroma's RGB offsets) fits [0, 1]. */
static void
closed_form (double y, double u, double v, double *rgb, gboolean *scaled)
{
  double d[3] = { 1.402 * v, -(0.299 * 1.402 * v + 0.114 * 1.772 * u) / 0.587, 1.772 * u }, t = 1;

  for (int c = 0; c < 3; c++)
    t = MIN (t, d[c] > 0 ? (1 - y) / d[c] : d[c] < 0 ? -y / d[c] : 1);
  for (int c = 0; c < 3; c++)
    rgb[c] = y + t * d[c];
  *scaled = t < 1;
}

/* Pixels of one luma but different colours: the model sees one gray, so
 * every pixel gets its one colour (the photo's own chroma is gone); a
 * gradient with a model that ignores the gray gets that colour on each
 * pixel's own luma, with the gamut rule and the saturation. */
static void
test_colorize_closed_form (void)
{
  enum { W = 37, H = 23 };
  g_autoptr(NpImage) photo = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
  g_autoptr(NpModel) net = pointwise_chroma (0.8f, 0.1f, -0.6f, 0.3f);
  g_autoptr(NpModel) flat = pointwise_chroma (0, 0.9f, 0, -0.7f);
  NpColorizeOptions options = { 0, NP_CHROMA_YCBCR, 1.0f, NULL, 1 };
  g_autoptr(NpImage) out = NULL, grad = NULL;
  gint64 clipped = 0, want_clipped = 0;

  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++)
      {
        gfloat *p = (gfloat *) np_image_row (photo, y) + 4 * x;
        /* Luma 0.4 in every pixel: red and blue traded against green. */
        p[0] = 0.4f + 0.3f * ((x + y) % 3 - 1);
        p[2] = 0.4f - 0.2f * (x % 2);
        p[1] = (0.4f - 0.299f * p[0] - 0.114f * p[2]) / 0.587f;
        p[3] = x < 5 ? 0.25f : 1.0f;
      }
  out = colorize (net, photo, &options, 5, 7, NULL);
  {
    double cb = 0.5 * tanh (0.8 * (2 * 0.4 - 1) + 0.1), cr = 0.5 * tanh (-0.6 * (2 * 0.4 - 1) + 0.3), rgb[3];
    gboolean scaled;

    closed_form (0.4, cb, cr, rgb, &scaled);
    for (gint y = 0; y < H; y++)
      for (gint x = 0; x < W; x++)
        {
          const gfloat *o = (gfloat *) np_image_row (out, y) + 4 * x;
          for (int c = 0; c < 3; c++)
            g_assert_cmpfloat_with_epsilon (o[c], rgb[c], 1e-5);
          g_assert_cmpfloat (o[3], ==, x < 5 ? 0.25f : 1.0f);
        }
  }

  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++)
      {
        gfloat *p = (gfloat *) np_image_row (photo, y) + 4 * x;
        p[0] = p[1] = p[2] = (x + W * y) / (gfloat) (W * H - 1);
      }
  options.saturation = 0.7f;
  grad = colorize (flat, photo, &options, H, 4, &clipped);
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++)
      {
        const gfloat *p = (gfloat *) np_image_row (photo, y) + 4 * x, *o = (gfloat *) np_image_row (grad, y) + 4 * x;
        double rgb[3];
        gboolean scaled;

        closed_form (p[0], 0.7 * 0.5 * tanh (0.9), 0.7 * 0.5 * tanh (-0.7), rgb, &scaled);
        want_clipped += scaled;
        for (int c = 0; c < 3; c++)
          g_assert_cmpfloat_with_epsilon (o[c], rgb[c], 2e-5);
        g_assert_cmpfloat_with_epsilon (0.299 * o[0] + 0.587 * o[1] + 0.114 * o[2], p[0], 2e-5);
      }
  /* Bright and dark ends do not fit: the rule had work, and it is counted. */
  g_assert_cmpint (want_clipped, >, W * H / 10);
  g_assert_cmpint (clipped, ==, want_clipped);
}

/* The same bits however the rows come and go, on any thread count; Lab
 * keeps the linear luminance. */
static void
test_colorize_pieces_threads_lab (void)
{
  enum { W = 53, H = 41 };
  g_autoptr(GError) error = NULL;
  g_autoptr(NpModel) model = NULL;
  g_autoptr(NpImage) photo = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
  g_autoptr(NpImage) a = NULL, b = NULL, c = NULL, lab = NULL;
  NpColorizeOptions options = { 24, NP_CHROMA_YCBCR, 1.3f, NULL, 1 };

  model = random_unet_chroma (9, 0.3f);
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++)
      {
        gfloat *q = (gfloat *) np_image_row (photo, y) + 4 * x;
        q[0] = (x * 29 + y * 3) % 97 / 96.0f, q[1] = (x * y) % 61 / 60.0f, q[2] = 0.5f, q[3] = 1;
      }
  a = colorize (model, photo, &options, H, H, NULL);
  b = colorize (model, photo, &options, 1, 3, NULL);
  options.n_threads = 3;
  c = colorize (model, photo, &options, 7, 17, NULL);
  for (gint y = 0; y < H; y++)
    {
      g_assert_cmpmem (np_image_row (a, y), W * 16, np_image_row (b, y), W * 16);
      g_assert_cmpmem (np_image_row (a, y), W * 16, np_image_row (c, y), W * 16);
    }

  options.space = NP_CHROMA_LAB;
  lab = colorize (model, photo, &options, 9, 9, NULL);
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++)
      {
        const gfloat *q = (gfloat *) np_image_row (photo, y) + 4 * x, *o = (gfloat *) np_image_row (lab, y) + 4 * x;
        g_assert_cmpfloat_with_epsilon (np_linear_luminance (o[0], o[1], o[2]),
                                        np_linear_luminance (q[0], q[1], q[2]), 1e-4);
      }
}

/* An 8-bit photo coloured as bytes (R'G'B'A, and R'G'B') gives the bytes
 * its float values give, rounded as babl rounds float to u8 (clamped, then
 * v·255 + 0.5 truncated), however the rows come and on any thread count: in
 * YCbCr with the gamut rule at work, and in Lab. */
static void
test_colorize_bytes (void)
{
  enum { W = 61, H = 43 };
  g_autoptr(GError) error = NULL;
  g_autoptr(NpModel) model = NULL;
  g_autoptr(NpImage) bytes = np_image_new (NP_SAMPLE_U8, W, H, 4, NULL);
  g_autoptr(NpImage) opaque = np_image_new (NP_SAMPLE_U8, W, H, 3, NULL);
  g_autoptr(NpImage) floats = np_image_new (NP_SAMPLE_F32, W, H, 4, NULL);
  NpColorizeOptions options = { 24, NP_CHROMA_YCBCR, 2.5f, NULL, 1 };
  guint32 state = 7;

  model = random_unet_chroma (5, 0.5f);
  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W; x++)
      {
        guint8 *b = (guint8 *) np_image_row (bytes, y) + 4 * x;
        gfloat *f = (gfloat *) np_image_row (floats, y) + 4 * x;
        state = state * 1664525u + 1013904223u;
        /* Every byte value in each channel, black and white too. */
        b[0] = (guint8) (x * 5 + y), b[1] = (guint8) (state >> 24), b[2] = (guint8) (255 - x * y);
        b[3] = (guint8) (x < 4 ? 0 : x < 8 ? 128 : 255);
        for (int c = 0; c < 4; c++)
          f[c] = b[c] / 255.0f;
        memcpy ((guint8 *) np_image_row (opaque, y) + 3 * x, b, 3);
      }

  for (int space = 0; space < 2; space++)
    {
      g_autoptr(NpImage) want = NULL, one = NULL, three = NULL, rgb = NULL;
      gint64 clipped_floats = 0, clipped_bytes = 0;

      options.space = space ? NP_CHROMA_LAB : NP_CHROMA_YCBCR;
      options.n_threads = 1;
      want = colorize (model, floats, &options, H, H, &clipped_floats);
      one = colorize (model, bytes, &options, 5, 7, &clipped_bytes);
      options.n_threads = 3;
      three = colorize (model, bytes, &options, 16, 9, NULL);
      rgb = colorize (model, opaque, &options, 11, 6, NULL);
      g_assert_cmpint (clipped_bytes, ==, clipped_floats);
      if (space == 0)
        g_assert_cmpint (clipped_floats, >, W * H / 20);   /* the gamut rule had work */
      for (gint y = 0; y < H; y++)
        {
          g_assert_cmpmem (np_image_row (one, y), W * 4, np_image_row (three, y), W * 4);
          for (gint x = 0; x < W; x++)
            {
              const gfloat *f = (gfloat *) np_image_row (want, y) + 4 * x;
              const guint8 *b = (guint8 *) np_image_row (one, y) + 4 * x;
              for (int c = 0; c < 4; c++)
                g_assert_cmpint (b[c], ==, (gint) (CLAMP (f[c], 0.0f, 1.0f) * 255.0f + 0.5f));
              g_assert_cmpmem (b, 3, (guint8 *) np_image_row (rgb, y) + 3 * x, 3);
            }
        }
    }
}

/* The Hopper photo, whose face the finder sees, a finder and the faces it
 * finds; NULL (the test skipped) without facedetect's photo or OpenCV's
 * cascade. */
static NpImage *
hopper_and_faces (NpFaceFinder **finder, GArray **faces)
{
  const char *path = "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg";
  g_autoptr(GError) error = NULL;
  NpHaarParams seed = { 1.2, 5, 60, 60, 0, 0 };
  NpImage *bytes;

  if (!g_file_test (path, G_FILE_TEST_EXISTS) || !g_file_test (NP_HAAR_FRONTAL_FACE, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("needs facedetect's example photo and opencv-data");
      return NULL;
    }
  bytes = np_jpeg_load (path, 0, &error);
  g_assert_no_error (error);
  *finder = np_face_finder_new (NULL, FALSE, &error);
  g_assert_no_error (error);
  *faces = np_face_finder_find (*finder, bytes, &seed, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint ((*faces)->len, >=, 1);
  return bytes;
}

/* With faces, only the faces' crops change (the Hopper photo, whose face
 * the finder sees). */
static void
test_colorize_faces (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NpImage) bytes = NULL, photo = NULL, plain = NULL, faced = NULL;
  g_autoptr(NpFaceFinder) finder = NULL;
  g_autoptr(GArray) faces = NULL;
  g_autoptr(NpModel) net = pointwise_chroma (2.5f, 0.1f, -1.5f, 0.3f);
  NpColorizeOptions options = { 64, NP_CHROMA_YCBCR, 1.0f, NULL, 2 };
  gint changed_inside = 0;

  if ((bytes = hopper_and_faces (&finder, &faces)) == NULL)
    return;
  photo = np_image_new (NP_SAMPLE_F32, bytes->width, bytes->height, 4, NULL);
  for (gint y = 0; y < bytes->height; y++)
    for (gint x = 0; x < bytes->width; x++)
      for (gint c = 0; c < 4; c++)
        ((gfloat *) np_image_row (photo, y))[4 * x + c] =
          c == 3 ? 1 : ((guint8 *) np_image_row (bytes, y))[bytes->channels * x + MIN (c, bytes->channels - 1)] / 255.0f;

  plain = colorize (net, photo, &options, 64, 64, NULL);
  options.faces = finder;
  faced = colorize (net, photo, &options, 64, 64, NULL);
  for (gint y = 0; y < photo->height; y++)
    for (gint x = 0; x < photo->width; x++)
      {
        gboolean inside = FALSE;
        gboolean same = memcmp ((gfloat *) np_image_row (plain, y) + 4 * x,
                                (gfloat *) np_image_row (faced, y) + 4 * x, 16) == 0;

        for (guint f = 0; f < faces->len; f++)
          {
            gint rx, ry, rw, rh;
            /* A few pixels of slack: the finder ran on OpenCV's luma here,
             * on BT.601's in the colouriser. */
            if (np_face_crop_rect (&g_array_index (faces, NpHaarBox, f), photo->width, photo->height,
                                   &rx, &ry, &rw, &rh))
              inside |= x >= rx - 4 && x < rx + rw + 4 && y >= ry - 4 && y < ry + rh + 4;
          }
        if (!inside)
          g_assert_true (same);
        else
          changed_inside += !same;
      }
  g_assert_cmpint (changed_inside, >, 1000);
}

/* The chroma (Cb, Cr, BT.601) of an output pixel. */
static void
chroma_at (const NpImage *img, gint x, gint y, gdouble *cb, gdouble *cr)
{
  const gfloat *p = (const gfloat *) np_image_row (img, y) + 4 * x;

  *cb = -0.168736 * p[0] - 0.331264 * p[1] + 0.5 * p[2];
  *cr = 0.5 * p[0] - 0.418688 * p[1] - 0.081312 * p[2];
}

/* A photo of gray 0.3 … 0.7 and a transparent hint picture of its size. */
static void
hint_pictures (gint w, gint h, NpImage **photo, NpImage **hints)
{
  *photo = np_image_new (NP_SAMPLE_F32, w, h, 4, NULL);
  *hints = np_image_new (NP_SAMPLE_F32, w, h, 4, NULL);
  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      {
        gfloat *p = (gfloat *) np_image_row (*photo, y) + 4 * x, *q = (gfloat *) np_image_row (*hints, y) + 4 * x;
        p[0] = p[1] = p[2] = 0.3f + 0.4f * ((x * 7 + y * 13) % 17) / 16.0f, p[3] = 1;
        /* Colour under no alpha is no hint. */
        q[0] = 0.9f, q[1] = 0.1f, q[2] = (x % 5) / 4.0f, q[3] = 0;
      }
}

static void
put_hint (NpImage *hints, gint x, gint y, const gfloat rgb[3], gfloat alpha)
{
  gfloat *q = (gfloat *) np_image_row (hints, y) + 4 * x;
  q[0] = rgb[0], q[1] = rgb[1], q[2] = rgb[2], q[3] = alpha;
}

/* How much of (want_cb, want_cr) the chroma (cb, cr) is, asserting it is
 * that colour's and no other's: along it, between none and all of it. */
static gdouble
share_of (gdouble cb, gdouble cr, gdouble want_cb, gdouble want_cr)
{
  gdouble q = (cb * want_cb + cr * want_cr) / (want_cb * want_cb + want_cr * want_cr);

  g_assert_cmpfloat (fabs (cb * want_cr - cr * want_cb), <, 1e-5);
  g_assert_cmpfloat (q, >, -1e-5);
  g_assert_cmpfloat (q, <, 1 + 1e-4);
  return q;
}

/* Hints through the colouriser, with the echo model (its chroma is its
 * hint channels'): at the photo's own scale a hint's chroma is exactly
 * under it, and its spreading (np_model_hints_spread) puts that colour
 * and no other around it, reaching far and stopped by the photo's edges (a
 * pixel at most half opaque is no hint); ten times smaller a 1-pixel dot
 * still colours its place; an empty hint picture gives the bytes of none;
 * a picture opaque everywhere is an error. With a model that takes no
 * hints, the colouriser spreads what it missed. */
static void
test_colorize_hints (void)
{
  g_autoptr(NpModel) echo = hint_echo (0, 0), biased = hint_echo (0.4f, 0.1f);
  g_autoptr(NpModel) plain = pointwise_chroma (1, 0, 1, 0);
  g_autoptr(NpImage) photo = NULL, hints = NULL, out = NULL, big = NULL, big_hints = NULL, a = NULL, b = NULL;
  g_autoptr(GError) error = NULL;
  const gfloat tint[3] = { 0.6f, 0.45f, 0.42f }, blue[3] = { 0.2f, 0.3f, 0.8f };
  const double want_cb = -0.168736 * tint[0] - 0.331264 * tint[1] + 0.5 * tint[2];
  const double want_cr = 0.5 * tint[0] - 0.418688 * tint[1] - 0.081312 * tint[2];
  NpColorizeOptions options = { 32, NP_CHROMA_YCBCR, 1.0f, NULL, 2 };
  gdouble cb, cr, least = 1;
  gint    reached = 0;

  hint_pictures (32, 24, &photo, &hints);
  put_hint (hints, 20, 9, tint, 1);
  put_hint (hints, 5, 5, blue, 0.5f);
  out = colorize_hinted (echo, photo, hints, &options, 5, 7, NULL);
  for (gint y = 0; y < 24; y++)
    for (gint x = 0; x < 32; x++)
      {
        gdouble q;
        chroma_at (out, x, y, &cb, &cr);
        q = share_of (cb, cr, want_cb, want_cr);
        if (x == 20 && y == 9)
          g_assert_cmpfloat (q, >, 1 - 1e-4);
        else if (abs (x - 20) + abs (y - 9) > 4)
          reached += q > 0.2, least = MIN (least, q);
      }
  g_test_message ("one dot: %d pixels more than 4 away have a fifth of its colour or more; the least %.4f",
                  reached, least);
  g_assert_cmpint (reached, >=, 10);   /* 13: the photo is all edges */
  g_assert_cmpfloat (least, <, 0.05);

  /* 400×300 coloured at 40×30: the dot's model pixel carries it. */
  hint_pictures (400, 300, &big, &big_hints);
  put_hint (big_hints, 123, 77, tint, 1);
  options.render_size = 40;
  g_clear_pointer (&out, np_image_free);
  out = colorize_hinted (echo, big, big_hints, &options, 64, 64, NULL);
  chroma_at (out, 123, 77, &cb, &cr);
  g_test_message ("a 1-pixel dot at 1/10 scale: Cb %.4f Cr %.4f (the dot's %.4f %.4f)", cb, cr, want_cb, want_cr);
  g_assert_cmpfloat (cr / want_cr, >, 0.6);
  g_assert_cmpfloat (cb / want_cb, >, 0.6);

  /* An empty hint picture is none, to the byte. */
  options.render_size = 24;
  a = colorize_hinted (biased, photo, NULL, &options, 24, 24, NULL);
  g_clear_pointer (&hints, np_image_free);
  g_clear_pointer (&photo, np_image_free);
  hint_pictures (32, 24, &photo, &hints);
  b = colorize_hinted (biased, photo, hints, &options, 3, 24, NULL);
  for (gint y = 0; y < 24; y++)
    g_assert_cmpmem (np_image_row (a, y), 32 * 16, np_image_row (b, y), 32 * 16);

  /* Hints everywhere: the photo itself picked as hints. */
  {
    NpColorizeOptions with = options;
    g_autoptr(NpColorizer) c = NULL;

    with.hints = TRUE;
    c = np_colorizer_new (echo, 32, 24, &with, &error);
    g_assert_no_error (error);
    np_colorizer_add_rows (c, 0, photo);
    np_colorizer_add_hint_rows (c, 0, photo);
    g_assert_false (np_colorizer_end_rows (c, &error));
    g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "opaque everywhere"));
  }

  /* A model that takes no hints: what it missed at a dot spreads along the
   * photo and stops at an edge. The photo's left half is gray 0.3, its
   * right 0.8, so the model's colour is flat on each; a dot on the left
   * gives the whole left half its colour, and across the edge (a luma step
   * of 0.5: σ_s/σ_r·0.5 ≈ 11 pixels more of distance) little of it. */
  g_clear_pointer (&photo, np_image_free);
  g_clear_pointer (&hints, np_image_free);
  hint_pictures (32, 24, &photo, &hints);
  for (gint y = 0; y < 24; y++)
    for (gint x = 0; x < 32; x++)
      {
        gfloat *p = (gfloat *) np_image_row (photo, y) + 4 * x;
        p[0] = p[1] = p[2] = x < 16 ? 0.3f : 0.8f;
      }
  g_clear_pointer (&a, np_image_free);
  g_clear_pointer (&b, np_image_free);
  options.render_size = 32;   /* the photo's own scale: no bicubic across the edge */
  a = colorize_hinted (plain, photo, NULL, &options, 24, 24, NULL);
  put_hint (hints, 4, 12, tint, 1);
  b = colorize_hinted (plain, photo, hints, &options, 24, 24, NULL);
  for (gint y = 0; y < 24; y++)
    for (gint x = 0; x < 32; x++)
      {
        gdouble cb0, cr0, miss;
        chroma_at (a, x, y, &cb0, &cr0);
        chroma_at (b, x, y, &cb, &cr);
        miss = hypot (want_cb - cb0, want_cr - cr0);
        g_assert_cmpfloat (miss, >, 0.05);
        if (x < 14)
          g_assert_cmpfloat (hypot (want_cb - cb, want_cr - cr), <, 1e-3);
        else if (x >= 18)
          g_assert_cmpfloat (hypot (cb - cb0, cr - cr0), <, 0.25 * miss);
      }
}

/* Hints in faces mode: a dot in the middle of Hopper's face colours it,
 * the face's layer as the whole photo's. */
static void
test_colorize_hints_faces (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NpImage) bytes = NULL, photo = NULL, hints = NULL, out = NULL;
  g_autoptr(NpFaceFinder) finder = NULL;
  g_autoptr(GArray) faces = NULL;
  g_autoptr(NpModel) echo = hint_echo (0, 0);
  NpColorizeOptions options = { 64, NP_CHROMA_YCBCR, 1.0f, NULL, 2 };
  const gfloat tint[3] = { 0.6f, 0.45f, 0.42f };
  const double want_cr = 0.5 * tint[0] - 0.418688 * tint[1] - 0.081312 * tint[2];
  gint rx, ry, rw, rh, cx, cy;
  gdouble cb, cr;

  if ((bytes = hopper_and_faces (&finder, &faces)) == NULL)
    return;
  g_assert_true (np_face_crop_rect (&g_array_index (faces, NpHaarBox, 0), bytes->width, bytes->height,
                                    &rx, &ry, &rw, &rh));
  cx = rx + rw / 2, cy = ry + rh / 2;
  hint_pictures (bytes->width, bytes->height, &photo, &hints);
  for (gint y = 0; y < bytes->height; y++)
    for (gint x = 0; x < bytes->width; x++)
      for (gint c = 0; c < 3; c++)
        ((gfloat *) np_image_row (photo, y))[4 * x + c] =
          ((guint8 *) np_image_row (bytes, y))[bytes->channels * x + MIN (c, bytes->channels - 1)] / 255.0f;
  put_hint (hints, cx, cy, tint, 1);
  options.faces = finder;
  out = colorize_hinted (echo, photo, hints, &options, 64, 64, NULL);
  chroma_at (out, cx, cy, &cb, &cr);
  g_test_message ("a dot in the face: Cr %.4f (the dot's %.4f)", cr, want_cr);
  g_assert_cmpfloat (cr / want_cr, >, 0.6);
  chroma_at (out, cx, MAX (0, ry - 40), &cb, &cr);
  g_assert_cmpfloat (fabs (cr), <, 1e-6);

  /* A model that takes no hints: the face's layer spreads what it missed
   * at the dot, as the whole photo's does. */
  {
    g_autoptr(NpModel) plain = pointwise_chroma (1, 0, -1, -0.5f);   /* Cr well below the dot's */
    g_autoptr(NpImage) without = colorize_hinted (plain, photo, NULL, &options, 64, 64, NULL);
    g_autoptr(NpImage) with = colorize_hinted (plain, photo, hints, &options, 64, 64, NULL);
    gdouble before;

    chroma_at (without, cx, cy, &cb, &before);
    chroma_at (with, cx, cy, &cb, &cr);
    g_test_message ("a dot in the face, a model without hints: Cr %.4f, %.4f without the dot (the dot's %.4f)",
                    cr, before, want_cr);
    g_assert_cmpfloat (fabs (before - want_cr), >, 0.05);
    g_assert_cmpfloat (fabs (cr - want_cr), <, 0.2 * fabs (before - want_cr));
  }
}

/* ---- Models by name and kind ---------------------------------------------- */

static NpNet *
model_of (const char *architecture, const char *in, const char *out, const char *filter, const char *target)
{
  g_autoptr(GHashTable) p = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *desc = NULL;
  NpNet *net;

  g_hash_table_insert (p, "ngf", "2");
  g_hash_table_insert (p, "depth", "2");
  g_hash_table_insert (p, "features", "2");
  g_hash_table_insert (p, "in_channels", (gpointer) in);
  g_hash_table_insert (p, "out_channels", (gpointer) out);
  desc = np_arch_describe (architecture, p, &error);
  net = np_net_new (desc, &error);
  g_assert_no_error (error);
  if (filter)
    g_hash_table_insert (np_net_metadata (net), g_strdup ("input_filter"), g_strdup (filter));
  if (target)
    g_hash_table_insert (np_net_metadata (net), g_strdup ("target"), g_strdup (target));
  return net;
}

/* Each kind of model against each use: accepted where it belongs, else one
 * error naming the op it belongs to. */
static void
test_model_kinds (void)
{
  static const struct
  {
    const char *arch, *in, *out, *filter, *target;
    const char *belongs;      /* the op named when refused */
    gboolean    ok[4];        /* image, colorize, super resolution, noise */
  } kinds[] = {
    { "unet", "1", "2", "gray", "chroma-ycbcr", "neuropaint:colorize", { TRUE, TRUE, FALSE, FALSE } },
    { "unet", "3", "3", "gray", NULL, "neuropaint:colorize", { TRUE, TRUE, FALSE, FALSE } },
    { "unet", "3", "3", "contours", NULL, "neuropaint:generator", { TRUE, FALSE, FALSE, FALSE } },
    { "unet", "3", "3", "identity", NULL, "neuropaint:generator", { TRUE, FALSE, FALSE, FALSE } },
    { "unet", "3", "3", "noise", NULL, "neuropaint:dream-face", { TRUE, FALSE, FALSE, TRUE } },
    { "sr", "3", "3", "identity", NULL, "neuropaint:super-resolution", { FALSE, FALSE, TRUE, FALSE } },
  };

  for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autoptr(NpModel) model = np_model_new (model_of (kinds[k].arch, kinds[k].in, kinds[k].out, kinds[k].filter,
                                                          kinds[k].target), NULL);
      for (NpModelUse use = NP_MODEL_USE_IMAGE; use <= NP_MODEL_USE_NOISE; use++)
        {
          g_autoptr(GError) error = NULL;
          gboolean ok = np_model_check_use (model, use, &error);

          g_test_message ("%s %s/%s, use %d: %s", kinds[k].arch, kinds[k].filter, kinds[k].target ?: "rgb",
                          use, ok ? "ok" : error->message);
          g_assert_cmpint (ok, ==, kinds[k].ok[use]);
          if (!ok)
            {
              g_assert_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED);
              g_assert_nonnull (strstr (error->message, kinds[k].belongs));
            }
        }
    }
}

/* ---- Dreams ----------------------------------------------------------------- */

static void
random_bias (const char *name, NpTensor *t, gboolean trainable, gpointer rng)
{
  if (g_str_has_suffix (name, ".bias"))
    for (gint64 i = 0; i < np_tensor_n_elements (t); i++)
      ((gfloat *) t->data)[i] = 0.3f * (gfloat) np_rng_normal (rng);
}

/* A dream model (--arch dream at ngf 2) of random weights and biases (so z
 * = 0 is no flat gray) from a vector of 16 numbers to 64×80; another
 * target when target is not NULL. */
static NpModel *
random_dream (const char *target)
{
  g_autoptr(GHashTable) p = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *desc = NULL;
  NpRng rng;
  NpNet *net;

  g_hash_table_insert (p, "ngf", "2");
  g_hash_table_insert (p, "in_channels", "16");
  desc = np_arch_describe ("dream", p, &error);
  net = np_net_new (desc, &error);
  g_assert_no_error (error);
  np_net_init_random (net, 11, 0.3f);
  np_rng_init (&rng, 3);
  np_net_foreach_param (net, random_bias, &rng);
  return model_with (net, "input_filter", "noise", "width", "64", "height", "80", "target", target ? target : "rgb",
                     NULL);
}

/* The dream's bytes (R'G'B'A float) for options at width × height. */
static NpImage *
dream (NpModel *model, const NpDreamOptions *options, gint width, gint height)
{
  g_autoptr(GError) error = NULL;
  NpImage *out = np_image_new (NP_SAMPLE_F32, width, height, 4, NULL);

  g_assert_true (np_paint_dream (model, options, out, &error));
  g_assert_no_error (error);
  return out;
}

static gboolean
same_image (const NpImage *a, const NpImage *b)
{
  for (gint y = 0; y < a->height; y++)
    if (memcmp (np_image_row (a, y), np_image_row (b, y), (gsize) a->width * 4 * sizeof (gfloat)) != 0)
      return FALSE;
  return TRUE;
}

/* A dream model serves dream faces alone; it makes its picture from a
 * vector, which no picture op can feed it. */
static void
test_dream_kind (void)
{
  g_autoptr(NpModel) model = random_dream (NULL), chroma = random_dream ("chroma-ycbcr");
  g_autoptr(GError) error = NULL;

  g_assert_true (np_model_info (model)->latent);
  {
    g_autoptr(NpNet) unet = small_unet ();
    gint64 w = 0, h = 0;
    g_assert_true (np_net_output_size (np_model_net (model), 1, 1, &w, &h, &error));
    g_assert_cmpint (w, ==, 64);
    g_assert_cmpint (h, ==, 80);
    /* The U-Net's strided layers cannot take so small a picture. */
    g_assert_false (np_net_output_size (unet, 2, 2, &w, &h, &error));
    g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
  g_assert_true (np_model_check_use (model, NP_MODEL_USE_NOISE, &error));
  g_assert_no_error (error);
  for (NpModelUse use = NP_MODEL_USE_IMAGE; use < NP_MODEL_USE_NOISE; use++)
    {
      g_assert_false (np_model_check_use (model, use, &error));
      g_assert_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED);
      g_assert_nonnull (strstr (error->message, "latent vector"));
      g_assert_nonnull (strstr (error->message, "neuropaint:dream-face"));
      g_clear_error (&error);
    }
  g_assert_false (np_model_check_use (chroma, NP_MODEL_USE_NOISE, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "target rgb"));
  g_clear_error (&error);
  /* The seed's U-Net is no latent model, whatever its size. */
  {
    g_autoptr(NpModel) unet = model_with (small_unet (), "input_filter", "noise", "width", "64", "height", "80",
                                          NULL);
    g_assert_false (np_model_info (unet)->latent);
    /* It keeps the plain resize it always had. */
    g_assert_cmpint (np_paint_dream_steps (unet, 640, 800), ==, 0);
  }
}

/* Mix 0 and 1 are the two seeds' faces to the byte, between them neither;
 * truncation 0 is z = 0's face for any seed (the network on zeros). */
static void
test_dream_mix_truncation (void)
{
  g_autoptr(NpModel) model = random_dream (NULL);
  g_autoptr(GError) error = NULL;
  NpDreamOptions one = { .seed = 7, .truncation = 1, .n_threads = 1 };
  NpDreamOptions two = { .seed = 8, .truncation = 1, .n_threads = 1 };
  NpDreamOptions walk = { .seed = 7, .seed2 = 8, .truncation = 1, .n_threads = 1 };
  g_autoptr(NpImage) a = dream (model, &one, 64, 80), b = dream (model, &two, 64, 80);
  g_autoptr(NpImage) at0 = NULL, at1 = NULL, half = NULL, flat = NULL, z0 = NULL;
  g_autoptr(NpTensor) zeros = np_tensor_new (1, 1, 16, 1, NULL);
  const NpTensor *inputs[1] = { zeros }, *y;

  g_assert_false (same_image (a, b));
  at0 = dream (model, &walk, 64, 80);
  walk.mix = 1;
  at1 = dream (model, &walk, 64, 80);
  walk.mix = 0.5;
  half = dream (model, &walk, 64, 80);
  g_assert_true (same_image (at0, a));
  g_assert_true (same_image (at1, b));
  g_assert_false (same_image (half, a));
  g_assert_false (same_image (half, b));

  /* ψ = 0: every seed, mixed or not, is the face of z = 0. */
  one.truncation = walk.truncation = 0;
  flat = dream (model, &one, 64, 80);
  z0 = dream (model, &walk, 64, 80);
  g_assert_true (same_image (flat, z0));
  memset (zeros->data, 0, 16 * sizeof (gfloat));
  y = np_net_forward (np_model_net (model), inputs, 1, &(NpCompute) { .n_threads = 1 }, &error);
  g_assert_no_error (error);
  for (gint j = 0; j < 80; j++)
    for (gint i = 0; i < 64; i++)
      for (gint c = 0; c < 3; c++)
        g_assert_cmpfloat (((gfloat *) np_image_row (flat, j))[4 * i + c], ==,
                           CLAMP ((*np_tensor_at (y, i, j, c, 0) + 1) / 2, 0.0f, 1.0f));
  /* ψ between: the face moves from the seed's. */
  one.truncation = 0.5;
  g_clear_pointer (&flat, np_image_free);
  flat = dream (model, &one, 64, 80);
  g_assert_false (same_image (flat, a));
  g_assert_false (same_image (flat, z0));
}

/* Larger dreams go through the super-resolution model ×2 until both sides
 * reach the size, then bicubic: the same bytes on 1 and 2 threads; without
 * such a model, or with a mix out of range, one error. */
static void
test_dream_sizes (void)
{
  g_autoptr(NpModel) model = random_dream (NULL);
  g_autoptr(NpModel) sr = np_model_new (model_of ("sr", "3", "3", "identity", NULL), NULL);
  g_autoptr(GError) error = NULL;
  NpDreamOptions options = { .seed = 3, .seed2 = 4, .mix = 0.3, .truncation = 0.8, .super_resolution = sr,
                             .n_threads = 1 };
  g_autoptr(NpImage) one = NULL, two = NULL, small = NULL, bad = np_image_new (NP_SAMPLE_F32, 200, 90, 4, NULL);
  gint w, h;

  np_net_init_random (np_model_net (sr), 2, 0.2f);
  g_assert_cmpint (np_paint_dream_steps (model, 64, 80), ==, 0);
  g_assert_cmpint (np_paint_dream_steps (model, 65, 20), ==, 1);
  g_assert_cmpint (np_paint_dream_steps (model, 200, 90), ==, 2);
  np_paint_dream_size (model, 0, 0, &w, &h);
  g_assert_cmpint (w, ==, 64);
  g_assert_cmpint (h, ==, 80);
  np_paint_dream_size (model, 128, 0, &w, &h);
  g_assert_cmpint (w, ==, 128);
  g_assert_cmpint (h, ==, 160);
  np_paint_dream_size (model, 0, 40, &w, &h);
  g_assert_cmpint (w, ==, 32);
  g_assert_cmpint (h, ==, 40);

  one = dream (model, &options, 200, 90);
  options.n_threads = 2;
  two = dream (model, &options, 200, 90);
  g_assert_true (same_image (one, two));
  small = dream (model, &options, 30, 41);
  g_assert_cmpint (small->width, ==, 30);

  options.super_resolution = NULL;
  g_assert_false (np_paint_dream (model, &options, bad, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "super-resolution model"));
  g_clear_error (&error);
  options.mix = 1.5;
  g_assert_false (np_paint_dream (model, &options, small, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* The model is checked before all else: a picture model is refused. */
  options.mix = 0;
  {
    g_autoptr(NpModel) picture = np_model_new (model_of ("unet", "3", "3", "identity", NULL), NULL);
    g_assert_false (np_paint_dream (picture, &options, small, &error));
    g_assert_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "neuropaint:generator"));
  }
}

/* Names are looked for in the uninstalled tree's models/ (this test runs
 * from the build tree), then $XDG_DATA_HOME's, then the installed folder;
 * paths pass as they are. */
static void
test_model_names (gconstpointer data)
{
  const char *xdg = data;
  g_auto(GStrv) dirs = np_model_dirs ();
  g_autofree gchar *folder = g_build_filename (xdg, "neuropaint", "models", NULL);
  g_autofree gchar *file = g_build_filename (folder, "np-test-kind.safetensors", NULL);
  g_autofree gchar *found = NULL, *path = NULL;
  g_autoptr(NpNet) net = model_of ("sr", "3", "3", "identity", NULL);
  g_autoptr(NpModel) loaded = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;
  gboolean listed = FALSE;

  g_assert_cmpuint (g_strv_length (dirs), ==, 3);
  g_assert_true (g_str_has_suffix (dirs[0], "/models"));
  g_assert_cmpstr (dirs[1], ==, folder);
  g_assert_true (g_str_has_suffix (dirs[2], "/neuropaint/models"));

  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_assert_true (np_net_save (net, file, NP_DTYPE_F32, &error));
  found = np_model_resolve ("np-test-kind", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, file);
  loaded = np_model_load ("np-test-kind", &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (np_net_output_scale (np_model_net (loaded)), ==, 2.0);
  list = np_model_list ();
  for (guint i = 0; i < list->len; i++)
    listed |= g_str_equal (((NpModelEntry *) list->pdata[i])->name, "np-test-kind");
  g_assert_true (listed);

  path = np_model_resolve ("some/where.safetensors", &error);
  g_assert_cmpstr (path, ==, "some/where.safetensors");
  g_assert_null (np_model_resolve ("np-test-nothing", &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "“np-test-nothing”"));
  g_assert_nonnull (strstr (error->message, folder));
  g_assert_nonnull (strstr (error->message, "np-test-kind"));
  g_clear_error (&error);
  g_assert_null (np_model_resolve ("", &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
  g_unlink (file);
}

/* The contract's two halves agree: a target's decoding of its encoding
 * gives the photo back (exactly up to float rounding; chroma on the
 * photo's own BT.601 luma, residual on any upscale), and what
 * np_model_save writes np_model_load reads back, field by field. */
static void
test_model_contract (gconstpointer data)
{
  const char *xdg = data;
  g_autofree gchar *file = g_build_filename (xdg, "np-test-contract.safetensors", NULL);
  g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(NpNet) net = model_of ("sr", "3", "3", NULL, NULL);
  g_autoptr(NpModel) loaded = NULL;
  g_autoptr(GError) error = NULL;
  const NpModelInfo *back;
  NpModelInfo info = { .input_filter = "binary", .params = params, .width = 96, .height = 128,
                       .normalization = "x/127.5-1", .target = NP_MODEL_TARGET_RESIDUAL, .architecture = "sr",
                       .experiment = "lowres", .trained_with = "neuropaint train ds -o m.safetensors",
                       .trained_steps = 0, .trained_batch = 4 };

  for (NpModelTarget t = NP_MODEL_TARGET_RGB; t < NP_MODEL_N_TARGETS; t++)
    {
      g_assert_cmpint (np_model_target_from_name (np_model_target_name (t)), ==, t);
      g_assert_cmpint (np_model_target_from_option (np_model_target_option (t)), ==, t);
      for (gint i = 0; i < 200; i++)
        {
          const guint8 photo[3] = { (guint8) (i * 37), (guint8) (i * 101 + 7), (guint8) (255 - i) };
          const gfloat base[3] = { (i % 5) / 4.0f, (i % 3) / 2.0f, (i % 7) / 6.0f };
          gfloat values[3], rgb[3];
          gfloat luma = (0.299f * photo[0] + 0.587f * photo[1] + 0.114f * photo[2]) / 255;

          np_model_target_encode (t, photo, base, values);
          np_model_target_decode (t, values, np_model_target_values (t), luma, base, rgb);
          for (gint k = 0; k < 3; k++)
            g_assert_cmpfloat_with_epsilon (rgb[k], photo[k] / 255.0, 1e-5);
        }
    }
  g_assert_cmpint (np_model_target_from_name ("chroma"), ==, NP_MODEL_TARGET_UNKNOWN);
  g_assert_cmpint (np_model_target_from_option ("chroma-ycbcr"), ==, NP_MODEL_TARGET_UNKNOWN);

  g_hash_table_insert (params, "input_threshold", "90");
  g_hash_table_insert (params, "features", "2");
  g_assert_true (np_model_save (net, &info, file, NP_DTYPE_F32, &error));
  g_assert_no_error (error);
  loaded = np_model_load (file, &error);
  g_assert_no_error (error);
  back = np_model_info (loaded);
  g_assert_cmpstr (back->input_filter, ==, "binary");
  g_assert_cmpstr (g_hash_table_lookup (back->params, "input_threshold"), ==, "90");
  g_assert_cmpstr (g_hash_table_lookup (back->params, "features"), ==, "2");
  g_assert_cmpint (back->width, ==, 96);
  g_assert_cmpint (back->height, ==, 128);
  g_assert_cmpstr (back->normalization, ==, "x/127.5-1");
  g_assert_cmpint (back->target, ==, NP_MODEL_TARGET_RESIDUAL);
  g_assert_cmpstr (back->architecture, ==, "sr");
  g_assert_cmpstr (back->experiment, ==, "lowres");
  g_assert_cmpstr (back->trained_with, ==, info.trained_with);
  /* A run of no steps says so, as the command does. */
  g_assert_cmpstr (g_hash_table_lookup (back->params, "trained_steps"), ==, "0");
  g_assert_cmpint (back->trained_batch, ==, 4);
  g_assert_false (back->hints);
  g_unlink (file);
}

/* ---- Colour hints ------------------------------------------------------------ */

/* The contract of a hint model: its file says so and is read back so; it
 * must be a gray chroma model with the hint channels; the hint channels'
 * encoding is the chroma target's; np_paint_generate feeds them (none: 0,
 * 0, −1) and refuses hints to a model that takes none. */
static void
test_hints_contract (gconstpointer data)
{
  const char *xdg = data;
  g_autofree gchar *file = g_build_filename (xdg, "np-test-hints.safetensors", NULL);
  g_autoptr(NpModel) model = hint_echo (0, 0), loaded = NULL, plain = pointwise_chroma (1, 0, 1, 0);
  g_autoptr(NpImage) photo = np_image_new (NP_SAMPLE_F32, 5, 3, 4, NULL);
  g_autoptr(NpImage) hints = np_image_new (NP_SAMPLE_F32, 5, 3, NP_MODEL_HINT_CHANNELS, NULL);
  g_autoptr(NpImage) out = np_image_new (NP_SAMPLE_F32, 5, 3, 4, NULL);
  g_autoptr(GError) error = NULL;
  NpPaintOptions run = { 64, 0, 1, FALSE, TRUE, hints };
  const gfloat red[3] = { 1, 0, 0 };
  gfloat values[NP_MODEL_HINT_CHANNELS], target[2];
  const guint8 red8[3] = { 255, 0, 0 };
  NpModelInfo info = *np_model_info (model);
  NpNet *net;

  g_assert_true (np_model_info (model)->hints);
  g_assert_true (np_model_check_use (model, NP_MODEL_USE_COLORIZE, &error));
  g_assert_true (np_model_check_use (model, NP_MODEL_USE_IMAGE, &error));
  g_assert_no_error (error);
  g_assert_false (np_model_info (plain)->hints);

  /* Written and read back. */
  info.params = NULL;
  g_assert_true (np_model_save (np_model_net (model), &info, file, NP_DTYPE_F32, &error));
  loaded = np_model_load (file, &error);
  g_assert_no_error (error);
  g_assert_true (np_model_info (loaded)->hints);
  g_unlink (file);

  /* Another encoding, or hints on a model of the wrong channels. */
  net = np_net_new ("input name=x c=4\nconv name=c out=2 k=1", NULL);
  g_hash_table_insert (np_net_metadata (net), g_strdup ("hints"), g_strdup ("lab"));
  g_assert_null (np_model_new (net, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "“hints”"));
  g_clear_error (&error);
  np_net_free (net);
  {
    g_autoptr(NpModel) wrong = pointwise_chroma (1, 0, 1, 0);
    g_hash_table_insert (np_model_info (wrong)->params, g_strdup ("hints"), g_strdup ("ycbcr-spread"));
    ((NpModelInfo *) np_model_info (wrong))->hints = TRUE;
    g_assert_false (np_model_check_use (wrong, NP_MODEL_USE_COLORIZE, &error));
    g_assert_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "hint model"));
    g_clear_error (&error);
  }

  /* The encoding: a hint's chroma is the chroma target's, its mask 1. */
  np_model_hint_encode (red, values);
  np_model_target_encode (NP_MODEL_TARGET_CHROMA, red8, NULL, target);
  g_assert_cmpfloat_with_epsilon (values[0], target[0], 1e-6);
  g_assert_cmpfloat_with_epsilon (values[1], target[1], 1e-6);
  g_assert_cmpfloat (values[2], ==, 1);
  np_model_hint_encode (NULL, values);
  g_assert_cmpfloat (values[0], ==, 0);
  g_assert_cmpfloat (values[1], ==, 0);
  g_assert_cmpfloat (values[2], ==, -1);

  /* One red hint at (3, 1): the echo's chroma is the hint's there and 0
   * elsewhere, with hints or without. */
  for (gint y = 0; y < 3; y++)
    for (gint x = 0; x < 5; x++)
      {
        gfloat *p = (gfloat *) np_image_row (photo, y) + 4 * x;
        p[0] = p[1] = p[2] = 0.5f, p[3] = 1;
        np_model_hint_encode (x == 3 && y == 1 ? red : NULL, (gfloat *) np_image_row (hints, y) + 3 * x);
      }
  for (gint pass = 0; pass < 2; pass++)
    {
      run.hints = pass ? NULL : hints;
      g_assert_true (np_paint_generate (model, photo, out, &run, &error));
      g_assert_no_error (error);
      for (gint y = 0; y < 3; y++)
        for (gint x = 0; x < 5; x++)
          for (gint k = 0; k < 2; k++)
            g_assert_cmpfloat_with_epsilon (((gfloat *) np_image_row (out, y))[4 * x + k],
                                            !pass && x == 3 && y == 1 ? target[k] : 0, 1e-6);
    }

  /* Hints for a model that takes none. */
  run.hints = hints;
  g_assert_false (np_paint_generate (plain, photo, out, &run, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "no colour hints"));
}

/* The hint channels spread (np_model_hints_spread): no hint leaves 0, 0, −1
 * everywhere; one hint on the flat left half of a picture gives that whole
 * half its chroma and a mask of 1, and past a luma step of 0.6 the right
 * half gets little of it, its mask near −1. */
static void
test_hints_spread (void)
{
  enum { W = 40, H = 20 };
  g_autoptr(NpImage) hints = np_image_new (NP_SAMPLE_F32, W, H, NP_MODEL_HINT_CHANNELS, NULL);
  g_autoptr(NpImage) gray = np_image_new (NP_SAMPLE_F32, W, H, 1, NULL);
  const gfloat red[3] = { 0.9f, 0.2f, 0.1f };
  gfloat  want[NP_MODEL_HINT_CHANNELS];
  gdouble most = -1;

  np_model_hint_encode (red, want);
  for (gint pass = 0; pass < 2; pass++)
    {
      for (gint y = 0; y < H; y++)
        for (gint x = 0; x < W; x++)
          {
            ((gfloat *) np_image_row (gray, y))[x] = x < W / 2 ? 0.2f : 0.8f;
            np_model_hint_encode (pass && x == 5 && y == 10 ? red : NULL,
                                  (gfloat *) np_image_row (hints, y) + NP_MODEL_HINT_CHANNELS * x);
          }
      g_assert_true (np_model_hints_spread (hints, gray, NULL));
      for (gint y = 0; y < H; y++)
        for (gint x = 0; x < W; x++)
          {
            const gfloat *v = (const gfloat *) np_image_row (hints, y) + NP_MODEL_HINT_CHANNELS * x;
            if (!pass)
              {
                g_assert_true (v[0] == 0 && v[1] == 0 && v[2] == -1);
                continue;
              }
            if (x < W / 2)
              for (gint k = 0; k < 2; k++)
                g_assert_cmpfloat_with_epsilon (v[k], want[k], 1e-4);
            g_assert_cmpfloat_with_epsilon (v[2], 1, x < W / 2 ? 1e-4 : 2);
            if (x >= W / 2)
              most = MAX (most, v[2]);
          }
    }
  g_test_message ("past the edge the mask is at most %.4f", most);
  g_assert_cmpfloat (most, <, -0.9);
}

/* ---- The process-wide model cache (core/model/cache.c) -------------------- */

/* A small U-Net of random weights from seed, saved at dir/name; the path. */
static gchar *
save_unet (const char *dir, const char *name, guint64 seed)
{
  g_autoptr(NpNet) net = small_unet ();
  g_autoptr(GError) error = NULL;
  gchar *path = g_build_filename (dir, name, NULL);

  np_net_init_random (net, seed, 0.2f);
  g_assert_true (np_net_save (net, path, NP_DTYPE_F32, &error));
  g_assert_no_error (error);
  return path;
}

enum { CACHE_SIDE = 16 };

/* The model's output for a fixed input, a copy (*n floats). */
static gfloat *
run_model (NpModel *model, gsize *n)
{
  NpNet *net = np_model_net (model);
  g_autoptr(NpTensor) x = np_tensor_new (CACHE_SIDE, CACHE_SIDE, np_net_input_channels (net, 0), 1, NULL);
  g_autoptr(GError) error = NULL;
  const NpTensor *y;

  for (gint64 i = 0; i < np_tensor_n_elements (x); i++)
    x->data[i] = (gfloat) ((i * 37) % 101) / 50.0f - 1.0f;
  y = np_net_forward (net, (const NpTensor *const[]) { x }, 1, &(NpCompute) { .n_threads = 1 }, &error);
  g_assert_no_error (error);
  *n = (gsize) np_tensor_n_elements (y);
  return g_memdup2 (y->data, *n * sizeof (gfloat));
}

/* The output of the file's model loaded on its own (np_model_load). */
static gfloat *
run_file (const char *path, gsize *n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NpModel) own = np_model_load (path, &error);

  g_assert_no_error (error);
  return run_model (own, n);
}

static void
assert_same_output (NpModel *model, const gfloat *want, gsize n)
{
  gsize n_got;
  g_autofree gfloat *got = run_model (model, &n_got);

  g_assert_cmpuint (n_got, ==, n);
  g_assert_cmpmem (got, n * sizeof (gfloat), want, n * sizeof (gfloat));
}

static const gfloat *
weights (NpModel *model)
{
  return np_net_trainable (np_model_net (model));
}

/* One file, under any of its names, is read once: its shared models have
 * the same weights and description but networks of their own, and run as
 * the file's model loaded on its own does. */
static void
test_model_cache_same_file (gconstpointer data)
{
  g_autofree gchar *file = save_unet (data, "np-cache-same.safetensors", 7);
  g_autofree gchar *other = g_build_filename (data, "np-cache-same-link.safetensors", NULL);
  g_autofree gchar *dotted = g_build_filename (data, ".", "np-cache-same.safetensors", NULL);
  g_autoptr(NpModel) a = NULL, b = NULL, c = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gfloat *want = NULL;
  gsize n;

  /* A second name made before the first load (a link changes the time
   * of the file's last change, which the cache reads). */
  g_assert_cmpint (link (file, other), ==, 0);
  want = run_file (file, &n);
  a = np_model_load_shared (file, &error);
  g_assert_no_error (error);
  b = np_model_load_shared (dotted, &error);
  g_assert_no_error (error);
  c = np_model_load_shared (other, &error);
  g_assert_no_error (error);
  g_assert_true (weights (a) == weights (b) && weights (a) == weights (c));
  g_assert_true (np_model_info (a)->params == np_model_info (c)->params);
  g_assert_true (np_model_net (a) != np_model_net (b) && np_model_net (a) != np_model_net (c));
  g_assert_true (np_model_is_current (a));
  assert_same_output (a, want, n);
  assert_same_output (c, want, n);
  g_assert_true (np_model_check_use (a, NP_MODEL_USE_IMAGE, &error));
  g_assert_no_error (error);

  g_clear_pointer (&a, np_model_free);
  g_clear_pointer (&b, np_model_free);
  g_clear_pointer (&c, np_model_free);
  g_assert_cmpuint (np_model_cache_drop_idle (), ==, 1);
  g_unlink (file);
  g_unlink (other);
}

/* A file rewritten is read again: replaced by another file (a new inode,
 * as np_net_save does it) and written in place with its modification time
 * put back (cp -p, rsync -t), which only the change time tells. A holder's
 * model stays as it was, and says it is no longer current. */
static void
test_model_cache_rewritten (gconstpointer data)
{
  g_autofree gchar *file = save_unet (data, "np-cache-rewritten.safetensors", 11);
  g_autofree gchar *third = save_unet (data, "np-cache-rewritten-3.safetensors", 13);
  g_autofree gchar *third_bytes = NULL;
  g_autofree gfloat *want1 = NULL, *want2 = NULL, *want3 = NULL;
  g_autoptr(NpModel) a = NULL, b = NULL, c = NULL;
  g_autoptr(GError) error = NULL;
  gsize n, length;
  struct stat st;
  gint fd;

  want1 = run_file (file, &n);
  a = np_model_load_shared (file, &error);
  g_assert_no_error (error);

  g_free (save_unet (data, "np-cache-rewritten.safetensors", 12));
  want2 = run_file (file, &n);
  g_assert_false (np_model_is_current (a));
  b = np_model_load_shared (file, &error);
  g_assert_no_error (error);
  g_assert_true (weights (a) != weights (b));
  g_assert_true (np_model_is_current (b));
  assert_same_output (a, want1, n);
  assert_same_output (b, want2, n);
  g_assert_true (memcmp (want1, want2, n * sizeof (gfloat)) != 0);

  /* The same size, the same inode, the same modification time; the change
   * time is the clock's coarse tick, so let one pass. */
  g_assert_true (g_file_get_contents (third, &third_bytes, &length, NULL));
  g_assert_cmpint (stat (file, &st), ==, 0);
  g_assert_cmpint ((gint64) length, ==, (gint64) st.st_size);
  g_usleep (50000);
  g_assert_cmpint (fd = open (file, O_WRONLY), >=, 0);
  g_assert_cmpint (write (fd, third_bytes, length), ==, (gssize) length);
  g_assert_cmpint (futimens (fd, (struct timespec[]) { st.st_atim, st.st_mtim }), ==, 0);
  g_assert_cmpint (close (fd), ==, 0);
  want3 = run_file (file, &n);
  g_assert_false (np_model_is_current (b));
  c = np_model_load_shared (file, &error);
  g_assert_no_error (error);
  g_assert_true (weights (c) != weights (b));
  assert_same_output (c, want3, n);
  assert_same_output (b, want2, n);

  /* The replaced entries left the cache when the new ones came: only the
   * last is kept once idle, and the others are freed with their holders. */
  g_clear_pointer (&a, np_model_free);
  g_clear_pointer (&b, np_model_free);
  g_clear_pointer (&c, np_model_free);
  g_assert_cmpuint (np_model_cache_drop_idle (), ==, 1);
  g_unlink (file);
  g_unlink (third);
}

typedef struct
{
  const char   *file;
  const gfloat *want;
  gsize         n;
  const gfloat *first;   /* the weights this thread's first model read */
} CacheThread;

static gpointer
cache_thread (gpointer data)
{
  CacheThread       *job = data;
  g_autoptr(NpModel) first = np_model_load_shared (job->file, NULL);

  g_assert_nonnull (first);
  job->first = weights (first);
  for (gint i = 0; i < 8; i++)
    {
      g_autoptr(NpModel) m = np_model_load_shared (job->file, NULL);

      g_assert_nonnull (m);
      g_assert_true (weights (m) == job->first);
      assert_same_output (m, job->want, job->n);
    }
  assert_same_output (first, job->want, job->n);
  return NULL;
}

/* Threads loading one file at once all get the one copy, and run their
 * networks on it at the same time with the bits of a model of its own. */
static void
test_model_cache_threads (gconstpointer data)
{
  enum { THREADS = 6 };
  g_autofree gchar *file = save_unet (data, "np-cache-threads.safetensors", 17);
  g_autofree gfloat *want = NULL;
  CacheThread jobs[THREADS];
  GThread    *threads[THREADS];
  gsize       n;

  want = run_file (file, &n);
  for (gint t = 0; t < THREADS; t++)
    {
      jobs[t] = (CacheThread) { file, want, n, NULL };
      threads[t] = g_thread_new ("cache", cache_thread, &jobs[t]);
    }
  for (gint t = 0; t < THREADS; t++)
    g_thread_join (threads[t]);
  for (gint t = 1; t < THREADS; t++)
    g_assert_true (jobs[t].first == jobs[0].first);
  g_assert_cmpuint (np_model_cache_drop_idle (), ==, 1);
  g_unlink (file);
}

/* Idle models are kept up to the bound, the last used; held ones always. */
static void
test_model_cache_bound (gconstpointer data)
{
  enum { FILES = NP_MODEL_CACHE_IDLE + 2 };
  gchar   *files[FILES];
  NpModel *held;

  for (gint i = 0; i < FILES; i++)
    {
      g_autofree gchar *name = g_strdup_printf ("np-cache-bound-%d.safetensors", i);
      g_autoptr(NpModel) m = NULL;

      files[i] = save_unet (data, name, 20 + i);
      m = np_model_load_shared (files[i], NULL);
      g_assert_nonnull (m);
    }
  g_assert_cmpuint (np_model_cache_drop_idle (), ==, NP_MODEL_CACHE_IDLE);

  held = np_model_load_shared (files[0], NULL);
  for (gint i = 1; i < FILES; i++)
    np_model_free (np_model_load_shared (files[i], NULL));
  g_assert_cmpuint (np_model_cache_drop_idle (), ==, NP_MODEL_CACHE_IDLE);
  np_model_free (held);
  g_assert_cmpuint (np_model_cache_drop_idle (), ==, 1);
  for (gint i = 0; i < FILES; i++)
    {
      g_unlink (files[i]);
      g_free (files[i]);
    }
}

int
main (int argc, char **argv)
{
  /* Before GLib reads it: models by name come from a folder of our own. */
  g_autofree gchar *xdg = g_dir_make_tmp ("np-test-paint-XXXXXX", NULL);
  g_autofree gchar *neuropaint = g_build_filename (xdg, "neuropaint", NULL);
  g_autofree gchar *models = g_build_filename (neuropaint, "models", NULL);
  int result;

  g_setenv ("XDG_DATA_HOME", xdg, TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/paint/generate/input-filters", test_generate_input_filters);
  g_test_add_func ("/paint/generate/chroma", test_generate_chroma);
  g_test_add_func ("/paint/resampler", test_resampler);
  g_test_add_func ("/paint/resampler/rows", test_resampler_rows);
  g_test_add_func ("/paint/colorize/closed-form", test_colorize_closed_form);
  g_test_add_func ("/paint/colorize/pieces-threads-lab", test_colorize_pieces_threads_lab);
  g_test_add_func ("/paint/colorize/bytes", test_colorize_bytes);
  g_test_add_func ("/paint/colorize/faces", test_colorize_faces);
  g_test_add_func ("/paint/models/kinds", test_model_kinds);
  g_test_add_func ("/paint/dream/kind", test_dream_kind);
  g_test_add_func ("/paint/dream/mix-truncation", test_dream_mix_truncation);
  g_test_add_func ("/paint/dream/sizes", test_dream_sizes);
  g_test_add_func ("/paint/hints/spread", test_hints_spread);
  g_test_add_data_func ("/paint/hints/contract", xdg, test_hints_contract);
  g_test_add_func ("/paint/hints/colorize", test_colorize_hints);
  g_test_add_func ("/paint/hints/faces", test_colorize_hints_faces);
  g_test_add_data_func ("/paint/models/names", xdg, test_model_names);
  g_test_add_data_func ("/paint/models/contract", xdg, test_model_contract);
  g_test_add_data_func ("/paint/models/cache/same-file", xdg, test_model_cache_same_file);
  g_test_add_data_func ("/paint/models/cache/rewritten", xdg, test_model_cache_rewritten);
  g_test_add_data_func ("/paint/models/cache/threads", xdg, test_model_cache_threads);
  g_test_add_data_func ("/paint/models/cache/bound", xdg, test_model_cache_bound);
  result = g_test_run ();
  /* The folders the test made, innermost first. */
  g_rmdir (models);
  g_rmdir (neuropaint);
  g_rmdir (xdg);
  return result;
}
