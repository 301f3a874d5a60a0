"""A peer's forward and backwards (bench/NAME-conv, the peers bench/bench_conv.py
times: NP_PEER names it, NP_PEER_CONV is the program) against our engine's
(tests/nn-forward) on the same random layers: the output, the input's gradient and
the weights' and bias's within 1e-4 relative (to the largest magnitude), so the
benchmark compares the same arithmetic. Every kind of convolution the models use, in
every layout the bench times; a layer the peer says it cannot run (exit 3) must be
one it is known not to run, and the bench says so in its line.

Skipped where the peer was not built (its Debian package missing: tools/install-deps).
"""
import os
import subprocess
import sys
import tempfile
import unittest

import nptest

PEER = os.environ["NP_PEER"]
PROGRAM = os.environ.get("NP_PEER_CONV", "")
FORWARD = os.environ.get("NP_NN_FORWARD", "nn-forward")

# name: its Debian package, the layouts it is timed in, which layers it cannot run
PEERS = {
    "onednn": ("libdnnl-dev", ("any", "nchw"), lambda layer: False),
    # One padding for both sides (libxsmm_dnn_conv_desc's pad_h, pad_w).
    "libxsmm": ("libxsmm-dev", ("libxsmm",), lambda layer: ":" in layer[5]),
}
PACKAGE, LAYOUTS, UNSUPPORTED = PEERS[PEER]
if not PROGRAM:
    print("skipping: bench/%s-conv was not built (install %s, tools/install-deps, and reconfigure)" % (PEER, PACKAGE))
    sys.exit(nptest.SKIP)

try:
    import numpy as np
    sys.path.insert(0, os.path.join(nptest.SOURCE_ROOT, "tools"))
    import export_torch as ex
except ImportError as e:  # pragma: no cover - Debian's python3-numpy and -torch are test dependencies
    print("skipping: %s" % e)
    sys.exit(nptest.SKIP)

TOL = 1e-4

# kind, input channels, output channels, k, s, padding, input width, height: the
# U-Net's and PatchGAN's 4×4 stride 2, the PatchGAN's stride 1 with p=1:2, the
# transposed 4×4 stride 2, the SR net's 9×9 and 3×3, a 1×1; odd sizes.
LAYERS = [
    ("conv", 3, 8, 4, 2, "1", 22, 17),
    ("conv", 16, 24, 4, 2, "1", 13, 10),
    ("conv", 12, 1, 4, 1, "1:2", 9, 11),
    ("conv", 12, 10, 4, 1, "1:2", 9, 11),
    ("convt", 24, 16, 4, 2, "1", 7, 5),
    ("convt", 8, 3, 4, 2, "1", 11, 9),
    ("conv", 3, 16, 9, 1, "4", 15, 12),
    ("conv", 16, 8, 3, 1, "1", 15, 12),
    ("conv", 8, 5, 1, 1, "0", 6, 7),
]


class PeerForward(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="np-%s-" % PEER)

    def layer_files(self, kind, cin, cout, k, s, p, w, h, rng):
        model = os.path.join(self.dir, "layer.safetensors")
        inputs = os.path.join(self.dir, "in.safetensors")
        weight_shape = (cout, cin, k, k) if kind == "conv" else (cin, cout, k, k)
        ex.write_safetensors(model, [("c.weight", rng.standard_normal(weight_shape).astype(np.float32) * 0.2),
                                     ("c.bias", rng.standard_normal(cout).astype(np.float32))],
                             {"architecture": "graph",
                              "graph": "input name=x c=%d\n%s name=c out=%d k=%d s=%d p=%s" % (cin, kind, cout, k, s, p)})
        ex.write_safetensors(inputs, [("x", rng.standard_normal((2, cin, h, w)).astype(np.float32)),
                                      ("d_output", rng.standard_normal(self.out_shape(kind, cout, k, s, p, w, h)))])
        return model, inputs

    @staticmethod
    def out_shape(kind, cout, k, s, p, w, h):
        p0, p1 = (int(v) for v in (p.split(":") if ":" in p else (p, p)))
        size = (lambda n: (n - 1) * s - p0 - p1 + k) if kind == "convt" else (lambda n: (n + p0 + p1 - k) // s + 1)
        return (2, cout, size(h), size(w))

    def forward(self, program, model, inputs, *options, status=0):
        out = os.path.join(self.dir, "out.safetensors")
        proc = subprocess.run([program] + list(options) + [model, inputs, out], capture_output=True, text=True)
        self.assertEqual(proc.returncode, status, proc.stderr)
        if status:
            self.assertIn("unsupported", proc.stderr)
            return None
        return ex.read_safetensors(out)[0]

    def test_matches_ours(self):
        rng = np.random.default_rng(18)
        for layer in LAYERS:
            model, inputs = self.layer_files(*layer, rng)
            ours = self.forward(FORWARD, model, inputs)
            self.assertEqual(sorted(ours), ["d.x", "grad.c.bias", "grad.c.weight", "output"])
            for layout in LAYOUTS:
                if UNSUPPORTED(layer):
                    self.forward(PROGRAM, model, inputs, "--layout", layout, status=3)
                    print("  %s %s: unsupported, as expected" % (" ".join(map(str, layer)), layout))
                    continue
                theirs = self.forward(PROGRAM, model, inputs, "--layout", layout)
                self.assertEqual(sorted(theirs), sorted(ours))
                for name in sorted(ours):
                    with self.subTest(layer=layer, layout=layout, result=name):
                        self.assertEqual(theirs[name].size, ours[name].size)
                        err = float(np.abs(theirs[name].reshape(ours[name].shape) - ours[name]).max()
                                    / np.abs(ours[name]).max())
                        print("  %s %s %s: max relative difference %.3g"
                              % (" ".join(map(str, layer)), layout, name, err))
                        self.assertLess(err, TOL)

    def test_a_net_of_more_than_one_layer_is_refused(self):
        model = os.path.join(self.dir, "two.safetensors")
        ex.write_safetensors(model, [("a.weight", np.zeros((4, 3, 3, 3), np.float32)), ("a.bias", np.zeros(4, np.float32))],
                             {"architecture": "graph", "graph": "input name=x c=3\nconv name=a out=4 k=3 p=1\nrelu"})
        inputs = os.path.join(self.dir, "in3.safetensors")
        ex.write_safetensors(inputs, [("x", np.zeros((1, 3, 8, 8), np.float32))])
        proc = subprocess.run([PROGRAM, model, inputs, os.path.join(self.dir, "none.safetensors")],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("one conv or convt layer", proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "none.safetensors")))


if __name__ == "__main__":
    nptest.main()
