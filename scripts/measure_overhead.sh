#!/usr/bin/env bash
# Overhead of `greenbench measure` on a CPU-bound command: runs the same fixed amount of work
# bare and under `greenbench measure` (default 50 ms interval), interleaved, and prints the
# median wall time and median CPU time (user + system of the whole process tree) of each, and
# their ratios. Targets: < 1% wall, < 0.5% CPU.
#
#   scripts/measure_overhead.sh [BUILD_DIR] [REPETITIONS] [TARGET_SECONDS]
#
# BUILD_DIR defaults to ./build (needs bin/greenbench and bin/busy_loop from tests/helpers);
# the work is calibrated once to take about TARGET_SECONDS (default 10) of CPU time, then kept
# fixed for every run. Extra `greenbench measure` options can be passed in GB_MEASURE_OPTS.
# Last, it measures the harness alone (around `sleep`), which is free of the workload's noise.
set -euo pipefail

build_dir=${1:-build}
reps=${2:-5}
target_s=${3:-10}
gb="$build_dir/bin/greenbench"
busy="$build_dir/bin/busy_loop"
for f in "$gb" "$busy"; do
  [[ -x $f ]] || { echo "measure_overhead.sh: $f not found (build greenbench_cli and busy_loop)" >&2; exit 2; }
done

exec python3 - "$gb" "$busy" "$reps" "$target_s" "${GB_MEASURE_OPTS:-}" <<'PY'
import os, shlex, statistics, subprocess, sys, time

gb, busy, reps, target_s, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]

def run(argv):
    """Wall seconds and CPU seconds (user + sys of the child and everything it waited for)."""
    t0 = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(child.pid, 0)
    child.returncode = 0  # reaped here; keeps Popen from waiting again
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("command failed: %s" % " ".join(argv))
    return wall, ru.ru_utime + ru.ru_stime

# Calibrate: CPU time of a known amount of work, scaled to the target.
probe = 200_000_000
_, cpu = run([busy, str(probe)])
iterations = max(probe, int(probe * target_s / max(cpu, 1e-3)))
bare = [busy, str(iterations)]
measured = [gb, "measure", "--quiet"] + shlex.split(extra) + ["--"] + bare

sources = subprocess.run([gb, "measure", "--", "true"], capture_output=True, text=True).stderr
print("greenbench measure sources:", "; ".join(l for l in sources.splitlines() if l.startswith("source")) or "none")
print("work: busy_loop %d iterations, %d repetitions of each, interleaved" % (iterations, reps))
print("%-4s %-9s %10s %10s" % ("rep", "variant", "wall s", "cpu s"))
results = {"bare": [], "measured": []}
for i in range(reps):
    # Alternate which goes first so slow drifts of the machine hit both equally.
    order = [("bare", bare), ("measured", measured)]
    if i % 2 == 1:
        order.reverse()
    for name, argv in order:
        wall, cpu = run(argv)
        results[name].append((wall, cpu))
        print("%-4d %-9s %10.3f %10.3f" % (i + 1, name, wall, cpu), flush=True)

def med(name, k):
    return statistics.median(r[k] for r in results[name])

bw, bc, mw, mc = med("bare", 0), med("bare", 1), med("measured", 0), med("measured", 1)
print()
print("median wall: bare %.3f s, measured %.3f s, ratio %.4f (%+.2f%%)" % (bw, mw, mw / bw, (mw / bw - 1) * 100))
print("median cpu:  bare %.3f s, measured %.3f s, ratio %.4f (%+.2f%%)" % (bc, mc, mc / bc, (mc / bc - 1) * 100))
# The ratios above carry the machine's noise (a few tenths of a percent between identical runs
# on a shared machine). The harness's own cost, without that noise: the CPU time of
# `greenbench measure` around a command that uses none (sleep) for the same wall time.
own = []
for _ in range(3):
    _, cpu = run([gb, "measure", "--quiet"] + shlex.split(extra) + ["--", "sleep", "%.3f" % bw])
    own.append(cpu)
oc = statistics.median(own)
print("harness alone (measure -- sleep %.1f): median cpu %.4f s = %.3f%% of the bare run's cpu, %.2f ms per second"
      % (bw, oc, oc / bc * 100, oc / bw * 1000))
print("targets: wall < +1%, cpu < +0.5%")
PY
