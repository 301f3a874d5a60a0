/* neuropaint — image files: loading (type by content, header checked against
 * --max-pixels before decoding, colour space from the file's profile) and
 * saving atomically by extension; whether an output another run left is whole. */
#define _POSIX_C_SOURCE 200809L

#include "config.h"
#include "cli.h"

#include <gegl-plugin.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

gint64 cli_max_pixels = NP_IMAGE_DEFAULT_MAX_PIXELS;

/* The GEGL loader for the image type the first bytes say, or NULL. */
static const char *
sniff_loader (const guint8 *magic, gsize size)
{
  static const struct { const char *bytes; gsize length; const char *loader; } types[] = {
    { "\x89PNG\r\n\x1a\n", 8, "gegl:png-load" },
    { "II*\0", 4, "gegl:tiff-load" },
    { "MM\0*", 4, "gegl:tiff-load" },
    { "v/1\x01", 4, "gegl:exr-load" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    if (size >= types[i].length && memcmp (magic, types[i].bytes, types[i].length) == 0)
      return types[i].loader;
  if (size >= 12 && memcmp (magic, "RIFF", 4) == 0 && memcmp (magic + 8, "WEBP", 4) == 0)
    return "gegl:webp-load";
  return NULL;
}

/* The colour space of an embedded RGB or gray ICC profile, or sRGB: for
 * one babl cannot read (broken, cut short), as GEGL's PNG loader does, and
 * for a CMYK one, which describes the inks our decoder already made RGB. */
static const Babl *
icc_space (GBytes *icc)
{
  const char *why = NULL;
  const Babl *space = icc ? babl_space_from_icc (g_bytes_get_data (icc, NULL), (int) g_bytes_get_size (icc),
                                                 BABL_ICC_INTENT_RELATIVE_COLORIMETRIC, &why)
                          : NULL;

  return space && !babl_space_is_cmyk (space) ? space : babl_space ("sRGB");
}

static GeglBuffer *
load_jpeg (const char *path, const Babl *format, GError **error)
{
  g_autoptr(GBytes) bytes = np_file_read (path, G_MAXSIZE, error);
  g_autoptr(GBytes) icc = NULL;
  g_autoptr(NpImage) image = NULL;
  const Babl   *rgb;
  GeglRectangle box;
  GeglBuffer   *buffer;

  if (bytes == NULL)
    return NULL;
  image = np_jpeg_decode (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), cli_max_pixels, error);
  if (image == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  /* The values as decoded, in the colour space of the file's profile, as
   * GEGL's loaders give PNG and TIFF files. */
  icc = np_jpeg_icc_profile (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  rgb = babl_format_with_space ("R'G'B' u8", icc_space (icc));
  box = (GeglRectangle) { 0, 0, image->width, image->height };
  buffer = gegl_buffer_new (&box, format ? format : rgb);
  gegl_buffer_set (buffer, &box, 0, rgb, image->data, image->stride);
  return buffer;
}

/* Through GEGL's loader for the sniffed type (never gegl:load, which picks
 * by extension, so a text file named .jpg reached libjpeg, which exits). The
 * header's size is checked before a pixel is decoded. */
static GeglBuffer *
load_gegl (const char *path, const char *loader, const Babl *space, const Babl *format, GError **error)
{
  g_autoptr(GeglNode) graph = gegl_node_new ();
  g_autoptr(GError) size_error = NULL;
  GeglNode     *load, *sink;
  GeglBuffer   *buffer = NULL;
  GeglRectangle box;
  CliLogCapture  capture;

  if (!gegl_has_operation (loader))
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED, "%s: this GEGL has no %s to read it", path, loader);
      return NULL;
    }
  cli_log_capture_begin (&capture, NULL, NULL);
  load = gegl_node_new_child (graph, "operation", loader, "path", path, NULL);
  box = gegl_node_get_bounding_box (load);
  if (box.width > 0 && box.height > 0
      && np_image_check_decode_size (box.width, box.height, cli_max_pixels, &size_error))
    {
      const Babl *own = gegl_operation_get_format (gegl_node_get_gegl_operation (load), "output");
      GeglNode   *end = load;

      if (space)   /* the file's profile, which the loader left out */
        {
          end = gegl_node_new_child (graph, "operation", "gegl:cast-space", "pointer", space, NULL);
          own = own ? babl_format_with_space (babl_format_get_encoding (own), space) : NULL;
        }
      /* The file's own format keeps its space; a format asked for is
       * converted to. */
      buffer = gegl_buffer_new (&box, format ? format : own ? own : babl_format ("R'G'B'A float"));
      sink = gegl_node_new_child (graph, "operation", "gegl:write-buffer", "buffer", buffer, NULL);
      if (end != load)
        gegl_node_link (load, end);
      gegl_node_link (end, sink);
      gegl_node_process (sink);
    }
  if (!cli_log_capture_end (&capture, path, error))
    {
      g_clear_object (&buffer);
      /* A loader that fails without a word leaves GEGL's assertion on the
       * empty result: no news to the user. */
      if (error && *error && strstr ((*error)->message, ": assertion '"))
        {
          g_clear_error (error);
          g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s: a corrupt or truncated image (%s could not decode it)",
                       path, loader);
        }
    }
  else if (size_error)
    g_propagate_prefixed_error (error, g_steal_pointer (&size_error), "%s: ", path);
  else if (buffer == NULL)
    g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s: a corrupt or empty image", path);
  return buffer;
}

/* libtiff and libwebp allocate for the size their header claims as GEGL
 * asks it: read the claim first (np_header_check). PNG's and OpenEXR's
 * loaders read no more than the header for GEGL's bounding box. */
static gboolean
check_header (const char *path, const char *loader, GBytes **icc, GError **error)
{
  g_autoptr(GMappedFile) file = NULL;
  const guint8 *data;
  gint64 width, height;

  if (!g_str_equal (loader, "gegl:tiff-load") && !g_str_equal (loader, "gegl:webp-load"))
    return TRUE;
  if (!(file = g_mapped_file_new (path, FALSE, error)))
    return FALSE;
  data = (const guint8 *) g_mapped_file_get_contents (file);
  if (!np_header_check (data, g_mapped_file_get_length (file), cli_max_pixels, &width, &height, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  /* GEGL's WebP loader reads no profile (its TIFF loader does). */
  *icc = np_header_webp_icc (data, g_mapped_file_get_length (file));
  return TRUE;
}

/* The PNG at path turned upright as its eXIf chunk says (GEGL's loader
 * ignores it; our JPEG decoder applies EXIF's). Costs two copies of the
 * pixels, for such files only. */
static GeglBuffer *
orient_png (const char *path, GeglBuffer *buffer)
{
  g_autoptr(GMappedFile) file = g_mapped_file_new (path, FALSE, NULL);
  const GeglRectangle *box = gegl_buffer_get_extent (buffer);
  const Babl          *format = gegl_buffer_get_format (buffer);
  gsize                bpp = babl_format_get_bytes_per_pixel (format);
  gint                 o = file ? np_header_png_orientation ((const guint8 *) g_mapped_file_get_contents (file),
                                                             g_mapped_file_get_length (file))
                                : 1;
  GeglRectangle        upright = { 0, 0, o >= 5 ? box->height : box->width, o >= 5 ? box->width : box->height };
  g_autofree guint8   *in = NULL, *out = NULL;
  GeglBuffer          *turned;

  if (o == 1)
    return buffer;
  in = g_malloc (bpp * box->width * box->height);
  out = g_malloc (bpp * box->width * box->height);
  gegl_buffer_get (buffer, box, 1.0, format, in, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  np_image_orient_pixels (in, box->width, box->height, bpp * box->width, bpp, o, out, bpp * upright.width);
  turned = gegl_buffer_new (&upright, format);
  gegl_buffer_set (turned, &upright, 0, format, out, GEGL_AUTO_ROWSTRIDE);
  g_object_unref (buffer);
  return turned;
}

GeglBuffer *
cli_load_image (const char *path, const Babl *format, GError **error)
{
  guint8       magic[12];
  gssize       n;
  gint         fd = np_file_open (path, error);
  const char  *loader;
  GeglBuffer  *buffer;
  g_autoptr(GBytes) icc = NULL;

  if (fd < 0)
    return NULL;
  n = read (fd, magic, sizeof magic);
  close (fd);
  if (n <= 0)
    {
      g_set_error (error, NP_ERROR, NP_ERROR_CORRUPT, "%s: %s", path, n == 0 ? "empty file" : g_strerror (errno));
      return NULL;
    }
  if (np_jpeg_sniff (magic, n))
    buffer = load_jpeg (path, format, error);
  else if ((loader = sniff_loader (magic, n)) != NULL)
    {
      buffer = check_header (path, loader, &icc, error)
                 ? load_gegl (path, loader, icc ? icc_space (icc) : NULL, format, error) : NULL;
      if (buffer && g_str_equal (loader, "gegl:png-load"))
        buffer = orient_png (path, buffer);
    }
  else
    {
      g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
                   "%s: not an image (its first bytes are those of no JPEG, PNG, TIFF, WebP or OpenEXR file)",
                   path);
      return NULL;
    }
  /* The area limit is the user's (the side limit is not). */
  if (buffer == NULL && error && *error && g_error_matches (*error, NP_ERROR, NP_ERROR_TOO_LARGE))
    {
      gchar *message = g_strconcat ((*error)->message, " (raise it with --max-pixels)", NULL);
      g_free ((*error)->message);
      (*error)->message = message;
    }
  return buffer;
}

/* Whether an image file another run left is whole (--skip-existing): a
 * regular file whose last bytes are those a complete file of its type ends
 * with (PNG's IEND chunk, JPEG's end-of-image marker) or whose size is the
 * one its header gives (WebP's RIFF size). Our own outputs are atomic; this
 * catches a file cut by another program, a crash of an older version or a
 * `touch`. TIFF and OpenEXR say where their data ends in tables only a
 * decoder reads, so they are decoded. */
gboolean
cli_output_complete (const char *path)
{
  static const guint8 iend[12] = { 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82 };
  g_autoptr(GeglBuffer) buffer = NULL;
  guint8      head[12], tail[12];
  struct stat st;
  gint        fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  gboolean    read_ok;

  if (fd < 0)
    return FALSE;
  read_ok = fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size >= (goffset) sizeof head
            && pread (fd, head, sizeof head, 0) == sizeof head
            && pread (fd, tail, sizeof tail, st.st_size - sizeof tail) == sizeof tail;
  close (fd);
  if (!read_ok)
    return FALSE;
  if (memcmp (head, "\x89PNG\r\n\x1a\n", 8) == 0)
    return memcmp (tail, iend, sizeof iend) == 0;
  if (np_jpeg_sniff (head, sizeof head))
    return tail[10] == 0xFF && tail[11] == 0xD9;
  if (memcmp (head, "RIFF", 4) == 0 && memcmp (head + 8, "WEBP", 4) == 0)
    return GUINT32_FROM_LE (*(guint32 *) (gpointer) (head + 4)) + (goffset) 8 == st.st_size;
  return sniff_loader (head, sizeof head) != NULL
    && (buffer = cli_load_image (path, NULL, NULL)) != NULL;
}

/* The file types the command writes, by extension; saver NULL: ours (JPEG,
 * whose errors GEGL's jpg-save cannot report: libjpeg exits the process). */
typedef struct
{
  const char *ext;
  const char *saver;
} CliOutputType;

static const CliOutputType output_types[] = {
  { "png", "gegl:png-save" },
  { "jpg", NULL },
  { "jpeg", NULL },
  { "tif", "gegl:tiff-save" },
  { "tiff", "gegl:tiff-save" },
  { "webp", "gegl:webp-save" },
  { "exr", "gegl:exr-save" },
};

static const CliOutputType *
output_type (const char *path)
{
  g_autofree gchar *base = g_path_get_basename (path);
  const char *dot = strrchr (base, '.');

  if (dot && dot != base)
    for (guint i = 0; i < G_N_ELEMENTS (output_types); i++)
      if (g_ascii_strcasecmp (dot + 1, output_types[i].ext) == 0
          && (output_types[i].saver == NULL || gegl_has_operation (output_types[i].saver)))
        return &output_types[i];
  return NULL;
}

gboolean
cli_check_output_name (const char *path, GError **error)
{
  g_autoptr(GString) known = g_string_new (NULL);

  if (output_type (path))
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (output_types); i++)
    if (output_types[i].saver == NULL || gegl_has_operation (output_types[i].saver))
      g_string_append_printf (known, "%s.%s", known->len ? ", " : "", output_types[i].ext);
  g_set_error (error, NP_ERROR, NP_ERROR_UNSUPPORTED,
               "“%s”: unknown file type (known: %s)", path, known->str);
  return FALSE;
}

gboolean
cli_save (GeglNode *output_node, const char *path, GError **error)
{
  return cli_save_png_depth (output_node, path, 8, error);
}

static gboolean
save_jpeg (GeglNode *output_node, const GeglRectangle *box, NpOutput *output, GError **error)
{
  g_autoptr(NpImage) image = np_image_new (NP_SAMPLE_U8, box->width, box->height, 3, error);
  CliLogCapture capture;

  if (image == NULL)
    return FALSE;
  cli_log_capture_begin (&capture, NULL, NULL);
  gegl_node_blit (output_node, 1.0, box, babl_format ("R'G'B' u8"), image->data, image->stride,
                  GEGL_BLIT_DEFAULT);
  /* The quality and options of GEGL's jpg-save: 90, 4:4:4, progressive. */
  return cli_log_capture_end (&capture, np_output_path (output), error)
    && np_jpeg_write (image, output, 90, error);
}

gboolean
cli_save_to_output (GeglNode *output_node, NpOutput *output, gint png_bit_depth,
                       GError **error)
{
  const char   *path = np_output_path (output);
  const CliOutputType *type = output_type (path);
  GeglNode     *graph = gegl_node_get_parent (output_node);
  GeglRectangle box = gegl_node_get_bounding_box (output_node);
  GeglNode     *save, *srgb = NULL;
  const Babl   *produced;
  CliLogCapture  capture;
  GStatBuf      st;
  gboolean      ok;

  g_return_val_if_fail (png_bit_depth == 8 || png_bit_depth == 16, FALSE);
  if (type == NULL)
    return cli_check_output_name (path, error);
  if (box.width <= 0 || box.height <= 0 || gegl_rectangle_is_infinite_plane (&box))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: the graph produces no finite image to save", path);
      return FALSE;
    }
  if (type->saver == NULL)
    return save_jpeg (output_node, &box, output, error);

  /* Files are written in sRGB, converted from the input's colour space (its
   * ICC profile), as our JPEG encoder's blit does: GEGL's png-save writes
   * any other space's primaries as a cHRM chunk, which libpng refuses for
   * wide gamuts (Display P3, Rec. 2020: "invalid chromaticities"), next to
   * a wrong gAMA, and a gray profile into an RGB file. The bounding box
   * above prepared the graph, so the format the end gives is known; in sRGB
   * already it goes straight to the saver (a conversion node costs a copy). */
  produced = gegl_operation_get_format (gegl_node_get_gegl_operation (output_node), "output");
  if (produced == NULL || babl_format_get_space (produced) != babl_space ("sRGB"))
    srgb = gegl_node_new_child (graph, "operation", "gegl:convert-space", "space-name", "sRGB", NULL);
  /* GEGL's saver fills the temporary file by a name of its own (see
   * np_output_writer_path): messages show the final name instead. */
  save = gegl_node_new_child (graph, "operation", type->saver,
                              "path", np_output_writer_path (output), NULL);
  /* PNG is 8-bit unless asked otherwise: what image viewers and the seed used. */
  if (g_str_equal (type->saver, "gegl:png-save"))
    gegl_node_set (save, "bitdepth", png_bit_depth, NULL);
  if (srgb)
    gegl_node_link_many (output_node, srgb, save, NULL);
  else
    gegl_node_link (output_node, save);

  cli_log_capture_begin (&capture, np_output_writer_path (output), path);
  gegl_node_process (save);
  ok = cli_log_capture_end (&capture, path, error);
  gegl_node_remove_child (graph, save);
  if (srgb)
    gegl_node_remove_child (graph, srgb);

  if (ok && (g_stat (np_output_writer_path (output), &st) != 0 || st.st_size == 0))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: GEGL wrote nothing", path);
      ok = FALSE;
    }
  return ok;
}

gboolean
cli_save_png_depth (GeglNode *output_node, const char *path, gint png_bit_depth,
                       GError **error)
{
  g_autoptr(NpOutput) output = NULL;

  /* Refused before a temporary file is made. */
  if (!cli_check_output_name (path, error))
    return FALSE;
  output = np_output_new (path, error);
  return output && cli_save_to_output (output_node, output, png_bit_depth, error)
    && np_output_commit (output, error);
}
