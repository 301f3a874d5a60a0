"""`neuropaint info` on model files, and the generator op from the command
line: parameter counts as PyTorch counts them, metadata, and one clear
message with exit status 2 for bad files."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nptest  # noqa: E402

try:
    sys.path.insert(0, os.path.join(nptest.SOURCE_ROOT, "tools"))
    import export_torch as ex  # noqa: E402
except ImportError as e:  # pragma: no cover - python3-torch is a test dependency
    print("skipping: %s" % e)
    sys.exit(nptest.SKIP)


class Info(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_seed_unet(self):
        path = os.path.join(self.dir, "unet32.safetensors")
        model = ex.UNet(32, 6)
        ex.export(model, path, "F16", {"input_filter": "gray", "width": "256", "height": "320"})
        out = nptest.run(["info", "--layers", path]).stdout
        self.assertIn("architecture: unet", out)
        self.assertIn("parameters:   %d " % ex.n_parameters(model), out)
        self.assertEqual(ex.n_parameters(model), 7316483)
        self.assertIn("input_filter = gray", out)
        self.assertIn("size multiple: 64", out)
        self.assertIn("conv name=bottleneck out=256 k=4 s=2 p=1", out)

    def test_patchgan_and_sr(self):
        for arch, model in (("patchgan", ex.PatchGAN(16)), ("sr", ex.SRNet(32))):
            path = os.path.join(self.dir, arch + ".safetensors")
            ex.export(model, path)
            out = nptest.run(["info", path]).stdout
            self.assertIn("architecture: " + arch, out)
            self.assertIn("parameters:   %d " % ex.n_parameters(model), out)

    def test_bad_files(self):
        good = os.path.join(self.dir, "good.safetensors")
        ex.export(ex.UNet(2, 3), good)
        with open(good, "rb") as f:
            data = f.read()
        cases = {
            "truncated": data[: len(data) // 2],
            "empty": b"",
            "text": b"this is not a model at all",
        }
        for name, blob in cases.items():
            path = os.path.join(self.dir, name + ".safetensors")
            with open(path, "wb") as f:
                f.write(blob)
            proc = nptest.run(["info", path], check=False)
            self.assertEqual(proc.returncode, 2, name)
            self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
            self.assertIn("neuropaint info: ", proc.stderr)
        proc = nptest.run(["info", os.path.join(self.dir, "missing.safetensors")], check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(nptest.run(["info"], check=False).returncode, 1)

    def test_generator_from_the_command_line(self):
        """A photo through `neuropaint run` with a gray→colour model."""
        photos = nptest.debian_photos()
        if not photos:
            self.skipTest("no sample photo (python3-skimage)")
        path = os.path.join(self.dir, "g.safetensors")
        ex.export(ex.randomize(ex.UNet(4, 4), 1), path, metadata={"input_filter": "gray"})
        out = nptest.apply_chain(photos[:1], "neuropaint:generator model=%s apply-filter=true tile-size=256" % path)
        img = nptest.read_rgb(out[photos[0]])
        src = nptest.read_rgb(photos[0])
        self.assertEqual(img.shape[:2], src.shape[:2])
        self.assertGreater(float(img.std()), 1.0)


if __name__ == "__main__":
    nptest.main()
