"""A batch on real engines (docs/scale-out.md): a Slurm job array and GNU
parallel, each running `neuropaint crop` in 4 shards over 12 photos.

Slurm: a single-node cluster on this machine (munged, slurmctld and slurmd
of Debian's slurm-wlm, a minimal slurm.conf on localhost, all in a temporary
folder), then:
1. sbatch --array=0-3 of a script that runs crop with --skip-existing (the
   shard comes from SLURM_ARRAY_TASK_ID and friends) and waits;
2. neuropaint merge: every crop exists exactly once and equals a one-process
   run, and so does the merged manifest;
3. the same again, but task 2 is cancelled (scancel: SIGTERM) once it has
   cropped a photo: its part is missing, no temporary file is left; the task
   is requeued (scontrol requeue: the same array variables) and, with
   --skip-existing, does only what was missing; merge, check again.
4. the documented prepare array and its merge (`--dependency=afterany`)
   over photos of which one is unreadable: that task exits 2, the merge job
   still runs, writes the dataset, names the photo and exits 2 (issue 21.9);
5. `srun -n 2 neuropaint train` without an MPI plugin refuses in both
   tasks, naming `srun --mpi=pmix`, and writes nothing; with
   `--mpi=pmix` the two tasks train as two ranks (issue 21.8);
6. a training job (of a 2-task allocation, which must not be taken for 2
   processes) started with relative paths in one folder is resumed by a job
   started in another (issue 21.10);
7. docs/scale-out.md's requeueing training script, given USR1 (what
   --signal sends): the run checkpoints, exits 75, the script requeues the
   job, and the job run again resumes and finishes (issue 21.12).
GNU parallel: the same, with `parallel … --shard {}/4 ::: 0 1 2 3`, the
shard-2 process stopped with SIGTERM midway, and the same command run again.

Each engine skips with the reason where it cannot run here (not root, a
package missing, a daemon that does not start: its log's last lines)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nptest  # noqa: E402

SHARDS = 4
# A finer pyramid than the seed's 1.2 makes each photo take long enough to
# stop a task between two of them.
CROP = ["crop", "--size", "64x80", "--threads", "1", "--scale-factor", "1.05", "--skip-existing"]
BATCH_VARS = ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_STEP",
              "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX", "NEUROPAINT_SHARDS")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env():
    return {k: v for k, v in os.environ.items() if k not in BATCH_VARS}


class Engine:
    """What both engines' tests share: the photos, the one-process run and
    the checks."""

    shared = None   # (folder, photos, one-process output): made once for both engines

    @classmethod
    def make_photos(cls):
        if Engine.shared is None:
            top = tempfile.mkdtemp(prefix="np-cluster-")
            faces = os.path.join(nptest.SHARED_DATA, "faces", "london-neutral")
            sources = sorted(os.path.join(faces, f) for f in os.listdir(faces))[:12] if os.path.isdir(faces) \
                else nptest.debian_photos()
            if not sources:
                raise unittest.SkipTest("no photos: provide ../shared/data or install python3-skimage")
            # Copies (not links: the same file twice is one input).
            photos = os.path.join(top, "photos")
            os.makedirs(photos)
            for i in range(12):
                src = sources[i % len(sources)]
                shutil.copy(src, os.path.join(photos, "p%02d%s" % (i, os.path.splitext(src)[1])))
            one = os.path.join(top, "one")
            nptest.run(CROP + ["-o", one, photos], env=clean_env())
            Engine.shared = (top, photos, one)
        top, cls.photos, cls.one = Engine.shared
        cls.dir = tempfile.mkdtemp(prefix=cls.__name__.lower() + "-", dir=top)

    def check_against_one_process(self, out):
        nptest.run(["merge", out], env=clean_env())
        names = sorted(os.listdir(out))
        parts = ["manifest.part-%d-of-%d.json" % (i, SHARDS) for i in range(SHARDS)]
        self.assertEqual(names, sorted(os.listdir(self.one) + parts), "every output once, nothing else")
        for name in os.listdir(self.one):
            self.assertEqual(read(os.path.join(out, name)), read(os.path.join(self.one, name)), name)

    def shard_files(self, shard):
        """The crops shard `shard` writes (item k of the sorted list → k mod N)."""
        photos = sorted(os.listdir(self.photos))
        return [os.path.splitext(p)[0] + ".png" for p in photos[shard::SHARDS]]

    def wait_midway(self, out, shard, timeout=300):
        """Until shard has cropped a photo (its journal has a line)."""
        journal = os.path.join(out, "manifest.part-%d-of-%d.json.partial" % (shard, SHARDS))
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(journal) and read(journal).count(b"\n") >= 1:
                return
            time.sleep(0.05)
        self.fail("shard %d cropped nothing in %d s" % (shard, timeout))

    def check_stopped_midway(self, out, shard):
        part = os.path.join(out, "manifest.part-%d-of-%d.json" % (shard, SHARDS))
        self.assertFalse(os.path.exists(part), "the stopped shard finished before it was stopped")
        self.assertTrue(os.path.exists(part + ".partial"))
        done = [f for f in self.shard_files(shard) if os.path.exists(os.path.join(out, f))]
        self.assertGreaterEqual(len(done), 1)
        self.assertLess(len(done), len(self.shard_files(shard)))
        self.assertEqual([f for f in os.listdir(out) if f.startswith(".np-")], [], "temporary files left")
        entries = [json.loads(line) for line in read(part + ".partial").decode().splitlines() if line]
        print("  shard %d stopped after %d of %d photos" % (shard, len(entries), len(self.shard_files(shard))))
        return {f: os.stat(os.path.join(out, f)).st_mtime_ns for f in done}

    def check_not_redone(self, out, before):
        for name, mtime in before.items():
            self.assertEqual(os.stat(os.path.join(out, name)).st_mtime_ns, mtime, name + " was done again")


class Slurm(Engine, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tools = ["munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol", "sinfo"]
        missing = [t for t in tools if shutil.which(t) is None]
        if missing:
            raise unittest.SkipTest("Slurm: %s missing (apt-get install slurmctld slurmd slurm-client munge)"
                                    % ", ".join(missing))
        if os.geteuid() != 0:
            raise unittest.SkipTest("Slurm: slurmd must run as root to start jobs")
        cls.make_photos()
        cls.daemons = []
        cls.start_cluster()

    @classmethod
    def start_cluster(cls):
        d = os.path.join(cls.dir, "slurm")
        for sub in ("state", "spool"):
            os.makedirs(os.path.join(d, sub))
        key, sock = os.path.join(d, "munge.key"), os.path.join(d, "munge.sock")
        subprocess.run(["mungekey", "-c", "-k", key], check=True, capture_output=True)
        os.chmod(key, 0o600)
        conf = os.path.join(d, "slurm.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "ClusterName=nptest", "SlurmctldHost=localhost",
                "SlurmctldPort=%d" % free_port(), "SlurmdPort=%d" % free_port(),
                "AuthType=auth/munge", "CredType=cred/munge", "AuthInfo=socket=" + sock,
                "SlurmUser=root", "SlurmdUser=root",
                "StateSaveLocation=%s/state" % d, "SlurmdSpoolDir=%s/spool" % d,
                "SlurmctldPidFile=%s/slurmctld.pid" % d, "SlurmdPidFile=%s/slurmd.pid" % d,
                "SlurmctldLogFile=%s/slurmctld.log" % d, "SlurmdLogFile=%s/slurmd.log" % d,
                # No cgroups: processes tracked by their parents, no task binding.
                "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
                "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none",
                "SchedulerType=sched/builtin", "SelectType=select/cons_tres", "SelectTypeParameters=CR_CPU",
                "ReturnToService=2", "MpiDefault=none", "PlugStackConfig=%s/plugstack.conf" % d,
                "NodeName=localhost NodeHostname=%s NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN" % socket.gethostname(),
                "PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP", ""]))
        open(os.path.join(d, "plugstack.conf"), "w").close()
        os.environ["SLURM_CONF"] = conf
        cls.log = {name: os.path.join(d, name + ".log") for name in ("munged", "slurmctld", "slurmd")}
        for cmd in (["munged", "-F", "-f", "--key-file=" + key, "--socket=" + sock, "--pid-file=%s/munged.pid" % d,
                     "--log-file=" + cls.log["munged"], "--seed-file=%s/munged.seed" % d],
                    ["slurmctld", "-D", "-f", conf],
                    ["slurmd", "-D", "-f", conf, "-N", "localhost"]):
            cls.daemons.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
            time.sleep(1)
        deadline = time.time() + 60
        while time.time() < deadline:
            for proc in cls.daemons:
                if proc.poll() is not None:
                    cls.stop_cluster("%s exited: %s%s" % (proc.args[0], proc.stderr.read().strip(),
                                                          cls.log_tail(proc.args[0])))
            out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.strip()
            if out == "idle":
                return
            time.sleep(0.5)
        cls.stop_cluster("the node is not idle after 60 s:%s" % cls.log_tail("slurmd"))

    @classmethod
    def log_tail(cls, daemon):
        path = cls.log.get(daemon)
        if path and os.path.exists(path):
            return "\n" + "\n".join(read(path).decode(errors="replace").splitlines()[-5:])
        return ""

    @classmethod
    def stop_cluster(cls, reason=None):
        for proc in reversed(cls.daemons):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        cls.daemons = []
        if reason:
            raise unittest.SkipTest("Slurm cannot run here: " + reason)

    @classmethod
    def tearDownClass(cls):
        cls.stop_cluster()
        os.environ.pop("SLURM_CONF", None)

    def submit(self, out):
        script = os.path.join(self.dir, "crop-array.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\n# One shard of the batch: Slurm's array variables say which.\n"
                    "exec %s %s -o %s %s\n" % (nptest.NEUROPAINT, " ".join(CROP), out, self.photos))
        proc = subprocess.run(["sbatch", "--parsable", "--array=0-%d" % (SHARDS - 1), "--cpus-per-task=1",
                               "-o", os.path.join(self.dir, "slurm-%A_%a.out"), "-D", self.dir, script],
                              capture_output=True, text=True, env=clean_env())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.strip().split(";")[0]

    def wait(self, job, timeout=600):
        deadline = time.time() + timeout
        while time.time() < deadline:
            proc = subprocess.run(["squeue", "-h", "-j", job, "-o", "%i %T"], capture_output=True, text=True)
            if proc.returncode == 0 and not proc.stdout.strip():
                return
            time.sleep(0.5)
        subprocess.run(["scancel", job])
        self.fail("job %s still running after %d s" % (job, timeout))

    def test_array(self):
        out = os.path.join(self.dir, "array")
        job = self.submit(out)
        self.wait(job)
        self.check_against_one_process(out)

    def test_array_with_a_task_cancelled_midway(self):
        out = os.path.join(self.dir, "cancelled")
        job = self.submit(out)
        self.wait_midway(out, 2)
        subprocess.run(["scancel", "%s_2" % job], check=True)
        self.wait(job)
        before = self.check_stopped_midway(out, 2)
        # slurmd compares a credential's time with its revocation's in whole
        # seconds: a task started again within the second it was cancelled
        # is killed at once ("Job credential revoked").
        time.sleep(2)
        # The task again, with its array variables: --skip-existing finishes it.
        for cmd in (["scontrol", "requeue", "%s_2" % job],
                    # A requeued job waits minutes before it may start again.
                    ["scontrol", "update", "JobId=%s_2" % job, "StartTime=now"]):
            proc = subprocess.run(cmd, capture_output=True, text=True)
            self.assertEqual(proc.returncode, 0, proc.stderr)
        self.wait(job)
        self.check_not_redone(out, before)
        self.check_against_one_process(out)

    # -- the recipes of docs/scale-out.md beyond crop ------------------------------------

    def sbatch(self, command, cwd, *options):
        """A job running command (a shell line) in cwd; its log in self.dir."""
        proc = subprocess.run(["sbatch", "--parsable", "-D", cwd, "-o", os.path.join(self.dir, "slurm-%A_%a.out")]
                              + list(options) + ["--wrap", command], capture_output=True, text=True, env=clean_env())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.strip().split(";")[0]

    def job_log(self, job):
        return "".join(read(os.path.join(self.dir, f)).decode(errors="replace")
                       for f in sorted(os.listdir(self.dir)) if f.startswith("slurm-%s_" % job))

    def dataset(self):
        """A small dataset of four photos, made once."""
        ds = os.path.join(self.dir, "train.dataset")
        if not os.path.exists(ds):
            photos = sorted(os.path.join(self.photos, f) for f in os.listdir(self.photos))[:4]
            nptest.run(["prepare", "-o", ds, "--size", "64x64"] + photos, env=clean_env())
        return ds

    TRAIN = ["--ngf", "4", "--batch", "2", "--threads", "1", "--samples", "2", "--validate-every", "1"]

    def test_prepare_array_with_a_bad_photo_then_merge(self):
        photos = os.path.join(self.dir, "with-a-bad-one")
        os.makedirs(photos)
        for name in sorted(os.listdir(self.photos))[:4]:
            shutil.copy(os.path.join(self.photos, name), photos)
        bad = os.path.join(photos, "p01-bad.jpg")
        with open(bad, "wb") as f:
            f.write(b"not a photo\n")
        ds = os.path.join(self.dir, "faces.dataset")
        array = self.sbatch("exec %s prepare --skip-existing --size 64x64 -o %s %s" % (nptest.NEUROPAINT, ds, photos),
                            self.dir, "--array=0-1")
        status = os.path.join(self.dir, "merge-status")
        merge = self.sbatch("%s merge %s; echo $? > %s" % (nptest.NEUROPAINT, ds, status), self.dir,
                            "--dependency=afterany:%s" % array)
        self.wait(merge)
        self.assertTrue(os.path.exists(status), "the merge job never ran: " + self.job_log(merge))
        self.assertEqual(read(status).strip(), b"2")
        self.assertIn(bad, self.job_log(array))
        self.assertIn("without the 1 input its shards could not read", self.job_log(merge))
        self.assertIn(bad, self.job_log(merge))
        with open(os.path.join(ds, "dataset.json")) as f:
            info = json.load(f)
        self.assertEqual((info["count"], info["skipped"]), (4, [bad]))

    def test_srun_without_mpi_refuses(self):
        ds = self.dataset()
        out = os.path.join(self.dir, "srun-plain")
        os.makedirs(out)
        proc = subprocess.run(["srun", "-n", "2", nptest.NEUROPAINT, "train", ds, "-o",
                               os.path.join(out, "m.safetensors"), "--steps", "2"] + self.TRAIN,
                              capture_output=True, text=True, env=clean_env(), timeout=300)
        self.assertNotEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stderr.count("srun --mpi=pmix"), 2, proc.stderr)
        self.assertEqual(os.listdir(out), [])

    def test_srun_with_pmix_trains_as_two_ranks(self):
        if os.environ.get("NP_HAVE_MPI") != "1":
            self.skipTest("neuropaint was built without MPI")
        plugins = subprocess.run(["srun", "--mpi=list"], capture_output=True, text=True)
        if "pmix" not in plugins.stdout + plugins.stderr:
            self.skipTest("Slurm has no pmix plugin here")
        ds = self.dataset()
        out = os.path.join(self.dir, "srun-pmix")
        os.makedirs(out)
        proc = subprocess.run(["srun", "-n", "2", "--mpi=pmix", nptest.NEUROPAINT, "train", ds, "-o",
                               os.path.join(out, "m.safetensors"), "--steps", "2"] + self.TRAIN,
                              capture_output=True, text=True, env=clean_env(), timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("2 processes", proc.stdout)

    def test_resume_from_another_folder(self):
        ds = self.dataset()
        start, other = os.path.join(self.dir, "start"), os.path.join(self.dir, "elsewhere", "deeper")
        os.makedirs(start)
        os.makedirs(other)
        # An allocation of two tasks whose script trains once (as before
        # mpirun): SLURM_NTASKS=2 alone started no second process.
        self.wait(self.sbatch("exec %s train %s -o m.safetensors --steps 2 %s" % (
            nptest.NEUROPAINT, os.path.relpath(ds, start), " ".join(self.TRAIN)), start, "--ntasks=2"))
        ckpt = os.path.join(start, "m.ckpt")
        self.assertTrue(os.path.exists(ckpt), "the first job trained nothing")
        job = self.sbatch("exec %s train --resume ../../start/m.ckpt --steps 3" % nptest.NEUROPAINT, other)
        self.wait(job)
        self.assertIn(os.path.join(start, "m.safetensors") + ": 3 steps", self.job_log(job))
        sys.path.insert(0, os.path.join(nptest.SOURCE_ROOT, "tools"))
        import export_torch as ex
        self.assertEqual(ex.read_safetensors(ckpt)[1]["train.step"], "3")
        self.assertEqual(os.listdir(other), [])

    def test_usr1_checkpoints_and_the_job_requeues(self):
        ds = self.dataset()
        work = os.path.join(self.dir, "requeue")
        os.makedirs(work)
        ckpt, steps = os.path.join(work, "m.ckpt"), 100000
        script = os.path.join(work, "train.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\n"
                    'if [ -e "%s" ]; then set -- --resume "%s" --steps 40\n' % (ckpt, ckpt)
                    + "else set -- %s -o %s --steps %d %s; fi\n" % (ds, os.path.join(work, "m.safetensors"), steps,
                                                                     " ".join(self.TRAIN))
                    + "srun %s train \"$@\"\n" % nptest.NEUROPAINT
                    + "status=$?\n"
                    + 'echo "status $status" >> %s\n' % os.path.join(work, "statuses")
                    + '[ $status -eq 75 ] && scontrol requeue "$SLURM_JOB_ID"\n'
                    + "exit $status\n")
        proc = subprocess.run(["sbatch", "--parsable", "--requeue", "--open-mode=append", "-D", work,
                               "-o", os.path.join(self.dir, "slurm-%j_requeue.out"), script],
                              capture_output=True, text=True, env=clean_env())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        job = proc.stdout.strip().split(";")[0]
        deadline = time.time() + 120
        while not os.path.exists(os.path.join(work, "m.history.png")) and time.time() < deadline:
            time.sleep(0.2)
        subprocess.run(["scancel", "--signal=USR1", job], check=True)
        # Requeued: hurried past the wait Slurm gives a requeued job.
        deadline = time.time() + 120
        while time.time() < deadline:
            state = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True, text=True).stdout
            if os.path.exists(os.path.join(work, "statuses")) and state.strip() == "PENDING":
                subprocess.run(["scontrol", "update", "JobId=" + job, "StartTime=now"], check=True)
                break
            time.sleep(0.5)
        self.wait(job)
        log = self.job_log(job)
        self.assertEqual(read(os.path.join(work, "statuses")).decode().split("\n")[:2], ["status 75", "status 0"],
                         log)
        self.assertIn("stopped by a signal", log)
        sys.path.insert(0, os.path.join(nptest.SOURCE_ROOT, "tools"))
        import export_torch as ex
        # The stop comes a few steps after the first validation (step 1), far
        # below 40 even on a loaded machine, so the requeued job trains on.
        stopped = int(log.split("stopped by a signal at step ")[1].split(";")[0])
        self.assertLess(stopped, 40, log)
        self.assertEqual(ex.read_safetensors(ckpt)[1]["train.step"], "40")


class Parallel(Engine, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("parallel") is None:
            raise unittest.SkipTest("GNU parallel: not installed (apt-get install parallel)")
        cls.make_photos()

    def command(self, out):
        return ["parallel", "--will-cite", "-j", "2"] + [nptest.NEUROPAINT] + CROP + \
            ["--shard", "{}/%d" % SHARDS, "-o", out, self.photos, ":::"] + [str(i) for i in range(SHARDS)]

    def test_parallel(self):
        out = os.path.join(self.dir, "parallel")
        subprocess.run(self.command(out), check=True, capture_output=True, env=clean_env())
        self.check_against_one_process(out)

    def test_parallel_with_a_shard_stopped_midway(self):
        out = os.path.join(self.dir, "stopped")
        batch = subprocess.Popen(self.command(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 env=clean_env())
        self.wait_midway(out, 2)
        # That shard's process, by its id.
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                argv = read("/proc/%s/cmdline" % pid).split(b"\0")
            except OSError:
                continue
            if b"%d/%d" % (2, SHARDS) in argv and out.encode() in argv and argv[0].endswith(b"neuropaint"):
                os.kill(int(pid), signal.SIGTERM)
                break
        else:
            self.fail("shard 2's process not found")
        batch.wait(timeout=600)
        self.assertNotEqual(batch.returncode, 0)
        before = self.check_stopped_midway(out, 2)
        subprocess.run(self.command(out), check=True, capture_output=True, env=clean_env())
        self.check_not_redone(out, before)
        self.check_against_one_process(out)


def tearDownModule():
    if Engine.shared is not None:
        shutil.rmtree(Engine.shared[0], ignore_errors=True)


if __name__ == "__main__":
    nptest.main()
