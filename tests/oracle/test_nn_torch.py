"""Our neural forward against PyTorch's (the oracle), layer by layer and for
the seed's three architectures, on random weights and batch-norm statistics.

The models are built with standard torch.nn modules in tools/export_torch.py
and written in our format; tests/nn-forward.c runs our forward on the same
input. Tolerance: 1e-4 max abs, as issue 5 asks.
"""
import os
import subprocess
import sys
import tempfile
import unittest

import nptest

try:
    import numpy as np
    import torch
    from torch import nn
    sys.path.insert(0, os.path.join(nptest.SOURCE_ROOT, "tools"))
    import export_torch as ex
    import nprandom
except ImportError as e:  # pragma: no cover - Debian's python3-torch is a test dependency
    print("skipping: %s" % e)
    sys.exit(nptest.SKIP)

FORWARD = os.environ.get("NP_NN_FORWARD", "nn-forward")


class MaskDropout(nn.Module):
    """Dropout with a given mask (already scaled by 1/(1 - rate))."""

    def __init__(self, mask):
        super().__init__()
        self.mask = mask

    def forward(self, x):
        return x * self.mask
TOL = 1e-4


class Oracle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.manual_seed(0)
        cls.dir = tempfile.mkdtemp(prefix="np-nn-")

    def run_ours(self, model_path, inputs, threads=1):
        """inputs: {input layer name: NCHW array}; returns our output (NCHW)."""
        inp = os.path.join(self.dir, "in.safetensors")
        out = os.path.join(self.dir, "out.safetensors")
        ex.write_safetensors(inp, [(k, v) for k, v in inputs.items()])
        proc = subprocess.run([FORWARD, model_path, inp, out, str(threads)], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return ex.read_safetensors(out)[0]["output"]

    def check(self, ours, ref, tol=TOL, what=""):
        ref = ref.detach().numpy()
        ours = ours.reshape(ref.shape)
        err = float(np.abs(ours - ref).max())
        print("  %s max abs error %.3g (|ref| mean %.3g)" % (what, err, float(np.abs(ref).mean())))
        self.assertLess(err, tol)
        return err

    def graph_model(self, description, params, name="layer"):
        """A model file for a raw description; params {name: tensor}."""
        path = os.path.join(self.dir, name + ".safetensors")
        ex.write_safetensors(path, [(k, v.detach().numpy()) for k, v in params.items()],
                             {"architecture": "graph", "graph": description})
        return path

    # ---- per layer, odd shapes --------------------------------------------

    def test_conv(self):
        for (k, s, p, cin, cout, h, w) in [(3, 1, 1, 3, 5, 17, 23), (3, 2, 1, 4, 7, 19, 13),
                                           (5, 3, 2, 2, 3, 31, 29), (4, 2, 1, 6, 9, 21, 15),
                                           (1, 1, 0, 5, 4, 7, 9), (7, 2, 0, 3, 2, 11, 30)]:
            conv = nn.Conv2d(cin, cout, k, s, p)
            x = torch.randn(2, cin, h, w)
            path = self.graph_model("input name=x c=%d\nconv name=c out=%d k=%d s=%d p=%d" % (cin, cout, k, s, p),
                                    {"c.weight": conv.weight, "c.bias": conv.bias})
            self.check(self.run_ours(path, {"x": x.numpy()}), conv(x), what="conv k%d s%d p%d" % (k, s, p))

    def test_conv_asymmetric_padding(self):
        conv = nn.Conv2d(3, 4, 4, 1, 0)
        x = torch.randn(1, 3, 13, 10)
        path = self.graph_model("input name=x c=3\nconv name=c out=4 k=4 s=1 p=1:2",
                                {"c.weight": conv.weight, "c.bias": conv.bias})
        self.check(self.run_ours(path, {"x": x.numpy()}), conv(nn.functional.pad(x, (1, 2, 1, 2))),
                   what="conv p=1:2")

    def test_convt(self):
        for (k, s, p, cin, cout, h, w) in [(4, 2, 1, 5, 3, 9, 7), (3, 2, 1, 3, 4, 11, 6),
                                           (3, 1, 1, 2, 5, 13, 8), (5, 3, 2, 4, 2, 5, 9)]:
            convt = nn.ConvTranspose2d(cin, cout, k, s, p)
            x = torch.randn(2, cin, h, w)
            path = self.graph_model("input name=x c=%d\nconvt name=t out=%d k=%d s=%d p=%d" % (cin, cout, k, s, p),
                                    {"t.weight": convt.weight, "t.bias": convt.bias})
            self.check(self.run_ours(path, {"x": x.numpy()}), convt(x), what="convt k%d s%d p%d" % (k, s, p))

    def bn_layer(self, c):
        bn = nn.BatchNorm2d(c, eps=1e-3)
        ex.randomize(bn, 3)
        return bn, {"b.weight": bn.weight, "b.bias": bn.bias, "b.running_mean": bn.running_mean,
                    "b.running_var": bn.running_var}

    def test_batchnorm_running(self):
        bn, params = self.bn_layer(5)
        x = torch.randn(2, 5, 7, 11) * 3 + 1
        path = self.graph_model("input name=x c=5\nbatchnorm name=b eps=0.001", params)
        self.check(self.run_ours(path, {"x": x.numpy()}), bn.eval()(x), what="batchnorm running")

    def test_batchnorm_batch_statistics(self):
        bn, params = self.bn_layer(4)
        x = torch.randn(3, 4, 9, 5) * 2 + 5
        path = os.path.join(self.dir, "bnb.safetensors")
        ex.write_safetensors(path, [(k, v.detach().numpy()) for k, v in params.items()],
                             {"architecture": "graph", "graph": "input name=x c=4\nbatchnorm name=b eps=0.001",
                              "batchnorm": "batch"})
        self.check(self.run_ours(path, {"x": x.numpy()}), bn.train()(x), what="batchnorm batch")

    def test_pointwise(self):
        x = torch.randn(2, 3, 7, 5) * 3
        for line, ref in [("lrelu slope=0.2", nn.functional.leaky_relu(x, 0.2)), ("relu", torch.relu(x)),
                          ("tanh", torch.tanh(x)), ("sigmoid", torch.sigmoid(x)),
                          ("dropout rate=0.5", nn.Dropout(0.5).eval()(x)),
                          ("upsample factor=3", nn.functional.interpolate(x, scale_factor=3, mode="nearest"))]:
            path = self.graph_model("input name=x c=3\n" + line, {})
            self.check(self.run_ours(path, {"x": x.numpy()}), ref, what=line)

    def test_concat(self):
        a, b = torch.randn(2, 3, 5, 7), torch.randn(2, 2, 5, 7)
        path = self.graph_model("input name=a c=3\ninput name=b c=2\nconcat from=a with=b\nrelu", {})
        self.check(self.run_ours(path, {"a": a.numpy(), "b": b.numpy()}), torch.relu(torch.cat([a, b], 1)),
                   what="concat")

    def test_pixelshuffle(self):
        for r, c in [(2, 3), (3, 2)]:
            conv = nn.Conv2d(4, c * r * r, 3, 1, 1)
            x = torch.randn(2, 4, 9, 7)
            path = self.graph_model("input name=x c=4\nconv name=c out=%d k=3 p=1\npixelshuffle factor=%d"
                                    % (c * r * r, r), {"c.weight": conv.weight, "c.bias": conv.bias})
            self.check(self.run_ours(path, {"x": x.numpy()}, 2), nn.PixelShuffle(r)(conv(x)),
                       what="pixelshuffle factor=%d" % r)

    def test_add(self):
        conv = nn.Conv2d(3, 3, 3, 1, 1)
        x = torch.randn(2, 3, 11, 6)
        path = self.graph_model("input name=x c=3\nconv name=c out=3 k=3 p=1\nrelu\nadd with=x\nadd from=x with=x",
                                {"c.weight": conv.weight, "c.bias": conv.bias})
        self.check(self.run_ours(path, {"x": x.numpy()}), x + x, what="add from=x with=x")
        path = self.graph_model("input name=x c=3\nconv name=c out=3 k=3 p=1\nrelu\nadd with=x\ntanh",
                                {"c.weight": conv.weight, "c.bias": conv.bias})
        self.check(self.run_ours(path, {"x": x.numpy()}), torch.tanh(torch.relu(conv(x)) + x), what="add")

    def test_linear(self):
        lin = nn.Linear(13, 6)
        x = torch.randn(4, 13, 1, 1)
        path = self.graph_model("input name=x c=13\nlinear name=l out=6",
                                {"l.weight": lin.weight, "l.bias": lin.bias})
        self.check(self.run_ours(path, {"x": x.numpy()}), lin(x.flatten(1)), what="linear")

    # ---- the seed's architectures at 320x256 ------------------------------

    def unet_case(self, ngf, batch, dtype="F32", threads=1):
        model = ex.randomize(ex.UNet(ngf, 6), ngf)
        path = os.path.join(self.dir, "unet%d.safetensors" % ngf)
        ex.export(model, path, dtype)
        if dtype == "F16":  # the oracle gets the same rounded weights
            with torch.no_grad():
                for t in model.state_dict().values():
                    if t.is_floating_point():
                        t.copy_(t.half().float())
        x = torch.rand(batch, 3, 320, 256) * 2 - 1
        with torch.no_grad():
            ref = model(x)
        return self.check(self.run_ours(path, {"input": x.numpy()}, threads), ref,
                          what="U-Net ngf %d %s batch %d" % (ngf, dtype, batch))

    def test_unet_ngf8(self):
        self.unet_case(8, 2)

    def test_unet_ngf8_f16_two_threads(self):
        self.unet_case(8, 1, "F16", threads=2)

    def test_unet_ngf64(self):
        self.unet_case(64, 1, threads=2)

    def test_unet_batch_statistics(self):
        """The seed's Keras mode: batch norm on the batch's own statistics."""
        model = ex.randomize(ex.UNet(8, 6), 1)
        path = os.path.join(self.dir, "unetb.safetensors")
        ex.export(model, path, metadata={"batchnorm": "batch"})
        model.train()
        model.drop.eval()
        x = torch.rand(2, 3, 320, 256) * 2 - 1
        with torch.no_grad():
            ref = model(x)
        self.check(self.run_ours(path, {"input": x.numpy()}), ref, what="U-Net batch statistics")

    def test_patchgan(self):
        model = ex.randomize(ex.PatchGAN(16), 2)
        path = os.path.join(self.dir, "patchgan.safetensors")
        ex.export(model, path)
        s, t = torch.rand(1, 3, 320, 256) * 2 - 1, torch.rand(1, 3, 320, 256) * 2 - 1
        with torch.no_grad():
            ref = model(s, t)
        self.assertEqual(tuple(ref.shape), (1, 1, 20, 16))
        self.check(self.run_ours(path, {"source": s.numpy(), "target": t.numpy()}), ref, what="PatchGAN")

    def test_sr(self):
        model = ex.randomize(ex.SRNet(64), 4)
        path = os.path.join(self.dir, "sr.safetensors")
        ex.export(model, path)
        x = torch.rand(1, 3, 160, 128) * 2 - 1
        with torch.no_grad():
            ref = model(x)
        self.check(self.run_ours(path, {"input": x.numpy()}, 2), ref, what="SR x2")

    def test_edsr(self):
        """The EDSR-like net, described by its numbers alone (arch.c's
        description against the twin's modules), tiles of odd sides."""
        model = ex.randomize(ex.EDSR(16, 3), 7)
        path = os.path.join(self.dir, "edsr.safetensors")
        ex.export(model, path)
        x = torch.rand(2, 3, 37, 53) * 2 - 1
        with torch.no_grad():
            ref = model(x)
        self.assertEqual(tuple(ref.shape), (2, 3, 74, 106))
        self.check(self.run_ours(path, {"input": x.numpy()}, 2), ref, what="EDSR x2")

    # ---- gradients (backward) ----------------------------------------------

    def run_backward(self, path, inputs, dy):
        """Our forward (training mode) and backward with d_output = dy;
        returns ({name: array}, our network description)."""
        feed = {k: v.detach().numpy() for k, v in inputs.items()}
        feed["d_output"] = dy.numpy()
        inp = os.path.join(self.dir, "gin.safetensors")
        out = os.path.join(self.dir, "gout.safetensors")
        ex.write_safetensors(inp, list(feed.items()))
        proc = subprocess.run([FORWARD, path, inp, out], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        ours, meta = ex.read_safetensors(out)
        return ours, meta["graph"]

    def check_grads(self, path, inputs, params, torch_fn, what, out_shape, tol=TOL, buffers=None):
        """Our forward+backward with a random d_output against autograd: the
        gradients of the inputs and of every named parameter, and the
        buffers ({name: tensor}) torch's training forward updated.
        torch_fn(description, *inputs) gets our description (dropout masks
        depend on layer indices)."""
        dy = torch.randn(out_shape)
        ours, description = self.run_backward(path, inputs, dy)
        xs = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
        y = torch_fn(description, *xs.values())
        self.assertEqual(tuple(y.shape), tuple(out_shape))
        y.backward(dy)
        for k, v in xs.items():
            # Relative to the gradient's scale: weight gradients sum over many pixels.
            ref = v.grad
            scale = max(1.0, float(ref.abs().max()))
            self.check(ours["d." + k] / scale, ref / scale, tol, what + " d." + k)
        for name, p in params.items():
            ref = p.grad
            scale = max(1.0, float(ref.abs().max()))
            self.check(ours["grad." + name] / scale, ref / scale, tol, what + " grad." + name)
        for name, b in (buffers or {}).items():
            self.check(ours["buffer." + name], b, tol, what + " " + name)

    def test_grad_conv_convt(self):
        for kind, (k, s, p, cin, cout, h, w) in [("conv", (3, 2, 1, 3, 4, 11, 9)), ("conv", (4, 1, 2, 2, 3, 7, 8)),
                                                 ("convt", (4, 2, 1, 3, 2, 5, 6)), ("convt", (3, 2, 1, 2, 3, 4, 7))]:
            mod = (nn.Conv2d if kind == "conv" else nn.ConvTranspose2d)(cin, cout, k, s, p)
            path = self.graph_model("input name=x c=%d\n%s name=c out=%d k=%d s=%d p=%d" % (cin, kind, cout, k, s, p),
                                    {"c.weight": mod.weight, "c.bias": mod.bias})
            x = torch.randn(2, cin, h, w)
            self.check_grads(path, {"x": x}, {"c.weight": mod.weight, "c.bias": mod.bias},
                             lambda d, x: mod(x), "%s k%d s%d p%d" % (kind, k, s, p), mod(x).shape)

    def test_grad_batchnorm(self):
        """Training forward on batch statistics updates the running ones as
        torch's does (momentum 0.1, unbiased variance); frozen statistics
        ("running") pass gradients straight through."""
        for mode in ("batch", "running"):
            bn, params = self.bn_layer(3)
            path = os.path.join(self.dir, "gbn.safetensors")
            ex.write_safetensors(path, [(k, v.detach().numpy()) for k, v in params.items()],
                                 {"architecture": "graph", "graph": "input name=x c=3\nbatchnorm name=b eps=0.001",
                                  "batchnorm": mode})
            bn.train(mode == "batch")
            self.check_grads(path, {"x": torch.randn(2, 3, 5, 7) * 2 + 1},
                             {"b.weight": bn.weight, "b.bias": bn.bias}, lambda d, x: bn(x), "batchnorm " + mode,
                             (2, 3, 5, 7), buffers={"b.running_mean": bn.running_mean, "b.running_var": bn.running_var})

    def test_grad_pointwise_concat_upsample_shuffle_add_linear(self):
        shape = (2, 3, 5, 4)
        # Dropout drops in training: torch gets our mask (layer 1, key 0).
        mask = torch.from_numpy(nprandom.dropout_mask(0, 1, shape, 0.5))
        self.assertGreater(float((mask == 0).float().mean()), 0.3)
        for line, fn, out in [("lrelu slope=0.2", lambda x: nn.functional.leaky_relu(x, 0.2), shape),
                              ("relu", torch.relu, shape), ("tanh", torch.tanh, shape),
                              ("sigmoid", torch.sigmoid, shape), ("dropout", lambda x: x * mask, shape),
                              ("upsample factor=2", lambda x: nn.functional.interpolate(x, scale_factor=2),
                               (2, 3, 10, 8))]:
            path = self.graph_model("input name=x c=3\n" + line, {})
            self.check_grads(path, {"x": torch.randn(shape)}, {}, lambda d, x, fn=fn: fn(x), line, out)
        path = self.graph_model("input name=a c=2\ninput name=b c=3\nconcat from=a with=b\ntanh", {})
        self.check_grads(path, {"a": torch.randn(2, 2, 3, 4), "b": torch.randn(2, 3, 3, 4)}, {},
                         lambda d, a, b: torch.tanh(torch.cat([a, b], 1)), "concat", (2, 5, 3, 4))
        conv = nn.Conv2d(3, 12, 3, 1, 1)
        path = self.graph_model("input name=x c=3\nconv name=c out=12 k=3 p=1\npixelshuffle factor=2",
                                {"c.weight": conv.weight, "c.bias": conv.bias})
        self.check_grads(path, {"x": torch.randn(shape)}, {"c.weight": conv.weight, "c.bias": conv.bias},
                         lambda d, x: nn.PixelShuffle(2)(conv(x)), "pixelshuffle", (2, 3, 10, 8))
        # A residual block: the sum in place on the second conv's output,
        # its skip read by the first conv too.
        c1, c2 = nn.Conv2d(3, 3, 3, 1, 1), nn.Conv2d(3, 3, 3, 1, 1)
        params = {"c1.weight": c1.weight, "c1.bias": c1.bias, "c2.weight": c2.weight, "c2.bias": c2.bias}
        path = self.graph_model("input name=x c=3\nconv name=c1 out=3 k=3 p=1\nrelu\nconv name=c2 out=3 k=3 p=1\n"
                                "add with=x\ntanh", params)
        self.check_grads(path, {"x": torch.randn(shape)}, params,
                         lambda d, x: torch.tanh(c2(torch.relu(c1(x))) + x), "add", shape)
        lin = nn.Linear(7, 5)
        path = self.graph_model("input name=x c=7\nlinear name=l out=5", {"l.weight": lin.weight, "l.bias": lin.bias})
        self.check_grads(path, {"x": torch.randn(3, 7, 1, 1)}, {"l.weight": lin.weight, "l.bias": lin.bias},
                         lambda d, x: lin(x.flatten(1)), "linear", (3, 5))

    def test_reshape(self):
        """DCGAN's project and reshape (a linear layer's outputs seen as a
        grid, torch's view), and a grid flattened for a linear layer: forward
        and gradients, through convolutions that mix the grid's values."""
        lin, conv, out = nn.Linear(7, 60), nn.Conv2d(3, 2, 3, 1, 1), nn.Linear(40, 3)
        params = {"l.weight": lin.weight, "l.bias": lin.bias, "c.weight": conv.weight, "c.bias": conv.bias,
                  "m.weight": out.weight, "m.bias": out.bias}
        path = self.graph_model("input name=z c=7\nlinear name=l out=60\nreshape c=3 h=5 w=4\n"
                                "conv name=c out=2 k=3 p=1\nreshape c=40\nlinear name=m out=3", params)

        def fn(d, z):
            return out(conv(lin(z.flatten(1)).view(-1, 3, 5, 4)).flatten(1))
        z = torch.randn(3, 7, 1, 1)
        self.check(self.run_ours(path, {"z": z.numpy()}), fn(None, z), what="reshape forward")
        self.check_grads(path, {"z": z}, params, fn, "reshape", (3, 3))

    def test_dream(self):
        """The generator built for noise (inference: batch norm on running
        statistics) and its discriminator, forward, against their torch twins."""
        g = ex.randomize(ex.Dream(8, 3, in_channels=16), 7)
        d = ex.randomize(ex.DreamD(8, 3), 8)
        gpath, dpath = os.path.join(self.dir, "dream.safetensors"), os.path.join(self.dir, "dream-d.safetensors")
        ex.export(g, gpath)
        ex.export(d, dpath)
        z = torch.randn(3, 16, 1, 1)
        fake = g(z)
        self.assertEqual(tuple(fake.shape), (3, 3, 40, 32))
        self.check(self.run_ours(gpath, {"input": z.numpy()}, 2), fake, what="dream")
        self.check(self.run_ours(dpath, {"target": fake.detach().numpy()}, 2), d(fake), what="dream-d")

    def test_grad_unet(self):
        """The whole U-Net in training mode: batch statistics (and their
        running updates), dropout with our mask."""
        model = ex.randomize(ex.UNet(4, 4), 6)
        path = os.path.join(self.dir, "gunet.safetensors")
        ex.export(model, path, metadata={"batchnorm": "batch"})
        model.train()

        def torch_fn(description, x):
            (drop,) = nprandom.layer_indices(description, "dropout")
            shape = (x.shape[0], model.m["d3"].out_channels, x.shape[2] // 8, x.shape[3] // 8)
            model.drop = MaskDropout(torch.from_numpy(nprandom.dropout_mask(0, drop, shape, 0.5)))
            return model(x)

        params = {k[2:]: v for k, v in model.named_parameters()}
        buffers = {k[2:]: v for k, v in model.named_buffers() if "running" in k}
        self.check_grads(path, {"input": torch.rand(2, 3, 64, 48) * 2 - 1}, params, torch_fn, "U-Net",
                         (2, 3, 64, 48), buffers=buffers)

    def test_grad_edsr(self):
        """The EDSR-like net in training: every skip and the shuffle."""
        model = ex.randomize(ex.EDSR(8, 2), 8)
        path = os.path.join(self.dir, "gedsr.safetensors")
        ex.export(model, path)
        params = {k[2:]: v for k, v in model.named_parameters()}
        self.check_grads(path, {"input": torch.rand(2, 3, 12, 10) * 2 - 1}, params, lambda d, x: model(x), "EDSR",
                         (2, 3, 24, 20))

    def test_wrong_input_size_is_an_error(self):
        model = ex.randomize(ex.UNet(4, 6), 0)
        path = os.path.join(self.dir, "small.safetensors")
        ex.export(model, path)
        inp = os.path.join(self.dir, "bad.safetensors")
        ex.write_safetensors(inp, [("input", np.zeros((1, 3, 100, 70), np.float32))])
        proc = subprocess.run([FORWARD, path, inp, os.path.join(self.dir, "x.safetensors")],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("concatenate", proc.stderr)


if __name__ == "__main__":
    nptest.main()
