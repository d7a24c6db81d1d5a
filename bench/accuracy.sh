#!/usr/bin/env bash
# Accuracy: ispeed-agent against iperf3 on a link shaped to a known rate.
# Two network namespaces joined by a veth pair, both directions shaped by
# tbf; ispeed-server and iperf3 -s on one side, ispeed-agent test and
# iperf3 -c on the other, one after the other on the same link.
#
#   sudo bench/accuracy.sh [BUILD_DIR]        (default build/release)
#   RATES="20 100 500" STREAMS="4 1" DURATION=10 sudo bench/accuracy.sh build/release
#
# Prints, per rate and stream count, download and upload of both tools in
# Mbit/s, agent/iperf3, and agent/(rate x 1448/1514): the TCP goodput limit
# of an Ethernet link at MTU 1500 with TCP timestamps (1448 payload bytes
# per 1514-byte frame, which is what tbf counts). Target: every ratio in
# [0.97, 1.03].
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "bench/accuracy.sh needs root: it creates network namespaces and shapes them with tc; run it with sudo" >&2
  exit 1
fi
for t in ip tc iperf3 python3; do
  command -v "$t" >/dev/null || { echo "bench/accuracy.sh: $t is missing (apt-get install iproute2 iperf3 python3)" >&2; exit 1; }
done

BUILD=$(cd "${1:-build/release}" 2>/dev/null && pwd) || { echo "bench/accuracy.sh: no build directory '${1:-build/release}'; give it as the first argument" >&2; exit 1; }
SERVER="$BUILD/server/ispeed-server"
AGENT="$BUILD/agent/ispeed-agent"
[ -x "$SERVER" ] && [ -x "$AGENT" ] || { echo "bench/accuracy.sh: $BUILD has no ispeed-server or ispeed-agent: build them first" >&2; exit 1; }

RATES=${RATES:-"20 100 500"}   # Mbit/s
STREAMS=${STREAMS:-"4 1"}
DURATION=${DURATION:-10}       # seconds per direction, both tools
IPERF_OMIT=2                   # iperf3 leaves out its first 2 s, as the agent leaves out its ramp-up

# Names unique to this run, so parallel runs and other users never collide.
NS_S=ispb-s-$$
NS_C=ispb-c-$$
VS=ispb$$s
VC=ispb$$c
ADDR_S=10.77.0.1
ADDR_C=10.77.0.2
PORT=8080
WORK=$(mktemp -d /tmp/ispeed-bench.XXXXXX)
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del "$NS_S" 2>/dev/null || true
  ip netns del "$NS_C" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add "$VS" type veth peer name "$VC"
ip link set "$VS" netns "$NS_S"
ip link set "$VC" netns "$NS_C"
ip -n "$NS_S" addr add "$ADDR_S/24" dev "$VS"
ip -n "$NS_C" addr add "$ADDR_C/24" dev "$VC"
for ns in "$NS_S" "$NS_C"; do ip -n "$ns" link set lo up; done
ip -n "$NS_S" link set "$VS" up
ip -n "$NS_C" link set "$VC" up

# shape RATE_MBIT: tbf on both ends' egress. The bucket holds at least 4 ms
# of the rate (the kernel's timer granularity at HZ=250) and a full GSO
# packet; the queue holds 50 ms, more than the link's delay-bandwidth
# product, so a single TCP stream keeps it busy.
shape() {
  local rate=$1 burst
  burst=$(( rate * 1000000 / 8 / 250 ))
  [ "$burst" -ge 65536 ] || burst=65536
  for pair in "$NS_S:$VS" "$NS_C:$VC"; do
    ip netns exec "${pair%%:*}" tc qdisc replace dev "${pair#*:}" root tbf rate "${rate}mbit" burst "$burst" latency 50ms
  done
}

ip netns exec "$NS_S" "$SERVER" --listen "$ADDR_S:$PORT" --id bench --log-level warn 2>"$WORK/server.err" &
PIDS+=($!)
ip netns exec "$NS_S" iperf3 -s -B "$ADDR_S" -p 5201 >"$WORK/iperf3-s.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
  ip netns exec "$NS_C" python3 -c "import socket; socket.create_connection(('$ADDR_S', $PORT), 1).close(); socket.create_connection(('$ADDR_S', 5201), 1).close()" 2>/dev/null && break
  sleep 0.1
done

# agent RUN_NAME STREAMS: "down_bps up_bps MB s" of one ispeed-agent test:
# the rates, the data it moved and how long it took (the early stop, issue
# 12: samples per GB).
agent() {
  ip netns exec "$NS_C" "$AGENT" test --server "http://$ADDR_S:$PORT" --json --duration "$DURATION" --streams "$2" \
    >"$WORK/$1.json" 2>"$WORK/$1.err" || true
  python3 - "$WORK/$1.json" <<'EOF' || { echo "bench/accuracy.sh: agent test failed: $(tail -n 3 "$WORK/$1.err")" >&2; echo "0 0 0 0"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["outcome"] == "ok", d
print(d["download_bps"], d["upload_bps"], (d["bytes_down"] + d["bytes_up"]) / 1e6, d["duration_ms"] / 1e3)
EOF
}

# iperf RUN_NAME STREAMS [-R]: receiver-side bits/s of one iperf3 run.
iperf() {
  local name=$1 n=$2; shift 2
  ip netns exec "$NS_C" iperf3 -c "$ADDR_S" -p 5201 -J -t "$DURATION" -O "$IPERF_OMIT" -P "$n" "$@" \
    >"$WORK/$name.json" 2>&1 || true
  python3 - "$WORK/$name.json" <<'EOF' || { echo "bench/accuracy.sh: iperf3 failed: $(head -c 300 "$WORK/$name.json")" >&2; echo 0; }
import json, sys
d = json.load(open(sys.argv[1]))
print(int(d["end"]["sum_received"]["bits_per_second"]))
EOF
}

printf '%-6s %-3s %-4s %10s %10s %8s %8s %9s %7s\n' rate_M P dir agent_M iperf3_M ag/ip3 ag/limit agent_MB agent_s
for rate in $RATES; do
  shape "$rate"
  limit=$(python3 -c "print($rate * 1e6 * 1448 / 1514)")
  for n in $STREAMS; do
    read -r a_down a_up a_mb a_s < <(agent "agent-$rate-$n" "$n")
    i_down=$(iperf "iperf-$rate-$n-down" "$n" -R)
    i_up=$(iperf "iperf-$rate-$n-up" "$n")
    for dir in down up; do
      if [ "$dir" = down ]; then a=$a_down; i=$i_down; else a=$a_up; i=$i_up; fi
      python3 -c "
a, i, l = $a, $i, $limit
print('%-6s %-3s %-4s %10.2f %10.2f %8.3f %8.3f %9.1f %7.1f' % ('$rate', '$n', '$dir', a / 1e6, i / 1e6, a / i if i else 0, a / l, $a_mb, $a_s))"
    done
  done
done
