#!/usr/bin/env bash
# run_fuzz.sh BUILD [TARGET]: builds the libFuzzer targets with clang
# (-fsanitize=fuzzer,address,undefined) in BUILD/fuzz and runs TARGET
# (default fuzz_ingest) for ISPEED_FUZZ_SECONDS (default 20) from its seed
# corpora: the committed tests/fuzz/corpus/TARGET and the generated
# BUILD/fuzz/seeds/TARGET. Fails on any crash, sanitizer report, leak or
# timeout; the reproducer is left in BUILD/fuzz/artifacts/. Several of these
# may run at once (ctest -j): the build is done under a lock.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
TARGET=${2:-fuzz_ingest}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_MAX=${ISPEED_FUZZ_SECONDS:-20}
OUT="$BUILD/fuzz"
command -v clang >/dev/null || { echo "SKIP: clang is not installed (deploy/deps.sh installs it)" >&2; exit 77; }
[ -f "$SRC/tests/fuzz/$TARGET.c" ] || { echo "usage: run_fuzz.sh BUILD [TARGET]: no tests/fuzz/$TARGET.c" >&2; exit 2; }

mkdir -p "$OUT/corpus/$TARGET" "$OUT/seeds" "$OUT/artifacts"
(
  flock 9
  # Configured once; make re-runs cmake when a file it read changes.
  if [ ! -f "$OUT/Makefile" ]; then
    cmake -S "$SRC/tests/fuzz" -B "$OUT" -DCMAKE_C_COMPILER=clang >"$OUT/cmake.log" 2>&1 \
      || { echo "FAIL: cmake of tests/fuzz: $(tail -5 "$OUT/cmake.log")" >&2; exit 1; }
  fi
  # Every target at once: the first test to get here builds for the others.
  if ! make -C "$OUT" -j2 >"$OUT/make.log" 2>&1; then
    # Debian ships libFuzzer and the sanitizers' runtimes apart from clang.
    printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$OUT/probe.c"
    clang -fsanitize=fuzzer,address,undefined "$OUT/probe.c" -o "$OUT/probe" >"$OUT/probe.log" 2>&1 \
      || { echo "FAIL: clang cannot link -fsanitize=fuzzer,address,undefined: install libclang-rt-14-dev (deploy/deps.sh does)" >&2; exit 1; }
    echo "FAIL: build of the fuzz targets: $(grep -m3 -E 'error|Error' "$OUT/make.log")" >&2
    exit 1
  fi
  # Seeds are written again only by a rebuilt generator.
  if [ ! -f "$OUT/seeds/.done" ] || [ "$OUT/fuzz_seeds" -nt "$OUT/seeds/.done" ]; then
    "$OUT/fuzz_seeds" "$OUT/seeds" >"$OUT/seeds.log" 2>&1 \
      || { echo "FAIL: seed corpus: $(tail -3 "$OUT/seeds.log")" >&2; exit 1; }
    touch "$OUT/seeds/.done"
  fi
) 9>"$OUT/build.lock"

CORPORA=("$OUT/corpus/$TARGET")
for d in "$SRC/tests/fuzz/corpus/$TARGET" "$OUT/seeds/$TARGET"; do
  [ -d "$d" ] && CORPORA+=("$d")
done
[ ${#CORPORA[@]} -gt 1 ] || { echo "FAIL: $TARGET has no seed corpus" >&2; exit 1; }

LOG="$OUT/$TARGET.log"
rc=0
(cd "$OUT" && "./$TARGET" -max_total_time="$SECONDS_MAX" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$OUT/artifacts/$TARGET-" "${CORPORA[@]}") >"$LOG" 2>&1 || rc=$?
if [ "$rc" != 0 ]; then
  echo "FAIL: $TARGET exited $rc: $(grep -m1 -E 'ERROR|runtime error|SUMMARY|fuzz_[a-z_]+: ' "$LOG")" >&2
  echo "reproducer: $(ls -t "$OUT/artifacts" | grep "^$TARGET-" | head -1) in $OUT/artifacts; log $LOG" >&2
  echo "replay: $OUT/$TARGET FILE" >&2
  exit 1
fi
echo "-- $TARGET: $(grep -E '^stat::number_of_executed_units' "$LOG" | awk '{print $2}') runs in ${SECONDS_MAX} s, $(grep -oE 'cov: [0-9]+' "$LOG" | tail -1), corpus $(ls "$OUT/corpus/$TARGET" | wc -l) new inputs" >&2
echo PASS
