#!/usr/bin/env bash
# The agent daemon is killed with SIGKILL at random moments while testing
# and producing, 10 times, and restarted each time: every sample it stored
# reaches Kafka at least once, and the collector counts each exactly once.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
COMMUNE=00004
AGENT="$BUILD/agent/ispeed-agent"
STATE="$WORK/agent"

start_kafka
# The collector's secure defaults: the agent enrolls with a token of
# trust_setup's authority and the server signs receipts with its key.
trust_setup
TOKEN=$(trust_token "$COMMUNE") || fail "token issue failed"
start_server "${SERVER_TRUST[@]}"
# No daily caps (per agent, per client prefix): this agent tests many times a
# day from 127.0.0.1 here; the caps are proven in the collector's tests.
start_collector collector.log --units "$UNITS" --daily-cap 0 --prefix-daily-cap 0 "${COLLECTOR_TRUST[@]}"

run_agent() {
  "$AGENT" run --server "$SERVER_URL" --duration 1 --streams 1 --commune "$COMMUNE" --token "$TOKEN" --units "$UNITS" --access fixed \
    --state-dir "$STATE" -b "$BOOTSTRAP" --interval 1s --jitter 0 2>>"$WORK/agent.log" &
  agent_pid=$!
}

RANDOM=4242   # reproducible kill moments
for round in $(seq 1 10); do
  run_agent
  sleep "$(( 1 + RANDOM % 5 )).$(( RANDOM % 10 ))"
  kill -KILL "$agent_pid" 2>/dev/null || true
  wait "$agent_pid" 2>/dev/null || true
done
note "10 kills done, $(grep -c 'test done' "$WORK/agent.log") samples stored, seq file at $(cat "$STATE/seq")"

# A last, clean run drains the spool.
run_agent
PIDS+=($agent_pid)
spool_empty() { [ "$(agent_status_field "$STATE" spool.pending)" = 0 ]; }
wait_for 120 spool_empty || fail "spool not drained: $(agent_status_field "$STATE" spool.pending) left"
kill -TERM "$agent_pid"
wait "$agent_pid" || fail "agent exited non-zero after SIGTERM"

agent_id=$(agent_status_field "$STATE" agent_id)
grep -o 'test done seq=[0-9]*' "$WORK/agent.log" | cut -d= -f2 | sort -n -u >"$WORK/stored"
"$BUILD/ctl/ispeedctl" samples -b "$BOOTSTRAP" --agent "$agent_id" --format json >"$WORK/kafka.json" \
  || fail "ispeedctl samples failed"
python3 - "$WORK/kafka.json" >"$WORK/on_kafka" <<'PY'
import json, sys
seqs = {json.loads(l)["seq"] for l in open(sys.argv[1]) if l.strip() and json.loads(l)["outcome"] == "ok"}
print("\n".join(str(s) for s in sorted(seqs)))
PY
stored=$(wc -l <"$WORK/stored")
[ "$stored" -ge 5 ] || fail "only $stored samples stored over 10 rounds; the test proves little"
missing=$(comm -23 "$WORK/stored" "$WORK/on_kafka")
[ -z "$missing" ] || fail "stored samples never reached Kafka: seq $missing"
distinct=$(wc -l <"$WORK/on_kafka")
copies=$(grep -c . "$WORK/kafka.json")
note "$stored stored, $distinct distinct on Kafka, $copies records on Kafka"

count_is() { [ "$(quota_count 01 "$COMMUNE")" = "$1" ] && [ "$(quota_count 01 01)" = "$1" ]; }
wait_for 60 count_is "$distinct" || fail "collector counts $(quota_count 01 "$COMMUNE"), want $distinct (each distinct sample once)"
sleep 2
count_is "$distinct" || fail "count moved past $distinct"
echo PASS
