"""Oracle tests of the filters against OpenCV 4.6 (python3-opencv).

Each filter runs through the neuropaint command (GEGL ops, 8-bit PNG out) on
Debian's sample photos and the face-detection photos in ../shared/data, and
is compared with OpenCV's routine of the seed."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nptest  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402


def photos():
    found = nptest.debian_photos() + nptest.shared_photos("detect")
    if not found:
        raise unittest.SkipTest("no photos: install python3-skimage or provide ../shared/data")
    return found


class FilterOracle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.photos = photos()
        if not nptest.shared_photos("detect"):
            print("note: ../shared/data/detect absent; using Debian's sample photos only", file=sys.stderr)

    def test_gray_matches_cvtcolor(self):
        outs = nptest.apply_chain(self.photos, "neuropaint:gray")
        for src, out in outs.items():
            rgb = nptest.read_rgb(src)[..., :3]
            want = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(int)
            got = nptest.read_rgb(out)
            self.assertEqual(got.shape[:2], rgb.shape[:2], src)
            for c in range(3):
                diff = np.abs(got[..., c].astype(int) - want)
                self.assertLessEqual(diff.max(), 1, "%s channel %d: max diff %d" % (src, c, diff.max()))

    def test_rgb_threshold_exact(self):
        for t in (200, 100, 0, 254):
            outs = nptest.apply_chain(self.photos[:3], "neuropaint:rgb-threshold threshold=%d" % t)
            for src, out in outs.items():
                rgb = nptest.read_rgb(src)[..., :3]
                want = (rgb > t).astype(np.uint8) * t
                got = nptest.read_rgb(out)[..., :3]
                np.testing.assert_array_equal(got, want, "%s at threshold %d" % (src, t))


if __name__ == "__main__":
    nptest.main()
