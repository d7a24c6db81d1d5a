#!/usr/bin/env bash
# ispeedctl recruit: from the live quota topic, the communes that cannot
# reach the target with their agents (a met commune is not listed, one with
# enough agents is not either), with their distinct agents; with --units,
# the communes that never published are listed too; the demand follows the
# clock (ISPEED_NOW moved), not the status's time. Usage errors exit 2.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
CTL="$BUILD/ctl/ispeedctl"
PUB="$BUILD/tests/ispeed-publish-quota"
# The tests' clock: lib.sh's injected one (it_now_ms, it_month) where it
# has it, the wall clock otherwise.
now_ms() { if declare -F it_now_ms >/dev/null; then it_now_ms; else date +%s%3N; fi; }
this_month() { it_month; }
MONTH=$(this_month)
NOW=$(now_ms)

start_kafka --units "$UNITS"
# unit|name|level|parent|province|month|network|count|target|expected|state|projection|down|up|lat|updated_ms|agents
"$PUB" -b "$BOOTSTRAP" quota <<EOF || fail "publishing"
00001|Phường Phúc Xá|commune|001|01|$MONTH|fixed|310|300|100.0|MET|310.0|0|0|0.0|$NOW|4
00004|Phường Trúc Bạch|commune|001|01|$MONTH|fixed|0|300|100.0|BEHIND|0.0|0|0|0.0|$NOW|0
00004|Phường Trúc Bạch|commune|001|01|$MONTH|mobile|0|300|100.0|BEHIND|0.0|0|0|0.0|$NOW|2
00037|Phường Phúc Tân|commune|002|01|$MONTH|fixed|0|1|100.0|BEHIND|0.0|0|0|0.0|$NOW|50
001|Quận Ba Đình|district|01|01|$MONTH|fixed|0|300|100.0|BEHIND|0.0|0|0|0.0|$NOW|0
EOF
"$CTL" recruit -b "$BOOTSTRAP" --province 01 --format csv >"$WORK/r.csv" 2>"$WORK/r.err" || fail "recruit: $(cat "$WORK/r.err")"
head -1 "$WORK/r.csv" | grep -q '^code,name,network,count,target,needed,days_left,rate_needed,agents,per_agent_day,recruit$' ||
  fail "header: $(head -1 "$WORK/r.csv")"
field() { awk -F, -v c="$1" -v n="$2" -v f="$3" '$1 == c && $3 == n { print $f }' "$WORK/r.csv"; }
[ -z "$(field 00001 fixed 1)" ] || fail "a MET commune is listed"
[ -z "$(field 00037 fixed 1)" ] || fail "a commune whose agents suffice is listed"
[ -z "$(awk -F, '$1 == "001"' "$WORK/r.csv")" ] || fail "a district is listed"
[ "$(field 00004 fixed 9)" = 0 ] || fail "00004 fixed: agents '$(field 00004 fixed 9)', want 0: $(cat "$WORK/r.csv")"
[ "$(field 00004 mobile 9)" = 2 ] || fail "00004 mobile: agents '$(field 00004 mobile 9)', want 2"
# 300 needed: at least 300/31 a day; 12 a day per fixed agent, so at least
# one; a mobile agent gives 16 tests a month, so at least 19 in all.
[ "$(field 00004 fixed 11)" -ge 1 ] || fail "00004 fixed recruits $(field 00004 fixed 11)"
[ "$(field 00004 mobile 11)" -ge 17 ] || fail "00004 mobile recruits $(field 00004 mobile 11), want >= 17"
[ "$(wc -l <"$WORK/r.csv")" -eq 3 ] || fail "want 2 rows: $(cat "$WORK/r.csv")"

# The demand is recomputed from count, target and now, not read from the
# status (published on the test's now and never again: a counter that does
# not move is not republished). The same records read 2.5 days before the
# month ends (and a minute, for the seconds the clock runs on): 00004 fixed
# needs 300 in 2.5 days, just under 120 a day, 10 agents at 12.
LATE=$(python3 -c 'import sys, datetime as d
y, m = map(int, sys.argv[1].split("-"))
end = d.datetime(y + m // 12, m % 12 + 1, 1, tzinfo=d.timezone(d.timedelta(hours=7)))
print(int(end.timestamp() * 1000) - (60 * 3600 + 60) * 1000)' "$MONTH")
ISPEED_NOW=$LATE ISPEED_NOW_AT=$(date +%s%3N) "$CTL" recruit -b "$BOOTSTRAP" --province 01 --format csv \
  >"$WORK/late.csv" 2>"$WORK/late.err" || fail "recruit late in the month: $(cat "$WORK/late.err")"
late() { awk -F, -v c="$1" -v n="$2" -v f="$3" '$1 == c && $3 == n { print $f }' "$WORK/late.csv"; }
[ "$(late 00004 fixed 7)" = 2.50 ] || fail "late: days_left '$(late 00004 fixed 7)', want 2.50: $(cat "$WORK/late.csv")"
awk -v r="$(late 00004 fixed 8)" 'BEGIN { exit !(r > 119.9 && r <= 120) }' ||
  fail "late: rate_needed '$(late 00004 fixed 8)', want 120 (less a minute's worth)"
[ "$(late 00004 fixed 11)" = 10 ] || fail "late: 00004 fixed recruits '$(late 00004 fixed 11)', want 10"
# and on the test's now, more than 2.5 days were left, so fewer were needed.
awk -v a="$(field 00004 fixed 7)" 'BEGIN { exit !(a > 2.5) }' || fail "days_left at now $(field 00004 fixed 7)"
[ "$(field 00004 fixed 11)" -lt 10 ] || fail "recruits at now $(field 00004 fixed 11), want < 10"

# ispeedctl quota recomputes the demand at now as well (CSV columns after
# distinct_agents).
ISPEED_NOW=$LATE ISPEED_NOW_AT=$(date +%s%3N) "$CTL" quota -b "$BOOTSTRAP" --province 01 --format csv \
  >"$WORK/q.csv" 2>"$WORK/q.err" || fail "quota late in the month: $(cat "$WORK/q.err")"
python3 - "$WORK/q.csv" <<'PY' || fail "quota --format csv: demand not recomputed at now: $(cat "$WORK/q.csv")"
import csv, sys
rows = {(r["code"], r["network"]): r for r in csv.DictReader(open(sys.argv[1], encoding="utf-8"))}
r = rows[("00004", "fixed")]
assert (r["needed"], r["days_left"], r["will_make_it"]) == ("300", "2.50", "0"), r
assert 119.9 < float(r["rate_needed"]) <= 120, r
m = rows[("00001", "fixed")]
assert (m["needed"], m["rate_needed"], m["will_make_it"]) == ("0", "0.00", "1"), m
PY

# With the registry, the communes of 01 that never published come too:
# every commune x 2 classes, minus 00001 fixed (met) and 00037 fixed
# (enough agents).
"$CTL" recruit -b "$BOOTSTRAP" --province 01 --format csv --units "$UNITS" >"$WORK/u.csv" || fail "recruit --units"
n01=$(python3 - "$UNITS" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding='utf-8')))
par = {r['code']: r['parent'] for r in rows}
def prov(c):
    while par.get(c): c = par[c]
    return c
print(sum(1 for r in rows if r['level'] == 'commune' and prov(r['code']) == '01'))
PY
)
got=$(( $(wc -l <"$WORK/u.csv") - 1 ))
[ "$got" -eq $(( 2 * n01 - 2 )) ] || fail "--units: $got rows for $n01 communes"
"$CTL" recruit -b "$BOOTSTRAP" --province 01 >"$WORK/t.txt" || fail "table"
grep -q 'Phường Trúc Bạch' "$WORK/t.txt" || fail "table: $(cat "$WORK/t.txt")"
grep -q '^2 rows: ' "$WORK/t.txt" || fail "table footer: $(tail -1 "$WORK/t.txt")"

set +e
"$CTL" recruit -b "$BOOTSTRAP" >/dev/null 2>"$WORK/e1"; rc1=$?
"$CTL" recruit -b "$BOOTSTRAP" --province 01 --format xml >/dev/null 2>"$WORK/e2"; rc2=$?
"$CTL" recruit -b "$BOOTSTRAP" --province 99 >/dev/null 2>"$WORK/e3"; rc3=$?
set -e
[ "$rc1" -eq 2 ] && [ "$rc2" -eq 2 ] || fail "usage errors exited $rc1, $rc2; want 2"
[ "$rc3" -eq 1 ] || fail "missing topic exited $rc3, want 1"
grep -q 'no quota topic ispeed.quota.99' "$WORK/e3" || fail "missing topic message: $(cat "$WORK/e3")"
echo PASS
