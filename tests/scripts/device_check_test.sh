#!/usr/bin/env bash
# scripts/device-check.sh on a machine without a GPU (CTest device_check_script):
# - its bundle holds a CLI that runs from the bundle alone;
# - its build of the LibTorch worker against an installed PyTorch (here the wheel in .deps, given
#   as GREENBENCH_TORCH_DIR, as /opt/torch/.venv's would be) configures without the CLI's
#   packages and gives a worker that runs;
# - the whole script leaves its files in OUTDIR and fails, saying why, where the GPU is missing.
# Usage: device_check_test.sh SOURCE_DIR BUILD_DIR TORCH_DIR
set -uo pipefail
src=$1 build=$2 torch=$(cd "$3" && pwd)  # without a trailing lib/.., as CMake prints it
tmp=$(mktemp -d "${TMPDIR:-/tmp}/greenbench-device-check-test-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
check() {  # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi
}
command -v ccache >/dev/null && export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache

# The bundle: the CLI and the libraries it needs, runnable with nothing else.
GREENBENCH_DEVICE_CHECK_BUILD_DIR_CLI=$build/bin "$src/scripts/device-check.sh" --bundle "$tmp/bundle"
check "bundle has the CLI" test -x "$tmp/bundle/bin/greenbench"
check "bundle has libsqlite3" test -n "$(ls "$tmp/bundle/lib" | grep libsqlite3)"
check "bundle has nlohmann-json" test -f "$tmp/bundle/include/nlohmann/json.hpp"
check "bundle CLI runs" env LD_LIBRARY_PATH="$tmp/bundle/lib" "$tmp/bundle/bin/greenbench" sources --json

# The whole script, dry: no GPU, no venv; the CLI from this build, the worker built against $torch.
out=$tmp/out
GREENBENCH_DEVICE_CHECK_DRY=1 GREENBENCH_TORCH_DIR=$torch GREENBENCH_TORCH_PYTHON=/nonexistent/python \
  GREENBENCH_DEVICE_CHECK_BUILD=$tmp/build GREENBENCH_DEVICE_CHECK_BUILD_DIR_CLI=$build/bin \
  GREENBENCH_BUNDLE="$tmp/bundle" "$src/scripts/device-check.sh" "$out"
rc=$?
echo "--- summary.txt"; cat "$out/summary.txt"; echo "---"
check "exit status 1 without a GPU (got $rc)" test "$rc" -eq 1
check "the worker was built against the given torch" grep -q "^build-worker: ok" "$out/summary.txt"
check "configured with GREENBENCH_TORCH_DIR" grep -q "GREENBENCH_TORCH_DIR\|Found TorchWheel: $torch" "$out/build-worker.log"
check "the worker's RPATH names that torch" grep -q "$(cd "$torch" && pwd)/lib" "$out/worker-dynamic.txt"
check "that worker runs on the CPU" "$tmp/build-worker/bin/greenbench-torch" --model ncf --phase infer \
  --scale tiny --threads 1 --steps 1 --eval-batches 1
check "sources ran" grep -q "^sources: ok" "$out/summary.txt"
check "sources JSON written" test -s "$out/sources.json"
check "machine recorded" test -s "$out/machine.txt"
check "the missing PyTorch python is named" grep -q "^torch-gpu-load: FAILED: no PyTorch python at /nonexistent/python" "$out/summary.txt"
for run in resnet50-small-train-fp32 resnet50-small-infer-fp32 resnet50-small-train-bf16 resnet50-small-infer-bf16; do
  # The worker's own one-line reason (exit status 2: a device it cannot use, or an option).
  check "$run failed (exit 2) with the worker's reason" grep -Eq "^$run: FAILED \(exit 2, [0-9.]+ s\): greenbench-torch: .+" "$out/summary.txt"
  check "$run logs and record kept" test -s "$out/$run.err" -a -s "$out/$run.command.err" -a -s "$out/$run.json"
done
check "summary lists each run's record" grep -q "^resnet50-small-infer-bf16: exit 2" "$out/summary.txt"
[ "$fails" -eq 0 ] && echo "device_check_test: all passed" || echo "device_check_test: $fails failed"
exit $((fails > 0))
