#!/usr/bin/env python3
"""A stand-in for greenbench-torch / greenbench-tf (named by argv[0]) for the profile CLI test:
marks the phase, busies the CPU for it, reports the step-time metrics, and with --profile FILE
writes a profile to the worker contract (workloads/common/MODELS.md, Profiling)."""
import json
import os
import sys
import time

args = sys.argv[1:]
opts = {args[i]: args[i + 1] for i in range(0, len(args) - 1) if args[i].startswith("--")}
framework = "pytorch" if "torch" in os.path.basename(sys.argv[0]) else "tensorflow"
phase = opts["--phase"]
steps = int(opts.get("--steps" if phase == "train" else "--eval-batches", "4"))
profiled = "--profile" in opts
fd = int(os.environ["GREENBENCH_MARKER_FD"])


def marker(line):
    os.write(fd, (line + "\n").encode())


# Profiled steps take twice as long: the profiler's overhead is 100%.
step_s = 0.02 * (2 if profiled else 1)
marker("begin " + phase)
start = time.monotonic()
times = []
for _ in range(steps):
    t0 = time.monotonic()
    while time.monotonic() - t0 < step_s:
        pass
    times.append(time.monotonic() - t0)
phase_s = time.monotonic() - start
marker("end " + phase)
name = "step_s_median" if phase == "train" else "batch_s_median"
marker("metric %s %.9f s" % (name, sorted(times)[len(times) // 2]))
if profiled:
    ops = [
        {"name": "aten::addmm" if framework == "pytorch" else "MatMul", "pass": "forward",
         "self_s": 0.5 * phase_s, "calls": 3 * steps},
        {"name": "mystery_op", "pass": "forward", "self_s": 0.1 * phase_s, "calls": steps},
    ]
    if phase == "train":
        ops.append({"name": "apply_update", "pass": "optimizer", "self_s": 0.2 * phase_s,
                    "calls": steps})
    spans = [{"name": ops[0]["name"], "pass": "forward", "step": i, "start_s": i * step_s,
              "dur_s": step_s / 2} for i in range(steps)]
    out = {"framework": framework, "framework_version": "0.0", "profiler": "fake",
           "model": opts["--model"], "scale": opts["--scale"], "phase": phase, "device": "cpu",
           "precision": "fp32", "threads": int(opts["--threads"]), "steps": steps,
           "phase_s": phase_s, "ops_self_s": sum(o["self_s"] for o in ops), "step_s": times,
           "step_start_s": [i * step_s for i in range(steps)], "ops": ops,
           "spans_total": len(spans), "spans": spans}
    with open(opts["--profile"], "w") as f:
        json.dump(out, f)
