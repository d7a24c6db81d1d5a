#!/usr/bin/env bash
# A flood of samples of agents never enrolled, produced while a loadgen's
# honest agents produce theirs, against one collector with its secure
# defaults. The collector catches the agents table up once per batch, at
# most five times a second (collector/pipeline.c), never once per sample:
# - every honest sample counts, exactly (an agent enrolls before its first
#   sample, so none may be refused for being early);
# - every sample of an unknown agent is in the DLQ as unknown_agent;
# - catch-ups stay under 5 a second of the run, and far fewer than the
#   unknown samples;
# - /metrics answers all along (the loop is never held for long).
#
# ISPEED_TEST_SCALE (default 1) multiplies the counts (6,000 honest, 2,000
# unknown): 0.2 in a sanitizer build.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
SCALE=${ISPEED_TEST_SCALE:-1}
UNITS="$DATA/vn-units-2025-03.csv"
LOADGEN="$BUILD/tools/loadgen/ispeed-loadgen"
CRAFT="$BUILD/tools/loadgen/ispeed-craft-sample"
[ -x "$LOADGEN" ] && [ -x "$CRAFT" ] || fail "build ispeed-loadgen and ispeed-craft-sample first"
scaled() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); if (v < 500) v = 500; print v }'; }
HONEST=$(scaled 6000)
UNKNOWN=$(scaled 2000)

start_kafka --partitions 8 --units "$UNITS"
trust_setup
HTTP=127.0.0.1:$(free_port)
start_collector collector.err --units "$UNITS" --replay --http "$HTTP" "${COLLECTOR_TRUST[@]}"
wait_for 30 curl -sf -o /dev/null "http://$HTTP/metrics" || fail "collector did not start: $(tail -3 "$WORK/collector.err")"
metric() { curl -sf --max-time 5 "http://$HTTP/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

t0=$(date +%s%N)
"$LOADGEN" -b "$BOOTSTRAP" --units "$UNITS" --month "$(it_month)" --samples "$HONEST" --seed 11 \
  "${LOADGEN_TRUST[@]}" --truth "$WORK/truth.csv" >"$WORK/loadgen.out" 2>"$WORK/loadgen.err" &
LG=$!
"$CRAFT" -b "$BOOTSTRAP" --units "$UNITS" --commune 00004 --kind unknown-agent --seed 12 --count "$UNKNOWN" \
  "${LOADGEN_TRUST[@]}" >"$WORK/craft.out" 2>"$WORK/craft.err" &
CR=$!

unknown_rejected() { metric 'ispeed_collector_samples_rejected_total{reason="unknown_agent"}'; }
all_handled() {
  [ "$(metric ispeed_collector_samples_counted_total)" = "$HONEST" ] && [ "$(unknown_rejected)" = "$UNKNOWN" ]
}
# Polls /metrics while the flood lasts: each answer must come within 2 s.
slowest=0
deadline=$(( $(date +%s) + 180 ))
while kill -0 "$LG" 2>/dev/null || kill -0 "$CR" 2>/dev/null || ! all_handled; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "after 180 s: counted $(metric ispeed_collector_samples_counted_total) of $HONEST, unknown_agent $(unknown_rejected) of $UNKNOWN; $(tail -3 "$WORK/collector.err")"
  t=$(curl -sf -o /dev/null --max-time 2 -w '%{time_total}' "http://$HTTP/metrics") \
    || fail "/metrics did not answer within 2 s during the flood"
  slowest=$(awk -v a="$slowest" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
  sleep 0.1
done
elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait "$LG" || fail "loadgen: $(tail -3 "$WORK/loadgen.err")"
wait "$CR" || fail "craft: $(tail -3 "$WORK/craft.err")"

# Exactly the honest samples counted, nothing else.
[ "$(metric 'ispeed_collector_samples_rejected_total{reason="unknown_agent"}')" = "$UNKNOWN" ] \
  || fail "unknown_agent rejections: $(unknown_rejected), want $UNKNOWN"
rejected=$(curl -sf "http://$HTTP/metrics" | awk '/^ispeed_collector_samples_rejected_total\{/ { s += $2 } END { print s + 0 }')
[ "$rejected" = "$UNKNOWN" ] || fail "rejected $rejected samples in all, want only the $UNKNOWN unknown ones: $(curl -sf "http://$HTTP/metrics" | grep '_rejected_total{' | grep -v ' 0$' | tr '\n' ' ')"
want_total=$(awk -F, 'NR > 1 && length($1) == 2 { s += $2 } END { print s + 0 }' "$WORK/truth.csv")
[ "$want_total" = "$HONEST" ] || fail "the loadgen's truth sums to $want_total over provinces, want $HONEST"

catchups=$(metric ispeed_collector_agent_catchups_total)
waits=$(metric ispeed_collector_agent_catchup_waits_total)
limit=$(( elapsed_ms / 200 + 2 ))
[ "$catchups" -ge 1 ] || fail "no catch-up of the agents table: the unknown samples were never looked up"
[ "$catchups" -le "$limit" ] || fail "$catchups catch-ups in $elapsed_ms ms: more than one per 200 ms ($limit)"
[ $(( catchups * 10 )) -le "$UNKNOWN" ] || fail "$catchups catch-ups for $UNKNOWN unknown samples: not batched"
note "$HONEST honest counted, $UNKNOWN unknown rejected in $elapsed_ms ms; $catchups catch-ups, $waits batches held for the rate limit; slowest /metrics ${slowest}s"
echo PASS
