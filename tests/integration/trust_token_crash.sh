#!/usr/bin/env bash
# SIGKILL of the collector while a token's uses are being taken: one token
# of USES uses is shared by AGENTS agents of one commune, each sending one
# sample, while the collector is killed twice and restarted. Afterwards
# exactly USES samples count and the others are token_used_up, each once
# by its source offset: the uses are checkpointed with the counts, so a
# crash neither gives a use back nor takes one twice.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
CRAFT="$BUILD/tools/loadgen/ispeed-craft-sample"
CTL="$BUILD/ctl/ispeedctl"
MONTH=$(it_month)
COMMUNE=00004   # province 01
USES=20
AGENTS=32
TID=fedcba9876543210fedcba9876543210
[ -x "$CRAFT" ] || fail "no $CRAFT: configure with testing on and build ispeed-craft-sample"

start_kafka --units "$UNITS"
trust_setup
PORT=$(free_port)
start() {
  start_collector "collector.$1.log" --units "$UNITS" --http "127.0.0.1:$PORT" "${COLLECTOR_TRUST[@]}" \
    --checkpoint-interval 300 -X session.timeout.ms=6000
  COLL=${PIDS[-1]}
}
metric() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
assigned() { [ "$(metric ispeed_collector_assigned_partitions 2>/dev/null || echo 0)" -gt 0 ] 2>/dev/null; }
start 0
wait_for 30 assigned || fail "collector got no partition: $(tail -3 "$WORK/collector.0.log")"

# Agents in the background, one sample each; the collector dies twice meanwhile.
(
  for s in $(seq 1 "$AGENTS"); do
    "$CRAFT" -b "$BOOTSTRAP" --units "$UNITS" --commune "$COMMUNE" --kind valid --seed "$((9000 + s))" \
      "${LOADGEN_TRUST[@]}" --token-id "$TID" --token-uses "$USES" >>"$WORK/craft.out" 2>>"$WORK/craft.err" || exit 1
  done
) &
CRAFTER=$!
sent() { [ -f "$WORK/craft.out" ] && wc -l <"$WORK/craft.out" || echo 0; }
sent_at_least() { [ "$(sent)" -ge "$1" ]; }
for k in 1 2; do
  wait_for 60 sent_at_least "$(( k * AGENTS / 3 ))" \
    || fail "the agents did not get to $(( k * AGENTS / 3 )) samples: $(tail -2 "$WORK/craft.err")"
  kill -KILL "$COLL"; wait "$COLL" 2>/dev/null || true
  note "collector killed after $(sent) samples"
  start "$k"
  wait_for 60 assigned || fail "restarted collector got no partition: $(tail -3 "$WORK/collector.$k.log")"
done
wait "$CRAFTER" || fail "crafting failed: $(tail -2 "$WORK/craft.err")"

count() {
  local v; v=$("$CTL" quota -b "$BOOTSTRAP" --province 01 --month "$MONTH" --format csv 2>/dev/null \
    | awk -F, -v c="$COMMUNE" '$1 "" == c "" && $4 == "fixed" { print $5 }')
  echo "${v:-0}"
}
# used_up: the distinct samples (by source offset) in the DLQ as token_used_up.
used_up() {
  kcat -b "$BOOTSTRAP" -C -t ispeed.dlq -o beginning -e -q -f '%h\n' 2>/dev/null \
    | grep 'ispeed-reject-reason=token_used_up' | sed -n 's/.*ispeed-source=\([^,]*\).*/\1/p' | sort -u | wc -l
}
done_() { [ "$(count)" = "$USES" ] && [ "$(used_up)" = "$(( AGENTS - USES ))" ]; }
wait_for 60 done_ || fail "after two SIGKILLs: counted $(count) (want $USES), token_used_up $(used_up) (want $(( AGENTS - USES )))"
# And it stays so: nothing more trickles in from a replay.
sleep 2
[ "$(count)" = "$USES" ] || fail "count moved to $(count) after settling, want $USES"
note "token of $USES uses, $AGENTS agents, 2 SIGKILLs: $(count) counted, $(used_up) used up"
echo PASS
