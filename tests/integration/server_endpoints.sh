#!/usr/bin/env bash
# ispeed-server answers every endpoint as specified (exact byte counts,
# uploads streamed and counted, LibreSpeed paths under any prefix), refuses
# bad requests, keeps connections alive and closes idle ones, and stops
# cleanly on SIGTERM. Its options can come from a configuration file
# (--config), which the command line overrides.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
SERVER="$BUILD/server/ispeed-server"
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=86} LSAN_OPTIONS=${LSAN_OPTIONS:-exitcode=87}

# expect_status WANT URL [CURL ARGS...]
expect_status() {
  local want=$1 url=$2; shift 2
  local got; got=$(curl -s -o "$WORK/body" -w '%{http_code}' "$@" "$url")
  [ "$got" = "$want" ] || fail "$url: status $got, want $want; body: $(head -c 200 "$WORK/body")"
}
# expect_size WANT URL: a 200 whose body is exactly WANT bytes.
expect_size() {
  local got; got=$(curl -s -o "$WORK/body" -w '%{http_code} %{size_download}' "$2")
  [ "$got" = "200 $1" ] || fail "$2: got '$got', want '200 $1'"
}
# raw PORT PYTHON-BYTES-LITERAL [WAIT_S]: sends bytes on one connection and
# prints whatever comes back until the server closes or WAIT_S pass.
raw() {
  python3 - "$1" "$2" "${3:-2}" <<'EOF'
import socket, sys, time
port, payload, wait = int(sys.argv[1]), eval(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(payload)
s.settimeout(wait)
out = b""
end = time.time() + wait
try:
    while time.time() < end:
        d = s.recv(65536)
        if not d:
            out += b"<EOF>"
            break
        out += d
except socket.timeout:
    pass
sys.stdout.write(out.decode("latin-1"))
EOF
}

# --- command line ---
"$SERVER" --help | grep -q -- "--listen" || fail "--help does not describe --listen"
rc=0; "$SERVER" 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q -- "--listen" "$WORK/err" || fail "no --listen: exit $rc, want 2 naming --listen: $(cat "$WORK/err")"
rc=0; "$SERVER" --listen nonsense 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "ADDR:PORT" "$WORK/err" || fail "bad --listen: exit $rc: $(cat "$WORK/err")"
rc=0; "$SERVER" --listen 127.0.0.1:1 --frobnicate 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] || fail "unknown option: exit $rc, want 2"

# --- configuration file ---
"$SERVER" --help | grep -q -- "--config FILE" || fail "--help does not describe --config"
FPORT=$(free_port)
printf '# from a file\n[server]\nlisten = 127.0.0.1:%s ; inline comment\nid = file-server\n' "$FPORT" >"$WORK/server.conf"
# serve_with_config PORT ARGS...: the server started with ARGS answers info on PORT; prints its id.
serve_with_config() {
  local port=$1; shift
  "$SERVER" "$@" 2>"$WORK/conf.err" &
  local pid=$!
  PIDS+=("$pid")
  wait_for 10 curl -sf -o "$WORK/conf.info" "http://127.0.0.1:$port/ispeed/v1/info" \
    || fail "ispeed-server $* did not serve on $port: $(cat "$WORK/conf.err")"
  kill -TERM "$pid"
  wait "$pid" || fail "ispeed-server $* exited $? on SIGTERM: $(cat "$WORK/conf.err")"
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/conf.info"
}
[ "$(serve_with_config "$FPORT" --config "$WORK/server.conf")" = file-server ] || fail "--config: want id file-server"
OPORT=$(free_port)
[ "$(serve_with_config "$OPORT" --config="$WORK/server.conf" --listen "127.0.0.1:$OPORT" --id cli)" = cli ] \
  || fail "command line --id did not override the file"
grep -q "listening addr=127.0.0.1:$OPORT " "$WORK/conf.err" || fail "--listen did not override the file: $(cat "$WORK/conf.err")"
printf 'listen = 127.0.0.1:1\n\nlisen = 127.0.0.1:2\n' >"$WORK/bad.conf"
rc=0; "$SERVER" --config "$WORK/bad.conf" 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$WORK/err")" = 1 ] && grep -q "bad.conf:3: unknown key 'lisen'" "$WORK/err" \
  || fail "unknown key: exit $rc, want 2 and one line naming bad.conf:3: $(cat "$WORK/err")"
printf '[server]\nlisten = 127.0.0.1:1\nmax_conns = lots\n' >"$WORK/bad.conf"
rc=0; "$SERVER" --config "$WORK/bad.conf" 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q "bad.conf:3: max_conns must be a whole number" "$WORK/err" \
  || fail "bad value: exit $rc: $(cat "$WORK/err")"
rc=0; "$SERVER" --config "$WORK/none.conf" 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q "cannot read configuration $WORK/none.conf" "$WORK/err" || fail "missing --config: exit $rc: $(cat "$WORK/err")"

PORT=$(free_port)
"$SERVER" --listen "127.0.0.1:$PORT" --id it-server --idle-timeout 2 --header-timeout 2 2>"$WORK/server.err" &
SPID=$!
PIDS+=("$SPID")
URL="http://127.0.0.1:$PORT"
wait_for 10 curl -sf -o /dev/null "$URL/ispeed/v1/ping" || fail "ispeed-server did not start: $(cat "$WORK/server.err")"
grep -q "^INFO server: listening addr=127.0.0.1:$PORT id=it-server" "$WORK/server.err" || fail "no start line: $(cat "$WORK/server.err")"

rc=0; timeout 5 "$SERVER" --listen "127.0.0.1:$PORT" 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "cannot listen on 127.0.0.1:$PORT" "$WORK/err" || fail "port in use: exit $rc: $(cat "$WORK/err")"

# --- ispeed endpoints ---
expect_status 200 "$URL/ispeed/v1/ping"
[ "$(cat "$WORK/body")" = pong ] || fail "ping body '$(cat "$WORK/body")'"
for n in 0 1 12345 10485760; do expect_size "$n" "$URL/ispeed/v1/download?bytes=$n"; done
# Random, so no compression on the path can inflate a rate.
curl -s "$URL/ispeed/v1/download?bytes=10485760" -o "$WORK/dl"
packed=$(gzip -c "$WORK/dl" | wc -c)
[ "$packed" -gt 10400000 ] || fail "download payload compresses to $packed bytes of 10485760: not random"
expect_status 400 "$URL/ispeed/v1/download?bytes=abc"
expect_status 400 "$URL/ispeed/v1/download?bytes=1073741825"
expect_status 400 "$URL/ispeed/v1/download?bytes=-1"
expect_status 400 "$URL/ispeed/v1/download"
expect_status 405 "$URL/ispeed/v1/download?bytes=1" -X POST

head -c 50000000 /dev/urandom >"$WORK/up"
out=$(curl -sv --data-binary @"$WORK/up" "$URL/ispeed/v1/upload" 2>"$WORK/curl.err")
[ "$out" = '{"bytes":50000000}' ] || fail "upload of 50000000 bytes answered '$out'"
grep -q "HTTP/1.1 100 Continue" "$WORK/curl.err" || fail "no 100 Continue for Expect: 100-continue"
out=$(curl -s -X POST -H "Content-Length: 0" "$URL/ispeed/v1/upload")
[ "$out" = '{"bytes":0}' ] || fail "empty upload answered '$out'"
expect_status 411 "$URL/ispeed/v1/upload" -H "Transfer-Encoding: chunked" --data-binary @"$WORK/up"

info=$(curl -sf "$URL/ispeed/v1/info") || fail "info failed"
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["id"] == "it-server", d
assert d["client"] == "127.0.0.1", d
assert d["version"], d' "$info" || fail "info JSON wrong: $info"

# --- LibreSpeed backend, at the root and under a prefix ---
expect_size $((2 * 1048576)) "$URL/backend/garbage.php?r=0.5&ckSize=2"
expect_size $((4 * 1048576)) "$URL/garbage.php"
expect_size $((4 * 1048576)) "$URL/speedtest/backend/garbage.php?ckSize=0"
expect_status 200 "$URL/backend/empty.php"
expect_status 200 "$URL/backend/empty.php?r=1" --data-binary @"$WORK/up"
[ "$(curl -s "$URL/backend/getIP.php")" = 127.0.0.1 ] || fail "getIP.php is not the client address"
out=$(curl -s "$URL/getIP.php?isp=true")
python3 -c 'import json,sys; assert json.loads(sys.argv[1])["processedString"] == "127.0.0.1"' "$out" \
  || fail "getIP.php?isp=true answered '$out'"
curl -sI "$URL/backend/empty.php" | grep -qi "^Access-Control-Allow-Origin: \*" || fail "empty.php lacks CORS"

# --- refusals ---
expect_status 404 "$URL/nope"
expect_status 404 "$URL/ispeed/v1/nope"
expect_status 404 "$URL/empty.phpx"
big=$(head -c 20000 /dev/zero | tr '\0' a)
expect_status 431 "$URL/ispeed/v1/ping" -H "X-Big: $big"
raw "$PORT" 'b"NONSENSE\r\n\r\n"' | grep -q "^HTTP/1.1 400 " || fail "malformed request line not answered 400"
raw "$PORT" 'b"GET /ispeed/v1/ping HTTP/2.0\r\n\r\n"' | grep -q "^HTTP/1.1 505 " || fail "HTTP/2.0 not answered 505"
# A header that never ends is cut off by size, long before memory runs out.
out=$(raw "$PORT" 'b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 5000' 3)
grep -q "^HTTP/1.1 431 " <<<"$out" && grep -q "<EOF>" <<<"$out" || fail "endless header: got '${out:0:100}'"

# --- connections ---
out=$(curl -s -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects} ' \
  "$URL/ispeed/v1/ping" "$URL/ispeed/v1/download?bytes=1000" "$URL/ispeed/v1/ping")
[ "$out" = "1 0 0 " ] || fail "keep-alive: connections per request '$out', want '1 0 0 '"
out=$(raw "$PORT" 'b"GET /ispeed/v1/ping HTTP/1.1\r\nHost: x\r\n\r\nGET /ispeed/v1/download?bytes=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"')
[ "$(grep -c "^HTTP/1.1 200 " <<<"$out")" = 2 ] && grep -q "<EOF>" <<<"$out" || fail "pipelined requests: got '$out'"
out=$(raw "$PORT" 'b"GET /ispeed/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n"' 4)
grep -q "<EOF>" <<<"$out" || fail "idle connection not closed after --idle-timeout 2"
out=$(raw "$PORT" 'b"GET /ispeed/v1/ping HTTP/1.1\r\nHost: x\r\n"' 4)
grep -q "^HTTP/1.1 408 " <<<"$out" || fail "incomplete header not answered 408 after --header-timeout 2: '$out'"

# --- clean stop ---
kill -TERM "$SPID"
rc=0; wait "$SPID" || rc=$?
[ "$rc" = 0 ] || fail "ispeed-server exited $rc on SIGTERM: $(tail -n 20 "$WORK/server.err")"
grep -q "^INFO server: stopped addr=127.0.0.1:$PORT" "$WORK/server.err" || fail "no stop line: $(cat "$WORK/server.err")"
echo "ok server_endpoints"
