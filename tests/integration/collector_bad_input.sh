#!/usr/bin/env bash
# Nothing rejected is dropped silently, and nothing rejected counts: random
# bytes, a truncated record, a flipped bit, an unknown commune, a future
# start, an unknown agent, a sample naming another agent, a wrong province
# key, an impossible rate, a replayed (agent_id, seq) and an agent over its
# daily cap each land in <prefix>dlq with the right ispeed-reject-reason
# header, and the quota counts are exactly those of the valid samples.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
CRAFT="$BUILD/tools/loadgen/ispeed-craft-sample"
CTL="$BUILD/ctl/ispeedctl"
MONTH=$(it_month)
[ -x "$CRAFT" ] || fail "no $CRAFT: configure with testing on and build ispeed-craft-sample"

# first_commune PROVINCE: its first commune in the registry, and the district above it.
first_commune() { python3 - "$UNITS" "$1" <<'PY'
import csv, sys
units = {r['code']: r for r in csv.DictReader(open(sys.argv[1], encoding='utf-8'))}
def prov(c):
    while units[c]['parent']: c = units[c]['parent']
    return c
for c, r in units.items():
    if r['level'] == 'commune' and prov(c) == sys.argv[2]:
        print(c, r['parent']); break
PY
}

start_kafka --units "$UNITS"
# Secure defaults: the crafted agents enroll with tokens and their samples
# carry receipts (trust_setup's keys), so each case fails for its own reason.
trust_setup
HTTP=127.0.0.1:$(free_port)
start_collector collector.err --units "$UNITS" --http "$HTTP" "${COLLECTOR_TRUST[@]}"
wait_for 30 curl -sf -o /dev/null "http://$HTTP/metrics" || fail "collector did not start: $(tail -3 "$WORK/collector.err")"

# One province per case, so the DLQ key says which case a reject came from.
# province-mismatch keys its sample with 01, the registry's first province.
EXPECT=()   # "key reason" per record expected in the DLQ
craft() { # craft PROVINCE KIND SEED [ARGS...]
  local prov=$1 kind=$2 seed=$3; shift 3
  local commune; read -r commune _ < <(first_commune "$prov")
  "$CRAFT" -b "$BOOTSTRAP" --units "$UNITS" --commune "$commune" --kind "$kind" --seed "$seed" "${LOADGEN_TRUST[@]}" "$@" \
    >>"$WORK/craft.out" 2>"$WORK/craft.err" || fail "craft $kind: $(cat "$WORK/craft.err")"
}
craft 02 random 102;            EXPECT+=("02 decode_error")
craft 04 truncated 104;         EXPECT+=("04 decode_error")
# One bit of the receipt's signature: the one signature the collector checks.
craft 06 flipbit 106;           EXPECT+=("06 bad_receipt")
craft 08 unknown-commune 108;   EXPECT+=("08 unknown_commune")
craft 10 future 110;            EXPECT+=("10 implausible")
craft 11 unknown-agent 111;     EXPECT+=("11 unknown_agent")
craft 12 agent-mismatch 112;    EXPECT+=("12 agent_mismatch")
craft 14 province-mismatch 114; EXPECT+=("01 province_mismatch")
craft 15 implausible 115;       EXPECT+=("15 implausible")
# The same agent (seed) sends seq 1 twice: the second is a duplicate.
craft 17 valid 117 --seq 1
craft 17 valid 117 --seq 1;     EXPECT+=("17 duplicate")
# 13 samples of one agent, one unit, one day: the 13th is over the cap of 12.
craft 19 valid 119 --seq 1 --count 13; EXPECT+=("19 daily_cap")

# dlq: "key reason" of every DLQ record, sorted.
dlq() {
  kcat -b "$BOOTSTRAP" -C -t ispeed.dlq -o beginning -e -q -f '%k %h\n' 2>/dev/null \
    | sed -n 's/^\([^ ]*\) .*ispeed-reject-reason=\([a-z_]*\).*/\1 \2/p' | sort
}
want=$(printf '%s\n' "${EXPECT[@]}" | sort)
want_nocap=$(printf '%s\n' "${EXPECT[@]}" | grep -v daily_cap | sort)
# Every reason but the cap first, so a collector that does not yet DLQ the
# cap still shows the rest works.
dlq_has_all_but_cap() { [ "$(dlq | grep -v daily_cap)" = "$want_nocap" ]; }
wait_for 40 dlq_has_all_but_cap || fail "DLQ holds [$(dlq | tr '\n' ',')], want [$(tr '\n' ',' <<<"$want_nocap")]"
note "DLQ: $(dlq | grep -v daily_cap | awk '{print $2}' | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')"

# Every DLQ record is the original bytes under the original key, with its source.
nosource=$(kcat -b "$BOOTSTRAP" -C -t ispeed.dlq -o beginning -e -q -f '%h\n' \
  | awk '!/ispeed-source=ispeed\.samples\/[0-9]+@[0-9]+/ { n++ } END { print n + 0 }')
[ "$nosource" = 0 ] || fail "$nosource DLQ record(s) lack the ispeed-source header"

# Counts: exactly the valid samples, at commune, district and province.
count() { # count PROVINCE CODE: fixed-network count of the month, 0 if none
  local v; v=$("$CTL" quota -b "$BOOTSTRAP" --province "$1" --month "$MONTH" --format csv 2>/dev/null \
    | awk -F, -v c="$2" '$1 "" == c "" && $4 == "fixed" { print $5 }')
  echo "${v:-0}"
}
counts_are() { # counts_are PROVINCE N: commune, district and province all N
  local c d; read -r c d < <(first_commune "$1")
  [ "$(count "$1" "$c")" = "$2" ] && [ "$(count "$1" "$d")" = "$2" ] && [ "$(count "$1" "$1")" = "$2" ]
}
wait_for 30 counts_are 17 1 || fail "province 17: after a valid sample and its replay, want 1 everywhere, got province $(count 17 17)"
wait_for 30 counts_are 19 12 || fail "province 19: 13 samples of one agent in a day, want 12 counted, got province $(count 19 19)"
for prov in 01 02 04 06 08 10 11 12 14 15; do
  [ "$(count "$prov" "$prov")" = 0 ] || fail "province $prov counted $(count "$prov" "$prov") from rejected input, want 0"
done
[ "$(curl -sf "http://$HTTP/metrics" | awk '$1 == "ispeed_collector_samples_counted_total" { print $2 }')" = 13 ] \
  || fail "collector counted $(curl -sf "http://$HTTP/metrics" | awk '$1 == "ispeed_collector_samples_counted_total" { print $2 }') samples, want 13"
note "counts: 1 (17), 12 (19), 0 elsewhere"

# The daily cap: the issue wants the sample over it in the DLQ too.
wait_for 10 test "$(dlq)" = "$want" \
  || fail "the 13th sample of one agent in a day is not in the DLQ with reason daily_cap (DLQ: [$(dlq | tr '\n' ',')]; collector metric: $(curl -sf "http://$HTTP/metrics" | grep 'why="daily_cap"'))"
echo PASS
