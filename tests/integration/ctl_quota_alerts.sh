#!/bin/sh
# ispeedctl against the embedded Kafka: the quota table keeps the last value
# per key and sorts the most behind first (CSV checked exactly), alerts and
# samples print one line each, --follow prints what arrives and exits 0 on
# SIGINT/SIGTERM, and usage and missing-topic errors have the promised exit
# codes. Usage: ctl_quota_alerts.sh BUILD_DIR
set -eu

BUILD=${1:?usage: ctl_quota_alerts.sh BUILD_DIR}
CTL=$BUILD/ctl/ispeedctl
PUB=$BUILD/tests/ispeed-publish-quota
KDEV=$BUILD/kafkadev/ispeed-kafka-dev
DATA=${ISPEED_DATA_DIR:-$(cd "$(dirname "$0")/../../../shared/data" && pwd)}
TMP=$(mktemp -d)
KPID=
FPID=

cleanup() {
    [ -n "$FPID" ] && kill "$FPID" 2>/dev/null || true
    [ -n "$KPID" ] && kill "$KPID" 2>/dev/null && wait "$KPID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect_rc CODE CMD...: runs CMD, which must exit with CODE.
expect_rc() {
    want=$1
    shift
    set +e
    "$@" >"$TMP/out" 2>"$TMP/err"
    got=$?
    set -e
    [ "$got" -eq "$want" ] || fail "exit $got, expected $want: $* ($(cat "$TMP/err"))"
}

"$KDEV" --brokers 1 --partitions 4 >"$TMP/kdev.out" 2>"$TMP/kdev.err" &
KPID=$!
i=0
while [ ! -s "$TMP/kdev.out" ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "ispeed-kafka-dev printed no bootstrap: $(cat "$TMP/kdev.err")"
    sleep 0.1
done
B=$(head -n 1 "$TMP/kdev.out")

# The programs' clock stands on a fixed instant (common/vntime.h), never on
# today's date: 2026-06-15 12:00 in Vietnam, running on from the start of
# the test. Its month is the default of --month.
ISPEED_NOW=1781499600000
ISPEED_NOW_AT=$(date +%s%3N)
export ISPEED_NOW ISPEED_NOW_AT
M=2026-06
NOW_MS=$ISPEED_NOW

# --- quota -------------------------------------------------------------
"$PUB" -b "$B" quota <<EOF
00001|Phường Phúc Xá|commune|001|01|$M|fixed|10|300|100.0|BEHIND|30.0|50000000|20000000|12.5
00004|Phường Trúc Bạch|commune|001|01|$M|fixed|150|300|100.0|ON_TRACK|450.0|0|0|0
00004|Phường Trúc Bạch|commune|001|01|$M|mobile|5|300|100.0|BEHIND|15.0|0|0|0
001|Quận Ba Đình|district|01|01|$M|fixed|160|300|100.0|ON_TRACK|480.0|0|0|0
01|Thành phố Hà Nội|province||01|$M|fixed|300|300|100.0|MET|900.0|0|0|0
00007|Xã "Mới", Ba Đình|commune|001|01|$M|fixed|50|300|100.0|BEHIND|150.0|0|0|0
00001|Phường Phúc Xá|commune|001|01|2025-01|fixed|99|300|300.0|BEHIND|99.0|0|0|0
EOF
# A later value for the same key replaces the earlier one.
echo "00001|Phường Phúc Xá|commune|001|01|$M|fixed|20|300|110.0|BEHIND|60.0|50000000|20000000|12.5" |
    "$PUB" -b "$B" quota

expect_rc 0 "$CTL" quota -b "$B" --province 01 --format csv
# The demand is taken at now (15.5 of June's 30 days left, 14.5 gone), not
# at the statuses' updated_ms: e.g. 00004 mobile needs 295 more, 295 / 15.5
# = 19.03 a day, has made 5 / 14.5 = 0.34 a day, so will not make it.
cat >"$TMP/want" <<'EOF'
code,name,level,network,count,target,expected,state,projection,median_download_bps,median_upload_bps,median_latency_ms,count_5g,late_count,parent,updated_ms,distinct_agents,needed,days_left,rate_needed,rate_current,will_make_it
00004,Phường Trúc Bạch,commune,mobile,5,300,100.0,BEHIND,15.0,0,0,0.0,0,0,001,1751302800000,0,295,15.50,19.03,0.34,0
00001,Phường Phúc Xá,commune,fixed,20,300,110.0,BEHIND,60.0,50000000,20000000,12.5,0,0,001,1751302800000,0,280,15.50,18.06,1.38,0
00007,"Xã ""Mới"", Ba Đình",commune,fixed,50,300,100.0,BEHIND,150.0,0,0,0.0,0,0,001,1751302800000,0,250,15.50,16.13,3.45,0
00004,Phường Trúc Bạch,commune,fixed,150,300,100.0,ON_TRACK,450.0,0,0,0.0,0,0,001,1751302800000,0,150,15.50,9.68,10.34,1
001,Quận Ba Đình,district,fixed,160,300,100.0,ON_TRACK,480.0,0,0,0.0,0,0,01,1751302800000,0,140,15.50,9.03,11.03,1
01,Thành phố Hà Nội,province,fixed,300,300,100.0,MET,900.0,0,0,0.0,0,0,,1751302800000,0,0,15.50,0.00,20.69,1
EOF
diff -u "$TMP/want" "$TMP/out" || fail "quota CSV differs"

expect_rc 0 "$CTL" quota -b "$B" --province 01 --month "$M" --level commune --network fixed --behind --format csv
[ "$(cut -d, -f1 "$TMP/out" | tail -n +2 | tr '\n' ' ')" = "00001 00007 " ] || fail "filters: $(cat "$TMP/out")"

expect_rc 0 "$CTL" quota -b "$B" --province 01 --month 2025-01 --format csv
[ "$(tail -n +2 "$TMP/out" | cut -d, -f1,5)" = "00001,99" ] || fail "past month: $(cat "$TMP/out")"

expect_rc 0 "$CTL" quota -b "$B" --province 01 --format json
grep -q '"code":"00007","name":"Xã \\"Mới\\", Ba Đình"' "$TMP/out" || fail "json: $(cat "$TMP/out")"
[ "$(grep -c '"code"' "$TMP/out")" -eq 6 ] || fail "json rows: $(cat "$TMP/out")"

expect_rc 0 "$CTL" quota -b "$B" --province 01
grep -q 'Phường Phúc Xá' "$TMP/out" || fail "table: $(cat "$TMP/out")"
# Every line fits 100 columns, counted in characters, not bytes.
python3 -c 'import sys; sys.exit(max(len(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8")) > 100)' \
    "$TMP/out" || fail "table wider than 100 columns: $(cat "$TMP/out")"

expect_rc 1 "$CTL" quota -b "$B" --province 99
grep -q 'no quota topic ispeed.quota.99' "$TMP/err" || fail "missing topic message: $(cat "$TMP/err")"
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "error is not one line: $(cat "$TMP/err")"

# Several provinces, and all of them, in one table: the rows of each
# province's own table, one header, the most behind first across them.
echo "79001|Phường Bến Nghé|commune|760|79|$M|fixed|1|300|100.0|BEHIND|3.0|0|0|0" | "$PUB" -b "$B" quota
expect_rc 0 "$CTL" quota -b "$B" --province 01 --format csv
tail -n +2 "$TMP/out" >"$TMP/rows"
expect_rc 0 "$CTL" quota -b "$B" --province 79 --format csv
tail -n +2 "$TMP/out" >>"$TMP/rows"
sort "$TMP/rows" >"$TMP/want.rows"
[ "$(wc -l <"$TMP/want.rows")" -eq 7 ] || fail "provinces 01 and 79: $(cat "$TMP/want.rows")"
for which in "--province all" "--province 79 --province 01"; do
    # shellcheck disable=SC2086 # two words on purpose
    expect_rc 0 "$CTL" quota -b "$B" $which --format csv
    [ "$(grep -c '^code,' "$TMP/out")" -eq 1 ] || fail "$which: not one header: $(cat "$TMP/out")"
    [ "$(sed -n 2p "$TMP/out" | cut -d, -f1)" = 79001 ] || fail "$which: the most behind is not first: $(cat "$TMP/out")"
    tail -n +2 "$TMP/out" | sort | diff -u "$TMP/want.rows" - || fail "$which: rows differ from the provinces' own"
done
expect_rc 0 "$CTL" quota -b "$B" --province all
grep -Eq 'Quota of every province \([0-9]+ topics\)' "$TMP/out" || fail "--province all title: $(head -2 "$TMP/out")"
expect_rc 1 "$CTL" quota -b "$B" --province 01 --province 98
grep -q 'no quota topic ispeed.quota.98' "$TMP/err" || fail "missing topic among several: $(cat "$TMP/err")"
expect_rc 2 "$CTL" quota -b "$B" --province all --province 01
expect_rc 1 "$CTL" quota -b "$B" --province all --topic-prefix other.
grep -q 'no quota topics other.quota.\*' "$TMP/err" || fail "--province all, no topics: $(cat "$TMP/err")"

expect_rc 2 "$CTL" quota -b "$B" --province 01 --month 2025-13
expect_rc 2 "$CTL" quota -b "$B" --province 01 --month 2999-01
expect_rc 2 "$CTL" quota -b "$B" --province 01 --format xml
expect_rc 2 "$CTL" quota -b "$B"
expect_rc 2 "$CTL" report -b "$B"
expect_rc 0 "$CTL" quota --help

# --- alerts ------------------------------------------------------------
"$PUB" -b "$B" alert <<EOF
00001|Phường Phúc Xá|commune|001|01|$M|fixed|ON_TRACK|BEHIND|20|110.0|300|60.0|$((NOW_MS - 7200000))
79001|Phường Bến Nghé|commune|760|79|$M|mobile|ON_TRACK|MET|300|100.0|300|900.0|$((NOW_MS - 60000))
EOF
expect_rc 0 "$CTL" alerts -b "$B" --units none
[ "$(wc -l <"$TMP/out")" -eq 2 ] || fail "alerts: $(cat "$TMP/out")"
head -n 1 "$TMP/out" | grep -q '00001 Phường Phúc Xá (001, 01)  commune fixed  ON_TRACK→BEHIND  count/expected/target 20/110/300  projection 60$' ||
    fail "alert line: $(cat "$TMP/out")"
# With the registry, the unit's full name: commune, district, province.
expect_rc 0 "$CTL" alerts -b "$B" --units "$DATA/vn-units-2025-03.csv" --province 01
grep -q '00001 Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội  commune fixed  ON_TRACK→BEHIND' "$TMP/out" ||
    fail "alert with registry: $(cat "$TMP/out")"
expect_rc 0 "$CTL" alerts -b "$B" --units "$DATA/vn-units-2025-03.csv" --format json --province 79
grep -q '"full_name":"Phường Bến Nghé (760, 79)"' "$TMP/out" || fail "unit not in the registry: $(cat "$TMP/out")"
expect_rc 2 "$CTL" alerts -b "$B" --units "$DATA/vn-units-2025-03.csv" --province 99
grep -q 'unknown province 99' "$TMP/err" || fail "unknown province: $(cat "$TMP/err")"
expect_rc 0 "$CTL" alerts -b "$B" --since 1h
[ "$(cut -c22-26 "$TMP/out")" = "79001" ] || fail "--since: $(cat "$TMP/out")"
expect_rc 0 "$CTL" alerts -b "$B" --province 01 --format json
grep -q '"unit":"00001".*"from":"ON_TRACK","to":"BEHIND"' "$TMP/out" || fail "alerts json: $(cat "$TMP/out")"
# Where each alert is on the topic, as a Kafka client sees it.
where=$(kcat -b "$B" -C -t ispeed.alerts -e -q -f '%k %p %o\n' | awk '$1 == "00001" { print "\"partition\":" $2 ",\"offset\":" $3 }')
[ -n "$where" ] || fail "kcat found no alert of 00001"
grep -q "\"unit\":\"00001\".*$where}" "$TMP/out" || fail "alerts json: want $where: $(cat "$TMP/out")"
expect_rc 2 "$CTL" alerts -b "$B" --since yesterday

# --follow prints the backlog, then what arrives, and ends cleanly on SIGINT.
: >"$TMP/follow.out"
"$CTL" alerts -b "$B" --follow --province 01 >"$TMP/follow.out" 2>"$TMP/follow.err" &
FPID=$!
i=0
while [ "$(wc -l <"$TMP/follow.out")" -lt 1 ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "alerts --follow printed no backlog: $(cat "$TMP/follow.err")"
    sleep 0.1
done
echo "00010|Phường Cửa Nam|commune|001|01|$M|fixed|ON_TRACK|BEHIND|1|50.0|300|3.0|$NOW_MS" | "$PUB" -b "$B" alert
i=0
while ! grep -q 00010 "$TMP/follow.out"; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "alerts --follow did not print a new alert: $(cat "$TMP/follow.out" "$TMP/follow.err")"
    sleep 0.1
done
kill -INT "$FPID"
set +e
wait "$FPID"
rc=$?
set -e
FPID=
[ "$rc" -eq 0 ] || fail "alerts --follow exited $rc on SIGINT"

# --- samples -----------------------------------------------------------
"$PUB" -b "$B" sample <<EOF
0123456789abcdef0123456789abcdef|1|$((NOW_MS - 100000))|00001|01|fixed|wifi|95300000|40100000|12.4|ok
fedcba9876543210fedcba9876543210|7|$((NOW_MS - 50000))|26734|79|mobile|5g|300000000|50000000|25.0|timeout
EOF
expect_rc 0 "$CTL" samples -b "$B" --province 01 --month "$M"
grep -q '  01234567  seq 1  00001  fixed/wifi  down 95.3 Mbit/s  up 40.1 Mbit/s  latency 12.4 ms  ok$' "$TMP/out" ||
    fail "samples: $(cat "$TMP/out")"
[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "samples --province: $(cat "$TMP/out")"
expect_rc 0 "$CTL" samples -b "$B" --agent fedcba98 --format json
grep -q '"seq":7,"commune":"26734".*"outcome":"timeout"' "$TMP/out" || fail "samples json: $(cat "$TMP/out")"

"$CTL" samples -b "$B" --follow --commune 00002 >"$TMP/follow.out" 2>"$TMP/follow.err" &
FPID=$!
sleep 1
echo "0123456789abcdef0123456789abcdef|2|$NOW_MS|00002|01|fixed|fixed|1000000|500000|30|ok" | "$PUB" -b "$B" sample
i=0
while ! grep -q 'seq 2  00002' "$TMP/follow.out"; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "samples --follow did not print a new sample: $(cat "$TMP/follow.out" "$TMP/follow.err")"
    sleep 0.1
done
kill -TERM "$FPID"
set +e
wait "$FPID"
rc=$?
set -e
FPID=
[ "$rc" -eq 0 ] || fail "samples --follow exited $rc on SIGTERM"

# --- output hygiene (issue 11): what an agent chose never reaches a ----
# terminal raw, and no CSV cell starts a formula.
ESC=$(printf '\033')
printf '0123456789abcdef0123456789abcdef|3|%s|00001%s[2J%s]0;pwned\007|01|fixed|fixed|1000000|500000|30|ok\n' \
    $((NOW_MS - 20000)) "$ESC" "$ESC" | "$PUB" -b "$B" sample
expect_rc 0 "$CTL" samples -b "$B" --agent 01234567
grep -q 'seq 3' "$TMP/out" || fail "samples: no seq 3: $(cat -v "$TMP/out")"
if LC_ALL=C grep -q "$(printf '[\033\007]')" "$TMP/out"; then fail "samples printed a raw control: $(cat -v "$TMP/out")"; fi
grep -qF 'seq 3  00001\x1b[2J\x1b]0;pwned\x07  fixed/fixed' "$TMP/out" || fail "samples escaping: $(cat -v "$TMP/out")"
echo "00009|=HYPERLINK(\"http://x\")|commune|001|01|$M|fixed|1|300|100.0|BEHIND|3.0|0|0|0" | "$PUB" -b "$B" quota
expect_rc 0 "$CTL" quota -b "$B" --province 01 --format csv
grep -qF "00009,\"'=HYPERLINK(\"\"http://x\"\")\",commune" "$TMP/out" ||
    fail "quota CSV formula not neutralised: $(cat "$TMP/out")"

echo PASS
