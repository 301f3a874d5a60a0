#!/usr/bin/python3
"""neuropaint's Canny and contours against OpenCV 4.6, in the same run.

Runs `neuropaint bench` (the core call, NpImage in and out, after a warm-up)
and times the OpenCV routine doing the same job on the same pixels, with
cv2.setNumThreads at the same thread count; prints one JSON line per bench
and thread count with both medians and minima, speedup = opencv_ms /
neuropaint_ms (above 1: neuropaint is faster) and speedup_min, the same of
the minima (steadier when other jobs share the machine).

  canny       1920×1080: per-channel edges (100/200, L1). OpenCV: cv2.Canny on
              each of the three channel planes (planes split before timing,
              while ours reads and writes interleaved RGBA).
  canny-gray  1920×1080: edges of the luma. OpenCV: cv2.Canny on the gray
              image (cvtColor before timing, though ours includes the luma;
              opencv_cvtcolor_ms times cvtColor + Canny for reference).
  contours    256×320 face-crop size: the seed's 12 passes. OpenCV: for each
              channel and k in 50,100,150,200, threshold + findContours +
              drawContours into one image, as the seed did.
  canny-op    (neuropaint only) neuropaint:canny through GEGL, GeglBuffer to
              GeglBuffer: the core plus GEGL's copies.

Usage: bench/bench_filters.py [--photo FILE] [--threads 1 2] [--repeat 30]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTO = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"
SEED_THRESHOLDS = (50, 100, 150, 200)


def timings_ms(fn, repeat):
    """(median, min) of repeat timed calls after a warm-up, as neuropaint bench."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times)), float(np.min(times))


def ours(neuropaint, names, image, threads, repeat):
    proc = subprocess.run([neuropaint, "bench"] + names + ["--image", image, "--threads", str(threads),
                                                           "--repeat", str(repeat)],
                          capture_output=True, text=True, check=True)
    return {rec["bench"]: rec for rec in map(json.loads, proc.stdout.split("\n")[:-1])}


def seed_contours(rgb):
    out = np.zeros_like(rgb)
    for j in range(3):
        for k in SEED_THRESHOLDS:
            _, mask = cv2.threshold(rgb[..., j], k, 255, cv2.THRESH_BINARY)
            found, _ = cv2.findContours(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
            colour = [0, 0, 0]
            colour[j] = k
            cv2.drawContours(out, found, -1, colour, 1)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--neuropaint", default=os.path.join(ROOT, "build", "cli", "neuropaint"))
    parser.add_argument("--photo", default=PHOTO)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    photo = cv2.imread(args.photo, cv2.IMREAD_COLOR)
    if photo is None:
        sys.exit("cannot read %s (install python3-skimage or pass --photo)" % args.photo)
    with tempfile.TemporaryDirectory(prefix="np-bench-") as tmp:
        hd_path, crop_path = os.path.join(tmp, "hd.png"), os.path.join(tmp, "crop.png")
        cv2.imwrite(hd_path, cv2.resize(photo, (1920, 1080), interpolation=cv2.INTER_CUBIC))
        cv2.imwrite(crop_path, cv2.resize(photo, (256, 320), interpolation=cv2.INTER_AREA))
        hd = cv2.cvtColor(cv2.imread(hd_path), cv2.COLOR_BGR2RGB)
        crop = cv2.cvtColor(cv2.imread(crop_path), cv2.COLOR_BGR2RGB)
        planes = [np.ascontiguousarray(hd[..., c]) for c in range(3)]
        gray = cv2.cvtColor(hd, cv2.COLOR_RGB2GRAY)

        peers = {
            "canny": lambda: [cv2.Canny(p, 100, 200) for p in planes],
            "canny-gray": lambda: cv2.Canny(gray, 100, 200),
            "contours": lambda: seed_contours(crop),
        }
        for threads in args.threads:
            cv2.setNumThreads(threads)
            results = ours(args.neuropaint, ["canny", "canny-gray", "canny-op"], hd_path, threads, args.repeat)
            results.update(ours(args.neuropaint, ["contours"], crop_path, threads, args.repeat))
            for name in ("canny", "canny-gray", "contours", "canny-op"):
                rec = results[name]
                line = {"bench": name, "width": rec["width"], "height": rec["height"], "threads": threads,
                        "neuropaint_ms": rec["median_ms"], "neuropaint_min_ms": rec["min_ms"]}
                if name in peers:
                    cv_ms, cv_min = timings_ms(peers[name], args.repeat)
                    line.update(opencv_ms=round(cv_ms, 3), opencv_min_ms=round(cv_min, 3),
                                speedup=round(cv_ms / rec["median_ms"], 2),
                                speedup_min=round(cv_min / rec["min_ms"], 2))
                if name == "canny-gray":
                    with_luma = lambda: cv2.Canny(cv2.cvtColor(hd, cv2.COLOR_RGB2GRAY), 100, 200)
                    line.update(opencv_cvtcolor_ms=round(timings_ms(with_luma, args.repeat)[0], 3))
                print(json.dumps(line), flush=True)
    print(json.dumps({"machine": subprocess.run(["sh", "-c", "lscpu | sed -n 's/Model name: *//p'"],
                                                capture_output=True, text=True).stdout.strip(),
                      "load": os.getloadavg()[0], "opencv": cv2.__version__}))


if __name__ == "__main__":
    main()
