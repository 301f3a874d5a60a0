/* neuropaint — the NP_ERROR domain. */
#include "np-error.h"

G_DEFINE_QUARK (np-error-quark, np_error)
