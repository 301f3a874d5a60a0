#!/usr/bin/python3
"""One pix2pix training step: neuropaint against PyTorch, same run, same setup.

    bench/bench_train.py --ngf 32 --batch 8 --threads 2
    bench/bench_train.py --arch sr --batch 8 --threads 2

With --arch sr, one step of the seed's super-resolution net instead (--ngf
features, default 64; half --size in, --size out, MSE, Adam): `neuropaint
bench sr-train-step` against tools/export_torch.py's SRNet.

Runs `neuropaint bench train-step` and the same step in PyTorch: the seed's
U-Net (tools/export_torch.py's UNet, 3 channels in and out) and a PatchGAN
with ndf = ngf on logits, pix2pix's update (D on fake then real with
BCE-with-logits weighted 1/2, Adam; G through the frozen D plus 100·L1, Adam;
lr 2e-4, beta1 0.5), batch norm and dropout in training mode, each after a
warm-up step. Prints both JSON lines and the ratio torch_ms / neuropaint_ms
(> 1: neuropaint is faster) of the medians and of the fastest steps (the
steadier figure on a shared machine), with each side's GFLOP/s, the fraction
of this machine's peak (115 GFLOP/s a core) and peak memory (max RSS).
PyTorch runs in a child process with OPENBLAS_NUM_THREADS=N set before torch
loads (Debian's torch runs ConvTranspose2d through OpenBLAS) and
torch.set_num_threads(N).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import peer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def torch_bench(args):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import torch
    from torch import nn
    import export_torch as ex

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    w, h = (int(v) for v in args.size.split("x"))
    sr = args.arch == "sr"
    g = (ex.SRNet(args.ngf) if sr else ex.UNet(args.ngf, 6)).train()
    d = None if sr else ex.PatchGAN(args.ngf, logits=True).train()
    for m in list(g.modules()) + (list(d.modules()) if d else []):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0, 0.02)
            nn.init.zeros_(m.bias)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = None if sr else torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    src = torch.rand(args.batch, 3, h // 2 if sr else h, w // 2 if sr else w) * 2 - 1
    real = torch.rand(args.batch, 3, h, w) * 2 - 1

    def sr_step():
        opt_g.zero_grad()
        nn.functional.mse_loss(g(src), real).backward()
        opt_g.step()

    def pix2pix_step():
        fake = g(src)
        opt_d.zero_grad()
        pred_fake = d(src, fake.detach())
        pred_real = d(src, real)
        ((bce(pred_fake, torch.zeros_like(pred_fake)) + bce(pred_real, torch.ones_like(pred_real))) * 0.5).backward()
        opt_d.step()
        for p in d.parameters():
            p.requires_grad_(False)
        opt_g.zero_grad()
        pred = d(src, fake)
        (bce(pred, torch.ones_like(pred)) + 100 * nn.functional.l1_loss(fake, real)).backward()
        opt_g.step()
        for p in d.parameters():
            p.requires_grad_(True)

    step = sr_step if sr else pix2pix_step
    times = []
    step()
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    print(json.dumps({"bench": args.arch + "-train-step-torch", "torch": torch.__version__, "width": w, "height": h,
                      "batch": args.batch, "threads": args.threads, "repeat": args.repeat,
                      "median_ms": round(statistics.median(times), 3), "min_ms": round(times[0], 3),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=["pix2pix", "sr"], default="pix2pix")
    ap.add_argument("--ngf", type=int, help="U-Net width (default 32) or SR features (default 64)")
    ap.add_argument("--size", default="256x320", help="WIDTHxHEIGHT")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--neuropaint", default=os.environ.get("NEUROPAINT", os.path.join(ROOT, "build", "cli", "neuropaint")))
    ap.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ngf is None:
        args.ngf = 64 if args.arch == "sr" else 32
    if args.torch_only:
        return torch_bench(args)

    common = ["--ngf", str(args.ngf), "--size", args.size, "--batch", str(args.batch),
              "--threads", str(args.threads), "--repeat", str(args.repeat)]
    ours = subprocess.run([args.neuropaint, "bench", "sr-train-step" if args.arch == "sr" else "train-step"] + common,
                          capture_output=True, text=True, check=True).stdout.strip()
    env = peer.environment(args.threads)
    theirs = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-only", "--arch", args.arch] + common,
                            capture_output=True, text=True, check=True, env=env).stdout.strip()
    a, b = json.loads(ours), json.loads(theirs)
    print(ours)
    print(theirs)
    print(json.dumps({"bench": args.arch + "-train-step-ratio", "threads": args.threads, "batch": args.batch, "ngf": args.ngf,
                      "torch_over_neuropaint": round(b["median_ms"] / a["median_ms"], 2),
                      "torch_over_neuropaint_min": round(b["min_ms"] / a["min_ms"], 2),
                      "neuropaint_gflops": a["gflops"],
                      "torch_gflops": round(a["gflop"] * 1e3 / b["median_ms"], 1),
                      "peak_fraction": round(a["gflops"] / (115.0 * args.threads), 2),
                      "neuropaint_peak_rss_mb": a["peak_rss_mb"], "torch_peak_rss_mb": b["peak_rss_mb"]}))


if __name__ == "__main__":
    sys.exit(main())
