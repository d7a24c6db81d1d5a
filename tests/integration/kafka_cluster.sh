#!/usr/bin/env bash
# On a real 3-broker Apache Kafka cluster (deploy/kafka/cluster.sh),
# replication factor 3, min.insync.replicas 2, topics made by ispeedctl
# topics apply (and --check clean after it, drift reported when a setting
# differs). Samples from ispeed-loadgen in seven chunks, counted by collectors
# of one consumer group; after each phase every unit's count on the quota
# topics equals the loadgen's truth exactly:
#   1. one collector, then three (rebalance 1->3) while a chunk is produced;
#   2. two collectors; the broker leading the most samples partitions is
#      SIGKILLed while a chunk is produced, then restarted; then collector a
#      is stopped past its session timeout (a zombie) and resumed: fenced,
#      and each unit's alerts on the topic still one unbroken chain;
#   3. every broker restarted in turn, each while a chunk is produced;
#   4. one collector again (3->1) for the last chunk.
# Then compaction: the quota topics roll a segment every 2 s and the cleaner
# runs at any dirty ratio, so they hold fewer records than were written, and
# the counts read back (the last QuotaStatus per key) are still exact.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
MONTH=$(it_month)
LOADGEN="$BUILD/tools/loadgen/ispeed-loadgen"
trust_setup # tokens and receipts, as the collector's secure defaults want them
CTL="$BUILD/ctl/ispeedctl"
[ -x "$LOADGEN" ] || fail "no $LOADGEN: build the tools/loadgen target"
SCALE=${ISPEED_TEST_SCALE:-1}
CHUNK_N=$(python3 -c "print(max(500, int(4000 * $SCALE)))")
NPART=12

start_cluster --broker-config log.cleaner.min.cleanable.ratio=0.01

# Topics: apply, then --check clean; another segment.ms is reported as drift.
TOPICS=(-b "$BOOTSTRAP" --units "$UNITS" --partitions "$NPART" --replication-factor 3 --compact-segment-ms 2000)
"$CTL" topics apply "${TOPICS[@]}" >"$WORK/apply.out" 2>"$WORK/apply.err" || fail "topics apply: $(cat "$WORK/apply.err")"
nprov=$(awk -F, '$2 == "province"' "$UNITS" | wc -l)
grep -q "^$((nprov + 5)) topics: $((nprov + 5)) changed" "$WORK/apply.out" || fail "topics apply did not create $((nprov + 5)) topics: $(tail -1 "$WORK/apply.out")"
# Brokers learn new topics from the metadata log a moment apart.
check_clean() { "$CTL" topics apply "${TOPICS[@]}" --check >"$WORK/check.out" 2>&1; }
wait_for 30 check_clean || fail "topics apply --check after apply: $(tail -3 "$WORK/check.out")"
grep -q ' 0 drifted' "$WORK/check.out" || fail "--check: $(cat "$WORK/check.out")"
set +e
"$CTL" topics apply -b "$BOOTSTRAP" --units "$UNITS" --partitions "$NPART" --replication-factor 3 --check >"$WORK/drift.out" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "--check with another segment.ms exited $rc, want 1: $(cat "$WORK/drift.out")"
grep -q 'drift: ispeed.quota.01 segment.ms: 2000 -> 86400000' "$WORK/drift.out" || fail "drift not reported: $(head -3 "$WORK/drift.out")"
md=$(kcat -b "$BOOTSTRAP" -L -t ispeed.samples)
[ "$(grep -c 'replicas: [0-9]*,[0-9]*,[0-9]*, isrs' <<<"$md")" = "$NPART" ] || fail "ispeed.samples is not 3 replicas x $NPART partitions: $md"
note "topics: $(tail -1 "$WORK/apply.out"); --check clean (${SECONDS}s)"

declare -A PID PORT
start() { # NAME
  PORT[$1]=$(free_port)
  ISPEED_TEST_STOP_IN_COMMIT="$WORK/stop-in-commit.$1" start_collector "collector.$1.log" --units "$UNITS" "${COLLECTOR_TRUST[@]}" --http "127.0.0.1:${PORT[$1]}" --checkpoint-interval 300 \
    -X session.timeout.ms=6000
  PID[$1]=${PIDS[-1]}
}
metric() { curl -sf "http://127.0.0.1:${PORT[$1]}/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }
assigned() { local v; v=$(metric "$1" ispeed_collector_assigned_partitions 2>/dev/null) && [ "${v:-0}" -gt 0 ]; }
all_assigned() { # NAMES...: each holds some and together all partitions
  local n v t=0
  for n in "$@"; do
    v=$(metric "$n" ispeed_collector_assigned_partitions 2>/dev/null) || return 1
    [ "${v:-0}" -gt 0 ] || return 1
    t=$((t + v))
  done
  [ "$t" -eq "$NPART" ]
}
done_counting() { # NAMES...: each read everything and published it
  local n
  for n in "$@"; do
    [ "$(metric "$n" ispeed_collector_caught_up)" = 1 ] && [ "$(metric "$n" ispeed_collector_consumer_lag_records)" = 0 ] &&
      [ "$(metric "$n" ispeed_collector_quota_pending)" = 0 ] && [ "$(metric "$n" ispeed_collector_output_queue_records)" = 0 ] &&
      [ "$(metric "$n" ispeed_collector_uncommitted_records)" = 0 ] || return 1
  done
}
CHUNK=0 LG=
chunk() { # produces CHUNK_N samples in the background (LG: its pid)
  local i=$CHUNK
  CHUNK=$((CHUNK + 1))
  "$LOADGEN" -b "$BOOTSTRAP" --units "$UNITS" --month "$MONTH" --samples "$CHUNK_N" --truth "$WORK/truth.$i.csv" \
    --seed "$((40 + i))" "${LOADGEN_TRUST[@]}" >"$WORK/loadgen.$i.out" 2>"$WORK/loadgen.$i.err" &
  LG=$!
}
chunk_done() { wait "$LG" || fail "loadgen chunk $((CHUNK - 1)) failed: $(tail -3 "$WORK/loadgen.$((CHUNK - 1)).err")"; }

# exact PHASE: the quota topics, read by ispeedctl, equal the merged truth
# at every level; prints the figures.
RESULT=
compare_truth() {
  merge_truth_chunks
  "$CTL" quota -b "$BOOTSTRAP" --province all --units "$UNITS" --month "$MONTH" --format csv \
    >"$WORK/q.all.csv" 2>"$WORK/q.all.err" || { RESULT="ispeedctl quota failed: $(cat "$WORK/q.all.err")"; return 1; }
  RESULT=$(python3 - "$WORK" "$UNITS" <<'PY'
import csv, os, sys
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
topic = {}
for r in csv.reader(open(os.path.join(work, 'q.all.csv'), encoding='utf-8')):
    if len(r) > 4 and r[0] != 'code':
        topic[r[0]] = topic.get(r[0], 0) + int(r[4])
bad = [f'unit {r["code"]}: quota topic says {topic.get(r["code"], 0)}, truth {truth.get(r["code"], 0)}'
       for r in reg if topic.get(r['code'], 0) != truth.get(r['code'], 0)]
total = sum(truth.get(r['code'], 0) for r in reg if r['level'] == 'province')
if bad:
    print(f'{len(bad)} of {len(reg)} units differ, first: ' + '; '.join(bad[:3]))
    sys.exit(1)
print(f'{len(reg)} units exact, {total} samples')
PY
)
}
# alerts_chain PHASE: on the alerts topic, each unit's alerts (one key, one
# partition, in offset order) form one chain of transitions: each starts
# from the state the one before it ended in (the first from ON_TRACK, the
# implicit start), and none repeats a state (SPEC: transitions only). A
# collector that said something after the group moved past it (a zombie's
# stale alert, committed) breaks it.
alerts_chain() {
  "$CTL" alerts -b "$BOOTSTRAP" --units none --format json >"$WORK/alerts.json" 2>"$WORK/alerts.err" ||
    fail "$1: ispeedctl alerts: $(cat "$WORK/alerts.err")"
  RESULT=$(python3 - "$WORK/alerts.json" <<'PY'
import json, sys
alerts = sorted((json.loads(l) for l in open(sys.argv[1], encoding='utf-8') if l.strip()),
                key=lambda a: (a['partition'], a['offset']))
last, bad = {}, []
for a in alerts:
    k = (a['unit'], a['month'], a['network'])
    prev = last.get(k, 'ON_TRACK')
    if a['from'] != prev or a['from'] == a['to']:
        bad.append(f"{a['unit']} {a['network']} {a['from']}->{a['to']} at {a['partition']}/{a['offset']} after ->{prev}")
    last[k] = a['to']
if bad:
    print(f'{len(bad)} of {len(alerts)} alerts break their unit\'s chain, first: ' + '; '.join(bad[:3]))
    sys.exit(1)
print(f'{len(alerts)} alerts of {len(last)} units, each chain unbroken')
PY
) || fail "$1: $RESULT"
  note "$1: $RESULT"
}
exact() { # PHASE COLLECTORS...
  local phase=$1; shift
  wait_for 120 done_counting "$@" || fail "$phase: collectors $* did not catch up: $(for n in "$@"; do echo "$n: $(tail -2 "$WORK/collector.$n.log")"; done)"
  wait_for 60 compare_truth || fail "$phase: $RESULT"
  note "$phase: $RESULT (${SECONDS}s)"
}

# 1. one collector, then three.
start a
wait_for 60 assigned a || fail "collector a got no partitions: $(tail -3 "$WORK/collector.a.log")"
chunk
start b
start c
wait_for 90 all_assigned a b c || fail "three collectors did not share the $NPART partitions"
note "rebalance 1->3: a=$(metric a ispeed_collector_assigned_partitions) b=$(metric b ispeed_collector_assigned_partitions) c=$(metric c ispeed_collector_assigned_partitions) (${SECONDS}s)"
chunk_done
exact "rebalance 1->3" a b c

# 2. two collectors; the busiest leader SIGKILLed under load.
kill -TERM "${PID[c]}"
wait "${PID[c]}" || fail "collector c exited $?"
wait_for 90 all_assigned a b || fail "collectors a and b did not take c's partitions"
victim=$(kcat -b "$BOOTSTRAP" -L -t ispeed.samples | awk '/partition [0-9]+, leader/ { sub(",", "", $4); n[$4]++ }
  END { for (b in n) if (n[b] > best) { best = n[b]; id = b } print id }')
[ -n "$victim" ] || fail "no leader of ispeed.samples found"
chunk
# Into the samples themselves, not the enrollments before them: a chunk's
# samples take about a second and a half, so at once.
wait_for 120 grep -q 'enrolled agents' "$WORK/loadgen.$((CHUNK - 1)).err" || fail "loadgen chunk $((CHUNK - 1)) enrolled no agents"
kill -0 "$LG" 2>/dev/null || fail "the chunk ended before the kill: nothing was produced across it"
cluster kill "$victim"
note "broker $victim (leader of the most samples partitions) SIGKILLed while producing (${SECONDS}s)"
chunk_done
cluster restart "$victim" || fail "broker $victim did not come back"
exact "broker $victim killed" a b

# 2b. A zombie: collector a stopped past its session timeout while a chunk
# is produced, so b takes every partition and counts the chunk; then a
# resumes with the records it had fetched and counts older than b's. Its
# transactions carry the group generation it had: the group coordinator
# refuses them (fenced), they abort, and nothing a says lands. Without
# fencing, a's stale alerts land after b's (alerts_chain fails: the same
# transition twice) and its stale QuotaStatus may be the last word of a
# province until the province moves again. a stops itself at the worst
# moment (ISPEED_TEST_STOP_IN_COMMIT): the group has taken the offsets of its
# transaction, not yet ended. b must wait for that end before it restores
# a's partitions; restored before, they are counted from an older checkpoint
# and the alerts of that transaction are raised again.
chunk
wait_for 120 grep -q 'enrolled agents' "$WORK/loadgen.$((CHUNK - 1)).err" || fail "loadgen chunk $((CHUNK - 1)) enrolled no agents"
sleep 1
: >"$WORK/stop-in-commit.a"
a_stopped() { [ "$(ps -o stat= -p "${PID[a]}" | cut -c1)" = T ]; }
wait_for 30 a_stopped || fail "collector a did not stop in a commit: $(tail -3 "$WORK/collector.a.log")"
t_stop=$SECONDS
wait_for 60 all_assigned b || { kill -CONT "${PID[a]}"; fail "collector b did not take a's partitions while a was stopped"; }
chunk_done
wait_for 120 done_counting b || { kill -CONT "${PID[a]}"; fail "collector b did not count the chunk while a was stopped"; }
note "zombie: collector a stopped $((SECONDS - t_stop)) s; b took every partition and counted the chunk (${SECONDS}s)"
before=$(wc -l <"$WORK/collector.a.log")
kill -CONT "${PID[a]}"
# Whichever comes first: the coordinator refuses a's transaction (its
# generation is stale, or the coordinator aborted it at its timeout while b
# waited for its end: fenced=1), or a's consumer learns it lost the group and
# aborts what it held (discarded). Either way what a said since it was
# stopped is aborted, never committed.
zombie_fenced() { tail -n +"$((before + 1))" "$WORK/collector.a.log" | grep -q 'transaction .*fenced=1\|transaction discarded'; }
wait_for 30 zombie_fenced || fail "collector a resumed and nothing of its stale transaction was refused or aborted: $(tail -n +"$((before + 1))" "$WORK/collector.a.log" | grep -E 'transaction|lost=' | head -3)"
note "zombie fenced: $(tail -n +"$((before + 1))" "$WORK/collector.a.log" | grep -m1 -o 'transaction [a-z]* at [a-z]*, fenced=1\|transaction [a-z]* failed, fenced=1\|transaction discarded records=[0-9]*')"
grep -q "the previous owner's transaction ended" "$WORK/collector.b.log" ||
  fail "collector b restored a's partitions without waiting for a's open transaction: $(grep -E "previous owner|restored" "$WORK/collector.b.log" | tail -3)"
note "zombie: b waited for a's open transaction: $(grep -m1 -o "the previous owner's transaction ended ms=[0-9]*" "$WORK/collector.b.log")"
wait_for 90 all_assigned a b || fail "collector a did not rejoin after it was fenced: $(tail -3 "$WORK/collector.a.log")"
exact "zombie fenced" a b
alerts_chain "zombie fenced"

# 3. rolling restart, each broker while a chunk is produced.
for id in 1 2 3; do
  chunk
  wait_for 120 grep -q 'enrolled agents' "$WORK/loadgen.$((CHUNK - 1)).err" || fail "loadgen chunk $((CHUNK - 1)) enrolled no agents"
  cluster restart "$id" || fail "rolling restart: broker $id did not come back"
  chunk_done
  note "rolling restart: broker $id back, ISRs full (${SECONDS}s)"
done
exact "rolling restart" a b

# 4. one collector again.
kill -TERM "${PID[b]}"
wait "${PID[b]}" || fail "collector b exited $?"
wait_for 90 all_assigned a || fail "collector a did not get every partition back"
chunk
chunk_done
exact "rebalance 3->1" a

# Compaction: fewer records than offsets, and the counts above were exact.
# Only the topics the broker says it cleaned are read (one kcat each took
# a third of a second, and 63 of them a try).
cleaned() {
  compacted=
  for t in $(grep -ho 'Cleaning log ispeed\.quota\.[0-9]*' "$CLUSTER_DIR"/node-*/broker.log | awk '{ print $3 }' | sort -u); do
    read -r n last < <(kcat -b "$BOOTSTRAP" -C -t "$t" -e -q -f '%o\n' 2>/dev/null | awk '{ n++; l = $1 } END { print n + 0, l + 0 }')
    if [ "$n" -gt 0 ] && [ "$n" -lt $((last + 1)) ]; then compacted="$t: $n records at offsets 0..$last"; return 0; fi
  done
  return 1
}
wait_for 60 cleaned || fail "no quota topic was compacted"
compare_truth || fail "after compaction: $RESULT"
note "compaction: $compacted; $RESULT"
alerts_chain "at the end"

# The largest checkpoint written: max.message.bytes must stay above it.
biggest=$(kcat -b "$BOOTSTRAP" -C -t ispeed.collector.state -e -q -f '%S\n' 2>/dev/null | sort -n | tail -n1)
note "largest checkpoint: ${biggest:-0} bytes ($((CHUNK * CHUNK_N)) samples; max.message.bytes 16777216)"
"$CTL" topics apply "${TOPICS[@]}" --check >"$WORK/check2.out" 2>&1 || fail "--check at the end: $(cat "$WORK/check2.out")"
echo PASS
