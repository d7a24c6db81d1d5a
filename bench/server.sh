#!/usr/bin/env bash
# Server throughput: 200 concurrent downloads on loopback from ispeed-server
# against nginx serving a static file of the same size, with the same load
# client (wrk, keep-alive, 200 connections).
#
#   bench/server.sh [BUILD_DIR]               (default build/release)
#   SIZES="1048576 16777216" CONNS=200 SECONDS_PER_RUN=5 ROUNDS=5 bench/server.sh build/release
#
# nginx runs as a private instance (config, files, logs and pid in a temp
# dir, a free port), never the system's. Its settings are the usual ones for
# static files: one worker per CPU, sendfile, tcp_nopush, no access log.
# Each size is loaded ROUNDS times, the two servers alternating, and the
# median of each is compared: a shared machine's noise hits both alike.
# The servers' own CPU seconds per GB served (from /proc, nginx's workers
# included) are printed too: on a machine where wrk and the servers contend
# for the same cores, that figure is the steadier one.
# Target: ispeed-server throughput >= nginx's.
set -euo pipefail

BUILD=$(cd "${1:-build/release}" 2>/dev/null && pwd) || { echo "bench/server.sh: no build directory '${1:-build/release}'; give it as the first argument" >&2; exit 1; }
SERVER="$BUILD/server/ispeed-server"
[ -x "$SERVER" ] || { echo "bench/server.sh: $BUILD has no ispeed-server: build it first" >&2; exit 1; }
NGINX=${NGINX:-/usr/sbin/nginx}
[ -x "$NGINX" ] || { echo "bench/server.sh: $NGINX is missing (apt-get install nginx-light)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench/server.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }
SIZES=${SIZES:-"1048576 16777216"}
CONNS=${CONNS:-200}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-5}

WORK=$(mktemp -d /tmp/ispeed-bench.XXXXXX)
chmod 755 "$WORK" # nginx's workers drop root and must read the files
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
wait_url() {
  for _ in $(seq 50); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "bench/server.sh: $1 does not answer: $(cat "$WORK"/*.err 2>/dev/null | tail -n 3)" >&2
  exit 1
}

mkdir -p "$WORK/www" "$WORK/tmp"
for size in $SIZES; do head -c "$size" /dev/urandom >"$WORK/www/f$size"; done
chmod -R a+rX "$WORK/www"

NPORT=$(free_port)
cat >"$WORK/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  types { application/octet-stream bin; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$NPORT;
    root $WORK/www;
  }
}
EOF
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" 2>"$WORK/nginx.err" &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
SPORT=$(free_port)
"$SERVER" --listen "127.0.0.1:$SPORT" --id bench --log-level warn 2>"$WORK/server.err" &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
first=${SIZES%% *}
wait_url "http://127.0.0.1:$NPORT/f$first"
wait_url "http://127.0.0.1:$SPORT/ispeed/v1/download?bytes=$first"

# cpu_ticks PID: user + system clock ticks of PID and its children (nginx's workers).
cpu_ticks() {
  python3 - "$1" <<'EOF'
import glob, sys
pid = sys.argv[1]
pids = {pid}
for f in glob.glob("/proc/%s/task/*/children" % pid):
    pids.update(open(f).read().split())
total = 0
for p in pids:
    try:
        f = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()
        total += int(f[11]) + int(f[12])
    except OSError:
        pass
print(total)
EOF
}

# load NAME URL PID: bytes per second wrk moved (bodies and headers), its
# request and error counts, the server's CPU ticks meanwhile, and the bytes.
load() {
  local before; before=$(cpu_ticks "$3")
  wrk -t "$THREADS" -c "$CONNS" -d "${SECONDS_PER_RUN}s" --timeout 30s "$2" >"$WORK/$1.wrk" 2>&1 || {
    echo "bench/server.sh: wrk failed: $(tail -n 3 "$WORK/$1.wrk")" >&2
    exit 1
  }
  python3 - "$WORK/$1.wrk" "$(( $(cpu_ticks "$3") - before ))" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w+) read", t)
n, dur, du, vol, vu = int(m.group(1)), float(m.group(2)), m.group(3), float(m.group(4)), m.group(5)
dur *= {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[du]
vol *= {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}[vu]
err = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
errors = (int(err.group(1)) if err else 0) + (sum(map(int, sock.groups())) if sock else 0)
print(vol / dur, n, errors, int(sys.argv[2]), int(vol))
EOF
}

median() { python3 -c 'import statistics, sys; print(statistics.median(map(float, sys.argv[1:])))' "$@"; }

HZ=$(getconf CLK_TCK)
printf '%-10s %5s %12s %12s %7s %15s %15s %7s %6s %6s\n' size conns ispeed_MB/s nginx_MB/s ratio ispeed_cpu_s/GB nginx_cpu_s/GB ratio isp_err ngx_err
for size in $SIZES; do
  s_all=() n_all=() s_errs=0 n_errs=0 s_ticks=0 n_ticks=0 s_vol=0 n_vol=0
  for r in $(seq "$ROUNDS"); do
    read -r s_bps s_n s_err s_t s_v < <(load "ispeed-$size-$r" "http://127.0.0.1:$SPORT/ispeed/v1/download?bytes=$size" "$SERVER_PID")
    read -r n_bps n_n n_err n_t n_v < <(load "nginx-$size-$r" "http://127.0.0.1:$NPORT/f$size" "$NGINX_PID")
    s_all+=("$s_bps") n_all+=("$n_bps")
    s_errs=$((s_errs + s_err)) n_errs=$((n_errs + n_err))
    s_ticks=$((s_ticks + s_t)) n_ticks=$((n_ticks + n_t))
    s_vol=$((s_vol + s_v)) n_vol=$((n_vol + n_v))
  done
  s_bps=$(median "${s_all[@]}") n_bps=$(median "${n_all[@]}")
  python3 -c "
s, n, hz = $s_bps, $n_bps, $HZ
sc = $s_ticks / hz / ($s_vol / 1e9)
nc = $n_ticks / hz / ($n_vol / 1e9)
print('%-10d %5d %12.1f %12.1f %7.3f %15.3f %15.3f %7.3f %6d %6d' % ($size, $CONNS, s / 1e6, n / 1e6, s / n, sc, nc, sc / nc, $s_errs, $n_errs))"
done
