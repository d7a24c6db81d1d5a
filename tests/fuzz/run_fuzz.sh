#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined)
# in BUILD/fuzz and runs fuzz_ingest for ISPEED_FUZZ_SECONDS (default 30) from
# a seed corpus of valid records. Fails on any crash, sanitizer report, leak
# or timeout; the reproducer is left in BUILD/fuzz/artifacts/.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_MAX=${ISPEED_FUZZ_SECONDS:-30}
OUT="$BUILD/fuzz"
command -v clang >/dev/null || { echo "SKIP: clang is not installed (deploy/deps.sh installs it)" >&2; exit 77; }

mkdir -p "$OUT/corpus" "$OUT/seeds" "$OUT/artifacts"
cmake -S "$SRC/tests/fuzz" -B "$OUT" -DCMAKE_C_COMPILER=clang >"$OUT/cmake.log" 2>&1 \
  || { echo "FAIL: cmake of tests/fuzz: $(tail -5 "$OUT/cmake.log")" >&2; exit 1; }
make -C "$OUT" -j"$(nproc)" fuzz_ingest fuzz_seeds >"$OUT/make.log" 2>&1 \
  || { echo "FAIL: build of the fuzz targets: $(grep -m3 -E 'error|Error' "$OUT/make.log")" >&2; exit 1; }
"$OUT/fuzz_seeds" "$OUT/seeds"

rc=0
(cd "$OUT" && ./fuzz_ingest -max_total_time="$SECONDS_MAX" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$OUT/artifacts/" corpus seeds) >"$OUT/fuzz.log" 2>&1 || rc=$?
if [ "$rc" != 0 ]; then
  echo "FAIL: fuzz_ingest exited $rc: $(grep -m1 -E 'ERROR|runtime error|SUMMARY' "$OUT/fuzz.log")" >&2
  echo "reproducer: $(ls -t "$OUT/artifacts" | head -1) in $OUT/artifacts; log $OUT/fuzz.log" >&2
  exit 1
fi
echo "-- $(grep -E '^stat::number_of_executed_units' "$OUT/fuzz.log" | awk '{print $2}') runs, $(grep -oE 'cov: [0-9]+' "$OUT/fuzz.log" | tail -1), corpus $(ls "$OUT/corpus" | wc -l)" >&2
echo PASS
