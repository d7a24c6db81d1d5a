#!/usr/bin/env bash
# Efficiency: CPU seconds per GB moved and peak RSS of `ispeed-agent test`
# against iperf3's client moving the same bytes, on loopback.
#
#   bench/efficiency.sh [BUILD_DIR]           (default build/release)
#   DURATION=10 STREAMS=4 bench/efficiency.sh build/release
#
# The agent runs one test (download then upload) against ispeed-server;
# iperf3 -c then moves exactly the agent's bytes_down (-R) and bytes_up with
# the same number of streams against iperf3 -s. Both clients are measured
# by /usr/bin/time -v (user + system seconds, maximum resident set size).
# Targets: agent CPU per GB <= iperf3's; agent peak RSS <= 8 MiB.
set -euo pipefail

BUILD=$(cd "${1:-build/release}" 2>/dev/null && pwd) || { echo "bench/efficiency.sh: no build directory '${1:-build/release}'; give it as the first argument" >&2; exit 1; }
SERVER="$BUILD/server/ispeed-server"
AGENT="$BUILD/agent/ispeed-agent"
[ -x "$SERVER" ] && [ -x "$AGENT" ] || { echo "bench/efficiency.sh: $BUILD has no ispeed-server or ispeed-agent: build them first" >&2; exit 1; }
for t in iperf3 python3 /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench/efficiency.sh: $t is missing (apt-get install iperf3 python3 time)" >&2; exit 1; }
done
DURATION=${DURATION:-10}
STREAMS=${STREAMS:-4}

WORK=$(mktemp -d /tmp/ispeed-bench.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1).close()" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench/efficiency.sh: nothing listening on port $1" >&2
  exit 1
}

SPORT=$(free_port)
"$SERVER" --listen "127.0.0.1:$SPORT" --id bench --log-level warn 2>"$WORK/server.err" &
PIDS+=($!)
IPORT=$(free_port)
iperf3 -s -B 127.0.0.1 -p "$IPORT" >"$WORK/iperf3-s.out" 2>&1 &
PIDS+=($!)
wait_port "$SPORT"
wait_port "$IPORT"

# timed NAME CMD...: runs CMD under /usr/bin/time -v; stdout to NAME.out.
timed() {
  local name=$1; shift
  /usr/bin/time -v -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || {
    echo "bench/efficiency.sh: $name failed: $(tail -n 3 "$WORK/$name.err")" >&2
    exit 1
  }
}
# usage NAME: "cpu_seconds max_rss_kib" from a /usr/bin/time -v report.
usage() {
  awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { r = $2 }
              END { printf "%.3f %d\n", u + s, r }' "$WORK/$1.time"
}

timed agent "$AGENT" test --server "http://127.0.0.1:$SPORT" --json --duration "$DURATION" --streams "$STREAMS"
read -r down up < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["outcome"] == "ok", d
print(d["bytes_down"], d["bytes_up"])' "$WORK/agent.out")
read -r a_cpu a_rss < <(usage agent)

timed iperf-down iperf3 -c 127.0.0.1 -p "$IPORT" -P "$STREAMS" -n "$down" -R -J
timed iperf-up iperf3 -c 127.0.0.1 -p "$IPORT" -P "$STREAMS" -n "$up" -J
read -r d_cpu d_rss < <(usage iperf-down)
read -r u_cpu u_rss < <(usage iperf-up)

python3 - "$down" "$up" "$a_cpu" "$a_rss" "$d_cpu" "$d_rss" "$u_cpu" "$u_rss" <<'EOF'
import sys
down, up = int(sys.argv[1]), int(sys.argv[2])
a_cpu, a_rss, d_cpu, d_rss, u_cpu, u_rss = map(float, sys.argv[3:])
gb = (down + up) / 1e9
i_cpu, i_rss = d_cpu + u_cpu, max(d_rss, u_rss)
print("%-8s %10s %9s %10s %13s" % ("client", "moved_GB", "cpu_s", "cpu_s/GB", "peak_rss_MiB"))
print("%-8s %10.2f %9.2f %10.3f %13.2f" % ("agent", gb, a_cpu, a_cpu / gb, a_rss / 1024))
print("%-8s %10.2f %9.2f %10.3f %13.2f" % ("iperf3", gb, i_cpu, i_cpu / gb, i_rss / 1024))
print("ratio agent/iperf3: cpu per GB %.3f (target <= 1), peak RSS %.3f; agent RSS %.2f MiB (target <= 8)"
      % ((a_cpu / gb) / (i_cpu / gb), a_rss / i_rss, a_rss / 1024))
EOF
