#!/usr/bin/env bash
# ispeed-kafka-dev is a Kafka any client can use: it prints its bootstrap
# list first, has the spec's topics, and a plain kcat produces to and
# consumes from it. It stops cleanly on SIGTERM.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"

start_kafka --brokers 3 --partitions 8 --units "$DATA/vn-units-2025-07.csv"
[[ "$BOOTSTRAP" =~ ^127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+){2}$ ]] || fail "bootstrap '$BOOTSTRAP' is not three loopback brokers"

kcat -b "$BOOTSTRAP" -L >"$WORK/meta" 2>&1 || fail "kcat -L: $(cat "$WORK/meta")"
grep -q ' 3 brokers:' "$WORK/meta" || fail "want 3 brokers: $(head -5 "$WORK/meta")"
for t in samples:8 collector.state:8 agents:8 alerts:4 dlq:4 quota.01:1 quota.96:1; do
  grep -q "topic \"ispeed.${t%%:*}\" with ${t##*:} partitions" "$WORK/meta" || fail "topic ispeed.${t%%:*} with ${t##*:} partitions missing"
done
[ "$(grep -c 'topic "ispeed.quota.' "$WORK/meta")" = 34 ] || fail "want one quota topic per province of the 2025-07 registry (34)"

for i in $(seq 1 50); do echo "value-$i"; done | kcat -b "$BOOTSTRAP" -P -t ispeed.alerts -k k || fail "kcat cannot produce"
got=$(kcat -b "$BOOTSTRAP" -C -t ispeed.alerts -e -q -f '%k=%s\n' | sort -t- -k2 -n)
[ "$(wc -l <<<"$got")" = 50 ] || fail "consumed $(wc -l <<<"$got") of 50 messages"
[ "$(head -n1 <<<"$got")" = "k=value-1" ] && [ "$(tail -n1 <<<"$got")" = "k=value-50" ] || fail "messages changed in transit"

pid=${PIDS[0]}
kill -TERM "$pid"
wait_for 10 bash -c "! kill -0 $pid 2>/dev/null" || fail "ispeed-kafka-dev ignored SIGTERM"
echo PASS
