/* neuropaint — errors shared by every part of the core.
 *
 * Runtime failures (a bad file, an absurd size) are reported through GError in
 * the NP_ERROR domain; programmer mistakes (a NULL image, mismatched shapes) are
 * caught by g_return_val_if_fail.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NP_ERROR (np_error_quark ())

typedef enum
{
  NP_ERROR_INVALID_ARGUMENT, /* a parameter outside its documented range */
  NP_ERROR_TOO_LARGE,        /* a size that would need an absurd allocation */
  NP_ERROR_CORRUPT,          /* a file that does not follow its format */
  NP_ERROR_UNSUPPORTED,      /* a valid file using a feature we do not implement */
  NP_ERROR_IO,               /* reading or writing failed */
} NpError;

GQuark np_error_quark (void);

G_END_DECLS
