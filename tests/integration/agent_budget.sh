#!/usr/bin/env bash
# The monthly data budget of a metered link: a test never spends more than
# what is left, the agent stops testing for the month when the next test
# would exceed it, says so in `status`, and still knows after a restart.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
AGENT="$BUILD/agent/ispeed-agent"
STATE="$WORK/agent"
BUDGET=$(( 300 * 1024 * 1024 ))

start_kafka
start_server
ARGS=(--server "$SERVER_URL" --duration 2 --streams 2 --commune 00004 --units "$UNITS" --access 4g
      --state-dir "$STATE" -b "$BOOTSTRAP" --interval 1s --jitter 0 --monthly-budget 300M)
"$AGENT" run "${ARGS[@]}" 2>"$WORK/agent.log" &
pid=$!
PIDS+=($pid)
exhausted() { [ "$(agent_status_field "$STATE" data.exhausted)" = True ]; }
wait_for 90 exhausted || fail "budget never reported exhausted: $(tail -3 "$WORK/agent.log")"
used=$(agent_status_field "$STATE" data.used_bytes)
cap=$(agent_status_field "$STATE" data.cap_bytes)
tests=$(cat "$STATE/seq")
[ "$cap" = "$BUDGET" ] || fail "cap $cap, want $BUDGET"
[ "$used" -le "$BUDGET" ] || fail "used $used bytes, over the $BUDGET budget"
[ "$used" -gt $(( BUDGET / 2 )) ] || fail "used only $used of $BUDGET: the budget stopped tests too early"
grep -q 'WARN agent: monthly data budget reached' "$WORK/agent.log" || fail "no warning in the log"
"$AGENT" status --state-dir "$STATE" | grep -q 'none this month: data budget used up' || fail "status does not say it"
sleep 3
[ "$(cat "$STATE/seq")" = "$tests" ] || fail "tests went on after the budget was used up"
kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "the daemon exited $rc on SIGTERM: $(tail -3 "$WORK/agent.log")"

# A restart keeps the month's usage: still no test.
"$AGENT" run "${ARGS[@]}" 2>"$WORK/agent2.log" &
pid=$!
PIDS+=($pid)
sleep 4
[ "$(cat "$STATE/seq")" = "$tests" ] || fail "a restart forgot the budget and tested again"
kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "the restarted daemon exited $rc on SIGTERM: $(tail -3 "$WORK/agent2.log")"
note "$tests test(s) used $used of $BUDGET bytes, then none"
echo PASS
