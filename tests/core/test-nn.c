/* Unit tests of the neural core: gemm, im2col/col2im against direct
 * convolution, float16, model files (round trips and every malformed case we
 * know of), descriptions and architectures. Parity with PyTorch lives in
 * tests/oracle/test_nn_torch.py. */
#include "neuropaint.h"
#include "nn/np-nn-private.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static gfloat
frand (guint32 *state)
{
  *state = *state * 1664525u + 1013904223u;
  return (*state >> 8) / 16777216.0f * 2 - 1;
}

static void
fill (gfloat *x, gsize n, guint32 seed)
{
  for (gsize i = 0; i < n; i++)
    x[i] = frand (&seed);
}

/* ---- gemm ---------------------------------------------------------------- */

static void
test_gemm_shapes (void)
{
  const gint shapes[][3] = { { 1, 1, 1 }, { 3, 5, 7 }, { 17, 1, 33 }, { 1, 64, 9 }, { 65, 31, 130 } };

  for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++)
        {
          gint m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
          g_autofree gfloat *a = g_new (gfloat, m * k), *b = g_new (gfloat, k * n);
          g_autofree gfloat *c = g_new (gfloat, m * n), *want = g_new (gfloat, m * n);
          fill (a, m * k, 1), fill (b, k * n, 2), fill (c, m * n, 3);
          for (gint i = 0; i < m; i++)
            for (gint j = 0; j < n; j++)
              {
                double acc = 0;
                for (gint l = 0; l < k; l++)
                  acc += (double) (ta ? a[l * m + i] : a[i * k + l]) * (tb ? b[j * k + l] : b[l * n + j]);
                want[i * n + j] = (gfloat) (0.5 * acc + 2.0 * c[i * n + j]);
              }
          np_gemm (ta, tb, m, n, k, 0.5f, a, ta ? m : k, b, tb ? k : n, 2.0f, c, n);
          for (gint i = 0; i < m * n; i++)
            g_assert_cmpfloat_with_epsilon (c[i], want[i], 1e-4);
        }
}

/* ---- convolutions ---------------------------------------------------------- */

static NpNet *
layer_net (const char *description)
{
  g_autoptr(GError) error = NULL;
  NpNet *net = np_net_new (description, &error);
  g_assert_no_error (error);
  np_net_init_random (net, 7, 0.5f);
  return net;
}

/* Direct conv / transposed conv, the definitions written out. */
static void
check_conv (gboolean transposed, gint cin, gint cout, gint h, gint w, gint k, gint s, gint p0, gint p1)
{
  g_autofree gchar *desc = g_strdup_printf ("input c=%d\n%s name=c out=%d k=%d s=%d p=%d:%d", cin,
                                            transposed ? "convt" : "conv", cout, k, s, p0, p1);
  g_autoptr(NpNet) net = layer_net (desc);
  g_autoptr(GError) error = NULL;
  g_autoptr(NpTensor) x = np_tensor_new (w, h, cin, 2, &error);
  NpTensor *wt = np_net_param (net, "c.weight"), *bias = np_net_param (net, "c.bias");
  const NpTensor *in[] = { x }, *y;

  fill (x->data, np_tensor_n_elements (x), 11);
  fill (bias->data, cout, 12);
  y = np_net_forward (net, in, 1, &(NpCompute) { .n_threads = 3 }, &error);
  g_assert_no_error (error);

  for (gint64 n = 0; n < 2; n++)
    for (gint64 o = 0; o < cout; o++)
      for (gint64 oy = 0; oy < y->ne[1]; oy++)
        for (gint64 ox = 0; ox < y->ne[0]; ox++)
          {
            double acc = bias->data[o];
            if (!transposed)
              {
                for (gint c = 0; c < cin; c++)
                  for (gint ky = 0; ky < k; ky++)
                    for (gint kx = 0; kx < k; kx++)
                      {
                        gint64 iy = oy * s - p0 + ky, ix = ox * s - p0 + kx;
                        if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                          acc += *np_tensor_at (wt, kx, ky, c, o) * *np_tensor_at (x, ix, iy, c, n);
                      }
              }
            else
              {
                /* out[oy] gathers every input pixel iy with iy·s - p0 + ky = oy. */
                for (gint c = 0; c < cin; c++)
                  for (gint ky = 0; ky < k; ky++)
                    for (gint kx = 0; kx < k; kx++)
                      {
                        gint64 ny = oy + p0 - ky, nx = ox + p0 - kx;
                        if (ny % s || nx % s || ny < 0 || nx < 0 || ny / s >= h || nx / s >= w)
                          continue;
                        acc += *np_tensor_at (wt, kx, ky, o, c) * *np_tensor_at (x, nx / s, ny / s, c, n);
                      }
              }
            g_assert_cmpfloat_with_epsilon (*np_tensor_at (y, ox, oy, o, n), acc, 1e-4);
          }
}

static void
test_conv_direct (void)
{
  check_conv (FALSE, 3, 4, 9, 7, 3, 1, 1, 1);
  check_conv (FALSE, 2, 5, 11, 6, 4, 2, 1, 1);
  check_conv (FALSE, 1, 2, 8, 8, 4, 1, 1, 2);
  check_conv (FALSE, 4, 3, 13, 10, 5, 3, 2, 0);
  check_conv (FALSE, 3, 1, 3, 3, 3, 1, 0, 0);
  /* Narrow (fewer outputs, stride 1): the turned transposed route. */
  check_conv (FALSE, 5, 2, 9, 8, 5, 1, 2, 1);
  check_conv (FALSE, 4, 1, 6, 7, 4, 1, 3, 0);
  /* Stride 1 and a kernel strip wide: columns read in place, in bands of
   * rows; 30 channels of 3×3 are two blocks of k. */
  check_conv (FALSE, 30, 31, 70, 40, 3, 1, 1, 1);
  check_conv (FALSE, 3, 9, 12, 37, 5, 1, 2, 1);
  check_conv (FALSE, 2, 3, 5, 33, 2, 1, 0, 0);
}

/* A stride-1 convolution at least a kernel strip wide reads its columns in
 * place (conv.c); a narrower one's are made by im2col. Both sum the same
 * products in the same blocks and order, so away from the narrow one's
 * padding they give the same bits: the wide output, cut to a window, is
 * the narrow layer's output on that window of the input. */
static void
test_conv_in_place_bits (void)
{
  /* The narrow layer: under a strip wide, enough pixels for four jobs of
   * our kernels (not OpenBLAS), so a single block of output channels;
   * as many outputs as inputs, or it would run turned round. */
  const gint cin = 30, cout = 30, h = 40, wide = 70, narrow = 16, x0 = 23;
  g_autoptr(NpNet) a = layer_net ("input c=30\nconv name=c out=30 k=3 p=1");
  g_autoptr(NpNet) b = layer_net ("input c=30\nconv name=c out=30 k=3 p=1");
  g_autoptr(GError) error = NULL;
  g_autoptr(NpTensor) xw = np_tensor_new (wide, h, cin, 2, &error);
  g_autoptr(NpTensor) xn = np_tensor_new (narrow, h, cin, 2, &error);
  const NpTensor *in[1], *yw, *yn;

  fill (xw->data, np_tensor_n_elements (xw), 21);
  for (gint64 n = 0; n < 2; n++)
    for (gint64 c = 0; c < cin; c++)
      for (gint64 y = 0; y < h; y++)
        memcpy (np_tensor_at (xn, 0, y, c, n), np_tensor_at (xw, x0, y, c, n), narrow * sizeof (gfloat));
  in[0] = xw;
  yw = np_net_forward (a, in, 1, &(NpCompute) { .n_threads = 2 }, &error);
  g_assert_no_error (error);
  in[0] = xn;
  yn = np_net_forward (b, in, 1, &(NpCompute) { .n_threads = 2 }, &error);
  g_assert_no_error (error);
  for (gint64 n = 0; n < 2; n++)
    for (gint64 o = 0; o < cout; o++)
      for (gint64 y = 0; y < h; y++)
        g_assert_cmpmem (np_tensor_at (yw, x0 + 1, y, o, n), (narrow - 2) * sizeof (gfloat),
                         np_tensor_at (yn, 1, y, o, n), (narrow - 2) * sizeof (gfloat));
}

static void
test_convt_direct (void)
{
  check_conv (TRUE, 3, 2, 5, 4, 4, 2, 1, 1);
  check_conv (TRUE, 2, 3, 3, 7, 3, 2, 1, 1);
  check_conv (TRUE, 1, 2, 4, 4, 5, 3, 2, 2);
  check_conv (TRUE, 2, 2, 6, 5, 3, 1, 0, 0);
}

/* col2im is im2col's adjoint: <im2col x, y> = <x, col2im y>. */
static void
test_col2im_adjoint (void)
{
  NpConvGeom g = { 4, 2, 1, 2 };
  gint c = 3, h = 9, w = 7, oh = (h + 3 - 4) / 2 + 1, ow = (w + 3 - 4) / 2 + 1;
  gsize rows = c * 16, cols = oh * ow;
  g_autofree gfloat *x = g_new (gfloat, c * h * w), *col = g_new (gfloat, rows * cols);
  g_autofree gfloat *y = g_new (gfloat, rows * cols), *back = g_new0 (gfloat, c * h * w);
  double lhs = 0, rhs = 0;

  fill (x, c * h * w, 5), fill (y, rows * cols, 6);
  np_im2col (x, c, h, w, &g, oh, ow, 0, cols, col, cols);
  np_col2im (y, cols, c, h, w, &g, 0, oh, ow, back);
  for (gsize i = 0; i < rows * cols; i++)
    lhs += (double) col[i] * y[i];
  for (gint i = 0; i < c * h * w; i++)
    rhs += (double) x[i] * back[i];
  g_assert_cmpfloat_with_epsilon (lhs, rhs, 1e-3);
}

/* ---- the convolution engine ------------------------------------------------ */

/* A convolution as the models use it: kind, channels and window. */
typedef struct
{
  gint       transposed;
  gint       cin, cout;
  NpConvGeom g;
} ConvShape;

/* The convolutions of a network, each shape once. */
static void
collect_shapes (const NpNet *net, GArray *shapes)
{
  for (guint i = 0; i < net->layers->len; i++)
    {
      const NpLayer *l = g_ptr_array_index (net->layers, i);
      ConvShape      s;
      gboolean       seen = FALSE;

      if (l->klass->kind != NP_LAYER_CONV && l->klass->kind != NP_LAYER_CONVT)
        continue;
      memset (&s, 0, sizeof s);
      s.transposed = l->klass->kind == NP_LAYER_CONVT;
      s.cin = (gint) net->channels[l->inputs[0]];
      s.cout = (gint) l->p.channels;
      s.g = l->p.geom;
      for (guint j = 0; j < shapes->len && !seen; j++)
        seen = memcmp (&g_array_index (shapes, ConvShape, j), &s, sizeof s) == 0;
      if (!seen)
        g_array_append_val (shapes, s);
    }
}

/* Every convolution the shipped models and the trainer's architectures run. */
static GArray *
model_shapes (void)
{
  static const char *const archs[][3] = {
    { "unet", "ngf", "32" }, { "unet", "ngf", "64" }, { "patchgan", "ndf", "32" }, { "patchgan", "ndf", "64" },
    { "sr", "features", "64" },
  };
  GArray     *shapes = g_array_new (FALSE, FALSE, sizeof (ConvShape));
  const char *root = g_getenv ("NP_SOURCE_ROOT");
  g_autofree gchar *folder = g_build_filename (root ? root : "..", "models", NULL);
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;

  for (gsize i = 0; i < G_N_ELEMENTS (archs); i++)
    {
      g_autoptr(GHashTable) p = g_hash_table_new (g_str_hash, g_str_equal);
      g_autoptr(GError) error = NULL;
      g_autofree gchar *desc = NULL;
      g_autoptr(NpNet) net = NULL;

      g_hash_table_insert (p, (gpointer) archs[i][1], (gpointer) archs[i][2]);
      desc = np_arch_describe (archs[i][0], p, &error);
      g_assert_no_error (error);
      net = np_net_new (desc, &error);
      g_assert_no_error (error);
      collect_shapes (net, shapes);
    }
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)))
    if (g_str_has_suffix (name, ".safetensors"))
      {
        g_autofree gchar *path = g_build_filename (folder, name, NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(NpNet) net = np_net_load (path, &error);

        g_assert_no_error (error);
        collect_shapes (net, shapes);
      }
  return shapes;
}

/* One layer's forward and backward: the output, then the gradients of the
 * input, the weights and the bias, side by side. */
typedef struct
{
  gfloat *part[4];
  gsize   n[4];
} EngineResult;

static void
engine_result_clear (EngineResult *r)
{
  for (int i = 0; i < 4; i++)
    g_free (r->part[i]);
}

/* The layer on a batch of 2 random w × h inputs, random weights of about
 * 1/sqrt(fan-in) (outputs near 1 at any width) and bias, and dy. */
typedef struct
{
  NpNet    *net;
  NpTensor *x, *dy;
} EngineLayer;

static void
engine_layer_init (EngineLayer *e, const ConvShape *s, gint w, gint h)
{
  g_autofree gchar *desc = g_strdup_printf ("input name=x c=%d\n%s name=c out=%d k=%d s=%d p=%d:%d", s->cin,
                                            s->transposed ? "convt" : "conv", s->cout, s->g.k, s->g.s,
                                            s->g.pad0, s->g.pad1);
  g_autoptr(GError) error = NULL;
  const NpTensor *in[1], *y;

  e->net = layer_net (desc);
  np_net_init_random (e->net, 3, 1.0f / sqrtf (s->cin * s->g.k * s->g.k));
  fill (np_net_param (e->net, "c.bias")->data, s->cout, 4);
  e->x = np_tensor_new (w, h, s->cin, 2, &error);
  fill (e->x->data, np_tensor_n_elements (e->x), 5);
  in[0] = e->x;
  y = np_net_forward (e->net, in, 1, &(NpCompute) { .n_threads = 1, .training = TRUE }, &error);
  g_assert_no_error (error);
  e->dy = np_tensor_new (y->ne[0], y->ne[1], y->ne[2], y->ne[3], &error);
  fill (e->dy->data, np_tensor_n_elements (e->dy), 6);
}

static void
engine_layer_clear (EngineLayer *e)
{
  np_net_free (e->net);
  np_tensor_free (e->x);
  np_tensor_free (e->dy);
}

static void
engine_pass (const EngineLayer *e, NpCpuLevel level, gint threads, EngineResult *r)
{
  g_autoptr(GError) error = NULL;
  NpCompute       compute = { .n_threads = threads, .training = TRUE };
  const NpTensor *in[] = { e->x }, *parts[4];
  NpCpuLevel      was = np_cpu_level ();

  g_assert_true (np_cpu_use (level));
  parts[0] = np_net_forward (e->net, in, 1, &compute, &error);
  g_assert_no_error (error);
  g_assert_true (np_net_zero_grad (e->net, &error));
  g_assert_true (np_net_backward (e->net, e->dy, NP_GRAD_PARAMS | NP_GRAD_INPUTS, threads, &error));
  parts[1] = np_net_input_grad (e->net, 0);
  parts[2] = np_net_grad (e->net, "c.weight"), parts[3] = np_net_grad (e->net, "c.bias");
  for (int i = 0; i < 4; i++)
    {
      r->n[i] = np_tensor_n_elements (parts[i]);
      r->part[i] = g_memdup2 (parts[i]->data, r->n[i] * sizeof (gfloat));
    }
  np_cpu_use (was);
}

/* Our kernels at every level this CPU runs against the OpenBLAS route, the
 * reference (within 1e-5 of the largest value: sums in another order), and
 * against themselves on 1 and 3 threads (the same bits), forward and both
 * backwards, for every convolution the models use. Sizes keep each layer
 * near 4 M multiply-adds, with up to 1200 pixels (several column blocks):
 * deep layers get few, as in the models, and their forward goes to
 * OpenBLAS as it does there (sgemm.c's NARROW); their backward is ours. */
static void
test_engine_routes (void)
{
  g_autoptr(GArray) shapes = model_shapes ();

  g_assert_cmpuint (shapes->len, >=, 10);
  for (guint i = 0; i < shapes->len; i++)
    {
      const ConvShape *s = &g_array_index (shapes, ConvShape, i);
      double pixels = CLAMP (4e6 / ((double) s->cin * s->cout * s->g.k * s->g.k), 12, 1200);
      gint   ow = (gint) ceil (sqrt (pixels * 1.3)), oh = (gint) ceil (pixels / ow);
      gint   w = s->transposed ? ow : (ow - 1) * s->g.s + s->g.k - s->g.pad0 - s->g.pad1;
      gint   h = s->transposed ? oh : (oh - 1) * s->g.s + s->g.k - s->g.pad0 - s->g.pad1;
      EngineResult ref = { 0 };
      EngineLayer  layer;

      engine_layer_init (&layer, s, w, h);
      engine_pass (&layer, NP_CPU_GENERIC, 1, &ref);
      for (NpCpuLevel level = NP_CPU_AVX2; level <= np_cpu_best (); level++)
        {
          EngineResult one = { 0 }, three = { 0 };

          engine_pass (&layer, level, 1, &one);
          engine_pass (&layer, level, 3, &three);
          for (int p = 0; p < 4; p++)
            {
              double scale = 0;

              for (gsize j = 0; j < ref.n[p]; j++)
                scale = MAX (scale, fabs (ref.part[p][j]));
              for (gsize j = 0; j < ref.n[p]; j++)
                if (fabs (one.part[p][j] - ref.part[p][j]) > 1e-5 * scale)
                  g_error ("%s %d→%d k%d s%d p%d:%d at %s, part %d [%zu]: %g, OpenBLAS %g (scale %g)",
                           s->transposed ? "convt" : "conv", s->cin, s->cout, s->g.k, s->g.s, s->g.pad0,
                           s->g.pad1, np_cpu_level_name (level), p, j, one.part[p][j], ref.part[p][j], scale);
              g_assert_cmpmem (one.part[p], one.n[p] * sizeof (gfloat), three.part[p], three.n[p] * sizeof (gfloat));
            }
          engine_result_clear (&one);
          engine_result_clear (&three);
        }
      engine_result_clear (&ref);
      engine_layer_clear (&layer);
    }
}

/* NP_CPU picks no level the CPU lacks, and names every level. */
static void
test_cpu_levels (void)
{
  NpCpuLevel was = np_cpu_level ();

  for (NpCpuLevel level = 0; level < NP_CPU_N_LEVELS; level++)
    {
      g_assert_nonnull (np_cpu_level_name (level));
      g_assert_true (np_cpu_use (level) == (level <= np_cpu_best ()));
      g_assert_cmpint (np_cpu_level (), <=, np_cpu_best ());
    }
  g_assert_true (np_cpu_use (was));
}

/* ---- float16 ------------------------------------------------------------- */

static void
test_f16 (void)
{
  const struct { gfloat f; guint16 h; } cases[] = {
    { 0.0f, 0x0000 }, { -0.0f, 0x8000 }, { 1.0f, 0x3c00 }, { -2.0f, 0xc000 }, { 65504.0f, 0x7bff },
    { 65520.0f, 0x7c00 }, { 1e9f, 0x7c00 }, { 5.9604645e-8f, 0x0001 }, { 6.1035156e-5f, 0x0400 },
    { 1.0f + 1.0f / 2048, 0x3c00 },          /* tie: rounds to even */
    { 1.0f + 3.0f / 2048, 0x3c02 },          /* tie: rounds up to even */
    { 2.0e-8f, 0x0000 }, { INFINITY, 0x7c00 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmphex (np_f32_to_f16 (cases[i].f), ==, cases[i].h);
  g_assert_true (isnan (np_f16_to_f32 (np_f32_to_f16 (NAN))));
  /* Every finite half survives the round trip. */
  for (guint32 h = 0; h < 0x10000; h++)
    if ((h & 0x7c00) != 0x7c00)
      g_assert_cmphex (np_f32_to_f16 (np_f16_to_f32 ((guint16) h)), ==, h);
}

/* ---- model files ------------------------------------------------------------ */

static gchar *
tmp_path (const char *name)
{
  return g_build_filename (g_get_tmp_dir (), name, NULL);
}

typedef struct
{
  NpNet *other;
  gfloat tol;
} CompareJob;

static void
compare_param (const char *name, NpTensor *a, gboolean trainable, gpointer data)
{
  CompareJob *job = data;
  NpTensor   *b = np_net_param (job->other, name);

  g_assert_nonnull (b);
  for (gint64 e = 0; e < np_tensor_n_elements (a); e++)
    g_assert_cmpfloat (fabsf (a->data[e] - b->data[e]), <=, job->tol * MAX (1, fabsf (a->data[e])));
}

static void
check_round_trip (NpDType dtype, gfloat tol)
{
  g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *desc = NULL;
  g_autofree gchar *path = tmp_path (dtype == NP_DTYPE_F16 ? "np-rt16.safetensors" : "np-rt32.safetensors");
  g_autoptr(NpNet) net = NULL, back = NULL;

  g_hash_table_insert (params, "ngf", "2");
  g_hash_table_insert (params, "depth", "4");
  desc = np_arch_describe ("unet", params, &error);
  g_assert_no_error (error);
  net = layer_net (desc);
  np_net_init_random (net, 3, 1.0f);
  g_hash_table_insert (np_net_metadata (net), g_strdup ("input_filter"), g_strdup ("gray"));
  np_net_set_bn_mode (net, NP_BN_BATCH);
  g_assert_true (np_net_save (net, path, dtype, &error));
  g_assert_no_error (error);

  back = np_net_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (np_net_description (back), ==, np_net_description (net));
  g_assert_cmpstr (g_hash_table_lookup (np_net_metadata (back), "input_filter"), ==, "gray");
  g_assert_cmpint (np_net_get_bn_mode (back), ==, NP_BN_BATCH);
  g_assert_cmpint (np_net_n_parameters (back, TRUE), ==, np_net_n_parameters (net, TRUE));
  {
    CompareJob job = { back, tol };
    np_net_foreach_param (net, compare_param, &job);
  }
  g_unlink (path);
}

static void
test_round_trip_f32 (void)
{
  check_round_trip (NP_DTYPE_F32, 0);
}

static void
test_round_trip_f16 (void)
{
  check_round_trip (NP_DTYPE_F16, 1.0f / 1024);
}

/* A file from a header and `body` bytes of zeros. */
static GByteArray *
craft (const char *header, gsize body, gint64 claimed_len)
{
  GByteArray *b = g_byte_array_new ();
  guint64     n = claimed_len >= 0 ? (guint64) claimed_len : strlen (header);
  guint8      len[8];

  for (int i = 0; i < 8; i++)
    len[i] = (guint8) (n >> (8 * i));
  g_byte_array_append (b, len, 8);
  g_byte_array_append (b, (const guint8 *) header, strlen (header));
  g_byte_array_set_size (b, b->len + body);
  memset (b->data + 8 + strlen (header), 0, body);
  return b;
}

#define ONE_CONV "\"__metadata__\":{\"architecture\":\"graph\",\"graph\":\"input c=1\\nconv name=c out=1 k=1\"}"

static void
expect_error (const char *header, gsize body, gint64 claimed_len, gint code, const char *fragment)
{
  g_autoptr(GByteArray) file = craft (header, body, claimed_len);
  g_autoptr(GError) error = NULL;
  g_autoptr(NpNet) net = np_net_load_from_data (file->data, file->len, &error);

  if (net != NULL)
    g_error ("accepted %s", header);
  g_assert_error (error, NP_ERROR, code);
  if (!strstr (error->message, fragment))
    g_error ("“%s” lacks “%s”", error->message, fragment);
}

static void
test_valid_crafted (void)
{
  g_autoptr(GByteArray) file = craft ("{" ONE_CONV ",\"c.weight\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1],"
                                      "\"data_offsets\":[0,4]},\"c.bias\":{\"dtype\":\"F16\",\"shape\":[1],"
                                      "\"data_offsets\":[4,6]}}", 6, -1);
  g_autoptr(GError) error = NULL;
  g_autoptr(NpNet) net = NULL;

  file->data[file->len - 6 + 3] = 0x3f, file->data[file->len - 6 + 2] = 0x80;   /* weight 1.0 */
  file->data[file->len - 1] = 0x40;                                             /* bias 2.0 */
  net = np_net_load_from_data (file->data, file->len, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (np_net_param (net, "c.weight")->data[0], ==, 1.0f);
  g_assert_cmpfloat (np_net_param (net, "c.bias")->data[0], ==, 2.0f);
}

static void
test_malformed (void)
{
#define W32 "\"c.weight\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1],\"data_offsets\":[0,4]}"
#define B32 "\"c.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}"
  /* Truncated: shorter than the length field, or than the header it claims. */
  {
    g_autoptr(GError) error = NULL;
    g_assert_null (np_net_load_from_data ((const guint8 *) "\x10\0\0", 3, &error));
    g_assert_error (error, NP_ERROR, NP_ERROR_CORRUPT);
  }
  expect_error ("{" ONE_CONV "," W32 "," B32 "}", 8, 1000, NP_ERROR_CORRUPT, "exceeds");
  expect_error ("{" ONE_CONV "," W32 "," B32 "}", 8, G_MAXINT64, NP_ERROR_CORRUPT, "exceeds");
  expect_error ("{" ONE_CONV "," W32 "," B32 "}", 7, -1, NP_ERROR_CORRUPT, "past the end");
  expect_error ("{" ONE_CONV "," W32 "," B32 "}", 8, 5, NP_ERROR_CORRUPT, "header");
  expect_error ("", 0, -1, NP_ERROR_CORRUPT, "JSON");
  expect_error ("[1, 2]", 0, -1, NP_ERROR_CORRUPT, "JSON");
  expect_error ("{\"a\": nope}", 0, -1, NP_ERROR_CORRUPT, "header");
  expect_error ("{\"a\":\xff\xfe}", 0, -1, NP_ERROR_CORRUPT, "UTF-8");
  /* Offsets. */
  expect_error ("{" ONE_CONV "," W32 ",\"c.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}",
                8, -1, NP_ERROR_CORRUPT, "overlap");
  expect_error ("{" ONE_CONV "," W32 ",\"c.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}",
                8, -1, NP_ERROR_CORRUPT, "past the end");
  expect_error ("{" ONE_CONV "," W32 ",\"c.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,9223372036854775807]}}",
                8, -1, NP_ERROR_CORRUPT, "past the end");
  expect_error ("{" ONE_CONV "," W32 ",\"c.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,8]}}",
                8, -1, NP_ERROR_CORRUPT, "needs");
  expect_error ("{" ONE_CONV "," W32 ",\"c.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}",
                8, -1, NP_ERROR_CORRUPT, "data_offsets");
  /* A name twice (JSON parsers keep the last): both spans are valid. */
  expect_error ("{" ONE_CONV "," W32 "," B32 ",\"c.weight\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1],"
                "\"data_offsets\":[8,12]}}", 12, -1, NP_ERROR_CORRUPT, "“c.weight” is named twice");
  /* Types and shapes. */
  expect_error ("{" ONE_CONV "," W32 ",\"c.bias\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[4,12]}}",
                12, -1, NP_ERROR_UNSUPPORTED, "dtype");
  expect_error ("{" ONE_CONV "," W32 ",\"c.bias\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[4,8]}}",
                8, -1, NP_ERROR_UNSUPPORTED, "dimensions");
  expect_error ("{" ONE_CONV "," W32 ",\"c.bias\":{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[4,8]}}",
                8, -1, NP_ERROR_TOO_LARGE, "too large");
  expect_error ("{" ONE_CONV "," W32 ",\"c.bias\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[4,8]}}",
                8, -1, NP_ERROR_CORRUPT, "dimension");
  expect_error ("{" ONE_CONV "," W32 ",\"c.bias\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
                8, -1, NP_ERROR_CORRUPT, "dimension");
  expect_error ("{" ONE_CONV "," W32 ",\"c.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8],\"x\":1}}",
                8, -1, NP_ERROR_CORRUPT, "exactly");
  expect_error ("{" ONE_CONV "," W32 ",\"c.bias\":[1]}", 8, -1, NP_ERROR_CORRUPT, "not an object");
  /* Against the architecture. */
  expect_error ("{" ONE_CONV ",\"c.weight\":{\"dtype\":\"F32\",\"shape\":[1,1,2,2],\"data_offsets\":[0,16]},"
                "\"c.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}",
                20, -1, NP_ERROR_CORRUPT, "has shape [2, 2]; the architecture wants [1]");
  expect_error ("{" ONE_CONV "," W32 "}", 8, -1, NP_ERROR_CORRUPT, "lacks tensor “c.bias”");
  expect_error ("{" ONE_CONV "," W32 "," B32 ",\"extra\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                12, -1, NP_ERROR_CORRUPT, "not part");
  expect_error ("{\"__metadata__\":{\"architecture\":\"resnet\"}}", 0, -1, NP_ERROR_UNSUPPORTED, "unknown architecture");
  expect_error ("{\"__metadata__\":{\"architecture\":\"unet\",\"ngf\":\"-3\"}}", 0, -1, NP_ERROR_CORRUPT, "ngf");
  expect_error ("{\"__metadata__\":{\"architecture\":\"unet\",\"ngf\":\"100000\"}}", 0, -1, NP_ERROR_CORRUPT, "ngf");
  expect_error ("{" W32 "}", 8, -1, NP_ERROR_CORRUPT, "not a neuropaint model");
  expect_error ("{\"__metadata__\":{\"architecture\":1}}", 0, -1, NP_ERROR_CORRUPT, "not a string");
  expect_error ("{\"__metadata__\":{\"graph\":\"input c=1\\nconv name=c out=1 k=1\",\"batchnorm\":\"x\"}," W32 "," B32 "}",
                8, -1, NP_ERROR_CORRUPT, "batchnorm");
  /* A description asking for 8 GB of weights, in a file holding none: the
   * loader checks the file before allocating anything. */
  expect_error ("{\"__metadata__\":{\"graph\":\"input c=512\\nconv name=c out=1000 k=64\"}}", 0, -1,
                NP_ERROR_CORRUPT, "lacks tensor “c.weight”");
  /* Hostile nesting. */
  {
    g_autofree gchar *deep = g_strnfill (5000, '[');
    g_autofree gchar *hdr = g_strdup_printf ("{\"a\":%s}", deep);
    expect_error (hdr, 0, -1, NP_ERROR_CORRUPT, "JSON");
  }
}

/* Every prefix of a valid file fails cleanly. */
static void
test_truncations (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *path = tmp_path ("np-trunc.safetensors");
  g_autoptr(NpNet) net = layer_net ("input c=2\nconv name=a out=3 k=3 p=1\nbatchnorm name=b\nrelu");
  g_autofree gchar *data = NULL;
  gsize len;

  g_assert_true (np_net_save (net, path, NP_DTYPE_F32, &error));
  g_assert_true (g_file_get_contents (path, &data, &len, &error));
  for (gsize cut = 0; cut < len; cut++)
    {
      g_autoptr(GError) e = NULL;
      g_autoptr(NpNet) n = np_net_load_from_data ((const guint8 *) data, cut, &e);
      g_assert_null (n);
      g_assert_nonnull (e);
    }
  g_unlink (path);
}

/* The metadata alone: as the whole file's, read from the header, which is
 * all that needs to be there; a header cut short is an error. */
static void
test_metadata_alone (void)
{
  g_autoptr(GError)     error = NULL;
  g_autofree gchar     *path = tmp_path ("np-meta.safetensors");
  g_autofree gchar     *data = NULL;
  g_autoptr(NpNet)      net = layer_net ("input c=1\nconv name=a out=2 k=3 p=1");
  g_autoptr(NpNet)      back = NULL;
  g_autoptr(GHashTable) meta = NULL;
  GHashTableIter        iter;
  gpointer              key, value;
  guint64               header = 0;
  gsize                 len;

  g_hash_table_insert (np_net_metadata (net), g_strdup ("input_filter"), g_strdup ("noise"));
  g_assert_true (np_net_save (net, path, NP_DTYPE_F32, &error));
  back = np_net_load (path, &error);
  g_assert_no_error (error);
  meta = np_safetensors_read_metadata (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (meta), ==, g_hash_table_size (np_net_metadata (back)));
  g_hash_table_iter_init (&iter, np_net_metadata (back));
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_cmpstr (g_hash_table_lookup (meta, key), ==, value);
  g_assert_cmpstr (g_hash_table_lookup (meta, "input_filter"), ==, "noise");

  g_assert_true (g_file_get_contents (path, &data, &len, &error));
  for (gint i = 7; i >= 0; i--)
    header = header << 8 | (guint8) data[i];
  for (gsize cut = 8 + header - 1; cut <= 8 + header; cut++)
    {
      g_autoptr(GError)     e = NULL;
      g_autoptr(GHashTable) m = NULL;

      g_assert_true (g_file_set_contents (path, data, cut, &error));
      m = np_safetensors_read_metadata (path, &e);
      if (cut < 8 + header)
        g_assert_error (e, NP_ERROR, NP_ERROR_CORRUPT);
      else
        g_assert_cmpstr (g_hash_table_lookup (m, "input_filter"), ==, "noise");
    }
  g_unlink (path);
}

/* ---- descriptions and architectures ------------------------------------------ */

static void
test_description_errors (void)
{
  const char *bad[] = {
    "", "relu", "input c=0", "input c=3\nwobble", "input c=3\nconv out=4 k=3", "input c=3\nconv name=a k=3",
    "input c=3\nconv name=a out=4", "input c=3\nconv name=a out=4 k=3 s=0", "input c=3\nconcat",
    "input c=3\nconcat with=nobody", "input c=3\nrelu from=later\nrelu name=later", "input c=3\nrelu slope=1",
    "input c=3 name=x\nrelu name=x", "input c=3\nconv name=a out=4 k=3 p=1:2:3", "input c=3\nbatchnorm name=b eps=0",
    "input c=3\nconv name=a out=4 k=3 bogus", "input c=3\nconv name=a out=4 k=3 p=", "input c=3\nconv name=a out=4 k=3 p=:",
    "input c=4\npixelshuffle", "input c=4\npixelshuffle factor=0", "input c=3\nadd", "input c=3\nadd with=nobody",
    "input c=3\nreshape", "input c=3\nreshape c=3 h=0", "input c=3\nreshape c=3 w=2.5",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(NpNet) net = np_net_new (bad[i], &error);
      if (net != NULL)
        g_error ("accepted “%s”", bad[i]);
      g_assert_error (error, NP_ERROR, NP_ERROR_CORRUPT);
    }
}

/* A reshape whose input holds another number of values is refused when
 * its shape is known, with an error, not read past. */
static void
test_reshape_mismatch (void)
{
  g_autoptr(NpNet) net = layer_net ("input name=x c=3\nreshape c=5 h=2 w=2");
  g_autoptr(NpTensor) x = np_tensor_new (2, 2, 3, 1, NULL);
  g_autoptr(GError) error = NULL;
  const NpTensor *in[] = { x };

  g_assert_null (np_net_forward (net, in, 1, &(NpCompute) { .n_threads = 1 }, &error));
  g_assert_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "12 values"));
}

static void
test_architectures (void)
{
  g_autoptr(GHashTable) p = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *unet = NULL, *gan = NULL;
  g_autoptr(NpNet) g = NULL, d = NULL;
  g_autoptr(NpTensor) a = np_tensor_new (256, 320, 3, 1, NULL), b = np_tensor_new (256, 320, 3, 1, NULL);
  const NpTensor *in[] = { a, b }, *out;

  /* torch's count for the seed U-Net at ngf 32 (tools/export_torch.py). */
  g_hash_table_insert (p, "ngf", "32");
  unet = np_arch_describe ("unet", p, &error);
  g = layer_net (unet);
  g_assert_cmpint (np_net_n_parameters (g, FALSE), ==, 7316483);
  g_assert_cmpint (np_net_size_multiple (g), ==, 64);
  out = np_net_forward (g, in, 1, &(NpCompute) { .n_threads = 2 }, &error);
  g_assert_no_error (error);
  g_assert_cmpint (out->ne[0], ==, 256);
  g_assert_cmpint (out->ne[1], ==, 320);
  g_assert_cmpint (out->ne[2], ==, 3);
  g_assert_null (np_net_forward (g, in, 2, &(NpCompute) { .n_threads = 2 }, &error));
  g_clear_error (&error);

  g_hash_table_remove_all (p);
  g_hash_table_insert (p, "ndf", "8");
  gan = np_arch_describe ("patchgan", p, &error);
  d = layer_net (gan);
  out = np_net_forward (d, in, 2, &(NpCompute) { .n_threads = 1 }, &error);
  g_assert_no_error (error);
  g_assert_cmpint (out->ne[0], ==, 16);
  g_assert_cmpint (out->ne[1], ==, 20);
  g_assert_cmpint (out->ne[2], ==, 1);
}

/* The generator built for noise: z of 1×1 to a 64×80 picture in [-1, 1],
 * and its discriminator to one logit a picture. The parameters counted by
 * hand at ngf 8: linear 128·1280 + 1280, batch norm 2·64, the blocks' 3×3
 * convs 64→64, 64→32, 32→16, 16→8 with their biases and batch norms, the
 * 3×3 conv to 3. */
static void
test_dream_architecture (void)
{
  g_autoptr(GHashTable) p = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *gen = NULL, *dis = NULL;
  g_autoptr(NpNet) g = NULL, d = NULL;
  g_autoptr(NpTensor) z = np_tensor_new (1, 1, 128, 2, NULL);
  const NpTensor *in[] = { z }, *out;
  gint64 convs = (64 * 64 * 9 + 64) + (64 * 32 * 9 + 32) + (32 * 16 * 9 + 16) + (16 * 8 * 9 + 8);

  g_hash_table_insert (p, "ngf", "8");
  gen = np_arch_describe ("dream", p, &error);
  g_assert_no_error (error);
  g_assert_null (strstr (gen, "convt"));
  g = layer_net (gen);
  g_assert_cmpint (np_net_n_parameters (g, FALSE), ==,
                   128 * 1280 + 1280 + 2 * 64 + convs + 2 * (64 + 32 + 16 + 8) + 8 * 3 * 9 + 3);
  fill (z->data, np_tensor_n_elements (z), 3);
  out = np_net_forward (g, in, 1, &(NpCompute) { .n_threads = 2, .training = TRUE, .bn_mode = NP_BN_BATCH }, &error);
  g_assert_no_error (error);
  g_assert_cmpint (out->ne[0], ==, 64);
  g_assert_cmpint (out->ne[1], ==, 80);
  g_assert_cmpint (out->ne[2], ==, 3);
  g_assert_cmpint (out->ne[3], ==, 2);
  for (gint64 i = 0; i < np_tensor_n_elements (out); i++)
    g_assert_true (out->data[i] >= -1 && out->data[i] <= 1);

  g_hash_table_remove_all (p);
  g_hash_table_insert (p, "ndf", "8");
  dis = np_arch_describe ("dream-d", p, &error);
  g_assert_no_error (error);
  d = layer_net (dis);
  g_assert_cmpint (np_net_n_inputs (d), ==, 1);
  in[0] = out;
  out = np_net_forward (d, in, 1, &(NpCompute) { .n_threads = 2 }, &error);
  g_assert_no_error (error);
  g_assert_cmpint (np_tensor_n_elements (out), ==, 2);
}

/* Threads share out blocks fixed by the shapes alone: the same bytes. */
static void
test_threads_agree (void)
{
  g_autoptr(GHashTable) p = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree gchar *desc = NULL;
  g_autoptr(NpNet) net = NULL;
  g_autoptr(NpTensor) x = np_tensor_new (64, 128, 3, 2, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree gfloat *one = NULL;
  const NpTensor *in[] = { x }, *y;
  gint64 n;

  g_hash_table_insert (p, "ngf", "4");
  desc = np_arch_describe ("unet", p, &error);
  net = layer_net (desc);
  /* Weights of about 1/sqrt(fan-in), so activations stay near 1 and the
   * comparison measures arithmetic, not amplified rounding. */
  np_net_init_random (net, 7, 0.05f);
  fill (x->data, np_tensor_n_elements (x), 9);
  y = np_net_forward (net, in, 1, &(NpCompute) { .n_threads = 1 }, &error);
  n = np_tensor_n_elements (y);
  one = g_memdup2 (y->data, n * sizeof (gfloat));
  y = np_net_forward (net, in, 1, &(NpCompute) { .n_threads = 3 }, &error);
  g_assert_no_error (error);
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat (y->data[i], ==, one[i]);
}

/* ---- gradients ------------------------------------------------------------ */

/* A network around each layer kind, so the loop below cannot skip one. */
static const char *const grad_nets[NP_LAYER_COUNT] = {
  [NP_LAYER_INPUT] = NULL,   /* no computation of its own */
  [NP_LAYER_CONV] = "input name=x c=2\nconv name=l out=3 k=3 s=2 p=1:0",
  [NP_LAYER_CONVT] = "input name=x c=2\nconvt name=l out=2 k=3 s=2 p=1",
  [NP_LAYER_BATCHNORM] = "input name=x c=3\nbatchnorm name=l eps=0.01",
  [NP_LAYER_DROPOUT] = "input name=x c=2\ndropout",
  [NP_LAYER_LRELU] = "input name=x c=2\nlrelu slope=0.2",
  [NP_LAYER_RELU] = "input name=x c=2\nrelu",
  [NP_LAYER_TANH] = "input name=x c=2\ntanh",
  [NP_LAYER_SIGMOID] = "input name=x c=2\nsigmoid",
  [NP_LAYER_CONCAT] = "input name=x c=2\nconv name=a out=2 k=1\nconcat from=a with=x",
  [NP_LAYER_UPSAMPLE] = "input name=x c=2\nupsample factor=2",
  [NP_LAYER_LINEAR] = "input name=x c=2\nconv name=a out=3 k=5\nlinear name=l out=4",
  [NP_LAYER_PIXELSHUFFLE] = "input name=x c=2\nconv name=a out=8 k=3 p=1\npixelshuffle factor=2\ntanh",
  /* In place on the conv's output, as a residual block's sum runs. */
  [NP_LAYER_ADD] = "input name=x c=2\nconv name=a out=2 k=3 p=1\nadd with=x\ntanh",
  /* Both ways: a grid of other channels and sides, and flattened for a
   * linear layer, so a misplaced value shows in the convolutions' mixing. */
  [NP_LAYER_RESHAPE] = "input name=x c=2\nconv name=a out=3 k=3 p=1\nreshape c=5 h=3 w=5\n"
                       "conv name=b out=2 k=3 p=1\nreshape c=30\nlinear name=l out=3",
};

/* L = Σ r·y for a fixed random r: dL/dy = r, and central differences of L
 * over the input and the parameters must match what backward says. */
static double
loss (NpNet *net, const NpCompute *compute, NpTensor *x, const gfloat *r)
{
  g_autoptr(GError) error = NULL;
  const NpTensor *in[] = { x }, *y = np_net_forward (net, in, 1, compute, &error);
  double sum = 0;

  g_assert_no_error (error);
  for (gint64 i = 0; i < np_tensor_n_elements (y); i++)
    sum += (double) r[i] * y->data[i];
  return sum;
}

static void
check_fd (NpNet *net, const NpCompute *compute, NpTensor *x, const gfloat *r, gfloat *value, gfloat analytic,
          const char *what)
{
  const gfloat h = 1e-2f;
  gfloat       keep = *value;
  double       up, down, numeric;

  *value = keep + h;
  up = loss (net, compute, x, r);
  *value = keep - h;
  down = loss (net, compute, x, r);
  *value = keep;
  numeric = (up - down) / (2 * h);
  if (fabs (numeric - analytic) > 2e-2 * MAX (1.0, fabs (numeric)))
    g_error ("%s: backward says %g, finite differences %g", what, analytic, numeric);
}

typedef struct
{
  NpNet    *net;
  NpCompute compute;
  NpTensor *x, *dy;
  gboolean  batch_norm;
} GradJob;

/* Biases random too (they start at 0), so ReLUs see both signs. */
static void
randomize_bias (const char *name, NpTensor *t, gboolean trainable, gpointer data)
{
  GradJob *job = data;

  if (g_str_has_suffix (name, ".bias"))
    fill (t->data, np_tensor_n_elements (t), 4 + strlen (name));
  job->batch_norm |= !trainable;
}

static void
check_param_grads (const char *name, NpTensor *t, gboolean trainable, gpointer data)
{
  GradJob *job = data;
  g_autofree gfloat *g = NULL;

  if (!trainable)
    return;
  g = g_memdup2 (np_net_grad (job->net, name)->data, np_tensor_n_elements (t) * sizeof (gfloat));
  for (gint64 i = 0; i < np_tensor_n_elements (t); i += 2)
    check_fd (job->net, &job->compute, job->x, job->dy->data, &t->data[i], g[i], name);
}

/* Paths a kind takes by shape: a stride-1 conv with fewer outputs than
 * inputs runs as the transposed conv of its turned kernel. */
static const char *const grad_nets_more[] = {
  "input name=x c=4\nconv name=l out=2 k=3 p=2:1",
  /* A 1×1 convolution to more outputs than inputs (a classifier's head),
   * whose dW reads its input as the columns. */
  "input name=x c=3\nconv name=l out=7 k=1",
};

static void
check_gradients (const char *description, gint seed, const char *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NpNet) net = NULL;
  g_autoptr(NpTensor) x = NULL, dy = NULL;
  const NpTensor *y;
  const NpTensor *in[1];
  GradJob job = { 0 };

  net = layer_net (description);
  np_net_init_random (net, seed, 0.3f);
  job.net = net;
  np_net_foreach_param (net, randomize_bias, &job);
  /* Training: batch norm on batch statistics, dropout with the mask of
   * one key (the same at every forward). */
  job.compute = (NpCompute) { .n_threads = 2, .training = TRUE,
                              .bn_mode = job.batch_norm ? NP_BN_BATCH : NP_BN_RUNNING, .key = 42 };
  x = np_tensor_new (5, 5, np_net_input_channels (net, 0), 2, &error);
  fill (x->data, np_tensor_n_elements (x), 6 + seed);
  in[0] = x;
  y = np_net_forward (net, in, 1, &job.compute, &error);
  g_assert_no_error (error);
  dy = np_tensor_new (y->ne[0], y->ne[1], y->ne[2], y->ne[3], &error);
  fill (dy->data, np_tensor_n_elements (dy), 7);
  g_assert_true (np_net_zero_grad (net, &error));
  g_assert_true (np_net_backward (net, dy, NP_GRAD_PARAMS | NP_GRAD_INPUTS, 2, &error));
  job.x = x, job.dy = dy;

  {
    /* Copies: later forwards reuse the net's gradient memory. */
    g_autofree gfloat *dx = g_memdup2 (np_net_input_grad (net, 0)->data, np_tensor_n_elements (x) * sizeof (gfloat));
    for (gint64 i = 0; i < np_tensor_n_elements (x); i += 3)
      check_fd (net, &job.compute, x, dy->data, &x->data[i], dx[i], what);
    np_net_foreach_param (net, check_param_grads, &job);
  }
}

static void
test_gradients_finite_differences (void)
{
  for (gint kind = 0; kind < NP_LAYER_COUNT; kind++)
    if (kind != NP_LAYER_INPUT)
      {
        g_assert_nonnull (grad_nets[kind]);
        check_gradients (grad_nets[kind], kind, np_layer_kind_name (kind));
      }
  for (gsize i = 0; i < G_N_ELEMENTS (grad_nets_more); i++)
    check_gradients (grad_nets_more[i], NP_LAYER_COUNT + i, grad_nets_more[i]);
}

/* Dropout in training keeps about 1 − rate of the values, scaled by
 * 1/(1 − rate); the same key gives the same mask, another key another. */
static void
test_dropout_training (void)
{
  g_autoptr(NpNet) net = layer_net ("input name=x c=4\ndropout rate=0.25");
  g_autoptr(NpTensor) x = np_tensor_new (32, 32, 4, 2, NULL);
  g_autoptr(GError) error = NULL;
  const NpTensor *in[] = { x }, *y;
  g_autofree gfloat *first = NULL;
  gint64 n = np_tensor_n_elements (x), kept = 0, same = 0;

  for (gint64 i = 0; i < n; i++)
    x->data[i] = 1.0f;
  y = np_net_forward (net, in, 1, &(NpCompute) { .n_threads = 2, .training = TRUE, .key = 1 }, &error);
  for (gint64 i = 0; i < n; i++)
    {
      g_assert_true (y->data[i] == 0.0f || y->data[i] == 1.0f / 0.75f);
      kept += y->data[i] != 0.0f;
    }
  /* 8192 draws: 6144 expected, σ ≈ 39. */
  g_assert_cmpint (llabs (kept - 6144), <, 200);
  first = g_memdup2 (y->data, n * sizeof (gfloat));
  y = np_net_forward (net, in, 1, &(NpCompute) { .n_threads = 1, .training = TRUE, .key = 1 }, &error);
  g_assert_cmpmem (y->data, n * sizeof (gfloat), first, n * sizeof (gfloat));
  y = np_net_forward (net, in, 1, &(NpCompute) { .n_threads = 2, .training = TRUE, .key = 2 }, &error);
  for (gint64 i = 0; i < n; i++)
    same += y->data[i] == first[i];
  g_assert_cmpint (same, <, n * 3 / 4);
  /* Outside training: the identity. */
  y = np_net_forward (net, in, 1, &(NpCompute) { .n_threads = 2 }, &error);
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat (y->data[i], ==, 1.0f);
}

/* Training forward moves batch norm's running statistics towards the
 * batch's: r ← 0.9·r + 0.1·batch, with the unbiased variance. */
static void
test_batchnorm_running_update (void)
{
  g_autoptr(NpNet) net = layer_net ("input name=x c=1\nbatchnorm name=b");
  g_autoptr(NpTensor) x = np_tensor_new (2, 1, 1, 2, NULL);
  g_autoptr(GError) error = NULL;
  const NpTensor *in[] = { x };

  /* Values 1, 2, 3, 6: mean 3, unbiased variance 14/3. */
  x->data[0] = 1, x->data[1] = 2, x->data[2] = 3, x->data[3] = 6;
  g_assert_nonnull (np_net_forward (net, in, 1, &(NpCompute) { .n_threads = 1, .training = TRUE,
                                                                 .bn_mode = NP_BN_BATCH }, &error));
  g_assert_cmpfloat_with_epsilon (np_net_param (net, "b.running_mean")->data[0], 0.3, 1e-6);
  g_assert_cmpfloat_with_epsilon (np_net_param (net, "b.running_var")->data[0], 0.9 + 0.1 * 14.0 / 3, 1e-6);
  g_assert_cmpint (np_net_n_parameters (net, FALSE), ==, 2);
  g_assert_cmpint (np_net_n_parameters (net, TRUE), ==, 4);
}

/* The options are the call's: a training forward (which froze the running
 * statistics) leaves nothing behind for the next inference, and NP_BN_MODEL
 * runs on the statistics the model file names. */
static void
test_compute_per_call (void)
{
  g_autoptr(NpNet) net = layer_net ("input name=x c=2\nconv name=c out=3 k=3 p=1\nbatchnorm name=b\n"
                                    "dropout\nrelu");
  g_autoptr(NpTensor) x = np_tensor_new (6, 4, 2, 2, NULL);
  g_autoptr(GError) error = NULL;
  const NpTensor *in[] = { x }, *y;
  NpCompute infer = { .n_threads = 2 }, batch = { .n_threads = 2, .bn_mode = NP_BN_BATCH };
  gsize bytes = 6 * 4 * 3 * 2 * sizeof (gfloat);
  g_autofree gfloat *running = NULL, *batch_stats = NULL;

  fill (x->data, np_tensor_n_elements (x), 51);
  y = np_net_forward (net, in, 1, &infer, &error);
  g_assert_no_error (error);
  running = g_memdup2 (y->data, bytes);
  y = np_net_forward (net, in, 1, &batch, &error);
  batch_stats = g_memdup2 (y->data, bytes);
  g_assert_true (memcmp (running, batch_stats, bytes) != 0);

  y = np_net_forward (net, in, 1, &(NpCompute) { .n_threads = 2, .training = TRUE, .bn_mode = NP_BN_BATCH,
                                                 .key = 3, .freeze_running = TRUE }, &error);
  g_assert_no_error (error);
  y = np_net_forward (net, in, 1, &infer, &error);
  g_assert_cmpmem (y->data, bytes, running, bytes);

  np_net_set_bn_mode (net, NP_BN_BATCH);
  y = np_net_forward (net, in, 1, &infer, &error);
  g_assert_cmpmem (y->data, bytes, batch_stats, bytes);
}

/* A small U-Net with every layer kind the trainer uses. */
static NpNet *
small_unet (void)
{
  g_autoptr(GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *desc = NULL;
  NpNet *net;

  g_hash_table_insert (params, "ngf", "8");
  g_hash_table_insert (params, "depth", "4");
  desc = np_arch_describe ("unet", params, &error);
  g_assert_no_error (error);
  net = layer_net (desc);
  np_net_init_random (net, 11, 0.1f);
  return net;
}

/* One forward and backward in training (batch statistics, dropout on one
 * key): the gradient block and the input's gradient. */
static gfloat *
train_pass (NpNet *net, NpTensor *x, NpTensor *dy, gint threads, gboolean zero, NpGradFlags what)
{
  g_autoptr(GError) error = NULL;
  const NpTensor *in[] = { x };
  gsize n = np_net_n_parameters (net, FALSE), nx = np_tensor_n_elements (x);
  gfloat *out = g_new (gfloat, n + nx);
  NpCompute compute = { .n_threads = threads, .training = TRUE, .bn_mode = NP_BN_BATCH, .key = 5 };

  g_assert_nonnull (np_net_forward (net, in, 1, &compute, &error));
  if (zero)
    g_assert_true (np_net_zero_grad (net, &error));
  g_assert_true (np_net_backward (net, dy, what, threads, &error));
  g_assert_no_error (error);
  memcpy (out, np_net_gradients (net), n * sizeof (gfloat));
  memcpy (out + n, np_net_input_grad (net, 0)->data, nx * sizeof (gfloat));
  return out;
}

/* Backward runs in pieces fixed by the shapes: 1, 2 and 3 threads give the
 * same bits. */
static void
test_backward_threads_agree (void)
{
  g_autoptr(NpNet) net = small_unet ();
  g_autoptr(NpTensor) x = np_tensor_new (48, 32, 3, 3, NULL), dy = np_tensor_new (48, 32, 3, 3, NULL);
  gsize bytes = (np_net_n_parameters (net, FALSE) + np_tensor_n_elements (x)) * sizeof (gfloat);
  g_autofree gfloat *one = NULL, *two = NULL, *three = NULL;

  fill (x->data, np_tensor_n_elements (x), 21), fill (dy->data, np_tensor_n_elements (dy), 22);
  one = train_pass (net, x, dy, 1, TRUE, NP_GRAD_PARAMS | NP_GRAD_INPUTS);
  two = train_pass (net, x, dy, 2, TRUE, NP_GRAD_PARAMS | NP_GRAD_INPUTS);
  three = train_pass (net, x, dy, 3, TRUE, NP_GRAD_PARAMS | NP_GRAD_INPUTS);
  g_assert_cmpmem (one, bytes, two, bytes);
  g_assert_cmpmem (one, bytes, three, bytes);
}

/* Backward adds into the gradients until np_net_zero_grad; without
 * NP_GRAD_PARAMS it leaves them alone (and still finds the input's). */
static void
test_backward_accumulates (void)
{
  g_autoptr(NpNet) net = small_unet ();
  g_autoptr(NpTensor) x = np_tensor_new (16, 16, 3, 2, NULL), dy = np_tensor_new (16, 16, 3, 2, NULL);
  gsize n = np_net_n_parameters (net, FALSE), nx = np_tensor_n_elements (x);
  g_autofree gfloat *once = NULL, *twice = NULL, *frozen = NULL;

  fill (x->data, nx, 31), fill (dy->data, np_tensor_n_elements (dy), 32);
  once = train_pass (net, x, dy, 2, TRUE, NP_GRAD_PARAMS | NP_GRAD_INPUTS);
  twice = train_pass (net, x, dy, 2, FALSE, NP_GRAD_PARAMS | NP_GRAD_INPUTS);
  /* ((g0 + g1) + g0) + g1 against 2·(g0 + g1): equal but for rounding. */
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (fabsf (twice[i] - 2 * once[i]), <=, 1e-5f * MAX (1, fabsf (once[i])));
  frozen = train_pass (net, x, dy, 2, TRUE, NP_GRAD_INPUTS);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat (frozen[i], ==, 0.0f);
  g_assert_cmpmem (frozen + n, nx * sizeof (gfloat), once + n, nx * sizeof (gfloat));
}

/* Each loss against its definition and its gradient against central
 * differences, on values spread over both signs and a wide range. */
static void
test_losses (void)
{
  g_autoptr(NpTensor) p = np_tensor_new (7, 5, 2, 3, NULL), t = np_tensor_new (7, 5, 2, 3, NULL);
  g_autoptr(NpTensor) g = np_tensor_new (7, 5, 2, 3, NULL);
  gint64 n = np_tensor_n_elements (p);

  fill (p->data, n, 41), fill (t->data, n, 42);
  for (gint64 i = 0; i < n; i++)
    p->data[i] *= 20;   /* logits out to ±20: the naive formula would lose them */
  for (int which = 0; which < 5; which++)
    {
      double want = 0, got;
      for (gint64 i = 0; i < n; i++)
        {
          double x = p->data[i], d = x - t->data[i];
          want += which == 0 ? (x > 0 ? x + log1p (exp (-x)) : log1p (exp (x)))
                : which == 1 ? (x > 0 ? log1p (exp (-x)) : -x + log1p (exp (x)))
                : which == 2 ? fabs (d) : which == 3 ? d * d : sqrt (fabs (d) + 0.01) - 0.1;
        }
      want /= n;
      memset (g->data, 0, n * sizeof (gfloat));
      got = which == 0 ? np_loss_bce_logits (p, 0, 3, g) : which == 1 ? np_loss_bce_logits (p, 1, 3, g)
            : which == 2 ? np_loss_l1 (p, t, 3, g) : which == 3 ? np_loss_mse (p, t, 3, g) : np_loss_root (p, t, 3, g);
      g_assert_cmpfloat_with_epsilon (got, want, 1e-6 * MAX (1, fabs (want)));
      for (gint64 i = 0; i < n; i += 5)
        {
          gfloat keep = p->data[i], h = 1e-3f, hi = keep + h, lo = keep - h;
          double up, down;
          /* The steps as rounded to float, not as asked. */
          p->data[i] = hi;
          up = which == 0 ? np_loss_bce_logits (p, 0, 1, NULL) : which == 1 ? np_loss_bce_logits (p, 1, 1, NULL)
               : which == 2 ? np_loss_l1 (p, t, 1, NULL) : which == 3 ? np_loss_mse (p, t, 1, NULL)
               : np_loss_root (p, t, 1, NULL);
          p->data[i] = lo;
          down = which == 0 ? np_loss_bce_logits (p, 0, 1, NULL) : which == 1 ? np_loss_bce_logits (p, 1, 1, NULL)
                 : which == 2 ? np_loss_l1 (p, t, 1, NULL) : which == 3 ? np_loss_mse (p, t, 1, NULL)
                 : np_loss_root (p, t, 1, NULL);
          p->data[i] = keep;
          g_assert_cmpfloat_with_epsilon (g->data[i], 3 * (up - down) / ((double) hi - lo), 1e-3 / n + 1e-6);
        }
    }
}

/* Adam's first steps worked by hand: m̂ = g, v̂ = g² at t = 1, so each
 * parameter moves by lr·g/(|g| + ε); at t = 2 with g the same again, still
 * lr·g/(|g| + ε). */
static void
test_adam (void)
{
  NpAdamParams p = { 0.01, 0.5, 0.999, 1e-8 };
  g_autoptr(NpAdam) adam = np_adam_new (3, &p, NULL);
  gfloat params[3] = { 1, -2, 0.5f }, grads[3] = { 0.3f, -4, 0 };

  np_adam_step (adam, params, grads, 2);
  g_assert_cmpfloat_with_epsilon (params[0], 1 - 0.01, 1e-6);
  g_assert_cmpfloat_with_epsilon (params[1], -2 + 0.01, 1e-6);
  g_assert_cmpfloat (params[2], ==, 0.5f);
  np_adam_step (adam, params, grads, 1);
  g_assert_cmpfloat_with_epsilon (params[0], 1 - 0.02, 1e-6);
  g_assert_cmpint (*np_adam_t (adam), ==, 2);
  g_assert_cmpfloat_with_epsilon (np_adam_m (adam)[1], -3, 1e-6);   /* 0.5·(0.5·−4) + 0.5·−4 */
}

/* A classifier's head on a regression net's trunk: every parameter of the
 * same name, kind and shape is copied (batch norm's statistics too); the
 * head, another kind and shape, is left as it was and named. */
static void
test_copy_matching_params (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NpNet) body = np_net_new ("input c=1\nconv name=e1 out=4 k=3 p=1\nbatchnorm name=e1_bn\nrelu\n"
                                      "convt name=out out=2 k=4 s=2 p=1\ntanh", &error);
  g_autoptr(NpNet) head = np_net_new ("input c=1\nconv name=e1 out=4 k=3 p=1\nbatchnorm name=e1_bn\nrelu\n"
                                      "conv name=out out=7 k=1", &error);
  g_autoptr(GPtrArray) left = g_ptr_array_new_with_free_func (g_free);
  const char *copied[] = { "e1.weight", "e1.bias", "e1_bn.weight", "e1_bn.bias", "e1_bn.running_mean",
                           "e1_bn.running_var" };
  gfloat out_before;

  g_assert_no_error (error);
  np_net_init_random (body, 1, 0.5f);
  np_net_init_random (head, 2, 0.5f);
  for (gsize i = 0; i < G_N_ELEMENTS (copied); i++)
    {
      NpTensor *t = np_net_param (body, copied[i]);
      g_assert_nonnull (t);
      for (gint64 e = 0; e < np_tensor_n_elements (t); e++)
        t->data[e] = (gfloat) (i + 1) + 0.01f * (gfloat) e;
    }
  out_before = np_net_param (head, "out.weight")->data[0];
  g_assert_cmpint (np_net_copy_matching_params (head, body, left, NULL), ==, G_N_ELEMENTS (copied));
  for (gsize i = 0; i < G_N_ELEMENTS (copied); i++)
    {
      NpTensor *a = np_net_param (body, copied[i]), *b = np_net_param (head, copied[i]);
      g_assert_cmpmem (a->data, np_tensor_n_elements (a) * sizeof (gfloat), b->data,
                       np_tensor_n_elements (b) * sizeof (gfloat));
    }
  g_assert_cmpfloat (np_net_param (head, "out.weight")->data[0], ==, out_before);
  g_assert_cmpuint (left->len, ==, 2);
  g_assert_cmpstr (left->pdata[0], ==, "out.weight");
  g_assert_cmpstr (left->pdata[1], ==, "out.bias");

  /* Hint channels after the gray one: the first layer reads them with
   * zero weights, the gray one with the body's. */
  {
    g_autoptr(NpNet) hinted = np_net_new ("input c=3\nconv name=e1 out=4 k=3 p=1\nbatchnorm name=e1_bn\nrelu\n"
                                          "convt name=out out=2 k=4 s=2 p=1\ntanh", &error);
    g_autoptr(GPtrArray) widened = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(GPtrArray) none = g_ptr_array_new_with_free_func (g_free);
    NpTensor *w = NULL, *from = np_net_param (body, "e1.weight");

    g_assert_no_error (error);
    np_net_init_random (hinted, 3, 0.5f);
    g_assert_cmpint (np_net_copy_matching_params (hinted, body, none, widened), ==, 8);
    g_assert_cmpuint (none->len, ==, 0);
    g_assert_cmpuint (widened->len, ==, 1);
    g_assert_cmpstr (widened->pdata[0], ==, "e1.weight");
    w = np_net_param (hinted, "e1.weight");
    for (gint64 o = 0; o < 4; o++)
      for (gint64 c = 0; c < 3; c++)
        for (gint64 i = 0; i < 9; i++)
          g_assert_cmpfloat (w->data[(o * 3 + c) * 9 + i], ==, c == 0 ? from->data[o * 9 + i] : 0.0f);
    /* Without widened, the wider weight is left as it was. */
    g_ptr_array_set_size (none, 0);
    np_net_init_random (hinted, 3, 0.5f);
    g_assert_cmpint (np_net_copy_matching_params (hinted, body, none, NULL), ==, 7);
    g_assert_cmpuint (none->len, ==, 1);
  }
}

/* The magnitude term against its definition (per pixel, the norm over the
 * channels) and its gradient against central differences. */
static void
test_loss_magnitude (void)
{
  g_autoptr(NpTensor) p = np_tensor_new (5, 4, 2, 3, NULL), t = np_tensor_new (5, 4, 2, 3, NULL);
  g_autoptr(NpTensor) g = np_tensor_new (5, 4, 2, 3, NULL);
  gint64 n = np_tensor_n_elements (p), pixels = 20;
  double want = 0, got;

  fill (p->data, n, 51), fill (t->data, n, 52);
  for (gint64 b = 0; b < 3; b++)
    for (gint64 i = 0; i < pixels; i++)
      {
        const gfloat *a = p->data + b * 2 * pixels + i, *c = t->data + b * 2 * pixels + i;
        want += fabs (sqrt ((double) a[0] * a[0] + (double) a[pixels] * a[pixels] + 1e-6)
                      - sqrt ((double) c[0] * c[0] + (double) c[pixels] * c[pixels] + 1e-6));
      }
  want /= 3 * pixels;
  memset (g->data, 0, n * sizeof (gfloat));
  got = np_loss_magnitude (p, t, 3, g);
  g_assert_cmpfloat_with_epsilon (got, want, 1e-6);
  for (gint64 i = 0; i < n; i++)
    {
      gfloat keep = p->data[i], h = 1e-3f, hi = keep + h, lo = keep - h;
      double up, down;
      p->data[i] = hi;
      up = np_loss_magnitude (p, t, 1, NULL);
      p->data[i] = lo;
      down = np_loss_magnitude (p, t, 1, NULL);
      p->data[i] = keep;
      g_assert_cmpfloat_with_epsilon (g->data[i], 3 * (up - down) / ((double) hi - lo), 1e-3 / n + 1e-5);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/nn/gemm/shapes", test_gemm_shapes);
  g_test_add_func ("/nn/net/copy-matching", test_copy_matching_params);
  g_test_add_func ("/nn/reshape/mismatch", test_reshape_mismatch);
  g_test_add_func ("/nn/arch/dream", test_dream_architecture);
  g_test_add_func ("/nn/conv/direct", test_conv_direct);
  g_test_add_func ("/nn/conv/in-place-bits", test_conv_in_place_bits);
  g_test_add_func ("/nn/convt/direct", test_convt_direct);
  g_test_add_func ("/nn/col2im/adjoint", test_col2im_adjoint);
  g_test_add_func ("/nn/engine/cpu-levels", test_cpu_levels);
  g_test_add_func ("/nn/engine/routes", test_engine_routes);
  g_test_add_func ("/nn/f16", test_f16);
  g_test_add_func ("/nn/model/round-trip-f32", test_round_trip_f32);
  g_test_add_func ("/nn/model/round-trip-f16", test_round_trip_f16);
  g_test_add_func ("/nn/model/crafted", test_valid_crafted);
  g_test_add_func ("/nn/model/malformed", test_malformed);
  g_test_add_func ("/nn/model/truncations", test_truncations);
  g_test_add_func ("/nn/model/metadata-alone", test_metadata_alone);
  g_test_add_func ("/nn/description/errors", test_description_errors);
  g_test_add_func ("/nn/architectures", test_architectures);
  g_test_add_func ("/nn/threads", test_threads_agree);
  g_test_add_func ("/nn/backward/finite-differences", test_gradients_finite_differences);
  g_test_add_func ("/nn/backward/threads-agree", test_backward_threads_agree);
  g_test_add_func ("/nn/backward/accumulates", test_backward_accumulates);
  g_test_add_func ("/nn/training/dropout", test_dropout_training);
  g_test_add_func ("/nn/training/batchnorm-running", test_batchnorm_running_update);
  g_test_add_func ("/nn/training/compute-per-call", test_compute_per_call);
  g_test_add_func ("/nn/losses", test_losses);
  g_test_add_func ("/nn/losses/magnitude", test_loss_magnitude);
  g_test_add_func ("/nn/adam", test_adam);
  return g_test_run ();
}
