# Shared by the integration tests: start the embedded Kafka and the
# programs as separate processes, wait for conditions, clean up on exit.
# Source it after setting BUILD (the build directory).
set -euo pipefail

# Every test stands on a fixed instant, never on today's date: ISPEED_NOW
# (common/vntime.h) is where the programs' clock stands at ISPEED_NOW_AT,
# and it runs on from there. A test may set ISPEED_NOW (Unix ms, or
# YYYY-MM-DDTHH:MM:SS in Vietnam's time) before sourcing this file;
# tests/integration/any_day.sh runs the date-sensitive tests on the 1st, the
# 3rd, the last second of a month and 29 February.
it_instant_ms() { # Unix ms, or YYYY-MM-DDTHH:MM[:SS] read in Vietnam's time
  case "$1" in
    *[!0-9]*) date -d "${1/T/ } +07:00" +%s%3N ;;
    *) echo "$1" ;;
  esac
}
ISPEED_NOW=$(it_instant_ms "${ISPEED_NOW:-2026-06-15T12:00:00}") || { echo "FAIL: bad ISPEED_NOW" >&2; exit 1; }
ISPEED_NOW_AT=${ISPEED_NOW_AT:-$(date +%s%3N)}
export ISPEED_NOW ISPEED_NOW_AT
# it_now_ms: the tests' clock now; it_month [MS]: its month in Vietnam's time.
it_now_ms() { echo $(( ISPEED_NOW + $(date +%s%3N) - ISPEED_NOW_AT )); }
# (UTC+7 has no daylight saving: seven hours on UTC, without tzdata.)
it_month() { date -u -d "@$(( ${1:-$(it_now_ms)} / 1000 + 25200 ))" +%Y-%m; }
it_day() { date -u -d "@$(( ${1:-$(it_now_ms)} / 1000 + 25200 ))" +%d; }

DATA=${ISPEED_DATA_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../shared/data" && pwd)}
WORK=$(mktemp -d /tmp/ispeed-it.XXXXXX)
PIDS=()
# Commands run after the processes are stopped and before WORK is removed.
CLEANUP_HOOKS=()

# Stops in reverse order of start (clients before the Kafka they talk to),
# and does not wait for ever on a process that ignores SIGTERM.
it_cleanup() {
  local i pid deadline
  for (( i = ${#PIDS[@]} - 1; i >= 0; i-- )); do kill -TERM "${PIDS[i]}" 2>/dev/null || true; done
  deadline=$(( $(date +%s) + 15 ))
  for pid in "${PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for hook in "${CLEANUP_HOOKS[@]}"; do eval "$hook" || true; done
  # ISPEED_IT_KEEP=1 keeps the logs and state of a run for a post-mortem.
  if [ -n "${ISPEED_IT_KEEP:-}" ]; then echo "-- kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap it_cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for SECONDS COMMAND...: retries until COMMAND succeeds.
wait_for() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# Starts ispeed-kafka-dev and sets BOOTSTRAP.
start_kafka() {
  "$BUILD/kafkadev/ispeed-kafka-dev" "$@" >"$WORK/kafka.out" 2>"$WORK/kafka.err" &
  PIDS+=($!)
  wait_for 60 test -s "$WORK/kafka.out" || fail "ispeed-kafka-dev printed no bootstrap: $(cat "$WORK/kafka.err")"
  BOOTSTRAP=$(head -n1 "$WORK/kafka.out")
  note "kafka at $BOOTSTRAP"
}

# Starts ispeed-server on a free port and sets SERVER_URL.
start_server() {
  local port; port=$(free_port)
  "$BUILD/server/ispeed-server" --listen "127.0.0.1:$port" --id it-server "$@" >"$WORK/server.out" 2>"$WORK/server.err" &
  PIDS+=($!)
  SERVER_URL="http://127.0.0.1:$port"
  wait_for 10 curl -sf -o /dev/null "$SERVER_URL/ispeed/v1/ping" || fail "ispeed-server did not start: $(cat "$WORK/server.err")"
}

# trust_setup: what the collector's secure defaults (--enrollment token,
# --attestation required) need, in $WORK/trust: a national authority
# (`ispeedctl authority init --province '*'`) and a test server key, with
# their authorities.csv and servers.csv. Sets COLLECTOR_TRUST (the
# collector's --authorities and --servers), LOADGEN_TRUST (ispeed-loadgen's
# and ispeed-delay-probe's keys: a token per synthetic agent, a receipt per
# sample) and SERVER_TRUST (ispeed-server's --key, the same server key).
# Call it once, before the first collector; it keeps what exists.
trust_setup() {
  TRUST_DIR=$WORK/trust
  mkdir -p "$TRUST_DIR"
  if [ ! -s "$TRUST_DIR/authorities.csv" ]; then
    "$BUILD/ctl/ispeedctl" authority init --province '*' --out "$TRUST_DIR/authority" >"$TRUST_DIR/authorities.csv" \
      || fail "trust_setup: ispeedctl authority init failed"
  fi
  if [ ! -s "$TRUST_DIR/servers.csv" ]; then
    "$BUILD/tests/ispeed-trust-check" server-key "$TRUST_DIR/server.key" it-server >"$TRUST_DIR/servers.csv" \
      || fail "trust_setup: no server key"
  fi
  COLLECTOR_TRUST=(--authorities "$TRUST_DIR/authorities.csv" --servers "$TRUST_DIR/servers.csv")
  LOADGEN_TRUST=(--authority-key "$TRUST_DIR/authority/authority.key" --server-key "$TRUST_DIR/server.key")
  SERVER_TRUST=(--key "$TRUST_DIR/server.key")
}

# trust_token COMMUNE [ispeedctl token issue options]: a token of
# trust_setup's authority for COMMUNE (of $UNITS), on stdout.
trust_token() {
  "$BUILD/ctl/ispeedctl" token issue --key "$TRUST_DIR/authority/authority.key" --units "$UNITS" --commune "$@"
}

# start_collector LOGNAME ARGS...: starts ispeed-collector in the background.
# On the embedded Kafka (no start_cluster) with --transactions off: its
# transactions are only protocol.
start_collector() {
  local log=$1; shift
  [ -n "${CLUSTER_DIR:-}" ] || set -- --transactions off "$@"
  "$BUILD/collector/ispeed-collector" -b "$BOOTSTRAP" "$@" 2>"$WORK/$log" &
  PIDS+=($!)
}

# quota_count PROVINCE UNIT [NETWORK]: the unit's count for this month on
# the province's quota topic, empty if it has none.
quota_count() {
  local month; month=$(it_month)
  "$BUILD/ctl/ispeedctl" quota -b "$BOOTSTRAP" --province "$1" --month "$month" --format csv 2>/dev/null \
    | awk -F, -v c="$2" -v n="${3:-fixed}" '$1 "" == c "" && $4 == n { print $5 }'
}

# agent_status_field STATE_DIR FIELD: a number from `ispeed-agent status --json`.
agent_status_field() {
  "$BUILD/agent/ispeed-agent" status --json --state-dir "$1" | python3 -c "
import json, sys
d = json.load(sys.stdin)
for k in '$2'.split('.'): d = d[k]
print(d)"
}

# merge_truth_chunks: $WORK/truth.csv (code,count), the sum of the truth
# files $WORK/truth.N.csv that parallel loadgen chunks wrote.
merge_truth_chunks() {
  python3 - "$WORK" <<'PY'
import csv, glob, os, re, sys
tot = {}
for f in glob.glob(os.path.join(sys.argv[1], 'truth.*.csv')):
    if not re.search(r'truth\.\d+\.csv$', f): continue  # not truth.N.csv.network.csv
    for r in csv.reader(open(f)):
        if r and r[0] != 'code':
            tot[r[0]] = tot.get(r[0], 0) + int(r[1])
with open(os.path.join(sys.argv[1], 'truth.csv'), 'w') as out:
    for c, v in sorted(tot.items()):
        out.write(f'{c},{v}\n')
PY
}

# read_all_quota HTTP_PORT MONTH [ispeedctl quota options]: the quota table of
# every province of $UNITS (listed in $WORK/provinces) as the topics show it
# ($WORK/q.all.csv, by one ispeedctl quota --province all) and as the
# collector on HTTP_PORT holds it ($WORK/h.P.json, /v1/quota).
read_all_quota() {
  local port=$1 month=$2; shift 2
  awk -F, '$2 == "province" { print $1 }' "$UNITS" >"$WORK/provinces"
  "$BUILD/ctl/ispeedctl" quota -b "$BOOTSTRAP" --province all --units "$UNITS" --month "$month" --format csv "$@" \
    >"$WORK/q.all.csv" 2>"$WORK/q.all.err" || fail "ispeedctl quota --province all failed: $(cat "$WORK/q.all.err")"
  local p
  while read -r p; do
    curl -sf "http://127.0.0.1:$port/v1/quota?province=$p&month=$month" >"$WORK/h.$p.json" || fail "/v1/quota?province=$p failed"
  done <"$WORK/provinces"
}

# start_cluster [cluster.sh start options]: a 3-broker Apache Kafka cluster
# (deploy/kafka/cluster.sh) under $WORK/cluster, stopped on exit; sets
# BOOTSTRAP and CLUSTER (cluster.sh with its --dir). Skips (77) without Java;
# the broker's jars are fetched once into a cache (deploy/kafka/fetch.sh).
start_cluster() {
  command -v java >/dev/null || { echo "SKIP: no java (deploy/deps.sh installs openjdk-17-jre-headless)"; exit 77; }
  local src; src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  CLUSTER_DIR=$WORK/cluster
  CLUSTER="$src/deploy/kafka/cluster.sh"
  CLEANUP_HOOKS+=("'$CLUSTER' stop --dir '$CLUSTER_DIR'")
  local t0; t0=$(date +%s%N)
  "$CLUSTER" start --brokers 3 --dir "$CLUSTER_DIR" "$@" >"$WORK/cluster.out" 2>"$WORK/cluster.err" \
    || fail "cluster.sh start: $(tail -n 3 "$WORK/cluster.err")"
  BOOTSTRAP=$(head -n1 "$WORK/cluster.out")
  note "kafka cluster at $BOOTSTRAP, ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

# cluster CMD [ARGS]: cluster.sh on the cluster start_cluster started.
cluster() { "$CLUSTER" "$@" --dir "$CLUSTER_DIR"; }

# user_props NAME: -X options for the SCRAM user NAME of a sasl_ssl cluster.
user_props() { sed 's/^/-X /' "$CLUSTER_DIR/users/$1.properties" | tr '\n' ' '; }
