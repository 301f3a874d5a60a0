/* Unit tests of the CPPN core: the generator against published and
 * independently derived values, the fast activations against libm, colour
 * conversions at hand-checked points, parameter checks, and the renderer's
 * promise that a pixel depends only on its coordinates. The network maths as
 * a whole is checked against NumPy in tests/oracle/test_cppn_numpy.py. */
#include "neuropaint.h"

#include <math.h>
#include <string.h>

static void
test_splitmix64_reference (void)
{
  /* splitmix64's reference outputs for seed 1234567 (as published with the
   * generator and reproduced by Java's SplittableRandom), and for seed 0. */
  const guint64 want[] = {
    G_GUINT64_CONSTANT (6457827717110365317), G_GUINT64_CONSTANT (3203168211198807973),
    G_GUINT64_CONSTANT (9817491932198370423), G_GUINT64_CONSTANT (4593380528125082431),
    G_GUINT64_CONSTANT (16408922859458223821),
  };
  NpRng rng;

  np_rng_init (&rng, 1234567);
  for (gsize i = 0; i < G_N_ELEMENTS (want); i++)
    g_assert_cmpuint (np_rng_next (&rng), ==, want[i]);
  np_rng_init (&rng, 0);
  g_assert_cmpuint (np_rng_next (&rng), ==, G_GUINT64_CONSTANT (0xe220a8397b1dcdaf));
}

static void
test_normal_reference (void)
{
  /* Marsaglia's polar method on the same stream, computed in Python with
   * math.log: ours must agree to double rounding. */
  const gdouble want[] = {
    0.49295065581737485, -0.6940056672160174, -1.2810773478777024,
    -0.901557193497174, -0.6018779810957331, 0.6425676289796471,
  };
  NpRng rng;

  np_rng_init (&rng, 42);
  for (gsize i = 0; i < G_N_ELEMENTS (want); i++)
    g_assert_cmpfloat_with_epsilon (np_rng_normal (&rng), want[i], 1e-15);
}

static void
test_normal_moments (void)
{
  NpRng   rng;
  gdouble sum = 0, sum2 = 0, sum4 = 0;
  const int n = 200000;

  np_rng_init (&rng, 7);
  for (int i = 0; i < n; i++)
    {
      gdouble v = np_rng_normal (&rng);
      sum += v;
      sum2 += v * v;
      sum4 += v * v * v * v;
    }
  /* Standard errors: mean 0.0022, variance 0.0032, fourth moment 0.02. */
  g_assert_cmpfloat (fabs (sum / n), <, 0.01);
  g_assert_cmpfloat (fabs (sum2 / n - 1), <, 0.015);
  g_assert_cmpfloat (fabs (sum4 / n - 3), <, 0.1);
}

static void
test_portable_log (void)
{
  for (gdouble x = 1e-300; x < 1e300; x *= 1.7)
    g_assert_cmpfloat (fabs (np_rng_log (x) - log (x)), <=, 4e-16 * fmax (1, fabs (log (x))));
  for (gdouble x = 0.001; x < 1; x += 0.0007)
    g_assert_cmpfloat (fabs (np_rng_log (x) - log (x)), <=, 4e-16 * fmax (1, fabs (log (x))));
  g_assert_cmpfloat (np_rng_log (1.0), ==, 0.0);
}

/* The fast tanh (and sigmoid built on it) against libm, over a sweep that
 * covers the polynomial's range reduction, saturation and large inputs. */
static void
test_activation_accuracy (void)
{
  const int n = 200001;
  g_autofree gfloat *x = g_new (gfloat, n);
  g_autofree gfloat *t = g_new (gfloat, n);
  g_autofree gfloat *s = g_new (gfloat, n);
  gdouble worst_t = 0, worst_s = 0;

  for (int i = 0; i < n; i++)
    x[i] = t[i] = s[i] = (gfloat) (-20.0 + 40.0 * i / (n - 1));
  x[0] = t[0] = s[0] = -1e30f;
  x[1] = t[1] = s[1] = 1e30f;
  x[2] = t[2] = s[2] = 1e-30f;
  np_cppn_activate (NP_CPPN_TANH, t, n);
  np_cppn_activate (NP_CPPN_SIGMOID, s, n);
  for (int i = 0; i < n; i++)
    {
      worst_t = fmax (worst_t, fabs (t[i] - tanh ((gdouble) x[i])));
      worst_s = fmax (worst_s, fabs (s[i] - 1 / (1 + exp (-(gdouble) x[i]))));
    }
  g_test_message ("max |tanh error| %.3g, max |sigmoid error| %.3g", worst_t, worst_s);
  g_assert_cmpfloat (worst_t, <, 1e-6);
  g_assert_cmpfloat (worst_s, <, 1e-6);
}

static void
test_activation_points (void)
{
  gfloat v[4] = { -2, -0.5f, 0, 3 };
  gfloat w[4];

  memcpy (w, v, sizeof v);
  np_cppn_activate (NP_CPPN_RELU, w, 4);
  g_assert_cmpfloat (w[0], ==, 0);
  g_assert_cmpfloat (w[3], ==, 3);
  memcpy (w, v, sizeof v);
  np_cppn_activate (NP_CPPN_SOFTSIGN, w, 4);
  g_assert_cmpfloat_with_epsilon (w[0], -2.0 / 3, 1e-7);
  g_assert_cmpfloat_with_epsilon (w[3], 0.75, 1e-7);
  memcpy (w, v, sizeof v);
  np_cppn_activate (NP_CPPN_IDENTITY, w, 4);
  g_assert_cmpmem (w, sizeof w, v, sizeof v);
  memcpy (w, v, sizeof v);
  np_cppn_activate (NP_CPPN_SIN, w, 4);
  g_assert_cmpfloat_with_epsilon (w[1], sin (-0.5), 1e-7);
  memcpy (w, v, sizeof v);
  np_cppn_activate (NP_CPPN_COS, w, 4);
  g_assert_cmpfloat_with_epsilon (w[3], cos (3.0), 1e-7);
}

static void
assert_rgb (const gfloat rgb[3], gfloat r, gfloat g, gfloat b)
{
  g_assert_cmpfloat_with_epsilon (rgb[0], r, 1e-6);
  g_assert_cmpfloat_with_epsilon (rgb[1], g, 1e-6);
  g_assert_cmpfloat_with_epsilon (rgb[2], b, 1e-6);
}

static void
test_hsv (void)
{
  gfloat rgb[3];

  np_cppn_hsv_to_rgb (0, 1, 1, rgb);
  assert_rgb (rgb, 1, 0, 0);
  np_cppn_hsv_to_rgb (1.0f / 3, 1, 1, rgb);
  assert_rgb (rgb, 0, 1, 0);
  np_cppn_hsv_to_rgb (0.5f, 1, 0.5f, rgb);    /* cyan at half value */
  assert_rgb (rgb, 0, 0.5f, 0.5f);
  np_cppn_hsv_to_rgb (0.25f, 0.5f, 1, rgb);   /* 90°: f = 0.5 in sector 1 */
  assert_rgb (rgb, 0.75f, 1, 0.5f);
  np_cppn_hsv_to_rgb (1, 1, 1, rgb);          /* h = 1 is red again */
  assert_rgb (rgb, 1, 0, 0);
  np_cppn_hsv_to_rgb (0.7f, 0, 0.3f, rgb);    /* no saturation: gray */
  assert_rgb (rgb, 0.3f, 0.3f, 0.3f);
}

static void
test_hsl (void)
{
  gfloat rgb[3];

  np_cppn_hsl_to_rgb (0, 1, 0.5f, rgb);
  assert_rgb (rgb, 1, 0, 0);
  np_cppn_hsl_to_rgb (1.0f / 3, 1, 0.5f, rgb);
  assert_rgb (rgb, 0, 1, 0);
  np_cppn_hsl_to_rgb (2.0f / 3, 1, 0.5f, rgb);
  assert_rgb (rgb, 0, 0, 1);
  /* 324°: red needs the hue to wrap (t = 0.9 + 1/3 > 1), where the original
   * returned p = 0 instead of 1. */
  np_cppn_hsl_to_rgb (0.9f, 1, 0.5f, rgb);
  assert_rgb (rgb, 1, 0, 0.6f);
  /* 36°, light: q = l + s − l·s = 0.875, p = 0.625. */
  np_cppn_hsl_to_rgb (0.1f, 0.5f, 0.75f, rgb);
  assert_rgb (rgb, 0.875f, 0.775f, 0.625f);
  np_cppn_hsl_to_rgb (0.4f, 0, 0.2f, rgb);
  assert_rgb (rgb, 0.2f, 0.2f, 0.2f);
}

static void
expect_error (void (*edit) (NpCppnParams *p), gint code, const char *words)
{
  NpCppnParams p;
  g_autoptr(GError) error = NULL;
  g_autoptr(NpCppn) cppn = NULL;

  np_cppn_params_init (&p);
  edit (&p);
  cppn = np_cppn_new (&p, &error);
  g_assert_null (cppn);
  g_assert_error (error, NP_ERROR, code);
  g_assert_nonnull (strstr (error->message, words));
}

static void bad_mode (NpCppnParams *p)       { p->color_mode = "lab"; }
static void bad_activation (NpCppnParams *p) { p->activation = "tanh,swish"; }
static void bad_depth (NpCppnParams *p)      { p->depth = 0; }
static void bad_size (NpCppnParams *p)       { p->size = 0; }
static void huge_net (NpCppnParams *p)       { p->depth = 1000; p->size = 4000; }
static void huge_image (NpCppnParams *p)     { p->width = 1 << 30; }
static void empty_image (NpCppnParams *p)    { p->height = 0; }
static void bad_zoom (NpCppnParams *p)       { p->zoom = 0; }
static void bad_z (NpCppnParams *p)          { p->z[1] = NAN; }
static void bad_std (NpCppnParams *p)        { p->hidden_std = -1; }

static void
test_bad_params (void)
{
  expect_error (bad_mode, NP_ERROR_INVALID_ARGUMENT, "colour mode “lab”");
  expect_error (bad_activation, NP_ERROR_INVALID_ARGUMENT, "activation “swish”");
  expect_error (bad_depth, NP_ERROR_INVALID_ARGUMENT, "depth");
  expect_error (bad_size, NP_ERROR_INVALID_ARGUMENT, "layer size");
  expect_error (huge_net, NP_ERROR_TOO_LARGE, "weights");
  expect_error (huge_image, NP_ERROR_TOO_LARGE, "exceeds");
  expect_error (empty_image, NP_ERROR_INVALID_ARGUMENT, "empty");
  expect_error (bad_zoom, NP_ERROR_INVALID_ARGUMENT, "zoom");
  expect_error (bad_z, NP_ERROR_INVALID_ARGUMENT, "z");
  expect_error (bad_std, NP_ERROR_INVALID_ARGUMENT, "std");
}

static NpCppn *
make (guint64 seed, const char *mode, gboolean alpha, NpCppnCoords coords)
{
  NpCppnParams p;
  GError *error = NULL;
  NpCppn *cppn;

  np_cppn_params_init (&p);
  p.seed = seed;
  p.width = 97;
  p.height = 61;
  p.color_mode = mode;
  p.alpha = alpha;
  p.coords = coords;
  p.activation = "tanh,sin,softsign";
  cppn = np_cppn_new (&p, &error);
  g_assert_no_error (error);
  return cppn;
}

#define W 97
#define H 61

static void
test_seed_names_weights (void)
{
  g_autoptr(NpCppn) a = make (11, "rgb", FALSE, NP_CPPN_COORDS_ORIGINAL);
  g_autoptr(NpCppn) b = make (11, "rgb", FALSE, NP_CPPN_COORDS_ORIGINAL);
  g_autoptr(NpCppn) c = make (12, "rgb", FALSE, NP_CPPN_COORDS_ORIGINAL);
  g_autofree gchar *ja = np_cppn_to_json (a);
  g_autofree gchar *jb = np_cppn_to_json (b);
  g_autofree gchar *jc = np_cppn_to_json (c);

  g_assert_cmpstr (ja, ==, jb);
  g_assert_cmpstr (ja, !=, jc);
  g_assert_nonnull (strstr (ja, "\"activation\":\"softsign\""));
  /* 5·15 + 9·15·15 + 15·3 */
  g_assert_cmpint (np_cppn_macs_per_pixel (a), ==, 2145);
}

/* A region rendered alone, in pieces, or with many threads gives the bytes
 * of the same region cut from a whole render. */
static void
test_regions_and_threads (gconstpointer data)
{
  const NpCppnCoords coords = GPOINTER_TO_INT (data);
  g_autoptr(NpCppn) cppn = make (5, "hsl", TRUE, coords);
  const gsize stride = W * 4 * sizeof (gfloat);
  g_autofree gfloat *whole = g_new0 (gfloat, W * H * 4);
  g_autofree gfloat *parts = g_new0 (gfloat, W * H * 4);
  g_autofree gfloat *region = g_new0 (gfloat, 13 * 7 * 4);

  np_cppn_render (cppn, 0, 0, W, H, whole, stride, 1);

  np_cppn_render (cppn, 0, 0, W, H, parts, stride, 4);
  g_assert_cmpmem (whole, W * H * 16, parts, W * H * 16);

  memset (parts, 0, W * H * 16);
  for (int y = 0; y < H; y += 17)
    for (int x = 0; x < W; x += 23)
      np_cppn_render (cppn, x, y, MIN (23, W - x), MIN (17, H - y),
                      parts + 4 * (y * W + x), stride, 1 + (x + y) % 3);
  g_assert_cmpmem (whole, W * H * 16, parts, W * H * 16);

  np_cppn_render (cppn, 40, 30, 13, 7, region, 13 * 16, 2);
  for (int y = 0; y < 7; y++)
    g_assert_cmpmem (region + 4 * 13 * y, 13 * 16, whole + 4 * ((30 + y) * W + 40), 13 * 16);

  for (int i = 0; i < W * H * 4; i++)
    {
      g_assert_true (whole[i] >= 0 && whole[i] <= 1);
      if (i % 4 == 3)
        g_assert_true (whole[i] >= 0.25f);
    }
}

static void
test_opaque_without_alpha (void)
{
  g_autoptr(NpCppn) cppn = make (3, "cmyk", FALSE, NP_CPPN_COORDS_ORIGINAL);
  g_autofree gfloat *px = g_new0 (gfloat, W * H * 4);
  gdouble spread = 0;

  np_cppn_render (cppn, 0, 0, W, H, px, W * 16, 2);
  for (int i = 0; i < W * H; i++)
    {
      g_assert_cmpfloat (px[4 * i + 3], ==, 1.0f);
      spread = fmax (spread, fabs (px[4 * i] - px[0]));
    }
  /* A picture, not a flat colour. */
  g_assert_cmpfloat (spread, >, 0.01);
}

static void
test_outside_the_picture (void)
{
  /* The plane goes on beyond the picture, in both coordinate systems. */
  g_autoptr(NpCppn) cppn = make (9, "rgb", FALSE, NP_CPPN_COORDS_CENTERED);
  gfloat px[4 * 6];

  np_cppn_render (cppn, -1000, 50000, 3, 2, px, 3 * 16, 1);
  for (int i = 0; i < 24; i++)
    g_assert_true (isfinite (px[i]) && px[i] >= 0 && px[i] <= 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cppn/rng/splitmix64", test_splitmix64_reference);
  g_test_add_func ("/cppn/rng/normal", test_normal_reference);
  g_test_add_func ("/cppn/rng/moments", test_normal_moments);
  g_test_add_func ("/cppn/rng/log", test_portable_log);
  g_test_add_func ("/cppn/activation/accuracy", test_activation_accuracy);
  g_test_add_func ("/cppn/activation/points", test_activation_points);
  g_test_add_func ("/cppn/color/hsv", test_hsv);
  g_test_add_func ("/cppn/color/hsl", test_hsl);
  g_test_add_func ("/cppn/params/bad", test_bad_params);
  g_test_add_func ("/cppn/weights/seed", test_seed_names_weights);
  g_test_add_data_func ("/cppn/render/regions-original", GINT_TO_POINTER (NP_CPPN_COORDS_ORIGINAL),
                        test_regions_and_threads);
  g_test_add_data_func ("/cppn/render/regions-centered", GINT_TO_POINTER (NP_CPPN_COORDS_CENTERED),
                        test_regions_and_threads);
  g_test_add_func ("/cppn/render/opaque", test_opaque_without_alpha);
  g_test_add_func ("/cppn/render/outside", test_outside_the_picture);
  return g_test_run ();
}
