/* neuropaint — the GIMP 2.10 plug-in: Filters ▸ Neuropaint (and Filters ▸
 * Render ▸ Neuropaint) run our GEGL ops on the active drawable; Image ▸
 * Neuropaint ▸ Crop Face and Super Resolution make a new image; Image ▸
 * Neuropaint ▸ Colorize Photo makes a Grayscale image RGB and colours it.
 *
 * GIMP 2.10 reads no gimp:menu-path key, so this registers one PDB procedure
 * per op that has one, where the key says, with the op's own label. Each
 * procedure takes the op's properties as typed arguments (as its GParamSpecs
 * declare them), then "properties": more in gegl chain syntax, applied after
 * them (other properties, further ops). Interactive runs get a dialog built
 * from the same GParamSpecs by one builder, with a preview; the last values
 * are remembered, across restarts too. No pixel maths here: the drawable's buffer goes through the
 * op into its shadow buffer, merged through the selection with undo. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <glib/gi18n-lib.h>
#include <gegl.h>
#include <gegl-paramspecs.h>

#include "np-gimp-op.h"

#define NP_PLUG_IN_BINARY "neuropaint-gimp"

/* What a registered procedure runs. */
typedef struct
{
  gchar       *procedure;
  const gchar *op;
  gchar       *label;
  const gchar *menu_path;
  const gchar *blurb;
  const NpGimpMenuEntry *menu;   /* NULL for a filter of the drawable */
} NpGimpEntry;

/* The op's arguments as this plug-in's procedures take them: without the
 * properties that list another's choices (the installed models), which
 * would shift a script's arguments; the model's own field offers them. */
static GParamSpec **
pdb_arguments (const gchar *op, guint *n_arguments)
{
  GParamSpec **pspecs = np_gimp_op_arguments (op, n_arguments);
  guint        kept = 0;

  for (guint i = 0; i < *n_arguments; i++)
    if (!np_gimp_is_choices (pspecs[i]))
      pspecs[kept++] = pspecs[i];
  *n_arguments = kept;
  return pspecs;
}

/* Every procedure this plug-in registers: a filter per op with menu keys,
 * then the new-image entries. Free with free_entries. */
static GArray *
list_entries (void)
{
  g_auto(GStrv) ops = np_gimp_filter_ops ();
  GArray       *entries = g_array_new (FALSE, FALSE, sizeof (NpGimpEntry));

  for (gchar **op = ops; *op; op++)
    {
      guint                  n = 0;
      g_autofree GParamSpec **pspecs = pdb_arguments (*op, &n);
      NpGimpEntry            entry = { np_gimp_procedure_name (*op), g_intern_string (*op),
                                       g_strdup (gegl_operation_get_key (*op, "gimp:menu-label")),
                                       gegl_operation_get_key (*op, "gimp:menu-path"),
                                       gegl_operation_get_key (*op, "description"), NULL };

      /* "..." promises a dialog; here an op without arguments has none
       * (GIMP 3 shows one for every filter, with its preview). */
      if (n == 0 && g_str_has_suffix (entry.label, "..."))
        entry.label[strlen (entry.label) - 3] = '\0';
      g_array_append_val (entries, entry);
    }
  for (gsize i = 0; i < np_gimp_n_menu_entries; i++)
    {
      const NpGimpMenuEntry *n = &np_gimp_menu_entries[i];
      NpGimpEntry           entry = { NULL, n->op, NULL, n->menu_path, _(n->blurb), n };

      if (!gegl_has_operation (n->op))
        continue;   /* its op is not installed */
      entry.procedure = g_strdup (n->procedure);
      entry.label = g_strdup (_(n->label));
      g_array_append_val (entries, entry);
    }
  return entries;
}

static void
free_entries (GArray *entries)
{
  for (guint i = 0; i < entries->len; i++)
    {
      g_free (g_array_index (entries, NpGimpEntry, i).procedure);
      g_free (g_array_index (entries, NpGimpEntry, i).label);
    }
  g_array_free (entries, TRUE);
}

static gboolean
makes_new_image (const NpGimpEntry *entry)
{
  return entry->menu && entry->menu->kind == NP_GIMP_INTO_NEW_IMAGE;
}

static gboolean
onto_rgb (const NpGimpEntry *entry)
{
  return entry->menu && entry->menu->kind == NP_GIMP_ONTO_RGB;
}

/* GIMP 2.10 keeps a plug-in's data (gimp_set_data) only while it runs: the
 * last values also go to a file of their own in GIMP's profile. */
static gchar *
last_values_path (const gchar *procedure)
{
  return g_build_filename (gimp_directory (), "neuropaint", "last-values", procedure, NULL);
}

/* The last values of procedure in chain syntax, this session's or else the
 * last session's; NULL if it never ran. */
static gchar *
load_last_values (const gchar *procedure)
{
  g_autofree gchar *path = last_values_path (procedure);
  gchar            *chain = NULL;

  if (gimp_get_data_size (procedure) > 0)
    {
      chain = g_malloc0 (gimp_get_data_size (procedure) + 1);
      gimp_get_data (procedure, chain);
    }
  else if (!g_file_get_contents (path, &chain, NULL, NULL))
    chain = NULL;
  return chain;
}

/* Values that cannot be kept are worth a message, not a failed filter. */
static void
save_last_values (const gchar *procedure, const gchar *chain)
{
  g_autofree gchar *path = last_values_path (procedure);
  g_autofree gchar *folder = g_path_get_dirname (path);
  GError           *error = NULL;

  gimp_set_data (procedure, chain, strlen (chain) + 1);
  if (g_mkdir_with_parents (folder, 0700) != 0)
    g_message (_("Cannot make %s to remember the values: %s"), folder, g_strerror (errno));
  else if (!g_file_set_contents (path, chain, -1, &error))
    {
      g_message (_("Cannot remember the values: %s"), error->message);
      g_error_free (error);
    }
}

/* A filter of the drawable whose op has an aux pad takes a drawable for it
 * (an argument after "properties", and a layer in the dialog). */
static gboolean
takes_aux (const NpGimpEntry *entry)
{
  return entry->menu == NULL && np_gimp_op_takes_aux (entry->op);
}

/* The PDB type and description of an op property; a model's lists the
 * installed models it can name. */
static GimpParamDef
argument_def (const gchar *op, GParamSpec *pspec)
{
  GParamSpec  *choices = np_gimp_choices_of (op, pspec);
  GimpParamDef def = { GIMP_PDB_INT32, (gchar *) pspec->name, NULL };

  if (G_IS_PARAM_SPEC_DOUBLE (pspec))
    def.type = GIMP_PDB_FLOAT;
  else if (G_IS_PARAM_SPEC_STRING (pspec))
    def.type = GIMP_PDB_STRING;

  if (G_IS_PARAM_SPEC_ENUM (pspec))
    {
      GEnumClass *enums = G_PARAM_SPEC_ENUM (pspec)->enum_class;
      GString    *text = g_string_new (g_param_spec_get_blurb (pspec));

      g_string_append (text, " {");
      for (guint i = 0; i < enums->n_values; i++)
        g_string_append_printf (text, "%s %s (%d)", i ? "," : "", enums->values[i].value_nick,
                                enums->values[i].value);
      g_string_append (text, " }");
      def.description = g_string_free (text, FALSE);
    }
  else if (choices)
    {
      GEnumClass *enums = G_PARAM_SPEC_ENUM (choices)->enum_class;
      GString    *text = g_string_new (g_param_spec_get_blurb (pspec));

      g_string_append (text, enums->n_values > 1 ? " (installed:" : " (none installed");
      for (guint i = 1; i < enums->n_values; i++)
        g_string_append_printf (text, "%s %s", i > 1 ? "," : "", enums->values[i].value_nick);
      g_string_append (text, ")");
      def.description = g_string_free (text, FALSE);
    }
  else
    def.description = g_strdup (g_param_spec_get_blurb (pspec));
  return def;
}

static void
query (void)
{
  static const GimpParamDef leading[] = {
    { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }" },
    { GIMP_PDB_IMAGE, "image", "Input image" },
    { GIMP_PDB_DRAWABLE, "drawable", "Input drawable" },
  };
  static const GimpParamDef trailing = {
    GIMP_PDB_STRING, "properties",
    "More op properties or further ops in gegl chain syntax, applied after the arguments "
    "above, e.g. \"threshold=150\" (may be empty)"
  };
  static const GimpParamDef new_image = { GIMP_PDB_IMAGE, "new-image", "The new image" };
  static const GimpParamDef aux = {
    GIMP_PDB_DRAWABLE, "aux",
    "The op's aux input, a drawable of the drawable's size (Colorize: colour hints, a layer whose "
    "opaque dots ask for their colour; the model must take hints), or -1 for none"
  };
  GArray *entries;

  gegl_init (NULL, NULL);
  entries = list_entries ();
  for (guint e = 0; e < entries->len; e++)
    {
      const NpGimpEntry      *entry = &g_array_index (entries, NpGimpEntry, e);
      guint                   n = 0;
      g_autofree GParamSpec **pspecs = pdb_arguments (entry->op, &n);
      g_autoptr(GArray)       args = g_array_new (FALSE, FALSE, sizeof (GimpParamDef));

      g_array_append_vals (args, leading, G_N_ELEMENTS (leading));
      for (guint i = 0; i < n; i++)
        {
          GimpParamDef def = argument_def (entry->op, pspecs[i]);
          g_array_append_val (args, def);
        }
      g_array_append_val (args, trailing);
      if (takes_aux (entry))
        g_array_append_val (args, aux);

      gimp_install_procedure (entry->procedure, entry->blurb, entry->blurb,
                              "neuropaint developers", "LGPL-3.0-or-later", "2026",
                              entry->label, "RGB*, GRAY*", GIMP_PLUGIN,
                              args->len, makes_new_image (entry) ? 1 : 0,
                              (GimpParamDef *) args->data, makes_new_image (entry) ? &new_image : NULL);
      gimp_plugin_menu_register (entry->procedure, entry->menu_path);

      for (guint i = G_N_ELEMENTS (leading); i < G_N_ELEMENTS (leading) + n; i++)
        g_free (g_array_index (args, GimpParamDef, i).description);
    }
  free_entries (entries);
  gegl_exit ();
}

/* Sets the op property pspec of config from a typed PDB argument; FALSE if
 * the value is out of the property's range. */
static gboolean
set_argument (GObject *config, GParamSpec *pspec, const GimpParam *param, GError **error)
{
  g_auto(GValue) value = G_VALUE_INIT;

  g_value_init (&value, pspec->value_type);
  if (G_IS_PARAM_SPEC_DOUBLE (pspec))
    g_value_set_double (&value, param->data.d_float);
  else if (G_IS_PARAM_SPEC_STRING (pspec))
    g_value_set_string (&value, param->data.d_string ? param->data.d_string : "");
  else if (G_IS_PARAM_SPEC_BOOLEAN (pspec))
    g_value_set_boolean (&value, param->data.d_int32 != 0);
  else if (G_IS_PARAM_SPEC_ENUM (pspec))
    g_value_set_enum (&value, param->data.d_int32);
  else if (G_IS_PARAM_SPEC_UINT (pspec))
    g_value_set_uint (&value, param->data.d_int32);
  else
    g_value_set_int (&value, param->data.d_int32);

  /* validate changes a value it had to clamp (or an unknown enum value). */
  if (g_param_value_validate (pspec, &value))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "argument %s is out of its range", pspec->name);
      return FALSE;
    }
  g_object_set_property (config, pspec->name, &value);
  return TRUE;
}

/* The dialog: one row per property, bound to the op instance itself. */
typedef struct
{
  const gchar *op;
  GObject     *config;
  GeglBuffer  *buffer;       /* the drawable's, for the preview */
  gint32       aux;          /* the aux input's drawable, or -1 */
  GeglRectangle size;
  GtkWidget   *preview;
  GtkWidget   *message;      /* why the preview is empty */
  GPtrArray   *rows;         /* NpDialogRow */
} NpDialog;

typedef struct
{
  GParamSpec *pspec;
  GList      *widgets;
} NpDialogRow;

static void
free_row (NpDialogRow *row)
{
  g_list_free (row->widgets);
  g_free (row);
}

static void
preview_update (GimpPreview *preview, NpDialog *d)
{
  g_autofree gchar    *chain = np_gimp_chain_from_object (d->op, d->config);
  g_autoptr(GeglBuffer) out = NULL;
  g_autoptr(GeglBuffer) aux = d->aux > 0 ? gimp_drawable_get_buffer (d->aux) : NULL;
  g_autofree guchar   *pixels = NULL;
  GError              *error = NULL;
  GeglRectangle        rect;

  gimp_preview_get_position (preview, &rect.x, &rect.y);
  gimp_preview_get_size (preview, &rect.width, &rect.height);
  out = gegl_buffer_new (&rect, babl_format ("R'G'B'A u8"));
  if (!np_gimp_run (d->op, chain, np_gimp_op_is_source (d->op) ? NULL : d->buffer, aux, &d->size,
                    out, &rect, NULL, NULL, &error))
    {
      gtk_label_set_text (GTK_LABEL (d->message), error->message);
      g_error_free (error);
      return;
    }
  gtk_label_set_text (GTK_LABEL (d->message), "");
  pixels = g_malloc ((gsize) rect.width * rect.height * 4);
  gegl_buffer_get (out, &rect, 1.0, babl_format ("R'G'B'A u8"), pixels,
                   GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  gimp_preview_area_draw (GIMP_PREVIEW_AREA (gimp_preview_get_area (preview)),
                          0, 0, rect.width, rect.height, GIMP_RGBA_IMAGE, pixels, rect.width * 4);
}

/* A property changed: sensitivity expressions and the preview follow. */
static void
config_changed (GObject *config, GParamSpec *changed, NpDialog *d)
{
  for (guint i = 0; i < d->rows->len; i++)
    {
      NpDialogRow *row = g_ptr_array_index (d->rows, i);
      gboolean     sensitive = np_gimp_sensitive (config, row->pspec);

      for (GList *w = row->widgets; w; w = w->next)
        gtk_widget_set_sensitive (w->data, sensitive);
    }
  if (d->preview)
    gimp_preview_invalidate (GIMP_PREVIEW (d->preview));
}

static void
model_typed (GtkEntry *entry, GObject *config)
{
  g_object_set (config, g_object_get_data (G_OBJECT (entry), "np-property"), gtk_entry_get_text (entry), NULL);
}

static void
model_file_set (GtkFileChooser *chooser, GtkEntry *entry)
{
  g_autofree gchar *path = gtk_file_chooser_get_filename (chooser);

  if (path)
    gtk_entry_set_text (entry, path);
}

/* A model's field: a combo of the installed models that suit the op (the
 * values of choices but the first, "the one named"), whose entry takes any
 * other name or file, and a file chooser for a file. */
static GtkWidget *
model_field_new (GObject *config, GParamSpec *pspec, GParamSpec *choices, GList **widgets)
{
  GEnumClass       *enums = G_PARAM_SPEC_ENUM (choices)->enum_class;
  GtkWidget        *box = gtk_hbox_new (FALSE, 6);
  GtkWidget        *combo = gtk_combo_box_text_new_with_entry ();
  GtkWidget        *entry = gtk_bin_get_child (GTK_BIN (combo));
  GtkWidget        *chooser = gtk_file_chooser_button_new (_("Model file"), GTK_FILE_CHOOSER_ACTION_OPEN);
  GtkFileFilter    *models = gtk_file_filter_new ();
  g_autofree gchar *value = NULL;

  for (guint i = 1; i < enums->n_values; i++)
    gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (combo), enums->values[i].value_nick);
  g_object_get (config, pspec->name, &value, NULL);
  gtk_entry_set_text (GTK_ENTRY (entry), value ? value : "");
  g_object_set_data (G_OBJECT (entry), "np-property", (gpointer) pspec->name);
  g_signal_connect (entry, "changed", G_CALLBACK (model_typed), config);

  gtk_file_filter_set_name (models, _("Models (*.safetensors)"));
  gtk_file_filter_add_pattern (models, "*.safetensors");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), models);
  gtk_file_chooser_button_set_width_chars (GTK_FILE_CHOOSER_BUTTON (chooser), 12);
  gimp_help_set_help_data (chooser, _("Another model file"), NULL);
  g_signal_connect (chooser, "file-set", G_CALLBACK (model_file_set), entry);

  gtk_box_pack_start (GTK_BOX (box), combo, TRUE, TRUE, 0);
  gtk_box_pack_start (GTK_BOX (box), chooser, FALSE, FALSE, 0);
  *widgets = g_list_prepend (g_list_prepend (*widgets, combo), chooser);
  return box;
}

static void
file_set (GtkFileChooser *chooser, GObject *config)
{
  g_autofree gchar *path = gtk_file_chooser_get_filename (chooser);

  g_object_set (config, g_object_get_data (G_OBJECT (chooser), "np-property"),
                path ? path : "", NULL);
}

/* A widget for pspec in row `row` of table: a scale with its entry over the
 * ui range for numbers, a combo for enums, a toggle for booleans, a file
 * chooser for file paths, a model's field for a text with choices (the
 * installed models), an entry for other text. */
static NpDialogRow *
add_row (GtkTable *table, gint row, GObject *config, GParamSpec *pspec, GParamSpec *choices)
{
  NpDialogRow *r = g_new0 (NpDialogRow, 1);
  const gchar *label = g_param_spec_get_nick (pspec);
  GtkWidget   *widget = NULL;
  gdouble      lower, upper;

  r->pspec = pspec;
  if (G_IS_PARAM_SPEC_BOOLEAN (pspec))
    widget = gimp_prop_check_button_new (config, pspec->name, label);
  else if (!G_IS_PARAM_SPEC_ENUM (pspec) && np_gimp_ui_range (pspec, &lower, &upper))
    {
      gboolean    real = G_IS_PARAM_SPEC_DOUBLE (pspec);
      gdouble     small = real ? GEGL_PARAM_SPEC_DOUBLE (pspec)->ui_step_small : 1.0;
      gdouble     big = real ? GEGL_PARAM_SPEC_DOUBLE (pspec)->ui_step_big : 10.0;
      gint        digits = real ? GEGL_PARAM_SPEC_DOUBLE (pspec)->ui_digits : 0;
      GtkObject  *adj;

      if (GEGL_IS_PARAM_SPEC_INT (pspec))
        small = GEGL_PARAM_SPEC_INT (pspec)->ui_step_small, big = GEGL_PARAM_SPEC_INT (pspec)->ui_step_big;
      adj = gimp_prop_scale_entry_new (config, pspec->name, table, 0, row, label,
                                       small, big, digits, TRUE, lower, upper);
      gtk_widget_set_size_request (GIMP_SCALE_ENTRY_SCALE (adj), 200, -1);
      gimp_help_set_help_data (GIMP_SCALE_ENTRY_SCALE (adj), g_param_spec_get_blurb (pspec), NULL);
      r->widgets = g_list_prepend (r->widgets, GIMP_SCALE_ENTRY_LABEL (adj));
      r->widgets = g_list_prepend (r->widgets, GIMP_SCALE_ENTRY_SCALE (adj));
      r->widgets = g_list_prepend (r->widgets, GIMP_SCALE_ENTRY_SPINBUTTON (adj));
      return r;
    }
  else if (G_IS_PARAM_SPEC_ENUM (pspec))
    widget = gimp_prop_enum_combo_box_new (config, pspec->name, 0, 0);
  else if (GEGL_IS_PARAM_SPEC_FILE_PATH (pspec))
    {
      g_autofree gchar *path = NULL;

      widget = gtk_file_chooser_button_new (label, GTK_FILE_CHOOSER_ACTION_OPEN);
      gtk_file_chooser_button_set_width_chars (GTK_FILE_CHOOSER_BUTTON (widget), 28);
      g_object_get (config, pspec->name, &path, NULL);
      if (path && *path)
        gtk_file_chooser_set_filename (GTK_FILE_CHOOSER (widget), path);
      g_object_set_data (G_OBJECT (widget), "np-property", (gpointer) pspec->name);
      g_signal_connect (widget, "file-set", G_CALLBACK (file_set), config);
    }
  else if (choices)
    widget = model_field_new (config, pspec, choices, &r->widgets);
  else
    widget = gimp_prop_entry_new (config, pspec->name, -1);

  gimp_help_set_help_data (widget, g_param_spec_get_blurb (pspec), NULL);
  if (G_IS_PARAM_SPEC_BOOLEAN (pspec))
    gtk_table_attach (table, widget, 0, 3, row, row + 1, GTK_FILL, GTK_FILL, 0, 0);
  else
    {
      GtkWidget *l = gimp_table_attach_aligned (table, 0, row, label, 0.0, 0.5, widget, 2, FALSE);
      r->widgets = g_list_prepend (r->widgets, l);
    }
  r->widgets = g_list_prepend (r->widgets, widget);
  return r;
}

/* The layers an aux input may be: another of the drawable's size. */
static gboolean
aux_fits (gint32 image, gint32 item, gpointer drawable)
{
  gint32 d = GPOINTER_TO_INT (drawable);

  return item != d && gimp_drawable_width (item) == gimp_drawable_width (d)
         && gimp_drawable_height (item) == gimp_drawable_height (d);
}

static void
aux_changed (GtkWidget *combo, NpDialog *d)
{
  gimp_int_combo_box_get_active (GIMP_INT_COMBO_BOX (combo), &d->aux);
  if (d->preview)
    gimp_preview_invalidate (GIMP_PREVIEW (d->preview));
}

/* Shows the dialog for entry; TRUE if the user chose OK. *aux: the aux
 * input's drawable (-1: none), for an entry that takes one. */
static gboolean
run_dialog (const NpGimpEntry *entry, GObject *config, gint32 drawable, gint32 *aux)
{
  guint                  n = 0;
  g_autofree GParamSpec **pspecs = pdb_arguments (entry->op, &n);
  g_autofree gchar      *title = g_strdup (entry->label);
  g_autoptr(GeglBuffer)  buffer = gimp_drawable_get_buffer (drawable);
  NpDialog               d = { entry->op, config, buffer, -1,
                               { 0, 0, gimp_drawable_width (drawable), gimp_drawable_height (drawable) } };
  GtkWidget             *dialog, *vbox, *table;
  gulong                 handler;
  gboolean               ok;

  if (g_str_has_suffix (title, "..."))
    title[strlen (title) - 3] = '\0';
  gimp_ui_init (NP_PLUG_IN_BINARY, FALSE);
  dialog = gimp_dialog_new (title, NP_PLUG_IN_BINARY, NULL, 0,
                            gimp_standard_help_func, entry->procedure,
                            _("_Cancel"), GTK_RESPONSE_CANCEL,
                            _("_OK"), GTK_RESPONSE_OK,
                            NULL);
  gimp_window_set_transient (GTK_WINDOW (dialog));
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_OK);

  vbox = gtk_vbox_new (FALSE, 12);
  gtk_container_set_border_width (GTK_CONTAINER (vbox), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))), vbox, TRUE, TRUE, 0);

  /* A new image is not the drawable: nothing to preview in place. */
  if (!makes_new_image (entry))
    {
      d.preview = gimp_drawable_preview_new_from_drawable_id (drawable);
      gtk_box_pack_start (GTK_BOX (vbox), d.preview, TRUE, TRUE, 0);
      g_signal_connect (d.preview, "invalidated", G_CALLBACK (preview_update), &d);
    }

  table = gtk_table_new (MAX (n + takes_aux (entry), 1), 3, FALSE);
  gtk_table_set_col_spacings (GTK_TABLE (table), 6);
  gtk_table_set_row_spacings (GTK_TABLE (table), 4);
  gtk_box_pack_start (GTK_BOX (vbox), table, FALSE, FALSE, 0);
  d.rows = g_ptr_array_new_with_free_func ((GDestroyNotify) free_row);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (d.rows, add_row (GTK_TABLE (table), i, config, pspecs[i],
                                      np_gimp_choices_of (entry->op, pspecs[i])));
  if (takes_aux (entry))
    {
      GtkWidget *combo = gimp_layer_combo_box_new (aux_fits, GINT_TO_POINTER (drawable));

      gimp_int_combo_box_prepend (GIMP_INT_COMBO_BOX (combo), GIMP_INT_STORE_VALUE, -1,
                                  GIMP_INT_STORE_LABEL, _("None"), -1);
      gimp_int_combo_box_set_active (GIMP_INT_COMBO_BOX (combo), -1);
      g_signal_connect (combo, "changed", G_CALLBACK (aux_changed), &d);
      gimp_help_set_help_data (combo, _("Colorize: a transparent layer of this one's size with dots "
                                        "painted where you want their colour (the model must take hints)"),
                               NULL);
      gimp_table_attach_aligned (GTK_TABLE (table), 0, n, _("Aux input (hints)"), 0.0, 0.5, combo, 2, FALSE);
    }

  d.message = gtk_label_new (NULL);
  gtk_label_set_line_wrap (GTK_LABEL (d.message), TRUE);
  gtk_box_pack_start (GTK_BOX (vbox), d.message, FALSE, FALSE, 0);

  handler = g_signal_connect (config, "notify", G_CALLBACK (config_changed), &d);
  config_changed (config, NULL, &d);
  gtk_widget_show_all (dialog);
  ok = gimp_dialog_run (GIMP_DIALOG (dialog)) == GTK_RESPONSE_OK;
  g_signal_handler_disconnect (config, handler);
  gtk_widget_destroy (dialog);
  g_ptr_array_unref (d.rows);
  *aux = d.aux;
  return ok;
}

static void
show_progress (gdouble fraction, gpointer data)
{
  gimp_progress_update (fraction);
}

/* Runs "op chain" on drawable in place (aux, unless -1, into the op's aux
 * pad): through the selection, with undo. */
static gboolean
apply_to_drawable (const NpGimpEntry *entry, const gchar *chain, gint32 drawable, gint32 aux,
                   GError **error)
{
  GeglRectangle size = { 0, 0, gimp_drawable_width (drawable), gimp_drawable_height (drawable) };
  GeglRectangle roi;
  GeglBuffer   *buffer, *shadow;
  g_autoptr(GeglBuffer) aux_buffer = aux > 0 ? gimp_drawable_get_buffer (aux) : NULL;
  gboolean      ok;

  if (!gimp_drawable_mask_intersect (drawable, &roi.x, &roi.y, &roi.width, &roi.height))
    return TRUE;   /* the selection misses this drawable */
  buffer = gimp_drawable_get_buffer (drawable);
  shadow = gimp_drawable_get_shadow_buffer (drawable);
  ok = np_gimp_run (entry->op, chain, np_gimp_op_is_source (entry->op) ? NULL : buffer, aux_buffer, &size,
                    shadow, &roi, show_progress, NULL, error);
  g_object_unref (shadow);
  g_object_unref (buffer);
  if (ok)
    {
      gimp_drawable_merge_shadow (drawable, TRUE);
      gimp_drawable_update (drawable, roi.x, roi.y, roi.width, roi.height);
    }
  return ok;
}

/* Runs "op chain" on drawable into a new image of the op's extent. */
static gint32
apply_to_new_image (const NpGimpEntry *entry, const gchar *chain, gint32 drawable, GError **error)
{
  g_autoptr(GeglBuffer) buffer = gimp_drawable_get_buffer (drawable);
  g_autoptr(GeglBuffer) out = NULL;
  g_autofree gchar     *shifted = NULL;
  GeglRectangle         extent;
  gint32                image, layer;

  if (!np_gimp_extent (entry->op, chain, buffer, &extent, error))
    return -1;
  image = gimp_image_new (extent.width, extent.height,
                          gimp_drawable_is_gray (drawable) ? GIMP_GRAY : GIMP_RGB);
  gimp_image_undo_disable (image);
  layer = gimp_layer_new (image, gimp_item_get_name (drawable), extent.width, extent.height,
                          gimp_drawable_is_gray (drawable) ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE,
                          100.0, GIMP_LAYER_MODE_NORMAL);
  gimp_image_insert_layer (image, layer, -1, 0);
  out = gimp_drawable_get_buffer (layer);
  /* The layer starts at 0, 0 wherever the op puts its output. */
  shifted = g_strdup_printf ("%s gegl:translate x=%d y=%d", chain, -extent.x, -extent.y);
  extent.x = extent.y = 0;
  if (!np_gimp_run (entry->op, shifted, buffer, NULL, NULL, out, &extent, show_progress, NULL, error))
    {
      gimp_image_delete (image);
      return -1;
    }
  g_clear_object (&out);
  gimp_drawable_update (layer, 0, 0, extent.width, extent.height);
  gimp_image_undo_enable (image);
  return image;
}

/* Runs "op chain" on drawable, then makes its image RGB if it is not and
 * puts the result in the layer through the selection, in one undo step.
 * Rendered first, so a failure leaves the image as it was. */
static gboolean
apply_onto_rgb (const NpGimpEntry *entry, const gchar *chain, gint32 drawable, GError **error)
{
  gint32                image = gimp_item_get_image (drawable);
  GeglRectangle         size = { 0, 0, gimp_drawable_width (drawable), gimp_drawable_height (drawable) };
  g_autoptr(GeglBuffer) buffer = gimp_drawable_get_buffer (drawable);
  g_autoptr(GeglBuffer) result = gegl_buffer_new (&size, babl_format ("R'G'B'A float"));
  GeglBuffer           *shadow;

  if (!np_gimp_run (entry->op, chain, buffer, NULL, &size, result, &size, show_progress, NULL, error))
    return FALSE;
  g_clear_object (&buffer);
  gimp_image_undo_group_start (image);
  if (gimp_image_base_type (image) != GIMP_RGB)
    gimp_image_convert_rgb (image);
  shadow = gimp_drawable_get_shadow_buffer (drawable);
  gegl_buffer_copy (result, NULL, GEGL_ABYSS_NONE, shadow, NULL);
  g_object_unref (shadow);
  gimp_drawable_merge_shadow (drawable, TRUE);
  gimp_drawable_update (drawable, 0, 0, size.width, size.height);
  gimp_image_undo_group_end (image);
  return TRUE;
}

static void
run (const gchar      *name,
     gint              n_params,
     const GimpParam  *param,
     gint             *n_return_vals,
     GimpParam       **return_vals)
{
  static GimpParam       values[2];
  GArray                *entries;
  const NpGimpEntry     *entry = NULL;
  GimpRunMode            run_mode = param[0].data.d_int32;
  gint32                 drawable = param[2].data.d_drawable;
  g_autoptr(GeglNode)    graph = NULL;
  g_autofree GParamSpec **pspecs = NULL;
  g_autofree gchar      *remembered = NULL, *remembered_by = NULL, *chain = NULL;
  GeglNode              *node = NULL;
  GObject               *config;
  GError                *error = NULL;
  const gchar           *extra = "";
  guint                  n = 0;
  gint32                 image = -1, aux = -1;

  *n_return_vals = 1;
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;
  values[0].data.d_status = GIMP_PDB_SUCCESS;

  gegl_init (NULL, NULL);
  entries = list_entries ();
  for (guint e = 0; e < entries->len; e++)
    if (g_str_equal (g_array_index (entries, NpGimpEntry, e).procedure, name))
      entry = &g_array_index (entries, NpGimpEntry, e);
  if (entry == NULL || n_params < 3)
    {
      values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
      goto out;
    }

  /* A filter that makes colour would give gray in a Grayscale image. */
  if (!entry->menu && np_gimp_op_makes_colour (entry->op) && gimp_drawable_is_gray (drawable))
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("this image is in Grayscale mode, which keeps no colour: use Image ▸ Neuropaint ▸ "
                     "Colorize Photo, or Image ▸ Mode ▸ RGB first"));
      goto fail;
    }

  /* The op instance is the config: it holds the properties with their
   * defaults, the remembered values on top. A remembered chain the op no
   * longer accepts (an older version's) is dropped. Onto-RGB entries, one
   * click with no dialog, take the values last chosen in the op's filter. */
  graph = gegl_node_new ();
  pspecs = pdb_arguments (entry->op, &n);
  if (onto_rgb (entry))
    remembered_by = np_gimp_procedure_name (entry->op);
  else
    remembered_by = g_strdup (name);
  if (run_mode != GIMP_RUN_NONINTERACTIVE && (remembered = load_last_values (remembered_by)))
    node = np_gimp_op_node (graph, entry->op, remembered, NULL);
  if (node == NULL && !(node = np_gimp_op_node (graph, entry->op, NULL, &error)))
    goto fail;
  config = G_OBJECT (gegl_node_get_gegl_operation (node));

  if (run_mode == GIMP_RUN_NONINTERACTIVE)
    {
      if ((guint) n_params != 3 + n + 1 + takes_aux (entry))
        {
          values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
          goto out;
        }
      for (guint i = 0; i < n; i++)
        if (!set_argument (config, pspecs[i], &param[3 + i], &error))
          goto fail;
      extra = param[3 + n].data.d_string ? param[3 + n].data.d_string : "";
      if (takes_aux (entry))
        aux = param[3 + n + 1].data.d_drawable;
    }
  else if (run_mode == GIMP_RUN_INTERACTIVE && n > 0 && !onto_rgb (entry)
           && !run_dialog (entry, config, drawable, &aux))
    {
      values[0].data.d_status = GIMP_PDB_CANCEL;
      goto out;
    }

  g_free (remembered);
  remembered = np_gimp_chain_from_object (entry->op, config);
  chain = g_strdup_printf ("%s %s", remembered, extra);
  gimp_progress_init (entry->label);
  if (makes_new_image (entry))
    image = apply_to_new_image (entry, chain, drawable, &error);
  else if (onto_rgb (entry))
    apply_onto_rgb (entry, chain, drawable, &error);
  else
    apply_to_drawable (entry, chain, drawable, aux, &error);
  if (error)
    goto fail;

  if (run_mode != GIMP_RUN_NONINTERACTIVE && !onto_rgb (entry))
    save_last_values (name, remembered);
  if (makes_new_image (entry))
    {
      *n_return_vals = 2;
      values[1].type = GIMP_PDB_IMAGE;
      values[1].data.d_image = image;
      if (run_mode != GIMP_RUN_NONINTERACTIVE)
        gimp_display_new (image);
    }
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();
  goto out;

fail:
  *n_return_vals = 2;
  values[0].data.d_status = GIMP_PDB_EXECUTION_ERROR;
  values[1].type = GIMP_PDB_STRING;
  values[1].data.d_string = g_strdup_printf ("%s: %s", name, error->message);
  g_error_free (error);
out:
  g_clear_object (&graph);
  free_entries (entries);
  gegl_exit ();
}

const GimpPlugInInfo PLUG_IN_INFO = { NULL, NULL, query, run };

MAIN ()
