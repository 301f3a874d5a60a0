"""Our ops used the ways a programmer would: from Python through GObject
introspection, and from C through libgegl (examples/), checked against NumPy."""
import os
import subprocess
import tempfile
import unittest

import numpy as np

import nptest

EXAMPLES = os.path.join(nptest.SOURCE_ROOT, "examples")
APPLY_OP = os.environ.get("NP_APPLY_OP_EXAMPLE")


class Bindings(unittest.TestCase):
    def setUp(self):
        import cv2
        self.tmp = tempfile.TemporaryDirectory()
        self.src = os.path.join(self.tmp.name, "in.png")
        self.photo = np.random.default_rng(7).integers(0, 256, (37, 53, 3), np.uint8)
        cv2.imwrite(self.src, cv2.cvtColor(self.photo, cv2.COLOR_RGB2BGR))

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, out, threshold):
        self.assertTrue(os.path.exists(out), "no output written")
        got = nptest.read_rgb(out)[..., :3]
        np.testing.assert_array_equal(got, (self.photo > threshold).astype(np.uint8) * threshold)

    def test_python_gi(self):
        try:
            import gi
            gi.require_version("Gegl", "0.4")
        except (ImportError, ValueError):
            self.skipTest("needs python3-gi and gir1.2-gegl-0.4")
        out = os.path.join(self.tmp.name, "py.png")
        proc = subprocess.run(["/usr/bin/python3", os.path.join(EXAMPLES, "colour-threshold.py"),
                               self.src, out, "90"], capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.check(out, 90)

    def test_c_program(self):
        if not APPLY_OP:
            self.skipTest("examples not built")
        out = os.path.join(self.tmp.name, "c.png")
        proc = subprocess.run([APPLY_OP, self.src, out, "neuropaint:rgb-threshold", "threshold=33"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.check(out, 33)


if __name__ == "__main__":
    nptest.main()
