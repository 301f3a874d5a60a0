"""`neuropaint cppn` and `neuropaint:cppn`: determinism and bad input.

Same seed → identical bytes across runs and thread counts, through the
command and through GEGL (GEGL_THREADS 1/4, tile sizes), and a region
rendered alone equals the same region cut from a larger render. Bad input
gets one clear message and exit status 1, never a crash, a huge allocation
or a half-written file.
"""
import hashlib
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

import nptest


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def gegl(args, env=None):
    full = dict(os.environ, **(env or {}))
    proc = subprocess.run(["gegl"] + args, capture_output=True, text=True, env=full, timeout=120)
    # gegl exits 0 even on failure: stderr is the evidence.
    assert "WARNING" not in proc.stderr and "CRITICAL" not in proc.stderr, proc.stderr
    return proc


class Determinism(unittest.TestCase):
    def test_runs_and_threads(self):
        with tempfile.TemporaryDirectory() as tmp:
            outs = []
            for i, threads in enumerate(["1", "1", "2", "4"]):
                npy = os.path.join(tmp, "a%d.npy" % i)
                nptest.run(["cppn", "-o", npy, "--seed", "99", "--width", "123", "--height", "77",
                            "--color-mode", "hsv", "--alpha", "--threads", threads])
                outs.append(digest(npy))
            self.assertEqual(len(set(outs)), 1)
            other = os.path.join(tmp, "b.npy")
            nptest.run(["cppn", "-o", other, "--seed", "100", "--width", "123", "--height", "77",
                        "--color-mode", "hsv", "--alpha"])
            self.assertNotEqual(digest(other), outs[0])

    def test_avx512_and_avx2_copies_agree(self):
        # Same lane arithmetic (FMA, same order) at two register widths; on a
        # CPU without AVX-512 both runs use the AVX2 (or portable) copy.
        with tempfile.TemporaryDirectory() as tmp:
            sums = []
            for isa in ("avx512", "avx2"):
                npy = os.path.join(tmp, isa + ".npy")
                nptest.run(["cppn", "-o", npy, "--seed", "6", "--width", "90", "--height", "70",
                            "--color-mode", "cmyk", "--alpha"], env=dict(os.environ, NP_CPU=isa))
                sums.append(digest(npy))
            self.assertEqual(sums[0], sums[1])

    def test_png_matches_float(self):
        with tempfile.TemporaryDirectory() as tmp:
            png, npy = os.path.join(tmp, "a.png"), os.path.join(tmp, "a.npy")
            nptest.run(["cppn", "-o", png, "--seed", "5", "--alpha"])
            nptest.run(["cppn", "-o", npy, "--seed", "5", "--alpha"])
            img = nptest.read_rgb(png).astype(np.float64)
            self.assertEqual(img.shape, (512, 512, 4))
            self.assertLessEqual(np.abs(img - np.load(npy) * 255).max(), 0.5 + 1e-3)

    def test_gegl_threads_and_tiles(self):
        if shutil.which("gegl") is None:
            self.skipTest("the gegl command is not installed")
        chain = ["--", "neuropaint:cppn", "seed=8", "width=300", "height=200", "color-mode=hsl",
                 "alpha=true", "coords=centered", "zoom=0.8"]
        with tempfile.TemporaryDirectory() as tmp:
            sums = []
            for i, env in enumerate([{"GEGL_THREADS": "1"}, {"GEGL_THREADS": "4"},
                                     {"GEGL_THREADS": "4", "GEGL_TILE_SIZE": "37x23"},
                                     {"GEGL_THREADS": "2", "GEGL_TILE_SIZE": "512x512"}]):
                out = os.path.join(tmp, "g%d.png" % i)
                gegl(["-o", out] + chain, env)
                sums.append(nptest.read_rgb(out).tobytes())
            self.assertEqual(len(set(sums)), 1)
            # The command renders the same picture (gegl writes 16-bit PNG).
            mine = os.path.join(tmp, "mine.png")
            nptest.run(["cppn", "-o", mine, "--bit-depth", "16", "--seed", "8", "--width", "300", "--height", "200",
                        "--color-mode", "hsl", "--alpha", "--coords", "centered", "--zoom", "0.8"])
            self.assertEqual(nptest.read_rgb(mine).tobytes(), sums[0])

    def test_region_alone(self):
        if shutil.which("gegl") is None:
            self.skipTest("the gegl command is not installed")
        with tempfile.TemporaryDirectory() as tmp:
            whole, part = os.path.join(tmp, "whole.png"), os.path.join(tmp, "part.png")
            op = ["neuropaint:cppn", "seed=12", "width=256", "height=192", "color-mode=cmyk"]
            gegl(["-o", whole, "--"] + op)
            gegl(["-o", part, "--"] + op + ["gegl:crop", "x=77", "y=31", "width=50", "height=40"])
            self.assertTrue(np.array_equal(nptest.read_rgb(part),
                                           nptest.read_rgb(whole)[31:71, 77:127]))


class Animation(unittest.TestCase):
    def test_frames_and_apng(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "anim.png")
            nptest.run(["cppn", "-o", out, "--seed", "3", "--width", "40", "--height", "30", "--frames", "4",
                        "--z=-0.6,0.6", "--z-to=0.6,-0.6", "--alpha"])
            frames = nptest.read_apng(out)
            self.assertEqual(len(frames), 4)
            for i, frame in enumerate(frames):
                self.assertTrue(np.array_equal(frame, nptest.read_rgb(os.path.join(tmp, "anim-%04d.png" % (i + 1)))))
            # The ends are the stills at z and at --z-to.
            for z, frame in (("-0.6,0.6", frames[0]), ("0.6,-0.6", frames[-1])):
                still = os.path.join(tmp, "still.png")
                nptest.run(["cppn", "-o", still, "--seed", "3", "--width", "40", "--height", "30",
                            "--z=" + z, "--alpha"])
                self.assertTrue(np.array_equal(frame, nptest.read_rgb(still)))
            self.assertFalse(np.array_equal(frames[0], frames[1]))


class InfinitePlane(unittest.TestCase):
    def test_centered_plane_extends_the_picture(self):
        if shutil.which("gegl") is None:
            self.skipTest("the gegl command is not installed")
        with tempfile.TemporaryDirectory() as tmp:
            box, plane = os.path.join(tmp, "box.png"), os.path.join(tmp, "plane.png")
            op = ["neuropaint:cppn", "seed=21", "width=120", "height=90", "coords=centered", "zoom=1.5"]
            gegl(["-o", box, "--"] + op)
            # The plane around the box: 40 px more on each side, moved to 0,0.
            gegl(["-o", plane, "--"] + op + ["infinite=true", "gegl:crop", "x=-40", "y=-40", "width=200",
                                             "height=170", "gegl:translate", "x=40", "y=40"])
            inner, outer = nptest.read_rgb(box), nptest.read_rgb(plane)
            self.assertEqual(outer.shape[:2], (170, 200))
            self.assertTrue(np.array_equal(outer[40:130, 40:160], inner))
            self.assertTrue((outer[..., 3] == outer[..., 3].max()).all(), "holes in the plane")
            self.assertGreater(float(outer[:40, :, :3].std()), 0.5, "nothing drawn outside the box")


class BadInput(unittest.TestCase):
    def fails(self, args, words):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "x.png")
            proc = nptest.run(["cppn", "-o", out] + args, check=False, timeout=30)
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn(words, proc.stderr)
            self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
            self.assertEqual(os.listdir(tmp), [], "a failed run left files behind")

    def test_bad_values(self):
        self.fails(["--color-mode", "lab"], "unknown colour mode “lab”")
        self.fails(["--activation", "swish"], "unknown activation “swish”")
        self.fails(["--activations", "tanh,,sin"], "unknown activation")
        self.fails(["--depth", "0"], "depth must be between 1")
        self.fails(["--size", "-3"], "layer size must be between 1")
        self.fails(["--width", "0"], "empty")
        self.fails(["--coords", "polar"], "--coords must be original or centered")
        self.fails(["--zoom", "0", "--coords", "centered"], "zoom must be a positive")
        self.fails(["--zoom", "2"], "need --coords centered")
        self.fails(["--pan-y", "0.5"], "need --coords centered")
        self.fails(["--z=1,x"], "is not a number")
        self.fails(["--frames", "5"], "--frames and --z-to go together")
        self.fails(["--frames", "5", "--z-to=1,2,3"], "--z-to has 3 entries but z has 2")
        self.fails(["--bit-depth", "12"], "--bit-depth must be 8 or 16")
        self.fails(["--seed", "-4"], "--seed")

    def test_absurd_sizes_fail_fast(self):
        # Clear errors before any allocation: these would need terabytes.
        self.fails(["--width", "2000000", "--height", "2000000"], "exceeds the limit")
        self.fails(["--depth", "1000", "--size", "4096"], "weights")

    def test_missing_output(self):
        proc = nptest.run(["cppn"], check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("-o FILE", proc.stderr)


if __name__ == "__main__":
    nptest.main()
