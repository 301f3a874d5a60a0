/* neuropaint — what the subcommands of the `neuropaint` command share.
 *
 * The command composes GEGL graphs of our ops; it holds no image algorithm.
 * Every subcommand is cmd-<name>.c exposing cli_cmd_<name>(argc, argv, do_help),
 * listed once in the table in neuropaint.c. Exit status follows gio:
 * 0 success, 1 bad usage, 2 the work itself failed; and 75 (sysexits'
 * EX_TEMPFAIL) for training stopped by a signal after its checkpoint, which
 * a job script can tell from a failure and requeue.
 *
 * The helpers below are grouped by concern, each section naming the one
 * file that holds it (cli.c, cli-*.c); bench/ and train/ hold those
 * commands' own files.
 */
#pragma once

#include <gegl.h>
#include <json-glib/json-glib.h>
#include "neuropaint.h"

G_BEGIN_DECLS

enum
{
  CLI_EXIT_OK = 0,
  CLI_EXIT_USAGE = 1,
  CLI_EXIT_FAILED = 2,
  CLI_EXIT_STOPPED = 75,
};

typedef int (*CliCommandFunc) (int argc, char **argv, gboolean do_help);

typedef enum
{
  CLI_CMD_GEGL = 1 << 0,   /* needs GEGL initialised and our ops loaded */
} CliCommandFlags;

typedef struct
{
  const char    *name;
  CliCommandFunc  func;
  CliCommandFlags flags;
  const char    *summary;
} CliCommand;

/* Subcommands (one file each). */
int cli_cmd_run   (int argc, char **argv, gboolean do_help);
int cli_cmd_bench (int argc, char **argv, gboolean do_help);
int cli_cmd_demo  (int argc, char **argv, gboolean do_help);
int cli_cmd_cppn  (int argc, char **argv, gboolean do_help);
int cli_cmd_dream (int argc, char **argv, gboolean do_help);
int cli_cmd_detect (int argc, char **argv, gboolean do_help);
int cli_cmd_crop  (int argc, char **argv, gboolean do_help);
int cli_cmd_info  (int argc, char **argv, gboolean do_help);
int cli_cmd_models (int argc, char **argv, gboolean do_help);
int cli_cmd_prepare (int argc, char **argv, gboolean do_help);
int cli_cmd_train (int argc, char **argv, gboolean do_help);
int cli_cmd_merge (int argc, char **argv, gboolean do_help);

/* ---- Options and failing (cli.c) -------------------------------------- */

/* Parses argv with a context named "neuropaint COMMAND". With do_help, prints
 * the help and returns CLI_EXIT_OK through *exit_code; on a usage error prints
 * it with a hint and sets CLI_EXIT_USAGE. Returns TRUE when the command should
 * go on. Consumes the parsed options from argc/argv. */
gboolean  cli_parse        (const char          *command,
                               const char          *parameter_string,
                               const char          *summary,
                               const char          *description,
                               const GOptionEntry  *entries,
                               int                 *argc,
                               char              ***argv,
                               gboolean             do_help,
                               int                 *exit_code);

/* Prints "neuropaint COMMAND: message" on stderr; returns CLI_EXIT_FAILED or
 * CLI_EXIT_USAGE as asked, so callers can `return cli_fail (...)`. */
int       cli_fail         (const char *command, int exit_code,
                               const char *format, ...) G_GNUC_PRINTF (3, 4);
int       cli_fail_error   (const char *command, GError *error);

/* Parses "WIDTHxHEIGHT", each side 1 to 8192 (--size). */
gboolean  cli_parse_size   (const char *text, gint *width, gint *height);

/* Sorts an array of strings by name. */
void      cli_sort_strings (GPtrArray *strings);

/* GEGL's thread limit: --threads is checked against it (GEGL only warns). */
#define CLI_MAX_THREADS 64

/* --threads N (-j N), one option for every command that has it: N, or 0 by
 * default. An empty value is the default too, so a job script's --threads
 * "$SLURM_CPUS_PER_TASK" works where the variable is unset. */
extern gint cli_threads_option;
gboolean  cli_parse_threads (const gchar *option_name, const gchar *value, gpointer data, GError **error);
#define CLI_THREADS_ENTRY(help) \
  { "threads", 'j', 0, G_OPTION_ARG_CALLBACK, (gpointer) cli_parse_threads, help, "N" }
/* --threads, or (0) every processor this process may run on: its CPU
 * affinity, which Slurm, taskset and containers set. */
gint      cli_threads      (void);

/* ---- Standard output (cli-stdout.c) ---------------------------------------- */

/* Standard output is checked as any file: a full disk, /dev/full, a closed
 * or broken stream is an error, not a truncated output and exit status 0.
 *
 * cli_std_fds_open, first in main: a standard descriptor closed at start
 * (`neuropaint … >&-`) is taken by a read-only /dev/null, so no output file
 * opened later gets descriptor 1 (and receives the printed text), and a
 * write to it fails as it should. It also routes g_print through a checked
 * writer. cli_stdout_flush after each record of a stream (detect's
 * lines): an error names "standard output" and ends the batch.
 * cli_stdout_close, last in main: flushes and closes, and turns a
 * success into CLI_EXIT_FAILED (with one message, naming command unless
 * NULL) if any write failed. */
void      cli_std_fds_open (void);
gboolean  cli_stdout_flush (GError **error);
int       cli_stdout_close (const char *command, int exit_code);

/* ---- GEGL set-up (cli-gegl.c) -------------------------------------------- */

/* GEGL with our ops: the installed ones, or the build tree's when this binary
 * runs uninstalled. */
gboolean  cli_gegl_init    (GError **error);

/* ---- Capturing GEGL's log (cli-log.c) ------------------------------------- */

/* GEGL's loaders, savers and our ops report failure as log messages (and
 * lines on stderr) while a graph runs: between begin and end, the first one
 * is kept and stderr is muted; end returns it as error, prefixed with what,
 * with hidden (a temporary file's name) shown as shown. One at a time. */
typedef struct
{
  GLogFunc    previous;
  gpointer    previous_data;
  GPrintFunc  previous_printerr;
  gint        saved_stderr;
  gchar      *message;
  GPtrArray  *notices;   /* of ops that did their work another way (np-op-host.h) */
  const char *hidden;    /* a temporary file's name, shown as... */
  const char *shown;     /* ...the final one */
} CliLogCapture;

void      cli_log_capture_begin (CliLogCapture *capture, const char *hidden, const char *shown);
gboolean  cli_log_capture_end   (CliLogCapture *capture, const char *what, GError **error);

/* ---- Graphs and chains (cli-graph.c) -------------------------------------- */

/* The XML of a built-in graph (graphs/NAME.xml, embedded), or of a file. */
gchar    *cli_graph_xml    (const char *name_or_path, gchar **path_root,
                               GError **error);
/* Adds the XML graph to top with its gegl:load node replaced by a source of
 * input (so each image is decoded once, by the caller); returns the graph
 * node, whose output is the result, and the source node in *source (if not
 * NULL), whose "buffer" feeds the next image. A source graph (CPPN art)
 * takes NULL. */
GeglNode *cli_graph_add    (GeglNode *top, const char *xml,
                               const char *path_root, GeglBuffer *input,
                               GeglNode **source, GError **error);
/* Links source → the ops of chain (gegl command syntax: OP KEY=VALUE… OP…)
 * inside top; returns the chain's end. Unknown ops, unknown properties and
 * out-of-range values are errors. */
GeglNode *cli_chain_add    (GeglNode *top, GeglNode *source, char **chain,
                               const char *path_root, GError **error);
/* Refuses a chain of more ops (its words that are no KEY=VALUE and no
 * bracket) than GEGL sets up in reasonable time (1000; graphs too): checked
 * by cli_chain_add, and by commands before any work. */
gboolean  cli_check_chain_nodes (char **chain, GError **error);
/* Names of the built-in graphs, NULL-terminated. */
gchar   **cli_graph_names  (void);

/* ---- Image files (cli-image.c) ------------------------------------------- */

/* The most pixels an input image may have (--max-pixels; by default
 * NP_IMAGE_DEFAULT_MAX_PIXELS). The entry goes in the options of every
 * command that reads images; cli_parse refuses values below 1. */
extern gint64 cli_max_pixels;
#define CLI_MAX_PIXELS_ENTRY                                                             \
  { "max-pixels", 0, 0, G_OPTION_ARG_INT64, &cli_max_pixels,                            \
    "Refuse input images of more pixels, before decoding (default 100000000)", "N" }

/* Loads an image into a new buffer in the given format (NULL: the file's
 * own). Only regular files; the type comes from the first bytes, never the
 * extension (JPEG through the core, PNG, TIFF, WebP, OpenEXR through GEGL's
 * loader for that type); the header's size is checked against
 * cli_max_pixels before decoding. Fails with one message naming the file
 * for a missing, unreadable, empty, unknown, corrupt or too large image. */
GeglBuffer *cli_load_image (const char *path, const Babl *format,
                               GError **error);

/* Processes output_node (the end of a chain) into path, by extension: .png
 * (8-bit), .jpg/.jpeg (the core's encoder), .tif, .webp, .exr (GEGL's
 * savers). Through an NpOutput: the file appears complete or not at all,
 * every error of GEGL's savers is caught, and the error names path. */
gboolean  cli_save         (GeglNode *output_node, const char *path,
                               GError **error);
/* The same, with PNG written at 8 or 16 bits per sample. */
gboolean  cli_save_png_depth (GeglNode *output_node, const char *path,
                                 gint png_bit_depth, GError **error);
/* The same into an NpOutput (the type from its final name), not committed:
 * outputs that belong together (an animation's frames) are committed
 * together. */
gboolean  cli_save_to_output (GeglNode *output_node, NpOutput *output,
                                 gint png_bit_depth, GError **error);
/* Refuses a path whose extension cli_save cannot write (GEGL would write
 * PNG bytes under any name): check output names before any work. */
gboolean  cli_check_output_name (const char *path, GError **error);

/* Whether the image file at path is whole (its type's end is there): what
 * --skip-existing takes as done. A missing, empty, cut or foreign file, or
 * one that is not a regular file, is not. */
gboolean  cli_output_complete (const char *path);

/* ---- Batches: inputs, shards, outputs (cli-batch.c, docs/scale-out.md) ---- */

/* The input images: files as given, folders expanded to their images
 * (by extension) in name order; a file given twice (as a.jpg and ./a.jpg,
 * or as a file and in its folder) once. Only the folders are looked at (a
 * name with an image extension is a file, unread): every process of a
 * batch makes the list. */
GPtrArray *cli_collect_inputs (char **inputs, GError **error);

/* The part of a batch one process does: item k of the sorted input list
 * belongs to shard k mod count. */
typedef struct
{
  guint       index, count;
  const char *from;        /* what said so: "--shard", a variable's name, or NULL */
} CliShard;

/* The options every command over many inputs shares. */
typedef struct
{
  gchar   *shard;           /* --shard I/N */
  gchar   *files_from;      /* --files-from FILE|- */
  gboolean skip_existing;   /* --skip-existing (commands that write files) */
} CliBatch;

#define CLI_BATCH_ENTRIES(o)                                                            \
  { "shard", 0, 0, G_OPTION_ARG_STRING, &(o).shard,                                        \
    "Do shard I of N (0 ≤ I < N): input k of the sorted list when k mod N = I (default: "  \
    "from a Slurm job array or a Kubernetes indexed job; else all)", "I/N" },              \
  { "files-from", 0, 0, G_OPTION_ARG_FILENAME, &(o).files_from,                            \
    "Inputs from FILE too, one path a line (- for standard input)", "FILE" }
#define CLI_SKIP_EXISTING_ENTRY(o)                                                      \
  { "skip-existing", 0, 0, G_OPTION_ARG_NONE, &(o).skip_existing,                          \
    "Leave out inputs whose outputs exist: a stopped batch run again finishes the rest", NULL }

/* The inputs of a batch command: the arguments and the lines of
 * --files-from, collected as cli_collect_inputs does, sorted by name
 * (bytes), so every process of a batch sees the same list; *all gets it,
 * *mine this process's shard of it (pointers into *all), *shard which shard
 * that is: --shard I/N; else, in a Slurm job array, (SLURM_ARRAY_TASK_ID −
 * _MIN) / _STEP of SLURM_ARRAY_TASK_COUNT; else, in a Kubernetes indexed
 * job, JOB_COMPLETION_INDEX of NEUROPAINT_SHARDS; else 0 of 1. A malformed
 * value, or an array that is no even range, is a usage error: printed, and
 * *exit_code set. */
gboolean  cli_batch_inputs  (const char *command, const CliBatch *batch, char **args,
                                GPtrArray **all, GPtrArray **mine, CliShard *shard,
                                int *exit_code);
/* The folder a batch writes into (np_output_new_folder): made for this run,
 * it goes again if the run leaves it empty (all failed, or a signal came
 * first), unless the batch is sharded: then other tasks share it, and a
 * removal would pull it from under their writes, so it is kept at once. */
NpOutput *cli_batch_folder  (const CliShard *shard, const char *path, GError **error);
/* Where shard I of N > 1 writes the part of an output that gathers all
 * inputs (crop's manifest, prepare's dataset): FOLDER/NAME.EXT becomes
 * FOLDER/NAME.part-I-of-N.EXT (no extension: NAME.part-I-of-N); path itself
 * for one shard. `neuropaint merge PATH` joins the parts into PATH. */
gchar    *cli_shard_path    (const CliShard *shard, const char *path);
/* The stem and extension cli_shard_path splits a name into. */
void      cli_split_ext     (const char *name, gchar **stem, const char **ext);

/* Names for the outputs of inputs written into one folder: each input's
 * name without its extension, or with it where inputs share a stem (a.jpg
 * and a.png give a.jpg.EXT and a.png.EXT, not twice a.EXT). */
GPtrArray *cli_output_stems (GPtrArray *inputs);

/* Inputs by identity (device and inode), so a path that is one of them under
 * another spelling, a symbolic or a hard link is recognised. The inputs
 * (borrowed) are looked at only when a path that exists is looked up. */
typedef struct _CliInputIndex CliInputIndex;
CliInputIndex *cli_inputs_index_new  (GPtrArray *inputs);
void           cli_inputs_index_free (CliInputIndex *index);
/* The input that path is, or NULL (also when path does not exist). */
const char    *cli_inputs_find       (CliInputIndex *index, const char *path);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliInputIndex, cli_inputs_index_free)

/* Refuses, before any work, outputs that would overwrite an input (see
 * cli_inputs_find) or each other; sources (NULL, or one input or NULL per
 * output) name where each output comes from in the message. Only writes
 * (NULL: all; else the outputs, the same pointers, that this process will
 * write: a shard's, less those --skip-existing leaves) are looked for among
 * the inputs, so a task touches its own share; the names of all are
 * compared. Prints one message saying what to change and sets *exit_code to
 * CLI_EXIT_USAGE. */
gboolean  cli_check_outputs (const char *command, GPtrArray *inputs,
                                GPtrArray *outputs, GPtrArray *sources,
                                GPtrArray *writes, int *exit_code);

/* One input of a batch. Returns FALSE with error for a bad one; setting
 * *stop ends the batch (a broken graph would fail every image). */
typedef gboolean (*CliEachFunc) (const char *file, gpointer data, gboolean *stop,
                                   GError **error);
/* Runs func on every file (with a progress bar labelled progress, unless
 * NULL). A bad file is reported ("neuropaint COMMAND: FILE: why"), added to
 * failed (unless NULL; the pointers of files) and the batch goes on; returns
 * CLI_EXIT_OK, or CLI_EXIT_FAILED after saying how many failed. The loop
 * every command over many inputs uses. */
int       cli_each_input   (const char *command, const char *progress,
                               GPtrArray *files, CliEachFunc func, gpointer data,
                               GPtrArray *failed);

/* ---- Crop's manifest (cli-manifest.c) ------------------------------------ */

/* Writes crop's manifest (width, height, the images' entries sorted by
 * input file, as the sorted input list of a one-process run has them, and,
 * when any, the "skipped" images that could not be cropped, names sorted
 * alike) through an NpOutput: shared by crop and merge, so merged parts
 * equal a one-process manifest byte for byte. */
gboolean  cli_write_crop_manifest (const char *path, gint width, gint height,
                                      JsonArray *images, JsonArray *skipped,
                                      GError **error);

/* ---- Progress bar (cli-progress.c) ---------------------------------------- */

/* A progress bar on stderr (a line per step when stderr is not a terminal). */
typedef struct _CliProgress CliProgress;
CliProgress *cli_progress_new    (const char *what, gsize total);
void        cli_progress_step   (CliProgress *progress, const char *item);
/* Clears the bar's line, so a message can be printed there. */
void        cli_progress_clear  (CliProgress *progress);
void        cli_progress_free   (CliProgress *progress);

/* ---- Face detection (cli-detect.c) ------------------------------------ */

/* Detection options shared by detect, crop and bench detect. */
typedef struct
{
  gchar   *cascade;         /* NULL: Debian's frontal face cascade */
  gdouble  scale_factor;
  gint     min_neighbors;
  gint     min_size;
  gint     max_size;        /* 0: the image size */
  gboolean verify_eyes;
} CliDetect;

#define CLI_DETECT_ENTRIES(o)                                                           \
  { "cascade", 'c', 0, G_OPTION_ARG_FILENAME, &(o).cascade,                                \
    "Haar cascade XML (default: Debian's haarcascade_frontalface_default.xml)", "FILE" },  \
  { "scale-factor", 's', 0, G_OPTION_ARG_DOUBLE, &(o).scale_factor,                        \
    "Pyramid step, as OpenCV's scaleFactor", "F" },                                        \
  { "min-neighbors", 'n', 0, G_OPTION_ARG_INT, &(o).min_neighbors,                          \
    "Candidates a face must merge (0: raw candidates)", "N" },                             \
  { "min-size", 'm', 0, G_OPTION_ARG_INT, &(o).min_size, "Smallest face side", "PX" },     \
  { "max-size", 0, 0, G_OPTION_ARG_INT, &(o).max_size,                                      \
    "Largest face side (default: the image)", "PX" },                                      \
  { "verify-eyes", 0, 0, G_OPTION_ARG_NONE, &(o).verify_eyes,                              \
    "Keep faces in which haarcascade_eye.xml finds an eye", NULL },                        \
  CLI_THREADS_ENTRY ("Threads (default: every processor it may use)")

/* Prints the usage error and returns FALSE for out-of-range options. */
gboolean  cli_detect_check (const char *command, const CliDetect *opts, int *exit_code);
/* The image's 8-bit R'G'B' values as decoded (the file's own colour space,
 * no ICC conversion), as OpenCV's imread gives them. */
NpImage  *cli_read_rgb     (GeglBuffer *buffer, GError **error);
/* The image's 8-bit luma as OpenCV's BGR2GRAY computes it. */
NpImage  *cli_read_gray    (GeglBuffer *buffer, GError **error);
/* Faces (NpHaarBox, largest first) in an 8-bit gray, RGB or RGBA image. */
GArray   *cli_find_faces   (const CliDetect *opts, const NpFaceFinder *finder,
                               const NpImage *image, GError **error);
/* Faces (NpHaarBox, largest first) in a decoded image. */
GArray   *cli_detect_faces (const CliDetect *opts, const NpFaceFinder *finder,
                               GeglBuffer *buffer, GError **error);
/* --threads, 0 meaning one per processor. */
/* Adds a box as the JSON object {"x", "y", "w", "h"} (detect --json, crop's
 * manifest). */
void      cli_json_add_box (JsonBuilder *builder, const NpHaarBox *box);

/* ---- File names in JSON and in lines of text (cli-json.c) ------------------
 * A file name is bytes; JSON holds UTF-8. Each byte of a name that is no
 * UTF-8 becomes the lone surrogate U+DC80 + (byte − 0x80), written \udc80 to
 * \udcff: Python's surrogateescape, so json.load gives the str that open()
 * and os.fsencode() take, and our own readers (merge, crop's rerun) get the
 * bytes back. Valid UTF-8 names are written as they are. */

/* The name as a JSON string value (strays as surrogates, see above). */
gchar    *cli_json_name       (const char *name);
/* The name's bytes from such a string value. */
gchar    *cli_json_name_bytes (const char *json_name);
/* The JSON text of root, with the strays escaped (\udcXX): valid UTF-8. */
gchar    *cli_json_text       (JsonNode *root, gboolean pretty, gsize *length);
/* Loads JSON text into parser as json_parser_load_from_data does, with the
 * strays' escapes read back into the strings (cli_json_name's form):
 * json-glib alone misreads them. From a file, too. */
gboolean  cli_json_parse      (JsonParser *parser, const char *text, gsize length,
                                  GError **error);
gboolean  cli_json_parse_file (JsonParser *parser, const char *path, GError **error);
/* The name for a line of text (detect's "FILE x y w h"): as it is, or, when
 * it holds a control character (a newline would forge a line), a double
 * quote, a backslash or bytes that are no UTF-8, in double quotes with C
 * escapes, as git quotes paths (\n, \t, \", \\, octal \ooo otherwise). */
gchar    *cli_quote_name      (const char *name);

G_END_DECLS
