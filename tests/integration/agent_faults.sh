#!/usr/bin/env bash
# A speed test against a broken server ends within its bound with the
# outcome that names the fault, and never crashes or leaks: nothing
# listening, a host that never completes the connection, HTTP 4xx and 5xx,
# a close mid-download, a stalled download or upload, a stalled or garbage
# or endless header. A working server gives "ok". With several servers the
# one with the lowest idle latency is measured, and a dead one is skipped.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
AGENT="$BUILD/agent/ispeed-agent"
# Sanitizer reports get exit codes of their own, so a leak cannot pass for
# an ordinary failed test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=86} LSAN_OPTIONS=${LSAN_OPTIONS:-exitcode=87}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-exitcode=88:print_stacktrace=1}

cat >"$WORK/fake.py" <<'EOF'
# A misbehaving HTTP server: argv = port mode. Pings are answered normally
# unless the mode breaks everything.
import socket, sys, threading, time
port, mode = int(sys.argv[1]), sys.argv[2]
CHUNK = bytes(range(256)) * 4096  # 1 MiB

if mode == "blackhole":
    # Listens but never accepts, its accept queue already full: the kernel
    # drops every further SYN, so a client's connect neither fails nor
    # completes, as with a host that does not answer.
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.listen(0)
    held = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        held.append(c)
    time.sleep(0.5)
    print("ready", flush=True)
    time.sleep(600)
    sys.exit(0)

def read_head(c, buf):
    while b"\r\n\r\n" not in buf:
        d = c.recv(65536)
        if not d:
            return None, b""
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest

def serve(c):
    buf = b""
    try:
        while True:
            head, buf = read_head(c, buf)
            if head is None:
                return
            target = head.split(" ")[1]
            length = 0
            for line in head.split("\r\n")[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v)
            is_ping = "/ping" in target or "empty.php" in target and length == 0
            if mode == "librespeed":
                # PHP behind nginx: chunked answers, files under /backend only.
                body_left = length
                while body_left > 0:
                    take = min(body_left, len(buf))
                    buf = buf[take:]
                    body_left -= take
                    if body_left > 0:
                        d = c.recv(1 << 20)
                        if not d:
                            return
                        buf += d
                path = target.split("?")[0]
                if path == "/backend/garbage.php":
                    n = int(target.split("ckSize=")[1].split("&")[0]) << 20
                    c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    while n > 0:
                        k = min(n, 65536)
                        c.sendall(b"%x;ext=1\r\n" % k + CHUNK[:k] + b"\r\n")
                        n -= k
                    c.sendall(b"0\r\nX-Trailer: t\r\n\r\n")
                elif path == "/backend/empty.php":
                    c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                else:
                    c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                continue
            if mode == "http500":
                c.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops\n")
                continue
            if mode == "garbage":
                c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
                time.sleep(30)
                return
            if mode == "endless":
                c.sendall(b"HTTP/1.1 200 OK\r\n")
                while True:
                    c.sendall(b"X-Filler: " + b"a" * 100 + b"\r\n")
            if mode == "headstall":
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-")
                time.sleep(60)
                return
            if is_ping:
                if mode == "slowping":
                    time.sleep(0.08)  # a server 80 ms further away
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\npong\n")
                continue
            if mode == "http403":
                c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 10\r\n\r\nforbidden\n")
                continue
            if "download" in target or "garbage.php" in target:
                if mode == "close":
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n" + CHUNK)
                    c.close()
                    return
                if mode == "stall":
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n" + CHUNK[:65536])
                    time.sleep(60)
                    return
                n = int(target.split("bytes=")[1]) if "bytes=" in target else 1 << 20
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
                while n > 0:
                    k = min(n, len(CHUNK))
                    c.sendall(CHUNK[:k])
                    n -= k
                continue
            if "upload" in target:
                if mode == "upstall":
                    time.sleep(60)
                    return
                while length > 0:
                    take = min(length, len(buf))
                    buf = buf[take:]
                    length -= take
                    if length > 0:
                        d = c.recv(1 << 20)
                        if not d:
                            return
                        buf += d
                c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{"bytes":1}\n')
                continue
            c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    except OSError:
        pass
    finally:
        c.close()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(64)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF

# start_fake MODE: a fake server on a free port; sets FAKE_URL.
start_fake() {
  local port; port=$(free_port)
  python3 "$WORK/fake.py" "$port" "$1" >"$WORK/fake-$1.out" 2>&1 &
  PIDS+=($!)
  wait_for 10 grep -q ready "$WORK/fake-$1.out" || fail "fake server $1 did not start: $(cat "$WORK/fake-$1.out")"
  FAKE_URL="http://127.0.0.1:$port"
}

# expect_outcome NAME WANT BOUND_S URLS DURATION_S [AGENT ARGS...]: runs one test and checks
# its outcome, its exit, and that it ended within BOUND_S. URLS is one URL,
# or several separated by spaces (one --server each).
expect_outcome() {
  local name=$1 want=$2 bound=$3 url=$4 duration=$5
  shift 5
  local rc=0 start end got
  start=$(date +%s.%N)
  local -a servers=()
  for u in $url; do servers+=(--server "$u"); done
  timeout $((bound + 30)) "$AGENT" test "${servers[@]}" --json --duration "$duration" "$@" \
    >"$WORK/$name.json" 2>"$WORK/$name.err" || rc=$?
  end=$(date +%s.%N)
  # 0 (or 1 if the agent reports a failed test that way); anything else is
  # a crash, a sanitizer report or a timeout.
  [ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "$name: agent exited $rc: $(tail -n 30 "$WORK/$name.err")"
  ! grep -q "Sanitizer\|runtime error" "$WORK/$name.err" || fail "$name: sanitizer report: $(cat "$WORK/$name.err")"
  got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("server", "download_bps", "upload_bps", "latency_ms", "jitter_ms", "loaded_latency_ms",
          "bytes_down", "bytes_up", "streams", "duration_ms", "outcome", "outcome_detail", "start_ms"):
    assert k in d, "missing " + k
for k in ("min", "median"):
    assert k in d["latency_ms"], "missing latency_ms." + k
for k in ("download", "upload"):
    assert k in d["loaded_latency_ms"], "missing loaded_latency_ms." + k
assert d["outcome"] == "ok" or d["outcome_detail"], "a failed test must say why"
print(d["outcome"], d["outcome_detail"])' "$WORK/$name.json") || fail "$name: bad JSON: $(cat "$WORK/$name.json") $(tail -n 5 "$WORK/$name.err")"
  [ "${got%% *}" = "$want" ] || fail "$name: outcome ${got%% *}, want $want: $(cat "$WORK/$name.json")"
  awk -v s="$start" -v e="$end" -v b="$bound" 'BEGIN { exit !(e - s <= b) }' \
    || fail "$name: took $(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }') s, bound $bound s"
  note "$name: ${got%% *} in $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }') s: ${got#* }"
}

expect_outcome refused refused 5 "http://127.0.0.1:$(free_port)" 2

# Nothing answers the connection: the 5 s connect limit calls it unreachable.
start_fake blackhole
expect_outcome unreachable unreachable 8 "$FAKE_URL" 2
grep -q '"outcome_detail":"no answer from .* within 5 s of connecting' "$WORK/unreachable.json" \
  || fail "unreachable: not the connect limit: $(cat "$WORK/unreachable.json")"

start_fake http500
expect_outcome http500 http_error 5 "$FAKE_URL" 2
# Pings answered, the download refused: a 4xx ends the test as well.
start_fake http403
expect_outcome http403 http_error 5 "$FAKE_URL" 2
grep -q '"outcome_detail":"HTTP 403 for the download' "$WORK/http403.json" \
  || fail "http403: detail does not name the status: $(cat "$WORK/http403.json")"

start_fake close
expect_outcome close closed 5 "$FAKE_URL" 2

# Stall limit 5 s: a longer test lets it, not the duration, end the download.
start_fake stall
expect_outcome stall stalled 9 "$FAKE_URL" 8

# A server that stops reading an upload: its kernel acknowledges a window's
# worth, then nothing (seen through SIOCOUTQ). Longer than the stall limit,
# the limit ends it; shorter, the empty measuring window does.
start_fake upstall
# A data cap ends the download within a second (50 MB on loopback), so the
# upload's wait is most of the test.
expect_outcome upload-stall stalled 8 "$FAKE_URL" 6 --max-bytes 100000000
grep -q '"outcome_detail":"upload: no data moved with .* for 5.0 s' "$WORK/upload-stall.json" \
  || fail "upload-stall: not the upload's stall limit: $(cat "$WORK/upload-stall.json")"
expect_outcome upload-stall-short stalled 4 "$FAKE_URL" 2 --max-bytes 100000000
grep -q '"outcome_detail":"upload: no data moved' "$WORK/upload-stall-short.json" \
  || fail "upload-stall-short: not the upload that stalled: $(cat "$WORK/upload-stall-short.json")"

start_fake headstall
expect_outcome header-stall stalled 8 "$FAKE_URL" 2

start_fake garbage
expect_outcome garbage protocol_error 5 "$FAKE_URL" 2

start_fake endless
expect_outcome endless-header protocol_error 5 "$FAKE_URL" 2

# The same fake server, working: the faults above are the server's, not the client's.
start_fake fine
expect_outcome fine ok 8 "$FAKE_URL" 2 --max-bytes 40000000
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["download_bps"] > 0 and d["upload_bps"] > 0, d
assert d["bytes_down"] > 0 and d["bytes_up"] > 0, d
assert 0 < d["latency_ms"]["min"] <= d["latency_ms"]["median"], d' "$WORK/fine.json" \
  || fail "fine: implausible figures: $(cat "$WORK/fine.json")"
# A LibreSpeed backend (chunked answers, as PHP gives): the URL rule picks
# its paths, and the chunked framing (with extensions and a trailer) is
# decoded; a misparse would read payload as a chunk size: protocol_error.
start_fake librespeed
expect_outcome librespeed ok 8 "$FAKE_URL/backend/" 2 --max-bytes 40000000
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["download_bps"] > 0 and d["upload_bps"] > 0 and d["bytes_down"] > 0, d' "$WORK/librespeed.json" \
  || fail "librespeed: implausible figures: $(cat "$WORK/librespeed.json")"
# --- several servers: the lowest idle latency wins, in either order ---
# (a small data cap keeps these short: only the choice matters here)
start_fake slowping
SLOW_URL=$FAKE_URL
start_server
for order in "$SLOW_URL $SERVER_URL" "$SERVER_URL $SLOW_URL"; do
  expect_outcome choice ok 12 "$order" 1 --max-bytes 4000000
  got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["server"])' "$WORK/choice.json")
  [ "$got" = "$SERVER_URL" ] || fail "choice ($order): measured $got, want the nearer $SERVER_URL"
done
# A dead candidate is skipped; with none alive, the first one's fault is the outcome.
REFUSING="http://127.0.0.1:$(free_port)"
expect_outcome choice-dead ok 12 "$REFUSING $SLOW_URL" 1 --max-bytes 4000000
got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["server"])' "$WORK/choice-dead.json")
[ "$got" = "$SLOW_URL" ] || fail "choice-dead: measured $got, want the live $SLOW_URL"
expect_outcome choice-none refused 12 "$REFUSING http://127.0.0.1:$(free_port)" 1
echo "ok agent_faults"
