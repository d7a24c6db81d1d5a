#!/usr/bin/env bash
# Scale-out and back while samples flow: one collector, then three in the
# same consumer group (cooperative-sticky), then one again. Final counts at
# every level equal the loadgen's truth, and no samples partition (hence no
# province: a province is one partition's key) is ever owned by two
# collectors at once, judged from the assignment and revocation times every
# collector logs. ISPEED_TEST_SCALE multiplies the 60,000 samples (12,000 in
# a sanitizer build).
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
MONTH=$(it_month)
LOADGEN=${ISPEED_LOADGEN:-$BUILD/tools/loadgen/ispeed-loadgen}
[ -x "$LOADGEN" ] || { echo "SKIP: no ispeed-loadgen at $LOADGEN"; exit 77; }
SCALE=${ISPEED_TEST_SCALE:-1}
BASE=60000
N=$(python3 -c "print(max(400, int($BASE * $SCALE)))")
NPART=32
start_kafka --partitions "$NPART"
trust_setup # tokens and receipts: the collector's secure defaults

declare -A PID PORT
start() { # NAME
  PORT[$1]=$(free_port)
  start_collector "collector.$1.log" --units "$UNITS" --http "127.0.0.1:${PORT[$1]}" --checkpoint-interval 300 \
    "${COLLECTOR_TRUST[@]}" -X session.timeout.ms=6000
  PID[$1]=${PIDS[-1]}
}
metric() { curl -sf "http://127.0.0.1:${PORT[$1]}/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }
assigned() { local v; v=$(metric "$1" ispeed_collector_assigned_partitions 2>/dev/null) && [ "${v:-0}" -gt 0 ]; }
all_assigned() { # NAMES...: each holds some and together all partitions
  local n t=0
  for n in "$@"; do
    v=$(metric "$n" ispeed_collector_assigned_partitions 2>/dev/null) || return 1
    [ "${v:-0}" -gt 0 ] || return 1
    t=$((t + v))
  done
  [ "$t" -eq "$NPART" ]
}
CHUNK=0
chunk() { # produces N/4 samples in the background
  local i=$CHUNK
  CHUNK=$((CHUNK + 1))
  "$LOADGEN" -b "$BOOTSTRAP" --units "$UNITS" --month "$MONTH" --samples $((N / 4)) --truth "$WORK/truth.$i.csv" \
    "${LOADGEN_TRUST[@]}" --seed "$((20 + i))" >"$WORK/loadgen.$i.out" 2>"$WORK/loadgen.$i.err" &
  LG+=($!)
}
LG=()

start a
wait_for 60 assigned a || fail "collector a got no partitions: $(tail -3 "$WORK/collector.a.log")"
chunk
sleep 1
note "one collector counting; adding two (${SECONDS}s)"
start b
start c
chunk
wait_for 60 all_assigned a b c || fail "the three collectors did not share the partitions: a=$(metric a ispeed_collector_assigned_partitions) b=$(metric b ispeed_collector_assigned_partitions) c=$(metric c ispeed_collector_assigned_partitions)"
note "three collectors: a=$(metric a ispeed_collector_assigned_partitions) b=$(metric b ispeed_collector_assigned_partitions) c=$(metric c ispeed_collector_assigned_partitions) partitions (${SECONDS}s)"
chunk
sleep 2
note "stopping b and c (${SECONDS}s)"
kill -TERM "${PID[b]}" "${PID[c]}"
chunk
wait "${PID[b]}" || fail "collector b exited $?"
wait "${PID[c]}" || fail "collector c exited $?"
wait_for 60 all_assigned a || fail "collector a did not get every partition back: $(metric a ispeed_collector_assigned_partitions)"
note "one collector again (${SECONDS}s)"
for pid in "${LG[@]}"; do wait "$pid" || fail "a loadgen chunk failed"; done

have=$(kcat -b "$BOOTSTRAP" -C -t ispeed.samples -e -q -f 'x\n' 2>/dev/null | wc -l)
[ "$have" -eq "$(( (N / 4) * 4 ))" ] || fail "ispeed.samples holds $have records, not $(( (N / 4) * 4 ))"
done_counting() {
  [ "$(metric a ispeed_collector_caught_up)" = 1 ] && [ "$(metric a ispeed_collector_consumer_lag_records)" = 0 ] &&
    [ "$(metric a ispeed_collector_quota_pending)" = 0 ] && [ "$(metric a ispeed_collector_output_queue_records)" = 0 ]
}
wait_for 60 done_counting || fail "collector a did not catch up: $(tail -3 "$WORK/collector.a.log")"
sleep 1

# Ownership: per partition, the [assigned, revoked) intervals of different
# collectors never overlap. Collector a is still running: its open intervals
# end now.
python3 - "$WORK" <<'PY' || fail "a partition was owned by two collectors at once"
import glob, os, re, sys, time
now = int(time.time() * 1000)
iv = {}   # partition -> list of (start, end, who)
for f in glob.glob(os.path.join(sys.argv[1], 'collector.*.log')):
    who = f.rsplit('.', 2)[-2]
    open_ = {}
    for line in open(f, errors='replace'):
        m = re.search(r'partition (assigned|revoked) partition=(\d+) .*?t_ms=(\d+)', line)
        if not m: continue
        kind, p, t = m.group(1), int(m.group(2)), int(m.group(3))
        if kind == 'assigned':
            open_[p] = t
        elif p in open_:
            iv.setdefault(p, []).append((open_.pop(p), t, who))
    for p, t in open_.items():
        iv.setdefault(p, []).append((t, now, who))
bad, moves = 0, 0
for p, l in sorted(iv.items()):
    l.sort()
    moves += len(l) - 1
    for (s1, e1, w1), (s2, e2, w2) in zip(l, l[1:]):
        if s2 < e1 and w1 != w2:
            bad += 1
            print(f'partition {p}: {w1} owned it until {e1}, {w2} from {s2}', file=sys.stderr)
print(f'-- {len(iv)} partitions, {moves} hand-overs, {bad} overlaps', file=sys.stderr)
sys.exit(1 if bad or len(iv) == 0 else 0)
PY

merge_truth_chunks
read_all_quota "${PORT[a]}" "$MONTH"
python3 - "$WORK" "$UNITS" <<'PY' || fail "counts differ from the truth"
import csv, glob, json, os, sys
work, units = sys.argv[1], sys.argv[2]
given = {r[0]: int(r[1]) for r in csv.reader(open(os.path.join(work, 'truth.csv'))) if r and r[0] != 'code'}
reg = list(csv.DictReader(open(units, encoding='utf-8')))
parent = {r['code']: r['parent'] for r in reg}
truth = {}
for r in reg:
    if r['level'] == 'commune' and given.get(r['code']):
        c = r['code']
        while c:
            truth[c] = truth.get(c, 0) + given[r['code']]
            c = parent[c]
topic, table = {}, {}
for f in glob.glob(os.path.join(work, 'q.*.csv')):
    for r in csv.reader(open(f, encoding='utf-8')):
        if len(r) > 4 and r[0] != 'code':
            topic[r[0]] = topic.get(r[0], 0) + int(r[4])
for f in glob.glob(os.path.join(work, 'h.*.json')):
    for u in json.load(open(f))['units']:
        table[u['code']] = table.get(u['code'], 0) + u['count']
bad = 0
for r in reg:
    c, want = r['code'], truth.get(r['code'], 0)
    for name, got in (('quota topic', topic.get(c, 0)), ('/v1/quota', table.get(c, 0))):
        if got != want:
            bad += 1
            if bad <= 10: print(f'unit {c}: {name} says {got}, truth {want}', file=sys.stderr)
print(f'-- {len(reg)} units compared, {bad} differences', file=sys.stderr)
sys.exit(1 if bad else 0)
PY
echo PASS
