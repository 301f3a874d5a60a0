#!/usr/bin/python3
"""Convolutions layer by layer: our kernels, the OpenBLAS route and PyTorch, same run.

    bench/bench_conv.py --threads 1 --batch 2 [--backward] [--only e3]

For each layer kind of the pix2pix step (the U-Net and the PatchGAN at ngf = ndf = 32
on 256×320 pictures) and of the super-resolution net, runs `neuropaint bench conv`
at the CPU's level and with NP_CPU=generic (the OpenBLAS im2col route), then the
same layer in PyTorch (torch.nn.Conv2d / ConvTranspose2d; 1.13 runs Conv2d through
oneDNN), each after a warm-up, interleaved per layer, and prints one JSON line per
layer: the GFLOP/s of each, the fraction of --peak (GFLOP/s of one core's FMAs;
115 on the 2-core AMD EPYC of docs/benchmarks.md) and the ratios of the fastest runs
(the steadier figure on a shared machine). PyTorch runs in a child process with
OPENBLAS_NUM_THREADS and torch.set_num_threads set to --threads.

Where the peers of bench/ were built (bench/peer-conv.h), every layer is also timed
in each, in the same run, without PyTorch's reorders and overheads:
- oneDNN itself (libdnnl-dev; the 2.6.3 PyTorch runs), in the blocked layouts it
  chooses, reordered to and from once outside the timing (onednn_*: its best case, a
  net kept in its layouts), and on plain NCHW tensors as our nets hold them
  (onednn_nchw_*);
- LIBXSMM 1.17's DNN convolution (libxsmm-dev), in its blocked layouts, reordered
  likewise outside the timing (libxsmm_*); the layers it cannot run (the PatchGAN's
  p=1:2) get libxsmm_unsupported, saying why.
Their threads are set as PyTorch's are (OMP_NUM_THREADS and omp_set_num_threads: both
run on OpenMP), and the peers' OpenMP threads are bound to cores (OMP_PROC_BIND=true),
which they need on a 2-core virtual machine.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import peer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name, kind, input channels, output channels, k, s, (pad0, pad1), input width, height
LAYERS = [
    ("unet.e1", "conv", 3, 32, 4, 2, (1, 1), 256, 320),
    ("unet.e2", "conv", 32, 64, 4, 2, (1, 1), 128, 160),
    ("unet.e3", "conv", 64, 128, 4, 2, (1, 1), 64, 80),
    ("unet.e4", "conv", 128, 256, 4, 2, (1, 1), 32, 40),
    ("unet.e5", "conv", 256, 256, 4, 2, (1, 1), 16, 20),
    ("unet.d4", "convt", 512, 256, 4, 2, (1, 1), 8, 10),
    ("unet.d3", "convt", 512, 128, 4, 2, (1, 1), 16, 20),
    ("unet.d2", "convt", 256, 64, 4, 2, (1, 1), 32, 40),
    ("unet.d1", "convt", 128, 32, 4, 2, (1, 1), 64, 80),
    ("unet.out", "convt", 64, 3, 4, 2, (1, 1), 128, 160),
    ("patchgan.c1", "conv", 6, 32, 4, 2, (1, 1), 256, 320),
    ("patchgan.c4", "conv", 128, 128, 4, 1, (1, 2), 32, 40),
    ("patchgan.patch", "conv", 128, 1, 4, 1, (1, 2), 32, 40),
    ("sr.c1", "conv", 3, 64, 9, 1, (4, 4), 128, 160),
    ("sr.c2", "conv", 64, 32, 3, 1, (1, 1), 128, 160),
    ("sr.c3", "conv", 32, 3, 9, 1, (4, 4), 128, 160),
]


def torch_bench(args):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    (name, kind, cin, cout, k, s, (p0, p1), w, h) = [l for l in LAYERS if l[0] == args.layer][0]
    x = torch.rand(args.batch, cin, h, w) * 2 - 1
    if kind == "conv":
        weight = torch.randn(cout, cin, k, k) * 0.02
        fn = lambda x: F.conv2d(F.pad(x, (p0, p1, p0, p1)) if p0 != p1 else x, weight, bias, s, p0 if p0 == p1 else 0)
    else:
        weight = torch.randn(cin, cout, k, k) * 0.02
        fn = lambda x: F.conv_transpose2d(x, weight, bias, s, p0)
    bias = torch.zeros(cout)
    if args.backward:
        x.requires_grad_(True)
        weight.requires_grad_(True)
        bias.requires_grad_(True)
        dy = torch.rand_like(fn(x))

        def step():
            x.grad = weight.grad = bias.grad = None
            fn(x).backward(dy)
    else:
        def step():
            with torch.no_grad():
                fn(x)
    step()
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    print(json.dumps({"bench": "conv-torch", "layer": name, "min_ms": round(times[0], 3),
                      "median_ms": round(times[len(times) // 2], 3)}))


def ours(args, layer, cpu):
    (name, kind, cin, cout, k, s, (p0, p1), w, h) = layer
    line = "%s out=%d k=%d s=%d p=%d:%d" % (kind, cout, k, s, p0, p1)
    cmd = [args.neuropaint, "bench", "conv", "--layer", line, "--channels", str(cin), "--size", "%dx%d" % (w, h),
           "--batch", str(args.batch), "--threads", str(args.threads), "--repeat", str(args.repeat)]
    env = dict(os.environ)
    if cpu:
        env["NP_CPU"] = cpu
    return json.loads(subprocess.run(cmd + (["--backward"] if args.backward else []), capture_output=True,
                                     text=True, check=True, env=env).stdout)


# A peer of bench/ (bench/peer-conv.h): its name, its Debian package, and the field
# prefix of each of its layouts.
PEERS = [
    ("onednn", "libdnnl-dev", {"any": "onednn", "nchw": "onednn_nchw"}),
    ("libxsmm", "libxsmm-dev", {"libxsmm": "libxsmm"}),
]


def peer_lines(args, program, layer):
    """The peer's lines for the layer, {layout: line}."""
    (name, kind, cin, cout, k, s, (p0, p1), w, h) = layer
    cmd = [program, "--layer", "%s out=%d k=%d s=%d p=%d:%d" % (kind, cout, k, s, p0, p1), "--channels", str(cin),
           "--size", "%dx%d" % (w, h), "--batch", str(args.batch), "--threads", str(args.threads),
           "--repeat", str(args.repeat)] + (["--backward"] if args.backward else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=args.peer_env).stdout
    return {line["layout"]: line for line in map(json.loads, out.splitlines())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--backward", action="store_true", help="time a training forward and backward")
    ap.add_argument("--only", help="layers whose name contains this")
    ap.add_argument("--peak", type=float, default=115.0, help="one core's FMA peak, GFLOP/s")
    ap.add_argument("--neuropaint", default=os.environ.get("NEUROPAINT", os.path.join(ROOT, "build", "cli", "neuropaint")))
    for peer_name, package, _ in PEERS:
        ap.add_argument("--" + peer_name, default=os.environ.get("NP_%s_CONV" % peer_name.upper(),
                                                                os.path.join(ROOT, "build", "bench", peer_name + "-conv")),
                        help="the %s peer (bench/%s-conv.c); left out where it does not exist" % (peer_name, peer_name))
    ap.add_argument("--layer", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.layer:
        return torch_bench(args)

    env = args.peer_env = peer.environment(args.threads)
    peers = []
    for peer_name, package, prefixes in PEERS:
        program = getattr(args, peer_name)
        if os.path.exists(program):
            peers.append((program, prefixes))
        else:
            print("bench_conv: no %s (%s, then reconfigure): %s left out" % (program, package, peer_name),
                  file=sys.stderr)
    for layer in LAYERS:
        if args.only and args.only not in layer[0]:
            continue
        own, blas = ours(args, layer, None), ours(args, layer, "generic")
        torch_run = subprocess.run([sys.executable, os.path.abspath(__file__), "--layer", layer[0],
                                    "--batch", str(args.batch), "--threads", str(args.threads),
                                    "--repeat", str(args.repeat)] + (["--backward"] if args.backward else []),
                                   capture_output=True, text=True, check=True, env=env)
        theirs = json.loads(torch_run.stdout)
        gflop = own["gflop"]
        rate = lambda ms: round(gflop * 1e3 / ms, 1)
        result = {"layer": layer[0], "backward": args.backward, "threads": args.threads,
                  "batch": args.batch, "gflop": gflop, "cpu": own["cpu"],
                  "ours_gflops": rate(own["min_ms"]), "openblas_gflops": rate(blas["min_ms"]),
                  "torch_gflops": rate(theirs["min_ms"]),
                  "ours_peak_fraction": round(rate(own["min_ms"]) / (args.peak * args.threads), 2),
                  "openblas_over_ours": round(blas["min_ms"] / own["min_ms"], 2),
                  "torch_over_ours": round(theirs["min_ms"] / own["min_ms"], 2)}
        for program, prefixes in peers:
            for layout, line in peer_lines(args, program, layer).items():
                prefix = prefixes[layout]
                if "unsupported" in line:
                    result[prefix + "_unsupported"] = line["unsupported"]
                    continue
                result[prefix + "_gflops"] = rate(line["min_ms"])
                result[prefix + "_over_ours"] = round(line["min_ms"] / own["min_ms"], 2)
                result[prefix + "_impl"] = line["impl"]
        print(json.dumps(result))
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
