"""Every XML graph in graphs/ runs through the `gegl` command and through
`neuropaint run`, and writes a non-empty image of the expected size: the
input's for a graph that loads a photo (the crop's for a face crop, twice it
for super resolution), the size the graph's source node declares for one that
renders (a source graph). The gegl command exits 0 even when it fails, so the
file, its size and stderr are what is checked.

Graphs name the shipped models (gray2color, sr2x, ...); until they are in
models/, tiny random stand-ins of the same kinds are found by name through
XDG_DATA_HOME (nptest.tiny_models)."""
import glob
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

import numpy as np

import nptest


def expected_size(graph, photo_size):
    """(height, width) the graph must produce: a source graph (no gegl:load)
    must name its size on its source node; a face crop gives its size, super
    resolution doubles; anything else keeps the photo's."""
    nodes = ET.parse(graph).getroot().iter("node")
    ops = {n.get("operation"): n for n in nodes}
    if "gegl:load" in ops:
        size = photo_size
        if "neuropaint:face-crop" in ops:
            size = int(ops["neuropaint:face-crop"].get("height")), int(ops["neuropaint:face-crop"].get("width"))
        if "neuropaint:super-resolution" in ops:
            size = 2 * size[0], 2 * size[1]
        return size
    sized = [n for n in ops.values() if n.get("width") and n.get("height")]
    if len(sized) != 1:
        raise AssertionError("%s: a source graph must give width and height on one node" % graph)
    return int(sized[0].get("height")), int(sized[0].get("width"))


def is_source(graph):
    return not any(n.get("operation") == "gegl:load" for n in ET.parse(graph).getroot().iter("node"))


class Graphs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.models = tempfile.mkdtemp(prefix="np-graph-models-")
        cls.env = nptest.tiny_models(cls.models)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.models, ignore_errors=True)

    def test_each_graph_through_gegl(self):
        import cv2
        if not os.path.exists(nptest.ASTRONAUT):
            self.skipTest("graphs read Debian's astronaut.png: install python3-skimage")
        graphs = sorted(glob.glob(os.path.join(nptest.SOURCE_ROOT, "graphs", "*.xml")))
        self.assertTrue(graphs, "no graphs found")
        want = cv2.imread(nptest.ASTRONAUT).shape[:2]
        for graph in graphs:
            with self.subTest(graph=os.path.basename(graph)), tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "out.png")
                proc = subprocess.run(["gegl", graph, "-o", out], capture_output=True, text=True, timeout=300,
                                      env=self.env)
                self.assertNotIn("WARNING", proc.stderr, proc.stderr)
                self.assertNotIn("CRITICAL", proc.stderr, proc.stderr)
                self.assertTrue(os.path.exists(out), "no output; stderr: " + proc.stderr)
                self.assertGreater(os.path.getsize(out), 1000)
                img = cv2.imread(out, cv2.IMREAD_UNCHANGED)
                self.assertEqual(img.shape[:2], expected_size(graph, want))
                self.assertGreater(int(img[..., :3].max()), 0, "the result is black")

    def test_each_graph_through_neuropaint_run(self):
        """Built in by name; a graph that loads a photo gets each input instead."""
        if not os.path.exists(nptest.ASTRONAUT):
            self.skipTest("needs Debian's astronaut.png: install python3-skimage")
        graphs = sorted(glob.glob(os.path.join(nptest.SOURCE_ROOT, "graphs", "*.xml")))
        # Two photos with a face (a face crop warns, and so fails, without one).
        photos = [p for p in nptest.debian_photos() if "astronaut" in p or "grace_hopper" in p]
        for graph in graphs:
            name = os.path.basename(graph)[:-4]
            if is_source(graph):
                continue   # nothing to feed: the gegl command and the demo run these
            with self.subTest(graph=name), tempfile.TemporaryDirectory() as tmp:
                nptest.run(["run", "-o", tmp, "-g", name] + photos, env=self.env)
                for photo in photos:
                    stem = os.path.splitext(os.path.basename(photo))[0]
                    got = nptest.read_rgb(os.path.join(tmp, stem + ".png"))
                    self.assertEqual(got.shape[:2], expected_size(graph, nptest.read_rgb(photo).shape[:2]))

    def test_demo_writes_every_result(self):
        if not os.path.exists(nptest.ASTRONAUT):
            self.skipTest("needs Debian's astronaut.png: install python3-skimage")
        with tempfile.TemporaryDirectory() as tmp:
            proc = nptest.run(["demo", "-o", tmp], env=self.env)
            self.assertIn(tmp, proc.stdout)
            names = [os.path.basename(p)[:-4] for p in glob.glob(os.path.join(nptest.SOURCE_ROOT, "graphs", "*.xml"))]
            # Every graph but the average face (not part of the demo).
            self.assertEqual(sorted(f[:-4] for f in os.listdir(tmp)), sorted(set(names) - {"average-face"}))
            self.assertEqual(nptest.read_rgb(os.path.join(tmp, "cppn-art.png")).shape[:2], (512, 512))
            self.assertEqual(nptest.read_rgb(os.path.join(tmp, "sr2x.png")).shape[:2], (1024, 1024))
            self.assertEqual(nptest.read_rgb(os.path.join(tmp, "dream-face.png")).shape[:2], (320, 256))

    def test_demo_without_a_model_writes_the_rest(self):
        """With only some models installed, the demo says which are missing,
        writes everything else, and succeeds (nothing failed). The dream face
        needs two models: noise2face dreams at 64×80, and sr2x doubles that
        to the graph's 256×320. A copy of the command outside the build tree
        does not see the source tree's models/, only the stand-ins installed
        for it."""
        if not os.path.exists(nptest.ASTRONAUT):
            self.skipTest("needs Debian's astronaut.png: install python3-skimage")
        colourisers = ["gray2color", "contours2color", "canny2color"]
        for installed, dream_needs, missing in (
                (colourisers + ["noise2face"], "it needs the model “sr2x”, which is not installed", "sr2x"),
                (colourisers, "it needs the models “noise2face” and “sr2x”, which are not installed",
                 "sr2x, noise2face")):
            with self.subTest(installed=installed), tempfile.TemporaryDirectory() as tmp:
                env = nptest.tiny_models(os.path.join(tmp, "data"), installed)
                command = shutil.copy(shutil.which(nptest.NEUROPAINT), os.path.join(tmp, "neuropaint"))
                out = os.path.join(tmp, "out")
                proc = subprocess.run([command, "demo", "-o", out], capture_output=True, text=True, env=env)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertIn("sr2x.png skipped: it needs the model “sr2x”, which is not installed", proc.stderr)
                self.assertIn("dream-face.png skipped: " + dream_needs, proc.stderr)
                self.assertIn("models not installed: %s (looked in" % missing, proc.stderr)
                self.assertNotIn("gray2color", proc.stderr)
                self.assertIn("colorize.png", os.listdir(out))
                self.assertNotIn("sr2x.png", os.listdir(out))
                self.assertNotIn("dream-face.png", os.listdir(out))
                self.assertEqual(len(os.listdir(out)), 9)


class InstalledModelChoice(unittest.TestCase):
    """The model ops' installed-model property (GIMP 3's combo) lists the
    models installed for the op when GEGL starts, and choosing one runs just
    what model=NAME runs, to the byte."""

    def setUp(self):
        import cv2
        self.tmp = tempfile.TemporaryDirectory()
        models = os.path.join(self.tmp.name, "neuropaint", "models")
        os.makedirs(models)
        nptest.model_with_metadata(os.path.join(nptest.SOURCE_ROOT, "tests", "data", "colorize-tiny.safetensors"),
                                   os.path.join(models, "tiny-colorizer.safetensors"))
        nptest.model_with_metadata(os.path.join(nptest.SOURCE_ROOT, "tests", "data", "sr-tiny.safetensors"),
                                   os.path.join(models, "tiny-doubler.safetensors"))
        self.env = dict(os.environ, XDG_DATA_HOME=self.tmp.name)
        # The ops run from the build tree: the source tree's models/ is searched first.
        self.installed = nptest.models_made_for(os.path.join(nptest.SOURCE_ROOT, "models"))
        for op, names in nptest.models_made_for(models).items():
            self.installed[op] = sorted(set(self.installed.get(op, []) + names))
        self.src = os.path.join(self.tmp.name, "in.png")
        photo = np.random.default_rng(5).integers(0, 256, (40, 48, 3), np.uint8)
        cv2.imwrite(self.src, photo)

    def tearDown(self):
        self.tmp.cleanup()

    def test_the_choices_are_the_installed_models_made_for_the_op(self):
        script = ("import gi, json; gi.require_version('Gegl', '0.4'); from gi.repository import Gegl; "
                  "Gegl.init(None); print(json.dumps({op: [v.value_nick for v in sorted("
                  "[p for p in Gegl.Operation.list_properties(op) if p.name == 'installed-model'][0]"
                  ".enum_class.__enum_values__.values(), key=int)] for op in %r}))" % (MODEL_OPS,))
        proc = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, text=True, timeout=120,
                              env=self.env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        choices = json.loads(proc.stdout)
        self.assertIn("tiny-colorizer", choices["neuropaint:colorize"])
        self.assertIn("tiny-doubler", choices["neuropaint:super-resolution"])
        for op in MODEL_OPS:
            with self.subTest(op=op):
                self.assertEqual(choices[op], ["named"] + self.installed.get(op, []))

    def test_a_chosen_model_runs_as_its_name_does(self):
        for op, name in (("neuropaint:colorize", "tiny-colorizer"), ("neuropaint:super-resolution", "tiny-doubler")):
            with self.subTest(op=op):
                out = {}
                for how in ("model=" + name, "installed-model=" + name, "model=no-such installed-model=" + name,
                            "installed-model=named model=" + name, ""):
                    out[how] = os.path.join(self.tmp.name, "%d.png" % len(out))
                    proc = subprocess.run(["gegl", self.src, "-o", out[how], "--", op] + how.split(),
                                          capture_output=True, text=True, timeout=120, env=self.env)
                    # The gegl command's own leak warning on exit (gegl_tile_cache_destroy) comes with
                    # these ops on main too: what matters is that ours say nothing.
                    self.assertNotIn(op, proc.stderr, proc.stderr)
                    with open(out[how], "rb") as f:
                        out[how] = f.read()
                self.assertEqual(len(set(out.values())), 2, "a choice ran another model than its name")
                self.assertNotEqual(out["model=" + name], out[""])   # not the default model


# The ops with a model property.
MODEL_OPS = ("neuropaint:colorize", "neuropaint:colorize-without-hints", "neuropaint:dream-face",
             "neuropaint:generator", "neuropaint:super-resolution")


if __name__ == "__main__":
    nptest.main()
