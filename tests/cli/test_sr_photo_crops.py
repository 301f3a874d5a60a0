"""tools/sr-photo-crops and the documented route to a super-resolution
dataset (docs/datasets.md, "Photographs for super resolution"): the crops
are the photo shrunk with OpenCV's INTER_AREA to at most 2048 pixels and cut
into a grid, flat ones left out; val.txt names the held-out photos' crops;
`neuropaint prepare --max-size 1` then takes every crop whole, byte for
byte, in the val split where val.txt says. The photos are made here: noise
in the packages' file names, one of them held out, one half flat, the others
missing (named, exit status 2). --evaluation cuts the second set instead
(plasma's themes, named by their folders), every crop of it held out."""
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nptest  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

TOOL = os.path.join(nptest.SOURCE_ROOT, "tools", "sr-photo-crops")
W, H = 256, 320


def tool_lists():
    """The tool's PHOTOS, HELD_OUT and EVALUATION (its file has no .py suffix)."""
    loader = importlib.machinery.SourceFileLoader("sr_photo_crops", TOOL)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("sr_photo_crops", loader))
    loader.exec_module(module)
    return module.PHOTOS, module.HELD_OUT, module.EVALUATION


class PhotoCrops(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="np-srcrops-")
        photos, held_out, _ = tool_lists()
        rng = np.random.default_rng(3)
        cls.folder = os.path.join(cls.tmp.name, "backgrounds")
        cls.train_name = next(p for p in photos if p not in held_out and "/" not in p)
        cls.val_name = next(p for p in held_out if "/" in p)   # in a subfolder, as MATE's
        cls.made = {}
        for name, (h, w) in ((cls.train_name, (1000, 3000)), (cls.val_name, (700, 900))):
            img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            if name == cls.val_name:
                img[:, :600] = (90, 120, 200)    # flat left of x = 600: 4 of its 6 crops go
            os.makedirs(os.path.dirname(os.path.join(cls.folder, name)), exist_ok=True)
            cv2.imwrite(os.path.join(cls.folder, name), img)
            cls.made[name] = cv2.imread(os.path.join(cls.folder, name))   # as JPEG decodes it
        cls.crops = os.path.join(cls.tmp.name, "crops")
        cls.proc = subprocess.run([sys.executable, TOOL, cls.folder, "-o", cls.crops], capture_output=True,
                                  text=True, timeout=300)
        cls.n_missing = len(photos) - 2

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def expected(self, name):
        """{crop file name: BGR crop} from the docs' definition."""
        img = self.made[name]
        h, w = img.shape[:2]
        if max(h, w) > 2048:
            s = 2048 / max(h, w)
            img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        stem = os.path.splitext(os.path.basename(name))[0]
        out = {}
        for row in range(img.shape[0] // H):
            for col in range(img.shape[1] // W):
                crop = img[row * H:(row + 1) * H, col * W:(col + 1) * W]
                if cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).std() >= 4:
                    out["%s-%d-%d.png" % (stem, row, col)] = crop
        return out

    def test_missing_photos_are_named(self):
        self.assertEqual(self.proc.returncode, 2, self.proc.stderr)
        self.assertEqual(self.proc.stderr.count("cannot read it"), self.n_missing, self.proc.stderr)

    def test_crops_and_val_list(self):
        train, val = self.expected(self.train_name), self.expected(self.val_name)
        self.assertEqual(len(train), 8 * 2)        # 2048×683 → 8 columns, 2 rows
        self.assertEqual(len(val), 2)              # 900×700: 3×2 cells, the third column kept
        got = sorted(n for n in os.listdir(self.crops) if n.endswith(".png"))
        self.assertEqual(got, sorted(list(train) + list(val)))
        for name, crop in list(train.items()) + list(val.items()):
            np.testing.assert_array_equal(cv2.imread(os.path.join(self.crops, name)), crop, err_msg=name)
        with open(os.path.join(self.crops, "val.txt")) as f:
            self.assertEqual(f.read().split(), sorted(val))
        self.assertIn("18 crops of 2 photos", self.proc.stdout)

    def test_prepare_takes_the_crops_whole(self):
        out = os.path.join(self.tmp.name, "photos.dataset")
        nptest.run(["prepare", self.crops, "--max-size", "1", "--val-list", os.path.join(self.crops, "val.txt"),
                    "-o", out], timeout=300)
        color = np.load(os.path.join(out, "color.npy"))
        with open(os.path.join(out, "manifest.jsonl")) as f:
            items = [json.loads(line) for line in f]
        val = self.expected(self.val_name)
        self.assertEqual(len(items), 18)
        for item, pixels in zip(items, color):
            name = os.path.basename(item["source"])
            self.assertIsNone(item["face"])
            self.assertEqual(item["split"], "val" if name in val else "train", name)
            np.testing.assert_array_equal(pixels, cv2.imread(item["source"])[..., ::-1], err_msg=name)

    def test_evaluation_set_is_all_held_out(self):
        evaluation = tool_lists()[2]
        name = evaluation[0]
        theme = name.split("/")[0]
        self.assertEqual(name, theme + "/contents/images/2560x1600.jpg")
        folder = os.path.join(self.tmp.name, "wallpapers")
        os.makedirs(os.path.dirname(os.path.join(folder, name)))
        img = np.random.default_rng(5).integers(0, 256, (1600, 2560, 3), dtype=np.uint8)
        cv2.imwrite(os.path.join(folder, name), img)
        self.made[name] = cv2.imread(os.path.join(folder, name))
        crops = os.path.join(self.tmp.name, "eval-crops")
        proc = subprocess.run([sys.executable, TOOL, "--evaluation", folder, "-o", crops], capture_output=True,
                              text=True, timeout=300)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(proc.stderr.count("cannot read it"), len(evaluation) - 1, proc.stderr)
        # 2560×1600 shrunk to 2048×1280: 8 columns, 4 rows, named by the theme.
        expected = {n.replace("2560x1600", theme): c for n, c in self.expected(name).items()}
        self.assertEqual(len(expected), 8 * 4)
        got = sorted(n for n in os.listdir(crops) if n.endswith(".png"))
        self.assertEqual(got, sorted(expected))
        for n, crop in expected.items():
            np.testing.assert_array_equal(cv2.imread(os.path.join(crops, n)), crop, err_msg=n)
        with open(os.path.join(crops, "val.txt")) as f:
            self.assertEqual(sorted(f.read().split()), got)
        self.assertIn("32 crops of 1 photo in", proc.stdout)


if __name__ == "__main__":
    nptest.main()
