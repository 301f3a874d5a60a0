"""Data-parallel training over MPI (mpirun -np 2 neuropaint train) and
gradient accumulation, on a tiny dataset:

- 2 ranks × a batch of 4 equal 1 process with --accumulate 2 (2
  micro-batches of 2... of the same batch): the same losses and the same
  weights, running statistics and Adam moments; within 1e-5 relative, and
  in fact bit for bit (the gradients are summed in one fixed tree);
- a run resumed under MPI, or resumed by one process, goes on as it was;
- Ctrl-C (SIGINT) to mpirun leaves a checkpoint that resumes, and no
  temporary file;
- a batch that does not split into the ranks' micro-batches is a usage error;
- a warning is printed once, not once per rank;
- the command does not link libmpi (issue 21.13): MPI is a module loaded
  under an MPI launcher only, and a module that does not load is one clear
  error.

Skips where neuropaint was built without MPI or mpirun is missing."""
import json
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

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(nptest.SOURCE_ROOT, "tools"))
import export_torch as ex  # noqa: E402

TINY = ["--ngf", "4", "--batch", "4", "--validate-every", "3", "--threads", "1", "--samples", "2"]
TOL = 1e-5


def mpirun(np_, args, **kwargs):
    # As root (CI, containers), OpenMPI wants to be told; two ranks on any
    # number of cores.
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    return ["mpirun", "-np", str(np_), nptest.NEUROPAINT] + list(args), env


def history(path):
    with open(path) as f:
        rows = [line.rstrip("\n").split(",") for line in f]
    return np.array([[float(x) for x in r[2:6]] for r in rows[1:]])


def close(a, b, what):
    scale = max(float(np.abs(b).max()), 1e-12)
    err = float(np.abs(a - b).max()) / scale
    assert err <= TOL, "%s: relative error %.3g" % (what, err)
    return err


class Mpi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.environ.get("NP_HAVE_MPI") != "1":
            print("skipping: neuropaint was built without MPI (install libopenmpi-dev, meson setup -Dmpi=enabled)")
            sys.exit(nptest.SKIP)
        if shutil.which("mpirun") is None:
            print("skipping: no mpirun (apt-get install openmpi-bin)")
            sys.exit(nptest.SKIP)
        cls.dir = tempfile.mkdtemp(prefix="np-mpi-")
        faces = os.path.join(nptest.SHARED_DATA, "faces", "london-neutral")
        if os.path.isdir(faces):
            photos = sorted(os.path.join(faces, f) for f in os.listdir(faces))[:6]
        else:
            print("../shared/data is absent: a dataset of Debian's sample photos instead")
            photos = nptest.debian_photos()
        val = os.path.join(cls.dir, "val.txt")
        with open(val, "w") as f:
            f.write(os.path.basename(photos[0]) + "\n")
        cls.dataset = os.path.join(cls.dir, "ds")
        nptest.run(["prepare", "-o", cls.dataset, "--size", "64x64", "--val-list", val] + photos)

    def out(self, name):
        return os.path.join(self.dir, name + ".safetensors")

    def train(self, name, *args):
        return nptest.run(["train", self.dataset, "-o", self.out(name)] + TINY + list(args))

    def train_mpi(self, name, *args, ranks=2, check=True, resume=None):
        args = (["train", "--resume", resume] if resume else ["train", self.dataset, "-o", self.out(name)] + TINY) \
            + list(args)
        cmd, env = mpirun(ranks, args)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if check:
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return proc

    def same_run(self, a, b):
        """Losses, then every tensor of the checkpoints."""
        ha, hb = history(os.path.join(self.dir, a + ".history.csv")), history(os.path.join(self.dir, b + ".history.csv"))
        self.assertEqual(ha.shape, hb.shape)
        close(ha, hb, "losses")
        ta, tb = ex.read_safetensors(os.path.join(self.dir, a + ".ckpt"))[0], \
            ex.read_safetensors(os.path.join(self.dir, b + ".ckpt"))[0]
        self.assertEqual(sorted(ta), sorted(tb))
        for name in ta:
            close(ta[name], tb[name], name)
        identical = all(np.array_equal(ta[n], tb[n]) for n in ta) and np.array_equal(ha, hb)
        print("  %s and %s: within %g, %s" % (a, b, TOL, "bit for bit" if identical else "NOT bit for bit"))
        # The sums run in one tree whatever the ranks: the same bits.
        self.assertTrue(identical)

    def test_two_ranks_equal_two_micro_batches(self):
        self.train("accumulate", "--steps", "6", "--accumulate", "2")
        proc = self.train_mpi("ranks", "--steps", "6")
        self.assertIn("2 processes", proc.stdout)
        self.same_run("accumulate", "ranks")
        # Two micro-batches are not the whole batch: batch norm sees 2, not 4.
        self.train("whole", "--steps", "6")
        self.assertFalse(np.array_equal(history(os.path.join(self.dir, "whole.history.csv")),
                                        history(os.path.join(self.dir, "ranks.history.csv"))))

    def test_resume_under_mpi(self):
        self.train("straight", "--steps", "6", "--accumulate", "2")
        self.train_mpi("stopped", "--steps", "3")
        self.train_mpi(None, "--steps", "6", resume=os.path.join(self.dir, "stopped.ckpt"))
        self.same_run("straight", "stopped")
        # One process resumes a run of two ranks with its two micro-batches.
        self.train_mpi("halfway", "--steps", "3")
        nptest.run(["train", "--resume", os.path.join(self.dir, "halfway.ckpt"), "--steps", "6"])
        self.same_run("straight", "halfway")

    def test_sigint_to_mpirun_checkpoints(self):
        cmd, env = mpirun(2, ["train", self.dataset, "-o", self.out("interrupted"), "--steps", "100000"] + TINY)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while not os.path.exists(os.path.join(self.dir, "interrupted.history.png")) and time.time() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        self.assertNotEqual(proc.returncode, 0)
        ckpt = os.path.join(self.dir, "interrupted.ckpt")
        self.assertIn("--resume " + ckpt, err)
        self.assertEqual([f for f in os.listdir(self.dir) if f.startswith(".np-")], [])
        steps = int(ex.read_safetensors(ckpt)[1]["train.step"])
        self.assertGreaterEqual(steps, 3)
        self.train_mpi(None, "--steps", str(steps + 2), resume=ckpt)
        self.assertEqual(ex.read_safetensors(ckpt)[1]["train.step"], str(steps + 2))

    def test_a_warning_once(self):
        no_val = os.path.join(self.dir, "no-val")
        if not os.path.exists(no_val):
            with open(os.path.join(self.dir, "ds", "manifest.jsonl")) as f:
                sources = [json.loads(line)["source"] for line in f][:3]
            nptest.run(["prepare", "-o", no_val, "--size", "64x64"] + sources)
        cmd, env = mpirun(2, ["train", no_val, "-o", self.out("warned"), "--steps", "1"] + TINY)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr.count("no validation scores"), 1, proc.stderr)

    def test_the_command_does_not_link_mpi(self):
        if shutil.which("ldd") is None:
            self.skipTest("no ldd")
        libs = subprocess.run(["ldd", nptest.NEUROPAINT], capture_output=True, text=True, check=True).stdout
        self.assertNotIn("libmpi", libs)
        module = os.path.join(os.path.dirname(nptest.NEUROPAINT), "neuropaint-mpi.so")
        self.assertIn("libmpi", subprocess.run(["ldd", module], capture_output=True, text=True, check=True).stdout)
        # A copy of the command elsewhere, with no module beside it nor installed: one clear error.
        if os.path.exists(os.environ.get("NP_MPI_MODULE", "/")):
            self.skipTest("the installed MPI module (meson install) would be found")
        alone = os.path.join(self.dir, "alone")
        os.makedirs(alone, exist_ok=True)
        shutil.copy(nptest.NEUROPAINT, alone)
        out = self.out("no-module")
        proc = subprocess.run([os.path.join(alone, "neuropaint"), "train", self.dataset, "-o", out] + TINY,
                              capture_output=True, text=True, env=dict(os.environ, OMPI_COMM_WORLD_SIZE="2"))
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
        self.assertIn("neuropaint-mpi.so does not load", proc.stderr)
        self.assertFalse(os.path.exists(out))

    def test_batch_must_split(self):
        proc = self.train_mpi("odd", "--steps", "1", "--batch", "6", "--accumulate", "2", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("micro-batches of equal size", proc.stderr)
        self.assertFalse(os.path.exists(self.out("odd")))


if __name__ == "__main__":
    nptest.main()
