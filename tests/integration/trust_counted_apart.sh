#!/usr/bin/env bash
# --attestation optional counts samples without a server's receipt apart:
# QuotaStatus.unattested_count at the commune, district and province, never
# in `count`; ispeedctl quota shows them in an UNATTESTED column (CSV:
# unattested_count, last), ispeedctl report shows the same totals apart
# (table section, CSV last column, HTML column) with its samples the
# attested count exactly, and a restarted collector keeps both counts from
# its checkpoints. A broken receipt is still refused, not counted apart.
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

# report_agrees COUNT UNATTESTED: the monthly report shows the unattested
# samples the collector published, apart, and its samples are the attested
# count exactly: the table (English, without a registry, so nationally and
# for province 01), the CSV, and the HTML of province 01 with the registry
# (Vietnamese), where commune 00004's row has them too.
report_agrees() {
  local c=$1 u=$2 f
  "$CTL" report -b "$BOOTSTRAP" --month "$MONTH" --units none --lang en >"$WORK/report.txt" 2>"$WORK/report.err" \
    && "$CTL" report -b "$BOOTSTRAP" --month "$MONTH" --units none --format csv >"$WORK/report.csv" 2>>"$WORK/report.err" \
    && "$CTL" report -b "$BOOTSTRAP" --month "$MONTH" --units "$UNITS" --province 01 --format html \
      -o "$WORK/report.html" 2>>"$WORK/report.err" || fail "ispeedctl report: $(cat "$WORK/report.err")"
  for f in report.txt report.csv report.html; do cp "$WORK/$f" "$WORK/$c.$f"; done # kept for a failure
  python3 - "$WORK" "$c" "$u" <<'PY' || fail "ispeedctl report does not show count $c and unattested $u apart (see $WORK/$c.report.*)"
import csv, html, re, sys
work, c, u = sys.argv[1:]
def want(what, got, exp):
    if got != exp:
        sys.exit("%s: %r, want %r" % (what, got, exp))
# The table: samples in the national and province rows, unattested in
# their own section, nationally and for 01, per class.
text = open(work + "/report.txt", encoding="utf-8").read()
nat = next(l for l in text.splitlines() if l.startswith("fixed broadband "))
want("table, national fixed samples", nat.split()[2], c)
prov = next(l for l in text.split("By province\n", 1)[1].splitlines() if l.startswith("01 "))
want("table, province 01 fixed samples", prov.split()[prov.split().index("Fixed") + 1], c)
sec = text.split("Unattested samples (no server receipt, not counted toward the target)\n", 1)
if len(sec) != 2:
    sys.exit("the table has no section of unattested samples")
rows = [l.split() for l in sec[1].split("\nUnattested:", 1)[0].splitlines()[1:]]
# The collector publishes every province; only 01 has any.
rows = {r[0]: r[-2:] for r in rows}
want("table, unattested nationwide", rows.pop("Nationwide", None), [u, "0"])
want("table, unattested of 01", rows.pop("01", None), [u, "0"])
want("table, unattested elsewhere", [k for k, v in rows.items() if v != ["0", "0"]], [])
# The CSV: unattested_count last, beside samples.
rows = {(r["scope"], r["network"]): r for r in csv.DictReader(open(work + "/report.csv", encoding="utf-8"))
        if r["scope"] == "national" or (r["scope"] == "province" and r["code"] == "01")}
for scope in ("national", "province"):
    want("csv, %s fixed" % scope, (rows[scope, "fixed"]["samples"], rows[scope, "fixed"]["unattested_count"]), (c, u))
    want("csv, %s mobile unattested" % scope, rows[scope, "mobile"]["unattested_count"], "0")
others = [r["code"] for r in csv.DictReader(open(work + "/report.csv", encoding="utf-8"))
          if r["scope"] == "province" and r["code"] != "01" and r["unattested_count"] != "0"]
want("csv, provinces other than 01 with unattested samples", others, [])
# The HTML: the province's figures (samples first, unattested last) and
# the commune's row of the units below the target.
doc = open(work + "/report.html", encoding="utf-8").read()
sec = doc.split('<section class="province" id="p-01">', 1)[1]
def cells(tr):
    return [html.unescape(re.sub(r"<[^>]*>", "", x)).strip() for x in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)]
trs = [cells(tr) for tr in re.findall(r"<tr>(.*?)</tr>", sec.split("</table>", 1)[0], re.S)]
want("html, head", trs[0][-1], "Chưa xác thực")
row = next(r for r in trs if r[0] == "băng rộng cố định")
want("html, province 01 fixed samples and unattested", (row[1], row[-1]), (c, u))
row = cells(re.search(r"<tr><td>00004</td>(.*?)</tr>", sec, re.S).group(0))
want("html, commune 00004 fixed count and unattested", (row[3], row[5]), (c + "/300", u))
if "không tính vào chỉ tiêu" not in sec:
    sys.exit("html: no note on the unattested samples")
PY
}
# The report says what the collector published, read from its own topic.
[ "$(field 01 count) $(field 01 unattested_count)" = "2 3" ] || fail "province 01 publishes $(field 01 count)/$(field 01 unattested_count)"
report_agrees 2 3

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
report_agrees 3 4
echo PASS
