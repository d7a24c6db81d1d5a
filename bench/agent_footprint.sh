#!/usr/bin/env bash
# The agent daemon's footprint: peak RSS idle and during a test (target
# <= 8 MiB), the spool's bytes per sample on disk, the .deb's size.
# Usage: bench/agent_footprint.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$top/build/release}" && pwd)
DATA=${ISPEED_DATA_DIR:-$top/../shared/data}
work=$(mktemp -d /tmp/ispeed-bench.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT

"$BUILD/kafkadev/ispeed-kafka-dev" >"$work/kafka.out" 2>/dev/null & pids+=($!)
for _ in $(seq 100); do [ -s "$work/kafka.out" ] && break; sleep 0.1; done
bootstrap=$(head -n1 "$work/kafka.out")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BUILD/server/ispeed-server" --listen "127.0.0.1:$port" 2>/dev/null & pids+=($!)
sleep 0.5

kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
common=(--server "http://127.0.0.1:$port" --commune 00004 --units "$DATA/vn-units-2025-03.csv" --access fixed -b "$bootstrap" ${ISPEED_BENCH_AGENT_ARGS:-})

# Idle: quiet hours from now for two hours keep the first test away.
quiet="$(TZ=Asia/Ho_Chi_Minh date +%H:%M)-$(TZ=Asia/Ho_Chi_Minh date -d '+2 hours' +%H:%M)"
"$BUILD/agent/ispeed-agent" run "${common[@]}" --state-dir "$work/idle" --quiet-hours "$quiet" 2>"$work/idle.log" &
agent=$!; pids+=($agent)
sleep 10
idle_rss=$(kb $agent VmRSS); idle_hwm=$(kb $agent VmHWM)
kill -TERM $agent; wait $agent || true

# Testing: three tests of 2 s per direction, 4 streams.
"$BUILD/agent/ispeed-agent" run "${common[@]}" --state-dir "$work/agent" --interval 8s --jitter 0 --duration 2 \
  2>"$work/agent.log" &
agent=$!; pids+=($agent)
for _ in $(seq 600); do [ "$(grep -c 'test done' "$work/agent.log")" -ge 3 ] && break; sleep 0.1; done
test_hwm=$(kb $agent VmHWM); after_rss=$(kb $agent VmRSS)
kill -TERM $agent; wait $agent || true

# Spool bytes per sample: 200 samples stored with no broker, before sealing.
"$BUILD/agent/ispeed-agent" run --server "http://127.0.0.1:$port" --commune 00004 \
  --units "$DATA/vn-units-2025-03.csv" --access fixed --state-dir "$work/spooled" -b 127.0.0.1:9 \
  --interval 1s --jitter 0 --duration 1 --streams 1 2>"$work/spooled.log" & sp=$!; pids+=($sp)
for _ in $(seq 600); do [ "$(grep -c 'test done' "$work/spooled.log")" -ge 20 ] && break; sleep 0.1; done
kill -TERM $sp; wait $sp || true
n=$(grep -c 'test done' "$work/spooled.log")
bytes=$(cat "$work/spooled/spool/"*.seg | wc -c)

printf '%-44s %10s\n' "figure" "value"
printf '%-44s %7.1f MiB\n' "daemon RSS idle (10 s, no test)" "$(echo "$idle_rss/1024" | bc -l)"
printf '%-44s %7.1f MiB (%d KiB)\n' "daemon peak RSS idle (start-up included)" "$(echo "$idle_hwm/1024" | bc -l)" "$idle_hwm"
printf '%-44s %7.1f MiB (%d KiB)\n' "daemon peak RSS over 3 tests" "$(echo "$test_hwm/1024" | bc -l)" "$test_hwm"
printf '%-44s %7.1f MiB\n' "daemon RSS after the tests" "$(echo "$after_rss/1024" | bc -l)"
printf '%-44s %10s\n' "target" "<= 8 MiB"
printf '%-44s %10d\n' "spool bytes per sample (raw segment, $n samples + 1 enrollment)" "$(( bytes / (n + 1) ))"
deb=$(ls "$work"/pkg/*.deb 2>/dev/null || true)
cpack --config "$BUILD/CPackConfig.cmake" -B "$work/pkg" >/dev/null 2>&1 && \
  printf '%-44s %10d\n' "ispeed-agent .deb bytes" "$(stat -c %s "$work"/pkg/ispeed-agent_*_amd64.deb)"
