"""The GIMP 2.10 plug-in, headless: gimp-console runs our procedures from a
Script-Fu batch on a photo, and the saved result is checked against NumPy,
OpenCV, the neuropaint command and the gegl command. gimp-console exits 0
even when a batch fails, so the output file and stderr are what is checked.

Each procedure takes the op's properties as typed arguments, in the op's
order; the tests read those (and their defaults) from the op through GEGL, as
the plug-in does, so a script here looks like a user's."""
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

import nptest

GIMP = shutil.which("gimp-console-2.10")
PLUGIN_DIR = os.environ.get("NP_GIMP_PLUGIN_DIR")
HOPPER = "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg"
HINT_DOT = (190, 60)   # (y, x): the astronaut's orange suit, in the half-size photo
SHIPPED_COLORIZER = os.path.join(nptest.SOURCE_ROOT, "models", "gray2color.safetensors")
# A tiny dream model (64×80 from a latent vector) and a tiny ×2 model, from tests/data.
DREAM = {"model": os.path.join(nptest.SOURCE_ROOT, "tests", "data", "dream-latent-tiny.safetensors"),
         "sr_model": os.path.join(nptest.SOURCE_ROOT, "tests", "data", "edsr-tiny.safetensors"), "seed": 5}


def typed_arguments(op, **values):
    """The op's user properties (all but role output-extent) as Script-Fu
    arguments: its defaults, with values (by property name, _ for -) instead."""
    import gi
    gi.require_version("Gegl", "0.4")
    from gi.repository import Gegl, GObject
    Gegl.init(None)
    args = []
    for pspec in Gegl.Operation.list_properties(op):
        # Outputs and the installed models' list (offered in the model's field) are no arguments.
        if (Gegl.Operation.get_property_key(op, pspec.name, "role") == "output-extent"
                or Gegl.Operation.get_property_key(op, pspec.name, "neuropaint:choices-of")):
            continue
        value = values.get(pspec.name.replace("-", "_"), pspec.default_value)
        if isinstance(value, str):
            args.append('"%s"' % value)
        elif isinstance(value, bool):
            args.append("1" if value else "0")
        elif isinstance(value, GObject.GEnum) or isinstance(value, int):
            args.append(str(int(value)))
        else:
            args.append(repr(float(value)))
    return " ".join(args)


def argument_index(op, name):
    """Where property name is among the procedure's arguments (run mode,
    image and drawable come first)."""
    import gi
    gi.require_version("Gegl", "0.4")
    from gi.repository import Gegl
    Gegl.init(None)
    names = [p.name for p in Gegl.Operation.list_properties(op)
             if Gegl.Operation.get_property_key(op, p.name, "role") != "output-extent"
             and not Gegl.Operation.get_property_key(op, p.name, "neuropaint:choices-of")]
    return 3 + names.index(name)


def filter_script(src, out, procedure, arguments, before=""):
    """Script-Fu: (procedure RUN-NONINTERACTIVE image drawable arguments) on
    src, after `before` (which sees image and drawable), saved as out."""
    return ('(let* ((image (car (gimp-file-load RUN-NONINTERACTIVE "{src}" "{src}")))'
            '       (drawable (car (gimp-image-get-active-drawable image))))'
            '  {before}'
            '  ({proc} RUN-NONINTERACTIVE image drawable {args})'
            '  (gimp-file-save RUN-NONINTERACTIVE image drawable "{out}" "{out}"))'
            ).format(src=src, out=out, proc=procedure, args=arguments, before=before)


def new_image_script(src, out, procedure, arguments):
    """Script-Fu: the new image (procedure RUN-NONINTERACTIVE ...) returns, saved as out."""
    return ('(let* ((image (car (gimp-file-load RUN-NONINTERACTIVE "{src}" "{src}")))'
            '       (drawable (car (gimp-image-get-active-drawable image)))'
            '       (new (car ({proc} RUN-NONINTERACTIVE image drawable {args}))))'
            '  (gimp-file-save RUN-NONINTERACTIVE new (car (gimp-image-get-active-drawable new))'
            '                  "{out}" "{out}"))'
            ).format(src=src, out=out, proc=procedure, args=arguments)


class GimpPlugin(unittest.TestCase):
    """One GIMP run does every case (each its own batch command, so a failing
    one does not stop the rest); the tests then check each output."""

    @classmethod
    def setUpClass(cls):
        import cv2
        if not GIMP or not PLUGIN_DIR:
            raise unittest.SkipTest("needs gimp-console-2.10 and the plug-in built for it (-Dgimp=2.0 or auto)")
        cls.tmp = tempfile.mkdtemp(prefix="np-gimp-")
        src = os.path.join(cls.tmp, "in.png")
        cls.photo = nptest.read_rgb(nptest.ASTRONAUT)[::2, ::2, :3].copy()
        cv2.imwrite(src, cv2.cvtColor(cls.photo, cv2.COLOR_RGB2BGR))
        filters = {
            "threshold": ("plug-in-neuropaint-rgb-threshold", '120 ""', ""),
            "chain": ("plug-in-neuropaint-rgb-threshold", '120 "threshold=150"', ""),
            # Only the selected rectangle may change.
            "selection": ("plug-in-neuropaint-rgb-threshold", '100 ""',
                          "(gimp-image-select-rectangle image CHANNEL-OP-REPLACE 30 40 100 60)"),
            "gray": ("plug-in-neuropaint-gray", '""', ""),
            "canny": ("plug-in-neuropaint-canny",
                      typed_arguments("neuropaint:canny", low=60, high=140) + ' ""', ""),
            # color-mode is an enum: its integer value, as Script-Fu passes enums (hsv is 3).
            "cppn": ("plug-in-neuropaint-cppn",
                     typed_arguments("neuropaint:cppn", seed=5, color_mode=3) + ' ""', ""),
            "bogus": ("plug-in-neuropaint-rgb-threshold", '120 "bogus=1"', ""),
            "range": ("plug-in-neuropaint-rgb-threshold", '300 ""', ""),
            # No model: the op fails, and the layer must not get its empty output.
            "nomodel": ("plug-in-neuropaint-generator", typed_arguments("neuropaint:generator") + ' ""', ""),
            # A dream model fills the layer: its 64×80 face through the ×2 model to the layer's size.
            "dream": ("plug-in-neuropaint-dream-face", typed_arguments("neuropaint:dream-face", **DREAM) + ' ""', ""),
            # Without its ×2 model it cannot reach the layer's size: an error naming it, the layer kept.
            "dream-nosr": ("plug-in-neuropaint-dream-face",
                           typed_arguments("neuropaint:dream-face", **dict(DREAM, sr_model="no-such-sr")) + ' ""',
                           ""),
        }
        # Colour hints: a hint layer with one red dot, the echo model (its
        # chroma is its hints'), the layer as the filter's last argument.
        cls.echo, hints = os.path.join(cls.tmp, "echo.safetensors"), os.path.join(cls.tmp, "hints.png")
        nptest.hint_echo_model(cls.echo, cls.photo.shape[1], cls.photo.shape[0])
        dot = np.zeros(cls.photo.shape[:2] + (4,), np.uint8)
        dot[HINT_DOT] = (30, 30, 220, 255)            # BGRA: red
        cv2.imwrite(hints, dot)
        filters["hints"] = ("plug-in-neuropaint-colorize",
                            typed_arguments("neuropaint:colorize", model=cls.echo)
                            + ' "" (car (gimp-image-get-layer-by-name image "hints.png"))',
                            '(gimp-image-insert-layer image (car (gimp-file-load-layer RUN-NONINTERACTIVE image '
                            '"%s")) 0 -1)' % hints)
        # As users meet it: the shipped gray2color (which never saw a hint),
        # alone and with a blue dot on the suit it colours brown.
        if os.path.exists(SHIPPED_COLORIZER):
            nptest.write_blue_dot(os.path.join(cls.tmp, "blue.png"), cls.photo.shape, HINT_DOT)
            shipped = typed_arguments("neuropaint:colorize", model=SHIPPED_COLORIZER)
            filters["shipped"] = ("plug-in-neuropaint-colorize", shipped + ' "" -1', "")
            filters["shipped-hints"] = ("plug-in-neuropaint-colorize",
                                        shipped + ' "" (car (gimp-image-get-layer-by-name image "blue.png"))',
                                        '(gimp-image-insert-layer image (car (gimp-file-load-layer '
                                        'RUN-NONINTERACTIVE image "%s")) 0 -1)' % os.path.join(cls.tmp, "blue.png"))
        scripts = [filter_script(src, cls.output(name), *case) for name, case in filters.items()]
        if os.path.exists(HOPPER):
            scripts.append(new_image_script(HOPPER, cls.output("crop"), "plug-in-neuropaint-crop-face",
                                            typed_arguments("neuropaint:face-crop") + ' ""'))
        with tempfile.TemporaryDirectory() as profile:
            # A private profile whose plug-in path adds our build folder to GIMP's own.
            with open(os.path.join(profile, "gimprc"), "w") as f:
                f.write('(plug-in-path "${gimp_dir}/plug-ins:${gimp_plug_in_dir}/plug-ins:%s")\n' % PLUGIN_DIR)
            batch = [arg for script in scripts for arg in ("-b", script)]
            cls.gimp = subprocess.run([GIMP, "-i", "-d", "-f"] + batch + ["-b", "(gimp-quit 0)"],
                                      capture_output=True, text=True, timeout=600,
                                      env=dict(os.environ, GIMP2_DIRECTORY=profile))

    @classmethod
    def output(cls, name):
        return os.path.join(cls.tmp, name + ".png")

    def result(self, name):
        path = self.output(name)
        self.assertTrue(os.path.exists(path), "GIMP wrote no %s; stderr:\n%s" % (name, self.gimp.stderr))
        return nptest.read_rgb(path)[..., :3]

    def test_a_hint_layer_colours_the_suit_under_its_dot(self):
        got = self.result("hints").astype(float) / 255
        nptest.assert_hint_coloured(self, got, HINT_DOT)

    def test_a_blue_dot_turns_the_suit_blue_with_the_shipped_model(self):
        """The shipped gray2color colours the suit brown; a 3×3 blue dot on a
        hint layer spreads over the suit around it."""
        if not os.path.exists(SHIPPED_COLORIZER):
            self.skipTest("needs the shipped gray2color model")
        nptest.assert_blue_dot_spreads(self, self.result("shipped"), self.result("shipped-hints"), HINT_DOT)

    def test_rgb_threshold_through_gimp(self):
        np.testing.assert_array_equal(self.result("threshold"), (self.photo > 120).astype(np.uint8) * 120)

    def test_chain_argument_comes_last(self):
        np.testing.assert_array_equal(self.result("chain"), (self.photo > 150).astype(np.uint8) * 150)

    def test_selection_is_respected(self):
        want = self.photo.copy()
        want[40:100, 30:130] = (self.photo[40:100, 30:130] > 100).astype(np.uint8) * 100
        np.testing.assert_array_equal(self.result("selection"), want)

    def test_gray_through_gimp(self):
        import cv2
        want = cv2.cvtColor(self.photo, cv2.COLOR_RGB2GRAY).astype(int)
        self.assertLessEqual(np.abs(self.result("gray")[..., 0].astype(int) - want).max(), 1)

    def test_canny_through_gimp(self):
        import cv2
        got = self.result("canny")
        for c in range(3):
            want = cv2.Canny(np.ascontiguousarray(self.photo[..., c]), 60, 140)
            agree = (got[..., c] == want).mean()
            self.assertGreaterEqual(agree, 0.995, "channel %d agrees on %.4f" % (c, agree))

    def test_cppn_renders_over_the_layer(self):
        got = self.result("cppn")
        with tempfile.TemporaryDirectory() as tmp:
            want_path = os.path.join(tmp, "want.png")
            nptest.run(["cppn", "-o", want_path, "--seed", "5", "--color-mode", "hsv",
                        "--width", str(self.photo.shape[1]), "--height", str(self.photo.shape[0])])
            want = nptest.read_rgb(want_path)[..., :3]
        self.assertEqual(got.shape, want.shape)
        self.assertLessEqual(np.abs(got.astype(int) - want.astype(int)).max(), 1)

    def test_crop_face_into_a_new_image(self):
        if not os.path.exists(HOPPER) or not shutil.which("gegl"):
            self.skipTest("needs facedetect's example photo and the gegl command")
        got = self.result("crop")
        want_path = self.output("crop-want")
        subprocess.run(["gegl", HOPPER, "-o", want_path, "--", "neuropaint:face-crop"], check=True,
                       capture_output=True)
        want = nptest.read_rgb(want_path)[..., :3]
        if want.dtype == np.uint16:                     # gegl saves float results as 16-bit PNG
            want = np.round(want / 257.0)
        self.assertEqual(got.shape[:2], (320, 256))       # the default size
        self.assertLessEqual(np.abs(got.astype(int) - want.astype(int)).max(), 1)

    def test_a_dream_model_fills_the_layer_through_the_sr_model(self):
        got = self.result("dream")
        with tempfile.TemporaryDirectory() as tmp:
            want_path = os.path.join(tmp, "want.png")
            subprocess.run(["gegl", "-o", want_path, "--", "neuropaint:dream-face"]
                           + ["%s=%s" % (k.replace("_", "-"), v) for k, v in DREAM.items()]
                           + ["width=%d" % self.photo.shape[1], "height=%d" % self.photo.shape[0]],
                           check=True, capture_output=True)
            want = nptest.read_rgb(want_path)[..., :3]
        if want.dtype == np.uint16:                     # gegl saves float results as 16-bit PNG
            want = np.round(want / 257.0)
        self.assertEqual(got.shape, self.photo.shape)
        self.assertLessEqual(np.abs(got.astype(int) - want.astype(int)).max(), 1)

    def test_a_dream_model_without_its_sr_model_says_so(self):
        self.assertFalse(os.path.exists(self.output("dream-nosr")), "a failed filter must not save a result")
        self.assertIn("no-such-sr", self.gimp.stderr)

    def test_bad_property_fails_cleanly(self):
        self.assertFalse(os.path.exists(self.output("bogus")), "a failed filter must not save a result")
        self.assertIn("bogus", self.gimp.stderr)

    def test_failed_op_leaves_the_layer_alone(self):
        self.assertFalse(os.path.exists(self.output("nomodel")), "a failed filter must not save a result")
        self.assertIn("no model file given", self.gimp.stderr)

    def test_argument_out_of_range_fails_cleanly(self):
        self.assertFalse(os.path.exists(self.output("range")), "a failed filter must not save a result")
        self.assertIn("threshold is out of its range", self.gimp.stderr)


# The ops with a model property, whose field offers the installed models.
MODEL_OPS = ("neuropaint:colorize", "neuropaint:colorize-without-hints", "neuropaint:generator",
             "neuropaint:super-resolution", "neuropaint:dream-face")


def procedure_of(op):
    return "plug-in-" + op.replace(":", "-")


def script_bytes(text):
    """A Script-Fu INT8ARRAY holding text and its NUL."""
    return "#(%s)" % " ".join(str(b) for b in text.encode() + b"\0")


class InstalledPerUser(unittest.TestCase):
    """GIMP 2.10 as a new user meets it: a fresh account, neuropaint installed
    by the documented step alone (tools/install-user, run before GIMP ever
    ran), GEGL's default plug-in path (no GEGL_PATH), and a scanned photo,
    which GIMP opens in Grayscale mode."""

    @classmethod
    def setUpClass(cls):
        import cv2
        if not GIMP or not PLUGIN_DIR:
            raise unittest.SkipTest("needs gimp-console-2.10 and the plug-in built for it (-Dgimp=2.0 or auto)")
        cls.model = os.path.join(nptest.SOURCE_ROOT, "models", "gray2color.safetensors")
        if not os.path.exists(cls.model):
            raise unittest.SkipTest("needs the shipped gray2color model")
        cls.tmp = tempfile.mkdtemp(prefix="np-gimp-user-")
        cls.home = os.path.join(cls.tmp, "home")
        os.makedirs(cls.home)
        cls.env = {k: v for k, v in os.environ.items()
                   if k not in ("GEGL_PATH", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "GIMP2_DIRECTORY")}
        cls.env["HOME"] = cls.home
        build = os.path.dirname(PLUGIN_DIR.rstrip("/"))   # build/plugins
        cls.install = subprocess.run([os.path.join(nptest.SOURCE_ROOT, "tools", "install-user"), build],
                                     capture_output=True, text=True, env=cls.env, timeout=300)
        if cls.install.returncode != 0:
            raise AssertionError("tools/install-user failed:\n" + cls.install.stderr)

        photo = nptest.read_rgb(nptest.ASTRONAUT)[::2, ::2, :3]
        cls.gray = cv2.cvtColor(np.ascontiguousarray(photo), cv2.COLOR_RGB2GRAY)
        scan = os.path.join(cls.tmp, "scan.png")
        cv2.imwrite(scan, cls.gray)                      # one channel: GIMP opens it in Grayscale mode
        cls.colour = os.path.join(cls.tmp, "colour.png")
        cv2.imwrite(cls.colour, cv2.cvtColor(np.ascontiguousarray(photo), cv2.COLOR_RGB2BGR))
        cls.photo = photo

        colorize = typed_arguments("neuropaint:colorize") + ' ""'
        # Colorize Photo runs the op without the hint pad (GIMP 3 keeps it editable).
        photo_args = typed_arguments("neuropaint:colorize-without-hints") + ' ""'
        threshold = "plug-in-neuropaint-rgb-threshold"
        first = [
            # One click: the scan becomes RGB and is coloured with the default model.
            filter_script(scan, cls.output("photo"), "plug-in-neuropaint-colorize-photo", photo_args),
            # The filter itself on the Grayscale scan says what to do instead.
            filter_script(scan, cls.output("filter-on-gray"), "plug-in-neuropaint-colorize", colorize + " -1"),
            # A model that is not there: an error naming it, and nothing saved.
            filter_script(scan, cls.output("missing"), "plug-in-neuropaint-colorize-photo",
                          typed_arguments("neuropaint:colorize-without-hints", model="no-such-model") + ' ""'),
            # Values as a dialog's OK leaves them, then a run with the last values.
            '(gimp-procedural-db-set-data "%s" %d %s)' % (threshold, len("threshold=77") + 1,
                                                          script_bytes("threshold=77")),
            filter_script(cls.colour, cls.output("last-values"), threshold, '200 ""').replace(
                "RUN-NONINTERACTIVE image drawable 200", "RUN-WITH-LAST-VALS image drawable 200"),
        ]
        # What each model op's procedure says its model can be: the installed models made for it.
        for op in MODEL_OPS:
            first.append('(let ((port (open-output-file "%s"))) (display (caddr (gimp-procedural-db-proc-arg '
                         '"%s" %d)) port) (close-output-port port))'
                         % (cls.output_text(op), procedure_of(op), argument_index(op, "model")))
        # A model chosen by its name from those: the generator, which has none by default.
        first.append(filter_script(cls.colour, cls.output("chosen"), "plug-in-neuropaint-generator",
                                   typed_arguments("neuropaint:generator", model="contours2color",
                                                   apply_filter=True) + ' ""'))
        cls.gimp = cls.run_gimp(first)
        # GIMP restarted: the values are still the last ones.
        second = [filter_script(cls.colour, cls.output("after-restart"), threshold, '200 ""').replace(
            "RUN-NONINTERACTIVE image drawable 200", "RUN-WITH-LAST-VALS image drawable 200")]
        cls.restarted = cls.run_gimp(second)

    @classmethod
    def run_gimp(cls, scripts):
        batch = [arg for script in scripts for arg in ("-b", script)]
        return subprocess.run([GIMP, "-i", "-d", "-f"] + batch + ["-b", "(gimp-quit 0)"],
                              capture_output=True, text=True, timeout=600, env=cls.env)

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "tmp"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def output(cls, name):
        return os.path.join(cls.tmp, name + ".png")

    @classmethod
    def output_text(cls, op):
        return os.path.join(cls.tmp, op.replace(":", "-") + ".txt")

    def test_the_model_field_offers_the_installed_models_made_for_the_op(self):
        installed = nptest.models_made_for(os.path.join(self.home, ".local", "share", "neuropaint", "models"))
        self.assertEqual(installed["neuropaint:colorize"], ["gray2color"])    # colourisers only
        for op in MODEL_OPS:
            with self.subTest(op=op):
                path = self.output_text(op)
                self.assertTrue(os.path.exists(path), "no argument description; stderr:\n" + self.gimp.stderr)
                with open(path) as f:
                    description = f.read()
                self.assertTrue(description.endswith("(installed: %s)" % ", ".join(installed[op])), description)

    def test_a_model_chosen_by_name_runs(self):
        path = self.output("chosen")
        self.assertTrue(os.path.exists(path), "GIMP wrote no result; stderr:\n" + self.gimp.stderr)
        want = os.path.join(self.tmp, "chosen-want.png")
        subprocess.run(["gegl", self.colour, "-o", want, "--", "neuropaint:generator", "model=contours2color",
                        "apply-filter=true"], check=True, capture_output=True, env=self.env)
        got, want = nptest.read_rgb(path)[..., :3].astype(int), nptest.read_rgb(want)[..., :3]
        if want.dtype == np.uint16:                     # gegl saves float results as 16-bit PNG
            want = np.round(want / 257.0)
        self.assertLessEqual(np.abs(got - want.astype(int)).max(), 1)
        self.assertGreater(np.abs(got - self.photo.astype(int)).mean(), 5)   # not the photo

    def test_colorize_photo_colours_a_grayscale_scan(self):
        path = self.output("photo")
        self.assertTrue(os.path.exists(path), "GIMP wrote no result; stderr:\n" + self.gimp.stderr)
        import cv2
        got = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        self.assertEqual(got.ndim, 3, "the image stayed in Grayscale mode")
        rgb = got[..., 2::-1].astype(float)
        # Colour (the gray scan has none), on the scan's own luminance.
        self.assertGreater(np.abs(rgb[..., 0] - rgb[..., 2]).mean(), 5)
        luma = rgb @ [0.299, 0.587, 0.114]
        self.assertLessEqual(np.percentile(np.abs(luma - self.gray), 99), 2.5)

    def test_the_filter_on_a_grayscale_image_says_what_to_do(self):
        self.assertFalse(os.path.exists(self.output("filter-on-gray")))
        self.assertIn("Grayscale mode", self.gimp.stderr)
        self.assertIn("Colorize Photo", self.gimp.stderr)

    def test_a_missing_model_is_named_and_nothing_is_saved(self):
        self.assertFalse(os.path.exists(self.output("missing")))
        self.assertIn("no-such-model", self.gimp.stderr)

    def test_last_values_survive_a_restart(self):
        want = (self.photo > 77).astype(np.uint8) * 77
        for name, run in (("last-values", self.gimp), ("after-restart", self.restarted)):
            with self.subTest(run=name):
                path = self.output(name)
                self.assertTrue(os.path.exists(path), "GIMP wrote no %s; stderr:\n%s" % (name, run.stderr))
                np.testing.assert_array_equal(nptest.read_rgb(path)[..., :3], want)

    def test_gimp_made_its_own_profile(self):
        # A profile folder made by hand left GIMP without its data folders.
        for run in (self.gimp, self.restarted):
            self.assertNotIn("Failed to save data", run.stderr)
        self.assertTrue(os.path.isdir(os.path.join(self.home, ".config", "GIMP", "2.10", "gradients")))


if __name__ == "__main__":
    nptest.main()
