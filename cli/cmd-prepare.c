/* neuropaint prepare — a training dataset from photos: the seed's face
 * crops and every filtered version of them, with a manifest (the format is
 * core/train/np-dataset.h's, described in docs/datasets.md). */
#define _XOPEN_SOURCE 700   /* realpath */

#include "config.h"
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static CliDetect opts = { NULL, 1.2, 5, 60, 0, FALSE };
static gchar      *opt_output;
static gchar      *opt_size = "256x320";
static gchar      *opt_val_list;
static gboolean    opt_all_faces;
static gchar     **opt_inputs;
static CliBatch  opt_batch;

static const GOptionEntry entries[] = {
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "The dataset's folder (created if needed)", "DATASET" },
  { "size", 0, 0, G_OPTION_ARG_STRING, &opt_size, "Crop size (default 256x320)", "WxH" },
  { "val-list", 0, 0, G_OPTION_ARG_FILENAME, &opt_val_list,
    "Photos of the validation split, one path a line (a photo is in it when its path ends "
    "with a listed one); the rest is the training split", "FILE" },
  { "all-faces", 'a', 0, G_OPTION_ARG_NONE, &opt_all_faces,
    "Crop every face of a photo (default: the largest only)", NULL },
  CLI_DETECT_ENTRIES (opts),
  CLI_MAX_PIXELS_ENTRY,
  CLI_BATCH_ENTRIES (opt_batch),
  { "skip-existing", 0, 0, G_OPTION_ARG_NONE, &opt_batch.skip_existing,
    "Do nothing when the dataset (or this shard's part) is there already", NULL },
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_inputs, NULL, NULL },
  { NULL }
};

/* One crop of a photo, before it goes into the dataset. */
typedef struct
{
  NpImage  *image;
  NpHaarBox face;
  gboolean  has_face;
  GArray   *eyes;    /* NpHaarBox */
} Crop;

static void
crop_clear (gpointer data)
{
  Crop *crop = data;
  np_image_free (crop->image);
  g_clear_pointer (&crop->eyes, g_array_unref);
}

/* ---- paths ------------------------------------------------------------ */

/* The absolute path with symbolic links resolved as far as it exists (the
 * output folder may not exist yet), so two names of one folder compare
 * equal. */
static gchar *
resolve (const char *path)
{
  g_autofree gchar *lexical = g_canonicalize_filename (path, NULL);
  g_autofree gchar *head = g_strdup (lexical);
  g_autofree gchar *tail = g_strdup ("");
  g_autofree gchar *real = NULL;

  while (!g_file_test (head, G_FILE_TEST_EXISTS))
    {
      gchar *parent = g_path_get_dirname (head);
      gchar *base = g_path_get_basename (head);
      gchar *joined = *tail ? g_build_filename (base, tail, NULL) : g_strdup (base);

      g_free (base);
      g_free (tail);
      tail = joined;
      g_free (head);
      head = parent;
    }
  real = realpath (head, NULL);
  if (real == NULL)
    return g_steal_pointer (&lexical);
  return *tail ? g_build_filename (real, tail, NULL) : g_strdup (real);
}

static gboolean
is_inside (const char *path, const char *folder)
{
  gsize n = strlen (folder);

  return strcmp (path, folder) == 0
         || (g_str_has_prefix (path, folder) && (path[n] == '/' || (n > 0 && folder[n - 1] == '/')));
}

/* A path relative to nothing, as a val list gives it: components joined by
 * '/', without empty and "." ones; a leading '/' kept. */
static gchar *
normalise (const char *line)
{
  g_auto(GStrv) parts = g_strsplit (line, "/", -1);
  GString *out = g_string_new (line[0] == '/' ? "/" : "");
  gboolean first = TRUE;

  for (gint i = 0; parts[i]; i++)
    if (*parts[i] && strcmp (parts[i], ".") != 0)
      {
        if (!first)
          g_string_append_c (out, '/');
        g_string_append (out, parts[i]);
        first = FALSE;
      }
  return g_string_free (out, FALSE);
}

/* The val list: normalised entries, with a count of the photos each one
 * matched. */
static GPtrArray *
read_val_list (const char *path, GError **error)
{
  g_autofree gchar *text = NULL;
  g_auto(GStrv) lines = NULL;
  GPtrArray *list;

  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  list = g_ptr_array_new_with_free_func (g_free);
  lines = g_strsplit (text, "\n", -1);
  for (gint i = 0; lines[i]; i++)
    {
      g_strchomp (lines[i]);   /* also a \r of CRLF files */
      if (*lines[i])
        g_ptr_array_add (list, normalise (lines[i]));
    }
  return list;
}

/* A photo is "val" when its absolute path ends with a listed path at a
 * component boundary (so "london/001.jpg" matches ".../london/001.jpg", not
 * ".../xlondon/001.jpg"); a listed absolute path only matches itself. */
static NpSplit
split_of (const char *absolute, GPtrArray *val, guint *matches)
{
  gsize n = strlen (absolute);

  for (guint i = 0; val && i < val->len; i++)
    {
      const char *entry = val->pdata[i];
      gsize       m = strlen (entry);

      if (m <= n && strcmp (absolute + n - m, entry) == 0
          && (m == n || (entry[0] != '/' && absolute[n - m - 1] == '/')))
        {
          if (matches)
            matches[i]++;
          return NP_SPLIT_VAL;
        }
    }
  return NP_SPLIT_TRAIN;
}

/* ---- one photo ------------------------------------------------------------ */

/* The crops of one photo: its largest face (or every face), or its centre
 * when there is none; nothing is written yet, so a photo that fails here
 * leaves no trace in the dataset. */
static GArray *
crop_photo (const char *file, const NpFaceFinder *finder, const NpHaarCascade *eye_cascade,
            gint width, gint height, GError **error)
{
  g_autoptr(GeglBuffer) buffer = NULL;
  g_autoptr(NpImage) rgb = NULL, gray = NULL;
  g_autoptr(GArray) faces = NULL, crops = g_array_new (FALSE, TRUE, sizeof (Crop));
  guint n;

  g_array_set_clear_func (crops, crop_clear);
  if (!g_utf8_validate (file, -1, NULL))
    {
      g_autofree gchar *name = g_filename_display_name (file);
      g_set_error (error, NP_ERROR, NP_ERROR_INVALID_ARGUMENT,
                   "%s: the file name is not UTF-8, which the manifest needs: rename it", name);
      return NULL;
    }
  if (!(buffer = cli_load_image (file, NULL, error))
      || !(rgb = cli_read_rgb (buffer, error))
      || !(gray = np_haar_gray (rgb, error))
      || !(faces = cli_find_faces (&opts, finder, gray, error)))
    return NULL;

  n = faces->len == 0 ? 1 : opt_all_faces ? faces->len : 1;
  for (guint k = 0; k < n; k++)
    {
      Crop crop = { NULL };

      crop.has_face = k < faces->len;
      if (crop.has_face)
        crop.face = g_array_index (faces, NpHaarBox, k);
      g_array_append_val (crops, crop);
      {
        Crop *c = &g_array_index (crops, Crop, k);
        c->image = np_face_crop (rgb, c->has_face ? &c->face : NULL, width, height, error);
        c->eyes = c->has_face ? np_haar_find_eyes (eye_cascade, gray, &c->face, cli_threads (), error)
                              : g_array_new (FALSE, FALSE, sizeof (NpHaarBox));
        if (c->image == NULL || c->eyes == NULL)
          return NULL;
      }
    }
  return g_steal_pointer (&crops);
}

/* The folder among the photos' own that holds path (or is it), or NULL.
 * Each folder is resolved once, however many photos it holds (every task
 * of a batch does this). */
static gchar *
photo_folder_holding (const char *path, char **inputs, GPtrArray *files)
{
  g_autoptr(GPtrArray) folders = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree gchar *resolved = resolve (path);

  for (gint i = 0; inputs && inputs[i]; i++)
    if (g_file_test (inputs[i], G_FILE_TEST_IS_DIR))
      g_ptr_array_add (folders, resolve (inputs[i]));
  for (guint i = 0; i < files->len; i++)
    {
      gchar *dir = g_path_get_dirname (files->pdata[i]);

      if (g_hash_table_contains (seen, dir))
        g_free (dir);
      else
        {
          g_hash_table_add (seen, dir);
          g_ptr_array_add (folders, resolve (dir));
        }
    }
  for (guint i = 0; i < folders->len; i++)
    if (is_inside (resolved, folders->pdata[i]))
      return g_strdup (folders->pdata[i]);
  return NULL;
}

typedef struct
{
  NpDatasetWriter     *writer;
  GPtrArray           *val;
  const NpFaceFinder  *finder;
  const NpHaarCascade *eye_cascade;
  gint                 width, height;
  guint                photos, centre, gray, in_val;
  gboolean             broken;   /* the dataset failed (a full disk), not a photo */
} Prepare;

/* One photo: its crops into the dataset. */
static gboolean
prepare_one (const char *file, gpointer data, gboolean *stop, GError **error)
{
  Prepare          *p = data;
  g_autofree gchar *absolute = g_canonicalize_filename (file, NULL);
  g_autofree gchar *dir = g_path_get_dirname (absolute);
  g_autofree gchar *subset = g_path_get_basename (dir);
  g_autoptr(GArray) crops = crop_photo (file, p->finder, p->eye_cascade, p->width, p->height, error);
  NpSplit split = split_of (absolute, p->val, NULL);

  if (crops == NULL)
    return FALSE;
  for (guint k = 0; k < crops->len; k++)
    {
      const Crop           *c = &g_array_index (crops, Crop, k);
      const NpDatasetSource source = {
        file, strcmp (subset, "/") == 0 ? "" : subset, split,
        c->has_face ? &c->face : NULL, (const NpHaarBox *) c->eyes->data, c->eyes->len,
      };
      NpCropStats stats;

      /* A failure here is the dataset's (a full disk), not the photo's: it
       * ends the run, and nothing is left behind. */
      if (!np_dataset_writer_add (p->writer, c->image, &source, cli_threads (), &stats, error))
        {
          p->broken = *stop = TRUE;
          return FALSE;
        }
      p->centre += !c->has_face;
      p->gray += stats.is_gray;
      p->in_val += split == NP_SPLIT_VAL;
    }
  p->photos++;
  return TRUE;
}

/* A typo in the val list would put validation photos in training: entries
 * that match none of the photos (of every shard) are reported. */
static void
check_val_list (GPtrArray *val, GPtrArray *all)
{
  g_autofree guint *matches = g_new0 (guint, val->len);
  g_autofree gchar *cwd = g_get_current_dir ();
  guint       unmatched = 0;
  const char *first_unmatched = NULL;

  for (guint i = 0; i < all->len; i++)
    {
      g_autofree gchar *absolute = g_canonicalize_filename (all->pdata[i], cwd);
      split_of (absolute, val, matches);
    }
  for (guint i = 0; i < val->len; i++)
    if (matches[i] == 0 && unmatched++ == 0)
      first_unmatched = val->pdata[i];
  if (unmatched)
    g_printerr ("neuropaint prepare: warning: %u of the %u --val-list entries match no photo "
                "(the first: %s)\n", unmatched, val->len, first_unmatched);
}

/* Crops every photo into the dataset at output and commits it; prints the
 * summary. A shard's part is written also when none of its photos could be
 * read, so that merge knows the shard is done. */
static int
prepare_photos (const char *output, GPtrArray *files, gboolean is_part, GPtrArray *val,
                const NpFaceFinder *finder, const NpHaarCascade *eye_cascade, gint width, gint height)
{
  g_autoptr(NpDatasetWriter) writer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) skipped = g_ptr_array_new ();
  Prepare     p = { NULL, val, finder, eye_cascade, width, height };
  int         code;

  if (!(writer = np_dataset_writer_new (output, width, height, NULL, &error)))
    return cli_fail ("prepare", CLI_EXIT_FAILED, "%s", error->message);
  p.writer = writer;
  code = cli_each_input ("prepare", "prepare", files, prepare_one, &p, skipped);
  if (p.broken)
    return code;
  /* Listed in the dataset, so a merge of the shards' parts can say which. */
  for (guint i = 0; i < skipped->len; i++)
    {
      g_autofree gchar *name = g_filename_display_name (skipped->pdata[i]);
      np_dataset_writer_skip (writer, name);
    }
  if (np_dataset_writer_count (writer) == 0 && !is_part)
    return cli_fail ("prepare", CLI_EXIT_FAILED, "none of the %u photos could be read: "
                        "nothing written", files->len);
  if (!np_dataset_writer_commit (writer, &error))
    return cli_fail ("prepare", CLI_EXIT_FAILED, "%s", error->message);
  g_print ("%u crops from %u photos in %s (%u centre crops where no face was found, %u gray, "
           "%u in the val split)\n", np_dataset_writer_count (writer), p.photos,
           output, p.centre, p.gray, p.in_val);
  return code;
}

/* Every check that needs no GEGL comes first, so a usage error is instant;
 * GEGL (which decodes the photos) starts once the work is sure to begin. */
int
cli_cmd_prepare (int argc, char **argv, gboolean do_help)
{
  g_autoptr(NpFaceFinder) finder = NULL;
  g_autoptr(NpHaarCascade) eye_cascade = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) files = NULL, mine = NULL, val = NULL;
  g_autofree gchar *folder = NULL, *output = NULL;
  CliShard shard;
  gint width, height;
  int  code;

  if (!cli_parse ("prepare", "PHOTO|DIR…",
                     "Make a training dataset from photos: the seed's face crops and their "
                     "gray, binary, contours and canny versions, with a manifest.",
                     "Finds faces as `neuropaint detect` does, crops the largest (every one with\n"
                     "--all-faces) with the seed's padding, bicubically to --size; a photo without a\n"
                     "face gives its centre (\"face\": null in the manifest). Photos that are gray\n"
                     "already are flagged (\"gray\": true). Unreadable photos are reported and skipped\n"
                     "(exit status 2). The dataset is written whole or not at all, never inside a\n"
                     "photo folder; docs/datasets.md describes it. A batch split with --shard I/N\n"
                     "writes the part DATASET.part-I-of-N (faces.part-0-of-4.dataset for\n"
                     "faces.dataset) instead, which `neuropaint merge DATASET` joins into the\n"
                     "dataset one process would have made (docs/scale-out.md).\n"
                     "Example: neuropaint prepare faces/london-neutral faces/fairface -o faces.dataset \\\n"
                     "           --val-list faces/val.txt",
                     entries, &argc, &argv, do_help, &code))
    return code;
  if (!cli_detect_check ("prepare", &opts, &code))
    return code;
  if (opt_output == NULL)
    return cli_fail ("prepare", CLI_EXIT_USAGE, "--output DATASET is required");
  if (!cli_parse_size (opt_size, &width, &height))
    return cli_fail ("prepare", CLI_EXIT_USAGE, "--size must be WIDTHxHEIGHT, each 1–8192 (got “%s”)", opt_size);
  if (!cli_batch_inputs ("prepare", &opt_batch, opt_inputs, &files, &mine, &shard, &code))
    return code;
  output = cli_shard_path (&shard, opt_output);
  /* The photos' folders are read-only to us: the dataset goes elsewhere. */
  if ((folder = photo_folder_holding (output, opt_inputs, files)))
    return cli_fail ("prepare", CLI_EXIT_USAGE, "--output %s is inside the photo folder %s: "
                        "put the dataset somewhere else", output, folder);
  if (opt_val_list && !(val = read_val_list (opt_val_list, &error)))
    return cli_fail ("prepare", CLI_EXIT_FAILED, "--val-list: %s", error->message);
  if (val)
    check_val_list (val, files);
  if (opt_batch.skip_existing)
    {
      g_autoptr(NpDataset) done = NULL;
      g_autofree gchar *info = g_build_filename (output, "dataset.json", NULL);

      if (g_file_test (info, G_FILE_TEST_EXISTS) && (done = np_dataset_open (output, NULL)))
        {
          g_print ("%s is complete already (%u crops): nothing to do\n", output, np_dataset_size (done));
          return CLI_EXIT_OK;
        }
    }
  if (!(finder = np_face_finder_new (opts.cascade, opts.verify_eyes, &error))
      || !(eye_cascade = np_haar_cascade_load (NP_HAAR_EYE, &error))
      || !cli_gegl_init (&error))
    return cli_fail ("prepare", CLI_EXIT_FAILED, "%s", error->message);

  code = prepare_photos (output, mine, shard.count > 1, val, finder, eye_cascade, width, height);
  gegl_exit ();
  return code;
}
