# Shared by the integration tests: start the embedded Kafka and the
# programs as separate processes, wait for conditions, clean up on exit.
# Source it after setting BUILD (the build directory).
set -euo pipefail

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
  "$BUILD/server/ispeed-server" --listen "127.0.0.1:$port" --id it-server "$@" 2>"$WORK/server.err" &
  PIDS+=($!)
  SERVER_URL="http://127.0.0.1:$port"
  wait_for 10 curl -sf -o /dev/null "$SERVER_URL/ispeed/v1/ping" || fail "ispeed-server did not start: $(cat "$WORK/server.err")"
}

# start_collector LOGNAME ARGS...: starts ispeed-collector in the background.
start_collector() {
  local log=$1; shift
  "$BUILD/collector/ispeed-collector" -b "$BOOTSTRAP" "$@" 2>"$WORK/$log" &
  PIDS+=($!)
}

# quota_count PROVINCE UNIT [NETWORK]: the unit's count for this month on
# the province's quota topic, empty if it has none.
quota_count() {
  local month; month=$(TZ=Asia/Ho_Chi_Minh date +%Y-%m)
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
