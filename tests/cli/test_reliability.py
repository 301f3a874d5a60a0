"""A user's data is never lost (issue 10): the bad-input matrix across the
commands and the ops, inputs never overwritten, no truncated outputs on a
full disk, no leftovers after a signal.

Every case asserts the exit status, one message naming the file, the exact
contents of the folders afterwards (no temporary files), and that every
input is byte for byte what it was (SHA-256 before and after). Bad files are
batched into one command where the command takes many, so the matrix costs
few processes."""
import hashlib
import json
import os
import resource
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nptest  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

GRACE = "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg"
CASCADE = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
CASES = []  # (test, case) pairs asserted: reported in the summary line


def case(name):
    CASES.append(name)


def png_bytes(width, height, idat=b"\0" * 10):
    """A PNG of any declared size whose data is tiny: a 68-byte hostile header."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(idat)) + chunk(b"IEND", b"")


def jpeg_bytes(array, **options):
    ok, data = cv2.imencode(".jpg", array, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return data.tobytes()


def hostile_jpeg(width, height):
    """A small JPEG whose frame header claims width × height, cut after the scan header."""
    data = bytearray(jpeg_bytes(np.zeros((8, 8, 3), np.uint8)))
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC2):
            data[i + 5:i + 9] = struct.pack(">HH", height, width)
        if marker == 0xDA:
            return bytes(data[:i + 2 + length])
        i += 2 + length
    raise AssertionError("no scan")


def snapshot(root):
    """{relative path: SHA-256, 'dir', 'fifo', 'link', or 'chr'/'blk' and the device numbers} of
    everything under root, hidden files too (a device is never read)."""
    result = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                result[rel] = "link"
            elif stat.S_ISDIR(mode):
                result[rel] = "dir"
            elif stat.S_ISFIFO(mode):
                result[rel] = "fifo"
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                rdev = os.lstat(path).st_rdev
                result[rel] = "%s %d,%d" % ("chr" if stat.S_ISCHR(mode) else "blk",
                                            os.major(rdev), os.minor(rdev))
            else:
                with open(path, "rb") as f:
                    result[rel] = hashlib.sha256(f.read()).hexdigest()
    return result


class Reliability(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.rng = np.random.default_rng(10)
        self.mounts = []

    def tearDown(self):
        for mnt in self.mounts:
            subprocess.run(["umount", mnt], check=True)
        self.tmp.cleanup()

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, path, data):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def good_png(self, path, h=24, w=32):
        return self.write(path, cv2.imencode(".png", self.rng.integers(0, 255, (h, w, 3), np.uint8))[1].tobytes())

    def bad_image_folder(self, folder):
        """Every kind of bad image file, and good ones (some with misleading
        names) sorted around them; returns ({bad name: expected words}, [good names])."""
        noise = self.rng.integers(0, 255, (40, 48, 3), np.uint8)
        good_jpeg = jpeg_bytes(noise)
        good_png = cv2.imencode(".png", noise)[1].tobytes()
        bad = {
            "empty.jpg": (b"", "empty file"),
            "text.jpg": (b"hello, I am not a photo\n", "not an image"),
            "random.png": (bytes(self.rng.integers(0, 256, 300, np.uint8)), "not an image"),
            "gif-named.png": (b"GIF89a" + b"\0" * 40, "not an image"),
            "cut.jpg": (good_jpeg[:len(good_jpeg) // 2], "JPEG"),
            "corrupt.jpg": (b"\xff\xd8\xff\xe0" + bytes(self.rng.integers(0, 256, 300, np.uint8)), "JPEG"),
            "cut.png": (good_png[:70], "cut.png"),
            "zero-size.png": (png_bytes(0, 0), "zero-size.png"),
            "side-100000.png": (png_bytes(100000, 100000), "65536 pixels a side"),
            "area-400mp.png": (png_bytes(20000, 20000), "--max-pixels"),
            "claims-10000.jpg": (hostile_jpeg(10000, 10000), "JPEG"),
            "garbage.tif": (b"II*\0" + bytes(self.rng.integers(0, 256, 200, np.uint8)), "garbage.tif"),
            "garbage.webp": (b"RIFF\x40\0\0\0WEBPVP8 " + b"\1" * 60, "garbage.webp"),
            "garbage.exr": (b"v/1\x01" + b"\2" * 100, "garbage.exr"),
        }
        for name, (data, _) in bad.items():
            self.write(os.path.join(folder, name), data)
        os.mkfifo(os.path.join(folder, "fifo.png"))
        os.mkdir(os.path.join(folder, "folder.jpg"))
        os.symlink(os.path.join(folder, "nowhere.png"), os.path.join(folder, "dangling.png"))
        words = {name: word for name, (_, word) in bad.items()}
        words.update({"fifo.png": "pipe", "folder.jpg": "folder", "dangling.png": "No such file"})
        # Good: a PNG named .jpg, a JPEG named .png, a CMYK JPEG, a photo.
        self.write(os.path.join(folder, "aa-png-named.jpg"), good_png)
        self.write(os.path.join(folder, "jpeg-named.png"), good_jpeg)
        from PIL import Image
        Image.fromarray(self.rng.integers(0, 255, (30, 20, 4), np.uint8), "CMYK").save(
            os.path.join(folder, "cmyk.jpg"), quality=95)
        shutil.copy(GRACE if os.path.exists(GRACE) else os.path.join(folder, "jpeg-named.png"),
                    os.path.join(folder, "zz-photo.jpg"))
        return words, ["aa-png-named.jpg", "cmyk.jpg", "jpeg-named.png", "zz-photo.jpg"]

    def assertOneMessageEach(self, proc, command, words, extra_ok=()):
        """Each bad file gets exactly one stderr line, naming it, with its words;
        nothing else is printed but the summary and the allowed lines."""
        lines = proc.stderr.splitlines()
        for name, word in words.items():
            mine = [line for line in lines if name in line]
            with self.subTest(command=command, file=name):
                case((command, name))
                self.assertEqual(len(mine), 1, "%s: %s" % (name, proc.stderr))
                self.assertTrue(mine[0].startswith("neuropaint %s: " % command), mine[0])
                self.assertIn(word, mine[0])
        others = [line for line in lines if not any(name in line for name in words)
                  and not any(ok in line for ok in extra_ok)]
        self.assertEqual(others, ["neuropaint %s: %d of %d inputs failed" % (command, len(words), len(words) + 4)],
                         proc.stderr)
        for noise in ("CRITICAL", "WARNING", "libpng", "Suspension", "Not a JPEG", "Traceback"):
            self.assertNotIn(noise, proc.stderr)

    # -- 3. one bad file never stops a batch ------------------------------------------------

    def test_bad_images_run(self):
        """run: every bad file reported once, every good one written, exit 2."""
        src = self.path("in")
        words, good = self.bad_image_folder(src)
        before = snapshot(src)
        out = self.path("out")
        proc = nptest.run(["run", "-o", out, src, "--", "neuropaint:gray"], check=False, timeout=120)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertOneMessageEach(proc, "run", words)
        self.assertEqual(snapshot(src), before)
        self.assertEqual(sorted(os.listdir(out)), sorted(os.path.splitext(g)[0] + ".png" for g in good))
        # The CMYK JPEG and the mislabelled files decode as OpenCV decodes them.
        for name in ("cmyk.jpg", "aa-png-named.jpg", "jpeg-named.png"):
            ours = cv2.imread(os.path.join(out, os.path.splitext(name)[0] + ".png"))
            want = cv2.cvtColor(cv2.cvtColor(cv2.imread(os.path.join(src, name)), cv2.COLOR_BGR2GRAY),
                                cv2.COLOR_GRAY2BGR)
            self.assertLessEqual(int(np.abs(ours.astype(int) - want).max()), 1, name)

    def test_bad_images_detect(self):
        src = self.path("in")
        words, good = self.bad_image_folder(src)
        missing = self.path("missing.jpg")
        words["missing.jpg"] = "No such file"
        before = snapshot(self.dir)
        proc = nptest.run(["detect", "--json", src, missing], check=False, timeout=120)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertOneMessageEach(proc, "detect", words)
        self.assertEqual(sorted(os.path.basename(json.loads(l)["file"]) for l in proc.stdout.splitlines()),
                         sorted(good))
        self.assertEqual(snapshot(self.dir), before)

    def test_bad_images_crop(self):
        """crop: bad files skipped; the manifest lists exactly the crops in the folder."""
        src = self.path("in")
        words, good = self.bad_image_folder(src)
        before = snapshot(src)
        out = self.path("out")
        proc = nptest.run(["crop", "--size", "32x40", "-o", out, src], check=False, timeout=120)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertOneMessageEach(proc, "crop", words, extra_ok=("cropping the centre",))
        self.assertEqual(snapshot(src), before)
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
        listed = [c["file"] for image in manifest["images"] for c in image["crops"]]
        self.assertEqual(sorted(listed + ["manifest.json"]), sorted(os.listdir(out)))
        self.assertEqual(sorted(os.path.basename(i["file"]) for i in manifest["images"]), sorted(good))

    def test_bad_single_inputs(self):
        """bench and demo read one image: each bad kind fails with exit 2 naming it."""
        src = self.path("in")
        words, _ = self.bad_image_folder(src)
        before = snapshot(src)
        for name, command in (("text.jpg", "bench"), ("fifo.png", "bench"), ("cut.jpg", "demo"),
                              ("area-400mp.png", "demo"), ("gif-named.png", "demo")):
            image = os.path.join(src, name)
            args = (["bench", "gray", "--repeat", "1", "--image", image] if command == "bench"
                    else ["demo", "-o", self.path("demo"), "-i", image])
            with self.subTest(args=args):
                case((args[0], name))
                proc = nptest.run(args, check=False, timeout=60)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
                self.assertIn(name, proc.stderr)
                self.assertIn(words[name], proc.stderr)
        self.assertEqual(snapshot(src), before)
        self.assertFalse(os.path.exists(self.path("demo")))

    def test_max_pixels(self):
        """The limit is checked on the header; --max-pixels raises or lowers it."""
        img = self.good_png(self.path("in", "small.png"), 20, 30)
        out = self.path("out")
        case(("run", "--max-pixels 599"))
        proc = nptest.run(["run", "--max-pixels", "599", "-o", out, img, "--", "gegl:nop"], check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("small.png: image size 30×20", proc.stderr)
        self.assertFalse(os.path.exists(out))
        case(("run", "--max-pixels 600"))
        nptest.run(["run", "--max-pixels", "600", "-o", out, img, "--", "gegl:nop"])
        self.assertEqual(os.listdir(out), ["small.png"])

    def test_bad_models_and_cascades(self):
        """info goes on past a bad model; models and cascades that are FIFOs,
        folders, empty or garbage fail the command or the op with the file's name."""
        d = self.path("m")
        os.makedirs(d)
        good = os.path.join(nptest.SOURCE_ROOT, "tests", "data", "generator-tiny.safetensors")
        with open(good, "rb") as f:
            model = f.read()
        header_len = struct.unpack("<Q", model[:8])[0]
        header = json.loads(model[8:8 + header_len])
        name = next(k for k in header if k != "__metadata__")
        twice = model[8:8 + header_len].decode().replace(
            "{", '{"%s": %s, ' % (name, json.dumps(header[name])), 1).encode()
        bad = {
            "empty.safetensors": (b"", "truncated"),
            "garbage.safetensors": (b"\x10\0\0\0\0\0\0\0not json here!!", "header"),
            "cut.safetensors": (model[:len(model) // 2], "past the end"),
            "twice.safetensors": (struct.pack("<Q", len(twice)) + twice + model[8 + header_len:], "named twice"),
        }
        for n, (data, _) in bad.items():
            self.write(os.path.join(d, n), data)
        os.mkfifo(os.path.join(d, "fifo.safetensors"))
        os.mkdir(os.path.join(d, "folder.safetensors"))
        words = {n: w for n, (_, w) in bad.items()}
        words.update({"fifo.safetensors": "pipe", "folder.safetensors": "folder",
                      "missing.safetensors": "No such file"})
        before = snapshot(self.dir)
        proc = nptest.run(["info", good] + [os.path.join(d, n) for n in sorted(words)], check=False, timeout=60)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("architecture:", proc.stdout)
        lines = proc.stderr.splitlines()
        for n, w in words.items():
            case(("info", n))
            mine = [line for line in lines if n in line]
            self.assertEqual(len(mine), 1, proc.stderr)
            self.assertIn(w, mine[0])
        self.assertEqual(lines[-1], "neuropaint info: %d of %d inputs failed" % (len(words), len(words) + 1))

        # The same files as an op's model or cascade, and as detect's cascade.
        img = self.good_png(self.path("img", "img.png"))
        before = snapshot(self.dir)
        out = self.path("out")
        for op, n in (("neuropaint:generator model=", "fifo.safetensors"),
                      ("neuropaint:generator model=", "garbage.safetensors"),
                      ("neuropaint:face-detect cascade=", "folder.safetensors"),
                      ("neuropaint:face-detect cascade=", "missing.safetensors")):
            with self.subTest(op=op, file=n):
                case((op, n))
                proc = nptest.run(["run", "-o", out, img, "--"] + (op + os.path.join(d, n)).split(),
                                  check=False, timeout=60)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
                self.assertIn(n, proc.stderr)
                self.assertFalse(os.path.exists(out))
        for n in ("fifo.safetensors", "garbage.safetensors"):
            with self.subTest(cascade=n):
                case(("detect --cascade", n))
                proc = nptest.run(["detect", "--cascade", os.path.join(d, n), img], check=False, timeout=60)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(n, proc.stderr)
        self.assertEqual(snapshot(self.dir), before)

    # -- 1. inputs never overwritten -----------------------------------------------------

    def assertRefused(self, args, words, cwd=None):
        before = snapshot(self.dir)
        proc = nptest.run(args, check=False, timeout=60, cwd=cwd)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
        for word in words:
            self.assertIn(word, proc.stderr)
        self.assertIn("nothing was done", proc.stderr)
        self.assertEqual(snapshot(self.dir), before)

    def test_outputs_never_replace_inputs(self):
        photos = self.path("photos")
        x = self.good_png(os.path.join(photos, "x.png"))
        y = self.write(os.path.join(photos, "y.jpg"), jpeg_bytes(self.rng.integers(0, 255, (16, 16, 3), np.uint8)))
        face = self.good_png(os.path.join(photos, "face.png"), 64, 64)
        chain = ["--", "neuropaint:gray"]
        refusals = [
            (["run", "-o", photos, photos + "/"] + chain, ["would overwrite the input", "-o"], None),
            (["run", "-o", ".", "x.png"] + chain, ["x.png"], photos),
            (["run", "-e", "jpg", "-o", ".", "y.jpg"] + chain, ["y.jpg"], photos),
            (["crop", "-o", ".", "face.png"], ["face.png"], photos),
            (["run", "-o", os.path.join(photos, "..", "photos"), x] + chain, ["x.png"], None),
        ]
        # demo -o d -i d/seed-gray.png
        seed = self.good_png(self.path("d", "seed-gray.png"))
        refusals.append((["demo", "-o", self.path("d"), "-i", seed], ["seed-gray.png"], None))
        # An output that is an input by a symbolic or a hard link.
        links = self.path("links")
        os.makedirs(links)
        os.symlink(x, os.path.join(links, "x.png"))
        os.link(y, os.path.join(links, "y.jpg"))
        refusals.append((["run", "-o", links, x] + chain, ["x.png"], None))
        refusals.append((["run", "-e", "jpg", "-o", links, y] + chain, ["y.jpg"], None))
        for args, words, cwd in refusals:
            with self.subTest(args=args):
                case(("overwrite", " ".join(args)))
                self.assertRefused(args, words, cwd)
        del face

    def test_colliding_outputs(self):
        """a.jpg and a.png get distinct names (run and crop, the manifest agrees);
        the same name from two folders, or two outputs named alike, are refused."""
        src = self.path("in")
        self.write(os.path.join(src, "a.jpg"), jpeg_bytes(self.rng.integers(0, 255, (20, 20, 3), np.uint8)))
        self.good_png(os.path.join(src, "a.png"))
        self.good_png(os.path.join(src, "b.png"))
        before = snapshot(src)
        case(("collide", "run a.jpg a.png"))
        nptest.run(["run", "-o", self.path("run"), src, "--", "neuropaint:gray"])
        self.assertEqual(sorted(os.listdir(self.path("run"))), ["a.jpg.png", "a.png.png", "b.png"])
        case(("collide", "crop a.jpg a.png"))
        nptest.run(["crop", "--size", "16x16", "-o", self.path("crop"), src])
        with open(self.path("crop", "manifest.json")) as f:
            manifest = json.load(f)
        crops = {os.path.basename(i["file"]): [c["file"] for c in i["crops"]] for i in manifest["images"]}
        self.assertEqual(crops, {"a.jpg": ["a.jpg.png"], "a.png": ["a.png.png"], "b.png": ["b.png"]})
        self.assertEqual(sorted(os.listdir(self.path("crop"))), ["a.jpg.png", "a.png.png", "b.png", "manifest.json"])
        self.assertEqual(snapshot(src), before)

        other = self.good_png(self.path("other", "b.png"))
        case(("collide", "two b.png"))
        self.assertRefused(["run", "-o", self.path("out"), os.path.join(src, "b.png"), other,
                            "--", "neuropaint:gray"], ["would both be written to", "b.png"])
        case(("collide", "cppn -o == --dump-weights"))
        self.assertRefused(["cppn", "-o", self.path("art.png"), "--dump-weights", self.path("art.png")],
                           ["two outputs would be written to"])
        # The same file twice is done once.
        case(("collide", "same file twice"))
        nptest.run(["run", "-o", self.path("twice"), os.path.join(src, "b.png"), src + "/./b.png",
                    "--", "gegl:nop"])
        self.assertEqual(os.listdir(self.path("twice")), ["b.png"])

    # -- 2. no truncated outputs: a real full disk ----------------------------------------

    def mount_small_disk(self, kib):
        """A tmpfs of kib KiB, unmounted at cleanup; skips where it cannot be mounted."""
        mnt = self.path("disk-%d" % kib)
        os.makedirs(mnt)
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dk" % kib, "tmpfs", mnt],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            self.skipTest("cannot mount a small tmpfs here (needs root): %s" % proc.stderr.strip())
        self.mounts.append(mnt)
        return mnt

    def test_full_disk(self):
        disk = self.mount_small_disk(160)
        src = self.path("in")
        big = self.write(os.path.join(src, "big.png"),
                         cv2.imencode(".png", self.rng.integers(0, 255, (200, 200, 3), np.uint8))[1].tobytes())
        small = self.good_png(os.path.join(src, "small.png"), 8, 8)
        photo = GRACE if os.path.exists(GRACE) else big
        before = snapshot(src)
        cases = [
            # (args, file named in the error, what may be on the disk afterwards)
            (["run", "-o", disk, big, small, "--", "gegl:nop"], "big.png", {"small.png"}),
            (["run", "-e", "jpg", "-o", disk, big, "--", "gegl:nop"], "big.jpg", set()),
            (["cppn", "-o", os.path.join(disk, "art.png"), "-W", "512", "-H", "512", "--seed", "1"],
             "art.png", set()),
            (["cppn", "-o", os.path.join(disk, "art.npy"), "-W", "128", "-H", "128", "--seed", "1"],
             "art.npy", set()),
            (["cppn", "-o", os.path.join(disk, "anim.png"), "-W", "128", "-H", "128", "--seed", "1",
              "--frames", "6", "--z-to=0.6,-0.6"], "anim", set()),
            (["crop", "--size", "256x320", "-o", disk, photo, big], "", {"manifest.json"}),
        ]
        for args, named, allowed in cases:
            with self.subTest(args=args):
                case(("full disk", " ".join(args[:3])))
                for f in os.listdir(disk):
                    os.remove(os.path.join(disk, f))
                # Fill the disk up to a little room.
                with open(os.path.join(disk, "filler"), "wb") as f:
                    f.write(b"\0" * (150 << 10))
                proc = nptest.run(args, check=False, timeout=120)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn("No space left on device", proc.stderr)
                self.assertIn(named, proc.stderr)
                # The message names the file, never the temporary one.
                self.assertNotIn(".np-", proc.stderr)
                self.assertNotIn("/proc/self", proc.stderr)
                self.assertNotIn("written", proc.stdout)
                left = set(os.listdir(disk)) - {"filler"}
                self.assertLessEqual(left, allowed, proc.stderr)
                for name in left:   # complete, not truncated
                    if name.endswith(".png"):
                        self.assertIsNotNone(cv2.imread(os.path.join(disk, name)), name)
                    else:
                        with open(os.path.join(disk, name)) as f:
                            self.assertEqual(json.load(f)["images"], [])
        self.assertEqual(snapshot(src), before)

    # -- 5. no leftovers after a signal --------------------------------------------------

    def temporaries(self, pid, folder):
        """The temporary files of process pid in folder: named ones (.np-XXXXXX), and the
        unnamed ones (O_TMPFILE) it holds open, which /proc shows as folder/#inode (deleted)."""
        names = {f for f in os.listdir(folder) if f.startswith(".np-")}
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            return names
        for fd in fds:
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if os.path.dirname(target) == folder:
                names.add(os.path.basename(target))
        return names

    def interrupt_when_saving(self, args, folder, sig, temps=1):
        """Starts args, sends sig once `temps` temporary files show in folder; returns the process."""
        no_core = lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # noqa: E731 (SIGQUIT's)
        proc = subprocess.Popen([nptest.NEUROPAINT] + args, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, preexec_fn=no_core)
        deadline = time.time() + 120
        sent = False
        while proc.poll() is None and time.time() < deadline:
            if os.path.isdir(folder) and len(self.temporaries(proc.pid, folder)) >= temps:
                proc.send_signal(sig)
                sent = True
                break
            time.sleep(0.002)
        proc.err = proc.communicate(timeout=120)[1]
        self.assertTrue(sent, "the command ended before it saved: %s" % proc.err)
        return proc

    def test_signals_leave_nothing(self):
        """Nothing is left by any signal that ends the process, SIGKILL (the out-of-memory
        killer, Slurm's time limit) included: the file being written has no name."""
        out = self.path("out")
        os.makedirs(out)
        big = self.write(self.path("in", "big.png"),
                         cv2.imencode(".png", self.rng.integers(0, 255, (1500, 1500, 3), np.uint8),
                                      [cv2.IMWRITE_PNG_COMPRESSION, 0])[1].tobytes())
        before = snapshot(self.path("in"))
        art = ["cppn", "-o", os.path.join(out, "art.png"), "-W", "1600", "-H", "1600", "--seed", "1", "-j", "1"]
        tif = ["run", "-j", "1", "-e", "tif", "-o", out, big, "--", "gegl:nop"]
        crop = ["crop", "-j", "1", "--size", "1000x1200", "-o", out, big]
        runs = [
            (art, signal.SIGINT, 1),
            # The animation and three finished frames (temporary until the end).
            (["cppn", "-o", os.path.join(out, "anim.png"), "-W", "200", "-H", "200", "--seed", "1", "-j", "1",
              "--frames", "40", "--z-to=0.6,-0.6"], signal.SIGTERM, 4),
            (tif, signal.SIGTERM, 1),
            (crop, signal.SIGINT, 1),
            (art, signal.SIGKILL, 1),
            (tif, signal.SIGKILL, 1),
            (crop, signal.SIGKILL, 1),
            (art, signal.SIGQUIT, 1),
            (tif, signal.SIGUSR1, 1),
            (crop, signal.SIGHUP, 1),
        ]
        for args, sig, temps in runs:
            with self.subTest(args=args, signal=sig):
                case(("signal %s" % signal.Signals(sig).name, " ".join(args[:3])))
                proc = self.interrupt_when_saving(args, out, sig, temps)
                self.assertEqual(proc.returncode, -sig, proc.err)
                self.assertEqual(os.listdir(out), [])
        self.assertEqual(snapshot(self.path("in")), before)

    # -- 6. outputs that are not files: written into as cp does, or refused (issue 21) ---------

    def run_binary(self, args, fifo=None):
        """Runs args with a reader on fifo; returns (exit status, stdout bytes, stderr, the fifo's bytes)."""
        got = []
        reader = None

        def read():
            with open(fifo, "rb") as f:
                got.append(f.read())
        if fifo:
            reader = threading.Thread(target=read)
            reader.start()
        proc = subprocess.run([nptest.NEUROPAINT] + args, capture_output=True, timeout=120)
        if reader:
            if not got:   # the command never opened it: let the reader go
                try:
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:
                    pass
            reader.join(10)
        return proc.returncode, proc.stdout, proc.stderr.decode(), got[0] if got else b""

    def test_outputs_that_are_not_files(self):
        """Character devices and pipes (also through a symbolic link, such as one to
        /proc/self/fd/1) are written into, never replaced; block devices and links to
        nothing are refused. Made here by mknod and mkfifo: never in /dev."""
        if os.geteuid() != 0:
            self.skipTest("mknod needs root")
        nodes = self.path("nodes")
        os.makedirs(nodes)
        node = lambda name: os.path.join(nodes, name)  # noqa: E731
        for name, (major, minor) in (("full", (1, 7)), ("full.png", (1, 7)), ("full.safetensors", (1, 7)),
                                     ("null.png", (1, 3))):
            os.mknod(node(name), stat.S_IFCHR | 0o600, os.makedev(major, minor))
        # Major 240 is reserved for local use: no driver behind it, and it is never opened.
        os.mknod(node("block.png"), stat.S_IFBLK | 0o600, os.makedev(240, 0))
        for name in ("fifo.png", "fifo.json", "fifo.safetensors"):
            os.mkfifo(node(name))
        os.symlink("/proc/self/fd/1", node("stdout.png"))
        os.symlink("/proc/self/fd/1", node("stdout.safetensors"))
        os.symlink("fifo.png", node("to-fifo.png"))
        os.symlink("nowhere.png", node("dangling.png"))
        photos = self.path("photos")
        for stem in ("full", "fifo", "stdout", "block"):
            self.good_png(os.path.join(photos, stem + ".png"), 16, 16)
        train_photos = self.path("train-photos")
        for i in range(3):
            self.good_png(os.path.join(train_photos, "p%d.png" % i), 80, 80)
        dataset = self.path("ds")
        nptest.run(["prepare", "-o", dataset, "--size", "64x64", train_photos])
        inputs = snapshot(photos), snapshot(dataset)
        nodes_before = snapshot(nodes)
        cppn = ["cppn", "-W", "4", "-H", "4", "--seed", "1", "-o"]
        train = ["train", dataset, "--steps", "1", "--ngf", "4", "--batch", "2", "--threads", "1",
                 "--samples", "2", "-o"]
        png = b"\x89PNG\r\n\x1a\n"
        sidecars = lambda stem: {stem + s for s in (".ckpt", ".history.csv", ".history.png",  # noqa: E731
                                                   ".samples.png")}
        cases = [
            # (args, the FIFO read, exit status, named in the message, what the bytes must be, new files)
            (cppn + [node("a.png"), "--dump-weights", node("full")], None, 2, "full: No space left", None, set()),
            (cppn + [node("full.png")], None, 2, "full.png: No space left", None, set()),
            (cppn + [node("null.png")], None, 0, "", None, set()),
            (cppn + [node("block.png")], None, 2, "block.png: a block device", None, set()),
            (cppn + [node("dangling.png")], None, 2, "dangling.png: a symbolic link to a missing", None, set()),
            (cppn + [node("fifo.png")], "fifo.png", 0, "", png, set()),
            (cppn + [node("to-fifo.png")], "fifo.png", 0, "", png, set()),
            (cppn + [node("stdout.png")], None, 0, "", png, set()),
            (cppn + [node("b.png"), "--dump-weights", node("fifo.json")], "fifo.json", 0, "", b"{", {"b.png"}),
            (["run", "-o", nodes, os.path.join(photos, "full.png"), "--", "gegl:nop"], None, 2,
             "full.png: No space left", None, set()),
            (["run", "-o", nodes, os.path.join(photos, "block.png"), "--", "gegl:nop"], None, 2,
             "block.png: a block device", None, set()),
            (["run", "-o", nodes, os.path.join(photos, "fifo.png"), "--", "gegl:nop"], "fifo.png", 0, "", png,
             set()),
            (["run", "-o", nodes, os.path.join(photos, "stdout.png"), "--", "gegl:nop"], None, 0, "", png, set()),
            (train + [node("fifo.safetensors")], "fifo.safetensors", 0, "", None, sidecars("fifo")),
            (train + [node("stdout.safetensors")], None, 0, "", None, sidecars("stdout")),
            # The model is saved before the history: the checkpoint keeps the work.
            (train + [node("full.safetensors")], None, 2, "full.safetensors: No space left", None,
             {"full.ckpt", "full.samples.png"}),
        ]
        expected = dict(nodes_before)
        for args, fifo, status, named, head, new in cases:
            with self.subTest(args=args):
                case(("not a file", " ".join(os.path.basename(a) for a in args[:4])))
                code, out, err, piped = self.run_binary(args, fifo and node(fifo))
                self.assertEqual(code, status, err)
                if named:
                    self.assertEqual(len([l for l in err.splitlines() if named in l]), 1, err)
                    self.assertNotIn(".np-", err)
                got = piped if fifo else out
                if head is not None:
                    self.assertTrue(got.startswith(head), got[:40])
                if head == png:
                    self.assertIsNotNone(cv2.imdecode(np.frombuffer(got, np.uint8), cv2.IMREAD_UNCHANGED))
                if args[0] == "train" and status == 0:
                    self.assertIn(b'"__metadata__"', got)
                after = snapshot(nodes)
                for name in new:
                    self.assertIn(name, after)
                    expected[name] = after[name]
                # Every node is still what it was (the type and the numbers), nothing else appeared.
                self.assertEqual(after, expected)
        self.assertEqual((snapshot(photos), snapshot(dataset)), inputs)

    # -- 7. standard output is checked as any file (issue 21) ------------------------------

    def test_standard_output_errors(self):
        """A full device, a full disk and a closed standard output are errors: exit 2 and
        one message, never a truncated stream and exit 0."""
        img = self.good_png(self.path("in", "img.png"))
        model = os.path.join(nptest.SOURCE_ROOT, "tests", "data", "generator-tiny.safetensors")
        inputs = snapshot(self.path("in"))
        streams = self.path("streams")
        os.makedirs(streams)
        full = None
        if os.geteuid() == 0:
            full = os.path.join(streams, "full")
            os.mknod(full, stat.S_IFCHR | 0o600, os.makedev(1, 7))
        disk = self.mount_small_disk(64) if os.geteuid() == 0 else None
        detect = ["detect", "--json", img]
        cases = [(detect, "full", "No space left on device"),
                 (detect, "disk", "No space left on device"),
                 (detect, "closed", "Bad file descriptor"),
                 (["info", model], "full", "No space left on device"),
                 (["models"], "closed", "Bad file descriptor"),
                 (["--help"], "full", "No space left on device"),
                 (["cppn", "-W", "4", "-H", "4", "-o", self.path("streams", "art.png")], "full",
                  "No space left on device")]
        for args, where, words in cases:
            with self.subTest(args=args, stdout=where):
                case(("standard output " + where, " ".join(args[:2])))
                if where == "full" and full is None or where == "disk" and disk is None:
                    continue
                out = None
                if where == "disk":
                    for f in os.listdir(disk):
                        os.remove(os.path.join(disk, f))
                    with open(os.path.join(disk, "filler"), "wb", buffering=0) as f:
                        try:
                            while True:
                                f.write(b"\0" * 4096)
                        except OSError:
                            pass
                    out = open(os.path.join(disk, "detect.json"), "wb")
                elif where == "full":
                    out = open(full, "wb")
                proc = subprocess.run([nptest.NEUROPAINT] + args, stdout=out if out else subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True, timeout=60,
                                      preexec_fn=(lambda: os.close(1)) if where == "closed" else None)
                if out:
                    out.close()
                self.assertEqual(proc.returncode, 2, proc.stderr)
                lines = proc.stderr.splitlines()
                self.assertEqual(len(lines), 1, proc.stderr)
                self.assertRegex(lines[0], r"^neuropaint( %s)?: " % args[0].lstrip("-"))
                self.assertIn("standard output: " + words, lines[0])
                if where == "disk":
                    self.assertEqual(sorted(os.listdir(disk)), ["detect.json", "filler"])
        # cppn's picture is written whole: only its report was lost.
        expected = {"art.png"} | ({"full"} if full else set())
        self.assertEqual(set(os.listdir(streams)), expected)
        self.assertIsNotNone(cv2.imread(self.path("streams", "art.png")))
        self.assertEqual(snapshot(self.path("in")), inputs)

    # -- 8. --skip-existing takes only whole files as done (issue 21) -----------------------

    def test_skip_existing_needs_whole_files(self):
        """An empty or cut output is done again (the same bytes as a fresh run); a whole one,
        even of other content, is kept; for every output type, and for crop's crops."""
        src = self.path("in")
        for stem in "abc":
            self.good_png(os.path.join(src, stem + ".png"), 20, 24)
        inputs = snapshot(src)
        for ext in ("png", "jpg", "webp", "tif", "exr"):
            with self.subTest(ext=ext):
                case(("skip-existing", ext))
                fresh, out = self.path("fresh-" + ext), self.path("out-" + ext)
                nptest.run(["run", "-e", ext, "-o", fresh, src, "--", "gegl:nop"])
                name = lambda stem: stem + "." + ext  # noqa: E731
                whole = {}
                for stem in "abc":
                    with open(os.path.join(fresh, name(stem)), "rb") as f:
                        whole[stem] = f.read()
                self.write(os.path.join(out, name("a")), b"")
                self.write(os.path.join(out, name("b")), whole["b"][:len(whole["b"]) // 2])
                self.write(os.path.join(out, name("c")), whole["a"])   # whole: kept, though not c's
                proc = nptest.run(["run", "--skip-existing", "-e", ext, "-o", out, src, "--", "gegl:nop"])
                self.assertIn("2 image(s) written", proc.stdout)
                self.assertEqual(snapshot(out), {name("a"): hashlib.sha256(whole["a"]).hexdigest(),
                                                 name("b"): hashlib.sha256(whole["b"]).hexdigest(),
                                                 name("c"): hashlib.sha256(whole["a"]).hexdigest()})
        # crop: a crop the manifest lists but cut short is cropped again.
        case(("skip-existing", "crop"))
        crops = self.path("crops")
        nptest.run(["crop", "--skip-existing", "--size", "16x16", "-o", crops, src])
        before = snapshot(crops)
        with open(os.path.join(crops, "b.png"), "r+b") as f:
            f.truncate(30)
        nptest.run(["crop", "--skip-existing", "--size", "16x16", "-o", crops, src])
        self.assertEqual(snapshot(crops), before)
        self.assertEqual(snapshot(src), inputs)

    # -- 9. interrupted training and datasets (issue 21) --------------------------------------

    def small_dataset(self, name="ds", photos=3, side=80):
        """A dataset of random photos, the first in the validation split."""
        folder = self.path(name + "-photos")
        for i in range(photos):
            self.good_png(os.path.join(folder, "p%02d.png" % i), side, side)
        val = self.write(self.path(name + "-val.txt"), b"p00.png\n")
        nptest.run(["prepare", "-o", self.path(name), "--size", "64x64", "--val-list", val, folder])
        return self.path(name)

    def test_train_checkpoints_on_every_stop_signal(self):
        """SIGTERM, SIGHUP (a closed terminal or ssh session), SIGQUIT and SIGUSR1 (Slurm's
        --signal) stop training alike: the step finishes, a checkpoint is written, the message
        says how to resume, and the exit status is 75, a clean stop's own (issue 21.12)."""
        dataset = self.small_dataset()
        inputs = snapshot(dataset)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1):
            with self.subTest(signal=sig):
                case(("train signal", signal.Signals(sig).name))
                runs = self.path("runs-%d" % sig)
                os.makedirs(runs)
                out = os.path.join(runs, "m.safetensors")
                proc = subprocess.Popen([nptest.NEUROPAINT, "train", dataset, "-o", out, "--steps", "100000",
                                         "--ngf", "4", "--batch", "2", "--threads", "1", "--samples", "2",
                                         "--validate-every", "1"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                deadline = time.time() + 60
                while not os.path.exists(os.path.join(runs, "m.history.png")) and time.time() < deadline:
                    time.sleep(0.05)
                proc.send_signal(sig)
                _, err = proc.communicate(timeout=60)
                self.assertEqual(proc.returncode, 75, err)
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertIn("stopped by a signal", err)
                self.assertIn("--resume " + os.path.join(runs, "m.ckpt"), err)
                self.assertEqual(sorted(os.listdir(runs)),
                                 ["m.ckpt", "m.history.csv", "m.history.png", "m.safetensors", "m.samples.png"])
        self.assertEqual(snapshot(dataset), inputs)

    def test_prepare_leaves_no_empty_folder(self):
        """A prepare stopped by SIGINT, or one whose photos all fail, leaves no dataset folder
        (nor the parents made for it); run's -o folder likewise. Folders that were there stay."""
        photos = self.path("photos")
        for i in range(6):
            self.good_png(os.path.join(photos, "p%d.png" % i), 600, 600)
        bad = self.write(self.path("bad", "text.png"), b"not a photo\n")
        before = snapshot(self.dir)
        target = self.path("new", "deeper", "ds")
        cases = [
            (["prepare", "-j", "1", "-o", target, "--size", "64x64", photos], signal.SIGINT),
            (["prepare", "-j", "1", "-o", target, "--size", "64x64", photos], signal.SIGTERM),
            (["run", "-j", "1", "-e", "tif", "-o", target, photos, "--", "gegl:nop"], signal.SIGINT),
            (["prepare", "-o", target, "--size", "64x64", bad], None),
            (["run", "-o", target, bad, "--", "gegl:nop"], None),
        ]
        os.makedirs(self.path("new"))   # was there: stays
        before = snapshot(self.dir)
        for args, sig in cases:
            with self.subTest(args=args[:2], signal=sig):
                case(("no empty folder", " ".join(args[:1]) + (" " + signal.Signals(sig).name if sig else " bad")))
                if sig:
                    proc = subprocess.Popen([nptest.NEUROPAINT] + args, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE, text=True)
                    deadline = time.time() + 60
                    while not os.path.isdir(target) and proc.poll() is None and time.time() < deadline:
                        time.sleep(0.002)
                    proc.send_signal(sig)
                    err = proc.communicate(timeout=60)[1]
                    self.assertEqual(proc.returncode, -sig, err)
                else:
                    proc = nptest.run(args, check=False)
                    self.assertEqual(proc.returncode, 2, proc.stderr)
                    self.assertIn("text.png", proc.stderr)
                self.assertEqual(snapshot(self.dir), before)

    def test_prepare_refuses_a_folder_that_is_no_dataset(self):
        """prepare and merge write a dataset into a new or empty folder, or over a dataset;
        never among a user's files (another tool's manifest.jsonl)."""
        photos = self.path("photos")
        for i in range(2):
            self.good_png(os.path.join(photos, "p%d.png" % i), 80, 80)
        mine = self.path("mine")
        self.write(os.path.join(mine, "manifest.jsonl"), b'{"theirs": true}\n')
        self.write(os.path.join(mine, "notes.txt"), b"keep me\n")
        only = self.path("only")
        self.write(os.path.join(only, "manifest.jsonl"), b'{"theirs": true}\n')
        for i in range(2):   # mine.part-I-of-2, for merge mine
            nptest.run(["prepare", "--shard", "%d/2" % i, "-o", mine, "--size", "64x64", photos])
        before = snapshot(self.dir)
        for args, folder in ((["prepare", "-o", mine, "--size", "64x64", photos], "mine"),
                             (["prepare", "-o", only, "--size", "64x64", photos], "only"),
                             (["merge", mine], "mine")):
            with self.subTest(args=args[:3]):
                case(("not a dataset", args[0] + " -o " + folder))
                proc = nptest.run(args, check=False)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
                self.assertIn(self.path(folder) + ": a folder that is not a dataset", proc.stderr)
                self.assertIn("manifest.jsonl" if folder == "only" else "", proc.stderr)
                self.assertEqual(snapshot(self.dir), before)
        # Over a dataset, and into an empty folder: written.
        case(("not a dataset", "over a dataset"))
        ds = self.path("ds")
        os.makedirs(ds)
        nptest.run(["prepare", "-o", ds, "--size", "64x64", photos])
        nptest.run(["prepare", "-o", ds, "--size", "32x32", photos])
        with open(os.path.join(ds, "dataset.json")) as f:
            self.assertEqual(json.load(f)["width"], 32)

    # -- 10. property values are read whole (issue 21) ----------------------------------------

    def test_property_values(self):
        """A number, integer or boolean property takes exactly that: GEGL's readers turned
        "banana" into 0, "12abc" into 12 and "maybe" into false; our chain and graph
        loaders refuse them with the property, the op and the value named."""
        img = self.good_png(self.path("in", "img.png"))
        out = self.path("out")
        chains = [
            (["neuropaint:rgb-threshold", "threshold=banana"], "'threshold'", "banana"),
            (["neuropaint:rgb-threshold", "threshold=12abc"], "'threshold'", "12abc"),
            (["neuropaint:rgb-threshold", "threshold=2.5"], "an integer", "2.5"),
            (["neuropaint:colorize", "faces=maybe"], "true or false", "maybe"),
            (["gegl:gaussian-blur", "std-dev-x=2x"], "a number", "2x"),
            (["gegl:gaussian-blur", "std-dev-x=nan"], "a number", "nan"),
            (["gegl:gaussian-blur", "std-dev-x="], "a number", "“”"),
        ]
        graphs = {
            "param.xml": ('<node operation="neuropaint:rgb-threshold"><params>'
                          '<param name="threshold">banana</param></params></node>', "banana"),
            "attribute.xml": ('<node operation="neuropaint:rgb-threshold" threshold="12abc"/>', "12abc"),
            "boolean.xml": ('<node operation="neuropaint:colorize" faces="maybe"/>', "maybe"),
        }
        for name, (node, _) in graphs.items():
            self.write(self.path("graphs", name), ('<?xml version="1.0"?>\n<gegl>\n  %s\n'
                                                   '  <node operation="gegl:load" path="img.png"/>\n</gegl>\n'
                                                   % node).encode())
        before = snapshot(self.dir)
        runs = [(["--"] + chain, [word, value, chain[0]]) for chain, word, value in chains]
        runs += [(["-g", self.path("graphs", name)], [value, name]) for name, (_, value) in graphs.items()]
        for args, words in runs:
            with self.subTest(args=args):
                case(("property value", " ".join(os.path.basename(a) for a in args[1:])))
                proc = nptest.run(["run", "-o", out, img] + args, check=False)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
                for word in words + ["img.png"]:
                    self.assertIn(word, proc.stderr)
                self.assertEqual(snapshot(self.dir), before)
        # What GEGL reads right still runs: relative numbers, every boolean spelling, spaces.
        case(("property value", "good ones"))
        for chain in (["gegl:gaussian-blur", "std-dev-x=0.01rel"], ["neuropaint:rgb-threshold", "threshold=200"],
                      ["gegl:gaussian-blur", "std-dev-x= 1.5 "]):
            nptest.run(["run", "-o", out, img, "--"] + chain)
        shutil.rmtree(out)

    # -- 11. the small ones (issue 21) ----------------------------------------------------

    def test_small_ones(self):
        img = self.good_png(self.path("in", "small.png"))
        inputs = snapshot(self.path("in"))
        out = self.path("out")
        case(("small", "-e .png"))
        nptest.run(["run", "-e", ".png", "-o", out, img, "--", "gegl:nop"])
        self.assertEqual(os.listdir(out), ["small.png"])
        shutil.rmtree(out)

        case(("small", "--dump-weights -"))
        work = self.path("work")
        os.makedirs(work)
        proc = nptest.run(["cppn", "-W", "4", "-H", "4", "--seed", "5", "-o", "art.png", "--dump-weights", "-"],
                          cwd=work)
        self.assertEqual(json.loads(proc.stdout)["seed"], 5)   # the stream is the JSON alone
        self.assertIn("wrote art.png", proc.stderr)
        self.assertEqual(os.listdir(work), ["art.png"])

        refused = [
            (["cppn", "-o", "b.png", "--images", "2", "--dump-weights", "-"], "--dump-weights -"),
            (["run", "--max-pixels", "0", "-o", out, img, "--", "gegl:nop"], "--max-pixels must be at least 1"),
            (["run", "--max-pixels", "-1", "-o", out, img, "--", "gegl:nop"], "--max-pixels must be at least 1"),
        ]
        os.makedirs(self.path("old-formats"))
        self.write(self.path("old-formats", "a.bmp"), b"BM" + b"\0" * 60)
        self.write(self.path("old-formats", "b.gif"), b"GIF89a" + b"\0" * 40)
        refused.append((["run", "-o", out, self.path("old-formats"), "--", "gegl:nop"], ".png"))
        before = snapshot(self.dir)
        for args, words in refused:
            with self.subTest(args=args):
                case(("small", " ".join(args[:4])))
                proc = nptest.run(args, check=False, cwd=work)
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
                self.assertIn(words, proc.stderr)
                if "old-formats" in args[3]:
                    self.assertIn("no images found", proc.stderr)
                    self.assertIn(".bmp", proc.stderr)
                self.assertEqual(snapshot(self.dir), before)
        case(("small", "-- gray"))
        proc = nptest.run(["run", "-o", out, img, "--", "gray"], check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
        for word in ("small.png", "neuropaint:gray", "gegl:gray"):
            self.assertIn(word, proc.stderr)
        self.assertEqual(snapshot(self.dir), before)
        self.assertEqual(snapshot(self.path("in")), inputs)

        # --threads "$SLURM_CPUS_PER_TASK" with the variable unset: the default (issue 21.12).
        for args in (["run", "-o", self.path("threads-run"), img, "--", "gegl:nop"],
                     ["crop", "-o", self.path("threads-crop"), "--size", "16x20", img],
                     ["detect", img], ["cppn", "-W", "4", "-H", "4", "-o", self.path("threads.png")]):
            with self.subTest(args=args):
                case(("small", args[0] + " --threads ''"))
                proc = nptest.run(args[:1] + ["--threads", ""] + args[1:], check=False)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                proc = nptest.run(args[:1] + ["--threads", "four"] + args[1:], check=False)
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertIn("--threads", proc.stderr)
                self.assertIn("four", proc.stderr)
        self.assertEqual(snapshot(self.path("in")), inputs)

    # -- 12. bad model metadata is an error, not a fallback (issue 21) ---------------------

    def test_bad_model_metadata(self):
        """A training size that is no size (1e9, -5, 0, "abc", one side only) or an unknown
        normalisation fails the op with the model and the key named."""
        good = os.path.join(nptest.SOURCE_ROOT, "tests", "data", "colorize-tiny.safetensors")
        with open(good, "rb") as f:
            model = f.read()
        n = struct.unpack("<Q", model[:8])[0]
        header, data = json.loads(model[8:8 + n]), model[8 + n:]
        bad = {
            "width-1e9": ({"width": "1000000000"}, "“width”"),
            "width-negative": ({"width": "-5"}, "“width”"),
            "height-zero": ({"height": "0"}, "“height”"),
            "width-abc": ({"width": "abc"}, "“width”"),
            "width-only": ({"height": None}, "“height”: missing"),
            "normalization": ({"normalization": "x/255"}, "x/255"),
        }
        models = self.path("models")
        for name, (change, _) in bad.items():
            meta = dict(header["__metadata__"])
            for k, v in change.items():
                if v is None:
                    del meta[k]
                else:
                    meta[k] = v
            text = json.dumps(dict(header, __metadata__=meta)).encode()
            text += b" " * (-len(text) % 8)
            self.write(os.path.join(models, name + ".safetensors"), struct.pack("<Q", len(text)) + text + data)
        img = self.good_png(self.path("in", "img.png"), 40, 32)
        out = self.path("out")
        before = snapshot(self.dir)
        for name, (_, words) in bad.items():
            with self.subTest(model=name):
                case(("model metadata", name))
                path = os.path.join(models, name + ".safetensors")
                proc = nptest.run(["run", "-o", out, img, "--", "neuropaint:colorize", "model=" + path],
                                  check=False, timeout=60)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
                self.assertIn(name + ".safetensors", proc.stderr)
                self.assertIn(words, proc.stderr)
                self.assertEqual(snapshot(self.dir), before)
        # The unchanged model still runs.
        nptest.run(["run", "-o", out, img, "--", "neuropaint:colorize", "model=" + good])

    # -- 4, and the smaller items: messages, names, exit codes ------------------------------

    def test_messages_and_exit_codes(self):
        img = self.good_png(self.path("in", "img.png"))
        out = self.path("out")
        graph = self.write(self.path("cut.xml"), b'<?xml version="1.0"?>\n<gegl>\n  <node operation="gegl:load"')
        os.mkfifo(self.path("graph.fifo"))
        usage = [
            (["run", "-j", "100000", "-o", out, img, "--", "gegl:nop"], "--threads"),
            (["bench", "gray", "-j", "100", "--image", img], "--threads"),
            (["run", "-e", "xyz", "-o", out, img, "--", "gegl:nop"], "unknown file type"),
            (["cppn", "-o", self.path("art")], "unknown file type"),
            (["run", "-o", out, "-g", graph, img], "not well-formed XML"),
            (["run", "-o", out, "-g", self.path("graph.fifo"), img], "pipe"),
        ]
        for args, word in usage:
            with self.subTest(args=args):
                case(("usage", " ".join(args[:4])))
                proc = nptest.run(args, check=False, timeout=60)
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
                self.assertIn(word, proc.stderr)
                self.assertNotIn("GLib", proc.stderr)
        case(("message", "int overflow"))
        proc = nptest.run(["run", "-o", out, img, "--", "neuropaint:rgb-threshold",
                           "threshold=99999999999999999999"], check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("99999999999999999999", proc.stderr)
        self.assertNotIn("-2147483648", proc.stderr)
        case(("message", "info folder"))
        proc = nptest.run(["info", self.dir], check=False)
        self.assertEqual((proc.returncode, proc.stderr.strip()),
                         (2, "neuropaint info: %s: a folder, not a file" % self.dir))
        self.assertFalse(os.path.exists(out))
        # A long name works: the temporary name is short. Warnings never show it.
        case(("name", "244 characters"))
        long_name = "n" * 240 + ".png"
        nptest.run(["cppn", "-o", self.path(long_name), "-W", "8", "-H", "8", "--seed", "1"])
        self.assertTrue(os.path.exists(self.path(long_name)))


class ColourProfiles(unittest.TestCase):
    """Issue 21, item 7: photos with an ICC profile (wide gamut, gray, broken)
    are read in their colour space and written in sRGB, through every command
    that writes or reads images. The oracle is Little CMS (PIL's ImageCms),
    converting the same pixels with the same profile."""

    SPACES = {"p3": "Display P3", "rec2020": "Rec. ITU-R BT.2020", "adobe": "Adobe RGB (1998)",
              "prophoto": "ProPhoto RGB"}

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.rng = np.random.default_rng(21)

    def tearDown(self):
        self.tmp.cleanup()

    def profiled_folder(self):
        """{file name: its ICC profile, or None where broken} in self.dir/in: noise in every
        space as PNG and JPEG, gray ones, broken and truncated profiles, Grace Hopper in P3."""
        from PIL import Image
        import npicc
        src = os.path.join(self.dir, "in")
        os.makedirs(src)
        rgb = Image.fromarray(self.rng.integers(0, 255, (24, 32, 3), np.uint8))
        gray = Image.fromarray(self.rng.integers(0, 255, (24, 32), np.uint8))
        p3 = npicc.rgb_profile("Display P3")
        files = {}
        for short, name in self.SPACES.items():
            files[short] = (rgb, npicc.rgb_profile(name))
        files["sgray"] = (gray, npicc.gray_profile())
        files["broken"] = (rgb, b"\0\0\2\0" + bytes(self.rng.integers(0, 256, 508, np.uint8)))
        files["truncated"] = (rgb, p3[:300])
        profiles = {}
        for short, (image, profile) in files.items():
            # TIFF and WebP too, where GEGL's loaders (TIFF) or ours (WebP) read the profile.
            for ext in ("png", "jpg") + (("tif", "webp") if short == "p3" else ()):
                name = "%s.%s" % (short, ext)
                image.save(os.path.join(src, name), icc_profile=profile, quality=95, lossless=ext == "webp")
                profiles[name] = profile if short not in ("broken", "truncated") else None
        if os.path.exists(GRACE):
            Image.open(GRACE).save(os.path.join(src, "grace-p3.png"), icc_profile=p3)
            profiles["grace-p3.png"] = p3
        return src, profiles

    @staticmethod
    def to_srgb(image, profile):
        """image (PIL) converted from profile to sRGB by Little CMS, as RGB."""
        import io
        from PIL import ImageCms
        if profile is None:
            return np.array(image.convert("RGB"))
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        mode = "L" if image.mode == "L" else "RGB"
        transform = ImageCms.buildTransform(source, ImageCms.createProfile("sRGB"), mode, "RGB")
        return np.array(ImageCms.applyTransform(image.convert(mode), transform))

    @staticmethod
    def png_chunks(path):
        with open(path, "rb") as f:
            data = f.read()
        chunks, i = [], 8
        while i < len(data):
            n = struct.unpack(">I", data[i:i + 4])[0]
            chunks.append(data[i + 4:i + 8].decode())
            i += 12 + n
        return chunks

    def assertClean(self, proc, args):
        """Exit 0, and not a word on stderr (no "LIBPNG ERROR: invalid chromaticities")."""
        self.assertEqual((proc.returncode, proc.stderr), (0, ""), args)

    def test_profiles_run_and_graph(self):
        """run (an op chain, a graph; PNG, JPEG, TIFF and WebP out): every file is
        written, in sRGB, with the colours Little CMS gives; inputs untouched."""
        from PIL import Image
        src, profiles = self.profiled_folder()
        before = snapshot(src)
        # Output names: the stem, or the whole name where a PNG and a JPEG share it.
        stem_count = {}
        for n in profiles:
            stem_count[os.path.splitext(n)[0]] = stem_count.get(os.path.splitext(n)[0], 0) + 1
        stems = {n: n if stem_count[os.path.splitext(n)[0]] > 1 else os.path.splitext(n)[0] for n in profiles}
        runs = [
            (["-e", "png"], ["--", "gegl:nop"], "png"),
            (["-e", "png"], ["--", "neuropaint:gray"], "png"),
            (["-e", "png", "-g", "seed-gray"], [], "png"),
            (["-e", "jpg"], ["--", "gegl:nop"], "jpg"),
            (["-e", "tif"], ["--", "gegl:nop"], "tif"),
            (["-e", "webp"], ["--", "gegl:nop"], "webp"),
        ]
        for options, chain, ext in runs:
            out = os.path.join(self.dir, "out-%s-%d" % (ext, len(os.listdir(self.dir))))
            args = ["run", "-o", out] + options + [src] + chain
            with self.subTest(args=args):
                case(("profiles", " ".join(options + chain)))
                proc = nptest.run(args, check=False, timeout=120)
                self.assertClean(proc, args)
                self.assertEqual(sorted(os.listdir(out)), sorted(s + "." + ext for s in stems.values()))
                if ext != "png":
                    continue
                for name, profile in profiles.items():
                    written = os.path.join(out, stems[name] + ".png")
                    chunks = self.png_chunks(written)
                    self.assertIn("sRGB", chunks, name)
                    self.assertNotIn("iCCP", chunks, name)
                    ours = np.array(Image.open(written).convert("RGB")).astype(int)
                    image = Image.open(os.path.join(src, name))
                    if chain != ["--", "gegl:nop"]:
                        # BT.601 luma of the values in the file's own space, then to sRGB.
                        luma = cv2.cvtColor(np.array(image.convert("RGB")), cv2.COLOR_RGB2GRAY)
                        image = Image.fromarray(luma, "L") if image.mode == "L" else Image.fromarray(
                            np.repeat(luma[..., None], 3, axis=2))
                    want = self.to_srgb(image, profile).astype(int)
                    self.assertLessEqual(int(np.abs(ours - want).max()), 1, name)
        self.assertEqual(snapshot(src), before)

    def test_profiles_detect_and_crop(self):
        """detect and crop read the file's own values, as OpenCV does (the same
        faces with and without a profile); crops are written in sRGB."""
        from PIL import Image
        src, profiles = self.profiled_folder()
        if "grace-p3.png" not in profiles:
            self.skipTest("needs " + GRACE)
        before = snapshot(src)
        case(("profiles", "detect --json"))
        proc = nptest.run(["detect", "--json", src, GRACE], check=False, timeout=120)
        self.assertClean(proc, "detect")
        found = {os.path.basename(json.loads(line)["file"]): json.loads(line)["faces"]
                 for line in proc.stdout.splitlines()}
        self.assertEqual(sorted(found), sorted(list(profiles) + [os.path.basename(GRACE)]))
        self.assertEqual(found["grace-p3.png"], found[os.path.basename(GRACE)])
        self.assertTrue(found["grace-p3.png"])

        case(("profiles", "crop"))
        out = os.path.join(self.dir, "crops")
        proc = nptest.run(["crop", "--size", "64x80", "-o", out, src], check=False, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # Nothing but the centre-crop warning of each photo of noise.
        self.assertEqual(sorted(proc.stderr.splitlines()),
                         sorted("neuropaint crop: warning: %s: 0 face(s), none with index 0; cropping the centre"
                                % os.path.join(src, n) for n in profiles if n != "grace-p3.png"))
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
        listed = [c["file"] for image in manifest["images"] for c in image["crops"]]
        self.assertEqual(sorted(listed + ["manifest.json"]), sorted(os.listdir(out)))
        self.assertEqual(len(manifest["images"]), len(profiles))
        # The crop of the P3 photo is the crop of its pixels, converted to sRGB.
        plain = os.path.join(self.dir, "plain")
        nptest.run(["crop", "--size", "64x80", "-o", plain, GRACE])
        crop = Image.open(os.path.join(plain, os.path.splitext(os.path.basename(GRACE))[0] + ".png"))
        want = self.to_srgb(crop.convert("RGB"), profiles["grace-p3.png"]).astype(int)
        ours = np.array(Image.open(os.path.join(out, "grace-p3.png")).convert("RGB")).astype(int)
        # Ours converts the bicubic result before rounding and clipping, the
        # oracle after: a few overshooting pixels differ by more than a level.
        diff = np.abs(ours - want)
        self.assertLessEqual(int(diff.max()), 3)
        self.assertLess(np.count_nonzero(diff > 1), diff.size // 1000)
        self.assertEqual(snapshot(src), before)


def git_unquote(text):
    """A name as cli_quote_name writes it (git's quoting) back to bytes."""
    if not text.startswith('"'):
        return os.fsencode(text)
    body, out, i = text[1:-1].encode(), bytearray(), 0
    while i < len(body):
        if body[i:i + 1] != b"\\":
            out += body[i:i + 1]
            i += 1
        elif body[i + 1:i + 2] in (b"n", b"t", b'"', b"\\"):
            out += {b"n": b"\n", b"t": b"\t", b'"': b'"', b"\\": b"\\"}[body[i + 1:i + 2]]
            i += 2
        else:
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
    return bytes(out)


class StrangeNames(unittest.TestCase):
    """Issue 21, item 15: names that are not UTF-8, or hold a newline, a quote
    or a backslash: detect's lines stay one per face, every JSON document is
    valid UTF-8 JSON whose names open the files (Python's surrogateescape),
    and merge reads back what crop writes."""

    # U+1F480 is the surrogate pair D83D DC80 where JSON escapes it: no stray byte.
    NAMES = [b"caf\xe9.jpg", b"new\nline.jpg", b'q"uote\\.jpg', b"ok-\xc3\xa9.jpg", b"tab\t\x01.jpg",
             b"skull-\xf0\x9f\x92\x80.jpg"]

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_names_in_text_and_json(self):
        if not os.path.exists(GRACE):
            self.skipTest("needs " + GRACE)
        src = os.path.join(self.dir, "in")
        os.makedirs(src)
        for name in self.NAMES:
            shutil.copy(GRACE, os.path.join(os.fsencode(src), name))
        before = snapshot(src)
        paths = sorted(os.path.join(os.fsencode(src), n) for n in self.NAMES)

        case(("names", "detect"))
        proc = nptest.run(["detect", src], check=False, timeout=120)
        self.assertEqual((proc.returncode, proc.stderr), (0, ""))
        lines = proc.stdout.splitlines()
        self.assertEqual(len(lines), len(self.NAMES), proc.stdout)
        self.assertEqual([git_unquote(line.rsplit(" ", 4)[0]) for line in lines], paths)
        self.assertTrue(all(line.endswith(" 150 84 229 229") for line in lines), proc.stdout)

        case(("names", "detect --json"))
        proc = nptest.run(["detect", "--json", src], check=False, timeout=120)
        self.assertEqual((proc.returncode, proc.stderr), (0, ""))
        entries = [json.loads(line) for line in proc.stdout.splitlines()]
        self.assertEqual([os.fsencode(e["file"]) for e in entries], paths)

        case(("names", "crop, shards, merge"))
        one, parts = os.path.join(self.dir, "one"), os.path.join(self.dir, "parts")
        nptest.run(["crop", "--size", "32x40", "-o", one, src], timeout=120)
        for i in range(2):
            nptest.run(["crop", "--size", "32x40", "--shard", "%d/2" % i, "-o", parts, src], timeout=120)
        # A part rewritten by Python with every non-ASCII character escaped reads back the same.
        part = os.path.join(parts, "manifest.part-0-of-2.json")
        with open(part) as f:
            rewritten = json.load(f)
        with open(part, "w") as f:
            json.dump(rewritten, f, ensure_ascii=True)
        with open(part) as f:
            self.assertIn("\\ud83d\\udc80", f.read())
        proc = nptest.run(["merge", os.path.join(parts, "manifest.json")], check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(one, "manifest.json"), "rb") as f:
            text = f.read()
        with open(os.path.join(parts, "manifest.json"), "rb") as f:
            self.assertEqual(f.read(), text)
        manifest = json.loads(text.decode("utf-8"))
        self.assertEqual([os.fsencode(i["file"]) for i in manifest["images"]], paths)
        crops = sorted(os.fsencode(c["file"]) for i in manifest["images"] for c in i["crops"])
        self.assertEqual(crops, sorted(n[:-4] + b".png" for n in self.NAMES))
        self.assertEqual(sorted(os.listdir(os.fsencode(one))), sorted(crops + [b"manifest.json"]))

        case(("names", "crop --skip-existing"))
        proc = nptest.run(["crop", "--size", "32x40", "--skip-existing", "-o", one, src], check=False, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("0 image(s) cropped", proc.stdout)
        with open(os.path.join(one, "manifest.json"), "rb") as f:
            self.assertEqual(f.read(), text)
        self.assertEqual(snapshot(src), before)


class FaceCropWithoutFace(unittest.TestCase):
    """Issue 21, item 16: neuropaint:face-crop on a photo with no face crops
    the centre, as its docs say, in run, a graph and demo: exit 0, the
    result written, one warning naming it."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_centre_crop_everywhere(self):
        src = os.path.join(self.dir, "in")
        os.makedirs(src)
        noise = os.path.join(src, "noface.png")
        with open(noise, "wb") as f:
            f.write(cv2.imencode(".png", np.random.default_rng(16).integers(0, 255, (60, 80, 3), np.uint8))[1])
        before = snapshot(src)
        warning = "neuropaint:face-crop: 0 face(s) found, none with index 0; cropping the centre of the image instead"

        def check(proc, command, written, size):
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(proc.stderr.splitlines(), ["neuropaint %s: warning: %s: %s" % (command, written, warning)])
            image = cv2.imread(written)
            self.assertEqual(image.shape[:2], size)
            return image

        case(("no face", "run -- neuropaint:face-crop"))
        out = os.path.join(self.dir, "run")
        proc = nptest.run(["run", "-o", out, noise, "--", "neuropaint:face-crop", "width=32", "height=40"],
                          check=False, timeout=60)
        ours = check(proc, "run", os.path.join(out, "noface.png"), (40, 32))
        self.assertEqual(os.listdir(out), ["noface.png"])
        # The centre crop the crop command makes of the same photo.
        nptest.run(["crop", "--size", "32x40", "-o", os.path.join(self.dir, "crop"), noise])
        self.assertEqual(ours.tolist(), cv2.imread(os.path.join(self.dir, "crop", "noface.png")).tolist())

        case(("no face", "run -g face-colorize"))
        out = os.path.join(self.dir, "graph")
        proc = nptest.run(["run", "-g", "face-colorize", "-o", out, noise], check=False, timeout=120)
        check(proc, "run", os.path.join(out, "noface.png"), (320, 256))

        case(("no face", "demo"))
        out = os.path.join(self.dir, "demo")
        proc = nptest.run(["demo", "-o", out, "-i", noise], check=False, timeout=300)
        check(proc, "demo", os.path.join(out, "face-colorize.png"), (320, 256))
        self.assertIn("face-colorize.png", os.listdir(out))
        self.assertEqual(snapshot(src), before)


def tiff_bytes(width, height, endian="<", bits=16, samples=3, compression=1, tiles=False, data=b"\0" * 8):
    """A TIFF whose first directory claims width × height, with data bytes at 8: one strip
    (or one 16×16 tile) of the byte count the claim needs uncompressed."""
    if tiles:
        layout = [(322, 3, 16), (323, 3, 16), (324, 4, 8), (325, 4, 16 * 16 * samples * bits // 8)]
    else:
        layout = [(273, 4, 8), (278, 4, height), (279, 4, width * height * samples * bits // 8 & 0xFFFFFFFF)]
    entries = sorted([(256, 4, width), (257, 4, height), (258, 3, bits), (259, 3, compression), (262, 3, 2),
                      (277, 3, samples)] + layout)
    ifd = struct.pack(endian + "H", len(entries))
    for tag, kind, value in entries:
        ifd += struct.pack(endian + "HHI", tag, kind, 1)
        ifd += struct.pack(endian + "HH", value, 0) if kind == 3 else struct.pack(endian + "I", value)
    magic = b"II*\0" if endian == "<" else b"MM\0*"
    return magic + struct.pack(endian + "I", 8 + len(data)) + data + ifd + b"\0" * 4


def webp_bytes(chunks, riff_extra=0):
    """A RIFF WebP of [(fourcc, payload)]."""
    body = b"WEBP"
    for fourcc, payload in chunks:
        body += fourcc + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)
    return b"RIFF" + struct.pack("<I", len(body) + riff_extra) + body


def vp8l(width, height):
    return b"\x2f" + struct.pack("<I", (width - 1) | (height - 1) << 14) + b"\0" * 4


def vp8x(width, height):
    return b"\x10\0\0\0" + struct.pack("<I", width - 1)[:3] + struct.pack("<I", height - 1)[:3]


class Costs(unittest.TestCase):
    """Issue 21, item 17: what a few bytes can make GEGL spend. Graphs and
    chains of too many ops are refused before GEGL sees them; TIFF and WebP
    headers are read by the command first, so a claim past the limits or past
    the file's end costs nothing. No timings: the test timeouts are the bound."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.rng = np.random.default_rng(17)

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, data):
        path = os.path.join(self.dir, "in", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_too_many_nodes(self):
        nop, load = "<node operation='gegl:nop'/>", "<node operation='gegl:load' path='x.png'/>"
        img = self.write("img.png", cv2.imencode(".png", self.rng.integers(0, 255, (8, 8, 3), np.uint8))[1].tobytes())
        graphs = {
            "wide.xml": "<gegl>" + nop * 200000 + load + "</gegl>",
            "nested.xml": "<gegl>" + "<node operation='gegl:over'>" * 20000 + load + "</node>" * 20000 + "</gegl>",
            "just-over.xml": "<gegl>" + nop * 1000 + load + "</gegl>",
        }
        before = snapshot(self.dir)
        out = os.path.join(self.dir, "out")
        for name, xml in graphs.items():
            path = os.path.join(self.dir, name)
            with open(path, "w") as f:
                f.write('<?xml version="1.0"?>\n' + xml)
            before[name] = snapshot(self.dir)[name]
            with self.subTest(graph=name):
                case(("nodes", name))
                proc = nptest.run(["run", "-g", path, "-o", out, img], check=False, timeout=60)
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertEqual(proc.stderr.splitlines(),
                                 ["neuropaint run: %s: more than 1000 nodes: too many for GEGL, whose time grows "
                                  "faster than their square" % path])
        case(("nodes", "chain of 20000 ops"))
        proc = nptest.run(["run", "-o", out, img, "--"] + ["gegl:nop"] * 20000, check=False, timeout=60)
        self.assertEqual((proc.returncode, proc.stderr.splitlines()), (1, [
            "neuropaint run: operation chain: 20000 ops, more than 1000: too many for GEGL, whose time grows "
            "faster than their square"]))
        self.assertEqual(snapshot(self.dir), before)
        case(("nodes", "999 + load"))
        path = os.path.join(self.dir, "at-limit.xml")
        with open(path, "w") as f:
            f.write("<gegl>" + nop * 999 + load.replace("x.png", img) + "</gegl>")
        nptest.run(["run", "-g", path, "-o", out, img], timeout=120)
        self.assertEqual(os.listdir(out), ["img.png"])

    def test_headers_before_decoding(self):
        """Each hostile TIFF and WebP fails with one message naming it; the good ones,
        sorted among them, are written."""
        bad = {
            "claims-9999-16bit.tif": (tiff_bytes(9999, 9999), "its strip 0 ends at byte 599880014, past the file's end"),
            "claims-big-endian.tif": (tiff_bytes(9999, 9999, ">"), "past the file's end"),
            "tile-past-end.tif": (tiff_bytes(64, 64, tiles=True), "its tile 0 ends"),
            "short-strip.tif": (tiff_bytes(4, 4, bits=8, data=b"\0" * 48)[:-1].replace(
                struct.pack("<HHII", 279, 4, 1, 48), struct.pack("<HHII", 279, 4, 1, 20)) + b"\0",
                "uncompressed pixels need 48 bytes, its strips hold 20"),
            "side-70000.tif": (tiff_bytes(70000, 2, compression=5), "65536 pixels a side"),
            "area-400mp.tif": (tiff_bytes(20000, 20000, compression=5), "--max-pixels"),
            "no-size.tif": (b"II*\0\x08\0\0\0\0\0", "no image size"),
            "claims-10000.webp": (webp_bytes([(b"VP8L", vp8l(10000, 10000))]), "could not decode it"),
            "area-400mp.webp": (webp_bytes([(b"VP8L", vp8l(16384, 16384))]), "--max-pixels"),
            "canvas-70000.webp": (webp_bytes([(b"VP8X", vp8x(70000, 8)), (b"VP8L", vp8l(8, 8))]), "65536 pixels a side"),
            "frame-past-canvas.webp": (webp_bytes([(b"VP8X", vp8x(8, 8)), (b"VP8L", vp8l(16384, 16384))]),
                                       "--max-pixels"),
            "riff-past-end.webp": (webp_bytes([(b"VP8L", vp8l(8, 8))], riff_extra=1000), "a truncated WebP"),
            "lossy-no-keyframe.webp": (webp_bytes([(b"VP8 ", b"\x01" + b"\0" * 9)]), "key frame"),
            "no-image.webp": (webp_bytes([(b"VP8X", vp8x(8, 8))]), "holds no image"),
        }
        for name, (data, _) in bad.items():
            self.write(name, data)
        from PIL import Image
        noise = Image.fromarray(self.rng.integers(0, 255, (20, 30, 3), np.uint8))
        good = ["good-lzw.tif", "good-lossless.webp", "good-lossy.webp", "good-deflate.tif"]
        noise.save(self.write(good[0], b""), compression="tiff_lzw")
        noise.save(self.write(good[1], b""), lossless=True)
        noise.save(self.write(good[2], b""), quality=90)
        noise.save(self.write(good[3], b""), compression="tiff_deflate")
        src = os.path.join(self.dir, "in")
        before = snapshot(src)
        out = os.path.join(self.dir, "out")
        proc = nptest.run(["run", "-o", out, src, "--", "gegl:nop"], check=False, timeout=60)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        lines = proc.stderr.splitlines()
        for name, (_, words) in bad.items():
            with self.subTest(file=name):
                case(("header", name))
                mine = [line for line in lines if name in line]
                self.assertEqual(len(mine), 1, proc.stderr)
                self.assertTrue(mine[0].startswith("neuropaint run: %s: " % os.path.join(src, name)), mine[0])
                self.assertIn(words, mine[0])
        self.assertEqual(lines[-1], "neuropaint run: %d of %d inputs failed" % (len(bad), len(bad) + len(good)))
        self.assertEqual(len(lines), len(bad) + 1, proc.stderr)
        for noise_word in ("assertion", "CRITICAL", "WARNING", "TIFFRead", "Read error"):
            self.assertNotIn(noise_word, proc.stderr)
        self.assertEqual(sorted(os.listdir(out)), sorted(os.path.splitext(g)[0] + ".png" for g in good))
        self.assertEqual(snapshot(src), before)
        case(("header", "--max-pixels 599 on a TIFF and a WebP"))
        proc = nptest.run(["run", "--max-pixels", "599", "-o", os.path.join(self.dir, "small"),
                           os.path.join(src, good[0]), os.path.join(src, good[1]), "--", "gegl:nop"],
                          check=False, timeout=60)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(len([l for l in proc.stderr.splitlines() if "image size 30×20" in l]), 2, proc.stderr)


def tearDownModule():
    print("\n%d cases asserted" % len(CASES), file=sys.stderr)


if __name__ == "__main__":
    nptest.main()
