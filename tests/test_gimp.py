"""The GIMP 2.10 plug-in, headless: gimp-console runs our procedures from a
Script-Fu batch on a photo, and the saved result is checked against NumPy and
OpenCV. gimp-console exits 0 even when a batch fails, so the output file and
stderr are what is checked."""
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

import nptest

GIMP = shutil.which("gimp-console-2.10")
PLUGIN_DIR = os.environ.get("NP_GIMP_PLUGIN_DIR")


class GimpPlugin(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not GIMP or not PLUGIN_DIR:
            raise unittest.SkipTest("needs gimp-console-2.10 and the plug-in built (-Dgimp=enabled)")

    def run_gimp(self, script):
        with tempfile.TemporaryDirectory() as profile:
            # A private profile whose plug-in path adds our build folder to GIMP's own.
            with open(os.path.join(profile, "gimprc"), "w") as f:
                f.write('(plug-in-path "${gimp_dir}/plug-ins:${gimp_plug_in_dir}/plug-ins:%s")\n' % PLUGIN_DIR)
            env = dict(os.environ, GIMP2_DIRECTORY=profile)
            return subprocess.run([GIMP, "-i", "-d", "-f", "-b", script, "-b", "(gimp-quit 0)"],
                                  capture_output=True, text=True, env=env, timeout=300)

    def filter_photo(self, procedure, properties):
        import cv2
        tmp = tempfile.mkdtemp(prefix="np-gimp-")
        src = os.path.join(tmp, "in.png")
        out = os.path.join(tmp, "out.png")
        photo = nptest.read_rgb(nptest.ASTRONAUT)[::2, ::2, :3].copy()
        cv2.imwrite(src, cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
        script = ('(let* ((image (car (gimp-file-load RUN-NONINTERACTIVE "{src}" "{src}")))'
                  '       (drawable (car (gimp-image-get-active-drawable image))))'
                  '  ({proc} RUN-NONINTERACTIVE image drawable "{props}")'
                  '  (gimp-file-save RUN-NONINTERACTIVE image drawable "{out}" "{out}"))'
                  ).format(src=src, out=out, proc=procedure, props=properties)
        proc = self.run_gimp(script)
        return photo, (nptest.read_rgb(out)[..., :3] if os.path.exists(out) else None), proc

    def test_rgb_threshold_through_gimp(self):
        photo, got, proc = self.filter_photo("plug-in-neuropaint-rgb-threshold", "threshold=120")
        self.assertIsNotNone(got, "GIMP wrote nothing; stderr:\n" + proc.stderr)
        np.testing.assert_array_equal(got, (photo > 120).astype(np.uint8) * 120)

    def test_gray_through_gimp(self):
        import cv2
        photo, got, proc = self.filter_photo("plug-in-neuropaint-gray", "")
        self.assertIsNotNone(got, "GIMP wrote nothing; stderr:\n" + proc.stderr)
        want = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY).astype(int)
        self.assertLessEqual(np.abs(got[..., 0].astype(int) - want).max(), 1)

    def test_canny_through_gimp(self):
        import cv2
        photo, got, proc = self.filter_photo("plug-in-neuropaint-canny", "low=60 high=140")
        self.assertIsNotNone(got, "GIMP wrote nothing; stderr:\n" + proc.stderr)
        for c in range(3):
            want = cv2.Canny(np.ascontiguousarray(photo[..., c]), 60, 140)
            agree = (got[..., c] == want).mean()
            self.assertGreaterEqual(agree, 0.995, "channel %d agrees on %.4f" % (c, agree))

    def test_cppn_renders_over_the_layer(self):
        photo, got, proc = self.filter_photo("plug-in-neuropaint-cppn", "seed=5 color-mode=hsv")
        self.assertIsNotNone(got, "GIMP wrote nothing; stderr:\n" + proc.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            want_path = os.path.join(tmp, "want.png")
            nptest.run(["cppn", "-o", want_path, "--seed", "5", "--color-mode", "hsv",
                        "--width", str(photo.shape[1]), "--height", str(photo.shape[0])])
            want = nptest.read_rgb(want_path)[..., :3]
        self.assertEqual(got.shape, want.shape)
        self.assertLessEqual(np.abs(got.astype(int) - want.astype(int)).max(), 1)

    def test_bad_property_fails_cleanly(self):
        photo, got, proc = self.filter_photo("plug-in-neuropaint-rgb-threshold", "bogus=1")
        self.assertIsNone(got, "a failed filter must not save a result")
        self.assertIn("bogus", proc.stderr)


if __name__ == "__main__":
    nptest.main()
