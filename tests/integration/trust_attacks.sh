#!/usr/bin/env bash
# Issue 11's attacks on the counts, against one collector with its secure
# defaults (--enrollment token, --attestation required), each in a province
# of its own next to honest samples: a sample for another commune than the
# enrollment's; many identities without tokens (Sybil); a backdated sample
# (its receipt says when the test really ran); a receipt held back and
# sent stamped with its old time (late); an unsigned tombstone; a
# withdrawal signed by another key; a 900 KB enrollment; a sample without a
# receipt; a receipt whose bytes cannot carry the rates; a zero-rate "ok"
# sample; a receipt reused in a second sample; an expired token; a token
# used more often than allowed; a burst of samples of unknown agents. Each
# attack counts 0 and lands in the DLQ with its reason; the honest samples
# of the same run count exactly; so does an enrollment whose signature
# fails, in the DLQ once its first sample is checked. Records come from ispeed-craft-sample,
# since the shipped agent rightly refuses to make them.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
CRAFT="$BUILD/tools/loadgen/ispeed-craft-sample"
CTL="$BUILD/ctl/ispeedctl"
MONTH=$(it_month)
UNKNOWN=${ISPEED_TRUST_UNKNOWN:-200}   # samples of unknown agents in the burst
[ -x "$CRAFT" ] || fail "no $CRAFT: configure with testing on and build ispeed-craft-sample"

# communes PROVINCE: its first two communes in the registry.
communes() { python3 - "$UNITS" "$1" <<'PY'
import csv, sys
units = {r['code']: r for r in csv.DictReader(open(sys.argv[1], encoding='utf-8'))}
def prov(c):
    while units[c]['parent']: c = units[c]['parent']
    return c
print(' '.join([c for c, r in units.items() if r['level'] == 'commune' and prov(c) == sys.argv[2]][:2]))
PY
}

start_kafka --units "$UNITS"
trust_setup
HTTP=127.0.0.1:$(free_port)
start_collector collector.err --units "$UNITS" --http "$HTTP" "${COLLECTOR_TRUST[@]}"
wait_for 30 curl -sf -o /dev/null "http://$HTTP/metrics" || fail "collector did not start: $(tail -3 "$WORK/collector.err")"

craft() { # craft PROVINCE KIND SEED [ARGS...]: agent SEED of the province's first commune
  local prov=$1 kind=$2 seed=$3 commune; shift 3
  read -r commune _ < <(communes "$prov")
  "$CRAFT" -b "$BOOTSTRAP" --units "$UNITS" --commune "$commune" --kind "$kind" --seed "$seed" \
    "${LOADGEN_TRUST[@]}" "$@" >>"$WORK/craft.out" 2>"$WORK/craft.err" || fail "craft $prov $kind: $(cat "$WORK/craft.err")"
}
EXPECT=()   # "key reason" of every sample expected in the DLQ
HONEST=()   # "province count": what each province must count, exactly

# A sample for another commune of the province than the enrollment's.
craft 20 other-commune 2001 --count 3; for _ in 1 2 3; do EXPECT+=("20 commune_mismatch"); done
craft 20 valid 2002 --count 2;         HONEST+=("20 2")
# Sybil: three identities enrolled without a token.
for s in 2201 2202 2203; do craft 22 no-token "$s"; EXPECT+=("22 unknown_agent"); done
craft 22 valid 2204;                   HONEST+=("22 1")
# Backdating: start and Kafka timestamp 40 days back, the receipt today's.
craft 24 backdate 2401;                EXPECT+=("24 bad_receipt")
craft 24 valid 2402;                   HONEST+=("24 1")
# An unsigned tombstone and a withdrawal signed by another key: the agent
# stays, and its 2 samples after them count.
craft 25 tombstone 2501 --count 2;     HONEST+=("25 2")
craft 26 bad-withdrawal 2601 --count 2; HONEST+=("26 2")
# A 900 KB enrollment under another id, then its neighbour's sample.
craft 27 oversized-enrollment 2701;    HONEST+=("27 1")
# Fabricated samples: no receipt, a receipt of a tenth of the bytes, a
# zero-rate "ok" test, and a receipt reused by a second sample.
craft 30 no-receipt 3001;              EXPECT+=("30 unattested")
craft 30 valid 3002;                   HONEST+=("30 1")
craft 31 receipt-rate 3101;            EXPECT+=("31 receipt_rate")
craft 31 valid 3102;                   HONEST+=("31 1")
craft 33 zero-rate 3301;               EXPECT+=("33 zero_rate")
craft 33 valid 3302;                   HONEST+=("33 1")
craft 34 receipt-reuse 3401 --count 2; EXPECT+=("34 bad_receipt")   # the first of the two counts
craft 34 valid 3402;                   HONEST+=("34 2")
# Tokens: one expired before the test; one of 2 uses shared by 3 agents.
craft 35 valid 3501 --token-expired;   EXPECT+=("35 token_expired")
craft 35 valid 3502;                   HONEST+=("35 1")
TID=0123456789abcdef0123456789abcdef
for s in 3601 3602 3603; do craft 36 valid "$s" --token-id "$TID" --token-uses 2; done
EXPECT+=("36 token_used_up");          HONEST+=("36 2")
# Held back: a true receipt of a test 40 days back, sent now stamped with
# its old time, after an honest sample of the same province: late, by the
# province's stream time (checked below, with the counts).
craft 38 valid 3801;                   HONEST+=("38 1")
craft 38 held-back 3802
OLD_MONTH=$(it_month $(( $(it_now_ms) - 40 * 86400000 )))
# An enrollment whose signature fails: stored as read, refused when its
# first sample is checked, and then in the DLQ (once) with its source.
craft 40 bad-enrollment-signature 4001 --count 2
EXPECT+=("40 unknown_agent" "40 unknown_agent")
craft 40 valid 4002;                   HONEST+=("40 1")
# A burst of samples of agents never enrolled, then an honest one: the
# collector must get through them (one catch-up of the agents table per
# batch, at most five a second).
t0=$(date +%s%N)
craft 37 unknown-agent 3701 --count "$UNKNOWN"
for _ in $(seq "$UNKNOWN"); do EXPECT+=("37 unknown_agent"); done
craft 37 valid 3702;                   HONEST+=("37 1")

# dlq: "key reason" of every sample in the DLQ (keyed by province), sorted.
dlq() {
  kcat -b "$BOOTSTRAP" -C -t ispeed.dlq -o beginning -e -q -f '%k %h\n' 2>/dev/null \
    | sed -n 's/^\([0-9][0-9]\) .*ispeed-reject-reason=\([a-z_]*\).*/\1 \2/p' | sort
}
# dlq_agents: the reasons of the agents-topic records in the DLQ, sorted.
dlq_agents() {
  kcat -b "$BOOTSTRAP" -C -t ispeed.dlq -o beginning -e -q -f '%h\n' 2>/dev/null \
    | grep 'ispeed-source=ispeed\.agents/' | sed -n 's/.*ispeed-reject-reason=\([a-z_]*\).*/\1/p' | sort
}
want=$(printf '%s\n' "${EXPECT[@]}" | sort)
dlq_complete() { [ "$(dlq)" = "$want" ]; }
wait_for 60 dlq_complete || fail "DLQ holds [$(dlq | uniq -c | tr '\n' ',')], want [$(uniq -c <<<"$want" | tr '\n' ',')]"
note "unknown-agent burst of $UNKNOWN and the rest handled within $(( ($(date +%s%N) - t0) / 1000000 )) ms"
want_agents=$(printf '%s\n' bad_signature bad_withdrawal oversized token_missing token_missing token_missing unsigned_tombstone)
agents_complete() { [ "$(dlq_agents)" = "$want_agents" ]; }
wait_for 20 agents_complete || fail "agents records in the DLQ: [$(dlq_agents | tr '\n' ',')], want [$(tr '\n' ',' <<<"$want_agents")]"
# The 900 KB record is in the DLQ without its value.
big=$(kcat -b "$BOOTSTRAP" -C -t ispeed.dlq -o beginning -e -q -f '%S %h\n' 2>/dev/null | awk '/reason=oversized/ { print $1 }')
[ "$big" -le 0 ] 2>/dev/null || [ "$big" = "-1" ] || fail "the oversized enrollment went to the DLQ with $big bytes"

# Counts: exactly the honest samples, province by province, and 0 at the
# commune the other-commune attack named.
count() { # count PROVINCE CODE: fixed-network count of the month, 0 if none
  local v; v=$("$CTL" quota -b "$BOOTSTRAP" --province "$1" --month "$MONTH" --format csv 2>/dev/null \
    | awk -F, -v c="$2" '$1 "" == c "" && $4 == "fixed" { print $5 }')
  echo "${v:-0}"
}
all_counted() {
  local h p n
  for h in "${HONEST[@]}"; do
    read -r p n <<<"$h"
    [ "$(count "$p" "$p")" = "$n" ] || return 1
  done
}
wait_for 30 all_counted || fail "counts: $(for h in "${HONEST[@]}"; do read -r p n <<<"$h"; printf '%s=%s(want %s) ' "$p" "$(count "$p" "$p")" "$n"; done)"
read -r c38 _ < <(communes 38)
old=$("$CTL" quota -b "$BOOTSTRAP" --province 38 --month "$OLD_MONTH" --format csv 2>/dev/null | python3 -c '
import csv, sys
for r in csv.DictReader(sys.stdin):
    if r["code"] == sys.argv[1] and r["network"] == "fixed": print(r["count"] + "/" + r["late_count"])' "$c38")
[ "$old" = "0/1" ] || fail "held-back sample at $c38 in $OLD_MONTH: count/late '$old', want 0/1"
read -r a b < <(communes 20)
[ "$(count 20 "$a")" = 2 ] && [ "$(count 20 "$b")" = 0 ] || fail "province 20: commune $a counts $(count 20 "$a") (want 2), $b counts $(count 20 "$b") (want 0)"
# Nothing else counted anywhere: the collector's own total.
total=0; for h in "${HONEST[@]}"; do read -r _ n <<<"$h"; total=$((total + n)); done
metric() { curl -sf "http://$HTTP/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
[ "$(metric ispeed_collector_samples_counted_total)" = "$total" ] \
  || fail "collector counted $(metric ispeed_collector_samples_counted_total), want $total"
# Rejections found at first use are counted by reason too.
[ "$(metric 'ispeed_collector_enrollments_rejected_total{reason="token_missing"}')" = 3 ] \
  || fail "token_missing enrollments: $(curl -sf "http://$HTTP/metrics" | grep enrollments_rejected), want 3"
for r in unsigned_tombstone bad_withdrawal oversized bad_signature; do
  [ "$(metric "ispeed_collector_enrollments_rejected_total{reason=\"$r\"}")" = 1 ] \
    || fail "enrollments rejected as $r: $(curl -sf "http://$HTTP/metrics" | grep enrollments_rejected)"
done
note "attacks: $(dlq | awk '{print $2}' | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')$(dlq_agents | tr '\n' ' '); honest counted $total"
echo PASS
