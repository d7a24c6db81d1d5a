#!/usr/bin/env bash
# --attestation optional counts samples without a server's receipt apart:
# QuotaStatus.unattested_count at the commune, district and province, never
# in `count`; ispeedctl quota shows them in an UNATTESTED column (CSV:
# unattested_count, last), and a restarted collector keeps both counts
# from its checkpoints. A broken receipt is still refused, not counted apart.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
CRAFT="$BUILD/tools/loadgen/ispeed-craft-sample"
CTL="$BUILD/ctl/ispeedctl"
MONTH=$(it_month)
COMMUNE=00004   # district 001, province 01
[ -x "$CRAFT" ] || fail "no $CRAFT: configure with testing on and build ispeed-craft-sample"

start_kafka --units "$UNITS"
trust_setup
HTTP=127.0.0.1:$(free_port)
collector() { # LOG
  start_collector "$1" --units "$UNITS" --http "$HTTP" --authorities "$TRUST_DIR/authorities.csv" \
    --servers "$TRUST_DIR/servers.csv" --attestation optional --checkpoint-interval 300 -X session.timeout.ms=6000
  COLL=${PIDS[-1]}
}
collector collector.1.err
craft() { # KIND SEED [ARGS...]
  local kind=$1 seed=$2; shift 2
  "$CRAFT" -b "$BOOTSTRAP" --units "$UNITS" --commune "$COMMUNE" --kind "$kind" --seed "$seed" "${LOADGEN_TRUST[@]}" \
    "$@" >>"$WORK/craft.out" 2>"$WORK/craft.err" || fail "craft $kind: $(cat "$WORK/craft.err")"
}
craft valid 1 --count 2        # attested: count 2
craft no-receipt 2 --count 3   # unattested: apart, 3
craft receipt-rate 3           # a receipt that cannot carry the rates: refused

# field CODE COLUMN: that column of the unit's fixed row in `ispeedctl quota --format csv`.
field() {
  "$CTL" quota -b "$BOOTSTRAP" --province 01 --month "$MONTH" --format csv 2>/dev/null | python3 -c '
import csv, sys
for r in csv.DictReader(sys.stdin):
    if r["code"] == sys.argv[1] and r["network"] == "fixed": print(r.get(sys.argv[2], ""))' "$1" "$2"
}
apart() { # apart COUNT UNATTESTED: at the commune, district and province
  local u
  for u in "$COMMUNE" 001 01; do
    [ "$(field "$u" count)" = "$1" ] && [ "$(field "$u" unattested_count)" = "$2" ] || return 1
  done
}
wait_for 40 apart 2 3 || fail "want count 2 and unattested_count 3 everywhere; commune has $(field "$COMMUNE" count)/$(field "$COMMUNE" unattested_count); log: $(tail -3 "$WORK/collector.1.err")"
metric() { curl -sf "http://$HTTP/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
[ "$(metric ispeed_collector_samples_unattested_total)" = 3 ] || fail "unattested metric $(metric ispeed_collector_samples_unattested_total), want 3"
[ "$(metric ispeed_collector_samples_counted_total)" = 2 ] || fail "counted metric $(metric ispeed_collector_samples_counted_total), want 2"
reasons=$(kcat -b "$BOOTSTRAP" -C -t ispeed.dlq -o beginning -e -q -f '%h\n' 2>/dev/null | sed -n 's/.*ispeed-reject-reason=\([a-z_]*\).*/\1/p' | sort | tr '\n' ' ')
[ "$reasons" = "receipt_rate " ] || fail "DLQ reasons [$reasons], want [receipt_rate ]: unattested samples are counted apart, not rejected"
"$CTL" quota -b "$BOOTSTRAP" --province 01 --month "$MONTH" --level commune >"$WORK/table.txt" 2>&1 || fail "ispeedctl quota failed"
grep -q 'UNATTESTED' "$WORK/table.txt" || fail "the table has no UNATTESTED column: $(cat "$WORK/table.txt")"
awk -v c="$COMMUNE" '$1 == c && / fixed / { found = 1; if ($0 !~ / 2 +3 /) bad = 1 } END { exit !(found && !bad) }' "$WORK/table.txt" \
  || fail "table row of $COMMUNE does not read COUNT 2, UNATTESTED 3: $(grep "$COMMUNE" "$WORK/table.txt")"

# A restart restores both from the checkpoints: one more of each then.
kill -TERM "$COLL"; wait "$COLL" || fail "collector exited non-zero on SIGTERM"
collector collector.2.err
craft valid 1 --seq 3
craft no-receipt 2 --seq 4
view() { curl -sf "http://$HTTP/v1/quota?province=01&month=$MONTH" | python3 -c '
import json, sys
for u in json.load(sys.stdin)["units"]:
    if u["code"] == sys.argv[1] and u["network"] == "fixed": print(u["count"], u["unattested_count"])' "$COMMUNE" 2>/dev/null; }
wait_for 40 apart 3 4 || fail "after a restart want 3 and 4; commune has $(field "$COMMUNE" count)/$(field "$COMMUNE" unattested_count); /v1/quota: $(view)"
[ "$(view)" = "3 4" ] || fail "/v1/quota says '$(view)' for $COMMUNE, want '3 4'"
echo PASS
