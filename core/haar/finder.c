/* neuropaint — NpFaceFinder: the one path from a picture to its faces that
 * the face ops, `neuropaint detect`, `crop` and `bench detect` share. */
#include "np-haar.h"

struct _NpFaceFinder
{
  NpHaarCascade *cascade;
  NpHaarCascade *eyes;      /* NULL: no eye verification */
};

NpFaceFinder *
np_face_finder_new (const char *cascade_path, gboolean verify_eyes, GError **error)
{
  g_autoptr(NpHaarCascade) cascade = NULL, eyes = NULL;
  NpFaceFinder *finder;

  cascade = np_haar_cascade_load (cascade_path ? cascade_path : NP_HAAR_FRONTAL_FACE, error);
  if (cascade == NULL)
    return NULL;
  if (verify_eyes && !(eyes = np_haar_cascade_load (NP_HAAR_EYE, error)))
    return NULL;
  finder = g_new (NpFaceFinder, 1);
  finder->cascade = g_steal_pointer (&cascade);
  finder->eyes = g_steal_pointer (&eyes);
  return finder;
}

void
np_face_finder_free (NpFaceFinder *finder)
{
  if (finder == NULL)
    return;
  np_haar_cascade_free (finder->cascade);
  np_haar_cascade_free (finder->eyes);
  g_free (finder);
}

GArray *
np_face_finder_find (const NpFaceFinder *finder,
                     const NpImage      *image,
                     const NpHaarParams *params,
                     gint                n_threads,
                     GError            **error)
{
  g_autoptr(NpImage) converted = NULL;
  const NpImage     *gray = image;
  GArray            *faces;

  g_return_val_if_fail (finder != NULL && image != NULL && params != NULL, NULL);
  g_return_val_if_fail (image->type == NP_SAMPLE_U8, NULL);

  /* The cascades are read-only once loaded and every buffer belongs to this
   * call, so any number of threads may share one finder. */
  if (image->channels != 1)
    {
      if (!(converted = np_haar_gray (image, error)))
        return NULL;
      gray = converted;
    }
  faces = np_haar_detect (finder->cascade, gray, params, n_threads, error);
  if (faces && finder->eyes && !np_haar_verify_eyes (finder->eyes, gray, faces, n_threads, error))
    g_clear_pointer (&faces, g_array_unref);
  return faces;
}
