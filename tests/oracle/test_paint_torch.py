"""neuropaint:colorize, neuropaint:super-resolution and neuropaint:dream-face
against independent implementations of what docs/operations.md says they do:
Pillow resizes the photo's luma to the model's scale (Image.BILINEAR), PyTorch
runs the network (tools/export_torch.py builds it from the model file), NumPy
interpolates the chroma bicubically and applies the gamut rule, scikit-image
converts Lab, and tests/nprandom.py draws a dream's noise from its seed.

The ops run through the neuropaint and gegl commands on the tiny random models
in tests/data; 8-bit results must agree within one level (float32 against
float64 and other summation orders may round the other way)."""
import os
import subprocess
import sys
import tempfile
import unittest

import nptest

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(nptest.SOURCE_ROOT, "tools"))
    import export_torch as ex
    import nprandom
except ImportError as e:
    np = None
    MISSING = str(e)

DATA = os.path.join(nptest.SOURCE_ROOT, "tests", "data")
CHROMA = os.path.join(DATA, "colorize-tiny.safetensors")     # U-Net, 1 → Cb, Cr; trained size 64×80
BINS = os.path.join(DATA, "colorize-bins-tiny.safetensors")  # U-Net, 1 → 12 chroma bins' logits; 64×80
RGB = os.path.join(DATA, "generator-tiny.safetensors")       # U-Net, 3 → 3, input filter gray
SR = os.path.join(DATA, "sr-tiny.safetensors")
EDSR = os.path.join(DATA, "edsr-tiny.safetensors")          # EDSR-like, residual target
DREAM = os.path.join(DATA, "dream-tiny.safetensors")         # U-Net, noise → 3; trained size 64×80
LUMA = np.array([0.299, 0.587, 0.114]) if np else None


def torch_model(path):
    """The network a model file describes, as PyTorch modules, in eval mode."""
    tensors, meta = ex.read_safetensors(path)
    ints = {k: int(meta[k]) for k in ("ngf", "depth", "features", "blocks", "in_channels", "out_channels")
            if k in meta}
    if meta["architecture"] == "unet":
        model = ex.UNet(ints["ngf"], ints["depth"], ints["in_channels"], ints["out_channels"],
                        eps=float(meta.get("bn_eps", 1e-5)), half_logits=meta.get("half_logits") == "1")
    elif meta["architecture"] == "edsr":
        model = ex.EDSR(ints["features"], ints["blocks"], ints["in_channels"], ints["out_channels"])
    else:
        model = ex.SRNet(ints["features"], ints["in_channels"], ints["out_channels"])
    model.load_state_dict({"m." + k: torch.from_numpy(v) for k, v in tensors.items()})
    return model.eval()


def forward(model, x, multiple=1):
    """model on x (C, H, W in [-1, 1]), padded by edge replication to the
    multiple as the op pads, cropped back."""
    c, h, w = x.shape
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
    t = F.pad(t, (0, -w % multiple, 0, -h % multiple), mode="replicate")
    with torch.no_grad():
        y = model(t)[0].numpy().astype(np.float64)
    s = y.shape[1] / t.shape[2]       # 2 for super resolution, ½ for a chroma-bins model's logits
    return y[:, :int(np.ceil(s * h)), :int(np.ceil(s * w))]


def keys_taps(src, dst, a=-0.5):
    """Bicubic taps (indices clamped to the source, Keys weights) of each of
    dst samples over src, centres aligned."""
    u = (np.arange(dst) + 0.5) * src / dst - 0.5
    f = np.floor(u)
    idx = np.clip(f[:, None] - 1 + np.arange(4), 0, src - 1).astype(int)
    d = np.abs((u - f)[:, None] + 1 - np.arange(4))
    w = np.where(d <= 1, (a + 2) * d ** 3 - (a + 3) * d ** 2 + 1,
                 np.where(d < 2, a * d ** 3 - 5 * a * d ** 2 + 8 * a * d - 4 * a, 0.0))
    return idx, w


def bicubic(plane, height, width, a=-0.5):
    ri, rw = keys_taps(plane.shape[0], height, a)
    ci, cw = keys_taps(plane.shape[1], width, a)
    rows = (plane[ri] * rw[:, :, None]).sum(1)
    return (rows[:, ci] * cw[None]).sum(2)


def on_luma(y, cb, cr, saturation=1.0):
    """Cb, Cr (times saturation) on luma y; out-of-gamut chroma scaled towards
    gray until it fits, so y stays. Returns R'G'B' (H, W, 3) and the mask of
    scaled pixels."""
    y = np.clip(y, 0, 1)
    dr, db = 1.402 * cr * saturation, 1.772 * cb * saturation
    d = np.stack([dr, -(0.299 * dr + 0.114 * db) / 0.587, db], -1)
    t = np.ones_like(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        for c in range(3):
            t = np.where(y + d[..., c] > 1, np.minimum(t, (1 - y) / d[..., c]), t)
            t = np.where(y + d[..., c] < 0, np.minimum(t, -y / d[..., c]), t)
    return np.clip(y[..., None] + t[..., None] * d, 0, 1), t < 1


def render_size(width, height, side):
    if width >= height:
        return side, max(1, int(np.rint(side * height / width)))
    return max(1, int(np.rint(side * width / height))), side


def pillow_resize(plane, size):
    from PIL import Image
    return np.asarray(Image.fromarray(plane.astype(np.float32), mode="F").resize(size, Image.BILINEAR),
                      dtype=np.float64)


def far_from_seams(size, tile, overlap, reach=8, scale=2):
    """Output samples (size·scale of them) farther than reach input pixels
    from every tile edge inside the picture, for the generator's tiles (the
    first at 0, each tile − overlap further, the last flush with the end)."""
    edges, x = set(), 0
    while True:
        at = min(x, max(0, size - tile))
        edges.update(e for e in (at, at + tile) if 0 < e < size)
        if at + tile >= size:
            break
        x += tile - overlap
    centre = (np.arange(size * scale) + 0.5) / scale
    return np.all([np.abs(centre - e) > reach for e in edges], 0) if edges else np.ones(size * scale, bool)


def photo(height, width, seed):
    """A smooth colour photo with detail: gradients, waves and a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    img = np.stack([0.5 + 0.4 * np.sin(7 * x + 3 * y), 0.5 + 0.4 * np.cos(5 * y - 2 * x),
                    0.5 + 0.4 * np.sin(11 * x * y + 1)], -1)
    img += rng.normal(0, 0.03, img.shape)
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


class PaintOracles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if np is None:
            raise unittest.SkipTest("needs NumPy and PyTorch: " + MISSING)
        torch.set_num_threads(1)
        cls.dir = tempfile.mkdtemp(prefix="np-paint-oracle-")

    def write(self, name, rgb):
        import cv2
        path = os.path.join(self.dir, name)
        cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        return path

    def run_op(self, path, chain):
        """`neuropaint run` of chain on path; the result as uint8 RGB."""
        out = os.path.join(self.dir, "out")
        nptest.run(["run", "-o", out, path, "--"] + chain.split())
        return nptest.read_rgb(os.path.join(out, os.path.splitext(os.path.basename(path))[0] + ".png"))[..., :3]

    def agree(self, ours, want, what, mask=None):
        diff = np.abs(ours.astype(int) - np.rint(np.asarray(want) * 255).astype(int))
        if mask is not None:
            diff = diff[mask]
        print("%s: max %d, mean %.4f levels" % (what, diff.max(), diff.mean()))
        self.assertLessEqual(diff.max(), 1, what)
        self.assertLess(diff.mean(), 0.05, what)

    def test_colorize_chroma_model(self):
        """The model's Cb, Cr at its scale, bicubic, on the photo's own luma."""
        rgb = photo(203, 301, 1)
        ours = self.run_op(self.write("chroma.png", rgb), "neuropaint:colorize model=" + CHROMA)
        luma = (rgb / 255.0) @ LUMA
        rw, rh = render_size(301, 203, 80)     # the model's long side
        small = pillow_resize(luma, (rw, rh))
        out = forward(torch_model(CHROMA), small[None] * 2 - 1, 8)
        want, scaled = on_luma(luma, bicubic(0.5 * out[0], 203, 301), bicubic(0.5 * out[1], 203, 301))
        self.agree(ours, want, "colorize, chroma model")
        # Not vacuous: the model gave colour, and the gamut rule had work.
        self.assertGreater(np.abs(ours.astype(int) - ours.mean(-1, keepdims=True)).mean(), 3)
        print("chroma scaled into the gamut: %.2f %% of pixels" % (100 * scaled.mean()))

    def test_colorize_chroma_bins_model(self):
        """A chroma-bins model's colour: the annealed mean of its bins'
        centres (the file's "chroma_bins", on 0–255) under softmax(logits /
        0.38) at half its scale (Zhang et al. 2016), then as a chroma
        model's, bicubic from there."""
        rgb = photo(203, 301, 2)
        ours = self.run_op(self.write("bins.png", rgb), "neuropaint:colorize model=" + BINS)
        luma = (rgb / 255.0) @ LUMA
        rw, rh = render_size(301, 203, 80)
        logits = forward(torch_model(BINS), pillow_resize(luma, (rw, rh))[None] * 2 - 1, 8)
        centres = np.array([[float(v) for v in pair.split(":")]
                            for pair in ex.read_safetensors(BINS)[1]["chroma_bins"].split(",")]) / 255

        def annealed(t):
            p = torch.softmax(torch.from_numpy(logits) / t, 0).numpy()
            cb, cr = np.einsum("khw,k->hw", p, centres[:, 0]), np.einsum("khw,k->hw", p, centres[:, 1])
            return on_luma(luma, bicubic(cb, 203, 301), bicubic(cr, 203, 301))[0]

        want = annealed(0.38)
        self.agree(ours, want, "colorize, chroma-bins model")
        # Not vacuous: the colour is the model's, and the temperature matters.
        self.assertGreater(np.abs(ours.astype(int) - ours.mean(-1, keepdims=True)).mean(), 3)
        self.assertGreater(np.abs(annealed(1.0) - want).max() * 255, 5)

    def colorize_with_hints(self, space):
        """Colour hints to a model that takes none (docs/operations.md#colour-hints),
        in the colour space given: the hint picture summed by area at the
        render scale (each photo pixel spread over the model pixels it
        overlaps), the residual hint − model chroma at each model pixel with
        a hint (for a*, b*: both put on the render's luma by the gamut rule,
        then scikit-image's Lab), the residuals and the mask smoothed along
        the gray render by Gastal and Oliveira's recursive filter (σ_s 0.2
        of the longer side, σ_r 0.3, 3 passes; written out here from the
        paper), their ratio damped by the mask's spread with edges over its
        spread without, added, then read back as without hints. Returns ours,
        the NumPy result, and ours without the hints."""
        from skimage import color
        import cv2
        h, w = 203, 301
        rgb = photo(h, w, 5)
        hints = np.zeros((h, w, 4), np.uint8)
        hints[40, 50] = (230, 40, 40, 255)            # a 1-pixel dot
        hints[150:153, 200:203] = (40, 90, 220, 255)  # 3×3
        hints[100:105, 250:255] = (60, 200, 80, 255)  # 5×5
        hints[20, 280] = (255, 255, 0, 100)           # under half opaque: no hint
        path = self.write("hinted.png", rgb)
        aux = os.path.join(self.dir, "aux")
        os.makedirs(aux, exist_ok=True)
        cv2.imwrite(os.path.join(aux, "hinted.png"), cv2.cvtColor(hints, cv2.COLOR_RGBA2BGRA))
        chain = ["neuropaint:colorize", "model=" + CHROMA, "color-space=" + space]
        out_dir = os.path.join(self.dir, "out-hints-" + space)
        nptest.run(["run", "-o", out_dir, "--aux", aux, path, "--"] + chain)
        ours = nptest.read_rgb(os.path.join(out_dir, "hinted.png"))[..., :3]
        plain = self.run_op(path, " ".join(chain))

        luma = (rgb / 255.0) @ LUMA
        rw, rh = render_size(w, h, 80)
        small = pillow_resize(luma, (rw, rh))
        out = forward(torch_model(CHROMA), small[None] * 2 - 1, 8)

        def in_space(cb, cr):
            if space == "ycbcr":
                return cb, cr
            lab = color.rgb2lab(on_luma(small, cb, cr)[0])
            return lab[..., 1], lab[..., 2]

        def overlaps(src, dst):
            """Photo pixel i covers [i·dst/src, (i + 1)·dst/src) model pixels."""
            a = np.arange(src)[:, None] * dst / src
            j = np.arange(dst)[None]
            return np.clip(np.minimum(a + dst / src, j + 1) - np.maximum(a, j), 0, None)

        ox, oy = overlaps(w, rw), overlaps(h, rh)
        on = (hints[..., 3] / 255.0 > 0.5).astype(float)
        hint = hints[..., :3] / 255.0
        hint_cb = -0.168736 * hint[..., 0] - 0.331264 * hint[..., 1] + 0.5 * hint[..., 2]
        hint_cr = 0.5 * hint[..., 0] - 0.418688 * hint[..., 1] - 0.081312 * hint[..., 2]
        area = oy.T @ on @ ox
        mask = (area > 0).astype(float)
        self.assertGreater(int(mask.sum()), 3)
        with np.errstate(invalid="ignore", divide="ignore"):
            want_1, want_2 = in_space(np.where(mask > 0, (oy.T @ (on * hint_cb) @ ox) / area, 0),
                                      np.where(mask > 0, (oy.T @ (on * hint_cr) @ ox) / area, 0))
        c1, c2 = in_space(0.5 * out[0], 0.5 * out[1])
        r1, r2 = (want_1 - c1) * mask, (want_2 - c2) * mask

        spread, _ = nptest.spread_hints(np.stack([r1, r2], -1), mask, small)
        c1, c2 = c1 + spread[..., 0], c2 + spread[..., 1]
        if space == "ycbcr":
            want, _ = on_luma(luma, bicubic(c1, h, w), bicubic(c2, h, w))
        else:
            lightness = color.rgb2lab(rgb / 255.0)[..., 0]
            want = color.lab2rgb(np.stack([lightness, bicubic(c1, h, w), bicubic(c2, h, w)], -1))
        return ours, want, plain

    def test_colorize_hints_spread_along_the_photo(self):
        ours, want, plain = self.colorize_with_hints("ycbcr")
        self.agree(ours, want, "colorize with hints, a model that takes none")
        # Not vacuous: the hints moved the colour, and far beyond the dots.
        moved = np.abs(ours.astype(int) - plain.astype(int)).max(-1) > 2
        print("hints moved %.1f %% of the pixels" % (100 * moved.mean()))
        self.assertGreater(moved.mean(), 0.2)

    def test_colorize_hints_in_lab(self):
        """The same with color-space=lab: residuals in a*, b*; where the
        result is in gamut, within two levels (as test_colorize_lab)."""
        ours, want, plain = self.colorize_with_hints("lab")
        fits = np.all((want > 1e-3) & (want < 1 - 1e-3), -1)
        diff = np.abs(ours.astype(int) - np.rint(np.clip(want, 0, 1) * 255).astype(int))[fits]
        print("colorize with hints, Lab: max %d, mean %.4f levels where in gamut (%.0f %% of pixels)"
              % (diff.max(), diff.mean(), 100 * fits.mean()))
        self.assertGreater(fits.mean(), 0.5)
        self.assertLessEqual(diff.max(), 2)
        self.assertLess(diff.mean(), 0.1)
        self.assertGreater((np.abs(ours.astype(int) - plain.astype(int)).max(-1) > 2).mean(), 0.2)

    def test_colorize_rgb_model_saturation_and_render_size(self):
        """An RGB model's own chroma is taken (YCbCr of its picture); a
        colour photo is made gray first."""
        rgb = photo(180, 120, 2)
        ours = self.run_op(self.write("rgbmodel.png", rgb),
                           "neuropaint:colorize model=%s render-size=100 saturation=1.7" % RGB)
        luma = (rgb / 255.0) @ LUMA
        rw, rh = render_size(120, 180, 100)
        small = pillow_resize(luma, (rw, rh))
        out = (forward(torch_model(RGB), np.repeat(small[None] * 2 - 1, 3, 0), 8) + 1) / 2
        model_luma = np.einsum("chw,c->hw", np.clip(out, 0, 1), LUMA)
        cb = (np.clip(out[2], 0, 1) - model_luma) / 1.772
        cr = (np.clip(out[0], 0, 1) - model_luma) / 1.402
        want, _ = on_luma(luma, bicubic(cb, 180, 120), bicubic(cr, 180, 120), 1.7)
        self.agree(ours, want, "colorize, RGB model")

    def test_colorize_lab(self):
        """color-space=lab keeps L* (the photo's linear luminance) and takes
        a*, b* from the model (scikit-image's Lab, D65)."""
        from skimage import color
        rgb = photo(150, 200, 3)
        ours = self.run_op(self.write("lab.png", rgb), "neuropaint:colorize model=%s color-space=lab" % CHROMA)
        luma = (rgb / 255.0) @ LUMA
        rw, rh = render_size(200, 150, 80)
        small = pillow_resize(luma, (rw, rh))
        out = forward(torch_model(CHROMA), small[None] * 2 - 1, 8)
        model_rgb, _ = on_luma(small, 0.5 * out[0], 0.5 * out[1])
        lab = color.rgb2lab(model_rgb)
        a, b = bicubic(lab[..., 1], 150, 200), bicubic(lab[..., 2], 150, 200)
        lightness = color.rgb2lab(rgb / 255.0)[..., 0]
        xyz = color.lab2xyz(np.stack([lightness, a, b], -1))
        linear = xyz @ color.colorconv.rgb_from_xyz.T
        fits = np.all((linear > -1e-3) & (linear < 1 + 1e-3), -1)
        want = color.lab2rgb(np.stack([lightness, a, b], -1))
        self.assertGreater(fits.mean(), 0.5)
        # scikit-image's sRGB matrix has fewer digits than ours: two levels.
        diff = np.abs(ours.astype(int) - np.rint(want * 255).astype(int))[fits]
        print("colorize, Lab: max %d, mean %.4f levels where in gamut" % (diff.max(), diff.mean()))
        self.assertLessEqual(diff.max(), 2)
        self.assertLess(diff.mean(), 0.1)
        # Everywhere, in gamut or not, L* is the photo's.
        got_l = color.rgb2lab(ours / 255.0)[..., 0]
        self.assertLess(np.abs(got_l - lightness).max(), 0.6)

    def test_super_resolution(self):
        rgb = photo(50, 70, 4)
        path = self.write("sr.png", rgb)
        whole = self.run_op(path, "neuropaint:super-resolution tile-size=4096 model=" + SR)
        self.assertEqual(whole.shape, (100, 140, 3))
        want = (forward(torch_model(SR), (rgb / 255.0).transpose(2, 0, 1) * 2 - 1) + 1) / 2
        self.agree(whole, np.clip(want.transpose(1, 2, 0), 0, 1), "super resolution")
        # In tiles: the same, within a level, away from the seams (farther
        # than the net's reach, 7 input pixels, from every tile edge).
        big = photo(150, 200, 5)
        path = self.write("sr-big.png", big)
        whole = self.run_op(path, "neuropaint:super-resolution tile-size=4096 model=" + SR)
        tiled = self.run_op(path, "neuropaint:super-resolution tile-size=96 overlap=24 model=" + SR)
        far = np.outer(far_from_seams(150, 96, 24), far_from_seams(200, 96, 24))
        self.assertGreater(far.mean(), 0.3)
        self.assertLessEqual(np.abs(tiled.astype(int) - whole.astype(int))[far].max(), 1)

    def test_super_resolution_residual(self):
        # A residual model's output, halved, is added to the photo's bicubic
        # upscale (Keys a = -0.75, OpenCV's INTER_CUBIC, as training's).
        residual = os.path.join(self.dir, "sr-residual.safetensors")
        nptest.model_with_metadata(SR, residual, target="residual-bicubic")
        rgb = photo(50, 70, 6)
        path = self.write("sr-res.png", rgb)
        for model, what in ((residual, "the seed's net"), (EDSR, "the EDSR-like net")):
            whole = self.run_op(path, "neuropaint:super-resolution tile-size=4096 model=" + model)
            out = forward(torch_model(model), (rgb / 255.0).transpose(2, 0, 1) * 2 - 1)
            up = np.stack([bicubic(rgb[..., c] / 255.0, 100, 140, a=-0.75) for c in range(3)], -1)
            want = np.clip(np.clip(up, 0, 1) + 0.5 * out.transpose(1, 2, 0), 0, 1)
            self.agree(whole, want, "super resolution, residual, " + what)
        # Not the plain model's picture: the upscale is really there.
        whole = self.run_op(path, "neuropaint:super-resolution tile-size=4096 model=" + residual)
        plain = self.run_op(path, "neuropaint:super-resolution tile-size=4096 model=" + SR)
        self.assertGreater(np.abs(plain.astype(int) - whole.astype(int)).mean(), 10)

    def dream(self, seed):
        """The gegl command renders a graph of the op (its chain mode leaks a
        buffer and says so)."""
        graph, out = os.path.join(self.dir, "dream.xml"), os.path.join(self.dir, "dream-%d.png" % seed)
        with open(graph, "w") as f:
            f.write("<gegl><node operation='neuropaint:dream-face' model='%s' seed='%d' width='64' "
                    "height='80'/></gegl>" % (DREAM, seed))
        proc = subprocess.run(["gegl", graph, "-o", out], capture_output=True, text=True, timeout=120)
        self.assertNotIn("WARNING", proc.stderr, proc.stderr)
        img = nptest.read_rgb(out)[..., :3]   # 16-bit: the op's float, as gegl saves it
        return np.rint(img / 257.0).astype(np.uint8) if img.dtype == np.uint16 else img

    def test_dream_face_is_the_seeds_noise_through_the_model(self):
        ours = self.dream(12345)
        noise = nprandom.normal_tensor(12345, 3, 80, 64)
        want = (forward(torch_model(DREAM), noise) + 1) / 2
        self.agree(ours, np.clip(want.transpose(1, 2, 0), 0, 1), "dream face")
        # The same seed again, the same face; another seed, another face.
        np.testing.assert_array_equal(self.dream(12345), ours)
        self.assertGreater(np.abs(self.dream(12346).astype(int) - ours).mean(), 5)


if __name__ == "__main__":
    nptest.main()
