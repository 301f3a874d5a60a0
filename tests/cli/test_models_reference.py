"""Every shipped model's output on a fixed picture, against its reviewed
reference (tests/data/models/NAME.png and the MD5 of its pixels in
tests/data/models/hashes.json), as GEGL's gegl-tester checks the ops'
reference compositions.

The picture is a synthetic 64×80 face-sized gradient (so no photo is
needed); each model runs in the op users run it in. The MD5 of the 8-bit
RGB output must match; where it does not (another CPU's BLAS kernels may
round a float differently, and that can move a value by one 8-bit level),
every pixel must still be within one level of the reviewed picture, and
the test says so.

    tests/cli/test_models_reference.py --update   # writes the references, to review
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nptest  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

MODELS = os.path.join(nptest.SOURCE_ROOT, "models")
DATA = os.path.join(nptest.SOURCE_ROOT, "tests", "data", "models")
HASHES = os.path.join(DATA, "hashes.json")
W, H = 64, 80


def picture():
    """A smooth, coloured, face-sized test picture."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    r = 128 + 100 * np.sin(x / 9.0) * np.cos(y / 13.0)
    g = 128 + 90 * np.cos((x + y) / 11.0)
    b = 40 + 2 * y
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def shipped():
    if not os.path.isdir(MODELS):
        return []
    return sorted(f[:-12] for f in os.listdir(MODELS) if f.endswith(".safetensors"))


def output_of(name, tmp):
    """The model's output on the test picture, through its op, as uint8 RGB."""
    info = nptest.run(["info", name]).stdout
    meta = dict(l.strip().split(" = ", 1) for l in info.split("\n") if " = " in l)
    out = os.path.join(tmp, name + ".png")
    if meta.get("input_filter") == "noise":
        proc = subprocess.run(["gegl", "-o", out, "--", "neuropaint:dream-face", "model=" + name, "seed=3",
                               "width=%d" % W, "height=%d" % H], capture_output=True, text=True, timeout=300)
        if not os.path.exists(out):
            raise AssertionError("dream-face wrote nothing:\n" + proc.stderr)
    else:
        src = os.path.join(tmp, "in", "picture.png")
        os.makedirs(os.path.dirname(src), exist_ok=True)
        cv2.imwrite(src, picture()[..., ::-1])
        op = ("neuropaint:super-resolution" if meta.get("architecture") in ("sr", "edsr")
              else "neuropaint:colorize" if meta.get("input_filter") == "gray"
              else "neuropaint:generator apply-filter=true")
        folder = os.path.join(tmp, name)
        nptest.run(["run", "-o", folder, src, "--"] + op.split() + ["model=" + name])
        shutil.move(os.path.join(folder, "picture.png"), out)
    return nptest.read_rgb(out)[..., :3]


def md5(rgb):
    return hashlib.md5(np.ascontiguousarray(rgb).tobytes()).hexdigest()


class Reference(unittest.TestCase):
    def test_shipped_models(self):
        names = shipped()
        if not names:
            self.skipTest("models/ holds no model")
        hashes = json.load(open(HASHES))
        with tempfile.TemporaryDirectory(prefix="np-models-") as tmp:
            for name in names:
                with self.subTest(model=name):
                    self.assertIn(name, hashes, "no reviewed reference for " + name)
                    got = output_of(name, tmp)
                    if md5(got) == hashes[name]:
                        print("  %s: %s, as reviewed" % (name, hashes[name]))
                        continue
                    ref = nptest.read_rgb(os.path.join(DATA, name + ".png"))[..., :3]
                    self.assertEqual(got.shape, ref.shape)
                    diff = np.abs(got.astype(int) - ref.astype(int))
                    print("  %s: MD5 %s, not %s; largest difference %d level(s), on %.2f %% of the values"
                          % (name, md5(got), hashes[name], diff.max(), 100 * np.mean(diff > 0)))
                    self.assertLessEqual(diff.max(), 1)


def update():
    hashes = {}
    os.makedirs(DATA, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="np-models-") as tmp:
        for name in shipped():
            got = output_of(name, tmp)
            cv2.imwrite(os.path.join(DATA, name + ".png"), got[..., ::-1])
            hashes[name] = md5(got)
            print(name, hashes[name])
    with open(HASHES, "w") as f:
        json.dump(hashes, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    if "--update" in sys.argv:
        update()
    else:
        nptest.main()
