/* neuropaint — what `neuropaint train` shows of a run: the history (CSV and
 * a plot, the seed's "train history") and sample grids, drawn with cairo and
 * written through NpOutput. */
#include "config.h"
#include "train-report.h"

#include <cairo.h>
#include <math.h>
#include <string.h>

/* ---- History ---------------------------------------------------------------- */

/* The columns; a history written before the colourfulness term has only
 * the first eight (OLD_COLUMNS), read as a run without it. */
#define OLD_COLUMNS "step,seconds,d_real,d_fake,g_gan,g_recon,val_l1,val_psnr"
#define COLUMNS OLD_COLUMNS ",g_colour,val_colourfulness"

struct _NpHistory
{
  GArray *rows;   /* CliHistoryRow */
};

CliHistory *
cli_history_new (void)
{
  CliHistory *h = g_new0 (CliHistory, 1);
  h->rows = g_array_new (FALSE, FALSE, sizeof (CliHistoryRow));
  return h;
}

void
cli_history_free (CliHistory *h)
{
  if (h == NULL)
    return;
  g_array_unref (h->rows);
  g_free (h);
}

void
cli_history_add (CliHistory *h, const CliHistoryRow *row)
{
  g_array_append_val (h->rows, *row);
}

gboolean
cli_history_load (CliHistory *h, const char *path, gint64 up_to_step, GError **error)
{
  g_autofree gchar *text = NULL;
  g_auto(GStrv) lines = NULL;
  guint         columns;

  if (!g_file_get_contents (path, &text, NULL, error))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  columns = lines[0] == NULL ? 0 : strcmp (lines[0], COLUMNS) == 0 ? 10 : strcmp (lines[0], OLD_COLUMNS) == 0 ? 8 : 0;
  if (columns == 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s: not a training history (" COLUMNS ")", path);
      return FALSE;
    }
  for (gint i = 1; lines[i] && *lines[i]; i++)
    {
      g_auto(GStrv) f = g_strsplit (lines[i], ",", -1);
      CliHistoryRow  row;

      if (g_strv_length (f) != columns)
        {
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s, line %d: not %u columns", path, i + 1, columns);
          return FALSE;
        }
      row.step = g_ascii_strtoll (f[0], NULL, 10);
      row.seconds = g_ascii_strtod (f[1], NULL);
      row.losses.d_real = g_ascii_strtod (f[2], NULL);
      row.losses.d_fake = g_ascii_strtod (f[3], NULL);
      row.losses.g_gan = g_ascii_strtod (f[4], NULL);
      row.losses.g_recon = g_ascii_strtod (f[5], NULL);
      row.val_l1 = *f[6] ? g_ascii_strtod (f[6], NULL) : NAN;
      row.val_psnr = *f[7] ? g_ascii_strtod (f[7], NULL) : NAN;
      row.losses.g_colour = columns > 8 ? g_ascii_strtod (f[8], NULL) : 0;
      row.val_colourfulness = columns > 8 && *f[9] ? g_ascii_strtod (f[9], NULL) : NAN;
      /* A run killed after its last checkpoint wrote steps it will redo. */
      if (row.step <= up_to_step)
        cli_history_add (h, &row);
    }
  return TRUE;
}

gboolean
cli_history_save (const CliHistory *h, const char *path, GError **error)
{
  g_autoptr(GString) s = g_string_new (COLUMNS "\n");

  for (guint i = 0; i < h->rows->len; i++)
    {
      const CliHistoryRow *r = &g_array_index (h->rows, CliHistoryRow, i);
      g_string_append_printf (s, "%" G_GINT64_FORMAT ",%.1f,%.6g,%.6g,%.6g,%.6g,", r->step, r->seconds,
                              r->losses.d_real, r->losses.d_fake, r->losses.g_gan, r->losses.g_recon);
      if (!isnan (r->val_psnr))
        g_string_append_printf (s, "%.4f,%.4f", r->val_l1, r->val_psnr);
      else
        g_string_append_c (s, ',');
      g_string_append_printf (s, ",%.6g,", r->losses.g_colour);
      if (!isnan (r->val_colourfulness))
        g_string_append_printf (s, "%.4f", r->val_colourfulness);
      g_string_append_c (s, '\n');
    }
  return np_output_set_contents (path, s->str, s->len, error);
}

const CliHistoryRow *
cli_history_last (const CliHistory *h)
{
  return h->rows->len ? &g_array_index (h->rows, CliHistoryRow, h->rows->len - 1) : NULL;
}

/* ---- PNG through NpOutput ------------------------------------------------------ */

static cairo_status_t
write_png_chunk (void *closure, const unsigned char *data, unsigned int length)
{
  return np_output_write (closure, data, length, NULL) ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static gboolean
save_surface (cairo_surface_t *surface, const char *path, GError **error)
{
  g_autoptr(NpOutput) out = np_output_new (path, error);

  if (out == NULL)
    return FALSE;
  if (cairo_surface_write_to_png_stream (surface, write_png_chunk, out) != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_IO, "%s: could not write the PNG", path);
      return FALSE;
    }
  return np_output_commit (out, error);
}

/* ---- The plot --------------------------------------------------------------- */

typedef struct
{
  double x0, x1, y0, y1;       /* data range */
  double left, top, w, h;      /* pixels */
} Axes;

static double ax_x (const Axes *a, double x) { return a->left + (x - a->x0) / (a->x1 - a->x0) * a->w; }
static double ax_y (const Axes *a, double y) { return a->top + a->h - (y - a->y0) / (a->y1 - a->y0) * a->h; }

static void
draw_frame (cairo_t *cr, const Axes *a, const char *title, const char *unit)
{
  char label[64];

  cairo_set_source_rgb (cr, 0.85, 0.85, 0.85);
  cairo_set_line_width (cr, 1);
  for (int i = 0; i <= 4; i++)
    {
      double y = a->y0 + (a->y1 - a->y0) * i / 4;
      cairo_move_to (cr, a->left, ax_y (a, y));
      cairo_line_to (cr, a->left + a->w, ax_y (a, y));
      cairo_stroke (cr);
      cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
      g_snprintf (label, sizeof label, "%.3g", y);
      cairo_move_to (cr, 4, ax_y (a, y) + 4);
      cairo_show_text (cr, label);
      cairo_set_source_rgb (cr, 0.85, 0.85, 0.85);
    }
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_rectangle (cr, a->left, a->top, a->w, a->h);
  cairo_stroke (cr);
  cairo_move_to (cr, a->left, a->top - 6);
  g_snprintf (label, sizeof label, "%s (%s)", title, unit);
  cairo_show_text (cr, label);
  g_snprintf (label, sizeof label, "step %.0f", a->x1);
  cairo_move_to (cr, a->left + a->w - 60, a->top + a->h + 14);
  cairo_show_text (cr, label);
}

/* A series over the rows, skipping NaN; dashed for baselines. */
static void
draw_series (cairo_t *cr, const Axes *a, const CliHistory *h, gsize offset, double r, double g, double b,
             const char *name, int legend)
{
  gboolean pen = FALSE;

  cairo_set_source_rgb (cr, r, g, b);
  cairo_set_line_width (cr, 1.5);
  for (guint i = 0; i < h->rows->len; i++)
    {
      const CliHistoryRow *row = &g_array_index (h->rows, CliHistoryRow, i);
      double v = *(const double *) ((const guint8 *) row + offset);
      if (isnan (v))
        continue;
      if (pen)
        cairo_line_to (cr, ax_x (a, row->step), ax_y (a, CLAMP (v, a->y0, a->y1)));
      else
        cairo_move_to (cr, ax_x (a, row->step), ax_y (a, CLAMP (v, a->y0, a->y1)));
      pen = TRUE;
    }
  cairo_stroke (cr);
  cairo_move_to (cr, a->left + 10 + 130 * legend, a->top + 14);
  cairo_show_text (cr, name);
}

static void
draw_level (cairo_t *cr, const Axes *a, double v, const char *name, int legend)
{
  static const double dash[] = { 6, 4 };

  if (isnan (v))
    return;
  cairo_set_source_rgb (cr, 0.4, 0.4, 0.4);
  cairo_set_dash (cr, dash, 2, 0);
  cairo_move_to (cr, a->left, ax_y (a, v));
  cairo_line_to (cr, a->left + a->w, ax_y (a, v));
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
  cairo_move_to (cr, a->left + 10 + 130 * legend, a->top + a->h - 8);
  cairo_show_text (cr, name);
}

static void
range (const CliHistory *h, gsize offset, double *lo, double *hi)
{
  for (guint i = 0; i < h->rows->len; i++)
    {
      const CliHistoryRow *row = &g_array_index (h->rows, CliHistoryRow, i);
      double v = *(const double *) ((const guint8 *) row + offset);
      if (!isnan (v) && isfinite (v))
        *lo = MIN (*lo, v), *hi = MAX (*hi, v);
    }
}

gboolean
cli_history_plot (const CliHistory *h, const CliBaselines *base, const char *path, GError **error)
{
  const int W = 900, H = 560;
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, W, H);
  cairo_t         *cr = cairo_create (surface);
  double  lo = INFINITY, hi = -INFINITY, plo = INFINITY, phi = -INFINITY;
  gint64  last = h->rows->len ? g_array_index (h->rows, CliHistoryRow, h->rows->len - 1).step : 1;
  Axes    losses, psnr;
  gboolean ok, gan = FALSE;

  for (guint i = 0; i < h->rows->len; i++)
    gan |= g_array_index (h->rows, CliHistoryRow, i).losses.d_real != 0;
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 12);

  range (h, G_STRUCT_OFFSET (CliHistoryRow, losses.g_recon), &lo, &hi);
  if (gan)
    {
      range (h, G_STRUCT_OFFSET (CliHistoryRow, losses.d_real), &lo, &hi);
      range (h, G_STRUCT_OFFSET (CliHistoryRow, losses.g_gan), &lo, &hi);
    }
  if (!(hi > lo))
    lo = 0, hi = 1;
  losses = (Axes) { 0, MAX (last, 1), MIN (lo, 0), hi * 1.05, 60, 30, W - 80, 210 };
  draw_frame (cr, &losses, "losses", "training batches");
  draw_series (cr, &losses, h, G_STRUCT_OFFSET (CliHistoryRow, losses.g_recon), 0.1, 0.3, 0.8, "G reconstruction", 0);
  if (gan)
    {
      draw_series (cr, &losses, h, G_STRUCT_OFFSET (CliHistoryRow, losses.g_gan), 0.8, 0.4, 0.1, "G adversarial", 1);
      draw_series (cr, &losses, h, G_STRUCT_OFFSET (CliHistoryRow, losses.d_real), 0.2, 0.6, 0.2, "D real", 2);
      draw_series (cr, &losses, h, G_STRUCT_OFFSET (CliHistoryRow, losses.d_fake), 0.6, 0.2, 0.6, "D fake", 3);
    }

  range (h, G_STRUCT_OFFSET (CliHistoryRow, val_psnr), &plo, &phi);
  for (int i = 0; i < 2; i++)
    if (!isnan (base->psnr[i]))
      plo = MIN (plo, base->psnr[i]), phi = MAX (phi, base->psnr[i]);
  if (!(phi > plo))
    plo = 0, phi = 40;
  psnr = (Axes) { 0, MAX (last, 1), floor (plo - 0.5), ceil (phi + 0.5), 60, 300, W - 80, 220 };
  draw_frame (cr, &psnr, "validation PSNR", "dB, higher is better");
  draw_series (cr, &psnr, h, G_STRUCT_OFFSET (CliHistoryRow, val_psnr), 0.8, 0.1, 0.1, "model", 0);
  for (int i = 0; i < 2; i++)
    {
      g_autofree gchar *label = g_strdup_printf ("baseline: %s", base->name[i]);
      draw_level (cr, &psnr, base->psnr[i], label, i);
    }

  cairo_destroy (cr);
  ok = save_surface (surface, path, error);
  cairo_surface_destroy (surface);
  return ok;
}

/* ---- Sample grids --------------------------------------------------------- */

gboolean
cli_grid_save (NpTensor *const *columns, gint n_columns, gint rows, const char *path, GError **error)
{
  gint64 w = columns[0]->ne[0], h = columns[0]->ne[1];
  const gint gap = 4;
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, (gint) (n_columns * (w + gap) - gap),
                                                         (gint) (rows * (h + gap) - gap));
  guint8  *data;
  gint     stride;
  gboolean ok;

  cairo_surface_flush (surface);
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  memset (data, 255, (gsize) stride * cairo_image_surface_get_height (surface));
  for (gint r = 0; r < rows; r++)
    for (gint c = 0; c < n_columns; c++)
      for (gint64 y = 0; y < h; y++)
        {
          guint32 *px = (guint32 *) (data + (gsize) (r * (h + gap) + y) * stride) + c * (w + gap);
          for (gint64 x = 0; x < w; x++)
            {
              guint32 v = 0;
              for (gint k = 0; k < 3; k++)
                v = v << 8 | (guint8) (CLAMP (*np_tensor_at (columns[c], x, y, k, r), 0.0f, 1.0f) * 255.0f + 0.5f);
              px[x] = v;
            }
        }
  cairo_surface_mark_dirty (surface);
  ok = save_surface (surface, path, error);
  cairo_surface_destroy (surface);
  return ok;
}
