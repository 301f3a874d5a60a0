"""tools/train_torch.py, PyTorch's side of training, against our generator.

On a tiny dataset made by neuropaint prepare, the script trains a few steps
on CPU under torchrun with 2 processes (DistributedDataParallel over gloo)
and once in a plain process. The model file it writes must run in
neuropaint:generator as it is (no option but the model), and give what
torch's own forward of the same weights gives (eval mode), within one level
of 8 bits (rounding); the EDSR-like super-resolution net's, likewise in
neuropaint:super-resolution."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import nptest

try:
    import cv2
    import numpy as np
    import torch
    sys.path.insert(0, os.path.join(nptest.SOURCE_ROOT, "tools"))
    import export_torch as ex
except ImportError as e:  # pragma: no cover - Debian's python3-torch is a test dependency
    print("skipping: %s" % e)
    sys.exit(nptest.SKIP)

SCRIPT = os.path.join(nptest.SOURCE_ROOT, "tools", "train_torch.py")


class TorchTraining(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="np-torch-train-")
        faces = os.path.join(nptest.SHARED_DATA, "faces", "london-neutral")
        photos = sorted(os.path.join(faces, f) for f in os.listdir(faces))[:5] if os.path.isdir(faces) \
            else nptest.debian_photos()
        val = os.path.join(cls.dir, "val.txt")
        with open(val, "w") as f:
            f.write(os.path.basename(photos[0]) + "\n")
        cls.dataset = os.path.join(cls.dir, "ds")
        nptest.run(["prepare", "-o", cls.dataset, "--size", "64x64", "--val-list", val] + photos)

    def generate(self, model, index):
        """Our generator op on the dataset's colour crop, and torch's forward
        on the gray crop the op computes from it (prepare's, the same filter)."""
        color = np.load(os.path.join(self.dataset, "color.npy"))[index]
        gray = np.load(os.path.join(self.dataset, "gray.npy"))[index]
        photo = os.path.join(self.dir, "crop.png")
        cv2.imwrite(photo, color[..., ::-1])
        out = os.path.join(self.dir, "generated")
        shutil.rmtree(out, ignore_errors=True)
        nptest.run(["run", "-o", out, photo, "--", "neuropaint:generator", "model=" + model])
        ours = nptest.read_rgb(os.path.join(out, "crop.png"))[..., :3].astype(np.int32)

        tensors, meta = ex.read_safetensors(model)
        net = ex.UNet(int(meta["ngf"]), int(meta["depth"]), int(meta["in_channels"]), int(meta["out_channels"]))
        net.load_state_dict({"m." + k: torch.from_numpy(v.copy()) for k, v in tensors.items()}, strict=False)
        net.eval()
        with torch.no_grad():
            x = torch.from_numpy(gray.astype(np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
            y = net(x)[0].permute(1, 2, 0).numpy()
        theirs = np.clip(np.round((y + 1) * 127.5), 0, 255).astype(np.int32)
        return ours, theirs, meta

    def check(self, model):
        ours, theirs, meta = self.generate(model, 0)
        self.assertEqual(meta["input_filter"], "gray")
        self.assertEqual(ours.shape, theirs.shape)
        diff = np.abs(ours - theirs)
        print("  %s: ours and torch's differ by at most %d (mean %.4f)" % (os.path.basename(model), diff.max(),
                                                                           diff.mean()))
        self.assertLessEqual(diff.max(), 1)
        self.assertLess(diff.mean(), 0.05)
        # A picture, not a constant: the comparison means something.
        self.assertGreater(float(theirs.std()), 1.0)
        print("  (torch's output spreads over %.1f levels)" % theirs.std())

    def test_torchrun_two_processes(self):
        if shutil.which("torchrun") is None:
            self.skipTest("no torchrun")
        model = os.path.join(self.dir, "ddp.safetensors")
        # Debian 12's torchrun (torch 1.13 on Python 3.11) cannot parse its own
        # default -r 0 -t 0: give it one stream to tee (docs/scale-out.md).
        cmd = ["torchrun", "--standalone", "--nproc_per_node", "2", "-r", "1", "-t", "1",
               "--log_dir", os.path.join(self.dir, "logs"), SCRIPT, self.dataset, "-o", model,
               "--ngf", "8", "--batch", "4", "--steps", "3", "--lr", "0.02"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("on 2 processes", proc.stdout)
        self.check(model)

    def test_edsr_super_resolution(self):
        # The EDSR-like net for lowres: a model file the super-resolution op
        # runs as torch does (the picture itself, the rgb target).
        model = os.path.join(self.dir, "edsr.safetensors")
        proc = subprocess.run([sys.executable, SCRIPT, self.dataset, "-o", model, "--input", "lowres", "--arch",
                               "edsr", "--ngf", "8", "--batch", "2", "--steps", "2", "--lr", "0.02"],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        tensors, meta = ex.read_safetensors(model)
        self.assertEqual((meta["architecture"], meta["blocks"], meta["target"]), ("edsr", "4", "rgb"))
        color = np.load(os.path.join(self.dataset, "color.npy"))[0]
        small = np.ascontiguousarray(color[::2, ::2])
        photo = os.path.join(self.dir, "small.png")
        cv2.imwrite(photo, small[..., ::-1])
        out = os.path.join(self.dir, "sr")
        nptest.run(["run", "-o", out, photo, "--", "neuropaint:super-resolution", "model=" + model])
        ours = nptest.read_rgb(os.path.join(out, "small.png"))[..., :3].astype(np.int32)
        net = ex.EDSR(8, 4)
        net.load_state_dict({"m." + k: torch.from_numpy(v.copy()) for k, v in tensors.items()})
        with torch.no_grad():
            y = net.eval()(torch.from_numpy(small.astype(np.float32)).permute(2, 0, 1)[None] / 127.5 - 1)
        theirs = np.clip(np.round((y[0].permute(1, 2, 0).numpy() + 1) * 127.5), 0, 255).astype(np.int32)
        self.assertEqual(ours.shape, theirs.shape)
        self.assertLessEqual(np.abs(ours - theirs).max(), 1)
        self.assertGreater(float(theirs.std()), 1.0)

    def test_one_process(self):
        model = os.path.join(self.dir, "one.safetensors")
        proc = subprocess.run([sys.executable, SCRIPT, self.dataset, "-o", model, "--ngf", "8", "--batch", "2",
                               "--steps", "2", "--gan-weight", "0", "--lr", "0.02"], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.check(model)


if __name__ == "__main__":
    nptest.main()
