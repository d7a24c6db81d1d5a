#!/usr/bin/env bash
# SIGTERM with the broker gone: the collector exits within its bounds (5 s
# for the last checkpoints, 5 s for the consumer close; 20 s watchdog)
# instead of hanging in rd_kafka_consumer_close().
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-07.csv"
start_kafka --partitions 4
PORT=$(free_port)
trust_setup
start_collector collector.log --units "$UNITS" --http "127.0.0.1:$PORT" "${COLLECTOR_TRUST[@]}" -X session.timeout.ms=6000
COLL=${PIDS[-1]}
caught_up() { curl -sf "http://127.0.0.1:$PORT/metrics" | grep -q '^ispeed_collector_caught_up 1'; }
wait_for 60 caught_up || fail "collector did not catch up: $(tail -3 "$WORK/collector.log")"
kill -TERM "${PIDS[0]}"   # the embedded Kafka goes away
wait "${PIDS[0]}" || true
sleep 1
t0=$(date +%s.%N)
kill -TERM "$COLL"
rc=0
timeout 30 tail --pid="$COLL" -f /dev/null || fail "collector still running 30 s after SIGTERM without a broker"
wait "$COLL" || rc=$?
took=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
note "exited rc=$rc after ${took}s"
python3 -c "import sys; sys.exit(0 if $took <= 21 else 1)" || fail "shutdown took ${took}s"
# A shutdown that was asked for ends with status 0 (a crash, an abort or a
# sanitizer report does not), and what could not be delivered is said, not
# dropped silently: the next start recounts from the last checkpoint.
[ "$rc" = 0 ] || fail "collector exited $rc on SIGTERM: $(grep -v '^%' "$WORK/collector.log" | tail -5)"
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$WORK/collector.log"; then
  fail "sanitizer report during shutdown: $(grep -E -m3 'Sanitizer|runtime error:' "$WORK/collector.log")"
fi
grep -q 'ERROR collector: .* output record(s) not delivered at exit' "$WORK/collector.log" ||
  fail "the undelivered outputs were not logged: $(grep -v '^%' "$WORK/collector.log" | tail -5)"
echo PASS
