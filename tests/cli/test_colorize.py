"""Colourising, super resolution and models by name from the neuropaint command:
colorize keeps a large photo's luminance in bounded memory, the SR op doubles
the box, models are found by name and listed, and bad input (an unknown
model, a model of the wrong kind, a render size out of range) gets one clear
message and a non-zero exit.

Models are tiny random stand-ins of the shipped ones (nptest.tiny_models),
found by name through XDG_DATA_HOME."""
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

import nptest

LUMA = np.array([0.299, 0.587, 0.114])


# Linux keeps a process's peak memory across exec, and a child starts with its
# parent's: this test's Python, which made a 12-megapixel photo, would count.
# A fresh small Python forks and execs the command and reports its peak.
MEASURE = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss * 1024)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_rss(args, env):
    """Runs neuropaint with args; returns (exit status, stderr, peak resident
    memory in bytes) of that process alone."""
    proc = subprocess.run(["/usr/bin/python3", "-c", MEASURE, nptest.NEUROPAINT] + args,
                          capture_output=True, text=True, env=env)
    return proc.returncode, proc.stderr, int(proc.stdout.split()[-1]) if proc.stdout.strip() else 0


class Colorize(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="np-colorize-")
        cls.env = nptest.tiny_models(os.path.join(cls.tmp, "data"))
        # One name no shipped model has, to see this folder's own entry.
        folder = os.path.join(cls.tmp, "data", "neuropaint", "models")
        nptest.model_with_metadata(os.path.join(folder, "gray2color.safetensors"),
                                   os.path.join(folder, "np-test-chroma.safetensors"))
        with open(os.path.join(folder, "np-test-chroma.md"), "w") as f:
            f.write("\n# np-test-chroma — the tests' own\n\nMore.\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def photo(self, name, height, width, seed=1):
        import cv2
        y, x = np.mgrid[0:height, 0:width] / float(max(height, width))
        img = np.stack([0.5 + 0.4 * np.sin(7 * x + 3 * y), 0.5 + 0.4 * np.cos(5 * y - 2 * x),
                        0.5 + 0.4 * np.sin(11 * x * y + 1)], -1)
        img += np.random.default_rng(seed).normal(0, 0.03, img.shape)
        rgb = np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)
        cv2.imwrite(self.path(name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        return rgb

    def run_chain(self, inputs, chain, check=True):
        out = self.path("out")
        shutil.rmtree(out, ignore_errors=True)
        proc = nptest.run(["run", "-o", out] + inputs + ["--"] + chain.split(), check=check, env=self.env)
        return proc, out

    def test_large_photo_keeps_luminance_in_bounded_memory(self):
        """4000×3000: the result's BT.601 luma is the photo's within 2/255
        everywhere (the gamut rule shrinks chroma, never luminance), and the
        colour is the model's. Peak memory above a pass-through of the same
        photo is at most the 8-bit output GEGL keeps (4 bytes a pixel), the
        model's parameters in float and 64 MB (strips, tables, the network's
        run at the render size): the photo is never held in float (that alone
        would be 192 MB)."""
        width, height = 4000, 3000
        rgb = self.photo("large.png", height, width)
        args = ["run", "-j", "2", "-o", self.path("large-out"), self.path("large.png"), "--"]
        # babl as users have it: with the suite's BABL_TOLERANCE=0 the PNG
        # saver's exact conversions cost more than the op itself. babl's
        # first run without its cache of conversions costs ~300 MB: a cache
        # of our own, made by a first run.
        env = {k: v for k, v in self.env.items() if k != "BABL_TOLERANCE"}
        env["XDG_CACHE_HOME"] = self.path("cache")
        code, err, _ = peak_rss(args + ["neuropaint:colorize"], env)
        self.assertEqual(code, 0, err)
        code, err, passthrough = peak_rss(args + ["gegl:nop"], env)
        self.assertEqual(code, 0, err)
        code, err, colorize = peak_rss(args + ["neuropaint:colorize", "model=gray2color"], env)
        self.assertEqual(code, 0, err)
        extra = colorize - passthrough
        print("peak memory: pass-through %.0f MB, colorize %.0f MB (+%.0f MB)"
              % (passthrough / 1e6, colorize / 1e6, extra / 1e6))
        info = nptest.run(["info", "gray2color"], env=self.env).stdout
        parameters = int(info.split("parameters:")[1].split("(")[1].split()[0])
        self.assertLess(extra, 4 * width * height + 4 * parameters + 64e6)
        # Not vacuous: the pass-through holds the photo and little else.
        self.assertLess(passthrough, 250e6)

        got = nptest.read_rgb(os.path.join(self.path("large-out"), "large.png"))[..., :3]
        self.assertEqual(got.shape, rgb.shape)
        diff = np.abs(got @ LUMA - rgb @ LUMA)
        print("luma: max difference %.3f/255, share above 2/255: %.6f %%"
              % (diff.max(), 100 * (diff > 2).mean()))
        self.assertLessEqual(diff.max(), 2)
        # Not the photo, nor gray: colour the photo does not have.
        chroma = np.abs(got.astype(int) - got.mean(-1, keepdims=True)).mean()
        self.assertGreater(np.abs(got.astype(int) - rgb).mean(), 3)
        self.assertGreater(chroma, 3)

    def test_gray_and_colour_inputs_give_the_same(self):
        """A colour photo is made gray first: its gray version gives the same."""
        import cv2
        rgb = self.photo("colour.png", 97, 131, 2)
        gray = np.rint(rgb @ LUMA).clip(0, 255).astype(np.uint8)
        cv2.imwrite(self.path("gray.png"), gray)
        _, out = self.run_chain([self.path("colour.png"), self.path("gray.png")], "neuropaint:colorize")
        a = nptest.read_rgb(os.path.join(out, "colour.png"))[..., :3].astype(int)
        b = nptest.read_rgb(os.path.join(out, "gray.png"))[..., :3].astype(int)
        # The luma rounds to 8 bits in the gray file: one level.
        self.assertLessEqual(np.abs(a - b).max(), 2)

    def test_super_resolution_doubles_the_box(self):
        for h, w in ((61, 97), (1, 1), (3, 130)):
            self.photo("sr.png", h, w, 3)
            _, out = self.run_chain([self.path("sr.png")], "neuropaint:super-resolution tile-size=32")
            self.assertEqual(nptest.read_rgb(os.path.join(out, "sr.png")).shape[:2], (2 * h, 2 * w))

    def assert_one_error(self, chain, *fragments):
        self.photo("bad.png", 40, 30, 4)
        proc, out = self.run_chain([self.path("bad.png")], chain, check=False)
        self.assertNotEqual(proc.returncode, 0, chain)
        lines = proc.stderr.strip().split("\n")
        self.assertEqual(len(lines), 1, proc.stderr)
        for fragment in fragments:
            self.assertIn(fragment, proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(out, "bad.png")))

    def test_unknown_model(self):
        self.assert_one_error("neuropaint:colorize model=gray3color", "no model named “gray3color”",
                              os.path.join(nptest.SOURCE_ROOT, "models"), "gray2color, noise2face")
        self.assert_one_error("neuropaint:super-resolution model=/nonexistent/x.safetensors",
                              "/nonexistent/x.safetensors", "No such file")

    def test_model_of_the_wrong_kind(self):
        self.assert_one_error("neuropaint:colorize model=sr2x",
                              "sr2x: the model changes the image size (its output is 2× its input): "
                              "run it with neuropaint:super-resolution")
        self.assert_one_error("neuropaint:super-resolution model=gray2color",
                              "gray2color: not a ×2 super-resolution model (its output is 1× its input); "
                              "run it with neuropaint:colorize")
        self.assert_one_error("neuropaint:colorize model=noise2face",
                              "noise2face: a generator from a latent vector", "not a model of pictures",
                              "run it with neuropaint:dream-face")
        self.assert_one_error("neuropaint:colorize model=contours2color",
                              "trained on contours pictures", "neuropaint:generator")
        self.assert_one_error("neuropaint:generator model=sr2x", "neuropaint:super-resolution")

    def test_render_size_out_of_range(self):
        self.assert_one_error("neuropaint:colorize render-size=5000", "render-size", "4096")
        self.assert_one_error("neuropaint:colorize render-size=8", "render size 8 is out of range")

    def test_models_lists_them_by_name(self):
        proc = nptest.run(["models", "--verbose"], env=self.env)
        lines = proc.stdout.split("\n")
        ours = [l for l in lines if l.startswith("np-test-chroma ")]
        self.assertEqual(len(ours), 1, proc.stdout)
        self.assertEqual(ours[0].split()[1:4], ["gray", "64×80", "chroma-ycbcr"])
        self.assertTrue(ours[0].endswith("  np-test-chroma — the tests' own"), ours[0])
        self.assertIn(os.path.join(self.tmp, "data", "neuropaint", "models", "np-test-chroma.safetensors"),
                      proc.stdout)
        # Every shipped name is listed once, wherever it was found.
        for name in nptest.TINY_MODELS:
            self.assertEqual(sum(l.startswith(name + " ") for l in lines), 1, name)
        # Searched in order, the uninstalled tree's own models/ first.
        searched = lines[lines.index("Searched, in this order:") + 1:]
        self.assertTrue(searched[0].strip().startswith(os.path.join(nptest.SOURCE_ROOT, "models")), searched)
        self.assertTrue(searched[1].strip().startswith(os.path.join(self.tmp, "data")), searched)
        # info takes a name too.
        proc = nptest.run(["info", "sr2x"], env=self.env)
        self.assertIn("architecture: edsr", proc.stdout)

    def test_an_op_module_outside_the_build_tree_is_installed(self):
        """A module copied out of the build tree (as users install per user)
        no longer looks in the source tree's models/: only the user's and
        the installed folders."""
        ops = self.path("copied-ops")
        os.makedirs(ops, exist_ok=True)
        shutil.copy(os.path.join(os.environ["GEGL_PATH"].split(":")[0], "np-colorize.so"), ops)
        self.photo("copied.png", 8, 8, 5)
        gegl = os.environ["GEGL_PATH"].split(":")[1:]
        env = dict(self.env, GEGL_PATH=":".join([ops] + gegl))
        proc = subprocess.run(["gegl", self.path("copied.png"), "-o", self.path("copied-out.png"), "--",
                               "neuropaint:colorize", "model=gray3color"], capture_output=True, text=True,
                              env=env, timeout=120)
        # (GLib's warnings print “quotes” as ? in the C locale.)
        self.assertIn("(looked for gray3color.safetensors in "
                      + os.path.join(self.tmp, "data", "neuropaint", "models") + ", ", proc.stderr)
        self.assertNotIn(os.path.join(nptest.SOURCE_ROOT, "models"), proc.stderr)
        # From the build tree, the source tree's folder comes first.
        proc = subprocess.run(["gegl", self.path("copied.png"), "-o", self.path("copied-out.png"), "--",
                               "neuropaint:colorize", "model=gray3color"], capture_output=True, text=True,
                              env=self.env, timeout=120)
        self.assertIn("in " + os.path.join(nptest.SOURCE_ROOT, "models") + ", ", proc.stderr)

    def test_every_shipped_model_loads_and_runs(self):
        """Each model in models/ loads, has a card, and runs in the op its kind
        belongs to (its reference hash is another test's)."""
        folder = os.path.join(nptest.SOURCE_ROOT, "models")
        names = sorted(f[:-12] for f in os.listdir(folder) if f.endswith(".safetensors"))
        if not names:
            self.skipTest("models/ holds no model yet")
        rgb = self.photo("shipped.png", 96, 80, 6)
        for name in names:
            with self.subTest(model=name):
                self.assertTrue(os.path.exists(os.path.join(folder, name + ".md")), "no card for " + name)
                info = nptest.run(["info", name], env=self.env).stdout
                self.assertIn(os.path.join(folder, name + ".safetensors"), info)
                meta = dict(l.strip().split(" = ", 1) for l in info.split("\n") if " = " in l)
                if meta.get("architecture") in ("sr", "edsr"):
                    op, shape = "neuropaint:super-resolution", (192, 160)
                elif meta.get("input_filter") == "noise":
                    out = self.path("dream-%s.png" % name)
                    proc = subprocess.run(["gegl", "-o", out, "--", "neuropaint:dream-face", "model=" + name,
                                           "seed=1", "width=64", "height=80"], capture_output=True, text=True,
                                          env=self.env, timeout=300)
                    self.assertNotIn("neuropaint:dream-face", proc.stderr)
                    self.assertEqual(nptest.read_rgb(out).shape[:2], (80, 64))
                    continue
                elif meta.get("input_filter") == "gray":
                    op, shape = "neuropaint:colorize", rgb.shape[:2]
                else:
                    op, shape = "neuropaint:generator apply-filter=true", rgb.shape[:2]
                _, out = self.run_chain([self.path("shipped.png")], "%s model=%s" % (op, name))
                self.assertEqual(nptest.read_rgb(os.path.join(out, "shipped.png")).shape[:2], shape)

    def test_no_models(self):
        env = dict(os.environ, XDG_DATA_HOME=self.path("empty"))
        proc = nptest.run(["models"], env=env)
        if not os.listdir(os.path.join(nptest.SOURCE_ROOT, "models")) == ["README.md"]:
            self.skipTest("models/ holds models")
        self.assertIn("No models found.", proc.stdout)
        proc = nptest.run(["info", "gray2color"], check=False, env=env)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no model named “gray2color”", proc.stderr)
        self.assertIn("there are no models there", proc.stderr)


if __name__ == "__main__":
    nptest.main()
