#!/usr/bin/python3
"""Train the seed's generators with PyTorch (GPUs, DDP) on a neuropaint dataset,
and write a model file neuropaint runs unchanged.

The architectures are tools/export_torch.py's (UNet, PatchGAN, SRNet, EDSR: the
module names are neuropaint's parameter names), the data is a dataset of
`neuropaint prepare` (docs/datasets.md: dataset.json, manifest.jsonl, KIND.npy),
the step is `neuropaint train`'s pix2pix step (docs/architecture.md): D on
(source, fake) then (source, real), each BCE on logits weighted 1/2, Adam;
then G through the updated D plus recon_weight * L1, Adam. One process:

    python3 tools/train_torch.py faces.dataset -o gray2color.safetensors --input gray --steps 3000

Several (one per GPU, or gloo on CPUs), each taking its part of every batch,
gradients averaged by DistributedDataParallel:

    torchrun --standalone --nproc_per_node 4 tools/train_torch.py faces.dataset -o gray2color.safetensors

Rank 0 writes the model file: G in eval mode (batch norm on its running
statistics, no dropout), with the metadata the generator op needs (input
filter and its parameters as the dataset made them, size, normalisation).
"""
import argparse
import contextlib
import json
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_torch as ex  # noqa: E402

INPUTS = ("gray", "binary", "contours", "canny", "identity", "lowres")


class Dataset:
    """A neuropaint dataset's training pairs, as NCHW float tensors in [-1, 1]."""

    def __init__(self, folder, kind, split="train"):
        with open(os.path.join(folder, "dataset.json")) as f:
            self.info = json.load(f)
        if self.info.get("format") != "neuropaint-dataset":
            raise SystemExit("%s: not a neuropaint dataset" % folder)
        with open(os.path.join(folder, "manifest.jsonl")) as f:
            manifest = [json.loads(line) for line in f if line.strip()]
        # Gray photos are no colour targets (as neuropaint train leaves them out).
        self.items = [i for i, e in enumerate(manifest) if e["split"] == split and not e["gray"]]
        if not self.items:
            raise SystemExit("%s: no %s item in colour" % (folder, split))
        self.color = np.load(os.path.join(folder, "color.npy"), mmap_mode="r")
        stack = "color" if kind in ("identity", "lowres") else kind
        self.source = np.load(os.path.join(folder, stack + ".npy"), mmap_mode="r")
        self.kind = kind

    @staticmethod
    def tensor(pixels):
        return torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)).permute(0, 3, 1, 2) / 127.5 - 1

    def batch(self, indices, flips, rules):
        idx = [self.items[i] for i in indices]
        src, tgt = self.tensor(self.source[idx]), self.tensor(self.color[idx])
        flip = torch.from_numpy(flips)[:, None, None, None]
        src, tgt = torch.where(flip, src.flip(3), src), torch.where(flip, tgt.flip(3), tgt)
        if self.kind == "lowres":
            # Half size for super resolution x2, by one of neuropaint train's
            # three rules a picture (core/train/batch.c, halve): plain bicubic
            # (aliased), 2x2 block means, Pillow's antialiased bilinear.
            halves = (nn.functional.interpolate(src, scale_factor=0.5, mode="bicubic", align_corners=False),
                      nn.functional.avg_pool2d(src, 2),
                      nn.functional.interpolate(src, scale_factor=0.5, mode="bilinear", align_corners=False,
                                                antialias=True))
            src = torch.stack([halves[r][n] for n, r in enumerate(rules)])
        return src, tgt


def init_weights(model, std):
    """Weights N(0, std), biases 0, batch norm at identity (neuropaint train's)."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
                mod.weight.normal_(0, std)
                mod.bias.zero_()
            elif isinstance(mod, nn.BatchNorm2d):
                mod.reset_parameters()
                mod.reset_running_stats()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("-o", "--output", required=True, help="the model file (.safetensors)")
    ap.add_argument("--input", choices=INPUTS, default="gray")
    ap.add_argument("--ngf", type=int, default=32, help="G's base width (SR: features)")
    ap.add_argument("--arch", choices=("sr", "edsr"), default="sr",
                    help="lowres's net: the seed's SR net or the EDSR-like one (4 residual blocks)")
    ap.add_argument("--ndf", type=int, help="D's base width (default: ngf)")
    ap.add_argument("--depth", type=int, default=6, help="U-Net downsamplings")
    ap.add_argument("--batch", type=int, default=8, help="pairs a step, over all processes")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--beta1", type=float, default=0.5)
    ap.add_argument("--l1-weight", type=float, help="default 100 (1 for lowres)")
    ap.add_argument("--gan-weight", type=float, help="0 trains G alone (default 1; 0 for lowres)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    lowres = args.input == "lowres"
    l1_weight = args.l1_weight if args.l1_weight is not None else 1.0 if lowres else 100.0
    gan_weight = args.gan_weight if args.gan_weight is not None else 0.0 if lowres else 1.0

    # torchrun sets these; a plain run is a world of one.
    world, rank = int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("RANK", 0))
    local = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(args.device, local) if args.device == "cuda" else torch.device(args.device)
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if args.batch % world:
        raise SystemExit("--batch %d does not split into %d processes" % (args.batch, world))
    per_rank = args.batch // world

    data = Dataset(args.dataset, args.input)
    in_channels = data.source.shape[3]
    torch.manual_seed(args.seed)
    if lowres:
        g = ex.EDSR(args.ngf, 4, in_channels, 3) if args.arch == "edsr" else ex.SRNet(args.ngf, in_channels, 3)
    else:
        g = ex.UNet(args.ngf, args.depth, in_channels, 3)
    d = ex.PatchGAN(args.ndf or args.ngf, in_channels=in_channels, out_channels=3, logits=True) \
        if gan_weight > 0 else None
    for net in (g, d):
        if net is not None:
            init_weights(net, 0.02)
            net.to(device).train()
    # DDP broadcasts rank 0's weights now and its batch norm buffers at every
    # forward; gradients are averaged over the processes in backward.
    gd = DDP(g) if world > 1 else g
    dd = DDP(d) if world > 1 and d is not None else d
    # Dropout masks of each process's own.
    torch.manual_seed(args.seed * 1000 + rank)
    betas = (args.beta1, 0.999)
    opt_g = torch.optim.Adam(g.parameters(), lr=args.lr, betas=betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=args.lr, betas=betas) if d is not None else None
    bce, recon = nn.BCEWithLogitsLoss(), nn.L1Loss() if not lowres else nn.MSELoss()

    start = time.time()
    for step in range(args.steps):
        # Every process draws the same batch from (seed, step) and takes its part.
        rng = np.random.default_rng([args.seed, step])
        indices = rng.integers(0, len(data.items), args.batch)
        flips = rng.integers(0, 2, args.batch).astype(bool)
        rules = rng.integers(0, 3, args.batch)
        part = slice(rank * per_rank, (rank + 1) * per_rank)
        src, real = (t.to(device) for t in data.batch(indices[part], flips[part], rules[part]))

        fake = gd(src)
        loss_d = [0.0, 0.0]
        if d is not None:
            opt_d.zero_grad()
            # Two forwards, one all-reduce: the fake term's gradients stay
            # local (no_sync) and go with the real term's.
            with dd.no_sync() if world > 1 else contextlib.nullcontext():
                pred = dd(src, fake.detach())
                fake_term = bce(pred, torch.zeros_like(pred))
                (fake_term * 0.5).backward()
            pred = dd(src, real)
            real_term = bce(pred, torch.ones_like(pred))
            (real_term * 0.5).backward()
            opt_d.step()
            loss_d = [real_term.item(), fake_term.item()]
        opt_g.zero_grad()
        gan = torch.zeros(())
        if d is not None:
            # Through the updated D, frozen, outside DDP (no gradients of its own).
            d.requires_grad_(False)
            pred = d(src, fake)
            gan = bce(pred, torch.ones_like(pred))
            d.requires_grad_(True)
        l1 = recon(fake, real)
        (gan * gan_weight + l1 * l1_weight).backward()
        opt_g.step()
        if rank == 0 and ((step + 1) % 10 == 0 or step + 1 == args.steps):
            print("step %d/%d  %.1f s  G %.4f  GAN %.3f  D %.3f" % (
                step + 1, args.steps, time.time() - start, l1.item(), gan.item(), sum(loss_d) / 2), flush=True)

    if rank == 0:
        g.eval()
        filters = data.info.get("filters", {}).get(args.input, {})
        meta = dict(filters)
        meta.update({
            "input_filter": {"lowres": "identity"}.get(args.input, args.input),
            "batchnorm": "running", "normalization": "x/127.5-1", "target": "rgb",
            "width": data.info["width"], "height": data.info["height"], "experiment": args.input,
            "trained_steps": args.steps, "trained_batch": args.batch,
            "trained_with": "tools/train_torch.py " + " ".join(sys.argv[1:]) + (" (%d processes)" % world),
        })
        g.cpu()
        ex.export(g, args.output, metadata=meta)
        print("%s: %d steps of %d pairs on %d process%s in %.0f s" % (
            args.output, args.steps, args.batch, world, "es" if world > 1 else "", time.time() - start))
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
