"""Oracle tests of Haar-cascade detection and face crops against OpenCV 4.6.

`neuropaint detect --json` and cv2.CascadeClassifier.detectMultiScale run on
the same photos with the same cascade and parameters (OpenCV reads BGR and
converts with BGR2GRAY; we read RGB and use the same fixed-point weights):
- the face-detection photos in ../shared/data/detect, Debian's sample photos
  and a sample of ../shared/data/faces, for scaleFactor 1.1 / 1.2 and
  minNeighbors 3 / 5: every OpenCV box must have one of ours at IoU >= 0.5
  (the issue's floor is 95%) and no more than 5% of ours may be extra; the
  agreement found is printed;
- raw candidates (minNeighbors 0) of stump, tree, tilted and old-format
  cascades must be the same set, which checks the pyramid, integrals,
  variance normalisation and stage arithmetic before any grouping;
- the landmarks in the .tem files give ground-truth faces: every upright
  photo's face is found, and the rotated lisa3 is missed with the seed's
  parameters;
- crops equal OpenCV's INTER_CUBIC resize of the hand-computed padded box.
"""
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

CASCADES = "/usr/share/opencv4/haarcascades"
FRONTAL = os.path.join(CASCADES, "haarcascade_frontalface_default.xml")
MIN_SIZE = 30
FACES_SAMPLE = 20


def iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = min(ax + aw, bx + bw) - max(ax, bx)
    h = min(ay + ah, by + bh) - max(ay, by)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / float(aw * ah + bw * bh - inter)


def opencv_boxes(cascade, path, scale, neighbours, min_size):
    gray = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)
    found = cascade.detectMultiScale(gray, scaleFactor=scale, minNeighbors=neighbours,
                                     minSize=(min_size, min_size))
    return [tuple(int(v) for v in box) for box in found]


def our_boxes(paths, cascade, scale, neighbours, min_size):
    proc = nptest.run(["detect", "--json", "--cascade", cascade, "--scale-factor", str(scale),
                       "--min-neighbors", str(neighbours), "--min-size", str(min_size)] + paths)
    result = {}
    for line in proc.stdout.splitlines():
        entry = json.loads(line)
        result[entry["file"]] = [(f["x"], f["y"], f["w"], f["h"]) for f in entry["faces"]]
    return result


def sample_faces():
    folder = os.path.join(nptest.SHARED_DATA, "faces")
    if not os.path.isdir(folder):
        return []
    found = sorted(os.path.join(root, f) for root, _, files in os.walk(folder)
                   for f in files if f.lower().endswith(".jpg"))
    step = max(len(found) // FACES_SAMPLE, 1)
    return found[::step][:FACES_SAMPLE]


def tem_box(path):
    """The landmark bounding box of a webmorph .tem file."""
    with open(path) as f:
        n = int(f.readline())
        pts = np.array([[float(v) for v in f.readline().split()[:2]] for _ in range(n)])
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return x0, y0, x1 - x0, y1 - y0


class HaarOracle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(FRONTAL):
            raise unittest.SkipTest("no %s (install opencv-data)" % FRONTAL)
        cls.photos = nptest.shared_photos("detect") + [
            p for p in nptest.debian_photos() if "coffee" not in p and "chelsea" not in p]
        cls.photos += sample_faces()
        if not cls.photos:
            raise unittest.SkipTest("no photos: install python3-skimage or provide ../shared/data")
        if not nptest.shared_photos("detect"):
            print("note: ../shared/data absent; Debian's sample photos only", file=sys.stderr)

    def test_parity_with_detectmultiscale(self):
        cascade = cv2.CascadeClassifier(FRONTAL)
        for scale in (1.1, 1.2):
            for neighbours in (3, 5):
                ours = our_boxes(self.photos, FRONTAL, scale, neighbours, MIN_SIZE)
                n_cv = n_ours = matched = extra = exact = 0
                for path in self.photos:
                    want = opencv_boxes(cascade, path, scale, neighbours, MIN_SIZE)
                    got = ours[path]
                    n_cv += len(want)
                    n_ours += len(got)
                    matched += sum(1 for w in want if any(iou(w, g) >= 0.5 for g in got))
                    extra += sum(1 for g in got if not any(iou(w, g) >= 0.5 for w in want))
                    exact += sorted(want) == sorted(got)
                print("scaleFactor %.1f minNeighbors %d: %d images, OpenCV %d boxes, ours %d, "
                      "matched %d, extra %d, identical images %d" %
                      (scale, neighbours, len(self.photos), n_cv, n_ours, matched, extra, exact),
                      file=sys.stderr)
                self.assertGreaterEqual(matched, 0.95 * n_cv)
                self.assertLessEqual(extra, 0.05 * max(n_ours, 1))

    def test_raw_candidates_identical(self):
        photos = [p for p in nptest.debian_photos() if "astronaut" in p or "messi" in p]
        photos += nptest.shared_photos("detect")[:1]
        if not photos:
            self.skipTest("no photos")
        for name in ("frontalface_default",          # stumps
                     "frontalface_alt2",             # trees of two nodes
                     "eye_tree_eyeglasses",          # trees with tilted features
                     "licence_plate_rus_16stages"):  # the old format
            path = os.path.join(CASCADES, "haarcascade_%s.xml" % name)
            cascade = cv2.CascadeClassifier(path)
            ours = our_boxes(photos, path, 1.1, 0, 0)
            for photo in photos:
                want = sorted(opencv_boxes(cascade, photo, 1.1, 0, 0))
                self.assertEqual(sorted(ours[photo]), want, "%s on %s" % (name, photo))

    def test_raw_candidates_on_small_images(self):
        # Small images, as the upper half of a face searched for eyes: OpenCV
        # scans each level's rows in stripes whose integer sizes can drop the
        # last row of windows; ours must drop the same ones.
        photo = ([p for p in nptest.debian_photos() if "astronaut" in p] + nptest.shared_photos("detect"))[:1]
        if not photo:
            self.skipTest("no photos")
        gray = cv2.cvtColor(cv2.imread(photo[0]), cv2.COLOR_BGR2GRAY)
        fx, fy, fw, fh = opencv_boxes(cv2.CascadeClassifier(FRONTAL), photo[0], 1.2, 5, 60)[0]
        rng = np.random.default_rng(5)
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for i in range(24):
                # Around the face: parts of it, or all of it with a margin.
                h, w = rng.integers(fh // 4, fh * 3 // 2, 2)
                y = int(np.clip(fy + rng.integers(-fh // 4, fh // 2), 0, gray.shape[0] - h))
                x = int(np.clip(fx + rng.integers(-fw // 4, fw // 2), 0, gray.shape[1] - w))
                paths.append(os.path.join(tmp, "roi%02d.png" % i))
                cv2.imwrite(paths[-1], cv2.cvtColor(gray[y:y + h, x:x + w], cv2.COLOR_GRAY2BGR))
            for name in ("eye", "frontalface_default"):
                path = os.path.join(CASCADES, "haarcascade_%s.xml" % name)
                cascade = cv2.CascadeClassifier(path)
                ours = our_boxes(paths, path, 1.1, 0, 0)
                found = 0
                for roi in paths:
                    want = sorted(opencv_boxes(cascade, roi, 1.1, 0, 0))
                    self.assertEqual(sorted(ours[roi]), want, "%s on %s" % (name, roi))
                    found += len(want)
                self.assertGreater(found, 0, "no %s candidates at all: a vacuous comparison" % name)

    def test_min_max_sizes(self):
        # Raw candidates with size limits, including OpenCV's fallback to the
        # one nearest factor when no window lies within min/max (min == max
        # between two factors, or a minimum larger than any window).
        photos = [p for p in nptest.debian_photos() if "astronaut" in p]
        photos += nptest.shared_photos("detect")[4:5]
        cascade = cv2.CascadeClassifier(FRONTAL)
        for photo in photos:
            gray = cv2.cvtColor(cv2.imread(photo, cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)
            for lo, hi in ((50, 50), (40, 60), (30, 100), (600, 0), (45, 45)):
                limits = dict(minSize=(lo, lo), maxSize=(hi, hi)) if hi else dict(minSize=(lo, lo))
                found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=0, **limits)
                want = sorted(tuple(int(v) for v in b) for b in found)
                proc = nptest.run(["detect", "--json", "--scale-factor", "1.1", "--min-neighbors", "0",
                                   "--min-size", str(lo), "--max-size", str(hi), photo])
                got = sorted((f["x"], f["y"], f["w"], f["h"]) for f in json.loads(proc.stdout)["faces"])
                self.assertEqual(got, want, "%s min %d max %d" % (photo, lo, hi))

    def test_eye_verification(self):
        photos = [p for p in nptest.debian_photos() if "coffee" not in p and "chelsea" not in p]
        photos += nptest.shared_photos("detect")[:4]
        if not photos:
            self.skipTest("no photos")
        eyes = cv2.CascadeClassifier(os.path.join(CASCADES, "haarcascade_eye.xml"))
        plain = our_boxes(photos, FRONTAL, 1.1, 3, MIN_SIZE)
        proc = nptest.run(["detect", "--json", "--verify-eyes", "--scale-factor", "1.1",
                           "--min-neighbors", "3", "--min-size", str(MIN_SIZE)] + photos)
        verified = {e["file"]: [(f["x"], f["y"], f["w"], f["h"]) for f in e["faces"]]
                    for e in map(json.loads, proc.stdout.splitlines())}
        kept_any = 0
        for photo in photos:
            gray = cv2.cvtColor(cv2.imread(photo, cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)
            # A face is kept when OpenCV finds an eye in its upper half with
            # scaleFactor 1.1, 3 neighbours and eyes of at least a tenth of it.
            want = []
            for (x, y, w, h) in plain[photo]:
                upper = gray[y:y + h // 2, x:x + w]
                m = max(w // 10, 0)
                if len(eyes.detectMultiScale(upper, 1.1, 3, minSize=(m, m))):
                    want.append((x, y, w, h))
            self.assertEqual(verified[photo], want, photo)
            kept_any += len(want)
        self.assertGreater(kept_any, 0)

    def test_ground_truth_faces(self):
        photos = nptest.shared_photos("detect")
        if not photos:
            self.skipTest("../shared/data/detect absent")
        ours = our_boxes(photos, FRONTAL, 1.2, 5, 60)
        for photo in photos:
            truth = tem_box(os.path.splitext(photo)[0] + ".tem")
            cx, cy = truth[0] + truth[2] / 2, truth[1] + truth[3] / 2
            hits = [b for b in ours[photo] if b[0] <= cx <= b[0] + b[2] and b[1] <= cy <= b[1] + b[3]]
            if os.path.basename(photo) == "lisa3.jpg":
                self.assertEqual(ours[photo], [], "the rotated lisa3 should be missed")
            else:
                self.assertEqual(len(hits), 1, "%s: %s vs landmarks %s" % (photo, ours[photo], truth))

    def test_crop_matches_cubic_resize(self):
        photos = [p for p in nptest.debian_photos() if "astronaut" in p]
        photos += nptest.shared_photos("detect")[:2]
        out = tempfile.mkdtemp(prefix="np-crop-")
        nptest.run(["crop", "-o", out, "--size", "120x160"] + photos)
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual((manifest["width"], manifest["height"]), (120, 160))
        for entry in manifest["images"]:
            rgb = nptest.read_rgb(entry["file"])[..., :3]
            face = entry["faces"][0]
            x, y, w = face["x"], face["y"], face["w"]
            # The seed's box, by hand: dw = w/2, dh = dw·4/3, 1.5w × 2w at (x − dw/2, y − 0.75·dh).
            dw = w / 2.0
            dh = dw * 4 / 3
            x0, y0 = int(round(x - dw / 2)), int(round(y - 0.75 * dh))
            x1, y1 = x0 + int(round(1.5 * w)), y0 + int(round(2.0 * w))
            x0, y0 = max(x0, 0), max(y0, 0)
            x1, y1 = min(x1, rgb.shape[1]), min(y1, rgb.shape[0])
            want = cv2.resize(rgb[y0:y1, x0:x1], (120, 160), interpolation=cv2.INTER_CUBIC)
            got = nptest.read_rgb(os.path.join(out, entry["crops"][0]["file"]))[..., :3]
            self.assertEqual(got.shape, want.shape)
            diff = np.abs(got.astype(int) - want.astype(int))
            self.assertLess(diff.mean(), 1.0, entry["file"])
            self.assertLessEqual(np.percentile(diff, 99), 3, entry["file"])

    def test_no_face_crops_centre_with_warning(self):
        flat = os.path.join(tempfile.mkdtemp(prefix="np-flat-"), "flat.png")
        cv2.imwrite(flat, np.full((300, 400, 3), 90, np.uint8))
        out = tempfile.mkdtemp(prefix="np-crop-")
        proc = nptest.run(["crop", "-o", out, flat])
        self.assertIn("warning", proc.stderr)
        with open(os.path.join(out, "manifest.json")) as f:
            entry = json.load(f)["images"][0]
        self.assertEqual(entry["faces"], [])
        self.assertIsNone(entry["crops"][0]["face"])
        got = nptest.read_rgb(os.path.join(out, "flat.png"))
        self.assertEqual(got.shape[:2], (320, 256))
        self.assertTrue((np.abs(got[..., :3].astype(int) - 90) <= 1).all())

    def test_bad_cascade_is_one_clear_error(self):
        folder = tempfile.mkdtemp(prefix="np-cascade-")
        with open(FRONTAL) as f:
            text = f.read()
        cases = {
            "truncated.xml": text[: len(text) // 3],
            "outside.xml": text.replace("6 4 12 9 -1.", "6 4 40 9 -1.", 1),
            "count.xml": text.replace("<stageNum>25<", "<stageNum>26<", 1),
            "empty.xml": "",
        }
        photo = (nptest.debian_photos() or nptest.shared_photos("detect"))[0]
        for name, content in cases.items():
            path = os.path.join(folder, name)
            with open(path, "w") as f:
                f.write(content)
            proc = nptest.run(["detect", "--cascade", path, photo], check=False)
            self.assertEqual(proc.returncode, 2, name)
            self.assertIn(name, proc.stderr)
            self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)


if __name__ == "__main__":
    nptest.main()
