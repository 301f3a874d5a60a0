#!/usr/bin/python3
"""Write PyTorch models in neuropaint's model format (safetensors + metadata).

The three architectures of the seed (docs/seed.md, "pix2pix") and the EDSR-like
super-resolution net are built here from
standard torch.nn modules, independently of the C code, with module names
equal to neuropaint's parameter names (e1.weight, e2_bn.running_mean, ...),
so a state_dict maps one to one onto a model file:

    python3 tools/export_torch.py --arch unet --ngf 64 --random 1 gray2color.safetensors
    python3 tools/export_torch.py --arch unet --ngf 64 --state-dict trained.pt --input-filter gray out.safetensors

The tests import it (tests/oracle/test_nn_torch.py) to prove our forward
equals PyTorch's; users bring weights trained elsewhere with it.
"""
import argparse
import json
import struct
import sys

import numpy as np
import torch
from torch import nn


# ---- safetensors ----------------------------------------------------------

def write_safetensors(path, tensors, metadata=None, dtype="F32"):
    """tensors: list of (name, array-like); dtype "F32" or "F16"."""
    npdtype = {"F32": "<f4", "F16": "<f2"}[dtype]
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, value in tensors:
        arr = np.ascontiguousarray(np.asarray(value, dtype=np.float32).astype(npdtype))
        blob = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    """Returns ({name: float32 array}, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        dt = {"F32": "<f4", "F16": "<f2"}[e["dtype"]]
        out[name] = np.frombuffer(body[b:end], dtype=dt).astype(np.float32).reshape(e["shape"])
    return out, meta


# ---- architectures --------------------------------------------------------

class UNet(nn.Module):
    """pix2pix U-Net: e1 conv (no BN) LReLU 0.2; e2..e{depth-1} conv BN LReLU;
    bottleneck conv ReLU; decoders convT BN [dropout] concat ReLU; out convT tanh.
    All 4x4, stride 2, padding 1. half_logits: the out layer is a 1x1 conv at
    half the size, no tanh: a classifier's logits, at half the input's size."""

    def __init__(self, ngf=64, depth=6, in_channels=3, out_channels=3, dropout_blocks=1, eps=1e-5,
                 half_logits=False):
        super().__init__()
        self.depth, self.dropout_blocks, self.half_logits = depth, dropout_blocks, half_logits
        self.meta = {"architecture": "unet", "ngf": ngf, "depth": depth, "in_channels": in_channels,
                     "out_channels": out_channels, "dropout_blocks": dropout_blocks, "bn_eps": repr(eps)}
        if half_logits:
            self.meta["half_logits"] = 1
        width = [None] + [ngf * min(2 ** (i - 1), 8) for i in range(1, depth + 1)]
        m = nn.ModuleDict()
        prev = in_channels
        for i in range(1, depth):
            m["e%d" % i] = nn.Conv2d(prev, width[i], 4, 2, 1)
            if i > 1:
                m["e%d_bn" % i] = nn.BatchNorm2d(width[i], eps=eps)
            prev = width[i]
        m["bottleneck"] = nn.Conv2d(prev, width[depth], 4, 2, 1)
        prev = width[depth]
        for i in range(depth - 1, 0, -1):
            m["d%d" % i] = nn.ConvTranspose2d(prev, width[i], 4, 2, 1)
            m["d%d_bn" % i] = nn.BatchNorm2d(width[i], eps=eps)
            prev = 2 * width[i]
        m["out"] = nn.Conv2d(prev, out_channels, 1) if half_logits else nn.ConvTranspose2d(prev, out_channels, 4, 2, 1)
        self.m = m
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        m, skips = self.m, {}
        for i in range(1, self.depth):
            x = m["e%d" % i](x)
            if i > 1:
                x = m["e%d_bn" % i](x)
            x = skips[i] = nn.functional.leaky_relu(x, 0.2)
        x = torch.relu(m["bottleneck"](x))
        for i in range(self.depth - 1, 0, -1):
            x = m["d%d_bn" % i](m["d%d" % i](x))
            if self.depth - 1 - i < self.dropout_blocks:
                x = self.drop(x)
            x = torch.relu(torch.cat([x, skips[i]], 1))
        return m["out"](x) if self.half_logits else torch.tanh(m["out"](x))


class PatchGAN(nn.Module):
    """Conditional PatchGAN: concat(source, target) (the target alone with
    in_channels=0, super resolution's); `layers` 4x4 stride-2
    convs (first without BN), one stride-1 conv BN LReLU, a 1-channel stride-1
    conv, sigmoid (left out with logits=True, for training on logits).
    Stride-1 convs pad as Keras 'same' (1 before, 2 after)."""

    def __init__(self, ndf=64, layers=4, in_channels=3, out_channels=3, eps=1e-5, logits=False):
        super().__init__()
        self.meta = {"architecture": "patchgan", "ndf": ndf, "layers": layers, "in_channels": in_channels,
                     "out_channels": out_channels, "bn_eps": repr(eps), "logits": int(logits)}
        self.logits = logits
        self.n = layers + 1
        m = nn.ModuleDict()
        prev = in_channels + out_channels
        for i in range(1, self.n + 1):
            last = i == self.n
            w = ndf * min(2 ** ((i - 2) if last else (i - 1)), 8)
            m["c%d" % i] = nn.Conv2d(prev, w, 4, 1 if last else 2, 0 if last else 1)
            if i > 1:
                m["c%d_bn" % i] = nn.BatchNorm2d(w, eps=eps)
            prev = w
        m["patch"] = nn.Conv2d(prev, 1, 4, 1, 0)
        self.m = m

    def forward(self, source, target):
        x = torch.cat([source, target], 1) if self.meta["in_channels"] else target
        for i in range(1, self.n + 1):
            if i == self.n:
                x = nn.functional.pad(x, (1, 2, 1, 2))
            x = self.m["c%d" % i](x)
            if i > 1:
                x = self.m["c%d_bn" % i](x)
            x = nn.functional.leaky_relu(x, 0.2)
        x = self.m["patch"](nn.functional.pad(x, (1, 2, 1, 2)))
        return x if self.logits else torch.sigmoid(x)


class SRNet(nn.Module):
    """Super resolution x2: conv 9x9 ReLU, conv 3x3, nearest x2, LReLU 0.2, conv 9x9, tanh."""

    def __init__(self, features=64, in_channels=3, out_channels=3):
        super().__init__()
        self.meta = {"architecture": "sr", "features": features, "in_channels": in_channels,
                     "out_channels": out_channels}
        self.m = nn.ModuleDict({
            "c1": nn.Conv2d(in_channels, features, 9, 1, 4),
            "c2": nn.Conv2d(features, features, 3, 1, 1),
            "c3": nn.Conv2d(features, out_channels, 9, 1, 4),
        })

    def forward(self, x):
        x = torch.relu(self.m["c1"](x))
        x = nn.functional.interpolate(self.m["c2"](x), scale_factor=2, mode="nearest")
        return torch.tanh(self.m["c3"](nn.functional.leaky_relu(x, 0.2)))


class EDSR(nn.Module):
    """Super resolution x2 after EDSR-baseline with ESPCN's upsampling: conv 3x3
    (head); `blocks` residual blocks x + conv(relu(conv(x))); conv 3x3 plus the
    head's output; conv 3x3 to out_channels*4, PixelShuffle(2); no activation."""

    def __init__(self, features=32, blocks=4, in_channels=3, out_channels=3):
        super().__init__()
        self.meta = {"architecture": "edsr", "features": features, "blocks": blocks, "in_channels": in_channels,
                     "out_channels": out_channels}
        self.blocks = blocks
        m = nn.ModuleDict({"head": nn.Conv2d(in_channels, features, 3, 1, 1)})
        for i in range(1, blocks + 1):
            m["b%d_1" % i] = nn.Conv2d(features, features, 3, 1, 1)
            m["b%d_2" % i] = nn.Conv2d(features, features, 3, 1, 1)
        m["body"] = nn.Conv2d(features, features, 3, 1, 1)
        m["tail"] = nn.Conv2d(features, out_channels * 4, 3, 1, 1)
        self.m = m

    def forward(self, x):
        m = self.m
        head = x = m["head"](x)
        for i in range(1, self.blocks + 1):
            x = x + m["b%d_2" % i](torch.relu(m["b%d_1" % i](x)))
        x = m["body"](x) + head
        return nn.functional.pixel_shuffle(m["tail"](x), 2)


class Dream(nn.Module):
    """The generator built for noise: z (N, in_channels, 1, 1) → Linear to
    grid·gh·gw, viewed as (grid, gh, gw), BN, ReLU; `blocks` times nearest
    x2, conv 3x3, BN, ReLU (ngf·min(2^(blocks−i), 8) channels); conv 3x3 to
    out_channels, tanh. grid = ngf·min(2^blocks, 8)."""

    def __init__(self, ngf=32, blocks=4, grid_w=4, grid_h=5, in_channels=128, out_channels=3, eps=1e-5):
        super().__init__()
        self.meta = {"architecture": "dream", "ngf": ngf, "blocks": blocks, "grid_w": grid_w, "grid_h": grid_h,
                     "in_channels": in_channels, "out_channels": out_channels, "bn_eps": repr(eps)}
        self.blocks, self.grid = blocks, (ngf * min(2 ** blocks, 8), grid_h, grid_w)
        m = nn.ModuleDict({"project": nn.Linear(in_channels, self.grid[0] * grid_h * grid_w),
                           "project_bn": nn.BatchNorm2d(self.grid[0], eps=eps)})
        prev = self.grid[0]
        for i in range(1, blocks + 1):
            w = ngf * min(2 ** (blocks - i), 8)
            m["up%d" % i] = nn.Conv2d(prev, w, 3, 1, 1)
            m["up%d_bn" % i] = nn.BatchNorm2d(w, eps=eps)
            prev = w
        m["out"] = nn.Conv2d(prev, out_channels, 3, 1, 1)
        self.m = m

    def forward(self, z):
        m = self.m
        x = torch.relu(m["project_bn"](m["project"](z.flatten(1)).view(-1, *self.grid)))
        for i in range(1, self.blocks + 1):
            x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
            x = torch.relu(m["up%d_bn" % i](m["up%d" % i](x)))
        return torch.tanh(m["out"](x))


class DreamD(nn.Module):
    """The dream generator's discriminator, of the picture alone: `blocks`
    convs 4x4 stride 2 pad 1 with LeakyReLU 0.2 (ndf·min(2^(i−1), 8)
    channels), flattened, Linear to one logit."""

    def __init__(self, ndf=32, blocks=4, grid_w=4, grid_h=5, out_channels=3):
        super().__init__()
        self.meta = {"architecture": "dream-d", "ndf": ndf, "blocks": blocks, "grid_w": grid_w, "grid_h": grid_h,
                     "out_channels": out_channels}
        self.blocks = blocks
        m = nn.ModuleDict()
        prev = out_channels
        for i in range(1, blocks + 1):
            w = ndf * min(2 ** (i - 1), 8)
            m["c%d" % i] = nn.Conv2d(prev, w, 4, 2, 1)
            prev = w
        m["logit"] = nn.Linear(prev * grid_w * grid_h, 1)
        self.m = m

    def forward(self, x):
        for i in range(1, self.blocks + 1):
            x = nn.functional.leaky_relu(self.m["c%d" % i](x), 0.2)
        return self.m["logit"](x.flatten(1)).view(-1, 1, 1, 1)


ARCHS = {"unet": UNet, "patchgan": PatchGAN, "sr": SRNet, "edsr": EDSR, "dream": Dream, "dream-d": DreamD}


def randomize(model, seed=0):
    """Random weights and batch-norm statistics (running stats far from the
    identity, so a parity test exercises them)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                fan = mod.weight[0].numel() if isinstance(mod, (nn.Conv2d, nn.Linear)) \
                    else mod.weight.shape[0] * mod.weight[0, 0].numel()
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=g) / fan ** 0.5)
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=g) * 0.1)
            elif isinstance(mod, nn.BatchNorm2d):
                c = mod.num_features
                mod.weight.copy_(1 + 0.2 * torch.randn(c, generator=g))
                mod.bias.copy_(0.2 * torch.randn(c, generator=g))
                mod.running_mean.copy_(0.2 * torch.randn(c, generator=g))
                mod.running_var.copy_(0.5 + torch.rand(c, generator=g))
    return model.eval()


def state(model):
    """(our name, array) for every parameter and running statistic: the
    ModuleDict's m.<name>.<param> without the "m."."""
    return [(k[2:] if k.startswith("m.") else k, v.detach().numpy().copy())
            for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]


def export(model, path, dtype="F32", metadata=None):
    """Writes model (one of ARCHS) with its architecture numbers and extra metadata."""
    meta = dict(model.meta)
    meta.update(metadata or {})
    write_safetensors(path, state(model), meta, dtype)


def n_parameters(model):
    return sum(p.numel() for p in model.parameters())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("output")
    ap.add_argument("--arch", choices=sorted(ARCHS), default="unet")
    ap.add_argument("--ngf", type=int, default=64, help="U-Net base width")
    ap.add_argument("--depth", type=int, default=6, help="U-Net downsamplings")
    ap.add_argument("--ndf", type=int, default=64, help="PatchGAN base width")
    ap.add_argument("--features", type=int, help="SR net width (default 64; edsr 32)")
    ap.add_argument("--blocks", type=int, default=4, help="edsr residual blocks; dream upsampling blocks")
    ap.add_argument("--in-channels", type=int, default=3)
    ap.add_argument("--out-channels", type=int, default=3)
    ap.add_argument("--dtype", choices=["F32", "F16"], default="F32")
    ap.add_argument("--random", type=int, metavar="SEED", help="random weights and BN statistics")
    ap.add_argument("--state-dict", metavar="FILE", help="torch.save()d state_dict of the same architecture")
    ap.add_argument("--input-filter", default="identity", help="gray, binary, contours, canny, identity, noise")
    ap.add_argument("--batchnorm", choices=["running", "batch"], default="running")
    ap.add_argument("--target", choices=["rgb", "chroma-ycbcr", "residual-bicubic", "chroma-ycbcr-bins"],
                    default="rgb",
                    help="what the output is: the picture; Cb, Cr ×2 for the input's luminance "
                         "(1 channel in, 2 out); for an SR net, detail ×2 to add to the bicubic upscale; "
                         "or a logit per chroma bin (--chroma-bins; a U-Net with a half-size 1x1 head)")
    ap.add_argument("--chroma-bins", metavar="CB:CR,...",
                    help="a chroma-ycbcr-bins model's bins: Cb·255 and Cr·255, multiples of 16")
    ap.add_argument("--size", metavar="WxH", help="the training size, recorded as width and height")
    args = ap.parse_args()

    kw = {"in_channels": args.in_channels, "out_channels": args.out_channels}
    bins = args.target == "chroma-ycbcr-bins"
    if bins != bool(args.chroma_bins) or (bins and args.arch != "unet"):
        ap.error("--target chroma-ycbcr-bins goes with --chroma-bins and a U-Net")
    if bins:
        kw["out_channels"] = len(args.chroma_bins.split(","))
    if args.arch == "unet":
        model = UNet(args.ngf, args.depth, half_logits=bins, **kw)
    elif args.arch == "patchgan":
        model = PatchGAN(args.ndf, **kw)
    elif args.arch == "edsr":
        model = EDSR(args.features or 32, args.blocks, **kw)
    elif args.arch == "dream":
        model = Dream(args.ngf, args.blocks, **kw)
    elif args.arch == "dream-d":
        model = DreamD(args.ndf, args.blocks, out_channels=args.out_channels)
    else:
        model = SRNet(args.features or 64, **kw)
    if args.state_dict:
        sd = torch.load(args.state_dict, map_location="cpu")
        sd = {("m." + k if not k.startswith("m.") and k != "drop" else k): v for k, v in sd.items()}
        model.load_state_dict(sd)
    elif args.random is not None:
        randomize(model, args.random)
    meta = {"input_filter": args.input_filter, "batchnorm": args.batchnorm, "normalization": "x/127.5-1",
            "target": args.target}
    if args.size:
        meta["width"], meta["height"] = args.size.split("x")
    if bins:
        meta["chroma_bins"] = args.chroma_bins
    export(model, args.output, args.dtype, meta)
    print("%s: %s, %d parameters" % (args.output, args.arch, n_parameters(model)))


if __name__ == "__main__":
    sys.exit(main())
