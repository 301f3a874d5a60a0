/* neuropaint — the GIMP 3 plug-in: what a GEGL filter cannot do.
 *
 * GIMP 3 itself lists our ops as non-destructive filters, with preview and a
 * generated dialog, from their gimp:menu-path and gimp:menu-label keys. This
 * plug-in adds what needs more than a layer filter:
 *   - Image ▸ Neuropaint ▸ Crop Face and Super Resolution (the
 *     NP_GIMP_INTO_NEW_IMAGE rows of np_gimp_menu_entries): the op's result
 *     as a new image, with the op's properties as arguments;
 *   - Image ▸ Neuropaint ▸ Colorize Photo (the NP_GIMP_ONTO_RGB rows): a
 *     Grayscale image made RGB, undoably, and the op added to the layer as a
 *     filter the user can still edit;
 *   - File ▸ Neuropaint ▸ Batch: a filter with its properties over every
 *     image in a folder, each result exported as PNG into another.
 * Arguments and dialogs come from the ops' GParamSpecs (GimpProcedureConfig,
 * GimpProcedureDialog); no pixel maths here: GEGL runs the op
 * (np-gimp-op.c). */
#include "config.h"

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <glib/gi18n-lib.h>
#include <gegl.h>
#include <gegl-paramspecs.h>

#include "np-gimp-op.h"

#define NP_PLUG_IN_BINARY "neuropaint-gimp"
#define NP_BATCH          "plug-in-neuropaint-batch"

typedef struct _NpGimp      NpGimp;
typedef struct _NpGimpClass NpGimpClass;

struct _NpGimp
{
  GimpPlugIn parent_instance;
};

struct _NpGimpClass
{
  GimpPlugInClass parent_class;
};

#define NP_TYPE_GIMP (np_gimp_get_type ())
GType np_gimp_get_type (void) G_GNUC_CONST;
G_DEFINE_TYPE (NpGimp, np_gimp, GIMP_TYPE_PLUG_IN)

static const NpGimpMenuEntry *
find_menu_entry (const gchar *procedure)
{
  for (gsize i = 0; i < np_gimp_n_menu_entries; i++)
    if (g_str_equal (np_gimp_menu_entries[i].procedure, procedure))
      return &np_gimp_menu_entries[i];
  return NULL;
}

static GList *
np_gimp_query_procedures (GimpPlugIn *plug_in)
{
  GList *names = g_list_append (NULL, g_strdup (NP_BATCH));

  gegl_init (NULL, NULL);
  for (gsize i = 0; i < np_gimp_n_menu_entries; i++)
    if (gegl_has_operation (np_gimp_menu_entries[i].op))   /* else its op is not installed */
      names = g_list_append (names, g_strdup (np_gimp_menu_entries[i].procedure));
  return names;
}

/* One argument per property of op, of the GIMP type that fits: a file for a
 * file path, a choice for an enum. */
static void
add_op_arguments (GimpProcedure *procedure, const gchar *op)
{
  guint                  n = 0;
  g_autofree GParamSpec **pspecs = np_gimp_op_arguments (op, &n);

  for (guint i = 0; i < n; i++)
    {
      GParamSpec  *p = pspecs[i];
      const gchar *name = p->name, *nick = g_param_spec_get_nick (p), *blurb = g_param_spec_get_blurb (p);

      if (GEGL_IS_PARAM_SPEC_FILE_PATH (p))
        {
          const gchar     *path = G_PARAM_SPEC_STRING (p)->default_value;
          g_autoptr(GFile) file = path && *path ? g_file_new_for_path (path) : NULL;

          gimp_procedure_add_file_argument (procedure, name, nick, blurb, GIMP_FILE_CHOOSER_ACTION_OPEN,
                                            FALSE, file, G_PARAM_READWRITE);
        }
      else if (G_IS_PARAM_SPEC_STRING (p))
        gimp_procedure_add_string_argument (procedure, name, nick, blurb,
                                            G_PARAM_SPEC_STRING (p)->default_value, G_PARAM_READWRITE);
      else if (G_IS_PARAM_SPEC_BOOLEAN (p))
        gimp_procedure_add_boolean_argument (procedure, name, nick, blurb,
                                             G_PARAM_SPEC_BOOLEAN (p)->default_value, G_PARAM_READWRITE);
      else if (G_IS_PARAM_SPEC_ENUM (p))
        {
          GEnumClass *enums = G_PARAM_SPEC_ENUM (p)->enum_class;
          GimpChoice *choice = gimp_choice_new ();

          for (guint v = 0; v < enums->n_values; v++)
            gimp_choice_add (choice, enums->values[v].value_nick, enums->values[v].value,
                             enums->values[v].value_name, NULL);
          gimp_procedure_add_choice_argument (procedure, name, nick, blurb, choice,
                                              g_enum_get_value (enums, G_PARAM_SPEC_ENUM (p)->default_value)->value_nick,
                                              G_PARAM_READWRITE);
        }
      else if (G_IS_PARAM_SPEC_INT (p))
        gimp_procedure_add_int_argument (procedure, name, nick, blurb, G_PARAM_SPEC_INT (p)->minimum,
                                         G_PARAM_SPEC_INT (p)->maximum, G_PARAM_SPEC_INT (p)->default_value,
                                         G_PARAM_READWRITE);
      else if (G_IS_PARAM_SPEC_UINT (p))   /* a seed */
        gimp_procedure_add_int_argument (procedure, name, nick, blurb, 0, G_MAXINT,
                                         MIN (G_PARAM_SPEC_UINT (p)->default_value, G_MAXINT),
                                         G_PARAM_READWRITE);
      else if (G_IS_PARAM_SPEC_DOUBLE (p))
        gimp_procedure_add_double_argument (procedure, name, nick, blurb, G_PARAM_SPEC_DOUBLE (p)->minimum,
                                            G_PARAM_SPEC_DOUBLE (p)->maximum,
                                            G_PARAM_SPEC_DOUBLE (p)->default_value, G_PARAM_READWRITE);
    }
}

static void
add_properties_argument (GimpProcedure *procedure)
{
  gimp_procedure_add_string_argument (procedure, "properties", _("Properties"),
                                      _("More op properties or further ops in gegl chain syntax, "
                                        "applied after the arguments above (may be empty)"),
                                      "", G_PARAM_READWRITE);
}

/* The dialog for op's arguments in config; TRUE if the user chose OK. Sliders
 * span the ui ranges; "sensitive" expressions are followed. */
typedef struct
{
  GtkWidget  *dialog;
  const char *op;
} NpDialog;

static void
update_sensitive (GObject *config, GParamSpec *changed, NpDialog *d)
{
  guint                  n = 0;
  g_autofree GParamSpec **pspecs = np_gimp_op_arguments (d->op, &n);

  for (guint i = 0; i < n; i++)
    if (gegl_param_spec_get_property_key (pspecs[i], "sensitive"))
      gtk_widget_set_sensitive (gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (d->dialog),
                                                                  pspecs[i]->name, G_TYPE_NONE),
                                np_gimp_sensitive (config, pspecs[i]));
}

static gboolean
run_dialog (GimpProcedure *procedure, GimpProcedureConfig *config, const gchar *op, const gchar *title)
{
  guint                  n = 0;
  g_autofree GParamSpec **pspecs = np_gimp_op_arguments (op, &n);
  GList                 *names = NULL;
  NpDialog               d = { NULL, op };
  gulong                 handler;
  gboolean               ok;

  gimp_ui_init (NP_PLUG_IN_BINARY);
  d.dialog = gimp_procedure_dialog_new (procedure, config, title);
  for (guint i = 0; i < n; i++)
    {
      gdouble lower, upper;

      if (np_gimp_ui_range (pspecs[i], &lower, &upper))
        {
          GtkWidget *w = gimp_procedure_dialog_get_widget (GIMP_PROCEDURE_DIALOG (d.dialog),
                                                           pspecs[i]->name, GIMP_TYPE_SPIN_SCALE);
          if (GIMP_IS_SPIN_SCALE (w))
            gimp_spin_scale_set_scale_limits (GIMP_SPIN_SCALE (w), lower, upper);
        }
      names = g_list_append (names, (gpointer) pspecs[i]->name);
    }
  /* The chain-syntax argument is for scripts. */
  gimp_procedure_dialog_fill_list (GIMP_PROCEDURE_DIALOG (d.dialog), names);
  g_list_free (names);

  handler = g_signal_connect (config, "notify", G_CALLBACK (update_sensitive), &d);
  update_sensitive (G_OBJECT (config), NULL, &d);
  ok = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (d.dialog));
  g_signal_handler_disconnect (config, handler);
  gtk_widget_destroy (d.dialog);
  return ok;
}

/* "op-properties extra": the config's op arguments, then its chain string. */
static gchar *
config_chain (const gchar *op, GimpProcedureConfig *config)
{
  g_autofree gchar *chain = np_gimp_chain_from_object (op, G_OBJECT (config));
  g_autofree gchar *extra = NULL;

  g_object_get (config, "properties", &extra, NULL);
  return g_strdup_printf ("%s %s", chain, extra ? extra : "");
}

static void
show_progress (gdouble fraction, gpointer data)
{
  gimp_progress_update (fraction);
}

static GimpValueArray *
fail (GimpProcedure *procedure, GError *error)
{
  return gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
}

/* The calling error of an entry run on no layer or several. */
static GimpValueArray *
not_one_layer (GimpProcedure *procedure, const NpGimpMenuEntry *entry)
{
  GError *error = NULL;

  g_set_error (&error, GIMP_PLUG_IN_ERROR, 0, _("%s works on one layer at a time"), entry->procedure);
  return gimp_procedure_new_return_values (procedure, GIMP_PDB_CALLING_ERROR, error);
}

/* Runs "op chain" on drawable into a new image of the op's extent. */
static GimpImage *
new_image (const NpGimpMenuEntry *entry, const gchar *chain, GimpDrawable *drawable, GError **error)
{
  g_autoptr(GeglBuffer) buffer = gimp_drawable_get_buffer (drawable);
  g_autoptr(GeglBuffer) out = NULL;
  g_autofree gchar     *shifted = NULL;
  gboolean              gray = gimp_drawable_is_gray (drawable);
  GeglRectangle         extent;
  GimpImage            *image;
  GimpLayer            *layer;

  if (!np_gimp_extent (entry->op, chain, buffer, &extent, error))
    return NULL;
  image = gimp_image_new (extent.width, extent.height, gray ? GIMP_GRAY : GIMP_RGB);
  gimp_image_undo_disable (image);
  layer = gimp_layer_new (image, gimp_item_get_name (GIMP_ITEM (drawable)), extent.width, extent.height,
                          gray ? GIMP_GRAYA_IMAGE : GIMP_RGBA_IMAGE, 100.0, GIMP_LAYER_MODE_NORMAL);
  gimp_image_insert_layer (image, layer, NULL, 0);
  out = gimp_drawable_get_buffer (GIMP_DRAWABLE (layer));
  /* The layer starts at 0, 0 wherever the op puts its output. */
  shifted = g_strdup_printf ("%s gegl:translate x=%d y=%d", chain, -extent.x, -extent.y);
  extent.x = extent.y = 0;
  if (!np_gimp_run (entry->op, shifted, buffer, NULL, NULL, out, &extent, show_progress, NULL, error))
    {
      gimp_image_delete (image);
      return NULL;
    }
  g_clear_object (&out);
  gimp_drawable_update (GIMP_DRAWABLE (layer), 0, 0, extent.width, extent.height);
  gimp_image_undo_enable (image);
  return image;
}

static GimpValueArray *
run_new_image (GimpProcedure        *procedure,
               GimpRunMode           run_mode,
               GimpImage            *image,
               GimpDrawable        **drawables,
               GimpProcedureConfig  *config,
               gpointer              run_data)
{
  const NpGimpMenuEntry *entry = run_data;
  g_autofree gchar     *title = g_strdup (_(entry->label));
  g_autofree gchar     *chain = NULL;
  GimpValueArray       *values;
  GimpImage            *result;
  GError               *error = NULL;

  if (drawables[0] == NULL || drawables[1] != NULL)
    return not_one_layer (procedure, entry);
  if (g_str_has_suffix (title, "..."))
    title[strlen (title) - 3] = '\0';
  if (run_mode == GIMP_RUN_INTERACTIVE && !run_dialog (procedure, config, entry->op, title))
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);

  chain = config_chain (entry->op, config);
  gimp_progress_init (title);
  if (!(result = new_image (entry, chain, drawables[0], &error)))
    return fail (procedure, error);
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_display_new (result);

  values = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_IMAGE (values, 1, result);
  return values;
}

/* Whether op can run here at all (its model found, ...): a run over a small
 * gray picture, so a failure is the procedure's error before anything
 * changes, not a filter that leaves the layer as it was. */
static gboolean
op_can_run (const gchar *op, GError **error)
{
  GeglRectangle         rect = { 0, 0, 16, 16 };
  g_autoptr(GeglBuffer) in = gegl_buffer_new (&rect, babl_format ("Y' u8"));
  g_autoptr(GeglBuffer) out = gegl_buffer_new (&rect, babl_format ("R'G'B'A u8"));

  return np_gimp_run (op, NULL, in, NULL, NULL, out, &rect, NULL, NULL, error);
}

static GimpValueArray *
run_onto_rgb (GimpProcedure        *procedure,
              GimpRunMode           run_mode,
              GimpImage            *image,
              GimpDrawable        **drawables,
              GimpProcedureConfig  *config,
              gpointer              run_data)
{
  const NpGimpMenuEntry *entry = run_data;
  GimpDrawableFilter    *filter;
  GError                *error = NULL;

  if (drawables[0] == NULL || drawables[1] != NULL)
    return not_one_layer (procedure, entry);
  if (!op_can_run (entry->op, &error))
    return fail (procedure, error);

  /* One undo step: the mode and the filter. */
  gimp_image_undo_group_start (image);
  if (gimp_image_get_base_type (image) != GIMP_RGB)
    gimp_image_convert_rgb (image);
  /* An effect the user can still edit: the entry's op has no aux pad
   * (GIMP 3.0 merges effects that have one, np-colorize.c). */
  filter = gimp_drawable_filter_new (drawables[0], entry->op, _(entry->label));
  gimp_drawable_append_filter (drawables[0], filter);
  gimp_image_undo_group_end (image);
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();
  return gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
}

/* Loads file, runs "op chain" on its flattened picture and exports the
 * result as dest, through a temporary file in dest's folder renamed at the
 * end, so dest appears complete or not at all. */
static gboolean
batch_one (const gchar *op, const gchar *chain, GFile *file, GFile *dest, GError **error)
{
  g_autofree gchar *base = g_file_get_basename (dest);
  g_autofree gchar *part_name = g_strdup_printf (".%s.part.png", base);
  g_autoptr(GFile)  parent = g_file_get_parent (dest);
  g_autoptr(GFile)  part = g_file_get_child (parent, part_name);
  GimpImage        *image;
  GimpDrawable     *drawable;
  GeglBuffer       *buffer, *shadow;
  GeglRectangle     size;
  gboolean          ok;

  if (!(image = gimp_file_load (GIMP_RUN_NONINTERACTIVE, file)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("cannot be loaded"));
      return FALSE;
    }
  drawable = GIMP_DRAWABLE (gimp_image_flatten (image));
  size = (GeglRectangle) { 0, 0, gimp_drawable_get_width (drawable), gimp_drawable_get_height (drawable) };
  buffer = gimp_drawable_get_buffer (drawable);
  shadow = gimp_drawable_get_shadow_buffer (drawable);
  ok = np_gimp_run (op, chain, np_gimp_op_is_source (op) ? NULL : buffer, NULL, &size, shadow, &size,
                    NULL, NULL, error);
  g_object_unref (shadow);
  g_object_unref (buffer);
  if (ok)
    {
      gimp_drawable_merge_shadow (drawable, FALSE);
      ok = gimp_file_save (GIMP_RUN_NONINTERACTIVE, image, part, NULL)
        && g_file_move (part, dest, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error);
      if (!ok && error && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("cannot be exported"));
      g_file_delete (part, NULL, NULL);
    }
  gimp_image_delete (image);
  return ok;
}

static GimpValueArray *
run_batch (GimpProcedure *procedure, GimpProcedureConfig *config, gpointer run_data)
{
  GimpRunMode                run_mode;
  g_autofree gchar          *filter = NULL, *extra = NULL, *op = NULL, *chain = NULL;
  g_autoptr(GFile)           in = NULL, out = NULL;
  g_autoptr(GFileEnumerator) files = NULL;
  g_autoptr(GPtrArray)       names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString)         failures = g_string_new (NULL);
  GimpValueArray            *values;
  GError                    *error = NULL;
  GFileInfo                 *info;
  gint                       n_done = 0, n_failed = 0;

  g_object_get (config, "run-mode", &run_mode, NULL);
  if (run_mode == GIMP_RUN_INTERACTIVE)
    {
      GtkWidget *dialog;
      gboolean   ok;

      gimp_ui_init (NP_PLUG_IN_BINARY);
      dialog = gimp_procedure_dialog_new (procedure, config, _("Neuropaint Batch"));
      gimp_procedure_dialog_fill (GIMP_PROCEDURE_DIALOG (dialog), NULL);
      ok = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));
      gtk_widget_destroy (dialog);
      if (!ok)
        return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);
    }
  g_object_get (config, "filter", &filter, "properties", &extra,
                "input-folder", &in, "output-folder", &out, NULL);
  if (in == NULL || out == NULL)
    {
      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0, _("an input and an output folder are needed"));
      return gimp_procedure_new_return_values (procedure, GIMP_PDB_CALLING_ERROR, error);
    }
  op = g_strconcat ("neuropaint:", filter, NULL);
  chain = g_strdup (extra ? extra : "");

  if (!(files = g_file_enumerate_children (in, G_FILE_ATTRIBUTE_STANDARD_NAME "," G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                           G_FILE_QUERY_INFO_NONE, NULL, &error))
      || !(g_file_make_directory_with_parents (out, NULL, &error)
           || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS)))
    return fail (procedure, error);
  g_clear_error (&error);
  while ((info = g_file_enumerator_next_file (files, NULL, NULL)))
    {
      if (g_file_info_get_file_type (info) == G_FILE_TYPE_REGULAR && g_file_info_get_name (info)[0] != '.')
        g_ptr_array_add (names, g_strdup (g_file_info_get_name (info)));
      g_object_unref (info);
    }
  g_ptr_array_sort_values (names, (GCompareFunc) g_strcmp0);

  gimp_progress_init (_("Neuropaint batch"));
  for (guint i = 0; i < names->len; i++)
    {
      const gchar      *name = g_ptr_array_index (names, i);
      g_autoptr(GFile)  file = g_file_get_child (in, name);
      const gchar      *dot = strrchr (name, '.');
      g_autofree gchar *stem = dot ? g_strndup (name, dot - name) : g_strdup (name);
      g_autofree gchar *dest_name = g_strconcat (stem, ".png", NULL);
      g_autoptr(GFile)  dest = g_file_get_child (out, dest_name);

      /* One bad file is reported and skipped, never the end of the batch. */
      if (batch_one (op, chain, file, dest, &error))
        n_done++;
      else
        {
          n_failed++;
          g_string_append_printf (failures, "%s%s: %s", failures->len ? "; " : "",
                                  g_file_peek_path (file), error->message);
          g_clear_error (&error);
        }
      gimp_progress_update ((i + 1.0) / names->len);
    }

  if (n_failed > 0)
    {
      g_set_error (&error, GIMP_PLUG_IN_ERROR, 0, _("%d of %u files failed: %s"),
                   n_failed, names->len, failures->str);
      return fail (procedure, error);
    }
  values = gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_INT (values, 1, n_done);
  return values;
}

static GimpProcedure *
np_gimp_create_procedure (GimpPlugIn *plug_in, const gchar *name)
{
  const NpGimpMenuEntry *entry = find_menu_entry (name);
  GimpProcedure        *procedure;

  /* The arguments come from the ops: GEGL must know them already, and
   * libgimp starts GEGL only to run a procedure. */
  gegl_init (NULL, NULL);
  if (entry)
    {
      gboolean new_image = entry->kind == NP_GIMP_INTO_NEW_IMAGE;

      procedure = gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                            new_image ? run_new_image : run_onto_rgb, (gpointer) entry, NULL);
      gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
      gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
      gimp_procedure_set_menu_label (procedure, _(entry->label));
      gimp_procedure_add_menu_path (procedure, entry->menu_path);
      gimp_procedure_set_documentation (procedure, _(entry->blurb),
                                        gegl_operation_get_key (entry->op, "description"), name);
      /* Onto RGB is one click, with no arguments: the filter it adds has
       * GIMP's own dialog. */
      if (new_image)
        {
          add_op_arguments (procedure, entry->op);
          add_properties_argument (procedure);
          gimp_procedure_add_image_return_value (procedure, "new-image", _("New image"),
                                                 _("The result"), FALSE, G_PARAM_READWRITE);
        }
    }
  else if (g_str_equal (name, NP_BATCH))
    {
      g_auto(GStrv) ops = np_gimp_filter_ops ();
      GimpChoice   *choice = gimp_choice_new ();

      for (guint i = 0; ops[i]; i++)
        {
          g_autofree gchar *label = g_strdup (gegl_operation_get_key (ops[i], "gimp:menu-label"));

          if (g_str_has_suffix (label, "..."))
            label[strlen (label) - 3] = '\0';
          gimp_choice_add (choice, ops[i] + strlen ("neuropaint:"), i, label,
                           gegl_operation_get_key (ops[i], "description"));
        }
      procedure = gimp_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN, run_batch, NULL, NULL);
      gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_ALWAYS);
      gimp_procedure_set_menu_label (procedure, _("_Batch..."));
      gimp_procedure_add_menu_path (procedure, "<Image>/File/Neuropaint");
      gimp_procedure_set_documentation (procedure, _("Run a Neuropaint filter over every image in a folder"),
                                        _("Each image in the input folder is loaded, flattened, filtered "
                                          "and exported as PNG into the output folder under its own name. "
                                          "A file that fails is reported and skipped."), name);
      gimp_procedure_add_enum_argument (procedure, "run-mode", _("Run mode"), _("The run mode"),
                                        GIMP_TYPE_RUN_MODE, GIMP_RUN_NONINTERACTIVE, G_PARAM_READWRITE);
      gimp_procedure_add_choice_argument (procedure, "filter", _("Filter"), _("The Neuropaint filter to run"),
                                          choice, "gray", G_PARAM_READWRITE);
      add_properties_argument (procedure);
      gimp_procedure_add_file_argument (procedure, "input-folder", _("Input folder"), _("The images to filter"),
                                        GIMP_FILE_CHOOSER_ACTION_SELECT_FOLDER, TRUE, NULL, G_PARAM_READWRITE);
      gimp_procedure_add_file_argument (procedure, "output-folder", _("Output folder"),
                                        _("Where the PNG results go (made if missing)"),
                                        GIMP_FILE_CHOOSER_ACTION_CREATE_FOLDER, TRUE, NULL, G_PARAM_READWRITE);
      gimp_procedure_add_int_return_value (procedure, "n-done", _("Done"), _("Files filtered"),
                                           0, G_MAXINT, 0, G_PARAM_READWRITE);
    }
  else
    return NULL;

  gimp_procedure_set_attribution (procedure, "neuropaint developers", "LGPL-3.0-or-later", "2026");
  return procedure;
}

/* No message catalog of our own (yet): GIMP need not look for one. */
static gboolean
np_gimp_set_i18n (GimpPlugIn   *plug_in,
                  const gchar  *procedure_name,
                  gchar       **gettext_domain,
                  gchar       **catalog_dir)
{
  return FALSE;
}

static void
np_gimp_class_init (NpGimpClass *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);

  plug_in_class->query_procedures = np_gimp_query_procedures;
  plug_in_class->set_i18n = np_gimp_set_i18n;
  plug_in_class->create_procedure = np_gimp_create_procedure;
}

static void
np_gimp_init (NpGimp *plug_in)
{
}

GIMP_MAIN (NP_TYPE_GIMP)
