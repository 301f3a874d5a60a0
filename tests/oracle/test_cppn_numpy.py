"""The CPPN against a NumPy reference of the original maths.

`neuropaint cppn --dump-weights` writes the network it drew; the reference
below reads it, builds every pixel's inputs (x, y, r, z as Tuan Le's
random_art.py, with the fixes of docs/seed.md), runs the dense layers in float64 and
reads the outputs as colour. Our float32 render (.npy, exact) must match
within 1e-5 at moderate depth for every colour mode, activation, alpha, sym
and trig. Deep networks are chaotic in float32 (docs/seed.md, numerics), so the
default 10×15 gets a looser bound and 25×45 a statistical one.
"""
import json
import os
import tempfile
import unittest

import numpy as np

import nptest

ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
    "relu": lambda v: np.maximum(v, 0),
    "identity": lambda v: v,
    "softsign": lambda v: v / (1 + np.abs(v)),
    "sin": np.sin,
    "cos": np.cos,
}


def hsv_to_rgb(h, s, v):
    """TinyColor's hsvToRgb, vectorised."""
    h6 = h * 6
    i = np.floor(h6)
    f = h6 - i
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    sector = (i.astype(int) % 6)[..., None]
    table = lambda *c: np.take_along_axis(np.stack(c, -1), sector, -1)[..., 0]
    return table(v, q, p, p, t, v), table(t, v, v, q, p, p), table(p, p, t, v, v, q)


def hue_to_rgb(p, q, t):
    t = np.where(t < 0, t + 1, t)
    t = np.where(t > 1, t - 1, t)
    return np.select([t < 1 / 6, t < 1 / 2, t < 2 / 3],
                     [p + (q - p) * 6 * t, q, p + (q - p) * (2 / 3 - t) * 6], p)


def hsl_to_rgb(h, s, l):
    q = np.where(l < 0.5, l * (1 + s), l + s - l * s)
    p = 2 * l - q
    return hue_to_rgb(p, q, h + 1 / 3), hue_to_rgb(p, q, h), hue_to_rgb(p, q, h - 1 / 3)


def reference(net):
    """The picture the dumped network describes, H×W×4 float64."""
    w, h = net["width"], net["height"]
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    if net["coords"] == "original":
        factor = min(w, h)
        x, y = rows / factor - 0.5, cols / factor - 0.5
    else:
        scale = min(w, h) * net["zoom"]
        x = (cols + 0.5 - w / 2) / scale + net["pan_x"]
        y = (rows + 0.5 - h / 2) / scale + net["pan_y"]
    if net["sym"]:
        x, y = x ** 2, y ** 2
    inputs = [x, y]
    if net["radius"]:
        inputs.append(np.sqrt(x ** 2 + y ** 2))
    for i, z in enumerate(net["z"]):
        if net["trig"] and i == 0:
            inputs.append(np.cos(z * x))
        elif net["trig"] and i == 1:
            inputs.append(np.sin(z * y))
        else:
            inputs.append(np.full_like(x, z))
    a = np.stack(inputs, -1).reshape(-1, len(inputs))
    for layer in net["layers"]:
        a = ACTIVATIONS[layer["activation"]](a @ np.array(layer["W"]).T + np.array(layer["b"]))
    out = a.reshape(h, w, -1)
    mode = net["color_mode"]
    c = [out[..., k] for k in range(out.shape[-1])]
    if mode == "bw":
        rgb = (c[0], c[0], c[0])
    elif mode == "rgb":
        rgb = tuple(c[:3])
    elif mode == "cmyk":
        rgb = tuple((1 - c[k]) * c[3] for k in range(3))
    elif mode == "hsv":
        rgb = hsv_to_rgb(*c[:3])
    else:
        rgb = hsl_to_rgb(*c[:3])
    n = {"bw": 1, "cmyk": 4}.get(mode, 3)
    alpha = 0.25 + 0.75 * (1 - np.abs(2 * c[n] - 1)) if net["alpha"] else np.ones_like(x)
    return np.stack(rgb + (alpha,), -1)


def render(args, env=None):
    """Our float32 render and the reference of the network it dumped."""
    with tempfile.TemporaryDirectory() as tmp:
        npy, weights = os.path.join(tmp, "art.npy"), os.path.join(tmp, "net.json")
        nptest.run(["cppn", "-o", npy, "--dump-weights", weights] + args,
                   env=dict(os.environ, **(env or {})))
        with open(weights) as f:
            net = json.load(f)
        return np.load(npy), reference(net), net


# hsv and hsl multiply a hue error by 6, so float32's own rounding noise
# (which grows with depth) reaches 1e-5 on a few pixels from 5 layers of 12
# on; 4 layers keep every case within it.
MODERATE = ["--width", "61", "--height", "47", "--depth", "4", "--size", "12"]


class CppnOracle(unittest.TestCase):
    worst = 0.0

    def check(self, args, tol=1e-5, size=MODERATE, env=None):
        ours, ref, net = render(size + args, env)
        self.assertEqual(ours.dtype, np.float32)
        self.assertEqual(ours.shape, ref.shape)
        err = float(np.abs(ours - ref).max())
        CppnOracle.worst = max(CppnOracle.worst, err)
        self.assertLess(err, tol, "max error %.3g for %s" % (err, " ".join(args)))
        # A picture, not a flat field (a test that cannot fail proves nothing).
        self.assertGreater(float(ref[..., :3].std()), 1e-3)
        return net

    def test_color_modes(self):
        for i, mode in enumerate(["bw", "rgb", "cmyk", "hsv", "hsl"]):
            for alpha in ([], ["--alpha"]):
                with self.subTest(mode=mode, alpha=bool(alpha)):
                    net = self.check(["--seed", str(10 + i), "--color-mode", mode] + alpha)
                    self.assertEqual(net["color_mode"], mode)

    def test_activations(self):
        # Unbounded activations (identity, relu) and sin/cos let sums grow
        # with depth, and float32 rounding with them: 3 layers keep every
        # activation within reach of 1e-5.
        shallow = ["--width", "61", "--height", "47", "--depth", "3", "--size", "12"]
        for i, act in enumerate(sorted(ACTIVATIONS)):
            with self.subTest(activation=act):
                net = self.check(["--seed", str(20 + i), "--activation", act], size=shallow)
                self.assertEqual([l["activation"] for l in net["layers"]], [act] * 3 + ["sigmoid"])

    def test_sym_trig_and_inputs(self):
        cases = [
            ["--sym"], ["--trig"], ["--sym", "--trig", "--color-mode", "hsl"],
            ["--no-bias"], ["--no-radius"], ["--z=0.3,-0.9,0.5"], ["--z="],
            ["--z=0.7", "--trig"], ["--hidden-std", "0.6", "--output-std", "2.5"],
            ["--activations", "sin,tanh,relu"],
            ["--coords", "centered", "--zoom", "0.4", "--pan-x", "0.3", "--pan-y", "-1.1"],
        ]
        for i, extra in enumerate(cases):
            with self.subTest(args=extra):
                self.check(["--seed", str(30 + i)] + extra)

    def test_every_kernel_copy(self):
        # The kernel's AVX2 and portable copies (the CPU picks one; the
        # variable forces a narrower one) against the same reference.
        for isa in ("avx2", "generic"):
            for extra in (["--color-mode", "hsl", "--alpha", "--trig"], ["--activations", "sin,softsign,tanh"]):
                with self.subTest(isa=isa, args=extra):
                    self.check(["--seed", "41"] + extra, env={"NP_CPU": isa})

    def test_default_depth(self):
        # The original's 10×15: chaotic enough that float32 sums drift (docs/seed.md:
        # ~5e-5 typical), so the bound is looser but still far below 1/255.
        ours, ref, _ = render(["--width", "64", "--height", "64", "--seed", "7"])
        err = np.abs(ours - ref)
        print("10×15 max error %.3g, mean %.3g" % (err.max(), err.mean()))
        self.assertLess(float(err.max()), 2e-3)
        self.assertLess(float(np.mean(err > 1 / 255)), 0.001)

    def test_deep_statistics(self):
        # 25×45 is chaotic: pixels may differ, the picture's statistics not.
        ours, ref, _ = render(["--width", "48", "--height", "48", "--seed", "3",
                               "--depth", "25", "--size", "45"])
        for c in range(3):
            self.assertAlmostEqual(float(ours[..., c].mean()), float(ref[..., c].mean()), delta=0.05)
            self.assertAlmostEqual(float(ours[..., c].std()), float(ref[..., c].std()), delta=0.05)

    @classmethod
    def tearDownClass(cls):
        print("worst moderate-depth error: %.3g" % cls.worst)


if __name__ == "__main__":
    nptest.main()
