#!/usr/bin/python3
"""CPPN render: neuropaint against vectorised NumPy (float32, same network).

Runs `neuropaint bench cppn` and a NumPy version of the same maths on the same
weights (dumped by `neuropaint cppn --dump-weights`), in the same run, and
prints both JSON lines and the ratio. NumPy evaluates blocks of 65536 pixels
(whole-image arrays fall out of cache); its matrix products go through
OpenBLAS, given the thread count under test through OPENBLAS_NUM_THREADS.

  bench/bench_cppn.py --neuropaint build/cli/neuropaint --threads 2
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import peer

NUMPY_CHILD = r"""
import json, sys, time
import numpy as np
net = json.load(open(sys.argv[1]))
w, h, repeat = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
layers = [(np.array(l["W"], np.float32).T.copy(), np.array(l["b"], np.float32), l["activation"])
          for l in net["layers"]]
act = {"tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v))}
factor = min(w, h)
rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
x, y = (rows / factor - 0.5).ravel(), (cols / factor - 0.5).ravel()
z = [np.full_like(x, v) for v in net["z"]]
inputs = np.stack([x, y, np.sqrt(x * x + y * y)] + z, 1).astype(np.float32)
out = np.empty((w * h, layers[-1][0].shape[1]), np.float32)
def run():
    for s in range(0, w * h, 65536):
        a = inputs[s:s + 65536]
        for W, b, name in layers:
            a = act[name](a @ W + b)
        out[s:s + 65536] = a
run()
times = []
for _ in range(repeat):
    t0 = time.perf_counter(); run(); times.append(time.perf_counter() - t0)
times.sort()
med = times[len(times) // 2]
print(json.dumps({"bench": "cppn-numpy", "width": w, "height": h, "median_ms": round(med * 1e3, 3),
                  "min_ms": round(times[0] * 1e3, 3), "mpix_per_s": round(w * h / med / 1e6, 2)}))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--neuropaint", default="build/cli/neuropaint")
    ap.add_argument("--size", default="2048x2048")
    ap.add_argument("--depth", type=int, default=10)
    ap.add_argument("--width-per-layer", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))

    ours = subprocess.run([args.neuropaint, "bench", "cppn", "--size", args.size, "--depth", str(args.depth),
                           "--width-per-layer", str(args.width_per_layer), "--threads", str(args.threads),
                           "--repeat", str(args.repeat)], check=True, capture_output=True, text=True).stdout
    ours = json.loads(ours.strip().splitlines()[-1])
    print(json.dumps(ours))

    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "net.json")
        # The bench's own network: seed 1, rgb, the same depth and width.
        subprocess.run([args.neuropaint, "cppn", "-o", os.path.join(tmp, "px.npy"), "--width", "1",
                        "--height", "1", "--seed", "1", "--depth", str(args.depth), "--size",
                        str(args.width_per_layer), "--dump-weights", weights],
                       check=True, capture_output=True)
        numpy = subprocess.run([sys.executable, "-c", NUMPY_CHILD, weights, str(w), str(h), str(args.repeat)],
                               check=True, capture_output=True, text=True, env=peer.environment(args.threads)).stdout
    numpy = json.loads(numpy)
    numpy["threads"] = args.threads
    print(json.dumps(numpy))
    print(json.dumps({"ratio_neuropaint_over_numpy": round(ours["mpix_per_s"] / numpy["mpix_per_s"], 1),
                      "depth": args.depth, "size": args.width_per_layer, "threads": args.threads}))


if __name__ == "__main__":
    main()
