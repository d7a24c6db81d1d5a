#!/usr/bin/env bash
# Exactly-once effect across crashes: while ispeed-loadgen produces N valid
# samples (200,000 times ISPEED_TEST_SCALE: 40,000 in a sanitizer build),
# the collector is killed with SIGKILL at random moments at least 5 times and
# restarted each time. It restores its checkpoints from ispeed.collector.state
# and reads on from their offsets. At the end the count of every commune,
# district and province on the quota topics (and in /v1/quota) equals the
# loadgen's truth exactly, per operator too (restored from the checkpoints:
# TRUTH.operator.csv against ispeedctl quota --by-operator).
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
MONTH=$(it_month)
LOADGEN=${ISPEED_LOADGEN:-$BUILD/tools/loadgen/ispeed-loadgen}
[ -x "$LOADGEN" ] || { echo "SKIP: no ispeed-loadgen at $LOADGEN"; exit 77; }
# ISPEED_IT_KEEP=1 keeps the logs and outputs of the run (lib.sh).
KILLS=${ISPEED_TEST_KILLS:-5}
SCALE=${ISPEED_TEST_SCALE:-1}
BASE=200000
N=$(python3 -c "print(max(1000, int($BASE * $SCALE)))")
# About 300 bytes per sample: 64 partitions keep every province's samples
# well under the embedded Kafka's ~5 MiB per partition (checked below).
start_kafka --partitions 64
# Tokens and receipts, so the collector runs with its secure defaults and
# the token uses it checkpoints are part of what a kill must keep exact.
trust_setup
note "producing $N samples, killing the collector $KILLS times"

PORT=$(free_port)
COLL_PID=
start() {
  start_collector "collector.$1.log" --units "$UNITS" --http "127.0.0.1:$PORT" --checkpoint-interval 300 \
    "${COLLECTOR_TRUST[@]}" -X session.timeout.ms=6000 --log-level "${ISPEED_LOG_LEVEL:-info}"
  COLL_PID=${PIDS[-1]}
}
metric() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
assigned() { [ "$(metric ispeed_collector_assigned_partitions 2>/dev/null || echo 0)" -gt 0 ] 2>/dev/null; }

# The samples come in KILLS + 1 chunks (loadgen runs with their own agents),
# one after each (re)start, so every kill lands while the collector is
# counting new samples, not only replaying.
CHUNKS=$((KILLS + 1))
chunk() {
  local i=$1 n=$(( N / CHUNKS + ( $1 < N % CHUNKS ? 1 : 0 ) ))
  "$LOADGEN" -b "$BOOTSTRAP" --units "$UNITS" --month "$MONTH" --samples "$n" --truth "$WORK/truth.$i.csv" \
    "${LOADGEN_TRUST[@]}" --seed "$((7 + i))" >"$WORK/loadgen.$i.out" 2>"$WORK/loadgen.$i.err" \
    || fail "loadgen chunk $i failed: $(tail -3 "$WORK/loadgen.$i.err")"
}

LG_PIDS=()
# Restarts are as fast as the group lets them be: a new member waits for
# the killed one's session (6 s) on the embedded Kafka.
for i in $(seq 0 "$KILLS"); do
  start "$i"
  wait_for 60 assigned || fail "collector run $i got no partitions: $(tail -3 "$WORK/collector.$i.log")"
  chunk "$i" &
  LG_PIDS+=($!)
  [ "$i" -lt "$KILLS" ] || break
  sleep "$(python3 -c "import random; print(round(random.uniform(0.5, 3.0), 2))")"
  consumed=$(metric ispeed_collector_samples_consumed_total || echo '?')
  kill -KILL "$COLL_PID"
  wait "$COLL_PID" 2>/dev/null || true
  note "kill $((i + 1)): SIGKILL after $consumed records consumed in that run (${SECONDS}s)"
done
for pid in "${LG_PIDS[@]}"; do wait "$pid" || fail "a loadgen chunk failed"; done
note "loadgen done after ${SECONDS}s"
merge_truth_chunks

# The input is whole: every sample produced is still in the topic.
have=$(kcat -b "$BOOTSTRAP" -C -t ispeed.samples -e -q -f 'x\n' 2>/dev/null | wc -l)
[ "$have" -eq "$N" ] || fail "ispeed.samples holds $have records, not $N: the embedded Kafka dropped some"

done_counting() {
  [ "$(metric ispeed_collector_caught_up)" = 1 ] && [ "$(metric ispeed_collector_consumer_lag_records)" = 0 ] &&
    [ "$(metric ispeed_collector_quota_pending)" = 0 ] && [ "$(metric ispeed_collector_output_queue_records)" = 0 ]
}
wait_for 90 done_counting || fail "the last collector did not catch up: $(tail -5 "$WORK/collector.$KILLS.log")"
restores=$(cat "$WORK"/collector.*.log | grep -c 'checkpoint restored' || true)
note "caught up after ${SECONDS}s; $restores partition restores from checkpoints over $KILLS restarts"
[ "$restores" -gt 0 ] || fail "no restart restored a checkpoint"
# Every sample the loadgen wrote is valid: a rejection in any run is a bug
# (and a rejection plus a double count could hide from the totals).
if grep -q 'sample rejected' "$WORK"/collector.*.log; then
  fail "valid samples were rejected: $(grep -h -m3 'sample rejected' "$WORK"/collector.*.log)"
fi

# Every unit's count, fixed + mobile, from the quota topics and from the
# collector's own table, against the truth.
read_all_quota "$PORT" "$MONTH" --by-operator
python3 - "$WORK" "$UNITS" <<'PY' || fail "counts differ from the truth"
import csv, glob, json, os, sys
work, units = sys.argv[1], sys.argv[2]
given = {r[0]: int(r[1]) for r in csv.reader(open(os.path.join(work, 'truth.csv'))) if r and r[0] != 'code'}
reg = list(csv.DictReader(open(units, encoding='utf-8')))
codes = [r['code'] for r in reg]
parent = {r['code']: r['parent'] for r in reg}
# The truth of every level from the communes' (a truth file may list only them).
truth = {}
for r in reg:
    if r['level'] == 'commune' and given.get(r['code']):
        c = r['code']
        while c:
            truth[c] = truth.get(c, 0) + given[r['code']]
            c = parent[c]
for c, v in given.items():
    assert truth.get(c, 0) == v, f'truth file is inconsistent at {c}: {v} vs {truth.get(c, 0)} from its communes'
# Per unit, class and operator: the sum of the chunks' operator truths.
want_op = {}
for f in glob.glob(os.path.join(work, 'truth.*.csv.operator.csv')):
    for r in csv.DictReader(open(f, encoding='utf-8')):
        k = (r['code'], r['network'], r['operator'])
        want_op[k] = want_op.get(k, 0) + int(r['count'])
topic, table = {}, {}
topic_op, table_op, counts = {}, {}, {}
# --by-operator: one row per unit, class and operator, the unit's count
# repeated; operator and operator_count last.
for f in glob.glob(os.path.join(work, 'q.*.csv')):
    for r in csv.reader(open(f, encoding='utf-8')):
        if len(r) > 4 and r[0] != 'code':
            counts[('quota topic', r[0], r[3])] = int(r[4])
            if r[-2]:
                topic_op[(r[0], r[3], r[-2])] = int(r[-1])
for (_, c, net), n in counts.items():
    topic[c] = topic.get(c, 0) + n
for f in glob.glob(os.path.join(work, 'h.*.json')):
    for u in json.load(open(f))['units']:
        table[u['code']] = table.get(u['code'], 0) + u['count']
        counts[('/v1/quota', u['code'], u['network'])] = u['count']
        for op, n in u['operators'].items():
            table_op[(u['code'], u['network'], op)] = n
bad = 0
# The operators sum to count, everywhere.
sums = {}
for name, ops in (('quota topic', topic_op), ('/v1/quota', table_op)):
    for (c, net, op), n in ops.items():
        sums[(name, c, net)] = sums.get((name, c, net), 0) + n
for k, n in counts.items():
    if sums.get(k, 0) != n:
        bad += 1
        if bad <= 10: print(f'{k[0]} {k[1]} {k[2]}: operators sum to {sums.get(k, 0)}, count {n}', file=sys.stderr)
for name, ops in (('quota topic', topic_op), ('/v1/quota', table_op)):
    for k in set(ops) | set(want_op):
        if ops.get(k, 0) != want_op.get(k, 0):
            bad += 1
            if bad <= 10: print(f'{name} {k}: {ops.get(k, 0)}, truth {want_op.get(k, 0)}', file=sys.stderr)
if not want_op:
    bad += 1
    print('no operator truth', file=sys.stderr)
for c in codes:
    want = truth.get(c, 0)
    for name, got in (('quota topic', topic.get(c, 0)), ('/v1/quota', table.get(c, 0))):
        if got != want:
            bad += 1
            if bad <= 10: print(f'unit {c}: {name} says {got}, truth {want}', file=sys.stderr)
total = sum(v for c, v in truth.items() if len(c) == 2)
print(f'-- {len(codes)} units compared, {total} samples in the provinces, {len(want_op)} operator counts, {bad} differences', file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo PASS
