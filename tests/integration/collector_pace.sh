#!/usr/bin/env bash
# The pace rule with an injected clock (ISPEED_NOW): a commune with no samples
# is not BEHIND the day before the configured start day, falls BEHIND on it,
# recovers to ON_TRACK as real samples arrive (ispeed-agent test --produce)
# and reaches MET at its target. Each transition is alerted exactly once on
# ispeed.alerts, across a restart of the collector too. The daily digest of
# the province lists the commune while it is BEHIND.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$WORK/units.csv"
printf '%s\n' 'code,level,parent,name,type' '01,province,,Thanh pho Ha Noi,Thanh pho Trung uong' \
  '00004,commune,01,Phuong Truc Bach,Phuong' '00001,commune,01,Phuong Phuc Xa,Phuong' >"$UNITS"
COMMUNE=00004
TARGET=5 # 4 samples are ON_TRACK at any time of the month (4 >= 0.8 x 5), 5 are MET

# The clock stands on fixed instants, never on today's date: the pace start
# day D is the 15th (not the default 3rd, so the setting is what is tested);
# phase 0 runs at noon of the 14th, phase 1 from 01:00 on the 15th, where the
# agents measure too (they read the same ISPEED_NOW). ISPEED_NOW_AT anchors
# each phase's clock at one real instant, so the restart in phase 1 goes on
# from where the first run's clock was.
MONTH=2026-06 D=15
T0=$(it_instant_ms 2026-06-14T12:00:00) T1=$(it_instant_ms 2026-06-15T01:00:00)
note "month $MONTH, pace start day $D, clock $T0 then $T1"

start_kafka --partitions 4
# Secure defaults: the agent's token and the server's receipts (the token
# lives 30 days from the test's clock, longer than the two clocks apart).
trust_setup
TOKEN=$(trust_token "$COMMUNE") || fail "token issue failed"
PORT=$(free_port)
run_collector() { # LOG ISPEED_NOW ISPEED_NOW_AT
  ISPEED_NOW=$2 ISPEED_NOW_AT=$3 start_collector "$1" --units "$UNITS" --target "$TARGET" --pace-start-day "$D" \
    --eval-interval 1 --digest-hour 0 --http "127.0.0.1:$PORT" --checkpoint-interval 300 "${COLLECTOR_TRUST[@]}" \
    -X session.timeout.ms=6000
  COLL=${PIDS[-1]}
}
metric() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
caught_up() { [ "$(metric ispeed_collector_caught_up)" = 1 ]; }
count_is() { [ "$(count)" = "$1" ]; }
# transitions: the commune's fixed-network alerts, "FROM>TO count" a line.
transitions() {
  "$BUILD/ctl/ispeedctl" alerts -b "$BOOTSTRAP" --format json 2>/dev/null | python3 -c "
import json, sys
for l in sys.stdin:
    a = json.loads(l)
    if a['unit'] == '$COMMUNE' and a['network'] == 'fixed':
        print(f\"{a['from']}>{a['to']} {a['count']}\")"
}
transitions_are() { [ "$(transitions | tr '\n' ';')" = "$1" ]; }
count() { curl -sf "http://127.0.0.1:$PORT/v1/quota?province=01&month=$MONTH" | python3 -c "
import json, sys
for u in json.load(sys.stdin)['units']:
    if u['code'] == '$COMMUNE' and u['network'] == 'fixed': print(u['count'], u['state'])"; }

# Phase 0: the day before the start day. Nothing is BEHIND yet.
run_collector collector.0.log "$T0" "$(date +%s%3N)"
wait_for 60 caught_up || fail "collector did not catch up: $(tail -3 "$WORK/collector.0.log")"
grep -q "^WARN collector: clock shifted by ISPEED_NOW offset_ms=" "$WORK/collector.0.log" \
  || fail "no WARN line for the shifted clock: $(head -3 "$WORK/collector.0.log")"
sleep 3 # three evaluations
[ -z "$(transitions)" ] || fail "alerts before the pace start day: $(transitions)"
[ "$(count)" = "0 ON_TRACK" ] || fail "day $((D - 1)): want 0 ON_TRACK, got $(count)"
note "day $((D - 1)): 0 samples, ON_TRACK, no alert"
kill -TERM "$COLL"
wait "$COLL" || fail "collector exited $? on SIGTERM"

# Phase 1: the start day. BEHIND, once.
AT1=$(date +%s%3N)
export ISPEED_NOW=$T1 ISPEED_NOW_AT=$AT1 # the agents' clock in this phase
# The attesting server on the same clock: the receipt's time is the sample's.
start_server "${SERVER_TRUST[@]}"
run_collector collector.1.log "$T1" "$AT1"
wait_for 60 transitions_are "ON_TRACK>BEHIND 0;" || fail "want one ON_TRACK>BEHIND alert, got: $(transitions | tr '\n' ';')"
note "day $D: BEHIND alerted (${SECONDS}s)"
has_digest() { [ -n "$(kcat -b "$BOOTSTRAP" -C -t ispeed.digest.01 -e -q -f '%k\n' 2>/dev/null)" ]; }
wait_for 20 has_digest || fail "no digest on ispeed.digest.01"
kcat -b "$BOOTSTRAP" -C -t ispeed.digest.01 -e -q -f '%s' 2>/dev/null \
  | protoc --proto_path="$(dirname "$0")/../../proto" --decode ispeed.v1.Digest ispeed.proto >"$WORK/digest.txt" \
  || fail "the digest does not decode"
grep -q "unit: \"$COMMUNE\"" "$WORK/digest.txt" || fail "the digest does not list $COMMUNE: $(head -20 "$WORK/digest.txt")"
note "digest of province 01 lists $COMMUNE"

agent_test() {
  "$BUILD/agent/ispeed-agent" test --server "$SERVER_URL" --duration 1 --streams 1 --json --commune "$COMMUNE" --token "$TOKEN" \
    --units "$UNITS" --access fixed --state-dir "$WORK/agent" -b "$BOOTSTRAP" --produce >"$WORK/agent.json" \
    2>"$WORK/agent.err" || fail "agent test failed: $(cat "$WORK/agent.err")"
}
for i in 1 2 3 4; do agent_test; done
wait_for 30 count_is "4 ON_TRACK" || fail "after 4 samples want 4 ON_TRACK, got $(count)"
sleep 2
transitions_are "ON_TRACK>BEHIND 0;BEHIND>ON_TRACK $(transitions | awk 'NR == 2 { print $2 }');" \
  || fail "want BEHIND once then ON_TRACK once, got: $(transitions | tr '\n' ';')"
note "(${SECONDS}s) 4 samples: ON_TRACK alerted once ($(transitions | sed -n 2p))"

# A restart changes nothing: no alert is repeated.
kill -TERM "$COLL"
wait "$COLL" || fail "collector exited $? on SIGTERM"
run_collector collector.2.log "$T1" "$AT1"
wait_for 60 caught_up || fail "restarted collector did not catch up"
sleep 3
[ "$(transitions | wc -l)" = 2 ] || fail "alerts repeated after a restart: $(transitions | tr '\n' ';')"
[ "$(count)" = "4 ON_TRACK" ] || fail "after the restart want 4 ON_TRACK, got $(count)"

agent_test
wait_for 30 count_is "5 MET" || fail "after 5 samples want 5 MET, got $(count)"
sleep 2
[ "$(transitions | sed -n 3p)" = "ON_TRACK>MET 5" ] && [ "$(transitions | wc -l)" = 3 ] \
  || fail "want exactly BEHIND, ON_TRACK, MET: $(transitions | tr '\n' ';')"
note "5 samples: MET alerted once"
# The quota topic shows the same state.
q=$("$BUILD/ctl/ispeedctl" quota -b "$BOOTSTRAP" --province 01 --month "$MONTH" --format csv \
  | awk -F, -v c="$COMMUNE" '$1 == c && $4 == "fixed" { print $5 "/" $6 }')
[ "$q" = "5/$TARGET" ] || fail "quota topic says $q for $COMMUNE, want 5/$TARGET"
echo PASS
