/* neuropaint — NumPy .npy files (numpy.lib.format, version 1.0).
 *
 * A .npy file is a 10-byte preamble (magic "\x93NUMPY", version 1.0, the
 * header length), a header holding a Python dict literal such as
 * {'descr': '|u1', 'fortran_order': False, 'shape': (2, 320, 256, 3), }
 * padded with spaces to a newline, and the raw array in C order.
 *
 * np_npy_save writes the exact float output of a stage, for checks by an
 * independent program (the NumPy oracle reads it with numpy.load); the
 * header functions serve writers that stream an array whose outer size is
 * known only at the end (datasets), and readers of .npy files from outside.
 */
#pragma once

#include "image/np-image.h"
#include "np-error.h"

G_BEGIN_DECLS

/* The most dimensions a header may have. */
#define NP_NPY_MAX_RANK 8

/* Writes an NP_SAMPLE_F32 image as little-endian float32 of shape (height,
 * width, channels), through an NpOutput (complete or absent). */
gboolean np_npy_save         (const NpImage *image, const char *path, GError **error);

/* The preamble and header for dtype descr ("|u1", "<f4") and shape (rank
 * dimensions, C order), padded to exactly size bytes, or, with size 0, to
 * the next multiple of 64 (numpy's alignment). Returns NULL when the header
 * does not fit in size (size must be a multiple of 64 above 10). */
GBytes  *np_npy_header       (const char *descr, const guint64 *shape, gint rank, gsize size);

/* Parses the preamble and header at the start of data (size bytes: at least
 * the header): version 1.0, the dict's three keys, fortran_order False.
 * Sets descr (to free), shape and rank (at most NP_NPY_MAX_RANK), and the
 * data's offset. NP_ERROR_CORRUPT for anything else, NP_ERROR_UNSUPPORTED
 * for another version or Fortran order. */
gboolean np_npy_parse_header (const guint8 *data, gsize size, gchar **descr,
                              guint64 *shape, gint *rank, gsize *data_offset,
                              GError **error);

G_END_DECLS
