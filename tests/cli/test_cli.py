"""The neuropaint command: help, version, exit codes, and bad input that must
end in one clear message and a non-zero status, never a crash or a
half-written file."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nptest  # noqa: E402

import numpy as np  # noqa: E402


def write_png(path, array):
    import cv2
    assert cv2.imwrite(path, array)


class Cli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.out = os.path.join(self.dir, "out")

    def tearDown(self):
        self.tmp.cleanup()

    def assertFails(self, args, code, message):
        proc = nptest.run(args, check=False, timeout=120)
        self.assertEqual(proc.returncode, code, "exit %d, stderr: %s" % (proc.returncode, proc.stderr))
        self.assertIn(message, proc.stderr)
        self.assertNotIn("CRITICAL", proc.stderr)
        return proc

    def assertNoOutputs(self):
        if os.path.isdir(self.out):
            self.assertEqual(os.listdir(self.out), [], "a failed run left files behind")

    def test_usage_and_help(self):
        proc = nptest.run([], check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("Commands:", proc.stderr)
        for cmd in ("run", "demo", "bench"):
            helped = nptest.run([cmd, "--help"])
            self.assertIn("neuropaint %s" % cmd, helped.stdout)
            self.assertEqual(nptest.run(["help", cmd]).stdout, helped.stdout)
        self.assertIn("neuropaint 0.", nptest.run(["--version"]).stdout)
        self.assertFails(["frobnicate"], 1, "unknown command")
        self.assertFails(["run", "--bogus"], 1, "Unknown option")

    def test_missing_file(self):
        self.assertFails(["run", "-o", self.out, os.path.join(self.dir, "nope.jpg"), "--", "neuropaint:gray"],
                         2, "No such file")
        self.assertNoOutputs()

    def test_corrupt_jpeg(self):
        bad = os.path.join(self.dir, "bad.jpg")
        with open(bad, "wb") as f:
            f.write(b"\xff\xd8\xff\xe0" + os.urandom(300))
        self.assertFails(["run", "-o", self.out, bad, "--", "neuropaint:gray"], 2, "bad.jpg")
        self.assertNoOutputs()

    def test_truncated_png(self):
        good = os.path.join(self.dir, "good.png")
        write_png(good, np.full((40, 30, 3), 100, np.uint8))
        bad = os.path.join(self.dir, "cut.png")
        with open(good, "rb") as f, open(bad, "wb") as g:
            g.write(f.read()[:60])
        self.assertFails(["run", "-o", self.out, bad, "--", "neuropaint:gray"], 2, "cut.png")
        self.assertNoOutputs()

    def test_png_exif_orientation(self):
        """A PNG's eXIf chunk (PNG 1.5's extensions) turns the picture upright
        as EXIF's orientations define (the expected pictures made here with
        NumPy from the stored one), in either byte order."""
        import struct
        import zlib
        import cv2
        stored = np.random.default_rng(5).integers(0, 256, (3, 5, 3), np.uint8)
        upright = {1: stored, 2: stored[:, ::-1], 3: stored[::-1, ::-1], 4: stored[::-1],
                   5: stored.transpose(1, 0, 2), 6: np.rot90(stored, -1), 7: stored[::-1, ::-1].transpose(1, 0, 2),
                   8: np.rot90(stored, 1)}
        png = cv2.imencode(".png", stored[..., ::-1])[1].tobytes()
        for o, want in upright.items():
            for order in ("<", ">"):
                tiff = (b"II" if order == "<" else b"MM") + struct.pack(order + "HIH", 42, 8, 1)
                tiff += struct.pack(order + "HHIHHI", 274, 3, 1, o, 0, 0)
                chunk = struct.pack(">I", len(tiff)) + b"eXIf" + tiff + struct.pack(">I", zlib.crc32(b"eXIf" + tiff))
                with self.subTest(orientation=o, order=order):
                    path = os.path.join(self.dir, "turned.png")
                    with open(path, "wb") as f:
                        f.write(png[:33] + chunk + png[33:])
                    out = os.path.join(self.dir, "turned-out")
                    nptest.run(["run", "-o", out, path, "--", "gegl:nop"])
                    np.testing.assert_array_equal(nptest.read_rgb(os.path.join(out, "turned.png"))[..., :3], want)

    def test_empty_file(self):
        empty = os.path.join(self.dir, "empty.png")
        open(empty, "wb").close()
        self.assertFails(["run", "-o", self.out, empty, "--", "neuropaint:gray"], 2, "empty.png")
        self.assertNoOutputs()

    def test_one_pixel_image(self):
        one = os.path.join(self.dir, "one.png")
        write_png(one, np.array([[[10, 220, 30]]], np.uint8))
        for chain in ("neuropaint:gray", "neuropaint:rgb-threshold threshold=200", "neuropaint:canny",
                      "neuropaint:canny mode=gray", "neuropaint:contours"):
            outs = nptest.apply_chain([one], chain)
            img = nptest.read_rgb(outs[one])
            self.assertEqual(img.shape[:2], (1, 1))

    def test_out_of_range_property(self):
        img = os.path.join(self.dir, "img.png")
        write_png(img, np.zeros((8, 8, 3), np.uint8))
        self.assertFails(["run", "-o", self.out, img, "--", "neuropaint:rgb-threshold", "threshold=300"],
                         2, "threshold")
        self.assertFails(["run", "-o", self.out, img, "--", "neuropaint:rgb-threshold", "level=3"],
                         2, "no level property")
        self.assertFails(["run", "-o", self.out, img, "--", "neuropaint:no-such-op"], 2, "no-such-op")
        self.assertNoOutputs()

    def test_bad_canny_properties(self):
        img = os.path.join(self.dir, "img.png")
        write_png(img, np.zeros((8, 8, 3), np.uint8))
        for args, message in ((["low=-5"], "'low'"), (["high=20000"], "'high'"),
                              (["pre-threshold=256"], "'pre-threshold'"),
                              (["gradient=l3"], "accepted values: l1 l2"),
                              (["mode=hsv"], "accepted values: per-channel gray")):
            with self.subTest(args=args):
                self.assertFails(["run", "-o", self.out, img, "--", "neuropaint:canny"] + args, 2, message)
        self.assertNoOutputs()

    def test_bad_threshold_list(self):
        """A malformed list fails the op with a warning naming the entry, which
        the command turns into one error."""
        img = os.path.join(self.dir, "img.png")
        write_png(img, np.zeros((8, 8, 3), np.uint8))
        for value, message in (("50,abc", "“abc” is not an integer from 0 to 255"),
                               ("", "is empty"), (",,", "has an empty entry"),
                               ("50,,100", "has an empty entry"),
                               ("50,256", "“256” is not an integer from 0 to 255"),
                               ("-1", "“-1” is not an integer")):
            with self.subTest(value=value):
                proc = self.assertFails(["run", "-o", self.out, img, "--", "neuropaint:contours",
                                         "thresholds=" + value], 2, message)
                self.assertIn("neuropaint:contours", proc.stderr)
        self.assertNoOutputs()

    def test_unknown_graph(self):
        img = os.path.join(self.dir, "img.png")
        write_png(img, np.zeros((8, 8, 3), np.uint8))
        self.assertFails(["run", "-o", self.out, "-g", "no-such-graph", img], 1, "no-such-graph")

    def test_gegl_path_without_gegl_own_operations(self):
        # GEGL_PATH naming only our modules hides gegl:load and friends: a
        # clear error, not a graph that renders nothing.
        img = os.path.join(self.dir, "img.png")
        write_png(img, np.zeros((8, 8, 3), np.uint8))
        ours = os.environ["GEGL_PATH"].split(":")[0]
        for args in (["run", "-o", self.out, img, "--", "neuropaint:gray"], ["bench", "gray", "--image", img]):
            with self.subTest(command=args[0]):
                proc = nptest.run(args, check=False, timeout=120, env=dict(os.environ, GEGL_PATH=ours))
                self.assertNotEqual(proc.returncode, 0)
                self.assertIn("GEGL's own operations are not found", proc.stderr)
                self.assertNotIn("CRITICAL", proc.stderr)
        self.assertNoOutputs()

    def test_bench_json(self):
        import json
        img = os.path.join(self.dir, "img.png")
        write_png(img, np.random.default_rng(1).integers(0, 255, (64, 48, 3), np.uint8))
        proc = nptest.run(["bench", "gray", "threshold", "--image", img, "--repeat", "3"])
        lines = proc.stdout.strip().splitlines()
        self.assertEqual(len(lines), 2)
        for line, name in zip(lines, ("gray", "threshold")):
            rec = json.loads(line)
            self.assertEqual(rec["bench"], name)
            self.assertEqual((rec["width"], rec["height"], rec["threads"], rec["repeat"]),
                             (48, 64, min(len(os.sched_getaffinity(0)), 64), 3))
            self.assertLessEqual(rec["min_ms"], rec["median_ms"])
        proc = nptest.run(["bench", "canny", "canny-gray", "contours", "canny-op", "--image", img,
                           "--repeat", "2", "--threads", "2"])
        recs = [json.loads(line) for line in proc.stdout.strip().splitlines()]
        self.assertEqual([r["bench"] for r in recs], ["canny", "canny-gray", "contours", "canny-op"])
        for rec in recs:
            self.assertEqual((rec["width"], rec["height"], rec["threads"], rec["repeat"]), (48, 64, 2, 2))
        # The networks' benchmarks run at a tiny size (what they time is not
        # asserted; that they run, and say what they ran, is).
        proc = nptest.run(["bench", "train-step", "sr-train-step", "generator", "--ngf", "4", "--size", "64x64",
                           "--batch", "2", "--repeat", "1"])
        recs = [json.loads(line) for line in proc.stdout.strip().splitlines()]
        self.assertEqual([r["bench"] for r in recs], ["train-step", "sr-train-step", "generator"])
        proc = nptest.run(["bench", "conv", "--layer", "conv out=8 k=4 s=2 p=1", "--channels", "4", "--size",
                           "32x32", "--batch", "2", "--repeat", "1", "--backward"])
        self.assertEqual(json.loads(proc.stdout.strip().splitlines()[0])["bench"], "conv")
        self.assertFails(["bench", "canny"], 2, "needs --image")
        self.assertFails(["bench", "nope"], 1, "unknown benchmark")
        self.assertFails(["bench", "gray", "--image", img, "--threads", "four"], 1, "--threads")
        self.assertFails(["bench", "gray", "--image", img, "--threads", "65"], 1, "--threads")

    def test_threads_default_to_the_processors_the_process_may_use(self):
        """No --threads, or an empty one (a job script's unset variable),
        means the processors this process may run on: its affinity, which
        taskset, Slurm and containers set, not the machine's count."""
        import json
        import shutil
        img = os.path.join(self.dir, "img.png")
        write_png(img, np.zeros((16, 16, 3), np.uint8))

        def threads(*prefix, extra=()):
            proc = subprocess.run(list(prefix) + [nptest.NEUROPAINT, "bench", "gray", "--image", img,
                                                  "--repeat", "1"] + list(extra),
                                  capture_output=True, text=True)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            return json.loads(proc.stdout.splitlines()[0])["threads"]
        mine = min(len(os.sched_getaffinity(0)), 64)
        self.assertEqual(threads(), mine)
        self.assertEqual(threads(extra=["--threads", ""]), mine)
        if shutil.which("taskset") is None:
            self.skipTest("taskset is missing")
        cpu = sorted(os.sched_getaffinity(0))[0]
        self.assertEqual(threads("taskset", "-c", str(cpu)), 1)
        self.assertEqual(threads("taskset", "-c", str(cpu), extra=["--threads", ""]), 1)


if __name__ == "__main__":
    nptest.main()
