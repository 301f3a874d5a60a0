#!/usr/bin/python3
"""Colourising a 12-megapixel photo: neuropaint:colorize against the same
pipeline in OpenCV and PyTorch, same run, same picture size.

    bench/bench_colorize.py --threads 2 [--size 4000x3000] [--model gray2color]

Runs `neuropaint bench colorize` (GEGL buffer in and out, R'G'B'A u8), then
the pipeline a Python user would write with the usual tools: OpenCV to
YCrCb, the luma resized (INTER_AREA) to the render size neuropaint reports,
the same U-Net (tools/export_torch.py's, ngf and depth read from the model
file, chroma out) in PyTorch, its two planes scaled up bicubically
(INTER_CUBIC), merged with the photo's own luma and turned back into RGB.
Prints both JSON lines and torch_over_neuropaint (> 1: neuropaint is
faster), of the medians and of the fastest runs. PyTorch runs in a child
process with OPENBLAS_NUM_THREADS / OMP_NUM_THREADS and cv2.setNumThreads
set to the same thread count.
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


def model_shape(neuropaint, model):
    """ngf, depth and input channels of the model, from `neuropaint info`."""
    info = subprocess.run([neuropaint, "info", model], capture_output=True, text=True, check=True).stdout
    fields = dict(l.strip().split(" = ", 1) for l in info.splitlines() if " = " in l)
    fields.update(l.strip().split(":", 1) for l in info.splitlines() if ":" in l and " = " not in l)
    return (int(fields["ngf"]), int(fields["size multiple"]).bit_length() - 1,
            int(fields["input 0"].split()[0]))


def peer_bench(args):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import cv2
    import numpy as np
    import torch
    import export_torch as ex

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    w, h = (int(v) for v in args.size.split("x"))
    rw, rh = (int(v) for v in args.render.split("x"))
    model = ex.UNet(args.ngf, args.depth, in_channels=args.channels, out_channels=2).eval()
    step = 2 ** args.depth
    pw, ph = -rw % step, -rh % step

    # Smooth colour with fine noise, as the C bench's photo.
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    u /= w
    v /= h
    noise = np.random.default_rng(1).integers(0, 16, (h, w), dtype=np.uint8).astype(np.float32)
    photo = np.stack([127 + 100 * np.sin(7 * u + 3 * v), 127 + 100 * np.cos(5 * v - 2 * u),
                      127 + 100 * np.sin(11 * u * v + 1)], -1) + noise[..., None]
    photo = np.clip(photo, 0, 255).astype(np.uint8)

    def colorize():
        ycc = cv2.cvtColor(photo, cv2.COLOR_RGB2YCrCb)
        luma = ycc[..., 0]
        small = cv2.resize(luma, (rw, rh), interpolation=cv2.INTER_AREA).astype(np.float32) / 127.5 - 1
        x = torch.from_numpy(small)[None, None].expand(1, args.channels, rh, rw)
        x = torch.nn.functional.pad(x, (0, pw, 0, ph), mode="replicate")
        with torch.no_grad():
            chroma = model(x)[0, :, :rh, :rw].numpy()
        chroma = np.clip((chroma.transpose(1, 2, 0) + 1) * 127.5, 0, 255)
        big = cv2.resize(chroma, (w, h), interpolation=cv2.INTER_CUBIC)
        ycc[..., 1] = np.clip(big[..., 1], 0, 255)  # Cr
        ycc[..., 2] = np.clip(big[..., 0], 0, 255)  # Cb
        return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)

    colorize()
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        colorize()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    print(json.dumps({"bench": "colorize-opencv-torch", "torch": torch.__version__, "opencv": cv2.__version__,
                      "width": w, "height": h, "render": args.render, "threads": args.threads,
                      "repeat": args.repeat, "median_ms": round(statistics.median(times), 3),
                      "min_ms": round(times[0], 3),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="4000x3000", help="WIDTHxHEIGHT")
    ap.add_argument("--model", default="gray2color")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--neuropaint", default=os.environ.get("NEUROPAINT", os.path.join(ROOT, "build", "cli", "neuropaint")))
    ap.add_argument("--peer-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--render", help=argparse.SUPPRESS)
    ap.add_argument("--ngf", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--depth", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--channels", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer_only:
        return peer_bench(args)

    w, h = args.size.split("x")
    ours = subprocess.run([args.neuropaint, "bench", "colorize", "--model", args.model, "--size", args.size,
                           "--threads", str(args.threads), "--repeat", str(args.repeat)],
                          capture_output=True, text=True, check=True).stdout.strip()
    a = json.loads(ours)
    ngf, depth, channels = model_shape(args.neuropaint, args.model)
    env = peer.environment(args.threads)
    theirs = subprocess.run([sys.executable, os.path.abspath(__file__), "--peer-only", "--size", args.size,
                             "--render", a["render"], "--ngf", str(ngf), "--depth", str(depth),
                             "--channels", str(channels),
                             "--threads", str(args.threads), "--repeat", str(args.repeat)],
                            capture_output=True, text=True, check=True, env=env).stdout.strip()
    b = json.loads(theirs)
    print(ours)
    print(theirs)
    print(json.dumps({"bench": "colorize-ratio", "threads": args.threads, "width": int(w), "height": int(h),
                      "torch_over_neuropaint": round(b["median_ms"] / a["median_ms"], 2),
                      "torch_over_neuropaint_min": round(b["min_ms"] / a["min_ms"], 2)}))


if __name__ == "__main__":
    sys.exit(main())
