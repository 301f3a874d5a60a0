/* neuropaint — the core library: plain C11 + GLib + OpenBLAS + libjpeg-turbo.
 *
 * Nothing here knows GEGL; the GEGL operations in operations/ are thin faces
 * over these functions. Include this one header to get every concern.
 */
#pragma once

#include "np-error.h"
#include "util/np-cpu.h"
#include "util/np-parallel.h"
#include "image/np-image.h"
#include "image/np-jpeg.h"
#include "image/np-header.h"
#include "filters/np-filters.h"
#include "util/np-rng.h"
#include "util/np-output.h"
#include "util/np-file.h"
#include "cppn/np-cppn.h"
#include "image/np-npy.h"
#include "image/np-apng.h"
#include "image/np-resize.h"
#include "haar/np-haar.h"
#include "nn/np-nn.h"
#include "model/np-model.h"
#include "paint/np-paint.h"
#include "train/np-dataset.h"
#include "train/np-train.h"
