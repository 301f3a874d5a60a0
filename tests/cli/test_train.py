"""neuropaint train on a tiny dataset (made by neuropaint prepare at 64×64):

- a tiny generator trained with L1 alone lowers its loss, and the model
  file runs in neuropaint:generator with no extra argument;
- the same seed gives the same losses and weights on 1 and 2 threads, and
  a run stopped and resumed equals one never stopped, bit for bit;
- Ctrl-C (SIGINT) finishes the step, writes a checkpoint that resumes;
- a run started with relative paths resumes from another folder, and
  outputs that cannot be written fail before any training (issue 21.10);
- bad input gets one clear message and a non-zero exit: an empty or corrupt
  dataset, a checkpoint of another architecture, absurd numbers, and a full
  disk, which leaves the previous model and checkpoint intact.

The photos are a few of ../shared/data/faces; without shared/, Debian's
sample photos, as it says."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nptest  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(nptest.SOURCE_ROOT, "tools"))
import export_torch as ex  # noqa: E402

TINY = ["--ngf", "4", "--batch", "2", "--validate-every", "5", "--threads", "2", "--samples", "2"]


def history(path):
    """The CSV's steps and losses (not the seconds, nor the validation
    columns: a run also validates where it ends)."""
    with open(path) as f:
        rows = [line.rstrip("\n").split(",") for line in f]
    return [r[:1] + r[2:6] for r in rows]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def tensors(path):
    return ex.read_safetensors(path)[0]


class Train(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="np-train-cli-")
        faces = os.path.join(nptest.SHARED_DATA, "faces")
        if os.path.isdir(faces):
            photos = [os.path.join(faces, p) for p in ("london-neutral/001_03.jpg", "london-neutral/030_03.jpg",
                                                       "london-smiling/031_08.jpg", "london-smiling/040_08.jpg")]
            val = ["london-neutral/001_03.jpg"]
        else:
            print("../shared/data is absent: a dataset of Debian's sample photos instead")
            photos = nptest.debian_photos()
            val = [os.path.basename(photos[0])]
        cls.photos = photos = [p for p in photos if os.path.exists(p)]
        if len(photos) < 2:
            print("skipping: fewer than two photos to train on")
            sys.exit(nptest.SKIP)
        val_list = os.path.join(cls.dir, "val.txt")
        with open(val_list, "w") as f:
            f.write("\n".join(val) + "\n")
        cls.dataset = os.path.join(cls.dir, "ds")
        nptest.run(["prepare", "-o", cls.dataset, "--size", "64x64", "--val-list", val_list] + photos)

    def train(self, name, *args, check=True):
        out = os.path.join(self.dir, name + ".safetensors")
        return out, nptest.run(["train", self.dataset, "-o", out] + TINY + list(args), check=check)

    def test_loss_falls_and_the_model_runs(self):
        out, _ = self.train("falls", "--gan-weight", "0", "--steps", "40", "--lr", "0.002")
        rows = history(os.path.join(self.dir, "falls.history.csv"))[1:]
        recon = [float(r[4]) for r in rows]   # g_recon
        print("  L1 first 5 steps %.3f, last 5 %.3f" % (np.mean(recon[:5]), np.mean(recon[-5:])))
        self.assertLess(np.mean(recon[-5:]), 0.8 * np.mean(recon[:5]))
        for suffix in (".ckpt", ".history.png", ".samples.png"):
            self.assertGreater(os.path.getsize(os.path.join(self.dir, "falls" + suffix)), 100)
        # The model file alone is enough for the generator op.
        photo = os.path.join(self.dir, "in.png")
        ds = np.load(os.path.join(self.dataset, "color.npy"))
        cv2.imwrite(photo, ds[0][..., ::-1])
        result = os.path.join(self.dir, "generated")
        nptest.run(["run", "-o", result, photo, "--", "neuropaint:generator", "model=" + out])
        img = nptest.read_rgb(os.path.join(result, "in.png"))
        self.assertEqual(img.shape[:2], (64, 64))
        self.assertGreater(float(img.std()), 1.0)

    def test_super_resolution_adds_detail_to_the_upscale(self):
        # lowres trains the SR net on the residual by default; the model file
        # says so, and the op adds its output to OpenCV's bicubic upscale.
        out, proc = self.train("sr", "--input", "lowres", "--steps", "4")
        self.assertIn("lowres → residual", proc.stdout)
        self.assertIn("baselines: bicubic ", proc.stdout)
        self.assertEqual(ex.read_safetensors(out)[1]["target"], "residual-bicubic")
        # Its architecture is the experiment's, so the command need not say it.
        self.assertEqual(ex.read_safetensors(out)[1]["architecture"], "sr")
        self.assertNotIn("--arch", ex.read_safetensors(out)[1]["trained_with"])
        ds = np.load(os.path.join(self.dataset, "color.npy"))
        small = cv2.resize(ds[0], (32, 32), interpolation=cv2.INTER_AREA)
        photo = os.path.join(self.dir, "small.png")
        cv2.imwrite(photo, small[..., ::-1])
        result = os.path.join(self.dir, "sr-out")
        nptest.run(["run", "-o", result, photo, "--", "neuropaint:super-resolution", "model=" + out])
        img = nptest.read_rgb(os.path.join(result, "small.png"))[..., :3].astype(float)
        up = cv2.resize(small.astype(np.float32) / 255, (64, 64), interpolation=cv2.INTER_CUBIC)
        self.assertEqual(img.shape, (64, 64, 3))
        # The residual of 4 steps is small, and no picture without the
        # upscale is near it.
        self.assertLess(np.abs(img - np.clip(up, 0, 1) * 255).mean(), 25)

    def test_edsr_super_resolution(self):
        # --arch edsr fits lowres's half-size pairs; the command names it in
        # the model's recipe, and the op runs the file alone.
        out, proc = self.train("edsr", "--input", "lowres", "--arch", "edsr", "--ngf", "8", "--steps", "4",
                               "--validate-every", "4")
        meta = ex.read_safetensors(out)[1]
        self.assertEqual((meta["architecture"], meta["features"], meta["target"]), ("edsr", "8", "residual-bicubic"))
        self.assertIn("--arch edsr", meta["trained_with"])
        self.assertIn("pixelshuffle factor=2", meta["graph"])
        self.assertIn("PSNR", proc.stdout)
        ds = np.load(os.path.join(self.dataset, "color.npy"))
        photo = os.path.join(self.dir, "edsr-small.png")
        cv2.imwrite(photo, cv2.resize(ds[0], (30, 34), interpolation=cv2.INTER_AREA)[..., ::-1])
        result = os.path.join(self.dir, "edsr-out")
        nptest.run(["run", "-o", result, photo, "--", "neuropaint:super-resolution", "model=" + out])
        self.assertEqual(nptest.read_rgb(os.path.join(result, "edsr-small.png")).shape[:2], (68, 60))

    def test_edsr_blocks(self):
        # --blocks sets edsr's depth: the graph holds that many residual
        # blocks, the parameters are those of the net written out here
        # (a 3×3 head to f features, per block two 3×3 convolutions of f to
        # f, a 3×3 body conv, a 3×3 conv to 4·3 channels for the shuffle),
        # the command says it, and a checkpoint resumes only its own depth.
        f, blocks = 8, 2
        out, _ = self.train("deep", "--input", "lowres", "--arch", "edsr", "--ngf", str(f), "--blocks", str(blocks),
                            "--steps", "2", "--validate-every", "2")
        meta = ex.read_safetensors(out)[1]
        self.assertIn("--arch edsr --blocks 2", meta["trained_with"])
        self.assertEqual(meta["blocks"], "2")
        conv = lambda cin, cout: 9 * cin * cout + cout
        expected = conv(3, f) + blocks * 2 * conv(f, f) + conv(f, f) + conv(f, 12)
        weights = ex.read_safetensors(out)[0]
        self.assertEqual(sum(int(np.prod(t.shape)) for t in weights.values()), expected)
        self.assertEqual(meta["graph"].count("add "), blocks + 1)   # each block's skip, and the body's
        ckpt = os.path.join(self.dir, "deep.ckpt")
        self.fails(["train", "--resume", ckpt, "--blocks", "3"], "other options", 1)
        nptest.run(["train", "--resume", ckpt, "--steps", "3", "--threads", "1"])
        self.assertIn("--blocks 2", ex.read_safetensors(out)[1]["trained_with"])
        for args, message in ((["--blocks", "0"], "--blocks"), (["--blocks", "65"], "--blocks"),
                              (["--blocks", "2"], "has no blocks")):
            extra = ["--input", "lowres", "--arch", "edsr"] if message == "--blocks" else []
            self.fails(["train", self.dataset, "-o", os.path.join(self.dir, "bad-blocks.safetensors")] + extra + args,
                       message, 1)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "bad-blocks.safetensors")))

    def test_super_resolution_with_an_adversarial_term(self):
        # The half-size input does not stack with the picture, so D judges
        # the picture alone (SRGAN's); before, the command failed at concat.
        out, proc = self.train("srgan", "--input", "lowres", "--arch", "edsr", "--ngf", "8", "--steps", "2",
                               "--gan-weight", "0.01", "--ndf", "8")
        self.assertIn("--gan-weight 0.01", ex.read_safetensors(out)[1]["trained_with"])
        d_graph = ex.read_safetensors(out[:-len(".safetensors")] + ".ckpt")[1]["D.graph"]
        self.assertNotIn("concat", d_graph)
        self.assertTrue(d_graph.startswith("input name=target c=3\n"), d_graph)

    def test_progress_names_only_the_baselines_there_are(self):
        # Noise has no input picture to score: its lines name the mean colour alone.
        _, proc = self.train("noise", "--input", "noise", "--steps", "2", "--validate-every", "2")
        self.assertIn("baselines: mean colour ", proc.stdout)
        self.assertIn("PSNR", proc.stdout)
        self.assertNotIn("nan", proc.stdout.lower())

    def test_threads_and_resume_are_bit_identical(self):
        once, _ = self.train("once", "--steps", "10", "--threads", "1")
        twice, _ = self.train("twice", "--steps", "10", "--threads", "2")
        self.assertEqual(history(os.path.join(self.dir, "once.history.csv")),
                         history(os.path.join(self.dir, "twice.history.csv")))
        part, _ = self.train("part", "--steps", "4")
        nptest.run(["train", "--resume", os.path.join(self.dir, "part.ckpt"), "--steps", "10"])
        self.assertEqual(history(os.path.join(self.dir, "once.history.csv")),
                         history(os.path.join(self.dir, "part.history.csv")))
        a, b = tensors(once), tensors(part)
        self.assertEqual(sorted(a), sorted(b))
        for name in a:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        # The command the model records makes the very same model from scratch.
        command = ex.read_safetensors(part)[1]["trained_with"].split()
        self.assertEqual(command[:2], ["neuropaint", "train"])
        again = os.path.join(self.dir, "again.safetensors")
        command[command.index("-o") + 1] = again
        nptest.run(command[1:])
        c = tensors(again)
        for name in a:
            np.testing.assert_array_equal(a[name], c[name], err_msg=name)

    def test_dream_trains_resumes_and_ships_the_average(self):
        """The generator built for noise on the 64×64 crops shrunk 4× (16×16,
        so a 1×1 grid): no transposed convolution, no reconstruction term,
        DiffAugment, spectral norm on D, G's moving average shipped; 2
        threads, and 3 steps then 3 more from the checkpoint, give the same
        bits as 6 on 1 thread, the average and the norm's vectors included."""
        once, _ = self.train("dream1", "--input", "dream", "--steps", "6", "--threads", "1")
        meta = ex.read_safetensors(once)[1]
        self.assertEqual(meta["architecture"], "dream")
        self.assertEqual((meta["width"], meta["height"]), ("16", "16"))   # what it makes, not the dataset's
        self.assertNotIn("convt", meta["graph"])
        self.assertIn("reshape c=32 h=1 w=1", meta["graph"])   # ngf 4: 8·4 channels
        self.assertIn("--l1-weight 0 ", meta["trained_with"])
        self.assertIn("--ema 0.999", meta["trained_with"])
        self.assertIn("--augment diff", meta["trained_with"])
        self.assertIn("--d-norm spectral", meta["trained_with"])
        twice, _ = self.train("dream2", "--input", "dream", "--steps", "6", "--threads", "2")
        part, _ = self.train("dream3", "--input", "dream", "--steps", "3")
        nptest.run(["train", "--resume", os.path.join(self.dir, "dream3.ckpt"), "--steps", "6"])
        rows = history(os.path.join(self.dir, "dream1.history.csv"))
        self.assertEqual(len(rows), 7)
        for other in ("dream2", "dream3"):
            self.assertEqual(rows, history(os.path.join(self.dir, other + ".history.csv")))
        ckpt = [tensors(os.path.join(self.dir, n + ".ckpt")) for n in ("dream1", "dream2", "dream3")]
        self.assertIn("ema.G", ckpt[0])
        self.assertIn("sn.D.u", ckpt[0])
        for name in ckpt[0]:
            for other in ckpt[1:]:
                np.testing.assert_array_equal(ckpt[0][name], other[name], err_msg=name)
        # The model holds the average, not G's last weights.
        model, g = tensors(once), ckpt[0]
        self.assertGreater(float(np.abs(model["out.weight"] - g["G.out.weight"]).max()), 0)
        # A generator from a latent vector takes the latent input only.
        _, proc = self.train("dream-noise", "--input", "noise", "--arch", "dream", "--steps", "1", check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)   # a usage error
        self.assertIn("latent vector", proc.stderr)
        # DiffAugment would move pix2pix's pairs apart.
        _, proc = self.train("augment-pairs", "--input", "gray", "--augment", "diff", "--steps", "1", check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("picture alone", proc.stderr)

    def test_hints_are_simulated_saved_and_resumed(self):
        # gray-hints: the model says it takes hints; validation scores none,
        # 2 and 10 hints; threads and a resume change no bit.
        once, proc = self.train("hints1", "--input", "gray-hints", "--steps", "6", "--threads", "1")
        self.assertIn("gray-hints → chroma", proc.stdout)
        self.assertRegex(proc.stdout, r"PSNR [0-9.]+ dB, hints 2: [0-9.]+ dB, 10: [0-9.]+ dB")
        meta = ex.read_safetensors(once)[1]
        self.assertEqual((meta["hints"], meta["target"], meta["input_filter"]),
                         ("ycbcr-spread", "chroma-ycbcr", "gray"))
        self.assertIn("input name=input c=4", meta["graph"])
        twice, _ = self.train("hints2", "--input", "gray-hints", "--steps", "6", "--threads", "2")
        part, _ = self.train("hints3", "--input", "gray-hints", "--steps", "3")
        nptest.run(["train", "--resume", os.path.join(self.dir, "hints3.ckpt"), "--steps", "6"])
        a = tensors(once)
        for other in (twice, part):
            b = tensors(other)
            for name in a:
                np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        self.assertEqual(history(os.path.join(self.dir, "hints1.history.csv")),
                         history(os.path.join(self.dir, "hints3.history.csv")))

    def test_without_a_validation_split(self):
        """A dataset made without --val-list trains, says it cannot validate,
        and still draws samples (from training photos)."""
        plain = os.path.join(self.dir, "plain")
        nptest.run(["prepare", "-o", plain, "--size", "64x64"] + self.photos)
        out = os.path.join(self.dir, "plain.safetensors")
        proc = nptest.run(["train", plain, "-o", out, "--steps", "5", "--gan-weight", "0"] + TINY)
        self.assertIn("no validation scores", proc.stderr)
        self.assertGreater(os.path.getsize(os.path.join(self.dir, "plain.samples.png")), 100)
        self.assertEqual(history(os.path.join(self.dir, "plain.history.csv"))[-1][0], "5")

    def test_learning_rate_schedule(self):
        """--lr-decay-from: recorded in the model's command; resuming before
        the decay starts may add steps (the end moves), after it may not."""
        out = os.path.join(self.dir, "decay.safetensors")
        self.fails(["train", self.dataset, "-o", out, "--steps", "4", "--lr-decay-from", "6"] + TINY,
                   "--lr-decay-from", 1)
        self.train("decay", "--steps", "8", "--lr-decay-from", "4")
        meta = ex.read_safetensors(os.path.join(self.dir, "decay.safetensors"))[1]
        self.assertIn("--lr-decay-from 4", meta["trained_with"])
        self.fails(["train", "--resume", os.path.join(self.dir, "decay.ckpt"), "--steps", "12"],
                   "already falls", 1)
        part, _ = self.train("early", "--steps", "4", "--lr-decay-from", "4")
        nptest.run(["train", "--resume", os.path.join(self.dir, "early.ckpt"), "--steps", "6"])
        self.assertIn("--steps 6 ", ex.read_safetensors(part)[1]["trained_with"])

    def test_sigint_checkpoints(self):
        out = os.path.join(self.dir, "stopped.safetensors")
        proc = subprocess.Popen([nptest.NEUROPAINT, "train", self.dataset, "-o", out, "--steps", "100000"] + TINY,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ckpt = os.path.join(self.dir, "stopped.ckpt")
        deadline = time.time() + 60
        while not os.path.exists(os.path.join(self.dir, "stopped.history.png")) and time.time() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 75, err)      # stopped whole: a status of its own
        self.assertIn("--resume " + ckpt, err)
        leftovers = [f for f in os.listdir(self.dir) if f.startswith(".np-")]
        self.assertEqual(leftovers, [])
        meta = ex.read_safetensors(ckpt)[1]
        steps = int(meta["train.step"])
        self.assertGreaterEqual(steps, 5)
        nptest.run(["train", "--resume", ckpt, "--steps", str(steps + 2)])
        self.assertEqual(ex.read_safetensors(ckpt)[1]["train.step"], str(steps + 2))

    def test_resume_from_another_folder(self):
        # Not siblings: neither relative path means the same thing in the other.
        start, other = os.path.join(self.dir, "start"), os.path.join(self.dir, "other", "deeper")
        os.makedirs(start)
        os.makedirs(other)
        nptest.run(["train", os.path.relpath(self.dataset, start), "-o", "rel.safetensors", "--steps", "2"] + TINY,
                    cwd=start)
        model = os.path.join(start, "rel.safetensors")
        before = tensors(model)
        proc = nptest.run(["train", "--resume", os.path.join("..", "..", "start", "rel.ckpt"), "--steps", "3"],
                          cwd=other)
        self.assertIn(model, proc.stdout)
        self.assertEqual(ex.read_safetensors(os.path.join(start, "rel.ckpt"))[1]["train.step"], "3")
        self.assertFalse(all(np.array_equal(before[n], tensors(model)[n]) for n in before), "the model is as it was")
        self.assertEqual(os.listdir(other), [])

    def test_unwritable_outputs_fail_before_training(self):
        missing = os.path.join(self.dir, "no-such-folder", "m.safetensors")
        blocked = os.path.join(self.dir, "blocked")
        os.makedirs(os.path.join(blocked, "m.samples.png"))      # a folder where a file goes
        for out, message in ((missing, missing), (os.path.join(blocked, "m.safetensors"), "m.samples.png")):
            proc = nptest.run(["train", self.dataset, "-o", out, "--steps", "100000"] + TINY, check=False)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn(message, proc.stderr)
            self.assertEqual(proc.stdout, "", "it trained before failing")
        self.assertFalse(os.path.exists(os.path.dirname(missing)))
        self.assertEqual(os.listdir(blocked), ["m.samples.png"])

    def fails(self, args, message, code=2):
        """One line naming the problem (and GOption's "Try --help")."""
        proc = nptest.run(args, check=False)
        self.assertEqual(proc.returncode, code, proc.stderr)
        self.assertIn(message, proc.stderr)
        lines = [l for l in proc.stderr.splitlines() if not l.startswith("Try ")]
        self.assertEqual(len(lines), 1, proc.stderr)

    def test_colourfulness_term_and_a_second_stage(self):
        """--init starts from a trained model and --colour-weight adds the
        colourfulness term: both are in the model's command, which makes the
        same bits again, and a resumed second stage equals one never
        stopped. The history and the progress report colourfulness."""
        first, _ = self.train("stage1", "--target", "chroma", "--gan-weight", "0", "--steps", "3")
        args = ["--target", "chroma", "--gan-weight", "0", "--init", first, "--colour-weight", "0.5"]
        whole, proc = self.train("stage2", *args, "--steps", "6")
        self.assertRegex(proc.stdout, r"colourfulness \d+\.\d of the photos' \d+\.\d")
        meta = ex.read_safetensors(whole)[1]
        self.assertIn(" --colour-weight 0.5 --init " + first, meta["trained_with"])
        with open(os.path.join(self.dir, "stage2.history.csv")) as f:
            rows = [line.rstrip("\n").split(",") for line in f]
        self.assertEqual(rows[0][-2:], ["g_colour", "val_colourfulness"])
        self.assertTrue(all(float(r[8]) > 0 for r in rows[1:]), rows)
        self.assertGreater(float(rows[-1][9]), 0)
        # Started from the first stage, not from random weights: the first
        # step's L1 is the first stage's last one's, near enough, and far
        # below a random start's.
        with open(os.path.join(self.dir, "stage1.history.csv")) as f:
            stage1 = [line.split(",") for line in f][1:]
        self.assertLess(float(rows[1][5]), 1.5 * float(stage1[-1][5]))
        part, _ = self.train("stage2-part", *args, "--steps", "3")
        command = meta["trained_with"].split()
        again = os.path.join(self.dir, "stage2-again.safetensors")
        command[command.index("-o") + 1] = again
        nptest.run(command[1:])
        # Each stage's model says every command before its own, oldest
        # first: a resumed run from its checkpoint, though --init's file has
        # changed since.
        stage1 = ex.read_safetensors(first)[1]["trained_with"]
        self.assertNotIn("trained_from", ex.read_safetensors(first)[1])
        self.assertEqual(meta["trained_from"], stage1)
        shutil.copy(whole, first)
        nptest.run(["train", "--resume", os.path.join(self.dir, "stage2-part.ckpt"), "--steps", "6"])
        a = tensors(whole)
        for other in (part, again):
            b = tensors(other)
            for name in a:
                np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        self.assertEqual(ex.read_safetensors(part)[1]["trained_from"], stage1)
        third, _ = self.train("stage3", "--target", "chroma", "--gan-weight", "0", "--init", whole, "--steps", "1")
        self.assertEqual(ex.read_safetensors(third)[1]["trained_from"], stage1 + "\n" + meta["trained_with"])
        shown = nptest.run(["info", third]).stdout
        self.assertIn("    trained_from = %s\n      %s\n" % (stage1, meta["trained_with"]), shown)
        out = os.path.join(self.dir, "bad-stage.safetensors")
        self.fails(["train", self.dataset, "-o", out, "--init", first, "--ngf", "8", "--target", "chroma",
                    "--gan-weight", "0"], "another network", 1)
        self.fails(["train", self.dataset, "-o", out, "--init", os.path.join(self.dir, "nothing.safetensors")],
                   "nothing.safetensors")
        self.fails(["train", "--resume", os.path.join(self.dir, "stage2-part.ckpt"), "--init", first],
                   "--init starts a run", 1)
        self.fails(["train", self.dataset, "-o", out, "--input", "lowres", "--colour-weight", "1"],
                   "colourfulness term needs", 1)
        self.fails(["train", self.dataset, "-o", out, "--colour-weight", "-1"], "--colour-weight", 1)
        self.assertFalse(os.path.exists(out))

    def chroma_bins_oracle(self):
        """The bins and rebalancing weights of the dataset's training split,
        from docs/models.md's definition (Zhang et al. 2016, eq. 3-4), in
        NumPy: the grid points (16 apart on 0–255) nearest each pixel's
        BT.601 chroma, p̃ their shares smoothed by a Gaussian of σ 8 over the
        bins, w ∝ 1 / (½·p̃ + ½/K) with Σ p̃·w = 1."""
        with open(os.path.join(self.dataset, "manifest.jsonl")) as f:
            import json
            items = [json.loads(line) for line in f]
        colour = np.load(os.path.join(self.dataset, "color.npy"))
        train = [i for i, it in enumerate(items) if it["split"] == "train" and not it["gray"]]
        x = colour[train].reshape(-1, 3).astype(np.float32) / np.float32(255)
        y = np.float32(0.299) * x[:, 0] + np.float32(0.587) * x[:, 1] + np.float32(0.114) * x[:, 2]
        cb = (x[:, 2] - y) * np.float32(0.5 / (1 - 0.114)) * 2 * np.float32(127.5)
        cr = (x[:, 0] - y) * np.float32(0.5 / (1 - 0.299)) * 2 * np.float32(127.5)
        points, counts = np.unique(np.stack([np.rint(cb / 16), np.rint(cr / 16)], 1).astype(int) * 16, axis=0,
                                   return_counts=True)
        p = counts / counts.sum()
        d2 = ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)
        smooth = (np.exp(-d2 / (2 * 8.0 ** 2)) * p[None, :]).sum(1)
        smooth /= smooth.sum()
        w = 1 / (0.5 * smooth + 0.5 / len(points))
        return points, w / (smooth * w).sum()

    def test_chroma_bins(self):
        """--target chroma-bins: the model carries the training photos' bins
        and weights (as NumPy finds them), one logit a bin from a half-size
        head; threads and a resume change no bit; it colours through
        neuropaint:colorize; what it cannot take is refused."""
        once, proc = self.train("bins1", "--target", "chroma-bins", "--steps", "4", "--threads", "1")
        self.assertIn("gray → chroma-bins", proc.stdout)
        meta = ex.read_safetensors(once)[1]
        self.assertEqual(meta["target"], "chroma-ycbcr-bins")
        self.assertIn(" --loss cross-entropy ", meta["trained_with"])
        centres = [[int(v) for v in pair.split(":")] for pair in meta["chroma_bins"].split(",")]
        weights = [float(v) for v in meta["chroma_bin_weights"].split(",")]
        points, want = self.chroma_bins_oracle()
        self.assertGreater(len(points), 3)
        self.assertEqual(centres, points.tolist())
        np.testing.assert_allclose(weights, want, rtol=1e-5)
        self.assertTrue(meta["graph"].endswith("conv name=out out=%d k=1\n" % len(points)), meta["graph"])
        twice, _ = self.train("bins2", "--target", "chroma-bins", "--steps", "4", "--threads", "2")
        part, _ = self.train("bins3", "--target", "chroma-bins", "--steps", "2")
        nptest.run(["train", "--resume", os.path.join(self.dir, "bins3.ckpt"), "--steps", "4"])
        a = ex.read_safetensors(once)
        for other in (twice, part):
            b = ex.read_safetensors(other)
            self.assertEqual(a[1]["chroma_bin_weights"], b[1]["chroma_bin_weights"])
            for name in a[0]:
                np.testing.assert_array_equal(a[0][name], b[0][name], err_msg=name)
        self.assertEqual(history(os.path.join(self.dir, "bins1.history.csv")),
                         history(os.path.join(self.dir, "bins3.history.csv")))
        # The model colours a photo, the same bytes on any threads.
        outs = []
        for threads in ("1", "3"):
            out = os.path.join(self.dir, "bins-colour-%s" % threads)
            nptest.run(["run", "--threads", threads, "-o", out, self.photos[0], "--", "neuropaint:colorize",
                        "model=" + once])
            outs.append(read(os.path.join(out, os.path.splitext(os.path.basename(self.photos[0]))[0] + ".png")))
        self.assertEqual(outs[0], outs[1])
        # A second stage starts from a model of the same bins only.
        self.train("bins-stage2", "--target", "chroma-bins", "--steps", "2", "--init", once)
        # A chroma model's trunk under a new head: every weight but the
        # last layer's as the chroma model left it (a step of 10⁻⁹ moves
        # none by more; the step's batches move batch norm's statistics),
        # the head random; a model of another trunk is refused.
        l1, _ = self.train("bins-trunk-l1", "--target", "chroma", "--gan-weight", "0", "--steps", "2")
        headed, proc = self.train("bins-trunk", "--target", "chroma-bins", "--steps", "1", "--lr", "1e-9",
                                  "--init", l1)
        self.assertIn("every layer but the last (out), which starts random", proc.stderr)
        trunk, new = tensors(l1), tensors(headed)
        self.assertNotEqual(trunk["out.weight"].shape, new["out.weight"].shape)
        shared = [name for name in trunk if not name.startswith("out.") and ".running_" not in name]
        self.assertGreater(len(shared), 10)
        for name in shared:
            np.testing.assert_allclose(new[name], trunk[name], atol=1e-6, err_msg=name)
        self.fails(["train", self.dataset, "-o", os.path.join(self.dir, "bad-trunk.safetensors"), "--target",
                    "chroma-bins", "--init", l1] + TINY + ["--ngf", "8"], "beyond its last layer", 1)
        # A hint model from it: the first layer reads the gray channel with
        # the chroma model's weights and the hint channels with zeros.
        hinted, proc = self.train("hints-from-l1", "--input", "gray-hints", "--target", "chroma", "--gan-weight",
                                  "0", "--steps", "1", "--lr", "1e-9", "--init", l1)
        self.assertIn("e1.weight reads the new input channels with zero weights", proc.stderr)
        w, w0 = tensors(hinted)["e1.weight"], trunk["e1.weight"]
        self.assertEqual(w.shape[1], 4)
        np.testing.assert_allclose(w[:, :1], w0, atol=1e-6)
        np.testing.assert_allclose(w[:, 1:], 0, atol=1e-6)
        moved = os.path.join(self.dir, "bins-moved.safetensors")
        nptest.model_with_metadata(once, moved, chroma_bins=",".join(
            "%d:%d" % (cb, cr - 16 if cr > -128 else cr + 16) for cb, cr in centres))
        out = os.path.join(self.dir, "bad-bins.safetensors")
        self.fails(["train", self.dataset, "-o", out, "--target", "chroma-bins", "--init", moved] + TINY,
                   "its chroma bins are not this dataset's", 1)
        self.fails(["train", self.dataset, "-o", out, "--target", "chroma-bins", "--gan-weight", "1"],
                   "cross-entropy alone", 1)
        self.fails(["train", self.dataset, "-o", out, "--target", "chroma-bins", "--loss", "l1"],
                   "chroma-bins target's loss", 1)
        self.fails(["train", self.dataset, "-o", out, "--target", "chroma", "--loss", "cross-entropy"],
                   "chroma-bins target's loss", 1)
        self.fails(["train", self.dataset, "-o", out, "--target", "chroma-bins", "--colour-weight", "1"],
                   "colourfulness term needs", 1)
        self.fails(["train", self.dataset, "-o", out, "--target", "chroma-bins", "--input", "binary"],
                   "needs the gray or gray-hints input")
        self.fails(["train", self.dataset, "-o", out, "--target", "chroma-bins", "--arch", "sr"],
                   "needs --arch unet")
        # The dream experiment's picture from a latent vector has no
        # luminance to put chroma on, and its D nothing to judge.
        self.fails(["train", self.dataset, "-o", out, "--target", "chroma-bins", "--input", "dream"],
                   "needs the gray or gray-hints input")
        self.fails(["train", self.dataset, "-o", out, "--target", "chroma-bins", "--arch", "dream"],
                   "--arch dream gives pictures, not class logits")
        self.fails(["train", self.dataset, "-o", out, "--target", "chroma-bins", "--augment", "diff"],
                   "--augment diff: a chroma-bins target learns by cross-entropy alone", 1)
        self.fails(["train", self.dataset, "-o", out, "--target", "chroma-bins", "--d-norm", "spectral"],
                   "--d-norm spectral: a chroma-bins target learns by cross-entropy alone", 1)
        self.assertFalse(os.path.exists(out))

    def test_bad_input(self):
        out = os.path.join(self.dir, "bad.safetensors")
        empty = os.path.join(self.dir, "empty")
        os.makedirs(empty, exist_ok=True)
        self.fails(["train", empty, "-o", out], "dataset.json")
        broken = os.path.join(self.dir, "broken")
        shutil.copytree(self.dataset, broken)
        with open(os.path.join(broken, "manifest.jsonl"), "w") as f:
            f.write("{not json\n")
        self.fails(["train", broken, "-o", out], "manifest")
        os.remove(os.path.join(broken, "manifest.jsonl"))
        self.fails(["train", broken, "-o", out], "manifest")
        for args, message in ((["--batch", "0"], "--batch"), (["--batch", "100000"], "--batch"),
                              (["--ngf", "0"], "--ngf"), (["--ngf", "100000"], "--ngf"),
                              (["--input", "sepia"], "--input"), (["--target", "chroma", "--input", "canny"], "chroma"),
                              (["--target", "residual"], "lowres"), (["--target", "sepia"], "--target"),
                              (["--steps", "-5"], "--steps"), (["--dtype", "f8"], "--dtype"),
                              (["--arch", "vgg"], "--arch"), (["--arch", "sr"], "--arch sr makes pictures 2×")):
            self.fails(["train", self.dataset, "-o", out] + args, message, 1 if "--" in message else 2)
        self.assertFalse(os.path.exists(out))
        # A checkpoint resumes only its own architecture.
        self.train("arch", "--steps", "1")
        self.fails(["train", "--resume", os.path.join(self.dir, "arch.ckpt"), "--ngf", "8"], "other options", 1)
        self.fails(["train", "--resume", os.path.join(self.dir, "arch.ckpt"), "--arch", "sr"], "other options", 1)
        self.fails(["train", "--resume", os.path.join(self.dir, "arch.safetensors")], "not a neuropaint training")

    def test_full_disk_keeps_the_previous_files(self):
        if os.geteuid() != 0 or shutil.which("mount") is None:
            self.skipTest("mounting a small tmpfs needs root")
        disk = os.path.join(self.dir, "disk")
        os.makedirs(disk)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", disk]).returncode != 0:
            self.skipTest("cannot mount a tmpfs here")
        try:
            out = os.path.join(disk, "full.safetensors")
            nptest.run(["train", self.dataset, "-o", out, "--steps", "2"] + TINY)
            before = {f: read(os.path.join(disk, f)) for f in os.listdir(disk)}
            # Fill the disk so the next checkpoint cannot be written.
            with open(os.path.join(disk, "filler"), "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                except OSError:
                    pass
            proc = nptest.run(["train", "--resume", os.path.join(disk, "full.ckpt"), "--steps", "4"], check=False)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn(disk, proc.stderr)
            after = {f: read(os.path.join(disk, f)) for f in os.listdir(disk) if f != "filler"}
            self.assertEqual(sorted(after), sorted(before))
            for name, data in before.items():
                self.assertEqual(after[name], data, name)
        finally:
            subprocess.run(["umount", disk])


if __name__ == "__main__":
    nptest.main()
