/* neuropaint — what the GIMP 2.10 and GIMP 3 plug-ins share: which ops GIMP
 * shows and where, their user-settable properties, and running an op over a
 * buffer. GEGL and GLib only, no libgimp, so one copy serves both APIs.
 *
 * Every op, its arguments and its dialog come from the op itself: a filter is
 * any neuropaint op with a gimp:menu-path key (GIMP 3 reads the same keys),
 * its arguments are its GParamSpecs. A new op needs no line here; a new
 * entry beyond the filters is one row of np_gimp_menu_entries. */
#pragma once

#include <gegl.h>

G_BEGIN_DECLS

/* The procedures the plug-ins add beyond one filter per op: what a layer
 * filter cannot do. */
typedef enum
{
  NP_GIMP_INTO_NEW_IMAGE,   /* the op's result as a new image: a crop, a resize */
  NP_GIMP_ONTO_RGB,         /* the image made RGB (undoably), then the op on the
                             * layer: the one-click route for ops that make
                             * colour, which a Grayscale image would drop */
} NpGimpEntryKind;

typedef struct
{
  NpGimpEntryKind kind;
  const gchar    *op;          /* "neuropaint:face-crop" */
  const gchar    *procedure;   /* "plug-in-neuropaint-crop-face" */
  const gchar    *menu_path;   /* "<Image>/Image/Neuropaint" */
  const gchar    *label;       /* "Crop Face..." */
  const gchar    *blurb;
} NpGimpMenuEntry;

extern const NpGimpMenuEntry np_gimp_menu_entries[];
extern const gsize          np_gimp_n_menu_entries;

/* The neuropaint ops that have a gimp:menu-path key, sorted by name: those
 * GIMP 3 shows as filters, and the GIMP 2.10 plug-in registers. */
gchar        **np_gimp_filter_ops        (void);

/* "neuropaint:canny" → "plug-in-neuropaint-canny" (newly allocated). */
gchar         *np_gimp_procedure_name    (const gchar   *op);

/* Whether op makes colour from what it reads (its key neuropaint:makes-colour):
 * in a Grayscale image that colour is lost. */
gboolean       np_gimp_op_makes_colour   (const gchar   *op);

/* Whether op renders from nothing (no input pad), as CPPN art does. */
gboolean       np_gimp_op_is_source      (const gchar   *op);

/* The properties a user sets, in declaration order (free the array with
 * g_free). Left out: properties in the role "output-extent", which GIMP sets
 * itself (a source's width and height: the layer's) or hides (outputs). */
GParamSpec   **np_gimp_op_arguments      (const gchar   *op,
                                          guint         *n_arguments);

/* The enum property that lists the choices of op's property pspec (its key
 * neuropaint:choices-of names pspec: the installed models a model property
 * can name), or NULL. GIMP 3 shows it as a combo; the GIMP 2.10 plug-in,
 * whose procedures keep their arguments, offers its values in pspec's own
 * field instead. */
GParamSpec    *np_gimp_choices_of        (const gchar   *op,
                                          GParamSpec    *pspec);

/* Whether pspec lists another property's choices (np_gimp_choices_of). */
gboolean       np_gimp_is_choices        (GParamSpec    *pspec);

/* The span a slider for pspec should cover: GEGL's ui range where the op
 * declares one, else the value range. FALSE for non-numeric properties. */
gboolean       np_gimp_ui_range          (GParamSpec    *pspec,
                                          gdouble       *lower,
                                          gdouble       *upper);

/* Whether pspec's "sensitive" key (a GEGL UI meta expression, as GIMP 3
 * reads it: boolean properties, `enum {nick, ...}`, !, &, |, parentheses)
 * holds for the values in config, an object with the op's property names
 * (the op itself, or a GIMP 3 procedure config whose enums are choice
 * strings). TRUE when there is no such key. */
gboolean       np_gimp_sensitive         (GObject       *config,
                                          GParamSpec    *pspec);

/* The op's arguments as read from config (same names; GFile or string paths,
 * enum or choice-string enums), in gegl chain syntax ("low=100 mode=gray"),
 * shell-quoted where needed; an empty string stands for the op's default and
 * is left out. */
gchar         *np_gimp_chain_from_object (const gchar   *op,
                                          GObject       *config);

/* A node holding op with the properties of chain (chain syntax, may be
 * NULL), made as gegl_create_chain makes it, in graph: a config the dialogs
 * bind their widgets to. */
GeglNode      *np_gimp_op_node           (GeglNode      *graph,
                                          const gchar   *op,
                                          const gchar   *chain,
                                          GError       **error);

/* The extent "op chain" renders over input: where a new image puts it. */
gboolean       np_gimp_extent            (const gchar         *op,
                                          const gchar         *chain,
                                          GeglBuffer          *input,
                                          GeglRectangle       *extent,
                                          GError             **error);

/* Calls back with the fraction done while np_gimp_run renders. */
typedef void (*NpGimpProgress) (gdouble fraction, gpointer data);

/* Whether op has an aux pad (neuropaint:colorize's colour hints). */
gboolean       np_gimp_op_takes_aux      (const gchar         *op);

/* Renders "op chain" over input (NULL for a source op), with aux (or NULL)
 * into the op's aux pad, into output, the part of it in roi; a source's output-extent sizes are set to size first. chain
 * may hold properties and further ops in gegl chain syntax. FALSE, with its
 * reason, if one of our ops failed: output then holds nothing to keep. */
gboolean       np_gimp_run               (const gchar         *op,
                                          const gchar         *chain,
                                          GeglBuffer          *input,
                                          GeglBuffer          *aux,
                                          const GeglRectangle *size,
                                          GeglBuffer          *output,
                                          const GeglRectangle *roi,
                                          NpGimpProgress       progress,
                                          gpointer             progress_data,
                                          GError             **error);

G_END_DECLS
