"""neuropaint detect / crop / bench detect: usage errors and bad input end in
one clear message and the documented exit status (1 usage, 2 failure), never
a crash or a half-written output."""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nptest  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402


class DetectCli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.photo = os.path.join(self.dir, "noise.png")
        cv2.imwrite(self.photo, np.random.RandomState(1).randint(0, 256, (90, 120, 3)).astype(np.uint8))

    def tearDown(self):
        self.tmp.cleanup()

    def assertFails(self, args, code, message):
        proc = nptest.run(args, check=False, timeout=120)
        self.assertEqual(proc.returncode, code, "exit %d, stderr: %s" % (proc.returncode, proc.stderr))
        self.assertIn(message, proc.stderr)
        self.assertNotIn("CRITICAL", proc.stderr)
        return proc

    def test_help(self):
        for cmd in ("detect", "crop"):
            proc = nptest.run([cmd, "--help"])
            self.assertIn("--min-neighbors", proc.stdout)
            self.assertIn("--scale-factor", proc.stdout)
        self.assertIn("detect", nptest.run(["bench", "--help"]).stdout)

    def test_usage_errors(self):
        self.assertFails(["detect"], 1, "no input images")
        self.assertFails(["detect", "--scale-factor", "1", self.photo], 1, "--scale-factor")
        self.assertFails(["detect", "--min-neighbors", "-1", self.photo], 1, "--min-neighbors")
        self.assertFails(["detect", "--min-size", "-5", self.photo], 1, "--min-size")
        self.assertFails(["crop", self.photo], 1, "--output")
        self.assertFails(["crop", "-o", self.dir, "--size", "0x5", self.photo], 1, "--size")
        self.assertFails(["crop", "-o", self.dir, "--size", "64", self.photo], 1, "--size")
        self.assertFails(["crop", "-o", self.dir, "--index", "-1", self.photo], 1, "--index")
        self.assertFails(["bench", "detect"], 2, "--image")

    def test_bad_inputs(self):
        missing = os.path.join(self.dir, "missing.jpg")
        self.assertFails(["detect", missing], 2, "missing.jpg")
        self.assertFails(["detect", "--cascade", missing, self.photo], 2, "missing.jpg")
        junk = os.path.join(self.dir, "junk.jpg")
        with open(junk, "wb") as f:
            f.write(b"\xff\xd8\xff\xe0 truncated")
        # The good image is still processed; the bad one is reported; exit 2.
        proc = self.assertFails(["detect", "--json", junk, self.photo], 2, "junk.jpg")
        self.assertEqual(len(proc.stdout.splitlines()), 1)
        self.assertEqual(json.loads(proc.stdout)["file"], self.photo)

    def test_detect_text_and_json_agree(self):
        photos = [p for p in nptest.debian_photos() if "astronaut" in p or "grace" in p]
        if not photos:
            self.skipTest("no Debian sample photos")
        text = nptest.run(["detect"] + photos).stdout.splitlines()
        boxes = [json.loads(line) for line in nptest.run(["detect", "--json"] + photos).stdout.splitlines()]
        want = ["%s %d %d %d %d" % (e["file"], f["x"], f["y"], f["w"], f["h"]) for e in boxes for f in e["faces"]]
        self.assertEqual(text, want)
        self.assertTrue(all(e["faces"] for e in boxes), "a face in each of %s" % photos)

    def test_crop_all_and_folder(self):
        photos = [p for p in nptest.debian_photos() if "astronaut" in p]
        if not photos:
            self.skipTest("no Debian sample photos")
        src = os.path.join(self.dir, "in")
        os.mkdir(src)
        cv2.imwrite(os.path.join(src, "a.png"), cv2.imread(photos[0]))
        cv2.imwrite(os.path.join(src, "b.png"), np.full((50, 60, 3), 200, np.uint8))
        out = os.path.join(self.dir, "out")
        nptest.run(["crop", "--all", "--size", "40x50", "-o", out, src])
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
        names = sorted(os.listdir(out))
        self.assertEqual(names, ["a-0.png", "manifest.json"])  # b has no face: no crop with --all
        self.assertEqual([len(e["crops"]) for e in manifest["images"]], [1, 0])
        self.assertEqual(cv2.imread(os.path.join(out, "a-0.png")).shape, (50, 40, 3))


if __name__ == "__main__":
    nptest.main()
