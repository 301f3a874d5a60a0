/* neuropaint — Haar-cascade object detection, as OpenCV 4.6's CascadeClassifier.
 *
 * A cascade is loaded once from one of OpenCV's XML files (the current
 * "opencv-cascade-classifier" format with BOOST stages and HAAR features, or
 * the old "opencv-haar-classifier" format, which OpenCV converts on load too)
 * and is then read-only: any number of threads may detect with it.
 *
 *   g_autoptr(NpHaarCascade) cascade = np_haar_cascade_load (path, &error);
 *   NpHaarParams params = NP_HAAR_PARAMS_INIT;
 *   g_autoptr(GArray) faces = np_haar_detect (cascade, gray, &params, 2, &error);
 *   // faces: NpHaarBox, largest area first
 *
 * np_haar_detect gives the boxes cv::CascadeClassifier::detectMultiScale gives
 * for the same 8-bit gray image and parameters: each pyramid level is the
 * image resized by OpenCV's bit-exact bilinear rule, windows are
 * variance-normalised over the window inset by one pixel, the step is 2 below
 * scale 2 and 1 above, a window rejected by the first stage skips its right
 * neighbour, and candidates are merged by groupRectangles (eps 0.2).
 */
#pragma once

#include <glib.h>
#include "image/np-image.h"

G_BEGIN_DECLS

typedef struct _NpHaarCascade NpHaarCascade;

/* Where Debian's opencv-data puts the cascades. */
#define NP_HAAR_CASCADE_DIR      "/usr/share/opencv4/haarcascades"
#define NP_HAAR_FRONTAL_FACE     NP_HAAR_CASCADE_DIR "/haarcascade_frontalface_default.xml"
#define NP_HAAR_EYE              NP_HAAR_CASCADE_DIR "/haarcascade_eye.xml"

/* Cascade files larger than this are refused before parsing. */
#define NP_HAAR_MAX_FILE_SIZE    (64 << 20)
/* OpenCV keeps the squared integral in 32 bits: a window of more than 256×256
 * pixels would overflow it, so larger windows are refused. */
#define NP_HAAR_MAX_WINDOW       256

/* Fails with NP_ERROR_IO (unreadable), NP_ERROR_CORRUPT (not a cascade, or
 * counts, indices, rectangles or numbers that do not add up) or
 * NP_ERROR_UNSUPPORTED (LBP/HOG features, categorical trees, stage trees),
 * always with a message naming the element at fault; never crashes. */
NpHaarCascade *np_haar_cascade_load        (const char *path, GError **error);
NpHaarCascade *np_haar_cascade_load_data   (const char *data, gsize size, GError **error);
void           np_haar_cascade_free        (NpHaarCascade *cascade);

void           np_haar_cascade_window      (const NpHaarCascade *cascade,
                                            gint *width, gint *height);
guint          np_haar_cascade_n_stages    (const NpHaarCascade *cascade);
guint          np_haar_cascade_n_features  (const NpHaarCascade *cascade);
gboolean       np_haar_cascade_has_tilted  (const NpHaarCascade *cascade);
/* The largest weak classifier: 1 for stump cascades. */
guint          np_haar_cascade_max_depth   (const NpHaarCascade *cascade);

typedef struct
{
  gint x, y, width, height;
  gint neighbours;   /* raw candidates merged into the box (0 without grouping) */
} NpHaarBox;

typedef struct
{
  gdouble scale_factor;   /* > 1: each pyramid level is this much coarser */
  gint    min_neighbours; /* groupRectangles' threshold; 0 returns raw candidates */
  gint    min_width, min_height;  /* smallest box; 0 for the cascade's window */
  gint    max_width, max_height;  /* largest box; 0 for the image size */
} NpHaarParams;

#define NP_HAAR_PARAMS_INIT { 1.1, 3, 0, 0, 0, 0 }

/* Detects in an 8-bit, one-channel image. Returns a GArray of NpHaarBox in
 * image coordinates (clipped to it), sorted by decreasing area (then top,
 * then left), the same for any n_threads. NULL with NP_ERROR_INVALID_ARGUMENT
 * for a scale factor outside (1, 100] or negative sizes, NP_ERROR_TOO_LARGE
 * for an image whose integral images cannot be addressed or allocated. */
GArray        *np_haar_detect              (const NpHaarCascade *cascade,
                                            const NpImage       *gray,
                                            const NpHaarParams  *params,
                                            gint                 n_threads,
                                            GError             **error);

/* OpenCV's groupRectangles(rects, min_neighbours, eps) on an array of
 * NpHaarBox, in place. */
void           np_haar_group               (GArray *boxes, gint min_neighbours,
                                            gdouble eps);

/* The eyes eye_cascade finds in the upper half of face (clipped to the
 * image; scale factor 1.1, 3 neighbours, eyes at least 1/10 of the face
 * wide), as NpHaarBox in image coordinates, largest first; fails as
 * np_haar_detect does. */
GArray        *np_haar_find_eyes           (const NpHaarCascade *eye_cascade,
                                            const NpImage       *gray,
                                            const NpHaarBox     *face,
                                            gint                 n_threads,
                                            GError             **error);

/* Keeps the faces in which np_haar_find_eyes finds at least one eye. */
gboolean       np_haar_verify_eyes         (const NpHaarCascade *eye_cascade,
                                            const NpImage       *gray,
                                            GArray              *faces,
                                            gint                 n_threads,
                                            GError             **error);

/* A cascade (plus, optionally, haarcascade_eye.xml to verify faces) ready to
 * find faces: what the face ops and the CLI share. Read-only once made, so
 * any number of threads may call np_face_finder_find on one finder at once.
 *
 *   g_autoptr(NpFaceFinder) finder = np_face_finder_new (NULL, FALSE, &error);
 *   g_autoptr(GArray) faces = np_face_finder_find (finder, rgb, &params, 2, &error);
 */
typedef struct _NpFaceFinder NpFaceFinder;

/* cascade_path NULL means NP_HAAR_FRONTAL_FACE; fails as
 * np_haar_cascade_load does, for either cascade. */
NpFaceFinder  *np_face_finder_new          (const char *cascade_path, gboolean verify_eyes,
                                            GError **error);
void           np_face_finder_free         (NpFaceFinder *finder);

/* The faces (NpHaarBox, largest first) in an 8-bit gray, RGB or RGBA image,
 * as np_haar_detect (on np_haar_gray's luma for colour images) followed by
 * np_haar_verify_eyes when the finder verifies eyes; fails as they do. */
GArray        *np_face_finder_find         (const NpFaceFinder *finder,
                                            const NpImage      *image,
                                            const NpHaarParams *params,
                                            gint                n_threads,
                                            GError            **error);

/* 8-bit luma of an 8-bit gray, RGB or RGBA image with OpenCV 4.6's
 * fixed-point RGB2GRAY (alpha ignored), so detection sees OpenCV's pixels. */
NpImage       *np_haar_gray                (const NpImage *image, GError **error);

/* The seed's face crop for box (x, y, w, h): dw = w/2, dh = dw·4/3; a
 * 1.5w × 2w rectangle at (x − dw/2, y − 0.75·dh), clipped to the image.
 * Returns FALSE when nothing of it lies in the image. */
gboolean       np_face_crop_rect           (const NpHaarBox *face,
                                            gint image_width, gint image_height,
                                            gint *x, gint *y, gint *width, gint *height);

/* The crop of face (or, when face is NULL or outside the image, the largest
 * centred rectangle of the output's aspect), resampled bicubically to
 * width×height; same sample type and channels as image. */
NpImage       *np_face_crop                (const NpImage *image, const NpHaarBox *face,
                                            gint width, gint height, GError **error);

/* The boxes as a JSON array: [{"x": .., "y": .., "w": .., "h": ..}, ...]. */
gchar         *np_haar_boxes_json          (const GArray *boxes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpHaarCascade, np_haar_cascade_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NpFaceFinder, np_face_finder_free)

G_END_DECLS
