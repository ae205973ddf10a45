#!/usr/bin/env python3
"""Per-step times of both workers in default and strict numerics (evidence, not a test).

Usage: scripts/worker_timings.py [--reps 5] [--threads 2] [--bin build/bin] [--scale tiny]
                                 [--models ncf,resnet50,transformer_xl] [--steps N]
                                 [--eval-batches N]

For every model x framework x numerics it runs train and infer, interleaved (the order of the
numerics alternates between repetitions), and prints Markdown tables of medians over the
repetitions: the workers' own per-step metrics (step_s_median, step_s_first for train;
batch_s_median, batch_s_first for infer), the default / strict ratio, and set-up's data rate.
"""
import argparse
import os
import statistics
import subprocess
import tempfile

WORKERS = {"pytorch": "greenbench-torch", "tensorflow": "greenbench-tf"}
NUMERICS = ["default", "strict"]


def run(cmd):
    """Runs a worker and returns its "name value" metric lines."""
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    metrics = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            try:
                metrics[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return metrics


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bin", default="build/bin")
    parser.add_argument("--scale", default="tiny")
    parser.add_argument("--models", default="ncf,resnet50,transformer_xl")
    parser.add_argument("--steps", type=int, default=0, help="training steps (0: the preset's)")
    parser.add_argument("--eval-batches", type=int, default=0,
                        help="inference batches (0: the preset's)")
    args = parser.parse_args()
    models = args.models.split(",")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            order = NUMERICS if rep % 2 == 0 else NUMERICS[::-1]
            for model in models:
                for framework, exe in WORKERS.items():
                    for numerics in order:
                        ckpt = os.path.join(tmp, f"{framework}-{model}-{numerics}.ckpt")
                        base = [os.path.join(args.bin, exe), "--model", model, "--scale",
                                args.scale, "--seed", "1", "--threads", str(args.threads),
                                "--numerics", numerics, "--checkpoint", ckpt]
                        train = base + ["--phase", "train", "--eval-batches", "1"]
                        if args.steps:
                            train += ["--steps", str(args.steps)]
                        infer = base + ["--phase", "infer"]
                        if args.eval_batches:
                            infer += ["--eval-batches", str(args.eval_batches)]
                        for phase, cmd in (("train", train), ("infer", infer)):
                            results.setdefault((model, framework, numerics, phase), []).append(
                                run(cmd))

    def med(model, framework, numerics, phase, name):
        return statistics.median(r[name] for r in results[(model, framework, numerics, phase)])

    print(f"{args.scale} presets, {args.threads} threads, medians of {args.reps} interleaved runs")
    for phase, prefix, what in (("train", "step_s", "s per optimizer step"),
                                ("infer", "batch_s", "s per forward pass")):
        print(f"\n{phase}: {what} (median step of each run)\n")
        print("| model | framework | default | strict | default / strict "
              "| first / median (default) | first / median (strict) |")
        print("|---|---|---|---|---|---|---|")
        for model in models:
            for framework in WORKERS:
                d = med(model, framework, "default", phase, prefix + "_median")
                s = med(model, framework, "strict", phase, prefix + "_median")
                fd = med(model, framework, "default", phase, prefix + "_first")
                fs = med(model, framework, "strict", phase, prefix + "_first")
                print(f"| {model} | {framework} | {d:.4g} | {s:.4g} | {d / s:.2f} | "
                      f"{fd:.3g} s / {d:.3g} s = {fd / d:.0f}x | "
                      f"{fs:.3g} s / {s:.3g} s = {fs / s:.0f}x |")
    print("\nset-up data (default numerics, train runs)\n")
    print("| model | framework | data MB | data_setup_s | MB/s |")
    print("|---|---|---|---|---|")
    for model in models:
        for framework in WORKERS:
            mb = med(model, framework, "default", "train", "data_bytes") / 1e6
            sec = med(model, framework, "default", "train", "data_setup_s")
            rate = med(model, framework, "default", "train", "data_mb_per_s")
            print(f"| {model} | {framework} | {mb:.1f} | {sec:.3f} | {rate:.0f} |")


if __name__ == "__main__":
    main()
