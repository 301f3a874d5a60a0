"""Oracle tests of the filters against OpenCV 4.6 (python3-opencv).

Each filter runs through the neuropaint command (GEGL ops, 8-bit PNG out) on
Debian's sample photos and the face-detection photos in ../shared/data, and
is compared with OpenCV's routine of the seed."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nptest  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402


def rgb_of(path):
    """The photo as 8-bit R, G, B (gray photos repeated, alpha dropped)."""
    img = nptest.read_rgb(path)
    if img.ndim == 2:
        img = np.stack([img] * 3, -1)
    return np.ascontiguousarray(img[..., :3])


def canny_cv(rgb, low, high, l2=False, gray=False, pre=-1):
    """cv2.Canny as the op's modes use it: per channel, or on RGB2GRAY."""
    if pre >= 0:
        rgb = ((rgb > pre) * pre).astype(np.uint8)
    if gray:
        edges = cv2.Canny(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), low, high, L2gradient=l2)
        return np.stack([edges] * 3, -1)
    return np.stack([cv2.Canny(np.ascontiguousarray(rgb[..., c]), low, high, L2gradient=l2)
                     for c in range(3)], -1)


def seed_contours(rgb, thresholds=(50, 100, 150, 200)):
    """The seed's routine: per channel and threshold, findContours on the
    mask and drawContours 1 px wide in value k on that channel."""
    out = np.zeros_like(rgb)
    for j in range(3):
        for k in thresholds:
            mask = (rgb[..., j] > k).astype(np.uint8)
            found, _ = cv2.findContours(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
            colour = [0, 0, 0]
            colour[j] = k
            cv2.drawContours(out, found, -1, colour, 1)
    return out


def f1(got, want):
    """F1 of the drawn pixels, a pixel counting as found only in the right colour."""
    drawn_got, drawn_want = got.any(-1), want.any(-1)
    hits = (drawn_got & drawn_want & (got == want).all(-1)).sum()
    total = drawn_got.sum() + drawn_want.sum()
    return 1.0 if total == 0 else 2.0 * hits / total


# (chain, arguments of canny_cv)
CANNY_CASES = [
    ("neuropaint:canny", dict(low=100, high=200)),
    ("neuropaint:canny gradient=l2 low=50 high=120.5", dict(low=50, high=120.5, l2=True)),
    ("neuropaint:canny mode=gray low=30 high=90", dict(low=30, high=90, gray=True)),
    ("neuropaint:canny mode=gray gradient=l2 low=70.7 high=20", dict(low=70.7, high=20, l2=True, gray=True)),
    ("neuropaint:canny pre-threshold=200 low=140 high=255", dict(low=140, high=255, pre=200)),
    ("neuropaint:canny mode=gray pre-threshold=120 low=100 high=300", dict(low=100, high=300, gray=True, pre=120)),
]


def photos():
    found = nptest.debian_photos() + nptest.shared_photos("detect")
    if not found:
        raise unittest.SkipTest("no photos: install python3-skimage or provide ../shared/data")
    return found


class FilterOracle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.photos = photos()
        # The variants run on fewer photos: the defaults and the seed's own
        # settings cover them all.
        cls.some = cls.photos[:3] + nptest.shared_photos("detect")[-1:]
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

    def assertCannyAgrees(self, outs, kwargs, what):
        for src, out in outs.items():
            want = canny_cv(rgb_of(src), **kwargs)
            got = nptest.read_rgb(out)[..., :3]
            self.assertEqual(got.shape, want.shape, src)
            agree = (got == want).mean()
            print("%s on %s: %.6f agreement, %d of %d samples differ"
                  % (what, os.path.basename(src), agree, (got != want).sum(), got.size), file=sys.stderr)
            self.assertGreaterEqual(agree, 0.995, "%s on %s" % (what, src))
            self.assertGreater((want > 0).sum(), 0, "no edges at all in %s: a vacuous comparison" % src)

    def test_canny_matches_cv2(self):
        for i, (chain, kwargs) in enumerate(CANNY_CASES):
            with self.subTest(chain=chain):
                inputs = self.photos if i == 0 else self.some
                self.assertCannyAgrees(nptest.apply_chain(inputs, chain), kwargs, chain)

    def test_seed_canny_graph(self):
        outs = nptest.apply_graph(self.photos, "seed-canny")
        self.assertCannyAgrees(outs, dict(low=140, high=255, pre=200), "graph seed-canny")

    def assertContoursAgree(self, outs, thresholds, what):
        for src, out in outs.items():
            want = seed_contours(rgb_of(src), thresholds)
            got = nptest.read_rgb(out)[..., :3]
            score = f1(got, want)
            print("%s on %s: F1 %.6f, %d of %d samples differ"
                  % (what, os.path.basename(src), score, (got != want).sum(), got.size), file=sys.stderr)
            self.assertGreaterEqual(score, 0.98, "%s on %s" % (what, src))

    def test_contours_match_seed_routine(self):
        for inputs, thresholds in ((self.photos, (50, 100, 150, 200)), (self.some, (200, 0, 13, 99))):
            chain = "neuropaint:contours thresholds=" + ",".join(map(str, thresholds))
            with self.subTest(chain=chain):
                self.assertContoursAgree(nptest.apply_chain(inputs, chain), thresholds, chain)

    def test_seed_contours_graph(self):
        self.assertContoursAgree(nptest.apply_graph(self.photos, "seed-contours"), (50, 100, 150, 200),
                                 "graph seed-contours")

    def test_contours_exact_on_random_masks(self):
        """core/filters/contours.c draws without tracing, on the argument that
        the seed's drawing equals the mask pixels with a background
        4-neighbour. Noise at every density, blobs, thin lines and holes
        touching the image edge put that to the test, pixel for pixel."""
        rng = np.random.default_rng(2)
        with tempfile.TemporaryDirectory() as tmp:
            inputs = []
            for i in range(24):
                h, w = rng.integers(1, 70, 2)
                kind = i % 4
                if kind == 0:    # noise: every density at once
                    img = (rng.random((h, w, 3)) * 256).astype(np.uint8)
                elif kind == 1:  # blobs with holes and pinches
                    small = (rng.random(((h + 3) // 4, (w + 3) // 4, 3)) * 256).astype(np.uint8)
                    img = cv2.resize(small, (int(w), int(h)), interpolation=cv2.INTER_NEAREST)
                    img = cv2.dilate(img, np.ones((2, 3), np.uint8))
                elif kind == 2:  # sparse or dense binary dots
                    img = (rng.random((h, w, 3)) < rng.random()).astype(np.uint8) * 255
                else:            # thin lines, diagonal ones too, crossing the edges
                    img = np.zeros((h, w, 3), np.uint8)
                    for _ in range(6):
                        p, q = rng.integers(-5, 75, 2), rng.integers(-5, 75, 2)
                        colour = [int(c) for c in rng.integers(0, 256, 3)]
                        cv2.line(img, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), colour, 1)
                path = os.path.join(tmp, "mask%02d.png" % i)
                cv2.imwrite(path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
                inputs.append(path)
            thresholds = (0, 64, 127, 128, 254)
            outs = nptest.apply_chain(inputs, "neuropaint:contours thresholds=" + ",".join(map(str, thresholds)))
            for src, out in outs.items():
                want = seed_contours(rgb_of(src), thresholds)
                got = nptest.read_rgb(out)[..., :3]
                np.testing.assert_array_equal(got, want, os.path.basename(src))


if __name__ == "__main__":
    nptest.main()
