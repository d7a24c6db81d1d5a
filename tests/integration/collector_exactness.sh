#!/usr/bin/env bash
# Exactness: a month of samples from ispeed-loadgen, counted by
# ispeed-collector --replay, gives every unit exactly the loadgen's truth at
# every level (commune, district, province) and per network class, read back
# from the quota topics with ispeedctl: on the three-level 2025-03 registry
# and on the two-level 2025-07 one. The same run checks the count per
# operator (ispeedctl quota --by-operator, and /v1/quota) against the
# loadgen's TRUTH.operator.csv, and that the operators sum to count.
#
# ISPEED_TEST_SCALE (default 1) multiplies the sample count (60,000 and
# 30,000): 0.2 in a sanitizer build.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
SCALE=${ISPEED_TEST_SCALE:-1}
LOADGEN="$BUILD/tools/loadgen/ispeed-loadgen"
CTL="$BUILD/ctl/ispeedctl"
[ -x "$LOADGEN" ] || fail "no $LOADGEN: build the tools/loadgen target"
# The collector's secure defaults: loadgen's agents enroll with tokens and
# its samples carry receipts, as a real authority and server would give.
trust_setup

scaled() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); if (v < 1000) v = 1000; print v }'; }

KAFKA_PID= COLLECTOR_PID=
stop() { # stop PID: ends one process this test started
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

metric() { curl -sf "http://$HTTP/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
caught_up_with() { # caught_up_with N: the collector read everything and counted N
  [ "$(metric ispeed_collector_caught_up)" = 1 ] && [ "$(metric ispeed_collector_samples_counted_total)" = "$1" ] &&
    [ "$(metric ispeed_collector_quota_pending)" = 0 ] && [ "$(metric ispeed_collector_output_queue_records)" = 0 ]
}

# read_quota REGISTRY MONTH OUT: every province's quota table of the month, as
# CSV without its header (one ispeedctl quota --province all).
read_quota() {
  "$CTL" quota -b "$BOOTSTRAP" --province all --units "$1" --month "$2" --format csv --by-operator \
    >"$WORK/ctl.out" 2>"$WORK/ctl.err" || fail "ispeedctl quota --province all failed: $(cat "$WORK/ctl.err")"
  tail -n +2 "$WORK/ctl.out" >"$3"
}

# compare REGISTRY TRUTH QUOTA_CSV: every unit and class equals the truth, and
# the sums over the classes equal the code,count truth; per operator too
# (rows of --by-operator: the operator and its count are the last two columns).
compare() {
  python3 - "$@" <<'PY'
import csv, sys
reg, truth, quota = sys.argv[1:4]
levels = {r['code']: r['level'] for r in csv.DictReader(open(reg, encoding='utf-8'))}
want = {}
for r in csv.DictReader(open(truth + '.network.csv')):
    want[(r['code'], r['network'])] = int(r['count'])
want_sum = {r['code']: int(r['count']) for r in csv.DictReader(open(truth))}
want_op = {}
for r in csv.DictReader(open(truth + '.operator.csv', encoding='utf-8')):
    want_op[(r['code'], r['network'], r['operator'])] = int(r['count'])
got = {}
got_op = {}
op_sum = {}
cols = 'code,name,level,network,count'.split(',')
for row in csv.reader(open(quota, encoding='utf-8')):
    r = dict(zip(cols, row))
    got[(r['code'], r['network'])] = int(r['count'])
    op, opn = row[-2], int(row[-1])
    op_sum.setdefault((r['code'], r['network']), 0)
    if op:
        got_op[(r['code'], r['network'], op)] = opn
        op_sum[(r['code'], r['network'])] += opn
bad = []
for key, n in want_op.items():
    if got_op.get(key, 0) != n:
        bad.append(f"{levels.get(key[0])} {key[0]} {key[1]} operator {key[2]}: got {got_op.get(key, 0)}, want {n}")
for key, n in got_op.items():
    if key not in want_op:
        bad.append(f"{levels.get(key[0])} {key[0]} {key[1]} unexpected operator {key[2]}={n}")
for key, n in got.items():
    if op_sum.get(key, 0) != n:
        bad.append(f"{levels.get(key[0])} {key[0]} {key[1]}: operators sum to {op_sum.get(key, 0)}, count is {n}")
if not want_op:
    bad.append("the operator truth is empty")
for (code, net), n in want.items():
    if got.get((code, net), 0) != n:
        bad.append(f"{levels.get(code)} {code} {net}: got {got.get((code, net), 0)}, want {n}")
for code, n in want_sum.items():
    s = got.get((code, 'fixed'), 0) + got.get((code, 'mobile'), 0)
    if s != n:
        bad.append(f"{levels.get(code)} {code} both: got {s}, want {n}")
for key in got:
    if key not in want:
        bad.append(f"unexpected unit {key}")
missing = set(levels) - set(want_sum)
if missing:
    bad.append(f"truth lacks {len(missing)} unit(s) of the registry, e.g. {sorted(missing)[0]}")
if bad:
    print(f"{len(bad)} mismatch(es), first: " + "; ".join(bad[:5]))
    sys.exit(1)
by_level = {}
for code in want_sum:
    by_level[levels[code]] = by_level.get(levels[code], 0) + 1
print("exact: " + ", ".join(f"{n} {l}s" for l, n in sorted(by_level.items())) + f", {sum(want_sum[c] for c in want_sum if levels[c] == 'province')} samples, {len(want_op)} operator counts")
PY
}

# compare_http REGISTRY TRUTH MONTH: /v1/quota of every province, per unit,
# class and operator, equals the operator truth.
compare_http() {
  python3 - "$@" "$HTTP" <<'PY'
import csv, json, sys, urllib.request
reg, truth, month, http = sys.argv[1:5]
provs = [r['code'] for r in csv.DictReader(open(reg, encoding='utf-8')) if r['level'] == 'province']
want = {}
for r in csv.DictReader(open(truth + '.operator.csv', encoding='utf-8')):
    want.setdefault((r['code'], r['network']), {})[r['operator']] = int(r['count'])
bad, n = [], 0
for p in provs:
    doc = json.load(urllib.request.urlopen(f"http://{http}/v1/quota?province={p}&month={month}"))
    for u in doc['units']:
        ops = u['operators']
        if sum(ops.values()) != u['count']:
            bad.append(f"{u['code']} {u['network']}: operators sum to {sum(ops.values())}, count {u['count']}")
        if ops != want.get((u['code'], u['network']), {}):
            bad.append(f"{u['code']} {u['network']}: {ops}, want {want.get((u['code'], u['network']), {})}")
        n += 1
if bad:
    print(f"/v1/quota: {len(bad)} mismatch(es), first: " + "; ".join(bad[:3]))
    sys.exit(1)
print(f"/v1/quota: operators exact for {n} counters")
PY
}

# run_case REGISTRY MONTH SAMPLES SEED
run_case() {
  local reg=$1 month=$2 n=$3 seed=$4 name; name=$(basename "$reg" .csv)
  local t0; t0=$(date +%s)
  rm -f "$WORK/kafka.out"
  start_kafka --partitions 32 --units "$reg"
  KAFKA_PID=${PIDS[-1]}

  "$LOADGEN" -b "$BOOTSTRAP" --units "$reg" --month "$month" --samples "$n" --seed "$seed" \
    "${LOADGEN_TRUST[@]}" --truth "$WORK/truth-$name.csv" >"$WORK/loadgen.out" 2>"$WORK/loadgen.err" \
    || fail "loadgen on $name: $(tail -3 "$WORK/loadgen.err")"
  note "$name: $(cat "$WORK/loadgen.out")"
  # The embedded Kafka drops what exceeds ~5 MiB per partition: the topic
  # must hold every sample before a count means anything.
  local held; held=$(kcat -b "$BOOTSTRAP" -C -t ispeed.samples -o beginning -e -q -f '%p\n' | wc -l)
  [ "$held" = "$n" ] || fail "$name: ispeed.samples holds $held records, want $n (embedded Kafka limit?)"

  HTTP=127.0.0.1:$(free_port)
  start_collector "collector-$name.err" --units "$reg" --replay --http "$HTTP" "${COLLECTOR_TRUST[@]}"
  COLLECTOR_PID=${PIDS[-1]}
  wait_for 90 caught_up_with "$n" \
    || fail "$name: collector counted $(metric ispeed_collector_samples_counted_total) of $n; rejected: $(curl -sf "http://$HTTP/metrics" | grep '_rejected_total{' | grep -v ' 0$' | tr '\n' ' '); log: $(tail -3 "$WORK/collector-$name.err")"
  for m in ispeed_collector_dlq_total ispeed_collector_samples_uncounted_total; do
    local v; v=$(curl -sf "http://$HTTP/metrics" | awk -v m="$m" 'index($1, m) == 1 { s += $2 } END { print s + 0 }')
    [ "$v" = 0 ] || fail "$name: $m is $v, want 0: every loadgen sample is valid and within the daily cap"
  done

  # Quota updates go out once caught up; compare until they have all landed.
  local result=
  check() { read_quota "$reg" "$month" "$WORK/quota-$name.csv"; result=$(compare "$reg" "$WORK/truth-$name.csv" "$WORK/quota-$name.csv"); }
  wait_for 30 check || fail "$name: $result"
  note "$name: $result in $(( $(date +%s) - t0 )) s"
  result=$(compare_http "$reg" "$WORK/truth-$name.csv" "$month") || fail "$name: $result"
  note "$name: $result"
  stop "$COLLECTOR_PID"
  stop "$KAFKA_PID"
}

run_case "$DATA/vn-units-2025-03.csv" 2025-03 "$(scaled 60000)" 3
run_case "$DATA/vn-units-2025-07.csv" 2025-07 "$(scaled 30000)" 7
echo PASS
