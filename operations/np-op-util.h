/* neuropaint — what every GEGL face shares: the bridge between GeglBuffer and
 * the core's NpImage, the region rules of whole-image filters, and the
 * per-instance cache of what is costly to load.
 *
 * Compiled into each op module (a module is one op), so this holds glue only:
 * no pixel arithmetic lives here.
 */
#pragma once

#include <gegl.h>
#include <gegl-plugin.h>
#include "neuropaint.h"
#include "np-op-host.h"

G_BEGIN_DECLS

/* The picture every op's reference-composition filters: colour checks under a
 * diagonal gradient, so thresholds, edges and contours all have work to do.
 * tests/ops/test-reference.c renders each composition and compares the MD5 of
 * its R'G'B'A u8 pixels with the op's reference-hash, recorded after the
 * result was checked by eye and by the oracle tests. */
#define NP_OP_REFERENCE_INPUT                                                  \
  "<node operation='gegl:crop' x='0' y='0' width='160' height='120'/>"         \
  "<node operation='gegl:over'>"                                               \
  "  <node operation='gegl:opacity' value='0.6'/>"                             \
  "  <node operation='gegl:linear-gradient' start-x='0' start-y='0'"           \
  "        end-x='160' end-y='120' start-color='#f0e020' end-color='#2010a0'/>" \
  "</node>"                                                                    \
  "<node operation='gegl:checkerboard' x='13' y='11' color1='#c03020'"         \
  "      color2='#20a0e0'/>"

/* A reference-composition: the op's node(s) over the reference picture. */
#define NP_OP_REFERENCE(op_nodes) "<gegl>" op_nodes NP_OP_REFERENCE_INPUT "</gegl>"

/* The thread count GEGL is configured with (GEGL_THREADS or gegl_config()),
 * handed to the core's whole-image stages so both agree. */
gint          np_op_threads            (void);

/* What every filter's prepare does: input and output in format_name (e.g.
 * "R'G'B'A u8"), in the colour space of the input, so process never converts. */
void          np_op_set_formats        (GeglOperation       *operation,
                                        const char          *format_name);

/* For ops that compute in float on large pictures (colorize, super
 * resolution): input read as R'G'B'A float, output in 8 bits for 8-bit
 * sources, so the result GEGL keeps costs 4 bytes a pixel, not 16. */
void          np_op_set_float_formats  (GeglOperation       *operation);

/* pad's source format when it is R'G'B'A u8 or R'G'B' u8 (of its space),
 * else NULL: an op that takes those reads and writes the bytes as they are,
 * with no conversion at all. */
const Babl   *np_op_source_rgb_u8_format (GeglOperation *operation,
                                          const gchar   *pad);

/* For filters whose every output pixel may depend on the whole input
 * (hysteresis, contour tracing, detection): ask for and cache everything. */
GeglRectangle np_op_whole_input        (GeglOperation       *operation,
                                        const gchar         *input_pad,
                                        const GeglRectangle *roi);
GeglRectangle np_op_whole_cached       (GeglOperation       *operation,
                                        const GeglRectangle *roi);
/* A change anywhere in the input changes every output pixel: the whole
 * input as last seen (by np_op_whole_input) and roi. It never asks the
 * source for its box: GEGL calls it while nodes are being rewired. */
GeglRectangle np_op_whole_invalidated  (GeglOperation       *operation,
                                        const gchar         *input_pad,
                                        const GeglRectangle *roi);
void          np_op_class_whole_image  (GeglOperationClass  *operation_class);

/* Copies rect of buffer, in format, into a new NpImage (u8 or float samples,
 * as format says). */
NpImage      *np_op_read               (GeglBuffer          *buffer,
                                        const GeglRectangle *rect,
                                        const Babl          *format,
                                        GError             **error);
void          np_op_write              (GeglBuffer          *buffer,
                                        const GeglRectangle *rect,
                                        const Babl          *format,
                                        const NpImage       *image);

/* A value an op instance keeps across process() calls (a parsed cascade, a
 * loaded model) and makes again only when its key, the properties it is made
 * from, changes. It hangs on the operation as qdata, so GObject's finalize
 * frees it with the operation. GEGL may process one node from several
 * threads: np_op_cache_lock locks the cache until np_op_cache_unlock, so a
 * value is never replaced while in use, and returns the value made for key,
 * or NULL when there is none yet (np_op_cache_set then stores one). Always
 * unlock, whatever lock returned. */
gpointer      np_op_cache_lock         (GeglOperation       *operation,
                                        const gchar         *key);
void          np_op_cache_set          (GeglOperation       *operation,
                                        const gchar         *key,
                                        gpointer             value,
                                        GDestroyNotify       free_value);
void          np_op_cache_unlock       (GeglOperation       *operation);

/* The model named model (a name from np_model_dirs' folders or a file, see
 * core/model/np-model.h), kept in operation's cache and checked for use:
 * the process's shared copy of the file (np_model_load_shared: every node
 * of the same file reads it once), made again when the file changes. Locks
 * the cache as np_op_cache_lock does, which also serialises this node's
 * forwards (its network is not reentrant; other nodes run their own views
 * of the same weights at once): always np_op_cache_unlock after, whatever
 * this returned. */
NpModel      *np_op_lock_model         (GeglOperation       *operation,
                                        const gchar         *model,
                                        NpModelUse           use,
                                        GError             **error);

/* The model named model, loaded and checked for use (the error names it),
 * uncached: for an op that caches more than one model itself. */
NpModel      *np_op_load_model         (const gchar         *model,
                                        NpModelUse           use,
                                        GError             **error);

/* The installed models an op offers: a GEnum type, registered once a
 * process, of the models np_model_list_for (use) finds, each with its name
 * as nick and its name and card's summary as label, after the value 0, nick
 * NP_OP_MODEL_NAMED: the one the op's model property names (a name or a
 * file). The type of the model ops' installed-model property, which GIMP 3
 * shows as a combo: made with the op's class, when a program starts, so it
 * lists the models installed then. Each op module holds its own copy of
 * this code; the type is found by name, not kept here. */
#define NP_OP_MODEL_NAMED "named"
GType         np_op_model_choices      (NpModelUse           use);

/* The colour space a colourising op carries colour in (NpChromaSpace): a
 * GEnum type registered once a process, by name, as np_op_model_choices is,
 * since both colorize modules offer it. */
GType         np_op_chroma_space_type  (void);

/* The model to run: the one chosen in choice (the installed-model
 * property's value), or for NP_OP_MODEL_NAMED the model property's value. */
const gchar  *np_op_chosen_model       (GeglOperation       *operation,
                                        const gchar         *model,
                                        gint                 choice);

/* The process of the model filters (generator, super resolution): the whole
 * input, read in the input pad's format, through np_paint_generate with
 * model into a picture `scale` times its size, written at `scale` times its
 * place. Fails the op, naming the reason, when the model cannot do it: the
 * input then passes through, scaled. */
gboolean      np_op_generate           (GeglOperation        *operation,
                                        GeglBuffer           *input,
                                        GeglBuffer           *output,
                                        const GeglRectangle  *result,
                                        const gchar          *model,
                                        NpModelUse            use,
                                        gint                  scale,
                                        const NpPaintOptions *options);

/* The face ops' detection: np_face_finder_find with the finder for their
 * cascade and verify-eyes properties, kept in operation's cache. */
GArray       *np_op_find_faces         (GeglOperation       *operation,
                                        const gchar         *cascade,
                                        gboolean             verify_eyes,
                                        const NpImage       *image,
                                        const NpHaarParams  *params,
                                        GError             **error);

/* For ops that make colour (the key neuropaint:makes-colour): a notice
 * telling a GIMP user, once per filter, that a Grayscale image will keep
 * none of it (GIMP shows GEGL's messages), and what to do. Silent in every
 * other host and for colour inputs. */
void          np_op_note_gray_host     (GeglOperation       *operation);

/* Tells the user the op did its work another way than asked (see
 * NP_OP_NOTICE in np-op-host.h): not a failure, nor GLib's warning, which
 * hosts such as the neuropaint command rightly take for one. */
void          np_op_notice             (GeglOperation       *operation,
                                        const char          *format,
                                        ...) G_GNUC_PRINTF (2, 3);

/* Reports a core failure the way GEGL ops can, and returns FALSE: the input
 * is copied to the output over result (a source passes NULL buffers), and a
 * message naming the op goes to GEGL's log domain, which GIMP shows. The
 * message also stays on the operation under NP_OP_FAILURE (np-op-host.h), for
 * hosts that must tell a failed run from a result. Takes error. */
gboolean      np_op_fail               (GeglOperation       *operation,
                                        GeglBuffer          *input,
                                        GeglBuffer          *output,
                                        const GeglRectangle *result,
                                        GError              *error);

G_END_DECLS
