/* This file is part of neuropaint.
 *
 * neuropaint is free software; you can redistribute it and/or modify it under
 * the terms of the GNU Lesser General Public License as published by the Free
 * Software Foundation; either version 3 of the License, or (at your option)
 * any later version. See COPYING.LESSER.
 *
 * The detection properties neuropaint:face-detect and neuropaint:face-crop
 * share (the NpFaceFinder and NpHaarParams they build), included inside each
 * op's GEGL_PROPERTIES block.
 *
 * No include guard and no #pragma once, on purpose: gegl-op.h includes the op
 * file several times, each time with other definitions of the property_*
 * macros (struct fields, enum ids, param specs, set/get cases), and this
 * file must expand in every pass.
 */

property_file_path (cascade, _("Cascade"), "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml")
    description (_("OpenCV Haar cascade XML file (Debian's opencv-data has them)"))

property_double (scale_factor, _("Scale factor"), 1.2)
    description (_("How much smaller each pyramid level is (OpenCV's scaleFactor)"))
    value_range (1.01, 4.0)
    ui_range    (1.05, 1.5)

property_int (min_neighbors, _("Minimum neighbours"), 5)
    description (_("Candidates a box must merge to be kept (OpenCV's minNeighbors); "
                   "0 keeps every raw candidate"))
    value_range (0, 1000)
    ui_range    (0, 20)

property_int (min_size, _("Minimum size"), 60)
    description (_("Smallest face, in pixels (OpenCV's minSize, square)"))
    value_range (0, 65536)
    ui_range    (0, 512)
    ui_meta     ("unit", "pixel-distance")

property_boolean (verify_eyes, _("Verify eyes"), FALSE)
    description (_("Consider only faces in which haarcascade_eye.xml finds an eye"))
