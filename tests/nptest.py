"""Shared helpers of neuropaint's Python tests (oracles, CLI, graphs).

The tests run under Debian's /usr/bin/python3 (python3-opencv, python3-numpy,
python3-torch). meson passes the paths of what was built through the
environment: NEUROPAINT (the command), GEGL_PATH (our op modules first, then
GEGL's own), NP_SOURCE_ROOT and NP_SHARED_DATA.
"""
import atexit
import glob
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

SKIP = 77  # meson's exit status for a skipped test

# Every temporary folder a test makes (tempfile's default place) goes into one
# folder of this process, removed when it exits: a failed or interrupted test
# leaves nothing in /tmp. NP_KEEP_TMP=1 keeps it, to look at after a failure.
tempfile.tempdir = tempfile.mkdtemp(prefix="np-tests-")
if not os.environ.get("NP_KEEP_TMP"):
    atexit.register(shutil.rmtree, tempfile.tempdir, True)

NEUROPAINT = os.environ.get("NEUROPAINT", "neuropaint")
SOURCE_ROOT = os.environ.get("NP_SOURCE_ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED_DATA = os.environ.get("NP_SHARED_DATA", os.path.join(SOURCE_ROOT, "..", "shared", "data"))
ASTRONAUT = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"
DEBIAN_PHOTOS = [
    ASTRONAUT,
    "/usr/lib/python3/dist-packages/skimage/data/coffee.png",
    "/usr/lib/python3/dist-packages/skimage/data/chelsea.png",
    "/usr/share/doc/opencv-doc/examples/data/messi5.jpg",
    "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg",
]


def shared_photos(folder="detect", pattern=(".jpg", ".png")):
    """Photos under ../shared/data/<folder>, or [] when shared/ is absent."""
    path = os.path.join(SHARED_DATA, folder)
    if not os.path.isdir(path):
        return []
    return sorted(os.path.join(path, f) for f in os.listdir(path) if f.lower().endswith(pattern))


def debian_photos():
    return [p for p in DEBIAN_PHOTOS if os.path.exists(p)]


def run(args, check=True, **kwargs):
    """Runs the neuropaint command; returns the CompletedProcess."""
    proc = subprocess.run([NEUROPAINT] + list(args), capture_output=True, text=True, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError("neuropaint %s failed (%d):\n%s" % (" ".join(args), proc.returncode, proc.stderr))
    return proc


def read_rgb(path):
    """An 8-bit RGB(A) image as a NumPy array in R, G, B(, A) order."""
    import cv2
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise AssertionError("cannot read %s" % path)
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    if img.ndim == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img


def read_apng(path):
    """Frames of an animated PNG (8-bit RGB/RGBA, filter 0 as we write),
    parsed here from the chunks: CRCs, acTL count and sequence numbers
    are checked on the way."""
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + size]
        crc, = struct.unpack(">I", data[pos + 8 + size:pos + 12 + size])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        pos += 12 + size
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    w, h, depth, ctype = struct.unpack(">IIBB", chunks[0][1][:10])
    channels = {2: 3, 6: 4}[ctype]
    n_frames, plays = struct.unpack(">II", dict(chunks)[b"acTL"])
    frames, seq = [], 0
    for kind, body in chunks:
        if kind == b"fcTL":
            assert struct.unpack(">I", body[:4])[0] == seq
            seq += 1
        elif kind in (b"IDAT", b"fdAT"):
            if kind == b"fdAT":
                assert struct.unpack(">I", body[:4])[0] == seq
                seq += 1
                body = body[4:]
            raw = np.frombuffer(zlib.decompress(body), np.uint8).reshape(h, w * channels + 1)
            assert not raw[:, 0].any()
            frames.append(raw[:, 1:].reshape(h, w, channels))
    assert len(frames) == n_frames
    return frames


def apply_chain(inputs, chain, ext="png"):
    """Runs `neuropaint run` with an op chain; returns {input: output path}."""
    out = tempfile.mkdtemp(prefix="np-test-")
    run(["run", "-o", out, "-e", ext] + list(inputs) + ["--"] + chain.split())
    result = {}
    for path in inputs:
        stem = os.path.splitext(os.path.basename(path))[0]
        result[path] = os.path.join(out, stem + "." + ext)
    return result


def apply_graph(inputs, graph, ext="png"):
    """Runs `neuropaint run -g GRAPH`; returns {input: output path}."""
    out = tempfile.mkdtemp(prefix="np-test-")
    run(["run", "-o", out, "-e", ext, "-g", graph] + list(inputs))
    return {path: os.path.join(out, os.path.splitext(os.path.basename(path))[0] + "." + ext)
            for path in inputs}


def model_with_metadata(src, dst, **metadata):
    """Copies the model file src to dst with metadata keys set (a safetensors
    header rewritten; the tensors' bytes and offsets stay as they are)."""
    import json
    import struct
    with open(src, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.setdefault("__metadata__", {}).update({k: str(v) for k, v in metadata.items()})
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data[8 + n:])


def models_made_for(folder):
    """The models (.safetensors) in folder by the op they are made for, as
    docs/model-format.md tells it from their metadata: a noise input dreams
    (dream-face), an "sr" or "edsr" architecture or a residual target doubles
    (super-resolution), a gray input colours (colorize, and its twin without
    the hint pad), any other is the generator's. Read here with json, apart
    from the core's reading."""
    import json
    import struct
    ops = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.safetensors"))):
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            meta = json.loads(f.read(n)).get("__metadata__", {})
        if meta.get("input_filter") == "noise":
            op = "neuropaint:dream-face"
        elif meta.get("architecture") in ("sr", "edsr") or meta.get("target") == "residual-bicubic":
            op = "neuropaint:super-resolution"
        elif meta.get("input_filter") == "gray":
            op = "neuropaint:colorize"
        else:
            op = "neuropaint:generator"
        ops.setdefault(op, []).append(os.path.splitext(os.path.basename(path))[0])
    if "neuropaint:colorize" in ops:
        ops["neuropaint:colorize-without-hints"] = ops["neuropaint:colorize"]
    return ops


def assert_hint_coloured(test, got, dot, colour=(220, 30, 30)):
    """What the hint echo model paints (hint_echo_model), in an R'G'B'
    picture in [0, 1]: the hint's hue at dot (BT.601's Cb and Cr, written
    out here; its chroma may shrink to fit the gamut on the photo's own
    luminance), and everywhere else the hint spread along the photo: gray,
    or that hue and no other."""
    import numpy as np
    r, g, b = got[..., 0], got[..., 1], got[..., 2]
    cb, cr = -0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b
    red = np.array(colour) / 255.0
    want = np.array([-0.168736 * red[0] - 0.331264 * red[1] + 0.5 * red[2],
                     0.5 * red[0] - 0.418688 * red[1] - 0.081312 * red[2]])
    here = np.array([cb[dot], cr[dot]])
    test.assertGreater(here @ want / np.linalg.norm(here) / np.linalg.norm(want), 0.95)
    test.assertGreater(np.linalg.norm(here), 0.1)
    chroma = np.stack([cb, cr], -1)
    norm = np.linalg.norm(chroma, axis=-1)
    coloured = norm > 0.02     # beyond 8-bit rounding's reach
    cos = chroma[coloured] @ want / norm[coloured] / np.linalg.norm(want)
    test.assertGreater(cos.min(), 0.9)


def hue_cosine(rgb, at, colour, radius=10):
    """The cosine between the mean BT.601 chroma (Cb, Cr) of an R'G'B' uint8
    picture's (2·radius + 1)² pixels around at = (y, x) and that of colour
    (R'G'B' 0–255): near 1 where the picture there has colour's hue."""
    import numpy as np
    y, x = at
    r, g, b = (rgb[y - radius:y + radius + 1, x - radius:x + radius + 1].astype(float) / 255).reshape(-1, 3).mean(0)
    got = np.array([-0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b])
    r, g, b = np.array(colour, float) / 255
    want = np.array([-0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b])
    return float(got @ want / np.linalg.norm(got) / np.linalg.norm(want))


BLUE_DOT = (40, 80, 220)   # R'G'B': a hint no colouriser gives the astronaut's suit by itself


def write_blue_dot(path, shape, at):
    """A transparent hint picture of shape (height, width) with a 3×3
    BLUE_DOT centred at at = (y, x)."""
    import cv2
    import numpy as np
    dot = np.zeros(tuple(shape[:2]) + (4,), np.uint8)
    y, x = at
    dot[y - 1:y + 2, x - 1:x + 2] = BLUE_DOT[::-1] + (255,)   # BGRA
    cv2.imwrite(path, dot)


def assert_blue_dot_spreads(test, without, with_dot, at):
    """The shipped gray2color colours the suit at at brown (its hue away
    from BLUE_DOT's); with the blue dot's hint picture, the suit around it
    turns blue."""
    before, after = hue_cosine(without, at, BLUE_DOT), hue_cosine(with_dot, at, BLUE_DOT)
    print("around the dot, the hue's cosine with the dot's: %.2f without it, %.2f with it" % (before, after))
    test.assertLess(before, 0)
    test.assertGreater(after, 0.9)


def recursive_filter(planes, guide, sigma_s, sigma_r, n=3):
    """Gastal and Oliveira's domain transform, recursive filter (2011), in
    NumPy: planes (h, w, c) smoothed along guide (h, w), n passes of σ_i =
    σ_s·√3·2^(n−i−1)/√(4^n − 1), neighbours 1 + σ_s/σ_r·|Δguide| apart
    (σ_r inf: no edges)."""
    import numpy as np
    j = planes.astype(np.float64).copy()
    ratio = 0 if np.isinf(sigma_r) else sigma_s / sigma_r
    dx = 1 + ratio * np.abs(np.diff(guide, axis=1))
    dy = 1 + ratio * np.abs(np.diff(guide, axis=0))
    for i in range(n):
        sigma = sigma_s * np.sqrt(3) * 2 ** (n - i - 1) / np.sqrt(4 ** n - 1)
        a = np.exp(-np.sqrt(2) / sigma)
        wx, wy = a ** dx, a ** dy
        for x in range(1, j.shape[1]):
            j[:, x] += wx[:, x - 1, None] * (j[:, x - 1] - j[:, x])
        for x in range(j.shape[1] - 2, -1, -1):
            j[:, x] += wx[:, x, None] * (j[:, x + 1] - j[:, x])
        for y in range(1, j.shape[0]):
            j[y] += wy[y - 1, :, None] * (j[y - 1] - j[y])
        for y in range(j.shape[0] - 2, -1, -1):
            j[y] += wy[y, :, None] * (j[y + 1] - j[y])
    return j


HINT_SPREAD, HINT_EDGE = 0.2, 0.3   # docs/operations.md#colour-hints


def spread_hints(values, mask, guide):
    """Values (h, w, c) known where mask (h, w) is 1, spread along guide
    (luma on 0–1) as docs/operations.md#colour-hints says: the edge-aware
    mean of the values near each pixel, times q = min(1, M/U), M the mask
    smoothed with edges and U without; returns (q·mean, q)."""
    import numpy as np
    sigma_s = HINT_SPREAD * max(mask.shape)
    f = recursive_filter(np.concatenate([values * mask[..., None], mask[..., None]], -1), guide, sigma_s, HINT_EDGE)
    u = recursive_filter(mask[..., None], guide, sigma_s, np.inf)[..., 0]
    m = f[..., -1]
    reach = (m > 1e-30) & (u > 1e-30)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(reach, np.minimum(1, m / u), 0)
        return np.where(reach[..., None], f[..., :-1] / m[..., None], 0) * q[..., None], q


def hint_echo_model(path, width, height, bias=0.0):
    """Writes a 1×1 hint model (metadata hints = ycbcr-spread) that gives its
    hint channels back as its chroma: Cb·2, Cr·2 = the hint's (+ bias,
    − bias), so a hint's colour is what it paints under the hint."""
    sys.path.insert(0, os.path.join(SOURCE_ROOT, "tools"))
    import numpy as np
    import export_torch
    w = np.zeros((2, 4, 1, 1), np.float32)
    w[0, 1] = w[1, 2] = 1
    export_torch.write_safetensors(
        path, [("c.weight", w), ("c.bias", np.array([bias, -bias], np.float32))],
        {"graph": "input name=x c=4\nconv name=c out=2 k=1", "target": "chroma-ycbcr", "input_filter": "gray",
         "hints": "ycbcr-spread", "width": str(width), "height": str(height)})


# Tiny random stand-ins for every model neuropaint ships (models/README.md),
# of the right kinds, made from the test models in tests/data: name ->
# (file, metadata).
TINY_MODELS = {
    "gray2color": ("colorize-tiny", {"experiment": "gray"}),
    "binary2color": ("generator-tiny", {"input_filter": "binary", "experiment": "binary"}),
    "contours2color": ("generator-tiny", {"input_filter": "contours", "experiment": "contours"}),
    "canny2color": ("generator-tiny", {"input_filter": "canny", "experiment": "canny"}),
    "autoencoder": ("generator-tiny", {"input_filter": "identity", "experiment": "identity"}),
    "average-face": ("generator-tiny", {"input_filter": "identity", "experiment": "morph"}),
    "noise2face": ("dream-latent-tiny", {"experiment": "dream"}),
    "sr2x": ("sr-tiny", {"experiment": "lowres"}),
}


def tiny_models(folder, names=None):
    """Writes tiny stand-ins of the shipped models (all, or those named) with
    cards into folder/neuropaint/models, where a process whose XDG_DATA_HOME
    is folder finds them by name; returns that environment. The source tree's
    models/ is searched first: once the real models are there, they are used."""
    models = os.path.join(folder, "neuropaint", "models")
    os.makedirs(models, exist_ok=True)
    for name in names or TINY_MODELS:
        base, meta = TINY_MODELS[name]
        model_with_metadata(os.path.join(SOURCE_ROOT, "tests", "data", base + ".safetensors"),
                            os.path.join(models, name + ".safetensors"), **meta)
        with open(os.path.join(models, name + ".md"), "w") as f:
            f.write("# %s: a tiny random stand-in for the tests\n\nNot trained.\n" % name)
    return dict(os.environ, XDG_DATA_HOME=folder)


def main():
    """unittest.main, but a run where every test skipped exits 77 (meson's SKIP)."""
    prog = unittest.main(exit=False, verbosity=2)
    res = prog.result
    if not res.wasSuccessful():
        sys.exit(1)
    # A class that skips in setUpClass runs no test and records one skip.
    if res.skipped and len(res.skipped) >= res.testsRun:
        sys.exit(SKIP)
    sys.exit(0)
