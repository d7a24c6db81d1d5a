#!/usr/bin/env bash
# One real measurement, agent to quota table: the count of the commune, its
# district and its province is exactly 1 after one test and 2 after another,
# all programs separate processes on an embedded Kafka. Also: a sample read
# back with kcat decodes with Google's protoc.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
UNITS="$DATA/vn-units-2025-03.csv"
COMMUNE=00004   # Phường Trúc Bạch, district 001 (Ba Đình), province 01 (Hà Nội)
MONTH=$(it_month)

start_kafka
# The collector's secure defaults: the agent enrolls with a token of
# trust_setup's authority and the server signs receipts with its key.
trust_setup
TOKEN=$(trust_token "$COMMUNE") || fail "token issue failed"
start_server "${SERVER_TRUST[@]}"
start_collector collector.err --units "$UNITS" "${COLLECTOR_TRUST[@]}"

agent_test() {
  "$BUILD/agent/ispeed-agent" test --server "$SERVER_URL" --duration 1 --streams 2 --json \
    --commune "$COMMUNE" --token "$TOKEN" --units "$UNITS" --access fixed --state-dir "$WORK/agent" \
    -b "$BOOTSTRAP" --produce >"$WORK/agent.json" 2>"$WORK/agent.err" \
    || fail "agent test failed: $(cat "$WORK/agent.err")"
  grep -q '"outcome": *"ok"' "$WORK/agent.json" || fail "test outcome not ok: $(cat "$WORK/agent.json")"
}

# count CODE: the unit's fixed-network count on the province's quota topic.
count() {
  "$BUILD/ctl/ispeedctl" quota -b "$BOOTSTRAP" --province 01 --month "$MONTH" --format csv 2>/dev/null \
    | awk -F, -v c="$1" '$1 "" == c "" && $4 == "fixed" { print $5 }'
}
counts_are() {
  [ "$(count "$COMMUNE")" = "$1" ] && [ "$(count 001)" = "$1" ] && [ "$(count 01)" = "$1" ]
}

agent_test
wait_for 30 counts_are 1 || fail "after one test: commune=$(count $COMMUNE) district=$(count 001) province=$(count 01), want 1; collector: $(tail -5 "$WORK/collector.err")"
note "counts 1/1/1 after the first test"

# The first run enrolled the agent on ispeed.agents.
[ "$(kcat -b "$BOOTSTRAP" -C -t ispeed.agents -e -q -f '%k\n' 2>/dev/null | wc -l)" = 1 ] || fail "expected one enrollment on ispeed.agents"

agent_test
wait_for 30 counts_are 2 || fail "after two tests: commune=$(count $COMMUNE) district=$(count 001) province=$(count 01), want 2"
note "counts 2/2/2 after the second test"
# A neighbouring commune of the same district got nothing.
[ -z "$(count 00001)" ] || [ "$(count 00001)" = 0 ] || fail "commune 00001 counted $(count 00001), want 0"

# The agent's record, as any Kafka user sees it, decodes with protoc.
kcat -b "$BOOTSTRAP" -C -t ispeed.samples -p "$(kcat -b "$BOOTSTRAP" -C -t ispeed.samples -e -q -f '%p\n' | head -n1)" \
  -o beginning -c 1 -e -q -f '%s' >"$WORK/sample.bin"
protoc --proto_path="$SRC/proto" --decode ispeed.v1.SignedSample "$SRC/proto/ispeed.proto" <"$WORK/sample.bin" >"$WORK/signed.txt" \
  || fail "protoc cannot decode a SignedSample"
grep -q 'agent_id: "[0-9a-f]\{32\}"' "$WORK/signed.txt" || fail "decoded SignedSample has no agent_id: $(cat "$WORK/signed.txt")"
python3 - "$WORK/sample.bin" >"$WORK/inner.bin" <<'PY'
import sys
# Field 1 of SignedSample (length-delimited) holds the signed Sample bytes.
b = open(sys.argv[1], 'rb').read()
assert b[0] == 0x0a, b[:4]
i, n, shift = 1, 0, 0
while True:
    c = b[i]; i += 1; n |= (c & 0x7f) << shift; shift += 7
    if c < 0x80: break
sys.stdout.buffer.write(b[i:i+n])
PY
protoc --proto_path="$SRC/proto" --decode ispeed.v1.Sample "$SRC/proto/ispeed.proto" <"$WORK/inner.bin" >"$WORK/sample.txt"
grep -q "commune: \"$COMMUNE\"" "$WORK/sample.txt" || fail "decoded Sample lacks the commune: $(cat "$WORK/sample.txt")"
grep -q 'outcome: OUTCOME_OK' "$WORK/sample.txt" || fail "decoded Sample is not OK"
note "kcat | protoc --decode works"
echo PASS
