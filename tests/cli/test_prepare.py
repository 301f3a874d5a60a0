"""neuropaint prepare: a dataset from a handful of photos, checked with OpenCV
and NumPy as independent oracles.

- numpy.load reads every stack: |u1, shape (N, H, W, C);
- faces are OpenCV's detectMultiScale boxes (the seed's 1.2, 5, 60 px), eyes
  haarcascade_eye.xml's in the face's upper half, crops cv2.resize INTER_CUBIC
  of the seed's padded box (or of the centre) within 1 (fixed-point rounding);
- the filtered versions are the seed's OpenCV routines on the crop: cvtColor
  RGB2GRAY (within 1), (c > 200)·200, findContours + drawContours, Canny;
- the manifest's means, brightness, colour name and gray flag are recomputed
  in NumPy from their definitions, the split from the val list;
- an unreadable photo is named and skipped (exit 2), a dataset is never
  written inside a photo folder, and a re-run leaves a consistent dataset.

The photos are a few of ../shared/data/faces (London and FairFace, one of them
gray) with its val.txt; without shared/, Debian's sample photos, as it says."""
import functools
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nptest  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

CASCADES = "/usr/share/opencv4/haarcascades"
FRONTAL = os.path.join(CASCADES, "haarcascade_frontalface_default.xml")
EYE = os.path.join(CASCADES, "haarcascade_eye.xml")
W, H = 256, 320
KINDS = {"color": 3, "gray": 1, "binary": 3, "contours": 3, "canny": 3}
# The 11 basic colour terms at their CSS values, in the documented order.
PALETTE = [("black", (0, 0, 0)), ("white", (255, 255, 255)), ("gray", (128, 128, 128)),
           ("red", (255, 0, 0)), ("orange", (255, 165, 0)), ("yellow", (255, 255, 0)),
           ("green", (0, 128, 0)), ("blue", (0, 0, 255)), ("purple", (128, 0, 128)),
           ("pink", (255, 192, 203)), ("brown", (165, 42, 42))]


@functools.lru_cache(maxsize=None)
def rgb_of(path):
    img = nptest.read_rgb(path)
    if img.ndim == 2:
        img = np.stack([img] * 3, -1)
    return np.ascontiguousarray(img[..., :3])


def opencv_faces(path):
    """detectMultiScale with the seed's parameters, largest first (then top, left)."""
    gray = cv2.cvtColor(rgb_of(path), cv2.COLOR_RGB2GRAY)
    faces = cv2.CascadeClassifier(FRONTAL).detectMultiScale(gray, 1.2, 5, minSize=(60, 60))
    return sorted((tuple(int(v) for v in f) for f in faces), key=lambda f: (-f[2] * f[3], f[1], f[0]))


def opencv_eyes(path, face):
    """Eyes in the face's upper half: scale 1.1, 3 neighbours, a tenth of the face."""
    gray = cv2.cvtColor(rgb_of(path), cv2.COLOR_RGB2GRAY)
    x, y, w, h = face
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, gray.shape[1]), min(y + h // 2, gray.shape[0])
    found = cv2.CascadeClassifier(EYE).detectMultiScale(gray[y0:y1, x0:x1], 1.1, 3,
                                                        minSize=(w // 10, w // 10))
    return sorted((int(ex) + x0, int(ey) + y0, int(ew), int(eh)) for ex, ey, ew, eh in found)


def crop_box(shape, face):
    """The seed's padded box (dw = w/2, dh = dw·4/3; 1.5w × 2w at x − dw/2,
    y − 0.75·dh, clipped), or without a face the largest centred W:H box."""
    ih, iw = shape[:2]
    if face is None:
        if iw * H > ih * W:
            h = ih
            w = max(int(round(h * W / H)), 1)
        else:
            w = iw
            h = max(int(round(w * H / W)), 1)
        x0, y0 = (iw - w) // 2, (ih - h) // 2
        return x0, y0, x0 + w, y0 + h
    x, y, w = face[0], face[1], face[2]
    dw = w / 2.0
    dh = dw * 4 / 3
    x0, y0 = int(round(x - dw / 2)), int(round(y - 0.75 * dh))
    x1, y1 = x0 + int(round(1.5 * w)), y0 + int(round(2.0 * w))
    return max(x0, 0), max(y0, 0), min(x1, iw), min(y1, ih)


def seed_contours(rgb, thresholds=(50, 100, 150, 200)):
    out = np.zeros_like(rgb)
    for j in range(3):
        for k in thresholds:
            mask = (rgb[..., j] > k).astype(np.uint8)
            found, _ = cv2.findContours(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
            colour = [0, 0, 0]
            colour[j] = k
            cv2.drawContours(out, found, -1, colour, 1)
    return out


def seed_canny(rgb):
    mask = ((rgb > 200) * 200).astype(np.uint8)
    return np.stack([cv2.Canny(np.ascontiguousarray(mask[..., j]), 140, 255) for j in range(3)], -1)


def dominant_colour(crop):
    pixels = crop.reshape(-1, 3).astype(np.int64)
    palette = np.array([rgb for _, rgb in PALETTE], np.int64)
    nearest = ((pixels[:, None, :] - palette[None]) ** 2).sum(-1).argmin(1)   # first on ties
    return PALETTE[np.bincount(nearest, minlength=len(PALETTE)).argmax()][0]   # first on ties


def is_gray(crop):
    r, g, b = (crop[..., c].astype(np.float64) for c in range(3))
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b
    return (cb * cb + cr * cr > 64).sum() * 100 <= crop.shape[0] * crop.shape[1]


def load(dataset):
    with open(os.path.join(dataset, "dataset.json")) as f:
        info = json.load(f)
    with open(os.path.join(dataset, "manifest.jsonl")) as f:
        lines = [json.loads(line) for line in f]
    stacks = {k: np.load(os.path.join(dataset, k + ".npy"), mmap_mode="r") for k in info["kinds"]}
    return info, lines, stacks


class Prepare(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(FRONTAL) or not os.path.exists(EYE):
            raise unittest.SkipTest("no Haar cascades (install opencv-data)")
        cls.tmp = tempfile.TemporaryDirectory(prefix="np-prepare-")
        tmp = cls.tmp.name
        faces = os.path.join(nptest.SHARED_DATA, "faces")
        if os.path.isdir(faces):
            names = ["london-neutral/001_03.jpg", "london-smiling/012_08.jpg", "fairface/fairface_0001.jpg",
                     "fairface/fairface_0036.jpg", "fairface/fairface_0400.jpg", "fairface/fairface_0540.jpg"]
            cls.photos = [os.path.join(faces, n) for n in names]
            cls.val_list = os.path.join(faces, "val.txt")
            cls.gray_photos = {cls.photos[3], cls.photos[5]}   # FairFace's black-and-white ones
            cls.colour_photos = set(cls.photos[:3])
        else:
            print("note: ../shared/data absent: Debian's sample photos only", file=sys.stderr)
            cls.photos = [p for p in nptest.debian_photos() if "messi" not in p and "chelsea" not in p]
            if len(cls.photos) < 2:
                raise unittest.SkipTest("no photos: install python3-skimage and facedetect, or provide ../shared/data")
            # A black-and-white copy, stored in colour as many are.
            os.mkdir(os.path.join(tmp, "bw"))
            gray_copy = os.path.join(tmp, "bw", "gray.png")
            cv2.imwrite(gray_copy, cv2.cvtColor(cv2.cvtColor(cv2.imread(cls.photos[0]), cv2.COLOR_BGR2GRAY),
                                                cv2.COLOR_GRAY2BGR))
            cls.photos.append(gray_copy)
            cls.val_list = os.path.join(tmp, "val.txt")
            with open(cls.val_list, "w") as f:
                f.write("data/astronaut.png\n./bw//gray.png\n")
            cls.gray_photos = {gray_copy}
            cls.colour_photos = {p for p in cls.photos if "astronaut" in p or "grace" in p}
        with open(cls.val_list) as f:
            cls.val_entries = [os.path.normpath(line.strip()) for line in f if line.strip()]

        # Two faces side by side, for --all-faces.
        os.mkdir(os.path.join(tmp, "multi"))
        cls.two_faces = os.path.join(tmp, "multi", "two.png")
        pair = [cv2.resize(cv2.imread(p), (512, 512)) for p in sorted(cls.colour_photos)[:2]]
        cv2.imwrite(cls.two_faces, np.hstack(pair))
        # A photo that cannot be read.
        os.mkdir(os.path.join(tmp, "bad"))
        cls.broken = os.path.join(tmp, "bad", "broken.jpg")
        with open(cls.broken, "wb") as f:
            f.write(b"\xff\xd8\xff\xe0 truncated")

        cls.dataset = os.path.join(tmp, "out", "faces.dataset")
        cls.proc = nptest.run(["prepare", "-o", cls.dataset, "--val-list", cls.val_list, "-j", "2", cls.broken]
                              + cls.photos, check=False, timeout=300)
        cls.all_faces = os.path.join(tmp, "out", "all.dataset")
        nptest.run(["prepare", "-o", cls.all_faces, "--all-faces", "--size", "%dx%d" % (W, H),
                    os.path.dirname(cls.two_faces)], timeout=300)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_unreadable_photo_skipped_and_named(self):
        self.assertEqual(self.proc.returncode, 2, self.proc.stderr)
        self.assertIn("broken.jpg", self.proc.stderr)
        self.assertIn("1 of %d inputs failed" % (len(self.photos) + 1), self.proc.stderr)
        self.assertNotIn("CRITICAL", self.proc.stderr)
        info, lines, _ = load(self.dataset)
        self.assertEqual(info["count"], len(self.photos))
        # In the order of the sorted input list (the one every shard of a batch agrees on).
        self.assertEqual([e["source"] for e in lines], sorted(self.photos))

    def test_format(self):
        info, lines, stacks = load(self.dataset)
        self.assertEqual((info["format"], info["version"]), ("neuropaint-dataset", 1))
        self.assertEqual((info["width"], info["height"]), (W, H))
        self.assertEqual(info["kinds"], KINDS)
        self.assertEqual(info["filters"], {"gray": {}, "binary": {"input_threshold": "200"},
                                           "contours": {"input_thresholds": "50,100,150,200"},
                                           "canny": {"input_threshold": "200"}})
        self.assertEqual([e["index"] for e in lines], list(range(info["count"])))
        for kind, channels in KINDS.items():
            self.assertEqual(stacks[kind].dtype, np.uint8, kind)
            self.assertEqual(stacks[kind].shape, (info["count"], H, W, channels), kind)
        leftovers = [n for n in os.listdir(self.dataset) if n.startswith(".")]
        self.assertEqual(leftovers, [])

    def check_item(self, entry, crop_index, stacks):
        """One manifest line and its pixels against OpenCV."""
        src = entry["source"]
        rgb = rgb_of(src)
        faces = opencv_faces(src)
        face = faces[crop_index] if faces else None
        if face is None:
            self.assertIsNone(entry["face"], src)
            self.assertEqual(entry["eyes"], [], src)
        else:
            self.assertEqual((entry["face"]["x"], entry["face"]["y"], entry["face"]["w"], entry["face"]["h"]),
                             face, src)
            self.assertEqual(sorted((e["x"], e["y"], e["w"], e["h"]) for e in entry["eyes"]),
                             opencv_eyes(src, face), src)

        i = entry["index"]
        x0, y0, x1, y1 = crop_box(rgb.shape, face)
        want = cv2.resize(np.ascontiguousarray(rgb[y0:y1, x0:x1]), (W, H), interpolation=cv2.INTER_CUBIC)
        crop = np.ascontiguousarray(stacks["color"][i])
        diff = np.abs(crop.astype(int) - want.astype(int))
        self.assertLessEqual(diff.max(), 1, src)
        self.assertLess((diff > 0).mean(), 0.1, src)

        # The filtered versions: the seed's OpenCV routines on the crop.
        gray = np.abs(stacks["gray"][i][..., 0].astype(int) - cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY))
        self.assertLessEqual(gray.max(), 1, src)
        np.testing.assert_array_equal(stacks["binary"][i], ((crop > 200) * 200).astype(np.uint8), src)
        np.testing.assert_array_equal(stacks["contours"][i], seed_contours(crop), src)
        np.testing.assert_array_equal(stacks["canny"][i], seed_canny(crop), src)

        # The manifest's statistics, from their definitions.
        means = crop.reshape(-1, 3).mean(0)
        np.testing.assert_allclose(entry["means"], means, atol=0.0051, err_msg=src)
        self.assertAlmostEqual(entry["brightness"], 0.299 * means[0] + 0.587 * means[1] + 0.114 * means[2],
                               delta=0.0051, msg=src)
        self.assertEqual(entry["colour"], dominant_colour(crop), src)
        self.assertEqual(entry["gray"], is_gray(crop), src)

        absolute = os.path.abspath(src)
        self.assertEqual(entry["subset"], os.path.basename(os.path.dirname(absolute)))
        val = any(absolute == e or absolute.endswith("/" + e) for e in self.val_entries)
        self.assertEqual(entry["split"], "val" if val else "train", src)
        return face is not None

    def test_items_match_opencv(self):
        _, lines, stacks = load(self.dataset)
        with_face = [self.check_item(e, 0, stacks) for e in lines]
        self.assertTrue(any(with_face), "no face found at all: the face checks are vacuous")
        self.assertTrue(stacks["contours"].any() and stacks["canny"].any(), "no edges at all")
        self.assertEqual({e["split"] for e in lines}, {"train", "val"}, "both splits are tested")

    def test_gray_flag(self):
        _, lines, _ = load(self.dataset)
        flags = {e["source"]: e["gray"] for e in lines}
        for p in self.gray_photos:
            self.assertTrue(flags[p], p)
        for p in self.colour_photos:
            self.assertFalse(flags[p], p)

    def test_all_faces(self):
        info, lines, stacks = load(self.all_faces)
        self.assertEqual(len(opencv_faces(self.two_faces)), 2, "the test photo needs two faces")
        self.assertEqual(info["count"], 2)
        for k, entry in enumerate(lines):
            self.assertEqual(entry["source"], os.path.join(os.path.dirname(self.two_faces), "two.png"))
            self.assertEqual(entry["subset"], "multi")
            self.check_item(entry, k, stacks)

    def test_refuses_photo_folders(self):
        folder = os.path.dirname(self.two_faces)
        for out, inputs in ((folder, [folder + "/"]),
                            (os.path.join(folder, ".", "x", "..", "sub", "ds"), [self.two_faces])):
            proc = nptest.run(["prepare", "-o", out] + inputs, check=False, timeout=120)
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn("inside the photo folder", proc.stderr)
        self.assertEqual(sorted(os.listdir(folder)), ["two.png"])

    def test_rerun_is_consistent(self):
        out = os.path.join(self.tmp.name, "rerun")
        shutil.copytree(self.dataset, out)
        # Again, with fewer photos: every file is replaced, none is stale.
        nptest.run(["prepare", "-o", out] + self.photos[1:3], timeout=300)
        info, lines, stacks = load(out)
        self.assertEqual(info["count"], 2)
        self.assertEqual([e["source"] for e in lines], sorted(self.photos[1:3]))
        for kind in KINDS:
            self.assertEqual(stacks[kind].shape[0], 2, kind)
        _, first_lines, first_stacks = load(self.dataset)
        where = [[e["source"] for e in first_lines].index(p) for p in sorted(self.photos[1:3])]
        np.testing.assert_array_equal(stacks["canny"], first_stacks["canny"][where])
        # A run with nothing readable writes nothing: the dataset stays.
        proc = nptest.run(["prepare", "-o", out, self.broken], check=False, timeout=120)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("nothing written", proc.stderr)
        info, lines, stacks = load(out)
        self.assertEqual((info["count"], len(lines), stacks["canny"].shape[0]), (2, 2, 2))
        self.assertEqual([n for n in os.listdir(out) if n.startswith(".")], [])

    def test_usage(self):
        help_text = nptest.run(["prepare", "--help"]).stdout
        for option in ("--val-list", "--all-faces", "--size", "--min-neighbors", "--threads", "Example:"):
            self.assertIn(option, help_text)
        self.assertEqual(nptest.run(["help", "prepare"]).stdout, help_text)
        photo = self.photos[0]
        out = os.path.join(self.tmp.name, "usage")
        for args, code, message in (
                ([photo], 1, "--output"),
                (["-o", out, "--size", "0x5", photo], 1, "--size"),
                (["-o", out, "--val-list", os.path.join(out, "missing.txt"), photo], 2, "missing.txt")):
            proc = nptest.run(["prepare"] + args, check=False, timeout=120)
            self.assertEqual(proc.returncode, code, "%s: %s" % (args, proc.stderr))
            self.assertIn(message, proc.stderr)
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    nptest.main()
