#!/usr/bin/env bash
# Runs each libFuzzer target built in BUILD for SECONDS, starting from the seed corpus of
# tests/fuzz/corpus/<target> (read only) and the corpus BUILD/fuzz/corpus/<target> grown by
# earlier runs. A crash, a sanitizer finding or a failed check leaves its input in
# BUILD/fuzz/artifacts/<target>/ and makes the script fail.
# Usage: tests/fuzz/run.sh BUILD SECONDS [TARGET...]   (make fuzz FUZZ_SECONDS=N)
set -uo pipefail
build=$1
seconds=$2
shift 2
targets=("$@")
((${#targets[@]})) || targets=(study_file csv_import marker_parser checkpoint run_metadata)
here=$(cd "$(dirname "$0")" && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in "${targets[@]}"; do
  corpus=$build/fuzz/corpus/$t
  artifacts=$build/fuzz/artifacts/$t
  log=$build/fuzz/$t.log
  mkdir -p "$corpus" "$artifacts"
  extra=()
  [ -f "$here/$t.dict" ] && extra+=("-dict=$here/$t.dict")
  start=$(date +%s)
  "$build/bin/fuzz_$t" "$corpus" "$here/corpus/$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" "${extra[@]}" \
    >"$log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  units=$(find "$corpus" -type f | wc -l)
  if ((rc == 0)); then
    echo "fuzz $t: ${execs:-?} executions in ${took} s, 0 crashes, corpus $units inputs"
  else
    status=1
    echo "fuzz $t: FAILED (exit $rc) after ${execs:-?} executions; input in $artifacts/, log $log"
    grep -E 'ERROR|fuzz check failed|unclean message|runtime error|SUMMARY' "$log" | head -5
  fi
done
exit $status
