"""Batches split over processes (docs/scale-out.md): --shard, the Slurm and
Kubernetes variables, --files-from, --skip-existing, manifest and dataset
parts and neuropaint merge.

- item k of the sorted input list goes to shard k mod N, whatever order the
  inputs were given in, and the shards' outputs are those of one process,
  each written by exactly one shard;
- SLURM_ARRAY_TASK_ID/_MIN/_STEP/_COUNT (an array not starting at 0, with a
  step) and JOB_COMPLETION_INDEX + NEUROPAINT_SHARDS name the same shards;
  arrays that are no range, and bad values, are usage errors;
- crop's manifest parts and prepare's dataset parts merge into what one
  process writes, byte for byte; merge refuses a missing shard and parts of
  another crop size;
- --skip-existing leaves existing outputs alone and finishes the rest, also
  after a crop stopped midway (from its journal);
- an unreadable photo in a shard (issue 21.9): its task exits 2 with a
  complete part that lists it; merge writes the whole result, names the
  photo and exits 2, as one process over every photo does, and the result
  is that process's, byte for byte;
- a task looks at its own share of the inputs and outputs only (issue
  21.11): owning one input of 3,000 costs it no more file system calls
  (strace) than owning one of 300.

The photos are a few of ../shared/data/faces, or Debian's sample photos."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nptest  # noqa: E402

SLURM_VARS = ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_STEP",
              "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX", "NEUROPAINT_SHARDS")


def photos():
    faces = os.path.join(nptest.SHARED_DATA, "faces", "london-neutral")
    if os.path.isdir(faces):
        return sorted(os.path.join(faces, f) for f in os.listdir(faces) if f.endswith(".jpg"))[:7]
    print("../shared/data is absent: Debian's sample photos instead")
    return sorted(nptest.debian_photos())


def env(**values):
    """The environment without any batch variable, plus values."""
    e = {k: v for k, v in os.environ.items() if k not in SLURM_VARS}
    e.update({k: str(v) for k, v in values.items()})
    return e


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Batch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.photos = photos()
        if len(cls.photos) < 4:
            print("skipping: fewer than four photos")
            sys.exit(nptest.SKIP)
        cls.dir = tempfile.mkdtemp(prefix="np-batch-")
        # The inputs in reverse order: sharding follows the sorted list.
        cls.list = os.path.join(cls.dir, "list.txt")
        with open(cls.list, "w") as f:
            f.write("\r\n".join(reversed(cls.photos)) + "\r\n\n")

    def neuropaint(self, args, check=True, **kwargs):
        kwargs.setdefault("env", env())
        return nptest.run(args, check=check, **kwargs)

    def outputs(self, folder):
        return sorted(f for f in os.listdir(folder) if not f.startswith("."))

    def test_shards_split_the_sorted_list(self):
        n = 3
        one = os.path.join(self.dir, "run-one")
        self.neuropaint(["run", "-o", one, "--files-from", self.list, "--", "neuropaint:gray"])
        union = {}
        for i in range(n):
            out = os.path.join(self.dir, "run-shard-%d" % i)
            proc = self.neuropaint(["run", "-o", out, "--shard", "%d/%d" % (i, n), "--files-from", self.list,
                                    "--", "neuropaint:gray"])
            self.assertIn("shard %d of %d" % (i, n), proc.stderr)
            names = self.outputs(out)
            want = [os.path.splitext(os.path.basename(p))[0] + ".png" for p in self.photos[i::n]]
            self.assertEqual(names, sorted(want))
            for name in names:
                self.assertNotIn(name, union, "written by two shards")
                union[name] = read(os.path.join(out, name))
        self.assertEqual(sorted(union), self.outputs(one))
        for name, data in union.items():
            self.assertEqual(data, read(os.path.join(one, name)), name)

    def test_environment_names_the_shard(self):
        def processed(**values):
            out = os.path.join(self.dir, "env-%d" % len(os.listdir(self.dir)))
            proc = self.neuropaint(["run", "-o", out, "--files-from", self.list, "--", "neuropaint:gray"],
                                   env=env(**values), check=False)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            return self.outputs(out)

        def names(i, n):
            return sorted(os.path.splitext(os.path.basename(p))[0] + ".png" for p in self.photos[i::n])

        # --array=3-7:2 → tasks 3, 5, 7; task 5 is the second of three.
        self.assertEqual(processed(SLURM_ARRAY_TASK_ID=5, SLURM_ARRAY_TASK_MIN=3, SLURM_ARRAY_TASK_MAX=7,
                                   SLURM_ARRAY_TASK_STEP=2, SLURM_ARRAY_TASK_COUNT=3), names(1, 3))
        self.assertEqual(processed(SLURM_ARRAY_TASK_ID=1, SLURM_ARRAY_TASK_MIN=0, SLURM_ARRAY_TASK_COUNT=2),
                         names(1, 2))
        self.assertEqual(processed(JOB_COMPLETION_INDEX=2, NEUROPAINT_SHARDS=4), names(2, 4))
        # --shard wins over the environment.
        out = os.path.join(self.dir, "env-option")
        self.neuropaint(["run", "-o", out, "--shard", "0/2", "--files-from", self.list, "--", "neuropaint:gray"],
                        env=env(JOB_COMPLETION_INDEX=1, NEUROPAINT_SHARDS=2))
        self.assertEqual(self.outputs(out), names(0, 2))

    def test_bad_shards_are_usage_errors(self):
        out = os.path.join(self.dir, "bad")
        cases = [
            (["--shard", "3/3"], {}, "--shard"),
            (["--shard", "1"], {}, "--shard"),
            (["--shard", "-1/3"], {}, "--shard"),
            (["--shard", "0/0"], {}, "--shard"),
            (["--shard", "a/b"], {}, "--shard"),
            # --array=1,5,7: no step names the tasks.
            ([], dict(SLURM_ARRAY_TASK_ID=5, SLURM_ARRAY_TASK_MIN=1, SLURM_ARRAY_TASK_MAX=7,
                      SLURM_ARRAY_TASK_STEP=1, SLURM_ARRAY_TASK_COUNT=3), "SLURM_ARRAY_TASK_ID"),
            ([], dict(SLURM_ARRAY_TASK_ID=2, SLURM_ARRAY_TASK_MIN=0), "SLURM_ARRAY_TASK_COUNT"),
            ([], dict(JOB_COMPLETION_INDEX=0), "NEUROPAINT_SHARDS"),
            ([], dict(JOB_COMPLETION_INDEX=4, NEUROPAINT_SHARDS=4), "JOB_COMPLETION_INDEX"),
        ]
        for args, values, message in cases:
            proc = self.neuropaint(["run", "-o", out] + args + [self.photos[0], "--", "neuropaint:gray"],
                                   env=env(**values), check=False)
            self.assertEqual(proc.returncode, 1, (args, values, proc.stderr))
            self.assertIn(message, proc.stderr)
        self.assertFalse(os.path.exists(out))

    def test_files_from_standard_input(self):
        with open(self.list) as f:
            proc = self.neuropaint(["detect", "--json", "--shard", "1/2", "--files-from", "-"], stdin=f)
        files = [line.split('"file":')[1].split('"')[1] for line in proc.stdout.splitlines()]
        self.assertEqual(files, self.photos[1::2])
        proc = self.neuropaint(["detect", "--files-from", os.path.join(self.dir, "missing.txt")], check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("missing.txt", proc.stderr)

    def test_skip_existing_finishes_the_rest(self):
        out = os.path.join(self.dir, "skip")
        self.neuropaint(["run", "-o", out, "--files-from", self.list, "--", "neuropaint:gray"])
        kept = os.path.join(out, self.outputs(out)[0])
        gone = os.path.join(out, self.outputs(out)[1])
        before = os.stat(kept)
        data = read(gone)
        os.remove(gone)
        proc = self.neuropaint(["run", "-o", out, "--skip-existing", "--files-from", self.list, "--",
                                "neuropaint:gray"])
        self.assertIn("1 image(s) written", proc.stdout)
        self.assertEqual(os.stat(kept).st_ino, before.st_ino)
        self.assertEqual(os.stat(kept).st_mtime_ns, before.st_mtime_ns)
        self.assertEqual(read(gone), data)

    def crop(self, out, *args, check=True):
        return self.neuropaint(["crop", "-o", out, "--size", "64x80", "--files-from", self.list] + list(args),
                               check=check)

    def test_crop_parts_merge_into_one_process_manifest(self):
        one, parts = os.path.join(self.dir, "crop-one"), os.path.join(self.dir, "crop-parts")
        self.crop(one)
        for i in range(3):
            self.crop(parts, "--shard", "%d/3" % i)
        # A shard missing: merge says which, and writes nothing.
        os.rename(os.path.join(parts, "manifest.part-1-of-3.json"), os.path.join(self.dir, "part1"))
        proc = self.neuropaint(["merge", parts], check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("1 of the 3 shards", proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(parts, "manifest.json")))
        os.rename(os.path.join(self.dir, "part1"), os.path.join(parts, "manifest.part-1-of-3.json"))
        self.neuropaint(["merge", parts])
        self.assertEqual(self.outputs(parts),
                         sorted(self.outputs(one) + ["manifest.part-%d-of-3.json" % i for i in range(3)]))
        for name in self.outputs(one):
            self.assertEqual(read(os.path.join(parts, name)), read(os.path.join(one, name)), name)

    def test_crop_stopped_midway_finishes_from_its_journal(self):
        out = os.path.join(self.dir, "crop-stopped")
        one = os.path.join(self.dir, "crop-whole")
        self.crop(one)
        self.crop(out, "--shard", "0/2")
        # What a kill leaves: crops of the first images, the journal of their
        # entries (the last line cut short) and no manifest part.
        part = os.path.join(out, "manifest.part-0-of-2.json")
        lines = []
        for entry in json.load(open(part))["images"][:2]:
            lines.append(json.dumps(entry))
        lines.append(lines[-1][:20])
        os.remove(part)
        with open(part + ".partial", "w") as f:
            f.write("\n".join(lines))
        os.remove(os.path.join(out, json.loads(lines[1])["crops"][0]["file"]))   # entry without its crop
        kept = os.path.join(out, json.loads(lines[0])["crops"][0]["file"])
        mtime = os.stat(kept).st_mtime_ns
        proc = self.crop(out, "--shard", "0/2", "--skip-existing")
        self.assertIn("the others were there already", proc.stdout)
        self.assertEqual(os.stat(kept).st_mtime_ns, mtime)
        self.assertFalse(os.path.exists(part + ".partial"))
        self.crop(out, "--shard", "1/2")
        self.neuropaint(["merge", os.path.join(out, "manifest.json")])
        self.assertEqual(read(os.path.join(out, "manifest.json")), read(os.path.join(one, "manifest.json")))

    def test_a_sharded_task_keeps_the_folder_it_made(self):
        """Run alone, a run whose inputs all fail removes the folder it made;
        a shard's task keeps it: the other tasks may be writing into it."""
        bad = os.path.join(self.dir, "all-bad")
        os.makedirs(bad)
        for name in ("a.jpg", "b.jpg"):
            with open(os.path.join(bad, name), "wb") as f:
                f.write(b"not a photo\n")
        for shard, kept in (([], False), (["--shard", "0/2"], True)):
            out = os.path.join(self.dir, "folder-%s" % kept)
            proc = self.neuropaint(["run", "-o", out] + shard + [bad, "--", "gegl:nop"], check=False)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertEqual(os.path.isdir(out), kept)
            if kept:
                self.assertEqual(os.listdir(out), [])

    def test_a_journal_that_cannot_be_written_is_given_up(self):
        out = os.path.join(self.dir, "crop-journal-full")
        one = os.path.join(self.dir, "crop-journal-one")
        self.crop(one)
        os.makedirs(out)
        os.symlink("/dev/full", os.path.join(out, "manifest.json.partial"))
        proc = self.crop(out, "--skip-existing")
        self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
        self.assertIn("manifest.json.partial: No space left on device: no longer kept", proc.stderr)
        self.assertEqual(self.outputs(out), self.outputs(one))
        self.assertEqual(read(os.path.join(out, "manifest.json")), read(os.path.join(one, "manifest.json")))

    def prepare(self, out, *args, check=True):
        return self.neuropaint(["prepare", "-o", out, "--size", "64x80"] + self.photos[2::-1] + list(args),
                               check=check)

    def test_prepare_parts_merge_into_one_process_dataset(self):
        one = os.path.join(self.dir, "one.dataset")
        merged = os.path.join(self.dir, "merged.dataset")
        self.prepare(one)
        n = 4    # three photos: one shard gets none, and its part is empty
        for i in range(n):
            self.prepare(merged, "--shard", "%d/%d" % (i, n))
            self.assertTrue(os.path.isfile(os.path.join(self.dir, "merged.part-%d-of-%d.dataset" % (i, n),
                                                        "dataset.json")))
        proc = self.prepare(merged, "--shard", "1/%d" % n, "--skip-existing")
        self.assertIn("nothing to do", proc.stdout)
        self.neuropaint(["merge", merged])
        self.assertEqual(sorted(os.listdir(merged)), sorted(os.listdir(one)))
        for name in os.listdir(one):
            self.assertEqual(read(os.path.join(merged, name)), read(os.path.join(one, name)), name)

        # Parts of another crop size are no parts of this dataset.
        other = os.path.join(self.dir, "other.dataset")
        self.neuropaint(["prepare", "-o", other, "--size", "64x80", "--shard", "0/2"] + self.photos[:2])
        self.neuropaint(["prepare", "-o", other, "--size", "32x40", "--shard", "1/2"] + self.photos[:2])
        proc = self.neuropaint(["merge", other], check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("32×40", proc.stderr)
        self.assertFalse(os.path.exists(other))
        proc = self.neuropaint(["merge", os.path.join(self.dir, "nothing.dataset")], check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no parts", proc.stderr)

    def test_a_bad_photo_in_a_shard_is_merged_and_reported(self):
        folder = os.path.join(self.dir, "with-bad")
        os.makedirs(folder)
        for p in self.photos[:3]:
            os.symlink(p, os.path.join(folder, os.path.basename(p)))
        bad = os.path.join(folder, "b-unreadable.jpg")
        with open(bad, "wb") as f:
            f.write(b"not a photo\n")
        # (command, what merge writes, the files compared, the file listing the skipped)
        for command, target, files, listing in (("crop", "bad-crops", ["manifest.json"], "manifest.json"),
                                                ("prepare", "bad.dataset", None, "dataset.json")):
            one, target = os.path.join(self.dir, "one-" + target), os.path.join(self.dir, target)
            proc = self.neuropaint([command, "-o", one, "--size", "64x80", folder], check=False)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            codes = [self.neuropaint([command, "-o", target, "--shard", "%d/2" % i, "--skip-existing", "--size",
                                      "64x80", folder], check=False).returncode for i in range(2)]
            self.assertEqual(sorted(codes), [0, 2], command)
            proc = self.neuropaint(["merge", target], check=False)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
            self.assertIn("without the 1 input its shards could not read", proc.stderr)
            self.assertIn(bad, proc.stderr)
            for name in files or os.listdir(one):
                self.assertEqual(read(os.path.join(target, name)), read(os.path.join(one, name)), name)
            self.assertEqual(json.load(open(os.path.join(one, listing)))["skipped"], [bad])
    def test_a_task_looks_at_its_own_share(self):
        if shutil.which("strace") is None:
            self.skipTest("no strace (apt-get install strace)")

        def calls(n, command):
            """File system calls of shard 0 of n over a folder of n inputs (one a photo)."""
            top = os.path.join(self.dir, "share-%d" % n)
            folder = os.path.join(top, "in")
            if not os.path.isdir(folder):
                os.makedirs(folder)
                for i in range(1, n):
                    open(os.path.join(folder, "p%06d.jpg" % i), "w").close()
                os.symlink(self.photos[0], os.path.join(folder, "p000000.jpg"))
            out = os.path.join(top, command[0])
            trace = os.path.join(top, "trace")
            args = command[:1] + ["--shard", "0/%d" % n, folder] + command[1:] if command[0] == "detect" else \
                command[:1] + ["--shard", "0/%d" % n, "--skip-existing", "-o", out, folder] + command[1:]
            for _ in range(2):   # the first run, and the run again that finds its output there
                proc = subprocess.run(["strace", "-f", "-c", "-e", "trace=%file,%stat", "-o", trace,
                                       nptest.NEUROPAINT] + args, capture_output=True, text=True, env=env())
                self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(trace) as f:
                return int([line for line in f if line.rstrip().endswith("total")][0].split()[3])

        for command in (["run", "--", "gegl:nop"], ["crop", "--size", "32x40"], ["prepare", "--size", "32x40"],
                        ["detect"]):
            with self.subTest(command=command[0]):
                few, many = calls(300, command), calls(3000, command)
                # Before: about 7 calls per input, 19,000 more for the larger folder.
                self.assertLess(many - few, 300, "%s: %d calls for 300 inputs, %d for 3000" % (command[0], few, many))


if __name__ == "__main__":
    nptest.main()
