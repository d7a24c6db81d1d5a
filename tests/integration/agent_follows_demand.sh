#!/usr/bin/env bash
# The adaptive agent follows its commune's demand read from the quota topic:
# with the commune MET its next test is relaxed (4 x the interval); when a
# QuotaStatus says BEHIND, the agent re-plans within a minute, sooner, and
# `status` says why. Without demand (no record yet) it is the static schedule.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
AGENT="$BUILD/agent/ispeed-agent"
PUB="$BUILD/tests/ispeed-publish-quota"
STATE="$WORK/agent"
# The tests' clock: lib.sh's injected one (it_now_ms, it_month) where it
# has it, the wall clock otherwise.
now_ms() { if declare -F it_now_ms >/dev/null; then it_now_ms; else date +%s%3N; fi; }
this_month() { it_month; }
MONTH=$(this_month)

start_kafka --units "$UNITS"
start_server
# The commune's demand before the agent starts: MET.
quota_line() { # state count
  echo "00004|Phường Trúc Bạch|commune|001|01|$MONTH|fixed|$2|300|100.0|$1|$2.0|0|0|0.0|$(now_ms)|1"
}
quota_line MET 320 | "$PUB" -b "$BOOTSTRAP" quota || fail "publishing MET"

"$AGENT" run --server "$SERVER_URL" --duration 1 --streams 1 --commune 00004 --units "$UNITS" --access fixed \
  --state-dir "$STATE" -b "$BOOTSTRAP" --interval 30m --jitter 0 --policy adaptive 2>"$WORK/agent.log" &
PIDS+=($!)
why() { "$AGENT" status --json --state-dir "$STATE" | python3 -c 'import json,sys; print(json.load(sys.stdin)["why"])'; }
next_ms() { agent_status_field "$STATE" next_test_ms; }
# The first test runs at once; then the plan follows the demand read.
relaxed() { why | grep -q 'met its target'; }
wait_for 60 relaxed || fail "never relaxed on MET: why='$(why)'; $(tail -5 "$WORK/agent.log")"
now=$(now_ms)
met_next=$(next_ms)
[ "$met_next" -gt $(( now + 90 * 60000 )) ] || fail "MET: next test in $(( (met_next - now) / 60000 )) min, want about 120"
"$AGENT" status --state-dir "$STATE" | grep -q '^why .*met its target.*adaptive policy' || fail "status text: $("$AGENT" status --state-dir "$STATE")"

# The commune falls BEHIND: within a minute the next test comes sooner.
t0=$(date +%s)
quota_line BEHIND 3 | "$PUB" -b "$BOOTSTRAP" quota || fail "publishing BEHIND"
behind() { why | grep -q 'behind'; }
wait_for 60 behind || fail "no reaction to BEHIND within 60 s: why='$(why)'; $(tail -5 "$WORK/agent.log")"
took=$(( $(date +%s) - t0 ))
new_next=$(next_ms)
[ "$new_next" -lt "$met_next" ] || fail "BEHIND did not bring the next test forward: $new_next vs $met_next"
[ "$new_next" -le $(( $(now_ms) + 31 * 60000 )) ] || fail "BEHIND: next test later than the interval"
grep -q 'commune demand changed, re-planning' "$WORK/agent.log" || fail "no re-plan logged"
note "reacted in ${took}s; next test moved $(( (met_next - new_next) / 60000 )) min earlier"
echo PASS
