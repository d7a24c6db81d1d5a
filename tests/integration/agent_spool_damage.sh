#!/usr/bin/env bash
# Power loss and bit rot in the spool: a record cut in half at the tail and
# bytes flipped inside another. The agent starts, logs the damage, and
# delivers every intact record; only the two damaged samples are lost.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
COMMUNE=00004
AGENT="$BUILD/agent/ispeed-agent"
STATE="$WORK/agent"

start_kafka --down
# The collector's secure defaults: the agent enrolls with a token of
# trust_setup's authority and the server signs receipts with its key.
trust_setup
TOKEN=$(trust_token "$COMMUNE") || fail "token issue failed"
start_server "${SERVER_TRUST[@]}"
ARGS=(--server "$SERVER_URL" --duration 1 --streams 1 --commune "$COMMUNE" --token "$TOKEN" --units "$UNITS" --access fixed
      --state-dir "$STATE" -b "$BOOTSTRAP")
"$AGENT" run "${ARGS[@]}" --interval 1s --jitter 0 2>"$WORK/agent.log" &
agent_pid=$!
# The seq file is written before the sample is signed and spooled; the log
# line comes after the spool append, so count those.
stored_at_least() { [ "$(grep -c 'test done seq=' "$WORK/agent.log")" -ge "$1" ]; }
wait_for 120 stored_at_least 5 || fail "agent did not store 5 tests"
kill -KILL "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
last=$(grep -o 'test done seq=[0-9]*' "$WORK/agent.log" | tail -n1 | cut -d= -f2)

# Record layout (agent/spool.c): 20-byte header {magic "ISPL", payload
# length, CRC, id} then the payload. Flip bytes inside the 3rd record (the
# 2nd sample) and cut the last record in half.
python3 - "$STATE/spool" >"$WORK/damaged" <<'PY'
import os, struct, sys
d = sys.argv[1]
segs = [f for f in sorted(os.listdir(d)) if f.endswith(".seg") and os.path.getsize(os.path.join(d, f)) > 0]
assert len(segs) == 1, segs
path = os.path.join(d, segs[0])
data = bytearray(open(path, "rb").read())
recs, off = [], 0
while off + 20 <= len(data):
    magic, plen = struct.unpack_from("<II", data, off)
    assert magic == 0x4C505349, hex(magic)
    recs.append((off, 20 + plen)); off += 20 + plen
assert len(recs) >= 6, len(recs)   # enrollment + >= 5 samples
o, n = recs[2]
for i in range(o + n // 2, o + n // 2 + 4): data[i] ^= 0xFF
o, n = recs[-1]
data = data[: o + n // 2]
open(path, "wb").write(data)
print(len(recs))
PY
records=$(cat "$WORK/damaged")
note "spool damaged: $records records, sample 2 flipped, sample $last torn"

kill -USR2 "${PIDS[0]}"   # brokers up
# No daily caps (per agent, per client prefix): this agent tests many times a
# day from 127.0.0.1 here; the caps are proven in the collector's tests.
start_collector collector.log --units "$UNITS" --daily-cap 0 --prefix-daily-cap 0 "${COLLECTOR_TRUST[@]}"
# The next invocation delivers everything spooled first, then its own test.
"$AGENT" test "${ARGS[@]}" --produce >/dev/null 2>"$WORK/test.log" || fail "agent test failed: $(cat "$WORK/test.log")"
grep -q '^WARN spool: damaged record skipped' "$WORK/test.log" || fail "damage not logged: $(cat "$WORK/test.log")"
[ "$(grep -c '^WARN spool: damaged record skipped' "$WORK/test.log")" = 2 ] || fail "want 2 damage lines: $(grep spool "$WORK/test.log")"

agent_id=$(agent_status_field "$STATE" agent_id)
now=$(cat "$STATE/seq")
"$BUILD/ctl/ispeedctl" samples -b "$BOOTSTRAP" --agent "$agent_id" --format json \
  | python3 -c 'import json,sys; print(" ".join(str(s) for s in sorted({json.loads(l)["seq"] for l in sys.stdin if l.strip()})))' >"$WORK/seqs"
stored=$(grep -o 'test done seq=[0-9]*' "$WORK/agent.log" | cut -d= -f2 | tr '\n' ' ')
want=$(python3 -c "print(' '.join(str(s) for s in sorted(set(map(int, '$stored'.split())) - {2, $last} | {$now})))")
[ "$(cat "$WORK/seqs")" = "$want" ] || fail "on Kafka: seq $(cat "$WORK/seqs"); want $want"
n=$(wc -w <<<"$want")
count_is() { [ "$(quota_count 01 "$COMMUNE")" = "$1" ]; }
wait_for 60 count_is "$n" || fail "collector counts $(quota_count 01 "$COMMUNE"), want $n"
note "delivered and counted: seq $want"
echo PASS
