"""The Debian packages (debian/), as a user gets them: in a fresh copy of a
minbase Debian 12 and Debian 13 chroot made by tools/package-chroot,
`apt-get install ./*.deb` pulls every dependency; the gegl command colours a
gray photo with the installed ops and models; the neuropaint command runs;
gimp-console finds our filters (GIMP 2.10 on Debian 12, GIMP 3 on 13); and
purging the packages leaves no file behind.

No file behind: our packages are installed (pulling their dependencies) and
purged, the chroot is listed; then they are installed again, used, purged,
and the listing must be the same. Purging the dependencies too must bring
back the fresh chroot's listing, less what apt, dpkg and the dependencies'
own caches keep (reported, never ours).

The packages are those `tools/package-chroot make RELEASE` (or `build`) left
in /var/tmp/np-pkg-RELEASE/debs: building them takes minutes, so this suite
installs what was built last, of this tree's version, and says so when the
tree changed since (NP_PKG_REBUILD=1 rebuilds them first). Skipped, saying how
to make them, without the chroots or without root."""
import os
import re
import shlex
import shutil
import subprocess
import unittest

import numpy as np

import nptest

TOOL = os.path.join(nptest.SOURCE_ROOT, "tools", "package-chroot")
PACKAGES = ["neuropaint", "gegl-plugin-neuropaint", "gimp-plugin-neuropaint", "neuropaint-models"]
# Paths that change with any apt run, or by running a program, and are
# nobody's files: apt's and dpkg's state, caches, logs, scratch space.
VOLATILE = ("proc", "dev", "sys", "run", "tmp", "var/tmp", "var/lib/apt", "var/lib/dpkg", "var/cache",
            "var/log", "var/lib/systemd", "root", "etc/ld.so.cache", "debs")

# What gimp-console must find, by GIMP version: the procedures our plug-in
# registers (GIMP 2.10: a filter procedure per op with a menu, and the new-image
# ones; GIMP 3: the new-image ones and Batch, the ops being GIMP's own filters).
# The one-click Colorize Photo route is checked too: gimp_check_script runs it
# on a gray scan.
GIMP_PROCEDURES = {
    "2.10": ["plug-in-neuropaint-" + op for op in (
        "gray", "rgb-threshold", "contours", "canny", "cppn", "face-detect", "face-crop", "generator",
        "colorize", "colorize-without-hints", "super-resolution", "dream-face", "crop-face", "upscale",
        "colorize-photo")],
    "3": ["plug-in-neuropaint-crop-face", "plug-in-neuropaint-upscale", "plug-in-neuropaint-batch",
          "plug-in-neuropaint-colorize-photo"],
}


def gimp_check_script(version, photo, scan, out, out_scan):
    """A batch for gimp-console: one line `np-proc NAME 1|0` per procedure
    of GIMP_PROCEDURES; Image ▸ Neuropaint ▸ Colorize Photo on scan (a gray
    PNG, which GIMP opens in Grayscale mode) exported as out_scan; GIMP 3
    also colours photo (an RGB image) with neuropaint:colorize as a filter,
    with its defaults, into out. A PNG a step exports into /tmp/np is in
    PackageTest.images."""
    procedures = GIMP_PROCEDURES[version]
    if version == "2.10":
        # Script-Fu; gimp-message goes to the console in batch mode.
        return " ".join(['(gimp-message (string-append "np-proc %s " (number->string '
                         '(car (gimp-procedural-db-proc-exists "%s")))))' % (p, p) for p in procedures] + [
            '(let* ((image (car (gimp-file-load RUN-NONINTERACTIVE "{0}" "{0}")))'
            '       (drawable (car (gimp-image-get-active-drawable image))))'
            '  (plug-in-neuropaint-colorize-photo RUN-NONINTERACTIVE image drawable "gray2color" 0 0 1.0 0 "")'
            '  (gimp-file-save RUN-NONINTERACTIVE image (car (gimp-image-get-active-drawable image))'
            '                  "{1}" "{1}"))'.format(scan, out_scan)])
    return "; ".join([
        "from gi.repository import Gimp, Gio",
        "pdb = Gimp.get_pdb()",
        "[print('np-proc', p, int(pdb.procedure_exists(p)), flush=True) for p in %r]" % procedures,
        "image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(%r))" % photo,
        "layer = image.get_layers()[0]",
        "f = Gimp.DrawableFilter.new(layer, 'neuropaint:colorize', 'Colorize')",
        "f.update()",
        "layer.merge_filter(f)",
        "Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path(%r), None)" % out,
        "scan = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(%r))" % scan,
        "procedure = pdb.lookup_procedure('plug-in-neuropaint-colorize-photo')",
        "config = procedure.create_config()",
        "config.set_property('run-mode', Gimp.RunMode.NONINTERACTIVE)",
        "config.set_property('image', scan)",
        "config.set_core_object_array('drawables', scan.get_layers())",
        "procedure.run(config)",
        "Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, scan, Gio.File.new_for_path(%r), None)" % out_scan,
    ])


def read_8bit(path):
    """R, G, B of an 8-bit PNG (the gegl command's and GIMP's exports here)."""
    img = nptest.read_rgb(path)[..., :3]
    assert img.dtype == np.uint8, "%s: %s, not 8 bits" % (path, img.dtype)
    return img.astype(int)


def luma(rgb):
    return rgb.astype(float) @ [0.299, 0.587, 0.114]


class PackageTest:
    """The packages of one release (RELEASE, GIMP), in DIR/test, a fresh
    copy of DIR/base made for the run and removed after it."""
    RELEASE = None
    GIMP = None

    @classmethod
    def setUpClass(cls):
        import cv2
        cls.dir = os.environ.get("NP_PKG_CHROOT_" + cls.RELEASE.upper(), "/var/tmp/np-pkg-" + cls.RELEASE)
        make = ("make them with `tools/package-chroot make %s` (root, debootstrap, about 10 minutes "
                "and 2 GB)" % cls.RELEASE)
        if os.geteuid() != 0:
            raise unittest.SkipTest("the package tests enter chroots, which needs root")
        if not os.path.isfile(os.path.join(cls.dir, "base", "etc", "debian_version")):
            raise unittest.SkipTest("no Debian %s chroot at %s: %s" % (cls.RELEASE, cls.dir, make))
        debs = sorted(f for f in os.listdir(os.path.join(cls.dir, "debs")) if f.endswith(".deb")) \
            if os.path.isdir(os.path.join(cls.dir, "debs")) else []
        if not debs:
            raise unittest.SkipTest("no packages in %s/debs: %s" % (cls.dir, make))
        # Building takes minutes a release: the packages built last are
        # tested, and said to be stale when the tree changed since
        # (NP_PKG_REBUILD=1 rebuilds them first).
        status = subprocess.run([TOOL, "status", cls.dir], capture_output=True, text=True)
        if status.returncode != 0 and os.environ.get("NP_PKG_REBUILD"):
            build = subprocess.run([TOOL, "build", cls.dir], capture_output=True, text=True)
            if build.returncode != 0:
                raise AssertionError("building the packages failed:\n" + build.stderr)
            debs = sorted(f for f in os.listdir(os.path.join(cls.dir, "debs")) if f.endswith(".deb"))
        elif status.returncode != 0:
            # Packages of another tree would test other code.
            raise unittest.SkipTest("%s: NP_PKG_REBUILD=1 or `tools/package-chroot build %s` rebuilds them"
                                    % (status.stdout.strip(), cls.RELEASE))
        with open(os.path.join(nptest.SOURCE_ROOT, "debian", "changelog")) as f:
            version = re.match(r"\S+ \(([^)]+)\)", f.readline()).group(1)
        for package in PACKAGES:
            if not any(d.startswith("%s_%s_" % (package, version)) for d in debs):
                raise AssertionError("%s/debs has no %s %s (it has %s): rebuild with "
                                     "`tools/package-chroot build %s`" % (cls.dir, package, version, debs, cls.RELEASE))

        cls.root = os.path.join(cls.dir, "test")
        shutil.rmtree(cls.root, ignore_errors=True)
        subprocess.run(["cp", "-a", os.path.join(cls.dir, "base"), cls.root], check=True)
        # dpkg without a sync per file: the same files, installed faster.
        with open(os.path.join(cls.root, "etc", "apt", "apt.conf.d", "90np-unsafe-io"), "w") as f:
            f.write('Dpkg::Options { "--force-unsafe-io"; };\n')
        fresh = cls.listing()
        os.makedirs(os.path.join(cls.root, "debs"))
        for deb in debs:
            shutil.copy(os.path.join(cls.dir, "debs", deb), os.path.join(cls.root, "debs"))
        work = os.path.join(cls.root, "tmp", "np")
        os.makedirs(work)
        # A photo made gray, the job colorize is for.
        cls.gray = cv2.cvtColor(cv2.imread(nptest.ASTRONAUT)[::2, ::2], cv2.COLOR_BGR2GRAY)
        cv2.imwrite(os.path.join(work, "gray.png"), cls.gray)
        cv2.imwrite(os.path.join(work, "rgb.png"), cv2.cvtColor(cls.gray, cv2.COLOR_GRAY2BGR))

        # The dependencies' packages are kept across runs in DIR/apt-cache,
        # so a run downloads only what the mirror changed.
        cache, archives = os.path.join(cls.dir, "apt-cache"), os.path.join(cls.root, "var", "cache", "apt", "archives")
        os.makedirs(cache, exist_ok=True)
        for deb in os.listdir(cache):
            os.link(os.path.join(cache, deb), os.path.join(archives, deb))
        cls.install = cls.inside("apt-get update -qq && apt-get install -y ./debs/*.deb")
        for deb in os.listdir(archives):
            if deb.endswith(".deb") and not os.path.exists(os.path.join(cache, deb)):
                os.link(os.path.join(archives, deb), os.path.join(cache, deb))
        cls.apt_installed = cls.inside("dpkg-query -W -f '${Package} ${Status}\\n'").stdout
        cls.dependencies_only = None
        if cls.install.returncode == 0:
            cls.inside("apt-get purge -y %s" % " ".join(PACKAGES), check=True)
            cls.dependencies_only = cls.listing()
            cls.inside("apt-get install -y ./debs/*.deb", check=True)
            cls.use(work)
            cls.inside("apt-get purge -y %s" % " ".join(PACKAGES), check=True)
            cls.after_purge = cls.listing()
            # Not kept for what the base system recommends (apt recommends ca-certificates).
            cls.inside("apt-get autoremove -y --purge -o APT::AutoRemove::RecommendsImportant=false "
                       "-o APT::AutoRemove::SuggestsImportant=false", check=True)
            cls.after_autoremove = cls.listing()
        cls.fresh = fresh

    @classmethod
    def use(cls, work):
        """Runs what users run; keeps each command's result by name."""
        # No bytecode caches from GIMP's own Python plug-ins (python-console),
        # which GIMP's first start would leave in its folder.
        home = "cd /tmp/np && HOME=/tmp/np/home PYTHONDONTWRITEBYTECODE=1 "
        gimp = {"2.10": "gimp-console-2.10 -i -d -f -b %s -b '(gimp-quit 0)'",
                "3": "gimp-console-3.0 -i --quit --batch-interpreter=python-fu-eval -b %s"}[cls.GIMP]
        script = gimp_check_script(cls.GIMP, "/tmp/np/rgb.png", "/tmp/np/gray.png", "/tmp/np/gimp-colorize.png",
                                   "/tmp/np/gimp-colorize-photo.png")
        cls.runs = {
            # 8 bits: Debian 13's babl garbles `-o`'s 16 on CPUs without AVX (docs/pipelines.md).
            "gegl": cls.inside(home + "gegl gray.png -- neuropaint:colorize gegl:png-save bitdepth=8 path=colour.png"),
            "version": cls.inside(home + "neuropaint --version"),
            "models": cls.inside(home + "neuropaint models --verbose"),
            "gimp": cls.inside("mkdir -p /tmp/np/home && " + home + gimp % shlex.quote(script)),
        }
        cls.images = {name: read_8bit(os.path.join(work, name)) for name in os.listdir(work)
                      if name.endswith(".png") and name not in ("gray.png", "rgb.png")}

    @classmethod
    def inside(cls, command, check=False):
        proc = subprocess.run([TOOL, "run", cls.root, "sh", "-c",
                               "export DEBIAN_FRONTEND=noninteractive; " + command],
                              capture_output=True, text=True, timeout=1800)
        if check and proc.returncode != 0:
            raise AssertionError("%s failed in %s:\n%s%s" % (command, cls.root, proc.stdout[-3000:], proc.stderr))
        return proc

    @classmethod
    def listing(cls):
        """Every path in the chroot, less the VOLATILE ones."""
        paths = set()
        for top, dirs, files in os.walk(cls.root):
            rel = os.path.relpath(top, cls.root)
            rel = "" if rel == "." else rel + "/"
            dirs[:] = [d for d in dirs if (rel + d) not in VOLATILE]
            paths.update(rel + name for name in dirs + files if (rel + name) not in VOLATILE)
        return paths

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "root") and not os.environ.get("NP_KEEP_TMP"):
            shutil.rmtree(cls.root, ignore_errors=True)

    def setUp(self):
        self.assertEqual(self.install.returncode, 0, "apt-get install ./*.deb failed:\n%s%s"
                         % (self.install.stdout[-3000:], self.install.stderr))

    def test_install_pulls_what_colouring_a_photo_needs(self):
        installed = {line.split()[0] for line in self.apt_installed.splitlines() if line.endswith(" installed")}
        # The gegl command, GIMP and the face cascades come as dependencies.
        for package in PACKAGES + ["gegl", "gimp", "opencv-data"]:
            self.assertIn(package, installed)

    def test_gegl_colours_a_gray_photo_on_its_own_luminance(self):
        self.assertEqual(self.runs["gegl"].returncode, 0, self.runs["gegl"].stderr)
        got = self.images["colour.png"]
        # Colour: the channels differ, by a few levels on average.
        self.assertGreater(np.abs(got[..., 0] - got[..., 2]).mean(), 3)
        self.assertGreater(np.abs(got[..., 0] - got[..., 1]).mean(), 1)
        # The photo's luminance kept (8-bit rounding, and the gamut rule only shrinks chroma).
        self.assertLessEqual(np.percentile(np.abs(luma(got) - self.gray), 99), 2.5)

    def test_neuropaint_command_runs_and_finds_the_models(self):
        with open(os.path.join(nptest.SOURCE_ROOT, "meson.build")) as f:
            version = re.search(r"version: '([^']+)'", f.read()).group(1)
        self.assertEqual(self.runs["version"].returncode, 0, self.runs["version"].stderr)
        self.assertTrue(self.runs["version"].stdout.startswith("neuropaint %s " % version), self.runs["version"].stdout)
        self.assertIn("/usr/share/neuropaint/models/gray2color.safetensors", self.runs["models"].stdout)

    def test_gimp_console_finds_the_filters(self):
        found = dict(re.findall(r"np-proc (\S+) (\d)", self.runs["gimp"].stdout + self.runs["gimp"].stderr))
        for procedure in GIMP_PROCEDURES[self.GIMP]:
            self.assertEqual(found.get(procedure), "1", "GIMP %s has no %s:\n%s%s" % (
                self.GIMP, procedure, self.runs["gimp"].stdout[-2000:], self.runs["gimp"].stderr[-3000:]))

    def test_colorize_photo_colours_a_grayscale_scan_in_gimp(self):
        self.assertIn("gimp-colorize-photo.png", self.images, "GIMP %s wrote no colourised scan:\n%s%s"
                      % (self.GIMP, self.runs["gimp"].stdout[-2000:], self.runs["gimp"].stderr[-3000:]))
        got = self.images["gimp-colorize-photo.png"]
        self.assertGreater(np.abs(got[..., 0] - got[..., 2]).mean(), 3)
        self.assertLessEqual(np.percentile(np.abs(luma(got) - self.gray), 99), 2.5)

    def test_purge_leaves_no_file_behind(self):
        self.assertEqual(sorted(self.after_purge - self.dependencies_only), [], "left behind by our packages")
        self.assertEqual(sorted(self.dependencies_only - self.after_purge), [], "removed by our packages")
        # With the dependencies purged too, nothing of ours may stay (what
        # the dependencies leave is theirs: printed, not asserted).
        left = sorted(self.after_autoremove - self.fresh)
        self.assertEqual([p for p in left if "neuropaint" in p], [])
        if left:
            print("left by the dependencies after `apt-get autoremove --purge` (%d paths): %s"
                  % (len(left), " ".join(left[:40])))


class Bookworm(PackageTest, unittest.TestCase):
    RELEASE = "bookworm"
    GIMP = "2.10"


class Trixie(PackageTest, unittest.TestCase):
    RELEASE = "trixie"
    GIMP = "3"

    def test_gimp_colours_a_photo_with_the_installed_filter(self):
        self.assertIn("gimp-colorize.png", self.images, "GIMP 3 wrote no colourised photo:\n%s%s"
                      % (self.runs["gimp"].stdout[-2000:], self.runs["gimp"].stderr[-3000:]))
        got = self.images["gimp-colorize.png"]
        self.assertGreater(np.abs(got[..., 0] - got[..., 2]).mean(), 3)
        self.assertLessEqual(np.percentile(np.abs(luma(got) - self.gray), 99), 2.5)


if __name__ == "__main__":
    nptest.main()
