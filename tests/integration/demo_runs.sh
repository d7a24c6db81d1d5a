#!/usr/bin/env bash
# The quick start's demo (embedded Kafka, server, agents, collector) stops
# by itself with status 0 after printing samples, alerts and quota lines,
# and leaves no process behind.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

rc=0
timeout 120 "$SRC/deploy/ispeed-demo" --bin "$BUILD" --units "$SRC/deploy/demo-units.csv" --duration 30 --agents 3 \
  >"$WORK/demo.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "demo exited $rc: $(tail -5 "$WORK/demo.out")"
grep -q '^\[sample\] .* 9000[123] .* ok$' "$WORK/demo.out" || fail "no sample printed: $(head -20 "$WORK/demo.out")"
grep -q '^\[alert\] .*ON_TRACK→BEHIND' "$WORK/demo.out" || fail "no alert printed"
grep -Eq '^\[quota\] +90 +Tỉnh Minh Họa +province +fixed +[1-9]' "$WORK/demo.out" || fail "no province quota line with samples: $(grep quota "$WORK/demo.out" | head)"
grep -q '^== demo done' "$WORK/demo.out" || fail "demo did not finish"
sleep 1
if pgrep -f "ispeed-kafka-dev --units $SRC/deploy/demo-units.csv" >/dev/null; then fail "the demo left its Kafka running"; fi
echo PASS
