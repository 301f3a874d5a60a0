#!/usr/bin/python3
"""Haar face detection: `neuropaint bench detect` against OpenCV 4.6's
detectMultiScale, in the same run, at 1 and 2 threads.

A photo is resized (INTER_AREA) to 1920x1080 and 512x512 in a temporary
folder; both detectors see the same 8-bit luma (OpenCV's BGR2GRAY; ours
computes it with the same weights), the frontal face default cascade,
scaleFactor 1.1, minNeighbors 3, minSize 30 (override with the options).
Prints our JSON lines, OpenCV's in the same shape, the speed ratio and
whether the boxes are the same.

    bench/bench_detect.py [--neuropaint build/cli/neuropaint] [--photo FILE]
                          [--repeat 10] [--threads 1 2]
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import cv2

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PHOTO = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"
CASCADE = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"


def opencv_run(gray, threads, repeat, scale, neighbours, min_size):
    cv2.setNumThreads(threads)
    cascade = cv2.CascadeClassifier(CASCADE)
    args = dict(scaleFactor=scale, minNeighbors=neighbours, minSize=(min_size, min_size))
    boxes = cascade.detectMultiScale(gray, **args)  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        boxes = cascade.detectMultiScale(gray, **args)
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    median = times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2
    faces = sorted([int(v) for v in b] for b in boxes)
    return {"bench": "detect-opencv", "width": gray.shape[1], "height": gray.shape[0],
            "faces": faces, "threads": threads, "repeat": repeat,
            "median_ms": round(median, 3), "min_ms": round(times[0], 3)}


def ours_run(exe, image, threads, repeat, scale, neighbours, min_size):
    out = subprocess.run([exe, "bench", "detect", "--image", image, "--threads", str(threads),
                          "--repeat", str(repeat), "--scale-factor", str(scale),
                          "--min-neighbors", str(neighbours), "--min-size", str(min_size)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neuropaint", default=os.path.join(HERE, "..", "build", "cli", "neuropaint"))
    parser.add_argument("--photo", default=DEFAULT_PHOTO)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--scale-factor", type=float, default=1.1)
    parser.add_argument("--min-neighbors", type=int, default=3)
    parser.add_argument("--min-size", type=int, default=30)
    args = parser.parse_args()

    photo = cv2.imread(args.photo, cv2.IMREAD_COLOR)
    if photo is None:
        raise SystemExit("cannot read %s" % args.photo)
    folder = tempfile.mkdtemp(prefix="np-bench-detect-")
    for w, h in ((1920, 1080), (512, 512)):
        path = os.path.join(folder, "photo-%dx%d.png" % (w, h))
        # PNG: both sides decode the same pixels.
        cv2.imwrite(path, cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA))
        gray = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)
        for threads in args.threads:
            # Interleave the two so both see the same machine load.
            ours = ours_run(args.neuropaint, path, threads, args.repeat,
                            args.scale_factor, args.min_neighbors, args.min_size)
            theirs = opencv_run(gray, threads, args.repeat,
                                args.scale_factor, args.min_neighbors, args.min_size)
            same = sorted([f["x"], f["y"], f["w"], f["h"]] for f in ours["faces"]) == theirs["faces"]
            print(json.dumps(ours))
            print(json.dumps(theirs))
            print(json.dumps({"bench": "detect-ratio", "width": w, "height": h, "threads": threads,
                              "opencv_over_ours": round(theirs["median_ms"] / ours["median_ms"], 3),
                              "same_boxes": same}))


if __name__ == "__main__":
    main()
