#!/usr/bin/env python3
"""Median wall time and samples/s of the tiny runs of both workers (issue evidence, not a test).

Usage: scripts/worker_timings.py [--reps 5] [--threads 2] [--bin build/bin]
Runs train and infer of every model in both workers, interleaved, and prints a Markdown table of
medians. The infer runs load the checkpoint of a train run of the same worker.
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

MODELS = ["ncf", "resnet50", "transformer_xl"]
WORKERS = {"pytorch": "greenbench-torch", "tensorflow": "greenbench-tf"}
QUALITY = {"ncf": "hit_rate_10", "resnet50": "accuracy_top1", "transformer_xl": "perplexity"}


def run(cmd):
    """Runs a worker with a marker pipe and returns (wall seconds, {metric: value})."""
    read_fd, write_fd = os.pipe()
    env = dict(os.environ, GREENBENCH_MARKER_FD=str(write_fd))
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, pass_fds=(write_fd,), stdout=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as markers:
        lines = markers.read().splitlines()
    if proc.wait() != 0:
        raise SystemExit("failed: " + " ".join(cmd))
    wall = time.monotonic() - start
    metrics = {}
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "metric":
            metrics[parts[1]] = float(parts[2])
    return wall, metrics


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bin", default="build/bin")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            for model in MODELS:
                for framework, exe in WORKERS.items():
                    ckpt = os.path.join(tmp, f"{framework}-{model}.ckpt")
                    base = [os.path.join(args.bin, exe), "--model", model, "--scale", "tiny",
                            "--seed", "1", "--threads", str(args.threads)]
                    for phase in ("train", "infer"):
                        wall, metrics = run(base + ["--phase", phase, "--checkpoint", ckpt])
                        results.setdefault((model, framework, phase), []).append((wall, metrics))
    print(f"| model | framework | phase | wall s (median of {args.reps}) | samples/s | quality |")
    print("|---|---|---|---|---|---|")
    for (model, framework, phase), runs in sorted(results.items()):
        wall = statistics.median(r[0] for r in runs)
        sps = statistics.median(r[1].get("samples_per_s", float("nan")) for r in runs)
        q = statistics.median(r[1].get(QUALITY[model], float("nan")) for r in runs)
        print(f"| {model} | {framework} | {phase} | {wall:.2f} | {sps:,.0f} | "
              f"{QUALITY[model]} {q:.3f} |")


if __name__ == "__main__":
    main()
