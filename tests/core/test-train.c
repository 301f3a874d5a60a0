/* Unit tests of datasets (core/train): the crop statistics against hand
 * computed values, a written dataset read back, and every malformed file
 * the reader must refuse with one clear error. NumPy reading our .npy files
 * and OpenCV checking their pixels are in tests/cli/test_prepare.py. */
#include "neuropaint.h"
#include "train/dataset-private.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

enum { W = 8, H = 6 };

/* ---- crop statistics ------------------------------------------------------ */

static NpImage *
uniform (gint w, gint h, guint8 r, guint8 g, guint8 b)
{
  NpImage *im = np_image_new (NP_SAMPLE_U8, w, h, 3, NULL);

  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      {
        guint8 *p = (guint8 *) np_image_row (im, y) + 3 * x;
        p[0] = r, p[1] = g, p[2] = b;
      }
  return im;
}

static void
test_stats_values (void)
{
  g_autoptr(NpImage) im = uniform (10, 10, 200, 150, 100);
  NpCropStats s;

  np_crop_stats (im, &s);
  g_assert_cmpfloat (s.means[0], ==, 200);
  g_assert_cmpfloat (s.means[1], ==, 150);
  g_assert_cmpfloat (s.means[2], ==, 100);
  g_assert_cmpfloat_with_epsilon (s.brightness, 0.299 * 200 + 0.587 * 150 + 0.114 * 100, 1e-9);
  /* Squared distances: gray (128, 128, 128) 6452, orange (255, 165, 0)
   * 13250, pink (255, 192, 203) 15398, brown (165, 42, 42) 16253. */
  g_assert_cmpstr (s.colour, ==, "gray");
  /* Cb = -0.168736·200 - 0.331264·150 + 0.5·100 = -33.4, far above 8. */
  g_assert_false (s.is_gray);

  /* Half the pixels skin-like (230, 180, 160): pink at 25² + 12² + 43²
   * = 2618 beats gray's 14132 and white's 15275; the other half blue. A
   * tie, which the palette order breaks: blue comes before pink. */
  for (gint y = 0; y < 10; y++)
    for (gint x = 0; x < 10; x++)
      {
        guint8 *p = (guint8 *) np_image_row (im, y) + 3 * x;
        gboolean skin = x < 5;
        p[0] = skin ? 230 : 10, p[1] = skin ? 180 : 20, p[2] = skin ? 160 : 240;
      }
  np_crop_stats (im, &s);
  g_assert_cmpstr (s.colour, ==, "blue");
  g_assert_cmpfloat (s.means[0], ==, 120);
  /* One more skin pixel: pink. */
  ((guint8 *) np_image_row (im, 0))[3 * 5 + 0] = 230;
  ((guint8 *) np_image_row (im, 0))[3 * 5 + 1] = 180;
  ((guint8 *) np_image_row (im, 0))[3 * 5 + 2] = 160;
  np_crop_stats (im, &s);
  g_assert_cmpstr (s.colour, ==, "pink");
}

/* Gray: at most 1% of the pixels with chroma above 8. */
static void
test_stats_gray (void)
{
  g_autoptr(NpImage) im = uniform (20, 10, 90, 90, 90);   /* 200 pixels: 1% is 2 */
  NpCropStats s;

  np_crop_stats (im, &s);
  g_assert_true (s.is_gray);
  g_assert_cmpstr (s.colour, ==, "gray");
  g_assert_cmpfloat_with_epsilon (s.brightness, 90, 1e-9);

  /* (90, 90, 102): Cb = 6, Cr = -0.98, chroma 6.08: a faint tint passes. */
  for (gint x = 0; x < 20; x++)
    ((guint8 *) np_image_row (im, 3))[3 * x + 2] = 102;
  np_crop_stats (im, &s);
  g_assert_true (s.is_gray);
  /* (90, 90, 108): Cb = 9, chroma 9.05 on a whole row (10%): colour. */
  for (gint x = 0; x < 20; x++)
    ((guint8 *) np_image_row (im, 3))[3 * x + 2] = 108;
  np_crop_stats (im, &s);
  g_assert_false (s.is_gray);

  /* Two strongly coloured pixels of 200 are tolerated, three are not. */
  for (gint x = 0; x < 20; x++)
    ((guint8 *) np_image_row (im, 3))[3 * x + 2] = 90;
  for (gint x = 0; x < 3; x++)
    ((guint8 *) np_image_row (im, 5))[3 * x] = 255;
  np_crop_stats (im, &s);
  g_assert_false (s.is_gray);
  ((guint8 *) np_image_row (im, 5))[0] = 90;
  np_crop_stats (im, &s);
  g_assert_true (s.is_gray);
}

/* ---- .npy headers ------------------------------------------------------------ */

static void
test_npy_header (void)
{
  const guint64 shape[4] = { 2147483647, 8192, 8192, 3 };
  g_autoptr(GBytes) h = np_npy_header ("|u1", shape, 4, 128), h0 = NULL, h1 = NULL;
  g_autofree gchar *descr = NULL;
  guint64 got[NP_NPY_MAX_RANK];
  gint    rank;
  gsize   size, offset;
  const guint8 *data = g_bytes_get_data (h, &size);
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (size, ==, 128);
  g_assert_cmpmem (data, 8, "\x93NUMPY\x01\x00", 8);
  g_assert_cmpint (data[8] | data[9] << 8, ==, 118);
  g_assert_cmpint (data[127], ==, '\n');
  g_assert_true (np_npy_parse_header (data, size, &descr, got, &rank, &offset, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (descr, ==, "|u1");
  g_assert_cmpint (rank, ==, 4);
  g_assert_cmpmem (got, sizeof shape, shape, sizeof shape);
  g_assert_cmpuint (offset, ==, 128);

  /* Scalars and one-element shapes as Python writes them: () and (5,). */
  h0 = np_npy_header ("<f4", shape, 0, 0);
  g_assert_cmpmem ((const char *) g_bytes_get_data (h0, NULL) + 10, 55,
                   "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 55);
  h1 = np_npy_header ("<f4", shape + 1, 1, 0);
  g_assert_cmpmem ((const char *) g_bytes_get_data (h1, NULL) + 10, 60,
                   "{'descr': '<f4', 'fortran_order': False, 'shape': (8192,), }", 60);
  g_assert_cmpuint (g_bytes_get_size (h1) % 64, ==, 0);
  g_clear_pointer (&descr, g_free);
  g_assert_true (np_npy_parse_header (g_bytes_get_data (h1, NULL), g_bytes_get_size (h1), &descr,
                                      got, &rank, &offset, &error));
  g_assert_cmpint (rank, ==, 1);
  g_assert_cmpuint (got[0], ==, 8192);
  /* Too small a size is refused. */
  g_assert_null (np_npy_header ("|u1", shape, 4, 64));
}

/* ---- a dataset written and read back ------------------------------------------ */

/* Crop k: varied values, the same for the writer and the checks. */
static NpImage *
crop_for (gint k)
{
  NpImage *im = np_image_new (NP_SAMPLE_U8, W, H, 3, NULL);

  for (gint y = 0; y < H; y++)
    for (gint x = 0; x < W * 3; x++)
      ((guint8 *) np_image_row (im, y))[x] = (guint8) (x * 41 + y * 67 + k * 101);
  return im;
}

static const NpHaarBox face = { 10, 20, 30, 40, 3 };
static const NpHaarBox eyes[] = { { 12, 25, 8, 8, 3 }, { 25, 26, 7, 7, 4 } };

/* A dataset of three crops in dir: a face with eyes (train), a centre crop
 * (val, gray photo), a face without eyes. */
static void
write_dataset (const char *dir, GHashTable *params)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NpDatasetWriter) w = np_dataset_writer_new (dir, W, H, params, &error);
  const NpDatasetSource sources[] = {
    { "photos/a \"b\".jpg", "photos", NP_SPLIT_TRAIN, &face, eyes, 2 },
    { "photos/gray.jpg", "photos", NP_SPLIT_VAL, NULL, NULL, 0 },
    { "/abs/other/c.png", "other", NP_SPLIT_TRAIN, &face, NULL, 0 },
  };

  g_assert_no_error (error);
  for (gint k = 0; k < 3; k++)
    {
      g_autoptr(NpImage) crop = k == 1 ? uniform (W, H, 77, 77, 77) : crop_for (k);
      NpCropStats stats;

      g_assert_true (np_dataset_writer_add (w, crop, &sources[k], 2, &stats, &error));
      g_assert_cmpint (stats.is_gray, ==, k == 1);
      g_assert_no_error (error);
    }
  g_assert_cmpuint (np_dataset_writer_count (w), ==, 3);
  g_assert_true (np_dataset_writer_commit (w, &error));
  g_assert_no_error (error);
}

static gchar *
temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  gchar *dir = g_dir_make_tmp ("np-test-train-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree gchar *path = g_build_filename (dir, name, NULL);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static guint
count_files (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (d && g_dir_read_name (d))
    n++;
  return n;
}

static void
test_round_trip (void)
{
  g_autofree gchar *dir = temp_dir ();
  g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(NpDataset) ds = NULL;
  g_autoptr(GError) error = NULL;
  const char *const kinds[] = { "color", "gray", "binary", "contours", "canny" };
  const NpDatasetItem *item;

  g_hash_table_insert (params, "input_threshold", "120");
  write_dataset (dir, params);
  /* Nothing but the dataset's own files: no temporary file is left. */
  g_assert_cmpuint (count_files (dir), ==, 7);
  ds = np_dataset_open (dir, &error);
  g_assert_no_error (error);

  g_assert_cmpint (np_dataset_width (ds), ==, W);
  g_assert_cmpint (np_dataset_height (ds), ==, H);
  g_assert_cmpuint (np_dataset_size (ds), ==, 3);
  g_assert_cmpint (np_dataset_channels (ds, "color"), ==, 3);
  g_assert_cmpint (np_dataset_channels (ds, "gray"), ==, 1);
  g_assert_cmpint (np_dataset_channels (ds, "canny"), ==, 3);
  g_assert_cmpint (np_dataset_channels (ds, "noise"), ==, 0);
  g_assert_null (np_dataset_pixels (ds, "noise", 0));
  g_assert_null (np_dataset_filter_params (ds, "color"));
  g_assert_cmpstr (g_hash_table_lookup (np_dataset_filter_params (ds, "binary"), "input_threshold"), ==, "120");
  g_assert_cmpstr (g_hash_table_lookup (np_dataset_filter_params (ds, "canny"), "input_threshold"), ==, "120");
  g_assert_cmpstr (g_hash_table_lookup (np_dataset_filter_params (ds, "contours"), "input_thresholds"), ==,
                   "50,100,150,200");
  g_assert_cmpuint (g_hash_table_size (np_dataset_filter_params (ds, "gray")), ==, 0);

  item = np_dataset_item (ds, 0);
  g_assert_cmpstr (item->source, ==, "photos/a \"b\".jpg");
  g_assert_cmpstr (item->subset, ==, "photos");
  g_assert_cmpint (item->split, ==, NP_SPLIT_TRAIN);
  g_assert_true (item->has_face);
  g_assert_false (item->is_gray);
  item = np_dataset_item (ds, 1);
  g_assert_cmpint (item->split, ==, NP_SPLIT_VAL);
  g_assert_false (item->has_face);
  g_assert_true (item->is_gray);
  g_assert_cmpstr (np_dataset_item (ds, 2)->subset, ==, "other");

  /* The pixels: the crop itself, and each filter of the registry on it with
   * the parameters given. */
  for (gint k = 0; k < 3; k++)
    {
      g_autoptr(NpImage) crop = k == 1 ? uniform (W, H, 77, 77, 77) : crop_for (k);
      for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
        {
          const NpFilter *f = np_filter_find (kinds[i]);
          gint c = np_dataset_channels (ds, kinds[i]);
          g_autoptr(NpImage) want = np_image_new (NP_SAMPLE_U8, W, H, c, NULL);

          if (f)
            g_assert_true (np_filter_apply (f, params, crop, want, 1, NULL));
          else
            memcpy (want->data, crop->data, W * H * 3);
          g_assert_cmpmem (np_dataset_pixels (ds, kinds[i], k), W * H * c, want->data, W * H * c);
        }
    }
  remove_dir (dir);
}

/* A residual target is the photo less the bicubic upscale of the half-size
 * source (the lowres baseline's picture), and composing it gives the photo
 * back; only the lowres input takes it. */
static void
test_batcher_residual (void)
{
  g_autofree gchar *dir = temp_dir ();
  g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(NpDataset) ds = NULL;
  g_autoptr(NpBatcher) b = NULL, plain = NULL;
  g_autoptr(GError) error = NULL;
  gint64 sne[4], tne[4];

  write_dataset (dir, params);
  ds = np_dataset_open (dir, &error);
  g_assert_no_error (error);
  g_assert_null (np_batcher_new (ds, np_experiment_find ("gray"), NP_MODEL_TARGET_RESIDUAL, NP_SPLIT_TRAIN, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  b = np_batcher_new (ds, np_experiment_find ("lowres"), NP_MODEL_TARGET_RESIDUAL, NP_SPLIT_TRAIN, &error);
  plain = np_batcher_new (ds, np_experiment_find ("lowres"), NP_MODEL_TARGET_RGB, NP_SPLIT_TRAIN, &error);
  g_assert_no_error (error);
  np_batcher_shapes (b, 2, sne, tne);
  g_assert_cmpint (tne[2], ==, 3);
  {
    g_autoptr(NpTensor) src = np_tensor_new (sne[0], sne[1], sne[2], 2, NULL);
    g_autoptr(NpTensor) res = np_tensor_new (tne[0], tne[1], tne[2], 2, NULL);
    g_autoptr(NpTensor) photo = np_tensor_new (tne[0], tne[1], tne[2], 2, NULL);
    g_autoptr(NpTensor) up = np_tensor_new (tne[0], tne[1], tne[2], 2, NULL);
    g_autoptr(NpTensor) back = np_tensor_new (tne[0], tne[1], tne[2], 2, NULL);
    g_autoptr(NpTensor) src2 = np_tensor_new (sne[0], sne[1], sne[2], 2, NULL);
    double detail = 0;

    np_batcher_items (b, 0, 1, src, res);
    np_batcher_items (plain, 0, 1, src2, photo);
    g_assert_cmpmem (src->data, np_tensor_n_elements (src) * 4, src2->data, np_tensor_n_elements (src2) * 4);
    np_batcher_source_picture (b, src, up);
    np_batcher_compose (b, src, res, NULL, back);
    for (gint64 i = 0; i < np_tensor_n_elements (res); i++)
      {
        /* photo (on [-1, 1]) = 2·upscale − 1 + residual */
        g_assert_cmpfloat_with_epsilon (photo->data[i], 2 * up->data[i] - 1 + res->data[i], 1e-5);
        g_assert_cmpfloat_with_epsilon (back->data[i], (photo->data[i] + 1) * 0.5f, 1e-5);
        detail += fabs (res->data[i]);
      }
    /* The crops have edges the half size loses. */
    g_assert_cmpfloat (detail / np_tensor_n_elements (res), >, 1e-3);
  }
  remove_dir (dir);
}

/* The half-size source of super resolution is the photo halved by one of
 * three rules, drawn per pair: OpenCV's bicubic (np_resize_cubic, checked
 * against OpenCV in the image tests), 2 × 2 block means, or Pillow's
 * antialiased bilinear, a [1 3 3 1]/8 triangle whose taps past the border
 * are dropped and the rest renormalised. The last two are written out here.
 * Each draw must be one of them, and all three must come up. */
static double
triangle_tap (const guint8 *px, gint w, gint h, gint x, gint y, gint k)
{
  static const double weight[4] = { 1, 3, 3, 1 };
  double sum = 0, total = 0;

  for (gint j = 0; j < 4; j++)
    for (gint i = 0; i < 4; i++)
      {
        gint sx = 2 * x - 1 + i, sy = 2 * y - 1 + j;
        if (sx < 0 || sx >= w || sy < 0 || sy >= h)
          continue;
        sum += weight[i] * weight[j] * px[((gsize) sy * w + sx) * 3 + k];
        total += weight[i] * weight[j];
      }
  return sum / total;
}

static void
test_batcher_halves (void)
{
  g_autofree gchar *dir = temp_dir ();
  g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(NpDataset) ds = NULL;
  g_autoptr(NpBatcher) b = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NpImage) cubic = np_image_new (NP_SAMPLE_U8, W / 2, H / 2, 3, NULL);
  gint64 sne[4], tne[4];
  gint   seen[3] = { 0 };
  const guint8 *px;

  write_dataset (dir, params);
  ds = np_dataset_open (dir, &error);
  g_assert_no_error (error);
  b = np_batcher_new (ds, np_experiment_find ("lowres"), NP_MODEL_TARGET_RESIDUAL, NP_SPLIT_TRAIN, &error);
  g_assert_no_error (error);
  px = np_dataset_pixels (ds, "color", 0);
  {
    NpImage full = np_image_view (NP_SAMPLE_U8, W, H, 3, (gpointer) px, (gsize) W * 3);
    np_resize_cubic (&full, cubic);
  }
  np_batcher_shapes (b, 1, sne, tne);
  for (guint64 key = 0; key < 30; key++)
    {
      g_autoptr(NpTensor) src = np_tensor_new (sne[0], sne[1], sne[2], 1, NULL);
      g_autoptr(NpTensor) tgt = np_tensor_new (tne[0], tne[1], tne[2], 1, NULL);
      double off[3] = { 0 };   /* the largest difference from each rule */

      np_batcher_items (b, 0, key, src, tgt);   /* slot 0: item 0, not flipped */
      for (gint y = 0; y < H / 2; y++)
        for (gint x = 0; x < W / 2; x++)
          for (gint k = 0; k < 3; k++)
            {
              double got = lrint ((*np_tensor_at (src, x, y, k, 0) + 1) * 127.5);
              const guint8 *q = px + ((gsize) 2 * y * W + 2 * x) * 3 + k;
              double block = floor ((q[0] + q[3] + q[W * 3] + q[W * 3 + 3] + 2) / 4);
              double rule[3] = { ((guint8 *) np_image_row (cubic, y))[x * 3 + k], block,
                                 floor (triangle_tap (px, W, H, x, y, k) + 0.5) };
              for (gint r = 0; r < 3; r++)
                off[r] = MAX (off[r], fabs (got - rule[r]));
            }
      /* The rules differ by far more than a rounding, so one fits. */
      g_assert_true (off[0] == 0 || off[1] == 0 || off[2] <= 1);
      g_assert_cmpfloat (off[0] + off[1] + off[2], >, 10);
      seen[off[0] == 0 ? 0 : off[1] == 0 ? 1 : 2]++;
    }
  for (gint r = 0; r < 3; r++)
    g_assert_cmpint (seen[r], >, 0);
  remove_dir (dir);
}

/* BT.601's chroma of an R'G'B' colour in [0, 1], times 2: written out
 * here, not taken from the code under test. */
static void
chroma_of (const double rgb[3], double out[2])
{
  out[0] = 2 * (-0.168736 * rgb[0] - 0.331264 * rgb[1] + 0.5 * rgb[2]);
  out[1] = 2 * (0.5 * rgb[0] - 0.418688 * rgb[1] - 0.081312 * rgb[2]);
}

/* Simulated hints: the gray channel is the gray input's; the hints are a
 * pure function of the key (another key, other hints); about 1/8 + 7/8·1/8
 * of the crops have none (a mask of −1 everywhere); the mask is in
 * [−1, 1], and the chroma no more than the share (mask + 1)/2 that
 * reaches.
 * Validation's hints are count 5×5 patches of the patch's mean colour,
 * the same whatever the key: one of them, spread, is that colour times
 * the mask's share wherever it reaches, and the colour is some 5×5
 * patch's mean. */
static void
test_batcher_hints (void)
{
  enum { N = 64, ROUNDS = 40 };
  g_autofree gchar *dir = temp_dir ();
  g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(NpDataset) ds = NULL;
  g_autoptr(NpBatcher) b = NULL, gray = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NpTensor) src = NULL, again = NULL, other = NULL, plain = NULL, tgt = NULL, tgt1 = NULL, photos = NULL;
  gint64 sne[4], tne[4], plane = W * H, none = 0, different = 0;

  write_dataset (dir, params);
  ds = np_dataset_open (dir, &error);
  g_assert_no_error (error);
  g_assert_null (np_batcher_new (ds, np_experiment_find ("gray-hints"), NP_MODEL_TARGET_RGB, NP_SPLIT_TRAIN, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  b = np_batcher_new (ds, np_experiment_find ("gray-hints"), NP_MODEL_TARGET_CHROMA, NP_SPLIT_TRAIN, &error);
  gray = np_batcher_new (ds, np_experiment_find ("gray"), NP_MODEL_TARGET_CHROMA, NP_SPLIT_TRAIN, &error);
  g_assert_no_error (error);
  np_batcher_shapes (b, N, sne, tne);
  g_assert_cmpint (sne[2], ==, 1 + NP_MODEL_HINT_CHANNELS);
  src = np_tensor_new (sne[0], sne[1], sne[2], N, NULL);
  again = np_tensor_new (sne[0], sne[1], sne[2], N, NULL);
  other = np_tensor_new (sne[0], sne[1], sne[2], N, NULL);
  plain = np_tensor_new (sne[0], sne[1], 1, N, NULL);
  tgt = np_tensor_new (tne[0], tne[1], tne[2], N, NULL);
  tgt1 = np_tensor_new (tne[0], tne[1], tne[2], N, NULL);
  photos = np_tensor_new (tne[0], tne[1], 3, N, NULL);

  for (gint r = 0; r < ROUNDS; r++)
    {
      np_batcher_random (b, 1000 + r, 0, src, tgt);
      np_batcher_random (b, 1000 + r, 0, again, tgt1);
      np_batcher_random (b, 5000 + r, 0, other, tgt1);
      np_batcher_random (gray, 1000 + r, 0, plain, tgt1);
      g_assert_cmpmem (src->data, np_tensor_n_elements (src) * 4, again->data, np_tensor_n_elements (again) * 4);
      different += memcmp (src->data, other->data, np_tensor_n_elements (src) * 4) != 0;
      for (gint64 n = 0; n < N; n++)
        {
          gint64 hinted = 0;
          g_assert_cmpmem (np_tensor_at (src, 0, 0, 0, n), plane * 4, np_tensor_at (plain, 0, 0, 0, n), plane * 4);
          for (gint64 i = 0; i < plane; i++)
            {
              gfloat mask = np_tensor_at (src, 0, 0, 3, n)[i];
              g_assert_true (mask >= -1 && mask <= 1);
              hinted += mask > -1;
              /* Chroma within [−1, 1] times the share that reaches. */
              for (gint k = 1; k <= 2; k++)
                g_assert_cmpfloat (fabs (np_tensor_at (src, 0, 0, k, n)[i]), <=, (mask + 1) / 2 + 1e-6);
            }
          none += hinted == 0;
        }
    }
  g_assert_cmpint (different, ==, ROUNDS);
  /* 2560 crops: 23.4 % ± 2.5 % (3σ). */
  g_test_message ("%" G_GINT64_FORMAT " of %d crops without hints", none, N * ROUNDS);
  g_assert_cmpfloat (fabs ((gdouble) none / (N * ROUNDS) - (1.0 / 8 + 7.0 / 64)), <, 0.025);

  /* Validation: one 5×5 hint of its patch's mean colour, whatever the key. */
  np_batcher_set_hints (b, 1);
  np_batcher_items (b, 0, 1, src, tgt);
  np_batcher_items (b, 0, 77, again, tgt);
  g_assert_cmpmem (src->data, np_tensor_n_elements (src) * 4, again->data, np_tensor_n_elements (again) * 4);
  np_batcher_photos (b, 0, photos);
  for (gint64 n = 0; n < N; n++)
    {
      gint   at_x = 0, at_y = 0;
      double colour[2], best = G_MAXDOUBLE;

      for (gint y = 0; y < H; y++)
        for (gint x = 0; x < W; x++)
          if (*np_tensor_at (src, x, y, 3, n) > *np_tensor_at (src, at_x, at_y, 3, n))
            at_x = x, at_y = y;
      g_assert_cmpfloat (*np_tensor_at (src, at_x, at_y, 3, n), ==, 1);
      for (gint k = 0; k < 2; k++)
        colour[k] = *np_tensor_at (src, at_x, at_y, 1 + k, n);
      for (gint y = 0; y < H; y++)
        for (gint x = 0; x < W; x++)
          {
            double q = (*np_tensor_at (src, x, y, 3, n) + 1) / 2;
            for (gint k = 0; k < 2; k++)
              g_assert_cmpfloat_with_epsilon (*np_tensor_at (src, x, y, 1 + k, n), q * colour[k], 1e-5);
          }
      for (gint y0 = 0; y0 + 5 <= H; y0++)
        for (gint x0 = 0; x0 + 5 <= W; x0++)
          {
            double mean[3] = { 0 }, want[2];
            for (gint y = y0; y < y0 + 5; y++)
              for (gint x = x0; x < x0 + 5; x++)
                for (gint k = 0; k < 3; k++)
                  mean[k] += *np_tensor_at (photos, x, y, k, n) / 25;
            chroma_of (mean, want);
            best = MIN (best, fabs (want[0] - colour[0]) + fabs (want[1] - colour[1]));
          }
      g_assert_cmpfloat (best, <, 1e-4);
    }
  np_batcher_set_hints (b, 0);
  np_batcher_items (b, 0, 1, src, tgt);
  for (gint64 n = 0; n < N; n++)
    for (gint64 i = 0; i < plane; i++)
      g_assert_cmpfloat (np_tensor_at (src, 0, 0, 3, n)[i], ==, -1);
  remove_dir (dir);
}

/* Freeing a writer before commit leaves nothing; committing over an
 * existing dataset replaces it whole. */
static void
test_writer_atomic (void)
{
  g_autofree gchar *dir = temp_dir ();
  g_autoptr(GError) error = NULL;
  g_autoptr(NpImage) crop = crop_for (0);
  const NpDatasetSource source = { "x.jpg", "in", NP_SPLIT_TRAIN, NULL, NULL, 0 };

  {
    g_autoptr(NpDatasetWriter) w = np_dataset_writer_new (dir, W, H, NULL, &error);
    g_assert_true (np_dataset_writer_add (w, crop, &source, 1, NULL, &error));
  }
  g_assert_cmpuint (count_files (dir), ==, 0);

  write_dataset (dir, NULL);
  {
    g_autoptr(NpDatasetWriter) w = np_dataset_writer_new (dir, W, H, NULL, &error);
    g_autoptr(NpDataset) ds = NULL;

    g_assert_true (np_dataset_writer_add (w, crop, &source, 1, NULL, &error));
    /* Until commit the old dataset is intact. */
    ds = np_dataset_open (dir, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (np_dataset_size (ds), ==, 3);
    g_assert_true (np_dataset_writer_commit (w, &error));
  }
  {
    g_autoptr(NpDataset) ds = np_dataset_open (dir, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (np_dataset_size (ds), ==, 1);
    g_assert_cmpstr (np_dataset_item (ds, 0)->source, ==, "x.jpg");
  }
  g_assert_cmpuint (count_files (dir), ==, 7);
  remove_dir (dir);
}

static void
test_writer_bad_arguments (void)
{
  g_autofree gchar *dir = temp_dir ();
  g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
  GError *error = NULL;

  g_assert_null (np_dataset_writer_new (dir, 0, 5, NULL, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (np_dataset_writer_new (dir, 5, NP_DATASET_MAX_SIDE + 1, NULL, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_hash_table_insert (params, "input_thresholds", "50,,100");
  g_assert_null (np_dataset_writer_new (dir, 5, 5, params, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "input_thresholds"));
  g_clear_error (&error);
  g_assert_cmpuint (count_files (dir), ==, 0);
  remove_dir (dir);
}

/* ---- malformed datasets -------------------------------------------------------- */

typedef struct
{
  gchar      *info, *manifest;
  GHashTable *stacks;   /* kind → GByteArray */
} Files;

static void
files_load (Files *f, const char *dir)
{
  const char *const kinds[] = { "color", "gray", "binary", "contours", "canny" };
  g_autofree gchar *info = g_build_filename (dir, "dataset.json", NULL);
  g_autofree gchar *manifest = g_build_filename (dir, "manifest.jsonl", NULL);

  g_assert_true (g_file_get_contents (info, &f->info, NULL, NULL));
  g_assert_true (g_file_get_contents (manifest, &f->manifest, NULL, NULL));
  f->stacks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_byte_array_unref);
  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autofree gchar *name = g_strconcat (kinds[i], ".npy", NULL);
      g_autofree gchar *path = g_build_filename (dir, name, NULL);
      gchar *data;
      gsize  size;

      g_assert_true (g_file_get_contents (path, &data, &size, NULL));
      g_hash_table_insert (f->stacks, g_strdup (kinds[i]), g_byte_array_new_take ((guint8 *) data, size));
    }
}

static void
files_clear (Files *f)
{
  g_free (f->info);
  g_free (f->manifest);
  g_hash_table_unref (f->stacks);
}

static GBytes *
stack_from_table (const char *kind, gpointer data, GError **error)
{
  GByteArray *a = g_hash_table_lookup (data, kind);

  if (a == NULL)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_IO, "%s.npy: No such file or directory", kind);
      return NULL;
    }
  return g_bytes_new (a->data, a->len);
}

static NpDataset *
files_open (const Files *f, GError **error)
{
  g_autoptr(GBytes) info = g_bytes_new (f->info, strlen (f->info));
  g_autoptr(GBytes) manifest = g_bytes_new (f->manifest, strlen (f->manifest));
  return np_dataset_load ("ds", info, manifest, stack_from_table, f->stacks, error);
}

/* text with its first `old` replaced by `new` (which must occur). */
static gchar *
replace (const char *text, const char *old, const char *new)
{
  const char *at = strstr (text, old);

  g_assert_nonnull (at);
  return g_strdup_printf ("%.*s%s%s", (int) (at - text), text, new, at + strlen (old));
}

static void
expect_error (const Files *f, gint code, const char *what, const char *case_name)
{
  GError *error = NULL;
  NpDataset *ds = files_open (f, &error);

  if (ds != NULL || error == NULL || error->domain != NP_ERROR || error->code != code
      || strstr (error->message, what) == NULL)
    g_error ("case “%s”: expected an error with “%s”, got %s", case_name, what,
             error ? error->message : "success");
  {
    g_autofree gchar *name = g_strescape (case_name, NULL);
    g_test_message ("%s: %s", name, error->message);
  }
  g_error_free (error);
}

static void
test_malformed (void)
{
  /* In dataset.json: what to replace, with what, the code and a word the
   * message must hold. */
  static const struct { const char *old, *new; gint code; const char *what; } info_cases[] = {
    { "{", "[", NP_ERROR_CORRUPT, "dataset.json" },
    { "{", "", NP_ERROR_CORRUPT, "dataset.json" },
    { "{", "{{", NP_ERROR_CORRUPT, "dataset.json" },
    { "{", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{", NP_ERROR_CORRUPT, "too deep" },
    { "\"neuropaint-dataset\"", "\"other\"", NP_ERROR_CORRUPT, "format" },
    { "\"format\"", "\"formats\"", NP_ERROR_CORRUPT, "format" },
    { "\"version\": 1", "\"version\": 2", NP_ERROR_UNSUPPORTED, "version 2" },
    { "\"version\": 1", "\"version\": 0", NP_ERROR_CORRUPT, "version" },
    { "\"version\": 1", "\"version\": \"1\"", NP_ERROR_CORRUPT, "version" },
    { "\"version\": 1", "\"version\": 1.5", NP_ERROR_CORRUPT, "version" },
    { "\"width\": 8", "\"width\": 0", NP_ERROR_CORRUPT, "width" },
    { "\"width\": 8", "\"width\": 8193", NP_ERROR_CORRUPT, "width" },
    { "\"height\": 6", "\"heigth\": 6", NP_ERROR_CORRUPT, "height" },
    { "\"count\": 3", "\"count\": -1", NP_ERROR_CORRUPT, "count" },
    { "\"count\": 3", "\"count\": 99999999999", NP_ERROR_CORRUPT, "count" },
    { "\"count\": 3", "\"count\": null", NP_ERROR_CORRUPT, "count" },
    { "\"count\": 3", "\"count\": 2", NP_ERROR_CORRUPT, "more than the 2 lines" },
    { "\"count\": 3", "\"count\": 4", NP_ERROR_CORRUPT, "3 lines, but dataset.json counts 4" },
    { "\"kinds\": {", "\"kinds\": [", NP_ERROR_CORRUPT, "dataset.json" },
    { "\"kinds\"", "\"kind\"", NP_ERROR_CORRUPT, "kinds" },
    { "\"color\": 3, ", "", NP_ERROR_CORRUPT, "lacks “color”" },
    { "\"color\": 3", "\"color\": 1", NP_ERROR_CORRUPT, "lacks “color”" },
    { "\"gray\": 1", "\"gray\": 5", NP_ERROR_CORRUPT, "kind “gray”" },
    { "\"gray\": 1", "\"gray\": \"1\"", NP_ERROR_CORRUPT, "kind “gray”" },
    { "\"gray\": 1", "\"../gray\": 1", NP_ERROR_CORRUPT, "“../gray” is not a name" },
    { "\"gray\": 1", "\"Gray\": 1", NP_ERROR_CORRUPT, "is not a name" },
    { "\"gray\": 1", "\"\": 1", NP_ERROR_CORRUPT, "is not a name" },
    { "\"gray\": 1", "\"gray\": 1, \"noise\": 3", NP_ERROR_CORRUPT, "no object for kind “noise”" },
    { "\"filters\"", "\"filter\"", NP_ERROR_CORRUPT, "“filters” is not an object" },
    { "\"gray\": {}", "\"gray\": []", NP_ERROR_CORRUPT, "no object for kind “gray”" },
    { "\"input_thresholds\": \"50,100,150,200\"", "\"input_thresholds\": 50", NP_ERROR_CORRUPT, "input_thresholds" },
    { "\"gray\": {}", "\"gray\": {}, \"lowres\": {}", NP_ERROR_CORRUPT, "“lowres”, which is not" },
    { "\"gray\": {}", "\"gray\": {}, \"color\": {}", NP_ERROR_CORRUPT, "“color”, which is not" },
  };
  /* In manifest.jsonl's first line (or anywhere, for the line structure). */
  static const struct { const char *old, *new; const char *what; } manifest_cases[] = {
    { "{\"index\": 0", "[", "line 1" },
    { "{\"index\": 0", "\"index\"", "line 1" },
    { "{\"index\": 0", "[1, {\"index\": 0", "line 1" },
    { "\"index\": 0", "\"index\": 1", "line 1: “index” is not 0" },
    { "\"index\": 1", "\"index\": \"1\"", "line 2: “index”" },
    { "\"index\": 0", "\"idx\": 0", "line 1: “index”" },
    { "\"source\": \"photos/a", "\"source\": 7, \"x\": \"", "line 1: “source”" },
    { "\"source\": \"photos/gray.jpg\"", "\"source\": \"\"", "line 2: “source”" },
    { "\"subset\": \"photos\"", "\"subset\": null", "line 1: “subset”" },
    { "\"split\": \"train\"", "\"split\": \"test\"", "line 1: “split”" },
    { "\"split\": \"train\"", "\"split\": \"Train\"", "line 1: “split”" },
    { "\"face\": {\"x\": 10", "\"face\": {\"x\": -1", "line 1: “face”" },
    { "\"face\": {\"x\": 10", "\"face\": {\"x\": 1.5", "line 1: “face”" },
    { "\"w\": 30, \"h\": 40}", "\"w\": 0, \"h\": 40}", "line 1: “face”" },
    { "\"w\": 30, \"h\": 40}", "\"w\": 30}", "line 1: “face”" },
    { "\"w\": 30, \"h\": 40}", "\"w\": 30, \"h\": 40, \"k\": 1}", "line 1: “face”" },
    { "\"face\": null", "\"face\": false", "line 2: “face”" },
    { "\"face\": null, ", "", "line 2: “face”" },
    { "\"eyes\": [{", "\"eyes\": [7, {", "line 1: “eyes”" },
    { "\"eyes\": []", "\"eyes\": {}", "line 2: “eyes”" },
    { "\"eyes\": []", "\"eyes\": null", "line 2: “eyes”" },
    { "\"eyes\": [{\"x\": 12", "\"eyes\": [{\"x\": 99999999", "line 1: “eyes”" },
    { "\"means\": [", "\"means\": [1, ", "line 1: “means”" },
    { "\"means\": [", "\"means\": [256, ", "line 1: “means”" },
    { "\"means\": [", "\"means\": [\"1\", ", "line 1: “means”" },
    { "\"means\": [77.00", "\"means\": [-1", "line 2: “means”" },
    { "\"brightness\": ", "\"brightness\": 300, \"b\": ", "line 1: “brightness”" },
    { "\"brightness\": ", "\"brightness\": null, \"b\": ", "line 1: “brightness”" },
    { "\"colour\": \"", "\"colour\": 3, \"c\": \"", "line 1: “colour”" },
    { "\"gray\": false", "\"gray\": 0", "line 1: “gray”" },
    { "\"gray\": true", "\"grey\": true", "line 2: “gray”" },
    { "}\n{\"index\": 1", "}\n\n{\"index\": 1", "line 2 is empty" },
    { "}\n{\"index\": 1", "} {\"index\": 1", "line 1: more than one JSON value" },
  };
  g_autofree gchar *dir = temp_dir ();
  Files f;

  write_dataset (dir, NULL);
  files_load (&f, dir);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(NpDataset) ds = files_open (&f, &error);
    g_assert_no_error (error);   /* the cases below break a valid dataset */
  }

  for (gsize i = 0; i < G_N_ELEMENTS (info_cases); i++)
    {
      g_autofree gchar *saved = f.info;
      f.info = replace (saved, info_cases[i].old, info_cases[i].new);
      expect_error (&f, info_cases[i].code, info_cases[i].what, f.info);
      g_free (f.info);
      f.info = g_steal_pointer (&saved);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (manifest_cases); i++)
    {
      g_autofree gchar *saved = f.manifest;
      g_autofree gchar *what = g_strconcat ("ds/manifest.jsonl: ", manifest_cases[i].what, NULL);
      f.manifest = replace (saved, manifest_cases[i].old, manifest_cases[i].new);
      expect_error (&f, NP_ERROR_CORRUPT, what, manifest_cases[i].new);
      g_free (f.manifest);
      f.manifest = g_steal_pointer (&saved);
    }
  /* No manifest, or one line short. */
  {
    g_autofree gchar *saved = f.manifest;
    f.manifest = g_strdup ("");
    expect_error (&f, NP_ERROR_CORRUPT, "0 lines, but dataset.json counts 3", "empty manifest");
    g_free (f.manifest);
    f.manifest = g_strndup (saved, strstr (saved, "{\"index\": 2") - saved);
    expect_error (&f, NP_ERROR_CORRUPT, "2 lines", "a line short");
    g_free (f.manifest);
    /* The last line may lack its newline. */
    f.manifest = g_strndup (saved, strlen (saved) - 1);
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(NpDataset) ds = files_open (&f, &error);
      g_assert_no_error (error);
    }
    g_free (f.manifest);
    f.manifest = g_steal_pointer (&saved);
  }

  /* The stacks: each byte of the preamble and header matters. */
  {
    static const struct { gsize at; const char *bytes; gint code; const char *what; } npy_cases[] = {
      { 0, "\x92", NP_ERROR_CORRUPT, "magic" },
      { 6, "\x02", NP_ERROR_UNSUPPORTED, "version 2.0" },
      { 9, "\xff", NP_ERROR_CORRUPT, "past the end" },
      { 8, "\x70", NP_ERROR_CORRUPT, "newline" },
      { 10, "[", NP_ERROR_CORRUPT, "not a dict" },
      { 11, "\"", NP_ERROR_CORRUPT, "quoted string" },
      { 12, "x", NP_ERROR_CORRUPT, "other than descr" },
      { 22, "f", NP_ERROR_CORRUPT, "dtype “|f1”, not bytes (|u1)" },
      { 44, "Tru", NP_ERROR_CORRUPT, "True or False" },
      { 44, "True ", NP_ERROR_UNSUPPORTED, "Fortran" },
      { 61, "4", NP_ERROR_CORRUPT, "shape is not (3, 6, 8, 3)" },
      { 61, "-", NP_ERROR_CORRUPT, "tuple" },
      { 62, ")", NP_ERROR_CORRUPT, "tuple" },
      { 65, ")      ", NP_ERROR_CORRUPT, "shape is not" },
      { 67, "9", NP_ERROR_CORRUPT, "shape is not" },
      { 49, ";", NP_ERROR_CORRUPT, "commas" },
      { 75, "x", NP_ERROR_CORRUPT, "after the header" },
      { 127, " ", NP_ERROR_CORRUPT, "newline" },
    };
    GByteArray *color = g_hash_table_lookup (f.stacks, "color");
    g_autoptr(GByteArray) saved = g_byte_array_new ();

    /* Where the cases above aim: */
    g_assert_cmpmem (color->data + 10, 60,
                     "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 6, 8, 3), }", 60);
    g_byte_array_append (saved, color->data, color->len);
    for (gsize i = 0; i < G_N_ELEMENTS (npy_cases); i++)
      {
        g_autofree gchar *what = g_strconcat ("ds/color.npy: ", npy_cases[i].what, NULL);
        memcpy (color->data + npy_cases[i].at, npy_cases[i].bytes, strlen (npy_cases[i].bytes));
        expect_error (&f, npy_cases[i].code, npy_cases[i].what, npy_cases[i].bytes);
        expect_error (&f, npy_cases[i].code, "ds/color.npy: ", npy_cases[i].bytes);
        memcpy (color->data, saved->data, saved->len);
      }
    color->data[8] = 0;   /* an empty header */
    expect_error (&f, NP_ERROR_CORRUPT, "newline", "header length 0");
    color->data[8] = saved->data[8];
    g_byte_array_set_size (color, saved->len - 1);
    expect_error (&f, NP_ERROR_CORRUPT, "truncated", "truncated");
    g_byte_array_append (color, (const guint8 *) "xy", 2);
    expect_error (&f, NP_ERROR_CORRUPT, "extra bytes", "extra bytes");
    g_byte_array_set_size (color, 5);
    expect_error (&f, NP_ERROR_CORRUPT, "magic", "5 bytes");
    g_byte_array_set_size (color, 0);
    expect_error (&f, NP_ERROR_CORRUPT, "magic", "empty");
    g_byte_array_set_size (color, 0);
    g_byte_array_append (color, saved->data, saved->len);
    /* Another kind's channels: canny's header says 3, dataset.json 1. */
    {
      g_autofree gchar *old = f.info;
      f.info = replace (old, "\"canny\": 3", "\"canny\": 1");
      expect_error (&f, NP_ERROR_CORRUPT, "ds/canny.npy: its shape is not (3, 6, 8, 1)", "canny channels");
      g_free (f.info);
      f.info = g_steal_pointer (&old);
    }
    g_hash_table_remove (f.stacks, "contours");
    expect_error (&f, NP_ERROR_IO, "contours.npy", "missing stack");
  }
  files_clear (&f);
  remove_dir (dir);
}

static void
test_open_errors (void)
{
  g_autofree gchar *dir = temp_dir ();
  g_autofree gchar *info = g_build_filename (dir, "dataset.json", NULL);
  g_autofree gchar *stack = g_build_filename (dir, "gray.npy", NULL);
  GError *error = NULL;

  g_assert_null (np_dataset_open ("/nonexistent/dataset", &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/dataset"));
  g_clear_error (&error);
  g_assert_null (np_dataset_open (dir, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "dataset.json: missing"));
  g_clear_error (&error);

  write_dataset (dir, NULL);
  g_assert_cmpint (g_unlink (stack), ==, 0);
  g_assert_null (np_dataset_open (dir, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "gray.npy"));
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (info, "", 0, NULL));
  g_assert_null (np_dataset_open (dir, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "dataset.json"));
  g_clear_error (&error);
  remove_dir (dir);
}

/* The tree of np_tree_sum, written from its definition: leaves [a, b) split
 * at the largest power of two below their count. */
static float
tree (const float *leaves, int a, int b)
{
  int p = 1;

  if (b - a == 1)
    return leaves[a];
  while (2 * p < b - a)
    p *= 2;
  return tree (leaves, a, a + p) + tree (leaves, a + p, b);
}

static void
test_tree_sum (void)
{
  /* Values whose sum depends on the grouping in float. */
  float leaves[13], partial[4];

  /* 1 is below half a unit of 1e8: where it goes decides whether it counts. */
  for (int i = 0; i < 13; i++)
    leaves[i] = i == 0 || i == 8 ? 1e8f : i == 5 || i == 11 ? -1e8f : 1.0f + 0.25f * (float) i;
  for (int n = 1; n <= 13; n++)
    {
      g_autoptr(NpTreeSum) sum = np_tree_sum_new (1);
      for (int round = 0; round < 2; round++)   /* reset starts over */
        {
          np_tree_sum_reset (sum);
          for (int i = 0; i < n; i++)
            np_tree_sum_add (sum, &leaves[i]);
          g_assert_cmpfloat (*np_tree_sum_result (sum), ==, tree (leaves, 0, n));
        }
    }
  /* Not a left-to-right sum: the test can tell groupings apart. */
  g_assert_cmpfloat (tree (leaves, 0, 7), !=, ((((((leaves[0] + leaves[1]) + leaves[2]) + leaves[3]) + leaves[4])
                                                 + leaves[5]) + leaves[6]));
  /* Blocks of 2^j leaves are subtrees: 3 "ranks" of 4 micro-batches sum to
   * the tree of 12, 4 ranks of 2 to the tree of 8. */
  for (int k = 2; k <= 4; k += 2)
    {
      int ranks = k == 4 ? 3 : 4;
      g_autoptr(NpTreeSum) over_ranks = np_tree_sum_new (1);
      for (int r = 0; r < ranks; r++)
        {
          g_autoptr(NpTreeSum) local = np_tree_sum_new (1);
          for (int i = 0; i < k; i++)
            np_tree_sum_add (local, &leaves[r * k + i]);
          partial[r] = *np_tree_sum_result (local);
          np_tree_sum_add (over_ranks, &partial[r]);
        }
      g_assert_cmpfloat (*np_tree_sum_result (over_ranks), ==, tree (leaves, 0, ranks * k));
    }
}

/* ---- the colourfulness term ------------------------------------------------- */

static void
test_colourfulness_gradient (void)
{
  /* np_colourfulness_loss's gradient against central differences, for
   * both targets it serves; its value against PyTorch is in
   * tests/oracle/test_train_torch.py. */
  const NpModelTarget kinds[] = { NP_MODEL_TARGET_CHROMA, NP_MODEL_TARGET_RGB };

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      gint c = np_model_target_values (kinds[k]);
      g_autoptr(NpTensor) pred = np_tensor_new (5, 4, c, 2, NULL), target = np_tensor_new (5, 4, c, 2, NULL);
      g_autoptr(NpTensor) grad = np_tensor_new (5, 4, c, 2, NULL), none = np_tensor_new (5, 4, c, 2, NULL);
      gint64 n = np_tensor_n_elements (pred);
      double worst = 0, loss;

      for (gint64 i = 0; i < n; i++)
        {
          /* Image 0 duller than its photo, image 1 more colourful. */
          gboolean second = i >= n / 2;
          pred->data[i] = (second ? 0.6f : 0.2f) * sinf (0.7f * (gfloat) i + 0.3f);
          target->data[i] = 0.4f * cosf (1.3f * (gfloat) i);
          grad->data[i] = 0.5f;   /* the term adds into what is there */
        }
      loss = np_colourfulness_loss (pred, target, kinds[k], 2.0f, grad);
      g_assert_cmpfloat (loss, >, 1);
      for (gint64 i = 0; i < n; i++)
        {
          const float h = 1e-3f;
          float       keep = pred->data[i];
          double      up, down, numeric;

          pred->data[i] = keep + h;
          up = np_colourfulness_loss (pred, target, kinds[k], 2.0f, NULL);
          pred->data[i] = keep - h;
          down = np_colourfulness_loss (pred, target, kinds[k], 2.0f, NULL);
          pred->data[i] = keep;
          numeric = 2.0 * (up - down) / (2 * h);
          worst = MAX (worst, fabs ((grad->data[i] - 0.5) - numeric) / MAX (1.0, fabs (numeric)));
        }
      g_assert_cmpfloat (worst, <, 2e-3);
      /* A photo's own colours cost nothing. */
      g_assert_cmpfloat (np_colourfulness_loss (target, target, kinds[k], 1.0f, none), ==, 0);
      for (gint64 i = 0; i < n; i++)
        g_assert_cmpfloat (none->data[i], ==, 0);
    }
}

/* DiffAugment is affine in x for given draws, T(x) = L·x + T(0), and its
 * backward is Lᵀ: ⟨T(x) − T(0), r⟩ = ⟨x, Lᵀ·r⟩ for any x and r (the
 * adjoint test: a wrong transpose or mask fails it, as a finite difference
 * would, and exactly). An image's draws follow its place in the batch, not
 * how the batch is split; they change with the key; and the augmentation
 * does change the picture (values from the translation's or the cutout's
 * zeros). */
static void
test_diffaugment_adjoint (void)
{
  const gint64 w = 24, h = 16, c = 3, n = 4, count = w * h * c * n;
  g_autoptr(NpTensor) x = np_tensor_new (w, h, c, n, NULL), zero = np_tensor_new (w, h, c, n, NULL);
  g_autoptr(NpTensor) tx = np_tensor_new (w, h, c, n, NULL), t0 = np_tensor_new (w, h, c, n, NULL);
  g_autoptr(NpTensor) r = np_tensor_new (w, h, c, n, NULL), back = np_tensor_new (w, h, c, n, NULL);
  g_autoptr(NpTensor) halves = np_tensor_new (w, h, c, n, NULL), other = np_tensor_new (w, h, c, n, NULL);
  double lhs = 0, rhs = 0, zeros = 0;

  for (gint64 i = 0; i < count; i++)
    {
      x->data[i] = sinf (0.37f * (gfloat) i + 0.1f);
      r->data[i] = cosf (0.91f * (gfloat) i);
      back->data[i] = 0.25f;   /* backward adds into what is there */
    }
  np_diffaugment (x, tx, 77, 0);
  np_diffaugment (zero, t0, 77, 0);
  np_diffaugment_backward (r, back, 77, 0);
  for (gint64 i = 0; i < count; i++)
    {
      lhs += ((double) tx->data[i] - t0->data[i]) * r->data[i];
      rhs += (double) x->data[i] * (back->data[i] - 0.25);
      zeros += tx->data[i] == 0;
    }
  g_assert_cmpfloat (fabs (lhs - rhs), <, 1e-4 * MAX (1.0, fabs (lhs)));
  g_assert_cmpfloat (fabs (lhs), >, 1);
  g_assert_cmpfloat (zeros, >, count / 8);

  for (gint k = 0; k < 2; k++)
    {
      NpTensor in = np_tensor_view (np_tensor_at (x, 0, 0, 0, 2 * k), w, h, c, 2);
      NpTensor out = np_tensor_view (np_tensor_at (halves, 0, 0, 0, 2 * k), w, h, c, 2);
      np_diffaugment (&in, &out, 77, 2 * k);
    }
  g_assert_cmpmem (halves->data, count * sizeof (gfloat), tx->data, count * sizeof (gfloat));
  np_diffaugment (x, other, 78, 0);
  g_assert_true (memcmp (other->data, tx->data, count * sizeof (gfloat)) != 0);
}

/* ---- the chroma-bins target's loss --------------------------------------- */

static void
test_chroma_bins_loss_gradient (void)
{
  /* np_chroma_bins_loss's gradient against central differences, and the
   * same bits on any thread count, with logits at the truth's size and at
   * half of it; its value and gradient against PyTorch are
   * tests/oracle/test_train_torch.py's three steps. Bins near each other
   * (the grid's neighbourhood search) and far apart (a full search: fewer
   * than 5 bins within reach), weights unequal. */
  g_autoptr(NpChromaBins) bins = np_chroma_bins_parse ("0:0,16:0,0:16,-16:-16,32:32,16:16,-128:128,96:-48",
                                                       "0.5,1,1.5,2,0.7,1.2,3,0.9", NULL);

  for (gint f = 1; f <= 2; f++)
    {
      gint    k = bins->n;
      g_autoptr(NpTensor) pred = np_tensor_new (5, 3, k, 2, NULL), target = np_tensor_new (5 * f, 3 * f, 2, 2, NULL);
      g_autoptr(NpTensor) grad = np_tensor_new (5, 3, k, 2, NULL), again = np_tensor_new (5, 3, k, 2, NULL);
      gint64  n = np_tensor_n_elements (pred);
      double  worst = 0, loss;

      for (gint64 i = 0; i < n; i++)
        {
          pred->data[i] = 2.0f * sinf (0.7f * (gfloat) i + 0.3f);
          grad->data[i] = again->data[i] = 0.5f;   /* the loss adds into what is there */
        }
      for (gint64 i = 0; i < np_tensor_n_elements (target); i++)
        target->data[i] = (i % 7 == 3 ? -0.9f : 0.3f) * cosf (1.3f * (gfloat) i);
      loss = np_chroma_bins_loss (pred, target, bins, 2.0f, grad, 1);
      g_assert_cmpfloat (loss, >, 0.5);
      g_assert_cmpfloat (np_chroma_bins_loss (pred, target, bins, 2.0f, again, 3), ==, loss);
      g_assert_cmpmem (grad->data, n * 4, again->data, n * 4);
      for (gint64 i = 0; i < n; i++)
        {
          const float h = 1e-3f;
          float       keep = pred->data[i];
          double      up, down, numeric;

          pred->data[i] = keep + h;
          up = np_chroma_bins_loss (pred, target, bins, 2.0f, NULL, 1);
          pred->data[i] = keep - h;
          down = np_chroma_bins_loss (pred, target, bins, 2.0f, NULL, 1);
          pred->data[i] = keep;
          numeric = 2.0 * (up - down) / (2 * h);
          worst = MAX (worst, fabs ((grad->data[i] - 0.5) - numeric) / MAX (1e-2, fabs (numeric)));
        }
      g_assert_cmpfloat (worst, <, 2e-3);
    }
}

static void
test_chroma_bins_metadata (void)
{
  /* The table's text reads back as it was, and a broken one is refused. */
  const char *bad[][2] = {
    { "", NULL }, { "0:0,0:0", NULL }, { "8:0", NULL }, { "0:144", NULL }, { "0:0,16", NULL },
    { "0:0,16:0", "1" }, { "0:0", "-1" }, { "0:0", "nan" },
  };
  g_autoptr(NpChromaBins) bins = np_chroma_bins_parse ("-16:32,0:0,128:-128", "0.25,1,3.5", NULL);
  g_autofree gchar *centres = np_chroma_bins_centres_text (bins), *weights = np_chroma_bins_weights_text (bins);

  g_assert_cmpstr (centres, ==, "-16:32,0:0,128:-128");
  g_assert_cmpstr (weights, ==, "0.25,1,3.5");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_assert_null (np_chroma_bins_parse (bad[i][0], bad[i][1], &error));
      g_assert_error (error, NP_ERROR, NP_ERROR_CORRUPT);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train/colourfulness/gradient", test_colourfulness_gradient);
  g_test_add_func ("/train/diffaugment/adjoint", test_diffaugment_adjoint);
  g_test_add_func ("/train/chroma-bins/gradient", test_chroma_bins_loss_gradient);
  g_test_add_func ("/train/chroma-bins/metadata", test_chroma_bins_metadata);
  g_test_add_func ("/train/stats/values", test_stats_values);
  g_test_add_func ("/train/stats/gray", test_stats_gray);
  g_test_add_func ("/train/npy/header", test_npy_header);
  g_test_add_func ("/train/dataset/round-trip", test_round_trip);
  g_test_add_func ("/train/dataset/writer-atomic", test_writer_atomic);
  g_test_add_func ("/train/dataset/writer-bad-arguments", test_writer_bad_arguments);
  g_test_add_func ("/train/dataset/malformed", test_malformed);
  g_test_add_func ("/train/dataset/open-errors", test_open_errors);
  g_test_add_func ("/train/tree-sum", test_tree_sum);
  g_test_add_func ("/train/batcher/residual", test_batcher_residual);
  g_test_add_func ("/train/batcher/halves", test_batcher_halves);
  g_test_add_func ("/train/batcher/hints", test_batcher_hints);
  return g_test_run ();
}
