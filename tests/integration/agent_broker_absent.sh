#!/usr/bin/env bash
# The broker is absent while the agent daemon runs 5 tests: all 5 stay in
# its spool. The broker comes back: everything is delivered, and the
# collector counts every sample the agent measured exactly once.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
COMMUNE=00004
AGENT="$BUILD/agent/ispeed-agent"
STATE="$WORK/agent"

start_kafka --down
# The collector's secure defaults: the agent enrolls with a token of
# trust_setup's authority and the server signs receipts with its key.
trust_setup
TOKEN=$(trust_token "$COMMUNE") || fail "token issue failed"
start_server "${SERVER_TRUST[@]}"
"$AGENT" run --server "$SERVER_URL" --duration 1 --streams 1 --commune "$COMMUNE" --token "$TOKEN" --units "$UNITS" --access fixed \
  --state-dir "$STATE" -b "$BOOTSTRAP" --interval 1s --jitter 0 2>"$WORK/agent.log" &
agent_pid=$!
PIDS+=($agent_pid)

# The seq file is written before the sample is spooled, the log line after
# it, and the status file after that: wait for both.
stored_at_least() { [ "$(grep -c 'test done seq=' "$WORK/agent.log")" -ge "$1" ]; }
spooled_at_least() { [ "$(agent_status_field "$STATE" spool.pending)" -ge "$1" ] 2>/dev/null; }
wait_for 120 stored_at_least 5 || fail "the agent did not run 5 tests: $(tail -5 "$WORK/agent.log")"
# 5 samples and 1 enrollment
wait_for 10 spooled_at_least 6 || fail "with the broker down, want >= 6 records spooled, got $(agent_status_field "$STATE" spool.pending)"
pending=$(agent_status_field "$STATE" spool.pending)
delivered=$(agent_status_field "$STATE" last_delivery_ms)
[ "$delivered" = 0 ] || fail "nothing can have been delivered with the broker down"
note "broker down: $pending records spooled after $(cat "$STATE/seq") tests"

kill -USR2 "${PIDS[0]}"   # brokers up
# No daily caps (per agent, per client prefix): this agent tests many times a
# day from 127.0.0.1 here; the caps are proven in the collector's tests.
start_collector collector.log --units "$UNITS" --daily-cap 0 --prefix-daily-cap 0 "${COLLECTOR_TRUST[@]}"

spool_empty() { [ "$(agent_status_field "$STATE" spool.pending)" = 0 ]; }
wait_for 120 spool_empty || fail "spool not drained after the broker came back: $(agent_status_field "$STATE" spool.pending) left; $(tail -5 "$WORK/agent.log")"
kill -TERM "$agent_pid"
wait "$agent_pid" || fail "agent exited non-zero after SIGTERM"
[ "$(agent_status_field "$STATE" spool.pending)" = 0 ] || fail "records left in the spool after a clean stop"
measured=$(cat "$STATE/seq")
note "agent stopped after $measured tests, spool empty"

count_is() { [ "$(quota_count 01 "$COMMUNE")" = "$1" ] && [ "$(quota_count 01 001)" = "$1" ] && [ "$(quota_count 01 01)" = "$1" ]; }
wait_for 60 count_is "$measured" || fail "collector counts commune=$(quota_count 01 "$COMMUNE") district=$(quota_count 01 001) province=$(quota_count 01 01), want $measured each; collector: $(grep -h 'rejected' "$WORK/collector.log" | head -3); agent: $(grep -E 'WARN|ERROR' "$WORK/agent.log" | tail -3)"
sleep 3
count_is "$measured" || fail "count moved past $measured: $(quota_count 01 "$COMMUNE")"
grep -q '^ERROR' "$WORK/agent.log" && fail "agent logged an error: $(grep '^ERROR' "$WORK/agent.log" | head -3)"
echo PASS
