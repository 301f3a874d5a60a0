/* This file is part of neuropaint.
 *
 * neuropaint is free software; you can redistribute it and/or modify it under
 * the terms of the GNU Lesser General Public License as published by the Free
 * Software Foundation; either version 3 of the License, or (at your option)
 * any later version. See COPYING.LESSER.
 *
 * neuropaint:colorize-without-hints — neuropaint:colorize without its aux
 * pad, the same op compiled again (np-colorize.c says why GIMP 3 needs it).
 */
#define NP_COLORIZE_WITHOUT_HINTS
#include "np-colorize.c"
