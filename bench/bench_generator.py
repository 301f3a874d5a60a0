#!/usr/bin/python3
"""The seed's U-Net generator: neuropaint against PyTorch, same run, same model.

    bench/bench_generator.py --ngf 32 --size 256x320 --batch 1 --threads 2

Runs `neuropaint bench generator` and the same architecture in PyTorch
(tools/export_torch.py's UNet, eval mode: batch norm on running statistics,
dropout off), each after a warm-up, and prints both JSON lines and the ratio
torch_ms / neuropaint_ms (> 1: neuropaint is faster), of the medians and of
the fastest runs (the latter is the steadier figure on a shared machine). PyTorch runs in a child
process with OPENBLAS_NUM_THREADS=N set before torch loads (Debian's torch
runs ConvTranspose2d through OpenBLAS) and torch.set_num_threads(N).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import peer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def torch_bench(args):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import torch
    import export_torch as ex

    torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.split("x"))
    model = ex.UNet(args.ngf, 6).eval()
    x = torch.rand(args.batch, 3, h, w) * 2 - 1
    times = []
    with torch.no_grad():
        model(x)
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    print(json.dumps({"bench": "generator-torch", "torch": torch.__version__, "width": w, "height": h,
                      "batch": args.batch, "parameters": ex.n_parameters(model), "threads": args.threads,
                      "repeat": args.repeat, "median_ms": round(statistics.median(times), 3),
                      "min_ms": round(times[0], 3)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ngf", type=int, default=32)
    ap.add_argument("--size", default="256x320", help="WIDTHxHEIGHT")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--torch-blas-threads", type=int, metavar="K",
                    help="OPENBLAS_NUM_THREADS for PyTorch (default: --threads)")
    ap.add_argument("--neuropaint", default=os.environ.get("NEUROPAINT", os.path.join(ROOT, "build", "cli", "neuropaint")))
    ap.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_only:
        return torch_bench(args)

    common = ["--ngf", str(args.ngf), "--size", args.size, "--batch", str(args.batch),
              "--threads", str(args.threads), "--repeat", str(args.repeat)]
    ours = subprocess.run([args.neuropaint, "bench", "generator"] + common,
                          capture_output=True, text=True, check=True).stdout.strip()
    env = peer.environment(args.threads, args.torch_blas_threads)
    theirs = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-only"] + common,
                            capture_output=True, text=True, check=True, env=env).stdout.strip()
    a, b = json.loads(ours), json.loads(theirs)
    print(ours)
    print(theirs)
    print(json.dumps({"bench": "generator-ratio", "threads": args.threads, "batch": args.batch,
                      "torch_blas_threads": args.torch_blas_threads or args.threads,
                      "torch_over_neuropaint": round(b["median_ms"] / a["median_ms"], 2),
                      "torch_over_neuropaint_min": round(b["min_ms"] / a["min_ms"], 2),
                      "neuropaint_gflops": a["gflops"],
                      "torch_gflops": round(a["gflop"] * 1e3 / b["median_ms"], 1),
                      "peak_fraction": round(a["gflops"] / (115.0 * args.threads), 2)}))


if __name__ == "__main__":
    sys.exit(main())
