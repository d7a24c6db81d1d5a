#!/usr/bin/env bash
# The dashboard under load: a month of QuotaStatus for every unit of the
# 2025-03 registry (63 provinces, 696 districts, 10,047 communes, both
# classes, with distinct agents), standing on the 20th, on the embedded
# Kafka, then
#   - the largest province's page (most units) loaded in headless chromium
#     ROUNDS times: navigation start to its units table and recruiting
#     list drawn;
#   - 200 concurrent Server-Sent Events streams held open on one server
#     while statuses keep arriving: every stream gets the same events (the
#     statuses of one 100 ms tick make one event), and the server's RSS
#     (VmRSS and peak VmHWM from /proc) is read in the same run.
# Targets: page < 1000 ms (median of ROUNDS; max printed), RSS <= 64 MiB with
# 200 streams.
#
#   bench/dashboard.sh [BUILD_DIR]      (default build/release)
#   ROUNDS=5 CLIENTS=200 UPDATES=20 bench/dashboard.sh build/release
set -euo pipefail

BUILD=$(cd "${1:-build/release}" 2>/dev/null && pwd) || { echo "bench/dashboard.sh: no build directory '${1:-build/release}'; give it as the first argument" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${ISPEED_DATA_DIR:-$(cd "$HERE/../../shared/data" && pwd)}
UNITS=$DATA/vn-units-2025-03.csv
CTL=$BUILD/ctl/ispeedctl
PUB=$BUILD/tests/ispeed-publish-quota
KDEV=$BUILD/kafkadev/ispeed-kafka-dev
ROUNDS=${ROUNDS:-5}
CLIENTS=${CLIENTS:-200}
UPDATES=${UPDATES:-20}
MONTH=2025-03
# The clock on the 20th, noon: the month is running, so the province page
# draws its recruiting list too (a closed month has none), as an officer
# sees it most of the month.
DAY=20
export ISPEED_NOW=2025-03-${DAY}T12:00:00
unset ISPEED_NOW_AT
for f in "$CTL" "$PUB" "$KDEV"; do
  [ -x "$f" ] || { echo "bench/dashboard.sh: $f is not built (configure with testing on)" >&2; exit 1; }
done
command -v node >/dev/null || { echo "bench/dashboard.sh: node is missing (apt-get install nodejs npm)" >&2; exit 1; }

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[$i]}" 2>/dev/null || true; wait "${PIDS[$i]}" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# playwright-core from the committed lock file, as the browser test does.
CACHE=${ISPEED_NPM_CACHE:-$HOME/.cache/ispeed/browser-test}
MODS=$CACHE/$(sha256sum "$HERE/../tests/browser/package-lock.json" | cut -c1-16)
if [ ! -d "$MODS/node_modules/playwright-core" ]; then
  mkdir -p "$MODS"
  cp "$HERE/../tests/browser/package.json" "$HERE/../tests/browser/package-lock.json" "$MODS/"
  (cd "$MODS" && npm ci --no-audit --no-fund --ignore-scripts >"$TMP/npm.log" 2>&1) || { cat "$TMP/npm.log" >&2; exit 1; }
fi

"$KDEV" --units "$UNITS" >"$TMP/kdev.out" 2>"$TMP/kdev.err" &
PIDS+=($!)
for _ in $(seq 600); do [ -s "$TMP/kdev.out" ] && break; sleep 0.1; done
B=$(head -n 1 "$TMP/kdev.out")
[ -n "$B" ] || { echo "bench/dashboard.sh: ispeed-kafka-dev did not start: $(cat "$TMP/kdev.err")" >&2; exit 1; }
python3 "$HERE/../tests/browser/gen_quota.py" "$UNITS" "$MONTH" 20250301 --day "$DAY" >"$TMP/quota.lines"
"$PUB" -b "$B" quota <"$TMP/quota.lines"
# The province with the most units (communes and districts).
LARGEST=$(python3 - "$UNITS" <<'PY'
import csv, sys
units = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
by = {u["code"]: u for u in units}
n = {}
for u in units:
    p = u
    while p["parent"]:
        p = by[p["parent"]]
    n[p["code"]] = n.get(p["code"], 0) + 1
print(max(n, key=n.get), n[max(n, key=n.get)])
PY
)
read -r PROV NUNITS <<<"$LARGEST"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
T0=$(date +%s%3N)
"$CTL" serve -b "$B" --listen "127.0.0.1:$PORT" --units "$UNITS" --month "$MONTH" >"$TMP/serve.out" 2>"$TMP/serve.err" &
SPID=$!
PIDS+=($SPID)
for _ in $(seq 600); do grep -q '^serving' "$TMP/serve.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^serving' "$TMP/serve.out" || { echo "bench/dashboard.sh: serve did not start: $(cat "$TMP/serve.err")" >&2; exit 1; }
T1=$(date +%s%3N)
RSS0=$(awk '/VmRSS/ { print $2 }' /proc/$SPID/status)

PAGE=$(NODE_PATH=$MODS/node_modules node "$HERE/../tests/browser/bench.js" "http://127.0.0.1:$PORT/p/$PROV" "$ROUNDS")
JSONSZ=$(curl -s "http://127.0.0.1:$PORT/api/province/$PROV" | wc -c)

# CLIENTS streams on the national feed; UPDATES statuses of the largest
# province published while they are open; each stream counts its events.
python3 - "$PORT" "$CLIENTS" "$UPDATES" "$SPID" "$TMP" "$PUB" "$B" "$PROV" "$MONTH" <<'PY' >"$TMP/sse.json"
import json, os, socket, subprocess, sys, time, selectors
port, n, updates, pid, tmp, pub, boot, prov, month = sys.argv[1:]
n, updates = int(n), int(updates)
sel = selectors.DefaultSelector()
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, i)
    socks.append(s)
counts = [0] * n
def drain(t):
    end = time.time() + t
    while time.time() < end:
        for key, _ in sel.select(timeout=0.1):
            data = key.fileobj.recv(65536)
            counts[key.data] += data.count(b"event: update")
drain(1.0)
def metric(name):
    import urllib.request
    for l in urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode().splitlines():
        if l.startswith(name + " "):
            return int(float(l.split()[1]))
open_streams = metric("ispeed_ctl_serve_sse_clients")
lines = "\n".join(f"{u}|U{u}|commune|x|{prov}|{month}|fixed|{k}|300|300|BEHIND|1|0|0|0|{1743440400000 + k}"
                  for k, u in enumerate([f"9{j:04d}" for j in range(updates)])) + "\n"
t0 = time.time()
for l in lines.splitlines():
    subprocess.run([pub, "-b", boot, "quota"], input=(l + "\n").encode(), check=True)
    drain(0.05)
drain(2.0)
st = {l.split(":")[0]: int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith(("VmRSS", "VmHWM"))}
sent = metric("ispeed_ctl_serve_events_total")
print(json.dumps({"streams": open_streams, "sent": sent, "min_events": min(counts), "max_events": max(counts),
                  "rss_kib": st["VmRSS"], "hwm_kib": st["VmHWM"]}))
PY
read -r SSE <"$TMP/sse.json"
python3 - "$PAGE" "$SSE" "$PROV" "$NUNITS" "$((T1 - T0))" "$RSS0" "$JSONSZ" "$CLIENTS" "$UPDATES" <<'PY'
import json, sys
page, sse = json.loads(sys.argv[1]), json.loads(sys.argv[2])
prov, nunits, start_ms, rss0, jsonsz, clients, updates = sys.argv[3], *map(int, sys.argv[4:])
ok_page = page["median_ms"] < 1000
ok_rss = sse["hwm_kib"] <= 64 * 1024 and sse["streams"] == clients and sse["min_events"] * clients == sse["sent"]
print(f"load average {open('/proc/loadavg').read().split()[0]} on {__import__('os').cpu_count()} CPUs (a shared machine stretches every figure)")
print(f"serve: read the 2025-03 month ({nunits} units in the largest province {prov}) and opened in {start_ms} ms; RSS {rss0 / 1024:.1f} MiB before any client")
print(f"page /p/{prov}: {page['rows']} rows and {page['recruit_rows']} in the recruiting list, JSON {jsonsz / 1024:.0f} KiB; drawn in median {page['median_ms']} ms, "
      f"min {page['min_ms']}, max {page['max_ms']} ms   target < 1000 ms: {'ok' if ok_page else 'MISSED'}")
print(f"{sse['streams']} SSE streams open; {updates} statuses published: each stream got {sse['min_events']}..{sse['max_events']} events "
      f"(server sent {sse['sent']} in all); "
      f"RSS {sse['rss_kib'] / 1024:.1f} MiB, peak {sse['hwm_kib'] / 1024:.1f} MiB   target <= 64 MiB: {'ok' if ok_rss else 'MISSED'}")
PY
