#!/usr/bin/env bash
# The producer side of trust (issue 11), with the shipped tools: a province
# authority issues a token, the agent enrolls with it, tests against an
# attesting ispeed-server and its sample carries the server's receipt, which
# verifies against servers.csv and covers the sample's own bytes and
# duration. Refusals: a token for another commune or pasted wrong (agent,
# exit 2), a token of another province, an expired token, a receipt checked
# against a list without the server, a second receipt for a spent ticket,
# a sample signed by another key. A LibreSpeed-style URL and a server
# without --key leave samples unattested. `ispeed-agent withdraw` puts a
# withdrawal signed by the agent's key on ispeed.agents.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
COMMUNE=00004   # province 01
CTL="$BUILD/ctl/ispeedctl"
AGENT="$BUILD/agent/ispeed-agent"
CHECK="$BUILD/tests/ispeed-trust-check"

# Authorities: Hà Nội (01) and Hồ Chí Minh City (79).
"$CTL" authority init --province 01 --out "$WORK/auth01" >"$WORK/authorities.csv" || fail "authority init 01 failed"
"$CTL" authority init --province 79 --out "$WORK/auth79" >>"$WORK/authorities.csv" || fail "authority init 79 failed"
[ "$(stat -c %a "$WORK/auth01/authority.key")" = 600 ] || fail "authority key not mode 0600"
grep -q "^01,[0-9a-f]\{64\},authority-01$" "$WORK/authorities.csv" || fail "authorities.csv line wrong: $(cat "$WORK/authorities.csv")"
set +e
"$CTL" authority init --province 01 --out "$WORK/auth01" >/dev/null 2>"$WORK/reinit.err"; rc=$?
set -e
[ $rc = 1 ] || fail "authority init over an existing key: exit $rc, want 1"

TOKEN=$("$CTL" token issue --key "$WORK/auth01/authority.key" --commune "$COMMUNE" --uses 2 --expires 30d --units "$UNITS") \
  || fail "token issue failed"
"$CHECK" token --authorities "$WORK/authorities.csv" --commune "$COMMUNE" --province 01 "$TOKEN" >"$WORK/tok.txt" \
  || fail "a fresh token does not check"
grep -q '^uses=2$' "$WORK/tok.txt" || fail "token uses wrong: $(cat "$WORK/tok.txt")"
# Another province's commune, another province's authority, an expired token.
set +e
"$CTL" token issue --key "$WORK/auth01/authority.key" --commune 26734 --units "$UNITS" >/dev/null 2>"$WORK/x.err"; rc=$?
set -e
[ $rc = 2 ] || fail "token for a commune of another province: exit $rc, want 2"
T79=$("$CTL" token issue --key "$WORK/auth79/authority.key" --commune 26734 --units "$UNITS") || fail "token 79 failed"
set +e
"$CHECK" token --authorities "$WORK/authorities.csv" --commune 26734 --province 01 "$T79" 2>"$WORK/x.err"; rc=$?
set -e
[ $rc = 1 ] && grep -q token_wrong_province "$WORK/x.err" || fail "a 79 token passed for province 01 (rc=$rc): $(cat "$WORK/x.err")"
TEXP=$("$CTL" token issue --key "$WORK/auth01/authority.key" --commune "$COMMUNE" --expires 1s --units "$UNITS")
sleep 1.2
set +e
"$CHECK" token --authorities "$WORK/authorities.csv" --commune "$COMMUNE" --province 01 "$TEXP" 2>"$WORK/x.err"; rc=$?
set -e
[ $rc = 1 ] && grep -q token_expired "$WORK/x.err" || fail "an expired token passed (rc=$rc): $(cat "$WORK/x.err")"

start_kafka
port=$(free_port)
"$BUILD/server/ispeed-server" --listen "127.0.0.1:$port" --id it-attest --key "$WORK/server.key" \
  >"$WORK/servers.csv" 2>"$WORK/server.err" &
PIDS+=($!)
SERVER_URL="http://127.0.0.1:$port"
wait_for 10 curl -sf -o /dev/null "$SERVER_URL/ispeed/v1/ping" || fail "attesting server did not start: $(cat "$WORK/server.err")"
[ "$(stat -c %a "$WORK/server.key")" = 600 ] || fail "server key not mode 0600"
grep -q "^[0-9a-f]\{32\},[0-9a-f]\{64\},it-attest$" "$WORK/servers.csv" || fail "server printed no servers.csv line: $(cat "$WORK/servers.csv")"

# The agent refuses a token for another commune, and garbage.
set +e
"$AGENT" enroll --commune 00001 --token "$TOKEN" --units "$UNITS" --state-dir "$WORK/a0" -b "$BOOTSTRAP" 2>"$WORK/x.err"; rc=$?
set -e
[ $rc = 2 ] || fail "enroll with a token for another commune: exit $rc, want 2: $(cat "$WORK/x.err")"
set +e
"$AGENT" enroll --commune "$COMMUNE" --token "ispt1.garbage" --units "$UNITS" --state-dir "$WORK/a0" -b "$BOOTSTRAP" 2>"$WORK/x.err"; rc=$?
set -e
[ $rc = 2 ] || fail "enroll with a garbage token: exit $rc, want 2"

"$AGENT" enroll --commune "$COMMUNE" --token "$TOKEN" --units "$UNITS" --state-dir "$WORK/agent" -b "$BOOTSTRAP" \
  >"$WORK/enroll.out" 2>"$WORK/enroll.err" || fail "enroll failed: $(cat "$WORK/enroll.err")"
kcat -b "$BOOTSTRAP" -C -t ispeed.agents -e -q -f '%s' >"$WORK/enrollment.bin"
protoc --proto_path="$(dirname "$0")/../../proto" --decode ispeed.v1.AgentEnrollment ispeed.proto \
  <"$WORK/enrollment.bin" >"$WORK/enrollment.txt" || fail "enrollment does not decode"
grep -q "token: \"$TOKEN\"" "$WORK/enrollment.txt" || fail "enrollment does not carry the token: $(cat "$WORK/enrollment.txt")"

"$AGENT" test --server "$SERVER_URL" --duration 1 --streams 2 --json --commune "$COMMUNE" --units "$UNITS" \
  --access fixed --state-dir "$WORK/agent" -b "$BOOTSTRAP" --produce >"$WORK/agent.json" 2>"$WORK/agent.err" \
  || fail "agent test failed: $(cat "$WORK/agent.err")"
grep -q '"outcome": *"ok"' "$WORK/agent.json" || fail "test outcome not ok: $(cat "$WORK/agent.json")"
kcat -b "$BOOTSTRAP" -C -t ispeed.samples -o beginning -c 1 -e -q -f '%s' >"$WORK/sample.bin"
"$CHECK" receipt --servers "$WORK/servers.csv" <"$WORK/sample.bin" >"$WORK/receipt.txt" 2>"$WORK/receipt.err" \
  || fail "the sample's receipt does not verify: $(cat "$WORK/receipt.err"); agent: $(cat "$WORK/agent.err")"
field() { awk -F= -v k="$1" '$1 == k { print $2 }' "$WORK/receipt.txt"; }
# What the server saw must carry what the agent reports: it sent at least the
# bytes the agent read (the socket buffers hold the difference). Upload bytes
# the agent counts once the server's kernel acknowledged them; the agent ends
# an upload with a reset, which discards what the server had not read yet: at
# most one receive buffer (tcp_rmem's maximum) per stream.
rmem=$(awk '{ print $3 }' /proc/sys/net/ipv4/tcp_rmem)
[ "$(field client_prefix)" = "127.0.0.0/24" ] || fail "client prefix $(field client_prefix)"
[ "$(field bytes_sent)" -ge "$(field sample_bytes_down)" ] || fail "server sent $(field bytes_sent) < agent read $(field sample_bytes_down)"
[ $(( $(field bytes_received) + 2 * rmem )) -ge "$(field sample_bytes_up)" ] \
  || fail "server received $(field bytes_received), agent acked $(field sample_bytes_up): more than 2 receive buffers apart"
[ "$(field sample_bytes_down)" -gt 0 ] && [ "$(field sample_bytes_up)" -gt 0 ] || fail "no bytes in the sample"
span=$(( $(field end_ms) - $(field start_ms) ))
[ "$span" -gt 0 ] && [ "$span" -le $(( $(field sample_duration_ms) + 2000 )) ] || fail "attested span $span ms against a $(field sample_duration_ms) ms test"
note "receipt verifies: $(tr '\n' ' ' <"$WORK/receipt.txt")"

# A list without this server (only another one) refuses the receipt.
port2=$(free_port)
"$BUILD/server/ispeed-server" --listen "127.0.0.1:$port2" --id it-plain --key "$WORK/server2.key" \
  >"$WORK/servers2.csv" 2>"$WORK/server2.err" &
PIDS+=($!)
wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$port2/ispeed/v1/ping" || fail "second server did not start"
set +e
"$CHECK" receipt --servers "$WORK/servers2.csv" <"$WORK/sample.bin" 2>"$WORK/x.err"; rc=$?
set -e
[ $rc = 1 ] && grep -q receipt_unknown_server "$WORK/x.err" || fail "receipt accepted from an unlisted server (rc=$rc): $(cat "$WORK/x.err")"

# The ticket is spent: a second receipt for it is refused.
python3 - "$WORK/sample.bin" >"$WORK/bare.bin" <<'PY'
import sys
# SignedSample without field 30 (the receipt): fields 1..3 as they are.
b = open(sys.argv[1], 'rb').read()
out, i = b'', 0
def varint(i):
    n = s = 0
    while True:
        c = b[i]; i += 1; n |= (c & 0x7f) << s; s += 7
        if c < 0x80: return n, i
while i < len(b):
    start = i
    key, i = varint(i)
    ln, i = varint(i)
    i += ln
    if key >> 3 != 30: out += b[start:i]
sys.stdout.buffer.write(out)
PY
ticket=$(curl -sf "$SERVER_URL/ispeed/v1/ticket?agent=$(printf '%064d' 0)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ticket"])')
code=$(curl -s -o "$WORK/r.out" -w '%{http_code}' -X POST --data-binary @"$WORK/bare.bin" "$SERVER_URL/ispeed/v1/receipt?ticket=$ticket")
[ "$code" = 409 ] || fail "receipt for a ticket that saw no test: HTTP $code, want 409"
curl -sf -o /dev/null "$SERVER_URL/ispeed/v1/download?bytes=100000&ticket=$ticket"
code=$(curl -s -o "$WORK/r.out" -w '%{http_code}' -X POST --data-binary @"$WORK/bare.bin" "$SERVER_URL/ispeed/v1/receipt?ticket=$ticket")
[ "$code" = 409 ] && grep -q "not signed by the ticket's agent" "$WORK/r.out" \
  || fail "receipt for another agent's sample: HTTP $code $(cat "$WORK/r.out"), want 409"

# A server without --key gives no ticket: the sample goes unattested.
start_server
"$AGENT" test --server "$SERVER_URL" --duration 1 --streams 1 --json --commune "$COMMUNE" --units "$UNITS" \
  --access fixed --state-dir "$WORK/agent" -b "$BOOTSTRAP" --produce >"$WORK/agent2.json" 2>"$WORK/agent2.err" \
  || fail "agent test against a plain server failed: $(cat "$WORK/agent2.err")"
grep -q "test unattested" "$WORK/agent2.err" || fail "agent did not say the test went unattested: $(cat "$WORK/agent2.err")"
n=$(kcat -b "$BOOTSTRAP" -C -t ispeed.samples -o beginning -e -q -f '.\n' | wc -l)
[ "$n" = 2 ] || fail "expected 2 samples on ispeed.samples, got $n"
kcat -b "$BOOTSTRAP" -C -t ispeed.samples -o 1 -c 1 -e -q -f '%s' >"$WORK/sample2.bin"
set +e
"$CHECK" receipt --servers "$WORK/servers.csv" <"$WORK/sample2.bin" 2>"$WORK/x.err"; rc=$?
set -e
[ $rc = 1 ] && grep -q receipt_missing "$WORK/x.err" || fail "unattested sample has a receipt? rc=$rc $(cat "$WORK/x.err")"
# Withdrawal: a record on ispeed.agents signed by the agent's own key.
"$AGENT" withdraw --commune "$COMMUNE" --units "$UNITS" --state-dir "$WORK/agent" -b "$BOOTSTRAP" \
  >"$WORK/withdraw.out" 2>"$WORK/withdraw.err" || fail "withdraw failed: $(cat "$WORK/withdraw.err")"
kcat -b "$BOOTSTRAP" -C -t ispeed.agents -o -1 -c 1 -e -q -f '%s' >"$WORK/withdrawal.bin"
protoc --proto_path="$(dirname "$0")/../../proto" --decode ispeed.v1.AgentEnrollment ispeed.proto \
  <"$WORK/withdrawal.bin" >"$WORK/withdrawal.txt" || fail "withdrawal does not decode"
grep -q "^withdrawal {" "$WORK/withdrawal.txt" && grep -q "signature: " "$WORK/withdrawal.txt" \
  || fail "last record on ispeed.agents is not a signed withdrawal: $(cat "$WORK/withdrawal.txt")"
echo PASS
