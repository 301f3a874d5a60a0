"""Colour hints (issue 19.2) through neuropaint:colorize's aux pad, from the
gegl command's chain, an XML graph with a nested gegl:load, and
`neuropaint run --aux DIR`:

- a hint's colour appears under it and spreads along the photo as the hint
  contract says: the echo model below gives its hint channels back as its
  chroma, so the chroma under a dot must be the dot's, as NumPy computes
  BT.601's Cb and Cr here (the hint encoding, checked independently), and
  elsewhere the dot's times how much of it reaches there past the photo's
  edges (the spreading, in NumPy: nptest.spread_hints);
- an empty hint picture gives the bytes of none, for any thread count and
  tile size;
- a model that takes no hints still gives a dot its colour (the
  colouriser spreads what the model missed at the hints);
- bad hints get one clear error each: a picture of another size, one
  without alpha, one opaque everywhere.

Nothing here says anything of a trained model's quality."""
import os
import shutil
import subprocess
import tempfile
import unittest

import cv2
import numpy as np

import nptest

H, W = 48, 64
DOT = (20, 30)              # (y, x)
DOT_RGB = (200, 60, 60)


def ycbcr_chroma(rgb):
    """BT.601 Cb, Cr of R'G'B' values in [0, 1] (last axis)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return np.stack([-0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b], -1)


def write_rgba(path, rgba):
    cv2.imwrite(path, cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))


def read_rgb(path):
    return cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(float) / 255


class Hints(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="np-hints-")
        cls.echo = cls.path("echo.safetensors")
        cls.biased = cls.path("biased.safetensors")
        nptest.hint_echo_model(cls.echo, W, H)
        nptest.hint_echo_model(cls.biased, W, H, 0.2)
        y, x = np.mgrid[0:H, 0:W]
        gray = (80 + (x * 7 + y * 13) % 90).astype(np.uint8)
        cv2.imwrite(cls.path("photo.png"), np.stack([gray] * 3, -1))
        hints = np.zeros((H, W, 4), np.uint8)
        hints[..., :3] = (0, 200, 90)          # colour under no alpha is no hint
        hints[DOT] = DOT_RGB + (255,)
        write_rgba(cls.path("hints.png"), hints)
        empty = hints.copy()
        empty[DOT] = (0, 0, 0, 0)
        write_rgba(cls.path("empty.png"), empty)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def path(cls, name):
        return os.path.join(cls.tmp, name)

    def gegl(self, chain, out, env=None):
        """The gegl command on photo.png; it exits 0 even when it fails, so
        the file is what is checked."""
        proc = subprocess.run(["gegl", self.path("photo.png"), "-o", out, "--"] + chain.split(),
                              capture_output=True, text=True, cwd=self.tmp, env=env, timeout=120)
        self.assertTrue(os.path.exists(out), proc.stderr)
        return proc

    def assert_dot(self, out):
        rgb = read_rgb(out)
        chroma = ycbcr_chroma(rgb)
        want = ycbcr_chroma(np.array(DOT_RGB, float) / 255)
        mask = np.zeros((H, W))
        mask[DOT] = 1
        gray = cv2.imread(self.path("photo.png"), cv2.IMREAD_GRAYSCALE) / 255.0
        spread, q = nptest.spread_hints(np.broadcast_to(want, (H, W, 2)), mask, gray)
        # 8-bit rounding of the result: 1.5/255 per channel at most. Where
        # the spread colour on the photo's luma leaves the gamut it shrinks
        # towards gray (the colouriser's gamut rule), so it is compared
        # where it fits.
        np.testing.assert_allclose(chroma[DOT], want, atol=0.006)
        r = gray + 1.402 * spread[..., 1]
        b = gray + 1.772 * spread[..., 0]
        g = (gray - 0.299 * r - 0.114 * b) / 0.587
        fits = np.all((np.stack([r, g, b]) > 0.01) & (np.stack([r, g, b]) < 0.99), 0)
        self.assertGreater(fits.mean(), 0.9)
        np.testing.assert_allclose(chroma[fits], spread[fits], atol=0.006)
        # Not vacuous: the dot reached far along the photo, and its edges
        # stopped it elsewhere.
        far = np.hypot(*np.mgrid[0:H, 0:W] - np.array(DOT)[:, None, None]) > 5
        self.assertGreater(int((q[far] > 0.2).sum()), 200)
        self.assertLess(q.min(), 0.05)

    def test_the_op_from_a_chain(self):
        out = self.path("chain.png")
        self.gegl("neuropaint:colorize model=%s aux=[ gegl:load path=hints.png ]" % self.echo, out)
        self.assert_dot(out)

    def test_a_graph_with_a_nested_load(self):
        graph = self.path("hints.xml")
        with open(graph, "w") as f:
            f.write("<gegl>\n  <node operation='neuropaint:colorize' model='%s'>\n"
                    "    <node operation='gegl:load' path='hints.png'/>\n  </node>\n"
                    "  <node operation='gegl:load' path='photo.png'/>\n</gegl>\n" % self.echo)
        out = self.path("graph.png")
        proc = subprocess.run(["gegl", graph, "-o", out], capture_output=True, text=True, timeout=120)
        self.assertTrue(os.path.exists(out), proc.stderr)
        self.assert_dot(out)
        # neuropaint run feeds the graph's photo load, not the hints'.
        outdir = self.path("run-graph")
        nptest.run(["run", "-o", outdir, "-g", graph, self.path("photo.png")])
        self.assert_dot(os.path.join(outdir, "photo.png"))

    def test_the_example_graph(self):
        """graphs/hints/colorize-hints.xml: with the echo model in place of
        gray2color, each of its hint dots gives the astronaut's own hue
        under it; with the model it names, each dot's colour is under it
        too (the colouriser spreads what the model missed there)."""
        if not os.path.exists(nptest.ASTRONAUT):
            self.skipTest("the example reads Debian's astronaut.png: install python3-skimage")
        folder = os.path.join(nptest.SOURCE_ROOT, "graphs", "hints")
        example = os.path.join(folder, "colorize-hints.xml")
        hints = cv2.imread(os.path.join(folder, "astronaut-hints.png"), cv2.IMREAD_UNCHANGED)
        with open(example) as f:
            xml = f.read().replace("model='gray2color'", "model='%s'" % self.echo)
        graph = os.path.join(self.tmp, "example.xml")
        with open(graph, "w") as f:
            f.write(xml.replace("path='astronaut-hints.png'", "path='%s'" % os.path.join(folder, "astronaut-hints.png")))
        out = self.path("example.png")
        proc = subprocess.run(["gegl", graph, "-o", out], capture_output=True, text=True, timeout=300)
        self.assertTrue(os.path.exists(out), proc.stderr)
        got = ycbcr_chroma(read_rgb(out))
        dots = hints[..., 3] > 127
        self.assertEqual(int(dots.sum()), 6 * 25)
        want = ycbcr_chroma(cv2.cvtColor(hints[..., :3], cv2.COLOR_BGR2RGB).astype(float) / 255)
        # The photo's luminance under a saturated dot can push its chroma
        # out of gamut, where it shrinks towards gray: the hue holds.
        cos = (got[dots] * want[dots]).sum(-1) / (np.linalg.norm(got[dots], axis=-1)
                                                 * np.linalg.norm(want[dots], axis=-1) + 1e-9)
        self.assertGreater(cos.min(), 0.95)
        # Beyond the dots the echo shows the hints spread along the photo,
        # which the chain's test checks against NumPy.

        out = self.path("example-named.png")
        proc = subprocess.run(["gegl", example, "-o", out], capture_output=True, text=True, timeout=300)
        self.assertTrue(os.path.exists(out), proc.stderr)
        got = ycbcr_chroma(read_rgb(out))
        cos = (got[dots] * want[dots]).sum(-1) / (np.linalg.norm(got[dots], axis=-1)
                                                 * np.linalg.norm(want[dots], axis=-1) + 1e-9)
        self.assertGreater(np.median(cos), 0.9)

    def test_run_aux_matches_by_name(self):
        hints, photos, outdir = self.path("hintdir"), self.path("photos"), self.path("run-aux")
        os.makedirs(hints, exist_ok=True)
        os.makedirs(photos, exist_ok=True)
        shutil.copy(self.path("hints.png"), os.path.join(hints, "a.png"))
        shutil.copy(self.path("photo.png"), os.path.join(photos, "a.png"))
        shutil.copy(self.path("photo.png"), os.path.join(photos, "b.png"))
        nptest.run(["run", "-o", outdir, "--aux", hints, photos, "--", "neuropaint:colorize",
                    "model=" + self.biased])
        nptest.run(["run", "-o", self.path("run-plain"), photos, "--", "neuropaint:colorize",
                    "model=" + self.biased])
        a, b = read_rgb(os.path.join(outdir, "a.png")), read_rgb(os.path.join(outdir, "b.png"))
        plain = read_rgb(os.path.join(self.path("run-plain"), "a.png"))
        # a has its dot: the model paints it with its bias (±0.2 on Cb·2,
        # Cr·2), and the colouriser takes back what it missed there; b,
        # without a hint file, is coloured as with none.
        want = ycbcr_chroma(np.array(DOT_RGB, float) / 255)
        self.assertLess(np.abs(ycbcr_chroma(a)[DOT] - want).max(), 0.01)
        self.assertGreater(np.abs(ycbcr_chroma(plain)[DOT] - want).max(), 0.09)
        np.testing.assert_array_equal(b, plain)

    def test_empty_hints_are_none_on_any_threads_and_tiles(self):
        none = self.path("none.png")
        self.gegl("neuropaint:colorize model=%s" % self.biased, none)
        want = cv2.imread(none, cv2.IMREAD_UNCHANGED)
        for threads, tile in ((1, "128x128"), (3, "16x16")):
            env = dict(os.environ, GEGL_THREADS=str(threads), GEGL_TILE_SIZE=tile)
            for hints in ("empty.png", "hints.png"):
                with self.subTest(threads=threads, tile=tile, hints=hints):
                    out = self.path("t%d-%s" % (threads, hints))
                    self.gegl("neuropaint:colorize model=%s aux=[ gegl:load path=%s ]" % (self.biased, hints),
                              out, env)
                    got = cv2.imread(out, cv2.IMREAD_UNCHANGED)
                    if hints == "empty.png":
                        np.testing.assert_array_equal(got, want)
                    else:
                        first = self.path("t1-hints.png")
                        np.testing.assert_array_equal(got, cv2.imread(first, cv2.IMREAD_UNCHANGED))

    def assert_one_error(self, chain, *fragments):
        out = self.path("bad")
        shutil.rmtree(out, ignore_errors=True)
        proc = nptest.run(["run", "-o", out, self.path("photo.png"), "--"] + chain.split(), check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertFalse(os.path.exists(os.path.join(out, "photo.png")))
        for fragment in fragments:
            self.assertIn(fragment, proc.stderr)
        self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)

    def test_a_model_without_hints_takes_them_too(self):
        """A model that never saw hints (the tiny random colouriser, as the
        shipped gray2color): the colouriser spreads what it missed at a dot
        along the photo, so the dot's colour is under it, and a photo
        without hints is coloured as before."""
        plain = os.path.join(nptest.SOURCE_ROOT, "tests", "data", "colorize-tiny.safetensors")
        with_dot, none = self.path("plain-dot.png"), self.path("plain-none.png")
        self.gegl("neuropaint:colorize model=%s aux=[ gegl:load path=hints.png ]" % plain, with_dot)
        self.gegl("neuropaint:colorize model=%s" % plain, none)
        got, before = ycbcr_chroma(read_rgb(with_dot)), ycbcr_chroma(read_rgb(none))
        want = ycbcr_chroma(np.array(DOT_RGB, float) / 255)
        # The tiny model's colour is noise from pixel to pixel, so the dot's
        # own render pixels, read back bicubically, keep some of their
        # neighbours' error: the dot's colour within a fifth of the model's
        # own miss there.
        miss, left = np.linalg.norm(before[DOT] - want), np.linalg.norm(got[DOT] - want)
        print("the model misses the dot's chroma by %.3f; with the hint, by %.3f" % (miss, left))
        self.assertGreater(miss, 0.1)   # not the dot's colour by itself
        self.assertLess(left, 0.2 * miss)

    def test_bad_hints(self):
        small = self.path("small.png")
        write_rgba(small, np.zeros((H // 2, W, 4), np.uint8))
        opaque = self.path("opaque.png")
        write_rgba(opaque, np.full((H, W, 4), 255, np.uint8))
        rgb = self.path("rgb.png")
        cv2.imwrite(rgb, np.zeros((H, W, 3), np.uint8))
        colorize = "neuropaint:colorize model=%s aux=[ gegl:load path=%s ]"
        self.assert_one_error(colorize % (self.echo, small), "64×24", "64×48", "photo's size")
        self.assert_one_error(colorize % (self.echo, rgb), "no alpha")
        self.assert_one_error(colorize % (self.echo, opaque), "opaque everywhere")
        proc = nptest.run(["run", "-o", self.path("bad"), "--aux", self.path("nowhere"), self.path("photo.png"),
                           "--", "neuropaint:colorize"], check=False)
        self.assertEqual(proc.returncode, 1)   # usage
        self.assertIn("--aux", proc.stderr)
        self.assertIn("not a folder", proc.stderr)


if __name__ == "__main__":
    nptest.main()
