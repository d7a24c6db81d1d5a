#!/usr/bin/env bash
# ispeed-sim and the live system agree: a simulated month of a few
# volunteers (each policy), its completed tests replayed as signed samples
# through Kafka to a real ispeed-collector (--replay, the month being past),
# gives per commune and class exactly the counts the simulator printed: the
# same daily cap and quota code, reached through the real pipeline.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-07.csv"
SIM="$BUILD/tools/sim/ispeed-sim"
REPLAY="$BUILD/tools/sim/ispeed-sim-replay"
CTL="$BUILD/ctl/ispeedctl"

# Three communes of two provinces; fixed and mobile volunteers.
p1=$(awk -F, '$2 == "commune" && $3 == "01" { print $1; exit }' "$UNITS")
p2=$(awk -F, '$2 == "commune" && $3 == "79" { print $1; exit }' "$UNITS")
p1b=$(awk -F, '$2 == "commune" && $3 == "01" { n++; if (n == 2) { print $1; exit } }' "$UNITS")
[ -n "$p1" ] && [ -n "$p2" ] && [ -n "$p1b" ] || fail "cannot pick communes of provinces 01 and 79 from $UNITS"
printf 'code,fixed,mobile\n%s,2,1\n%s,1,0\n%s,0,2\n' "$p1" "$p1b" "$p2" >"$WORK/volunteers.csv"

# Tokens and receipts as the collector's secure defaults want them.
trust_setup

run_policy() {
  local policy=$1
  start_kafka --units "$UNITS"
  local kafka_pid=${PIDS[-1]}
  "$SIM" --units "$UNITS" --volunteers-file "$WORK/volunteers.csv" --policy "$policy" --seed 5 \
    --plan "$WORK/plan-$policy.csv" --counts "$WORK/counts-$policy.csv" >"$WORK/sim-$policy.txt" 2>&1 \
    || fail "sim $policy: $(tail -3 "$WORK/sim-$policy.txt")"
  local tests; tests=$(wc -l <"$WORK/plan-$policy.csv")
  [ "$tests" -gt 500 ] || fail "$policy: only $tests tests in the plan"
  "$REPLAY" -b "$BOOTSTRAP" --units "$UNITS" --plan "$WORK/plan-$policy.csv" --seed 5 "${LOADGEN_TRUST[@]}" \
    2>"$WORK/replay-$policy.err" \
    || fail "replay $policy: $(cat "$WORK/replay-$policy.err")"
  start_collector "collector-$policy.err" --units "$UNITS" --replay "${COLLECTOR_TRUST[@]}"
  local collector_pid=${PIDS[-1]}
  got() {
    for p in 01 79; do
      "$CTL" quota -b "$BOOTSTRAP" --province "$p" --month 2025-07 --level commune --format csv 2>/dev/null |
        awk -F, 'NR > 1 && $5 > 0 { print $1 "," $4 "," $5 }'
    done | sort >"$WORK/got-$policy.csv"
    tail -n +2 "$WORK/counts-$policy.csv" | sort >"$WORK/want-$policy.csv"
    cmp -s "$WORK/got-$policy.csv" "$WORK/want-$policy.csv"
  }
  wait_for 120 got || fail "$policy: collector counts differ from the simulator's: $(diff "$WORK/want-$policy.csv" "$WORK/got-$policy.csv" | head -5); collector: $(tail -3 "$WORK/collector-$policy.err")"
  note "$policy: $tests tests replayed, counts agree: $(tr '\n' ' ' <"$WORK/want-$policy.csv")"
  kill -TERM "$collector_pid" "$kafka_pid" 2>/dev/null || true
  wait "$collector_pid" "$kafka_pid" 2>/dev/null || true
}
run_policy static
run_policy adaptive
echo PASS
