"""`neuropaint dream`: a grid of seeds in one picture and a latent walk as an
animated PNG, each face the one neuropaint:dream-face gives; bad models and
options get one message, a non-zero exit and no file.

The model is tests/data/dream-latent-tiny.safetensors, a dream model
(--arch dream at ngf 2, z of 16 numbers) of random weights.
"""
import os
import subprocess
import tempfile
import unittest

import numpy as np

import nptest

DATA = os.path.join(nptest.SOURCE_ROOT, "tests", "data")
DREAM = os.path.join(DATA, "dream-latent-tiny.safetensors")
SR = os.path.join(DATA, "sr-tiny.safetensors")


def op_face(path, seed, **props):
    """The face neuropaint:dream-face renders for seed, as 8 bits (gegl saves
    the op's float as 16-bit PNG)."""
    args = ["gegl", "-o", path, "--", "neuropaint:dream-face", "model=" + DREAM, "seed=%d" % seed]
    args += ["%s=%s" % kv for kv in props.items()]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert os.path.exists(path), proc.stderr
    img = nptest.read_rgb(path)[..., :3]
    return np.rint(img / 257.0).astype(np.uint8) if img.dtype == np.uint16 else img


class Dream(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_grid_of_seeds(self):
        out = self.path("grid.png")
        proc = nptest.run(["dream", DREAM, "-o", out, "--grid", "3x2", "--seed", "7"])
        self.assertIn("seeds 7 to 12", proc.stdout)
        grid = nptest.read_rgb(out)
        self.assertEqual(grid.shape, (2 * 80, 3 * 64, 3))
        cells = [grid[r * 80:(r + 1) * 80, c * 64:(c + 1) * 64] for r in range(2) for c in range(3)]
        # Cell k is seed 7 + k's face as the op renders it (float rounded to
        # 8 bits there by babl, here from 16 bits: within 1).
        for k in (0, 4):
            face = op_face(self.path("op-%d.png" % k), 7 + k)
            self.assertLessEqual(np.abs(face.astype(int) - cells[k]).max(), 1)
        self.assertGreater(np.abs(cells[0].astype(int) - cells[1]).mean(), 5)
        # Truncation 0: every seed is z = 0's face.
        nptest.run(["dream", DREAM, "-o", out, "--grid", "2x2", "--seed", "7", "--truncation", "0"])
        flat = nptest.read_rgb(out)
        for r in range(2):
            for c in range(2):
                np.testing.assert_array_equal(flat[r * 80:(r + 1) * 80, c * 64:(c + 1) * 64], flat[:80, :64])

    def test_larger_faces_through_the_sr_model(self):
        out = self.path("big.jpg")
        nptest.run(["dream", DREAM, "-o", out, "--grid", "2x1", "--seed", "1", "--size", "100x130",
                    "--sr-model", SR])
        self.assertEqual(nptest.read_rgb(out).shape[:2], (130, 200))

    def test_walk(self):
        out = self.path("walk.png")
        proc = nptest.run(["dream", DREAM, "-o", out, "--walk", "5", "--seed", "7", "--to", "9", "--fps", "5"])
        self.assertIn("5 frames", proc.stdout)
        frames = nptest.read_apng(out)
        self.assertEqual(len(frames), 5)
        self.assertEqual(frames[0].shape, (80, 64, 3))
        # The ends are the two seeds' faces, to the byte; the frames between, neither.
        nptest.run(["dream", DREAM, "-o", self.path("ends.png"), "--grid", "3x1", "--seed", "7"])
        ends = nptest.read_rgb(self.path("ends.png"))
        np.testing.assert_array_equal(frames[0], ends[:, :64])
        np.testing.assert_array_equal(frames[-1], ends[:, 128:])
        for f in frames[1:-1]:
            self.assertGreater(np.abs(f.astype(int) - frames[0]).mean(), 1)
            self.assertGreater(np.abs(f.astype(int) - frames[-1]).mean(), 1)

    def fails(self, args, words, code=1):
        out = self.path("x.png")
        proc = nptest.run(["dream"] + args + ["-o", out], check=False)
        self.assertEqual(proc.returncode, code, proc.stderr)
        self.assertIn(words, proc.stderr)
        self.assertEqual(len(proc.stderr.strip().split("\n")), 1, proc.stderr)
        self.assertFalse(os.path.exists(out))
        self.assertEqual(os.listdir(self.dir), [])

    def test_refuses_models_and_options(self):
        # A picture model is no dream model; nor an image model an SR one.
        self.fails([os.path.join(DATA, "generator-tiny.safetensors")], "does not dream from noise", 2)
        self.fails([DREAM, "--size", "200x200", "--sr-model", os.path.join(DATA, "generator-tiny.safetensors")],
                   "not a ×2 super-resolution model", 2)
        self.fails([os.path.join(self.dir, "missing.safetensors")], "missing.safetensors", 2)
        self.fails([DREAM, "--walk", "1"], "--walk must be between 2")
        self.fails([DREAM, "--grid", "0x2"], "--grid")
        self.fails([DREAM, "--truncation", "1.5"], "--truncation")
        self.fails([DREAM, "--seed", "-3"], "--seed")
        self.fails([DREAM, "--to", "3"], "--to is the end of a --walk")
        self.fails([], "name the model")

    def test_walk_needs_png(self):
        proc = nptest.run(["dream", DREAM, "-o", self.path("w.jpg"), "--walk", "3"], check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("animated .png", proc.stderr)
        self.assertEqual(os.listdir(self.dir), [])


if __name__ == "__main__":
    nptest.main()
