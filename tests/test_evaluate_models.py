"""tools/evaluate-models' measurements of a dream model, on pictures whose
answers are known by hand: the spectral power at the Nyquist frequencies,
the trainer's shrink, the distances; the antialiased halving super
resolution is scored on; the colour hints and the saturation it gives a
colouriser; and a dataset held out whole (no training crops, so no mean
colour) scored against the bicubic baseline written out here, as a whole
and photograph by photograph."""
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import tempfile
import unittest

import cv2

import numpy as np

import nptest


def tool():
    path = os.path.join(nptest.SOURCE_ROOT, "tools", "evaluate-models")
    loader = importlib.machinery.SourceFileLoader("evaluate_models", path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("evaluate_models", loader))
    loader.exec_module(module)
    return module


class DreamMeasurements(unittest.TestCase):
    def setUp(self):
        self.tool = tool()

    def test_nyquist_power(self):
        h, w = 80, 64
        y, x = np.mgrid[:h, :w]
        gray = lambda v: np.repeat(v.astype(np.uint8)[None, ..., None], 3, -1)
        # A checkerboard of 0 and 255: luma ±0.5 about its mean, all of it at
        # (h/2, w/2), power 0.25, one of the h + w − 1 Nyquist frequencies.
        self.assertAlmostEqual(self.tool.nyquist_power(gray((x + y) % 2 * 255)), 0.25 / (h + w - 1))
        # Columns alternating: all at (0, w/2), also on the Nyquist column.
        self.assertAlmostEqual(self.tool.nyquist_power(gray(x % 2 * 255)), 0.25 / (h + w - 1))
        # A period of 4 pixels, or a flat picture: none.
        self.assertAlmostEqual(self.tool.nyquist_power(gray(x // 2 % 2 * 255)), 0)
        self.assertAlmostEqual(self.tool.nyquist_power(gray(np.full((h, w), 77))), 0)

    def test_shrink_is_the_trainers(self):
        # Block means rounded half up, as core/train/batch.c's photo().
        photo = np.zeros((8, 4, 3), np.uint8)
        photo[:4, :, 0] = np.arange(16).reshape(4, 4)   # mean 7.5 → 8
        photo[4:, :, 1] = 255
        photo[4:, 0, 2] = 9                            # mean 2.25 → 2
        small = self.tool.shrink(photo, 4)
        np.testing.assert_array_equal(small, [[[8, 0, 0]], [[0, 255, 2]]])

    def test_antialiased_halving(self):
        # A row of 100 with 200 at row 8, constant across: output row i is
        # centred on source 2·i + 0.5, and Keys' kernel (a = −0.5) widened ×2
        # weighs the taps 0.5, 1.5, 2.5, 3.5 away 0.8671875, 0.2265625,
        # −0.0703125, −0.0234375, halved (they sum to 2): 100 more at distance
        # 0.5 gives +43.36, at 1.5 +11.33, at 2.5 −3.52, at 3.5 −1.17.
        photo = np.full((16, 6, 3), 100, np.uint8)
        photo[8] = 200
        small = self.tool.halve(photo, "antialiased")
        self.assertEqual(small.shape, (8, 3, 3))
        np.testing.assert_array_equal(small[:, 1, 0], [100, 100, 99, 111, 143, 96, 100, 100])
        np.testing.assert_array_equal(small[..., 0], small[..., 2])
        # At the borders the taps outside are dropped and the rest renormalised: flat stays flat.
        np.testing.assert_array_equal(self.tool.halve(np.full((10, 14, 3), 77, np.uint8), "antialiased"), 77)

    def test_distances(self):
        rng = np.random.default_rng(1)
        a, b = rng.random((5, 7)), rng.random((4, 7))
        want = np.array([[np.sqrt(((p - q) ** 2).sum()) for q in b] for p in a])
        np.testing.assert_allclose(self.tool.distances(a, b), want, atol=1e-9)



class HintPictures(unittest.TestCase):
    def test_squares_of_the_photos_mean_colour(self):
        evaluate = tool()
        rng = np.random.default_rng(3)
        photos = rng.integers(0, 256, (2, 40, 30, 3), dtype=np.uint8)
        with tempfile.TemporaryDirectory() as folder:
            evaluate.write_hints(folder, photos, 4)
            again = os.path.join(folder, "again")
            evaluate.write_hints(again, photos, 4)
            for i, p in enumerate(photos):
                name = "%03d.png" % i
                hints = cv2.cvtColor(cv2.imread(os.path.join(folder, name), cv2.IMREAD_UNCHANGED),
                                     cv2.COLOR_BGRA2RGBA)
                # The same places for the same photo and count.
                np.testing.assert_array_equal(
                    hints, cv2.cvtColor(cv2.imread(os.path.join(again, name), cv2.IMREAD_UNCHANGED),
                                        cv2.COLOR_BGRA2RGBA))
                opaque = hints[..., 3] == 255
                self.assertTrue(np.all(opaque | (hints[..., 3] == 0)))
                # Up to 4 squares of 5×5 (they may overlap), each opaque
                # pixel in a square whose colour is the photo's mean under it.
                n, labels = cv2.connectedComponents(opaque.astype(np.uint8))
                self.assertGreaterEqual(opaque.sum(), 25)
                self.assertLessEqual(opaque.sum(), 100)
                for k in range(1, n):
                    ys, xs = np.nonzero(labels == k)
                    if len(ys) != 25:
                        continue            # squares that touch
                    y, x = ys.min(), xs.min()
                    want = np.rint(p[y:y + 5, x:x + 5].reshape(-1, 3).mean(0))
                    np.testing.assert_array_equal(hints[y, x, :3], want)

    def test_a_dataset_held_out_whole(self):
        # As tools/sr-photo-crops --evaluation makes one: every crop in the
        # val split, named NAME-ROW-COLUMN. Scored with sr2x against bicubic;
        # no mean colour; --by-photo gives each photograph's crops apart.
        rng = np.random.default_rng(4)
        with tempfile.TemporaryDirectory() as folder:
            crops = os.path.join(folder, "crops")
            os.makedirs(crops)
            names = ["lake-0-0.png", "lake-0-1.png", "cups-1-0.png"]
            for name in names:
                smooth = cv2.GaussianBlur(rng.integers(0, 256, (64, 48, 3), dtype=np.uint8), (0, 0), 2)
                cv2.imwrite(os.path.join(crops, name), smooth)
            with open(os.path.join(crops, "val.txt"), "w") as f:
                f.write("\n".join(names) + "\n")
            dataset = os.path.join(folder, "eval.dataset")
            nptest.run(["prepare", crops, "--max-size", "1", "--size", "48x64", "--val-list",
                        os.path.join(crops, "val.txt"), "-o", dataset])
            scores = os.path.join(folder, "scores.json")
            proc = subprocess.run([os.path.join(nptest.SOURCE_ROOT, "tools", "evaluate-models"), dataset,
                                   os.path.join(nptest.SOURCE_ROOT, "models", "sr2x.safetensors"),
                                   "--shrink", "area", "--by-photo", "--json", scores],
                                  capture_output=True, text=True, cwd=folder, timeout=300)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertIn("0 training crops", proc.stdout)
            with open(scores) as f:
                result = json.load(f)["sr2x.safetensors"]
            self.assertEqual(sorted(result["baselines"]), ["bicubic"])
            photos = {n: cv2.imread(os.path.join(crops, n))[..., ::-1] for n in names}
            psnr = {}
            for n, p in photos.items():
                small = cv2.resize(p, (24, 32), interpolation=cv2.INTER_AREA)
                up = cv2.resize(small, (48, 64), interpolation=cv2.INTER_CUBIC).astype(float)
                psnr[n] = 10 * np.log10(255 ** 2 / ((up - p) ** 2).mean())
            self.assertAlmostEqual(result["baselines"]["bicubic"]["psnr"], float(np.mean(list(psnr.values()))),
                                   places=6)
            self.assertEqual({k: v["crops"] for k, v in result["by_photo"].items()}, {"lake": 2, "cups": 1})
            self.assertAlmostEqual(result["by_photo"]["lake"]["baselines"]["bicubic"],
                                   (psnr["lake-0-0.png"] + psnr["lake-0-1.png"]) / 2, places=6)
            self.assertAlmostEqual(result["by_photo"]["cups"]["baselines"]["bicubic"], psnr["cups-1-0.png"],
                                   places=6)
            # The model's own, its crops' mean: weighed as the whole is.
            whole = (2 * result["by_photo"]["lake"]["psnr"] + result["by_photo"]["cups"]["psnr"]) / 3
            self.assertAlmostEqual(whole, result["psnr"], places=6)

    def test_saturation_zero_scores_the_gray_photo(self):
        # --saturation reaches the colouriser: at 0 it puts no colour on the
        # photo's luminance, so it scores the gray input's baseline (to the
        # rounding of a level) and no colourfulness; at 1 it colours.
        rng = np.random.default_rng(5)
        with tempfile.TemporaryDirectory() as folder:
            photos = os.path.join(folder, "photos")
            os.makedirs(photos)
            names = ["a.png", "b.png", "c.png", "d.png"]
            for name in names:
                cv2.imwrite(os.path.join(photos, name),
                            cv2.GaussianBlur(rng.integers(0, 256, (80, 64, 3), dtype=np.uint8), (0, 0), 3))
            with open(os.path.join(photos, "val.txt"), "w") as f:
                f.write("c.png\nd.png\n")
            dataset = os.path.join(folder, "faces")
            nptest.run(["prepare", photos, "--max-size", "1", "--size", "64x80", "--val-list",
                        os.path.join(photos, "val.txt"), "-o", dataset])
            scores = {}
            for saturation in ("0", "1"):
                out = os.path.join(folder, "scores-%s.json" % saturation)
                proc = subprocess.run([os.path.join(nptest.SOURCE_ROOT, "tools", "evaluate-models"), dataset,
                                       os.path.join(nptest.SOURCE_ROOT, "tests", "data", "colorize-tiny.safetensors"),
                                       "--saturation", saturation, "--json", out],
                                      capture_output=True, text=True, cwd=folder, timeout=300)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                with open(out) as f:
                    scores[saturation] = json.load(f)["colorize-tiny.safetensors"]
            gray = scores["0"]
            self.assertLess(gray["colourfulness"], 0.5)
            self.assertAlmostEqual(gray["psnr"], gray["baselines"]["input"]["psnr"], delta=0.1)
            self.assertGreater(scores["1"]["colourfulness"], 2)


if __name__ == "__main__":
    nptest.main()
