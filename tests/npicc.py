"""ICC profiles built from their published definitions (primaries, white
point, tone curve), so the colour-profile tests need no downloaded or
packaged profile: a matrix/TRC display profile, ICC v4 (ICC.1:2010), as a
camera or a phone embeds it.

The colorimetry: the primaries' XYZ for the white's Y = 1, adapted to the
profile connection space's D50 with the Bradford transform (ICC.1 Annex E),
each stored as s15Fixed16. Tone curves are parametricCurveType: type 0 a
pure gamma, type 3 the piecewise sRGB / BT.709 form."""
import struct

import numpy as np

D50 = (0.9642, 1.0, 0.8249)
BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])

# name: (red xy, green xy, blue xy, white xy, curve); curves as parametric (type, params).
SRGB_CURVE = (3, (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045))
BT709_CURVE = (3, (1 / 0.45, 1 / 1.099, 0.099 / 1.099, 1 / 4.5, 0.081))
D65 = (0.3127, 0.3290)
SPACES = {
    "Display P3": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), D65, SRGB_CURVE),
    "Rec. ITU-R BT.2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046), D65, BT709_CURVE),
    "Adobe RGB (1998)": ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06), D65, (0, (563 / 256,))),
    "ProPhoto RGB": ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001), (0.3457, 0.3585), (0, (1.8,))),
    "sRGB": ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06), D65, SRGB_CURVE),
}


def _xyz(xy):
    x, y = xy
    return np.array([x / y, 1.0, (1 - x - y) / y])


def _s15(v):
    return struct.pack(">i", int(round(v * 65536)))


def _xyz_tag(v):
    return b"XYZ \0\0\0\0" + b"".join(_s15(c) for c in v)


def _para(curve):
    kind, params = curve
    return b"para\0\0\0\0" + struct.pack(">HH", kind, 0) + b"".join(_s15(p) for p in params)


def _mluc(text):
    data = text.encode("utf-16-be")
    return b"mluc\0\0\0\0" + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(data), 28) + data


def _adapt(white):
    """The Bradford matrix taking XYZ under white to XYZ under D50."""
    src, dst = BRADFORD @ _xyz(white), BRADFORD @ np.array(D50)
    return np.linalg.inv(BRADFORD) @ np.diag(dst / src) @ BRADFORD


def _assemble(colour_space, tags):
    """A v4 display profile of tags [(signature, data)]; data 4-byte aligned."""
    table, body = b"", b""
    offset = 128 + 4 + 12 * len(tags)
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"lcms" + bytes([4, 0x30, 0, 0]) + b"mntr" + colour_space + b"XYZ "
              + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" + b"APPL" + b"\0" * 4 + b"\0" * 8
              + b"\0" * 8 + struct.pack(">I", 0) + b"".join(_s15(c) for c in D50) + b"lcms")
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + body


def rgb_profile(name):
    """The matrix/TRC profile of one of SPACES, described as name."""
    red, green, blue, white, curve = SPACES[name]
    primaries = np.stack([_xyz(red), _xyz(green), _xyz(blue)], axis=1)
    scale = np.linalg.solve(primaries, _xyz(white))
    to_d50 = _adapt(white) @ primaries @ np.diag(scale)
    trc = _para(curve)
    chad = b"sf32\0\0\0\0" + b"".join(_s15(v) for v in _adapt(white).flatten())
    return _assemble(b"RGB ", [
        (b"desc", _mluc(name)), (b"cprt", _mluc("No copyright, use freely")),
        (b"wtpt", _xyz_tag(D50)), (b"chad", chad),
        (b"rXYZ", _xyz_tag(to_d50[:, 0])), (b"gXYZ", _xyz_tag(to_d50[:, 1])), (b"bXYZ", _xyz_tag(to_d50[:, 2])),
        (b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc)])


def gray_profile():
    """sGray: a gray display profile with sRGB's tone curve, white D50."""
    return _assemble(b"GRAY", [
        (b"desc", _mluc("sGray")), (b"cprt", _mluc("No copyright, use freely")),
        (b"wtpt", _xyz_tag(D50)), (b"kTRC", _para(SRGB_CURVE))])
