/* neuropaint — CPPN parameters, weights, colours and the region renderer.
 * The dense layers themselves are in cppn-kernel.c. */
#include "cppn-private.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "np-error.h"
#include "image/np-image.h"
#include "util/np-parallel.h"
#include "util/np-rng.h"

typedef enum
{
  NP_CPPN_BW,
  NP_CPPN_RGB,
  NP_CPPN_CMYK,
  NP_CPPN_HSV,
  NP_CPPN_HSL,
  NP_CPPN_N_COLOR_MODES
} NpCppnColorMode;

static const struct
{
  const char *name;
  gint        n_out;  /* network outputs before alpha */
} color_modes[] = {
  [NP_CPPN_BW] = { "bw", 1 },
  [NP_CPPN_RGB] = { "rgb", 3 },
  [NP_CPPN_CMYK] = { "cmyk", 4 },
  [NP_CPPN_HSV] = { "hsv", 3 },
  [NP_CPPN_HSL] = { "hsl", 3 },
};
G_STATIC_ASSERT (G_N_ELEMENTS (color_modes) == NP_CPPN_N_COLOR_MODES);

static const char *const activation_names[] = {
  [NP_CPPN_TANH] = "tanh",
  [NP_CPPN_SIGMOID] = "sigmoid",
  [NP_CPPN_RELU] = "relu",
  [NP_CPPN_IDENTITY] = "identity",
  [NP_CPPN_SOFTSIGN] = "softsign",
  [NP_CPPN_SIN] = "sin",
  [NP_CPPN_COS] = "cos",
};
G_STATIC_ASSERT (G_N_ELEMENTS (activation_names) == NP_CPPN_N_ACTIVATIONS);

typedef struct
{
  gint              n_in, n_out;
  NpCppnActivation  activation;
  gfloat           *W;   /* n_out × n_in, row-major */
  gfloat           *b;   /* n_out */
} NpCppnLayer;

struct _NpCppn
{
  NpCppnParams     params;      /* the name strings are not kept */
  NpCppnColorMode  color_mode;
  gint             n_inputs, n_outputs, n_layers, widest;
  NpCppnLayer     *layers;
  gfloat          *weights;     /* one allocation behind every W and b */
};

void
np_cppn_params_init (NpCppnParams *params)
{
  *params = (NpCppnParams) {
    .seed = 0,
    .width = 512, .height = 512,
    .color_mode = "rgb",
    .alpha = FALSE,
    .depth = 10, .size = 15,
    .activation = "tanh",
    .n_z = 2, .z = { -0.618, 0.618 },
    .coords = NP_CPPN_COORDS_ORIGINAL,
    .zoom = 1.0,
    .hidden_std = 1.0, .output_std = 1.0,
    .bias = TRUE, .radius = TRUE,
  };
}

gboolean
np_cppn_params_set_z (NpCppnParams *params, const gchar *list, GError **error)
{
  g_auto(GStrv) items = g_strsplit (list, ",", -1);
  gint n = g_strv_length (items);

  if (n > NP_CPPN_MAX_Z)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "z has %d entries, more than the limit of %d", n, NP_CPPN_MAX_Z);
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    {
      gchar  *end;
      gdouble v = g_ascii_strtod (g_strstrip (items[i]), &end);

      if (*items[i] == '\0' || *end != '\0' || !isfinite (v))
        {
          g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                       "z: “%s” is not a number (expected a list such as -0.618,0.618)",
                       items[i]);
          return FALSE;
        }
      params->z[i] = v;
    }
  params->n_z = n;
  return TRUE;
}

const gchar *
np_cppn_activation_name (NpCppnActivation activation)
{
  g_return_val_if_fail (activation < NP_CPPN_N_ACTIVATIONS, NULL);
  return activation_names[activation];
}

gboolean
np_cppn_activation_from_name (const gchar *name, NpCppnActivation *activation,
                              GError **error)
{
  for (int a = 0; a < NP_CPPN_N_ACTIVATIONS; a++)
    if (g_ascii_strcasecmp (name, activation_names[a]) == 0)
      {
        *activation = a;
        return TRUE;
      }
  g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
               "unknown activation “%s” (known: " NP_CPPN_ACTIVATIONS ")", name);
  return FALSE;
}

static gboolean
color_mode_from_name (const gchar *name, NpCppnColorMode *mode, GError **error)
{
  for (int m = 0; m < NP_CPPN_N_COLOR_MODES; m++)
    if (name && g_ascii_strcasecmp (name, color_modes[m].name) == 0)
      {
        *mode = m;
        return TRUE;
      }
  g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
               "unknown colour mode “%s” (known: " NP_CPPN_COLOR_MODES ")",
               name ? name : "");
  return FALSE;
}

typedef enum { ANY, POSITIVE, NON_NEGATIVE } NpSign;

static gboolean
check_number (gdouble value, const char *what, NpSign sign, GError **error)
{
  static const char *const kind[] = { "", "positive ", "non-negative " };

  if (isfinite (value) && fabs (value) < 1e30
      && (sign != POSITIVE || value > 0) && (sign != NON_NEGATIVE || value >= 0))
    return TRUE;
  g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
               "%s must be a %sfinite number, not %g", what, kind[sign], value);
  return FALSE;
}

static gboolean
check_params (const NpCppnParams *p, GError **error)
{
  gint64 n_weights;

  if (!np_image_check_size (p->width, p->height, error))
    return FALSE;
  if (p->depth < 1 || p->depth > NP_CPPN_MAX_DEPTH)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "depth must be between 1 and %d hidden layers, not %d",
                   NP_CPPN_MAX_DEPTH, p->depth);
      return FALSE;
    }
  if (p->size < 1 || p->size > NP_CPPN_MAX_SIZE)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "layer size must be between 1 and %d units, not %d",
                   NP_CPPN_MAX_SIZE, p->size);
      return FALSE;
    }
  n_weights = (gint64) p->depth * (p->size + 1) * p->size;
  if (n_weights > NP_CPPN_MAX_WEIGHTS)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_TOO_LARGE,
                   "%d layers of %d units need %" G_GINT64_FORMAT " weights, more "
                   "than the limit of %" G_GINT64_FORMAT, p->depth, p->size,
                   n_weights, NP_CPPN_MAX_WEIGHTS);
      return FALSE;
    }
  if (p->n_z < 0 || p->n_z > NP_CPPN_MAX_Z)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "z must have between 0 and %d entries, not %d", NP_CPPN_MAX_Z, p->n_z);
      return FALSE;
    }
  for (int i = 0; i < p->n_z; i++)
    if (!check_number (p->z[i], "z", ANY, error))
      return FALSE;
  if (p->coords != NP_CPPN_COORDS_ORIGINAL && p->coords != NP_CPPN_COORDS_CENTERED)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "unknown coordinate system %d", (int) p->coords);
      return FALSE;
    }
  return check_number (p->zoom, "zoom", POSITIVE, error)
      && check_number (p->pan_x, "pan x", ANY, error)
      && check_number (p->pan_y, "pan y", ANY, error)
      && check_number (p->hidden_std, "hidden std", NON_NEGATIVE, error)
      && check_number (p->output_std, "output std", NON_NEGATIVE, error);
}

/* The hidden activations (a new array of depth), the list repeated over the
 * layers. Names beyond depth are still checked, so typos never pass. */
static NpCppnActivation *
parse_activations (const gchar *list, gint depth, GError **error)
{
  g_auto(GStrv) names = g_strsplit (list ? list : "", ",", -1);
  gint n = g_strv_length (names);
  g_autofree NpCppnActivation *out = g_new (NpCppnActivation, depth);

  if (n == 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT, "no activation given");
      return NULL;
    }
  for (int i = 0; i < MAX (n, depth); i++)
    {
      NpCppnActivation a;

      if (!np_cppn_activation_from_name (g_strstrip (names[i % n]), &a, error))
        return NULL;
      if (i < depth)
        out[i] = a;
    }
  return g_steal_pointer (&out);
}

NpCppn *
np_cppn_new (const NpCppnParams *params, GError **error)
{
  NpCppnColorMode   mode;
  g_autofree NpCppnActivation *hidden = NULL;
  NpCppn           *cppn;
  gsize             n_weights = 0;
  gfloat           *w;
  NpRng             rng;

  g_return_val_if_fail (params != NULL, NULL);

  if (!color_mode_from_name (params->color_mode, &mode, error)
      || !check_params (params, error))
    return NULL;
  hidden = parse_activations (params->activation, params->depth, error);
  if (hidden == NULL)
    return NULL;

  cppn = g_new0 (NpCppn, 1);
  cppn->params = *params;
  cppn->params.color_mode = NULL;
  cppn->params.activation = NULL;
  cppn->color_mode = mode;
  cppn->n_inputs = 2 + (params->radius ? 1 : 0) + params->n_z;
  cppn->n_outputs = color_modes[mode].n_out + (params->alpha ? 1 : 0);
  cppn->n_layers = params->depth + 1;
  cppn->widest = MAX (MAX (cppn->n_inputs, params->size), cppn->n_outputs);
  cppn->layers = g_new0 (NpCppnLayer, cppn->n_layers);

  for (int l = 0; l < cppn->n_layers; l++)
    {
      NpCppnLayer *layer = &cppn->layers[l];
      gboolean     last = l == cppn->n_layers - 1;

      layer->n_in = l == 0 ? cppn->n_inputs : params->size;
      layer->n_out = last ? cppn->n_outputs : params->size;
      layer->activation = last ? NP_CPPN_SIGMOID : hidden[l];
      n_weights += (gsize) layer->n_out * (layer->n_in + 1);
    }
  cppn->weights = w = g_new (gfloat, n_weights);

  /* The original's order: per layer, b then W (drawn as W[in][out]). */
  np_rng_init (&rng, params->seed);
  for (int l = 0; l < cppn->n_layers; l++)
    {
      NpCppnLayer *layer = &cppn->layers[l];
      gdouble      std = l == cppn->n_layers - 1 ? params->output_std : params->hidden_std;

      layer->b = w;
      w += layer->n_out;
      layer->W = w;
      w += (gsize) layer->n_out * layer->n_in;
      for (int o = 0; o < layer->n_out; o++)
        layer->b[o] = params->bias ? (gfloat) (std * np_rng_normal (&rng)) : 0.0f;
      for (int i = 0; i < layer->n_in; i++)
        for (int o = 0; o < layer->n_out; o++)
          layer->W[(gsize) o * layer->n_in + i] = (gfloat) (std * np_rng_normal (&rng));
    }
  return cppn;
}

void
np_cppn_free (NpCppn *cppn)
{
  if (cppn == NULL)
    return;
  g_free (cppn->weights);
  g_free (cppn->layers);
  g_free (cppn);
}

gint64
np_cppn_macs_per_pixel (const NpCppn *cppn)
{
  gint64 macs = 0;

  g_return_val_if_fail (cppn != NULL, 0);
  for (int l = 0; l < cppn->n_layers; l++)
    macs += (gint64) cppn->layers[l].n_in * cppn->layers[l].n_out;
  return macs;
}

/* TinyColor's hsvToRgb. */
void
np_cppn_hsv_to_rgb (gfloat h, gfloat s, gfloat v, gfloat rgb[3])
{
  gfloat h6 = h * 6.0f;
  gfloat i = floorf (h6);
  gfloat f = h6 - i;
  gfloat p = v * (1.0f - s);
  gfloat q = v * (1.0f - f * s);
  gfloat t = v * (1.0f - (1.0f - f) * s);
  int    sector = ((int) i % 6 + 6) % 6;
  const gfloat r[6] = { v, q, p, p, t, v };
  const gfloat g[6] = { t, v, v, q, p, p };
  const gfloat b[6] = { p, p, t, v, v, q };

  rgb[0] = r[sector];
  rgb[1] = g[sector];
  rgb[2] = b[sector];
}

static gfloat
hue_to_rgb (gfloat p, gfloat q, gfloat t)
{
  /* The hue wraps around: the original returned p (or nothing) here. */
  if (t < 0.0f)
    t += 1.0f;
  if (t > 1.0f)
    t -= 1.0f;
  if (t < 1.0f / 6)
    return p + (q - p) * 6.0f * t;
  if (t < 0.5f)
    return q;
  if (t < 2.0f / 3)
    return p + (q - p) * (2.0f / 3 - t) * 6.0f;
  return p;
}

void
np_cppn_hsl_to_rgb (gfloat h, gfloat s, gfloat l, gfloat rgb[3])
{
  gfloat q = l < 0.5f ? l * (1.0f + s) : l + s - l * s;
  gfloat p = 2.0f * l - q;

  rgb[0] = hue_to_rgb (p, q, h + 1.0f / 3);
  rgb[1] = hue_to_rgb (p, q, h);
  rgb[2] = hue_to_rgb (p, q, h - 1.0f / 3);
}

/* The network input of one pixel (column u, row v of the plane). */
static void
pixel_inputs (const NpCppn *cppn, gint u, gint v, gfloat *in, gsize step)
{
  const NpCppnParams *p = &cppn->params;
  gdouble x, y;
  gsize   k = 0;

  if (p->coords == NP_CPPN_COORDS_ORIGINAL)
    {
      gdouble factor = MIN (p->width, p->height);
      x = v / factor - 0.5;
      y = u / factor - 0.5;
    }
  else
    {
      gdouble scale = MIN (p->width, p->height) * p->zoom;
      x = (u + 0.5 - p->width / 2.0) / scale + p->pan_x;
      y = (v + 0.5 - p->height / 2.0) / scale + p->pan_y;
    }
  if (p->sym)
    {
      x = x * x;
      y = y * y;
    }
  in[k++ * step] = (gfloat) x;
  in[k++ * step] = (gfloat) y;
  if (p->radius)
    in[k++ * step] = (gfloat) sqrt (x * x + y * y);
  for (int i = 0; i < p->n_z; i++)
    {
      gdouble z = p->z[i];
      if (p->trig && i == 0)
        z = cos (z * x);
      else if (p->trig && i == 1)
        z = sin (z * y);
      in[k++ * step] = (gfloat) z;
    }
}

static inline gfloat
clamp01 (gfloat v)
{
  /* Written so NaN (an overflowing identity network) becomes 0. */
  return v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
}

/* Network outputs (channels by pixels) → one RGBA pixel. */
static void
output_color (const NpCppn *cppn, const gfloat *out, gsize step, gfloat *rgba)
{
  gfloat c[5];
  gint   n = color_modes[cppn->color_mode].n_out;

  for (int k = 0; k < cppn->n_outputs; k++)
    c[k] = clamp01 (out[k * step]);
  switch (cppn->color_mode)
    {
    case NP_CPPN_BW:
      rgba[0] = rgba[1] = rgba[2] = c[0];
      break;
    case NP_CPPN_RGB:
      memcpy (rgba, c, 3 * sizeof (gfloat));
      break;
    case NP_CPPN_CMYK:
      for (int k = 0; k < 3; k++)
        rgba[k] = (1.0f - c[k]) * c[3];
      break;
    case NP_CPPN_HSV:
      np_cppn_hsv_to_rgb (c[0], c[1], c[2], rgba);
      break;
    case NP_CPPN_HSL:
      np_cppn_hsl_to_rgb (c[0], c[1], c[2], rgba);
      break;
    case NP_CPPN_N_COLOR_MODES:
      g_assert_not_reached ();
    }
  rgba[3] = cppn->params.alpha ? 0.25f + 0.75f * (1.0f - fabsf (2.0f * c[n] - 1.0f)) : 1.0f;
}

typedef struct
{
  const NpCppn *cppn;
  gint          x0, y0, width;
  gsize         n_pixels;
  gfloat       *rgba;
  gsize         stride;
} NpCppnJob;

static void
render_blocks (gsize start, gsize end, guint part, gpointer data)
{
  const NpCppnJob *job = data;
  const NpCppn    *cppn = job->cppn;
  gsize            plane = (gsize) cppn->widest * NP_CPPN_BLOCK;
  g_autofree gfloat *scratch = g_new (gfloat, 2 * plane);

  for (gsize block = start; block < end; block++)
    {
      gsize   first = block * NP_CPPN_BLOCK;
      gsize   count = MIN (NP_CPPN_BLOCK, job->n_pixels - first);
      gfloat *in = scratch, *out = scratch + plane;
      /* Column and row of the block's first pixel, then stepped along: no
       * division per pixel. */
      gint    col0 = (gint) (first % job->width), row0 = (gint) (first / job->width);
      gint    col = col0, row = row0;

      /* A short last block is padded by repeating its last pixel: every pixel
       * runs through the same full-block code. */
      for (gsize p = 0; p < NP_CPPN_BLOCK; p++)
        {
          pixel_inputs (cppn, job->x0 + col, job->y0 + row, in + p, NP_CPPN_BLOCK);
          if (p + 1 < count && ++col == job->width)
            col = 0, row++;
        }
      for (int l = 0; l < cppn->n_layers; l++)
        {
          const NpCppnLayer *layer = &cppn->layers[l];
          gfloat *swap;

          np_cppn_layer (layer->W, layer->b, layer->n_in, layer->n_out,
                         layer->activation, in, out);
          swap = in, in = out, out = swap;
        }
      col = col0, row = row0;
      for (gsize p = 0; p < count; p++)
        {
          gfloat *px = (gfloat *) ((guint8 *) job->rgba + (gsize) row * job->stride) + 4 * col;

          output_color (cppn, in + p, NP_CPPN_BLOCK, px);
          if (++col == job->width)
            col = 0, row++;
        }
    }
}

void
np_cppn_render (const NpCppn *cppn, gint x0, gint y0, gint width, gint height,
                gfloat *rgba, gsize stride, gint n_threads)
{
  NpCppnJob job;
  gsize     n_blocks;

  g_return_if_fail (cppn != NULL && rgba != NULL);
  g_return_if_fail (width >= 0 && height >= 0);
  g_return_if_fail (stride >= (gsize) width * 4 * sizeof (gfloat));

  job = (NpCppnJob) { cppn, x0, y0, width, (gsize) width * height, rgba, stride };
  n_blocks = (job.n_pixels + NP_CPPN_BLOCK - 1) / NP_CPPN_BLOCK;
  /* 8 blocks (2048 pixels, ~10 ms at depth 10) per thread at least: below
   * that, starting a thread costs more than it saves. */
  np_parallel_for (n_blocks, 8, n_threads, render_blocks, &job);
}

static JsonNode *
double_array (const gdouble *v, gint n)
{
  JsonArray *array = json_array_sized_new (n);
  JsonNode  *node = json_node_new (JSON_NODE_ARRAY);

  for (int i = 0; i < n; i++)
    json_array_add_double_element (array, v[i]);
  json_node_take_array (node, array);
  return node;
}

static JsonNode *
float_array (const gfloat *v, gint n)
{
  g_autofree gdouble *d = g_new (gdouble, MAX (n, 1));

  for (int i = 0; i < n; i++)
    d[i] = v[i];
  return double_array (d, n);
}

gchar *
np_cppn_to_json (const NpCppn *cppn)
{
  const NpCppnParams *p;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (cppn != NULL, NULL);
  p = &cppn->params;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, "neuropaint-cppn");
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) p->seed);
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, p->width);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, p->height);
  json_builder_set_member_name (b, "color_mode");
  json_builder_add_string_value (b, color_modes[cppn->color_mode].name);
  json_builder_set_member_name (b, "alpha");
  json_builder_add_boolean_value (b, p->alpha);
  json_builder_set_member_name (b, "coords");
  json_builder_add_string_value (b, p->coords == NP_CPPN_COORDS_ORIGINAL ? "original" : "centered");
  json_builder_set_member_name (b, "zoom");
  json_builder_add_double_value (b, p->zoom);
  json_builder_set_member_name (b, "pan_x");
  json_builder_add_double_value (b, p->pan_x);
  json_builder_set_member_name (b, "pan_y");
  json_builder_add_double_value (b, p->pan_y);
  json_builder_set_member_name (b, "sym");
  json_builder_add_boolean_value (b, p->sym);
  json_builder_set_member_name (b, "trig");
  json_builder_add_boolean_value (b, p->trig);
  json_builder_set_member_name (b, "radius");
  json_builder_add_boolean_value (b, p->radius);
  json_builder_set_member_name (b, "z");
  json_builder_add_value (b, double_array (p->z, p->n_z));
  json_builder_set_member_name (b, "layers");
  json_builder_begin_array (b);
  for (int l = 0; l < cppn->n_layers; l++)
    {
      const NpCppnLayer *layer = &cppn->layers[l];

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "activation");
      json_builder_add_string_value (b, activation_names[layer->activation]);
      json_builder_set_member_name (b, "b");
      json_builder_add_value (b, float_array (layer->b, layer->n_out));
      json_builder_set_member_name (b, "W");
      json_builder_begin_array (b);
      for (int o = 0; o < layer->n_out; o++)
        json_builder_add_value (b, float_array (layer->W + (gsize) o * layer->n_in, layer->n_in));
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}
