"""GIMP 3 for real: in a Debian 13 chroot made by tools/gimp3-chroot (GIMP
3.0.4, GEGL 0.4.62), neuropaint is built, installed per user by the
documented step alone (tools/install-user: op modules, models, the plug-in in
GIMP's profile), and gimp-console-3.0 applies each op to a photo through
Gimp.DrawableFilter, merged, and exports it (tests/gimp3-batch.py). Each
result must equal what the gegl command makes of the same photo with the same
op and properties, in the same chroot; Colorize gets a hint layer as its aux
input too, whose red dot must turn the suit under it red. A Grayscale scan goes through Image ▸
Neuropaint ▸ Colorize Photo, and Colorize without its model must leave the
layer as it was. Each model op's Installed model combo offers the installed
models made for it, and a model chosen there runs. The Crop Face and Batch procedures run too, a GUI run under Xvfb shows that GIMP made a menu action for each op, and
the op modules built on this machine (Debian 12) give the same results in the
chroot's GEGL.

gimp-console exits 0 even when a batch fails: the exported files and the
report the batch writes are what is checked. Skipped, saying why, without the
chroot (NP_GIMP3_CHROOT, default /var/tmp/neuropaint-gimp3) or without root."""
import glob
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

import nptest

CHROOT = os.environ.get("NP_GIMP3_CHROOT", "/var/tmp/neuropaint-gimp3")
TOOL = os.path.join(nptest.SOURCE_ROOT, "tools", "gimp3-chroot")
HOPPER = "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg"
MODEL = "/src/tests/data/generator-tiny.safetensors"   # the source tree, as mounted inside
# Tiny random models of the other kinds (the shipped ones need not exist yet).
COLORIZE_MODEL = "/src/tests/data/colorize-tiny.safetensors"
SR_MODEL = "/src/tests/data/sr-tiny.safetensors"
DREAM_MODEL = "/src/tests/data/dream-tiny.safetensors"

# name: (op, properties, input photo, the part of the layer the op covers or
# None for all, exact or within 1 of 255 (ops working in float)).
CASES = {
    "gray": ("neuropaint:gray", {}, "photo", None, True),
    "rgb-threshold": ("neuropaint:rgb-threshold", {"threshold": 120}, "photo", None, True),
    "contours": ("neuropaint:contours", {"thresholds": "40,90,200"}, "photo", None, True),
    "canny": ("neuropaint:canny", {"low": 60.0, "high": 140.0, "mode": "gray"}, "photo", None, True),
    "canny-seed": ("neuropaint:canny", {"pre-threshold": 200, "low": 140.0, "high": 255.0}, "photo", None, True),
    # GIMP 3.0.4's libgimp cannot carry GEGL's file-path properties: a
    # DrawableFilter of an op that has one (a cascade, a model) gets an empty
    # config, so scripts can only run these with their defaults (the GUI's
    # dialog has them all). The generator, which needs its model, is run
    # through the plug-in's Batch instead (test_batch_...).
    "face-detect": ("neuropaint:face-detect", {}, "hopper", None, True),
    "face-crop": ("neuropaint:face-crop", {}, "hopper", (256, 320), False),
    "cppn": ("neuropaint:cppn", {"seed": 5, "width": 256, "height": 256, "color-mode": "hsv"}, "photo",
             None, False),
    # The model is a string property (a name or a file), which libgimp carries.
    "colorize": ("neuropaint:colorize", {"model": COLORIZE_MODEL}, "photo", None, False),
    "colorize-without-hints": ("neuropaint:colorize-without-hints", {"model": COLORIZE_MODEL}, "photo", None,
                               False),
    # Twice the layer: GIMP keeps the layer's part of it.
    "super-resolution": ("neuropaint:super-resolution", {"model": SR_MODEL}, "photo", (256, 256), False),
    "dream-face": ("neuropaint:dream-face", {"model": DREAM_MODEL, "seed": 3, "width": 256, "height": 256},
                   "photo", None, False),
}
# One click: Colorize with its defaults colours with the shipped gray2color,
# installed per user as docs/gimp.md says.
SHIPPED_COLORIZER = os.path.join(nptest.SOURCE_ROOT, "models", "gray2color.safetensors")
if os.path.exists(SHIPPED_COLORIZER):
    CASES["colorize-default"] = ("neuropaint:colorize", {}, "photo", None, False)


# Installed models chosen in the op's installed-model combo, as GIMP 3's
# dialog sets it: name: (op, the filter's properties, the gegl command's for
# the same model). A model chosen wins over the one Model names.
CHOSEN = {
    "generator-chosen": ("neuropaint:generator", {"installed-model": "contours2color", "apply-filter": True},
                         {"model": "contours2color", "apply-filter": True}),
    "colorize-chosen": ("neuropaint:colorize", {"model": "no-such-model", "installed-model": "gray2color"},
                        {"model": "gray2color"}),
}
# The ops with a model property, and so an installed-model combo.
MODEL_OPS = ("neuropaint:colorize", "neuropaint:colorize-without-hints", "neuropaint:generator",
             "neuropaint:super-resolution", "neuropaint:dream-face")
# Cases with an aux input: its picture, beside the photo (the GIMP side
# loads it as a layer and picks it as the filter's aux input).
AUX = {}
HINT_DOT = (190, 60)   # (y, x): the astronaut's orange suit, in the half-size photo

# Ops that render from nothing: the gegl command gets no input for them.
SOURCES = ("neuropaint:cppn", "neuropaint:dream-face")

# What the Batch runs: the generator, properties in chain syntax.
GENERATOR = ("neuropaint:generator", {"model": MODEL, "apply-filter": True})


def gegl_saving(source, op, chain, out):
    """The gegl command applying op to source, written as an 8-bit PNG: with
    `-o`, GEGL 0.4.62 would write 16 bits, and Debian 13's babl 0.1.114 on
    a CPU without AVX (x86-64-v2) mostly garbles the R'G'B'A u8 -> u16
    conversion (any op with bytes out; seen on the CI machine, reproduced
    under qemu-x86_64 -cpu Nehalem with gegl:convert-format alone). GIMP's
    layers here are 8-bit too."""
    return "gegl %s -- %s %s gegl:png-save bitdepth=8 path=%s" % (source, op, chain, out)


def chain_value(value):
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class Gimp3(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import cv2
        if not os.path.isfile(os.path.join(CHROOT, "etc", "debian_version")):
            raise unittest.SkipTest("no GIMP 3 chroot at %s: make one with `tools/gimp3-chroot make` "
                                    "(root, debootstrap, ~3 min, 1.5 GB) or set NP_GIMP3_CHROOT" % CHROOT)
        if os.geteuid() != 0:
            raise unittest.SkipTest("entering the GIMP 3 chroot needs root")
        if not os.path.exists(HOPPER):
            raise unittest.SkipTest("needs facedetect's example photo " + HOPPER)
        build = subprocess.run([TOOL, "build", CHROOT], capture_output=True, text=True)
        if build.returncode != 0:
            raise AssertionError("building neuropaint in the chroot failed:\n" + build.stderr)

        cls.work = tempfile.mkdtemp(prefix="np-gimp3-", dir=os.path.join(CHROOT, "tmp"))
        cls.inside = "/tmp/" + os.path.basename(cls.work)
        cls.photo = nptest.read_rgb(nptest.ASTRONAUT)[::2, ::2, :3].copy()
        cv2.imwrite(os.path.join(cls.work, "photo.png"), cv2.cvtColor(cls.photo, cv2.COLOR_RGB2BGR))
        shutil.copy(HOPPER, os.path.join(cls.work, "hopper.jpg"))
        inputs = {"photo": cls.inside + "/photo.png", "hopper": cls.inside + "/hopper.jpg"}

        # Installed per user by the documented step alone (tools/install-user,
        # docs/gimp.md), run inside the chroot before GIMP ever ran there. The
        # host modules' runs below see a data folder of models alone.
        home = os.path.join(cls.work, "home")
        os.makedirs(home)
        if os.path.exists(SHIPPED_COLORIZER):
            os.makedirs(os.path.join(cls.work, "host-data", "neuropaint", "models"))
            shutil.copy(SHIPPED_COLORIZER, os.path.join(cls.work, "host-data", "neuropaint", "models"))
        # Colour hints: a red dot on a hint layer and the echo model, whose
        # chroma is its hints' (a model file, which libgimp carries as a string).
        nptest.hint_echo_model(os.path.join(cls.work, "echo.safetensors"), cls.photo.shape[1], cls.photo.shape[0])
        dot = np.zeros(cls.photo.shape[:2] + (4,), np.uint8)
        dot[HINT_DOT] = (30, 30, 220, 255)            # BGRA: red
        cv2.imwrite(os.path.join(cls.work, "hints.png"), dot)
        CASES["colorize-hints"] = ("neuropaint:colorize", {"model": cls.inside + "/echo.safetensors"}, "photo",
                                   None, False)
        AUX["colorize-hints"] = cls.inside + "/hints.png"
        # And as users meet it: the shipped gray2color (which never saw a
        # hint) and a blue dot on the suit it colours brown.
        if os.path.exists(SHIPPED_COLORIZER):
            nptest.write_blue_dot(os.path.join(cls.work, "hints-blue.png"), cls.photo.shape, HINT_DOT)
            CASES["colorize-hints-shipped"] = ("neuropaint:colorize", {}, "photo", None, False)
            AUX["colorize-hints-shipped"] = cls.inside + "/hints-blue.png"
        # A scan: one channel, which GIMP opens in Grayscale mode.
        cls.gray = cv2.cvtColor(cls.photo, cv2.COLOR_RGB2GRAY)
        cv2.imwrite(os.path.join(cls.work, "scan.png"), cls.gray)

        # The batch's folder: two photos and a file that is not an image.
        batch_in = os.path.join(cls.work, "batch-in")
        os.makedirs(batch_in)
        shutil.copy(os.path.join(cls.work, "photo.png"), batch_in)
        shutil.copy(HOPPER, os.path.join(batch_in, "hopper.jpg"))
        with open(os.path.join(batch_in, "broken.png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n not really")

        job = {
            "out": cls.inside,
            "cases": [{"name": name, "op": op, "properties": props, "input": inputs[photo], "aux": AUX.get(name)}
                      for name, (op, props, photo, _, _) in CASES.items()],
            "crop": {"input": inputs["hopper"], "properties": {}},
            # The one-click route on the scan, and a model that is not there.
            "onto-rgb": [{"name": "colorize-photo", "procedure": "plug-in-neuropaint-colorize-photo",
                          "input": cls.inside + "/scan.png"}] if os.path.exists(SHIPPED_COLORIZER) else [],
            "batch": {"filter": "generator",
                      "properties": " ".join("%s=%s" % (k, chain_value(v)) for k, v in GENERATOR[1].items()),
                      "input": cls.inside + "/batch-in", "output": cls.inside + "/batch-out"},
        }
        job["cases"].append({"name": "missing-model", "op": "neuropaint:colorize",
                             "properties": {"model": "no-such-model"}, "input": inputs["photo"]})
        job["cases"] += [{"name": name, "op": op, "properties": props, "input": inputs["photo"]}
                         for name, (op, props, _) in CHOSEN.items()]
        job["choices"] = {"op": MODEL_OPS, "input": inputs["photo"]}
        with open(os.path.join(cls.work, "job.json"), "w") as f:
            json.dump(job, f)

        # What the gegl command makes of each case, in the same chroot.
        gegl = []
        oracles = dict(CASES, generator=GENERATOR + ("photo", None, False))
        def aux(name):
            return " aux=[ gegl:load path=%s ]" % AUX[name] if name in AUX else ""
        for name, (op, props, photo, _, _) in oracles.items():
            chain = " ".join("%s=%s" % (k, chain_value(v)) for k, v in props.items()) + aux(name)
            source = "" if op in SOURCES else inputs[photo]
            gegl.append(gegl_saving(source, op, chain, "%s/want-%s.png" % (cls.inside, name)))
        for name, (op, _, props) in CHOSEN.items():
            chain = " ".join("%s=%s" % (k, chain_value(v)) for k, v in props.items())
            gegl.append(gegl_saving(inputs["photo"], op, chain, "%s/want-%s.png" % (cls.inside, name)))
        gegl.append(gegl_saving(inputs["hopper"], "neuropaint:face-crop", "", cls.inside + "/want-crop.png"))
        # The same with the modules this machine built (Debian 12: GLib 2.74,
        # GEGL 0.4.42) in GIMP 3's GEGL 0.4.62: what users who copy ops
        # across get. Only those modules on GEGL_PATH, and no per-user ones.
        host_ops = os.path.join(cls.work, "host-ops")
        os.makedirs(host_ops)
        for module in glob.glob(os.path.join(os.environ["GEGL_PATH"].split(":")[0], "*.so")):
            shutil.copy(module, host_ops)
        for name, (op, props, photo, _, _) in CASES.items():
            chain = " ".join("%s=%s" % (k, chain_value(v)) for k, v in props.items()) + aux(name)
            source = "" if op in SOURCES else inputs[photo]
            gegl.append("HOME=/nonexistent XDG_DATA_HOME=%s/host-data "
                        "GEGL_PATH=%s/host-ops:/usr/lib/x86_64-linux-gnu/gegl-0.4 " % (cls.inside, cls.inside)
                        + gegl_saving(source, op, chain, "%s/host-%s.png" % (cls.inside, name)))

        env = "cd %s && HOME=%s/home" % (cls.inside, cls.inside)
        batch = "exec(open('/src/tests/gimp3-batch.py').read())"
        script = ("{env} /src/tools/install-user /build >install.log 2>&1; "
                  "{env} sh -c '{gegl}' >gegl.log 2>&1; "
                  "{env} NP_JOB={inside}/job.json gimp-console-3.0 -i --quit "
                  "--batch-interpreter=python-fu-eval -b \"{batch}\" >console.log 2>&1; "
                  # A GUI run, only to see the menu actions GIMP makes (it lists them in shortcutsrc).
                  "{env} xvfb-run -a gimp-3.0 -n --quit --batch-interpreter=python-fu-eval -b 'print(1)' "
                  ">gui.log 2>&1; true").format(env=env, inside=cls.inside, batch=batch, gegl="; ".join(gegl))
        subprocess.run([TOOL, "run", CHROOT, "sh", "-c", script], check=True, timeout=900)
        with open(os.path.join(cls.work, "install.log")) as f:
            cls.install_log = f.read()
        with open(os.path.join(cls.work, "console.log")) as f:
            cls.log = f.read()
        report = os.path.join(cls.work, "report.json")
        if not os.path.exists(report):
            raise AssertionError("the GIMP batch wrote no report; its output:\n" + cls.log)
        with open(report) as f:
            cls.report = json.load(f)

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "work"):
            shutil.rmtree(cls.work, ignore_errors=True)

    def read(self, name):
        path = os.path.join(self.work, name)
        self.assertTrue(os.path.exists(path), "%s was not written; GIMP said:\n%s%s"
                        % (name, json.dumps(self.report["errors"], indent=1), self.log[-3000:]))
        img = nptest.read_rgb(path)[..., :3]
        self.assertEqual(img.dtype, np.uint8, name)     # gegl_saving's and GIMP's exports alike
        return img

    def test_each_op_as_a_gimp_filter_equals_the_gegl_command(self):
        for name, (op, props, photo, covers, exact) in CASES.items():
            with self.subTest(op=name):
                got, want = self.read(name + ".png"), self.read("want-%s.png" % name)
                if covers:
                    got, want = got[:covers[1], :covers[0]], want[:covers[1], :covers[0]]
                self.assertEqual(got.shape, want.shape)
                diff = np.abs(got.astype(int) - want.astype(int)).max()
                self.assertLessEqual(diff, 0 if exact else 1, "%s differs from the gegl command by %d" % (name, diff))
                # Not vacuous: the op changed the picture.
                if photo == "photo":
                    self.assertFalse(np.array_equal(got, self.photo[:got.shape[0], :got.shape[1]]))
                if name == "colorize-default":
                    # Colour, on the photo's own luminance.
                    self.assertGreater(float(np.abs(got[..., 0].astype(int) - got[..., 2]).mean()), 5)
                    luma = lambda rgb: rgb.astype(float) @ [0.299, 0.587, 0.114]
                    self.assertLessEqual(np.percentile(np.abs(luma(got) - luma(self.photo)), 99), 2.5)

    def test_each_model_op_offers_the_installed_models_made_for_it(self):
        installed = nptest.models_made_for(os.path.join(self.work, "home", ".local", "share", "neuropaint",
                                                        "models"))
        self.assertEqual(installed["neuropaint:colorize"], ["gray2color"])    # colourisers only
        for op in MODEL_OPS:
            with self.subTest(op=op):
                self.assertEqual(self.report.get("choices", {}).get(op), ["named"] + installed[op],
                                 self.report["errors"].get("choices"))

    def test_a_chosen_installed_model_runs(self):
        for name in CHOSEN:
            with self.subTest(case=name):
                got, want = self.read(name + ".png"), self.read("want-%s.png" % name)
                self.assertLessEqual(np.abs(got.astype(int) - want.astype(int)).max(), 1)
                self.assertFalse(np.array_equal(got, self.photo))

    def test_a_red_dot_on_a_hint_layer_turns_the_suit_under_it_red(self):
        got = self.read("colorize-hints.png").astype(float) / 255
        nptest.assert_hint_coloured(self, got, HINT_DOT)

    def test_a_blue_dot_turns_the_suit_blue_with_the_shipped_model(self):
        """The shipped gray2color colours the suit brown; a 3×3 blue dot on
        the hint layer spreads over the suit around it."""
        if not os.path.exists(SHIPPED_COLORIZER):
            self.skipTest("needs the shipped gray2color model")
        nptest.assert_blue_dot_spreads(self, self.read("colorize-default.png"), self.read("colorize-hints-shipped.png"),
                                       HINT_DOT)

    def test_colorize_photo_colours_a_grayscale_scan(self):
        if not os.path.exists(SHIPPED_COLORIZER):
            self.skipTest("needs the shipped gray2color model")
        self.assertEqual(self.report["status"].get("colorize-photo"), "success",
                         self.report["errors"].get("colorize-photo"))
        self.assertEqual(self.report["base-type"].get("colorize-photo"), "rgb")
        got = self.read("colorize-photo.png").astype(float)
        # Colour (the scan has none), on the scan's own luminance.
        self.assertGreater(np.abs(got[..., 0] - got[..., 2]).mean(), 5)
        luma = got @ [0.299, 0.587, 0.114]
        self.assertLessEqual(np.percentile(np.abs(luma - self.gray), 99), 2.5)
        # Kept as an effect the user can edit: the op without the aux pad,
        # since GIMP 3.0 merges effects that have one.
        self.assertEqual(self.report["filters"].get("colorize-photo"), ["neuropaint:colorize-without-hints"])

    def test_colorize_without_its_model_leaves_the_layer_and_says_why(self):
        np.testing.assert_array_equal(self.read("missing-model.png"), self.photo)
        self.assertIn("neuropaint:colorize: no model named", self.log)
        self.assertIn("no-such-model", self.log)

    def test_installed_by_the_documented_step(self):
        self.assertIn("install-user: the GIMP 3.0 plug-in", self.install_log)
        self.assertIn("models in", self.install_log)

    def test_ops_built_on_debian_12_load_in_gimp_3s_gegl(self):
        for name in CASES:
            with self.subTest(op=name):
                np.testing.assert_array_equal(self.read("host-%s.png" % name), self.read("want-%s.png" % name))

    def test_crop_face_into_a_new_image(self):
        self.assertEqual(self.report["status"].get("crop"), "success", self.report["errors"].get("crop"))
        got, want = self.read("crop.png"), self.read("want-crop.png")
        self.assertEqual(got.shape[:2], (320, 256))       # the default size
        self.assertLessEqual(np.abs(got.astype(int) - want.astype(int)).max(), 1)

    def test_batch_filters_a_folder_and_names_the_bad_file(self):
        out = os.path.join(self.work, "batch-out")
        self.assertEqual(self.report["status"].get("batch"), "execution-error", self.report["errors"])
        self.assertIn("broken.png", self.report["batch-message"])
        self.assertEqual(sorted(os.listdir(out)), ["hopper.png", "photo.png"])   # no partial files
        got, want = self.read("batch-out/photo.png"), self.read("want-generator.png")
        self.assertEqual(got.shape, want.shape)
        self.assertLessEqual(np.abs(got.astype(int) - want.astype(int)).max(), 1)
        self.assertFalse(np.array_equal(got, self.photo))

    def test_gimp_lists_our_menu_entries(self):
        self.assertEqual(self.report["menus"]["plug-in-neuropaint-crop-face"],
                         ["Crop Face...", "<Image>/Image/Neuropaint"])
        self.assertEqual(self.report["menus"]["plug-in-neuropaint-batch"],
                         ["_Batch...", "<Image>/File/Neuropaint"])
        self.assertEqual(self.report["menus"]["plug-in-neuropaint-upscale"],
                         ["Super Resolution...", "<Image>/Image/Neuropaint"])
        self.assertEqual(self.report["menus"]["plug-in-neuropaint-colorize-photo"],
                         ["Colorize Photo", "<Image>/Image/Neuropaint"])
        shortcuts = os.path.join(self.work, "home", ".config", "GIMP", "3.0", "shortcutsrc")
        self.assertTrue(os.path.exists(shortcuts), "the GUI run wrote no shortcutsrc")
        with open(shortcuts) as f:
            actions = f.read()
        for op in set(op for op, *_ in CASES.values()):
            self.assertIn('(action "filters-%s")' % op.replace(":", "-"), actions)


if __name__ == "__main__":
    nptest.main()
