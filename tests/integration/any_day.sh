#!/usr/bin/env bash
# The suite on any day: the date-sensitive behaviour at fixed instants of
# Vietnam's time (UTC+7), the clock injected with ISPEED_NOW
# (common/vntime.h). At each instant real samples (ispeed-agent test
# --produce against ispeed-server) go through the collector, and:
# - each sample counts in the month it was measured in, and ispeedctl's
#   default month is the clock's month;
# - the quota's expected count is target x elapsed fraction of that month,
#   recomputed here from the calendar;
# - the pace rule raises no BEHIND before the 3rd and does from the 3rd on,
#   with exactly one ON_TRACK->BEHIND alert;
# - the agent's data budget is counted per month of measurement.
# Instants: the 1st at 00:05, the 2nd at noon, the 3rd at 23:59, the 15th,
# 31 December at 23:59:59 (a sample starts in one month and year and is
# counted after midnight), and 29 February 2028.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
CTL="$BUILD/ctl/ispeedctl"
AGENT="$BUILD/agent/ispeed-agent"
UNITS="$WORK/units.csv"
printf '%s\n' 'code,level,parent,name,type' '01,province,,Thanh pho Ha Noi,Thanh pho Trung uong' \
  '00004,commune,01,Phuong Truc Bach,Phuong' '00001,commune,01,Phuong Phuc Xa,Phuong' >"$UNITS"
COMMUNE=00004

# ctl ARGS...: ispeedctl against this instant's Kafka.
ctl() { "$BUILD/ctl/ispeedctl" "$@" -b "$BOOTSTRAP" 2>>"$WORK/ctl.err"; }
# fixed_count MONTH: the commune's fixed count of MONTH on the quota topic.
fixed_count() {
  ctl quota --province 01 --month "$1" --format csv | awk -F, -v c="$COMMUNE" '$1 == c && $4 == "fixed" { print $5 }'
}
count_is() { [ "$(fixed_count "$1")" = "$2" ]; }
# agent_test STATE_DIR OUT: one test, produced; its JSON in OUT.
agent_test() {
  "$AGENT" test --server "$SERVER_URL" --duration 1 --streams 1 --json --commune "$COMMUNE" --token "$TOKEN" --units "$UNITS" \
    --access fixed --state-dir "$1" -b "$BOOTSTRAP" --produce >"$2" 2>>"$WORK/agent.err" \
    || fail "agent test failed: $(tail -3 "$WORK/agent.err")"
}
json_get() { python3 -c "import json, sys; d = json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d = d[k]
print(d)" "$@"; }
# expected_at MONTH MS: 300 x the elapsed fraction of MONTH (Vietnam's time) at MS.
expected_at() {
  python3 - "$1" "$2" <<'PY'
import datetime, sys
y, m = map(int, sys.argv[1].split('-'))
vn = datetime.timezone(datetime.timedelta(hours=7))
start = datetime.datetime(y, m, 1, tzinfo=vn)
end = datetime.datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=vn)
t = datetime.datetime.fromtimestamp(int(sys.argv[2]) / 1000, vn)
print(300 * (t - start) / (end - start))
PY
}

for instant in 2026-12-01T00:05:00 2027-01-02T12:00:00 2027-03-03T23:59:00 2027-04-15T12:00:00 \
               2026-12-31T23:59:59 2028-02-29T12:00:00; do
  ISPEED_NOW=$(it_instant_ms "$instant")
  ISPEED_NOW_AT=$(date +%s%3N)
  export ISPEED_NOW ISPEED_NOW_AT
  m0=$(it_month)
  tag=${instant//[^0-9]/}
  state="$WORK/agent.$tag"
  first=${#PIDS[@]}
  # A Kafka, a server and a collector of its own for each instant.
  # The previous instant's bootstrap must not be read before the new Kafka
  # truncates its file (start_kafka waits for a non-empty one).
  rm -f "$WORK/kafka.out"
  start_kafka --brokers 1 --partitions 4
  # Secure defaults: a token issued on this instant's clock (it expires 30
  # days on, judged at the sample's attested time), an attesting server.
  trust_setup
  TOKEN=$(trust_token "$COMMUNE") || fail "$instant: token issue failed"
  start_server "${SERVER_TRUST[@]}"
  port=$(free_port)
  start_collector "collector.$tag.log" --units "$UNITS" --eval-interval 1 --http "127.0.0.1:$port" \
    "${COLLECTOR_TRUST[@]}" -X session.timeout.ms=6000
  coll=${PIDS[-1]}
  caught_up() { curl -sf "http://127.0.0.1:$port/metrics" | grep -q '^ispeed_collector_caught_up 1'; }
  wait_for 60 caught_up || fail "$instant: collector did not catch up: $(tail -3 "$WORK/collector.$tag.log")"

  if [ "$instant" = 2026-12-31T23:59:59 ]; then
    # The first test stands on the last second of the year: it starts in
    # 2026-12, ends in 2027-01 and reaches the collector after midnight
    # (the shared clock is past it by now: starting the programs took more
    # than a second). The second is measured in 2027-01.
    [ "$(it_month)" = 2027-01 ] || fail "the shared clock should be past midnight: $(it_now_ms)"
    # The month is the attesting server's (its receipt's start time), so
    # the first test's server stands on that last second too: a server of
    # its own, whose clock starts 5 s before it and is still in 2026-12
    # when the test starts. The second test goes to the shared server.
    shared_url=$SERVER_URL
    ISPEED_NOW=$(( $(it_instant_ms "$instant") - 5000 )) ISPEED_NOW_AT=$(date +%s%3N) start_server "${SERVER_TRUST[@]}"
    ISPEED_NOW=$(it_instant_ms "$instant") ISPEED_NOW_AT=$(date +%s%3N) agent_test "$state" "$WORK/t1.json"
    SERVER_URL=$shared_url
    months=(2026-12 2027-01)
  else
    agent_test "$state" "$WORK/t1.json"
    months=("$m0" "$m0")
  fi
  "$AGENT" status --json --state-dir "$state" >"$WORK/status.json" || fail "$instant: agent status failed"
  u1=$(json_get "$WORK/status.json" data used_bytes)
  agent_test "$state" "$WORK/t2.json"
  s1=$(json_get "$WORK/t1.json" start_ms); s2=$(json_get "$WORK/t2.json" start_ms)
  [ "$(it_month "$s1")" = "${months[0]}" ] || fail "$instant: first sample measured in $(it_month "$s1"), want ${months[0]}"
  [ "$(it_month "$s2")" = "${months[1]}" ] || fail "$instant: second sample measured in $(it_month "$s2"), want ${months[1]}"
  b2=$(( $(json_get "$WORK/t2.json" bytes_down) + $(json_get "$WORK/t2.json" bytes_up) ))

  # The quota topics: every sample in the month it was measured in.
  for m in $(printf '%s\n' "${months[@]}" | sort -u); do
    n=$(printf '%s\n' "${months[@]}" | grep -c "^$m$")
    wait_for 30 count_is "$m" "$n" || fail "$instant: month $m counts '$(fixed_count "$m")', want $n"
  done
  sleep 2 # two pace evaluations at the clock's instant

  # ispeedctl's default month is the clock's, and its row holds the pace.
  ctl quota --province 01 --format json >"$WORK/quota.json" || fail "$instant: ispeedctl quota failed"
  read -r month count qstate expected updated < <(python3 - "$WORK/quota.json" "$COMMUNE" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for u in (d['units'] if isinstance(d, dict) else d):
    if u['code'] == sys.argv[2] and u['network'] == 'fixed':
        print(u['month'], u['count'], u['state'], u['expected'], u['updated_ms'])
PY
)
  [ "$month" = "$(it_month)" ] || fail "$instant: ispeedctl's default month is '$month', the clock's is $(it_month)"
  want=$(expected_at "$month" "$updated")
  python3 -c "import sys; sys.exit(0 if abs($expected - $want) < 0.05 else 1)" \
    || fail "$instant: expected count $expected at $updated, the calendar says $want"
  day=$(it_day "$updated")
  if [ "${day#0}" -lt 3 ]; then want_state=ON_TRACK; want_alerts=0; else want_state=BEHIND; want_alerts=1; fi
  [ "$qstate" = "$want_state" ] || fail "$instant: day $day with $count of 300: $qstate, want $want_state"
  ctl alerts --format json >"$WORK/alerts.json" || fail "$instant: ispeedctl alerts failed"
  alerts=$(python3 - "$WORK/alerts.json" "$COMMUNE" "$month" <<'PY'
import json, sys
print(sum(1 for l in open(sys.argv[1]) for a in [json.loads(l)]
          if a['unit'] == sys.argv[2] and a['network'] == 'fixed' and a['month'] == sys.argv[3] and a['to'] == 'BEHIND'))
PY
)
  [ "$alerts" = "$want_alerts" ] || fail "$instant: $alerts ON_TRACK->BEHIND alert(s) in $month, want $want_alerts"

  # The agent's data budget: counted per month of measurement.
  "$AGENT" status --json --state-dir "$state" >"$WORK/status.json" || fail "$instant: agent status failed"
  bmonth=$(json_get "$WORK/status.json" data month); bused=$(json_get "$WORK/status.json" data used_bytes)
  [ "$bmonth" = "${months[1]}" ] || fail "$instant: the agent's budget month is $bmonth, want ${months[1]}"
  if [ "${months[0]}" = "${months[1]}" ]; then want_used=$(( u1 + b2 )); else want_used=$b2; fi
  [ "$bused" = "$want_used" ] || fail "$instant: the agent counts $bused bytes in $bmonth, want $want_used"

  note "$instant: samples in ${months[*]}; $month day $day: $count of 300, expected $expected, $qstate, $alerts BEHIND alert(s); budget $bused bytes in $bmonth"
  # Stop this instant's programs, the collector first (it must exit 0).
  kill -TERM "$coll"
  rc=0; wait "$coll" || rc=$?
  [ "$rc" = 0 ] || fail "$instant: collector exited $rc on SIGTERM"
  for (( i = ${#PIDS[@]} - 1; i >= first; i-- )); do
    kill -TERM "${PIDS[i]}" 2>/dev/null || true
    wait "${PIDS[i]}" 2>/dev/null || true
  done
  PIDS=("${PIDS[@]:0:first}")
done
echo PASS
