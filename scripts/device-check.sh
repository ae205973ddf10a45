#!/usr/bin/env bash
# Checks greenbench on a GPU machine that has CUDA, a C++ toolchain, CMake and PyTorch in a venv,
# but no TensorFlow and no network. Everything it reads goes into OUTDIR.
#
#   scripts/device-check.sh OUTDIR
#       1. records the machine (nvidia-smi -q, compilers, PyTorch and its CUDA);
#       2. builds the greenbench CLI and the LibTorch worker against that PyTorch
#          (-DGREENBENCH_TORCH_DIR=<site-packages>/torch); where the CLI's development packages
#          (SQLite, toml++, Boost, nlohmann-json) are missing, it builds the worker alone and
#          takes the CLI from a bundle made beforehand (below), or says what is missing;
#       3. greenbench sources (text and JSON);
#       4. greenbench measure around a short GPU load from that PyTorch, marked with the Python
#          marker client (python/greenbench_markers.py);
#       5. the LibTorch worker --device cuda, ResNet-50 small, train and infer, fp32 and bf16, each
#          under greenbench measure --json --trace, with nvidia-smi sampling power beside it;
#       6. summary.txt: per run, the GPU, how its energy was read, joules per phase against
#          nvidia-smi's power integrated over the same phase, and the step times.
#   scripts/device-check.sh --bundle DIR
#       makes the bundle on a machine with the packages (here): the built CLI with the shared
#       libraries it needs beside it, and nlohmann-json's headers and CMake files for the worker
#       build. Bring it along (about 8 MB) and point GREENBENCH_BUNDLE at it.
#
# Environment: GREENBENCH_TORCH_PYTHON (default /opt/torch/.venv/bin/python), GREENBENCH_TORCH_DIR
# (default: asked from that python), GREENBENCH_BUNDLE (default build-bundle/ if it exists),
# GREENBENCH_DEVICE_CHECK_BUILD (build folder, default $TMPDIR/greenbench-device-check),
# GREENBENCH_DEVICE_CHECK_BUILD_DIR_CLI (an already built CLI's bin/ folder to use instead of
# building one), GREENBENCH_DEVICE_CHECK_DRY=1 (a machine without a GPU: no nvidia-smi or venv is
# required; the GPU steps still run, and fail, saying why).
# Exit status: 0 when every step passed, 1 when any failed (summary.txt lists them), 2 for usage.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

say() { echo "device-check: $*" >&2; }

if [ "${1:-}" = "--bundle" ]; then
  [ $# -eq 2 ] || { echo "usage: scripts/device-check.sh --bundle DIR" >&2; exit 2; }
  dir=$2
  cli=${GREENBENCH_DEVICE_CHECK_BUILD_DIR_CLI:-build/bin}/greenbench
  [ -x "$cli" ] || { say "no built CLI at $cli (build it first, or set GREENBENCH_DEVICE_CHECK_BUILD_DIR_CLI)"; exit 1; }
  rm -rf "$dir" && mkdir -p "$dir/bin" "$dir/lib" "$dir/include" "$dir/share/cmake"
  cp "$cli" "$dir/bin/"
  # Every shared library it loads but the C library's own (which must come from the machine).
  ldd "$cli" | awk '/=> \//{print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*) ;;
      *) cp -L "$lib" "$dir/lib/" ;;
    esac
  done
  inc=$(echo '#include <nlohmann/json.hpp>' | c++ -x c++ -E -H - 2>&1 >/dev/null | awk '/nlohmann\/json.hpp/{print $2; exit}')
  [ -n "$inc" ] && cp -r "$(dirname "$inc")" "$dir/include/"
  for d in /usr/share/cmake/nlohmann_json /usr/lib/cmake/nlohmann_json /usr/lib/x86_64-linux-gnu/cmake/nlohmann_json; do
    [ -d "$d" ] && cp -r "$d" "$dir/share/cmake/" && break
  done
  ldd --version 2>&1 | head -1 >"$dir/GLIBC"
  say "bundle in $dir ($(du -sh "$dir" | cut -f1)); it needs $(cat "$dir/GLIBC") or newer"
  exit 0
fi

[ $# -eq 1 ] || { echo "usage: scripts/device-check.sh OUTDIR | --bundle DIR" >&2; exit 2; }
OUT=$(mkdir -p "$1" && cd "$1" && pwd) || { echo "device-check: cannot create $1" >&2; exit 2; }
DRY=${GREENBENCH_DEVICE_CHECK_DRY:-0}
PY=${GREENBENCH_TORCH_PYTHON:-/opt/torch/.venv/bin/python}
BUILD=${GREENBENCH_DEVICE_CHECK_BUILD:-${TMPDIR:-/tmp}/greenbench-device-check}
BUNDLE=${GREENBENCH_BUNDLE:-}
[ -z "$BUNDLE" ] && [ -d build-bundle ] && BUNDLE=build-bundle
[ -n "$BUNDLE" ] && BUNDLE=$(cd "$BUNDLE" && pwd)
JOBS=$(nproc 2>/dev/null || echo 4)
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
FAILED=()
START=$(date +%s)

# step NAME COMMAND...: runs it with its output in OUT/NAME.log and OUT/NAME.err (standard
# error: a measured command's own messages), and records ok or FAILED.
step() {
  local name=$1; shift
  local t0=$(date +%s.%N)
  say "$name ..."
  "$@" >"$OUT/$name.log" 2>"$OUT/$name.err"
  local rc=$?
  local took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  if [ $rc -eq 0 ]; then
    echo "$name: ok (${took} s)" >>"$SUMMARY"
  else
    # The last line on standard error that says something is usually the reason.
    local why=""
    # A measured command's own last words first (greenbench measure's report follows them).
    [ -s "$OUT/$name.command.err" ] && why=$(grep -v '^\s*$' "$OUT/$name.command.err" | tail -1 | cut -c1-300)
    [ -z "$why" ] && why=$(grep -v '^\s*$' "$OUT/$name.err" | tail -1 | cut -c1-300)
    [ -z "$why" ] && why=$(grep -v '^\s*$' "$OUT/$name.log" | tail -1 | cut -c1-300)
    echo "$name: FAILED (exit $rc, ${took} s): $why" >>"$SUMMARY"
    FAILED+=("$name")
  fi
  return $rc
}

# 1. The machine.
{
  echo "date: $(date -u +%FT%TZ)"; echo "host: $(hostname)"; uname -a
  echo "cmake: $(cmake --version 2>&1 | head -1)"; echo "c++: $(c++ --version 2>&1 | head -1)"
  ldd --version 2>&1 | head -1
  echo "nproc: $JOBS"; echo "git: $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
  echo "bundle: ${BUNDLE:-none}"
} >"$OUT/machine.txt" 2>&1
if command -v nvidia-smi >/dev/null; then
  nvidia-smi -q >"$OUT/nvidia-smi-q.txt" 2>&1
  nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1
  HAVE_SMI=1
else
  echo "nvidia-smi: not found" >>"$OUT/machine.txt"
  HAVE_SMI=0
  [ "$DRY" = 1 ] || echo "machine: nvidia-smi not found (no NVIDIA driver?)" >>"$SUMMARY"
fi

TORCH_DIR=${GREENBENCH_TORCH_DIR:-}
if [ -x "$PY" ]; then
  "$PY" - >"$OUT/torch.txt" 2>&1 <<'EOF'
import torch, os
print("torch", torch.__version__, "cuda", torch.version.cuda, "dir", os.path.dirname(torch.__file__))
print("cuda available", torch.cuda.is_available())
for i in range(torch.cuda.device_count()):
    print("device", i, torch.cuda.get_device_name(i), torch.cuda.get_device_capability(i))
EOF
  [ -z "$TORCH_DIR" ] && TORCH_DIR=$("$PY" -c 'import torch, os; print(os.path.dirname(torch.__file__))' 2>/dev/null)
else
  echo "no python at $PY" >"$OUT/torch.txt"
fi
if [ -z "$TORCH_DIR" ]; then
  echo "torch: FAILED: no PyTorch found (no $PY; set GREENBENCH_TORCH_PYTHON or GREENBENCH_TORCH_DIR)" >>"$SUMMARY"
  FAILED+=(torch)
fi

# 2. The build. The CLI where its packages are here, else the worker alone and the bundle's CLI.
CLI_DIR=${GREENBENCH_DEVICE_CHECK_BUILD_DIR_CLI:-}
build_all() {
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DGREENBENCH_BUILD_TESTS=OFF \
    -DGREENBENCH_BUILD_BENCHMARKS=OFF -DGREENBENCH_WITH_TENSORFLOW=OFF -DGREENBENCH_WITH_TORCH=ON \
    -DGREENBENCH_TORCH_DIR="$TORCH_DIR" "$@" &&
    cmake --build "$BUILD" -j "$JOBS"
}
build_worker() {
  local prefix=()
  [ -n "$BUNDLE" ] && prefix=(-DCMAKE_PREFIX_PATH="$BUNDLE")
  rm -rf "$BUILD-worker"
  cmake -S "$ROOT" -B "$BUILD-worker" -DCMAKE_BUILD_TYPE=Release -DGREENBENCH_BUILD_CLI=OFF \
    -DGREENBENCH_BUILD_TESTS=OFF -DGREENBENCH_BUILD_BENCHMARKS=OFF \
    -DGREENBENCH_WITH_TENSORFLOW=OFF -DGREENBENCH_WITH_TORCH=ON \
    -DGREENBENCH_TORCH_DIR="$TORCH_DIR" "${prefix[@]}" &&
    cmake --build "$BUILD-worker" -j "$JOBS" --target greenbench-torch
}
GB=""; WORKER=""
if [ -n "$TORCH_DIR" ]; then
  if [ -n "$CLI_DIR" ]; then
    GB=$CLI_DIR/greenbench
    step build-worker build_worker && WORKER=$BUILD-worker/bin/greenbench-torch
  elif step build build_all; then
    GB=$BUILD/bin/greenbench; WORKER=$BUILD/bin/greenbench-torch
  else
    # Name what the machine lacks, from CMake's own words.
    cat "$OUT/build.log" "$OUT/build.err" | grep -E "Could NOT find|No package '|not found" | sort -u >"$OUT/build-missing.txt"
    if step build-worker build_worker; then WORKER=$BUILD-worker/bin/greenbench-torch; fi
    if [ -n "$BUNDLE" ] && [ -x "$BUNDLE/bin/greenbench" ]; then
      GB=$BUNDLE/bin/greenbench
      export LD_LIBRARY_PATH="$BUNDLE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      echo "cli: from the bundle $BUNDLE (this machine lacks: $(tr '\n' ';' <"$OUT/build-missing.txt"))" >>"$SUMMARY"
    else
      echo "cli: none; this machine lacks: $(tr '\n' ';' <"$OUT/build-missing.txt") and no bundle was brought (scripts/device-check.sh --bundle DIR, then GREENBENCH_BUNDLE=DIR)" >>"$SUMMARY"
    fi
  fi
fi
[ -n "$WORKER" ] && readelf -d "$WORKER" >"$OUT/worker-dynamic.txt" 2>&1

# 3. What greenbench can measure here.
if [ -n "$GB" ]; then
  step sources "$GB" sources
  "$GB" sources --json >"$OUT/sources.json" 2>>"$OUT/sources.err"
fi

# Samples nvidia-smi's power reading (~every 100 ms) beside a measurement, as an independent
# estimate of the GPU's energy per phase.
SMI_PID=""
smi_start() {
  SMI_PID=""
  [ "$HAVE_SMI" = 1 ] || return 0
  nvidia-smi --query-gpu=timestamp,index,power.draw,clocks.sm,clocks.mem,temperature.gpu,utilization.gpu \
    --format=csv,nounits -lms 100 >"$OUT/$1.nvidia-smi.csv" 2>&1 &
  SMI_PID=$!
}
smi_stop() {
  [ -n "$SMI_PID" ] || return 0
  kill "$SMI_PID" 2>/dev/null; wait "$SMI_PID" 2>/dev/null; SMI_PID=""
}

# measured NAME ARGV...: greenbench measure --json --trace around ARGV, wall start recorded.
measured() {
  local name=$1; shift
  smi_start "$name"
  date +%s.%N >"$OUT/$name.start"
  # The command's standard error in a file of its own (exec: the shell does not stay around).
  step "$name" "$GB" measure --timeout 300 --json "$OUT/$name.json" --trace "$OUT/$name.trace.json" \
    -- sh -c 'exec "$@" 2>"$0"' "$OUT/$name.command.err" "$@"
  local rc=$?
  smi_stop
  return $rc
}

# 4. A short GPU load from that PyTorch, marked by the Python client.
if [ -n "$GB" ]; then
  cat >"$OUT/gpu_load.py" <<'EOF'
# Matrix products on the GPU for a few seconds, then idle; phases marked, device synchronised
# before every marker (GPU work is asynchronous).
import sys, time
sys.path.insert(0, sys.argv[1])
import greenbench_markers as gb
import torch
dev = torch.device("cuda")
with gb.phase("setup"):
    a = torch.randn(8192, 8192, device=dev)
    b = torch.randn(8192, 8192, device=dev)
    torch.cuda.synchronize()
with gb.phase("matmul"):
    t0, n = time.time(), 0
    while time.time() - t0 < 8:
        for _ in range(10):
            c = a @ b
        torch.cuda.synchronize()
        n += 10
    seconds = time.time() - t0
gb.metric("tflops_fp32", 2 * 8192**3 * n / seconds / 1e12)
with gb.phase("idle"):
    time.sleep(3)
gb.info("gpu", torch.cuda.get_device_name(0))
EOF
  if [ -x "$PY" ]; then
    measured torch-gpu-load "$PY" "$OUT/gpu_load.py" "$ROOT/python"
  else
    echo "torch-gpu-load: FAILED: no PyTorch python at $PY" >>"$SUMMARY"; FAILED+=(torch-gpu-load)
  fi
fi

# 5. The LibTorch worker on the GPU.
if [ -n "$GB" ] && [ -n "$WORKER" ]; then
  for precision in fp32 bf16; do
    for phase in train infer; do
      measured "resnet50-small-$phase-$precision" "$WORKER" --model resnet50 --phase "$phase" \
        --scale small --seed 1 --threads 4 --device cuda --precision "$precision"
    done
  done
fi

# 6. The summary: energy per phase against nvidia-smi's power over the same time, step times.
SUMPY=$(command -v python3 || echo "$PY")
"$SUMPY" - "$OUT" >>"$SUMMARY" 2>&1 <<'EOF'
import csv, glob, json, os, sys
out = sys.argv[1]
env = {}
try:
    env = json.load(open(os.path.join(out, "sources.json")))
except Exception:
    pass
for g in env.get("gpus", []):
    how = "energy counter" if g.get("energy_counter") else "power samples"
    print(f"gpu {g.get('id')}: {g.get('name')}; energy read from its {how}")
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    name = os.path.basename(path)[:-5]
    if name.endswith(".trace") or name == "sources":
        continue
    try:
        rec = json.load(open(path))
    except Exception as e:
        print(f"{name}: no record ({e})")
        continue
    start = float(open(os.path.join(out, name + ".start")).read())
    samples = []  # (unix time, watts) summed over GPUs per timestamp
    smi = os.path.join(out, name + ".nvidia-smi.csv")
    if os.path.exists(smi):
        import datetime
        by_t = {}
        for row in csv.reader(open(smi)):
            try:
                t = datetime.datetime.strptime(row[0].strip(), "%Y/%m/%d %H:%M:%S.%f").timestamp()
                by_t[t] = by_t.get(t, 0.0) + float(row[2])
            except (ValueError, IndexError):
                continue
        samples = sorted(by_t.items())
    def integrate(a, b):
        pts = [(t, w) for t, w in samples if a <= t <= b]
        if len(pts) < 2:
            return None
        return sum((t2 - t1) * (w1 + w2) / 2 for (t1, w1), (t2, w2) in zip(pts, pts[1:])) * (b - a) / (pts[-1][0] - pts[0][0])
    print(f"{name}: exit {rec.get('exit_code')}, {rec.get('duration_s', 0):.2f} s, sources "
          + ", ".join(f"{s['name']} ({s['quality']})" for s in rec.get("sources", [])))
    for p in rec.get("phases", []):
        gpu = p.get("energy_j", {}).get("gpu")
        est = integrate(start + p["start_s"], start + p["end_s"])
        line = f"  {p['name']:8s} {p['duration_s']:8.3f} s  gpu "
        line += f"{gpu:9.1f} J" if gpu is not None else "        - J"
        if est is not None:
            line += f"  nvidia-smi power integrated {est:9.1f} J"
            if gpu:
                line += f" ({(est - gpu) / gpu * 100:+.1f}%)"
        print(line)
    for m in rec.get("metrics", []):
        if m["name"].startswith(("step_s", "batch_s", "samples_per_s", "tflops", "loss", "accuracy")):
            print(f"  metric {m['name']} = {m['value']} {m.get('unit', '')} ({m.get('phase', '')})")
    for w in rec.get("warnings", []):
        print(f"  warning: {w}")
EOF

echo "took $(( $(date +%s) - START )) s" >>"$SUMMARY"
cat "$SUMMARY" >&2
if ((${#FAILED[@]})); then
  say "failed: ${FAILED[*]} (see $OUT)"
  exit 1
fi
exit 0
