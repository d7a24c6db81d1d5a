#!/usr/bin/env bash
# The state directory's file system fills up: the agent says so in one log
# line per failed store, does not crash, and stores and delivers again as
# soon as space is back. Needs root for a small tmpfs; skips (77) without.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
COMMUNE=00004
AGENT="$BUILD/agent/ispeed-agent"

if [ "$(id -u)" != 0 ] || ! mkdir -p "$WORK/small" || ! mount -t tmpfs -o size=1m tmpfs "$WORK/small" 2>/dev/null; then
  echo "SKIP: needs root to mount a small tmpfs (./deploy/test.sh runs as root in CI)"
  exit 77
fi
CLEANUP_HOOKS+=('umount -l "$WORK/small"')
STATE="$WORK/small/agent"

start_kafka
# The collector's secure defaults: the agent enrolls with a token of
# trust_setup's authority and the server signs receipts with its key.
trust_setup
TOKEN=$(trust_token "$COMMUNE") || fail "token issue failed"
start_server "${SERVER_TRUST[@]}"
# No daily caps (per agent, per client prefix): this agent tests many times a
# day from 127.0.0.1 here; the caps are proven in the collector's tests.
start_collector collector.log --units "$UNITS" --daily-cap 0 --prefix-daily-cap 0 "${COLLECTOR_TRUST[@]}"
ARGS=(--server "$SERVER_URL" --duration 1 --streams 1 --commune "$COMMUNE" --token "$TOKEN" --units "$UNITS" --access fixed
      --state-dir "$STATE" -b "$BOOTSTRAP")
"$AGENT" run "${ARGS[@]}" --interval 1s --jitter 0 2>"$WORK/daemon.log" &
agent_pid=$!
PIDS+=($agent_pid)
delivered_once() { [ "$(agent_status_field "$STATE" last_delivery_ms)" != 0 ]; }
wait_for 60 delivered_once || fail "no first delivery: $(tail -5 "$WORK/daemon.log")"

# Fill the file system to the last page while the daemon runs.
dd if=/dev/zero of="$WORK/small/filler" bs=4k 2>/dev/null || true
wait_for 60 grep -q 'ERROR agent: sample not stored: .*No space left on device' "$WORK/daemon.log" \
  || fail "daemon did not report the full disk: $(tail -5 "$WORK/daemon.log")"
kill -0 "$agent_pid" || fail "daemon died on a full disk"
rm -f "$WORK/small/filler"
# grep -c exits 1 on a count of 0 (the first delivery can be the enrollment alone).
count_lines() { grep -c "$1" "$WORK/daemon.log" || true; }
errors=$(count_lines '^ERROR')
before=$(count_lines 'test done seq=')
stored_after() { [ "$(count_lines 'test done seq=')" -gt "$before" ]; }
wait_for 60 stored_after || fail "no sample stored after space came back: $(tail -5 "$WORK/daemon.log")"
spool_empty() { [ "$(agent_status_field "$STATE" spool.pending)" = 0 ]; }
wait_for 60 spool_empty || fail "spool not drained after space came back: $("$AGENT" status --json --state-dir "$STATE"; ls -la "$STATE"/spool* 2>&1; tail -8 "$WORK/daemon.log")"
kill -TERM "$agent_pid"
wait "$agent_pid" || fail "daemon exited non-zero"

stored=$(count_lines 'test done seq=')
# One line per failed store, each saying why.
[ "$(grep '^ERROR' "$WORK/daemon.log" | grep -vc 'No space left on device')" = 0 ] || fail "unclear errors: $(grep '^ERROR' "$WORK/daemon.log" | head -3)"
count_is() { [ "$(quota_count 01 "$COMMUNE")" = "$1" ]; }
wait_for 60 count_is "$stored" || fail "collector counts $(quota_count 01 "$COMMUNE"), want $stored"
note "full disk reported in $errors error line(s); $stored samples stored and counted once space was back"
echo PASS
