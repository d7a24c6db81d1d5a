#!/usr/bin/env bash
# Bad input gives one line on stderr that names the thing and the fix, a
# non-zero exit, and nothing half-written.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
AGENT="$BUILD/agent/ispeed-agent"
COLLECTOR="$BUILD/collector/ispeed-collector"

# expect_error WANT_STATUS NEEDLE COMMAND...: exit status, one stderr line containing NEEDLE.
expect_error() {
  local want=$1 needle=$2; shift 2
  local rc=0
  timeout 60 "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  [ "$rc" = "$want" ] || fail "$* exited $rc, want $want; stderr: $(cat "$WORK/err")"
  local errline; errline=$(grep -v '^%' "$WORK/err" | grep -v '^WARN\|^INFO' || true)
  [ "$(printf '%s\n' "$errline" | grep -c .)" = 1 ] || fail "$*: want one error line, got: $(cat "$WORK/err")"
  grep -q -- "$needle" <<<"$errline" || fail "$*: error '$errline' does not mention '$needle'"
}

start_kafka
start_server

expect_error 1 "unknown commune code '99999'" \
  "$AGENT" test --server "$SERVER_URL" --duration 1 --commune 99999 --units "$UNITS" --state-dir "$WORK/a1" -b "$BOOTSTRAP" --produce
[ ! -e "$WORK/a1/seq" ] || fail "an unknown commune must not consume a sequence number"

# An unreachable broker is not an error for the agent: the sample and the
# enrollment stay spooled for the next run (exit 0, one warning).
dead=127.0.0.1:$(free_port)
rc=0
"$AGENT" test --server "$SERVER_URL" --duration 1 --commune 00004 --units "$UNITS" --state-dir "$WORK/a2" \
  -b "$dead" --produce >"$WORK/out" 2>"$WORK/err" || rc=$?
[ "$rc" = 0 ] || fail "unreachable broker: exit $rc, want 0: $(cat "$WORK/err")"
grep -q "^WARN agent: Kafka at $dead did not confirm.*2 record(s) stay spooled" "$WORK/err" || fail "no spooled warning: $(cat "$WORK/err")"
"$AGENT" status --json --state-dir "$WORK/a2" | grep -q '"pending":2,' || fail "want 2 spooled records: $("$AGENT" status --json --state-dir "$WORK/a2")"

expect_error 1 "cannot read registry /nonexistent.csv" \
  "$AGENT" test --server "$SERVER_URL" --commune 00004 --units /nonexistent.csv --state-dir "$WORK/a3" -b "$BOOTSTRAP" --produce
expect_error 2 "--produce needs --commune" "$AGENT" test --server "$SERVER_URL" --produce
expect_error 2 "streams must be a whole number 1..16" "$AGENT" test --server "$SERVER_URL" --streams 99
expect_error 2 "unknown command" "$AGENT" frobnicate
expect_error 1 "Kafka property no.such.property=1 rejected by librdkafka" \
  "$AGENT" test --server "$SERVER_URL" --commune 00004 --units "$UNITS" --state-dir "$WORK/a4" -b "$BOOTSTRAP" \
  -X no.such.property=1 --produce
expect_error 2 "cannot read configuration /nonexistent.conf" "$AGENT" run --config /nonexistent.conf
printf '[schedule]\ninterval = often\n' >"$WORK/bad.conf"
expect_error 2 "interval must be a duration" "$AGENT" run --config "$WORK/bad.conf"
expect_error 2 "unknown option '--intervall'" "$AGENT" run --config /dev/null --intervall 5m

# The collector's secure defaults need their lists: without them it says
# what to pass, before it reads anything else.
expect_error 2 "--enrollment token (the default) needs --authorities FILE" "$COLLECTOR" -b "$BOOTSTRAP" --units "$UNITS"
expect_error 2 "--attestation required (the default) needs --servers FILE" "$COLLECTOR" -b "$BOOTSTRAP" --units "$UNITS" \
  --enrollment open
printf '01,nothex,x\n' >"$WORK/bad-authorities.csv"
expect_error 2 "--authorities: " "$COLLECTOR" -b "$BOOTSTRAP" --units "$UNITS" --authorities "$WORK/bad-authorities.csv" \
  --attestation optional
expect_error 2 "--servers: " "$COLLECTOR" -b "$BOOTSTRAP" --units "$UNITS" --enrollment open --servers "$WORK/none.csv"
trust_setup
printf 'code,level,parent,name,type\n01,province,,A,T\n00001,commune,777,X,Xã\n' >"$WORK/orphan.csv"
expect_error 1 "names parent 777" "$COLLECTOR" -b "$BOOTSTRAP" --units "$WORK/orphan.csv" "${COLLECTOR_TRUST[@]}"
expect_error 1 "cannot read registry" "$COLLECTOR" -b "$BOOTSTRAP" --units "$WORK/none.csv" "${COLLECTOR_TRUST[@]}"
expect_error 1 "cannot reach Kafka at $dead" "$COLLECTOR" -b "$dead" --units "$UNITS" "${COLLECTOR_TRUST[@]}"
expect_error 1 "cannot reach Kafka at $dead" "$BUILD/ctl/ispeedctl" quota -b "$dead" --province 01
# The collector's configuration file: a bad key or value names file:line
# and the key; the command line overrides the file.
printf '[kafka]\nbootstrap = %s\n[quota]\ntarget_level = district=150\ntargte = 5\n' "$BOOTSTRAP" >"$WORK/collector.conf"
expect_error 2 "collector.conf:5: unknown key 'targte' in \[quota\]" "$COLLECTOR" --config "$WORK/collector.conf" --units "$UNITS"
printf '[kafka]\nbootstrap = %s\n[collector]\nunits = %s\n[quota]\ndaily_cap = lots\n' "$BOOTSTRAP" "$UNITS" >"$WORK/collector.conf"
expect_error 2 "collector.conf:6: daily_cap must be a whole number 0..1000000, not 'lots'" "$COLLECTOR" --config "$WORK/collector.conf"
expect_error 2 "cannot read configuration $WORK/none.conf" "$COLLECTOR" --config "$WORK/none.conf"
printf '[kafka]\nbootstrap = %s\n[collector]\nunits = %s\n[trust]\nauthorities = %s\nservers = %s\n' "$BOOTSTRAP" "$UNITS" \
  "$TRUST_DIR/authorities.csv" "$TRUST_DIR/servers.csv" >"$WORK/collector.conf"
expect_error 1 "cannot reach Kafka at $dead" "$COLLECTOR" --config "$WORK/collector.conf" -b "$dead"

# An unreachable test server is a failed test with a reason, not a crash.
rc=0
"$AGENT" test --server "http://127.0.0.1:$(free_port)" --duration 1 --json >"$WORK/out" 2>"$WORK/err" || rc=$?
grep -q '"outcome": *"refused"' "$WORK/out" || fail "refused server: want outcome refused, got $(cat "$WORK/out") (exit $rc)"

for prog in "$AGENT" "$COLLECTOR" "$BUILD/server/ispeed-server" "$BUILD/ctl/ispeedctl" "$BUILD/kafkadev/ispeed-kafka-dev"; do
  "$prog" --help >"$WORK/help" 2>&1 || fail "$prog --help exited non-zero"
  grep -qi usage "$WORK/help" || fail "$prog --help prints no usage"
done
echo PASS
