#!/usr/bin/env bash
# A 3-broker Apache Kafka cluster with SCRAM-SHA-512 over TLS only (a CA and
# the brokers' certificate made by openssl, by cluster.sh --security
# sasl_ssl) and the StandardAuthorizer (deny unless allowed, super user
# operator). As operator: ispeedctl topics apply and acl apply, then acl
# apply --check clean. Then each principal does its job through the ACLs:
# the agent principal produces samples and enrollments (ispeed-loadgen), the
# collector principal counts them, province-31 reads its count, equal to the
# loadgen's truth. And the denials: province-31 cannot read quota.01, the
# agent cannot read samples, a wrong password and a client that does not
# trust the CA are refused.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
MONTH=$(it_month)
LOADGEN="$BUILD/tools/loadgen/ispeed-loadgen"
trust_setup # tokens and receipts, as the collector's secure defaults want them
CTL="$BUILD/ctl/ispeedctl"
[ -x "$LOADGEN" ] || fail "no $LOADGEN: build the tools/loadgen target"
N=600

start_cluster --security sasl_ssl --user agent --user collector --user province-31 --user province-01
# shellcheck disable=SC2206
OP=($(user_props operator)) AGENT=($(user_props agent)) COLL=($(user_props collector)) P31=($(user_props province-31))

"$CTL" topics apply -b "$BOOTSTRAP" "${OP[@]}" --units "$UNITS" --partitions 6 >"$WORK/topics.out" 2>&1 \
  || fail "topics apply as operator: $(tail -3 "$WORK/topics.out")"
"$CTL" acl apply -b "$BOOTSTRAP" "${OP[@]}" --units "$UNITS" >"$WORK/acl.out" 2>&1 || fail "acl apply: $(tail -3 "$WORK/acl.out")"
note "$(tail -1 "$WORK/acl.out")"
# The collector's transactional ids: a rule librdkafka 2.0.2 cannot make, so
# acl apply names it, and Kafka's own tool adds it.
grep -q "missing User:collector ALLOW WRITE TRANSACTIONAL_ID ispeed.collector.\*" "$WORK/acl.out" \
  || fail "acl apply did not say the transactional-id rule is missing: $(head -3 "$WORK/acl.out")"
"$CLUSTER" acl --dir "$CLUSTER_DIR" -- --add --allow-principal User:collector --operation Write --transactional-id ispeed.collector. \
  --resource-pattern-type prefixed >"$WORK/txnacl.out" 2>&1 || fail "kafka-acls: $(tail -3 "$WORK/txnacl.out")"
grep -q '^created User:agent ALLOW WRITE TOPIC ispeed.samples$' "$WORK/acl.out" || fail "no agent WRITE on samples: $(head -3 "$WORK/acl.out")"
# DescribeAcls answered from one broker; each broker's authorizer applies
# the metadata log on its own (measured: a produce refused seconds after
# --check was clean). Wait until every broker lets each principal see the
# topics it uses (DESCRIBE, implied by its READ or WRITE).
allowed_everywhere() { # USER TOPIC...
  local user=$1 b t; shift
  for b in ${BOOTSTRAP//,/ }; do
    for t in "$@"; do
      timeout 20 kcat -b "$b" -F "$CLUSTER_DIR/users/$user.properties" -L -t "$t" 2>&1 | grep -q "topic \"$t\" with [1-9]" || return 1
    done
  done
}
for ut in "agent ispeed.samples ispeed.agents" "collector ispeed.samples ispeed.agents ispeed.alerts ispeed.dlq ispeed.collector.state ispeed.quota.31" \
          "province-31 ispeed.quota.31 ispeed.alerts"; do
  # shellcheck disable=SC2086
  wait_for 60 allowed_everywhere $ut || fail "not every broker lets ${ut%% *} see its topics 60 s after acl apply"
done

# Now every broker has them: --check clean, and a second apply changes nothing.
acl_clean() { "$CTL" acl apply -b "$BOOTSTRAP" "${OP[@]}" --units "$UNITS" --check >"$WORK/aclcheck.out" 2>&1; }
wait_for 30 acl_clean || fail "acl apply --check after apply: $(tail -3 "$WORK/aclcheck.out")"
grep -q ' 0 drifted' "$WORK/aclcheck.out" || fail "acl --check: $(tail -1 "$WORK/aclcheck.out")"
! grep -q TRANSACTIONAL_ID "$WORK/aclcheck.out" || fail "acl --check still misses the transactional-id rule: $(cat "$WORK/aclcheck.out")"
"$CTL" acl apply -b "$BOOTSTRAP" "${OP[@]}" --units "$UNITS" >"$WORK/acl2.out" 2>&1 || fail "acl apply again failed"
grep -q ' 0 created, 0 deleted' "$WORK/acl2.out" || fail "acl apply is not idempotent: $(tail -1 "$WORK/acl2.out")"

# Each principal at its job.
"$LOADGEN" -b "$BOOTSTRAP" "${AGENT[@]}" "${LOADGEN_TRUST[@]}" --units "$UNITS" --month "$MONTH" --samples "$N" --province 31 --seed 9 \
  --truth "$WORK/truth.csv" >"$WORK/loadgen.out" 2>"$WORK/loadgen.err" || fail "loadgen as agent: $(tail -3 "$WORK/loadgen.err")"
HTTP=127.0.0.1:$(free_port)
start_collector collector.log --units "$UNITS" --http "$HTTP" "${COLL[@]}" "${COLLECTOR_TRUST[@]}"
metric() { curl -sf "http://$HTTP/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
counted() { [ "$(metric ispeed_collector_samples_counted_total)" = "$N" ] && [ "$(metric ispeed_collector_quota_pending)" = 0 ] &&
  [ "$(metric ispeed_collector_output_queue_records)" = 0 ] && [ "$(metric ispeed_collector_uncommitted_records)" = 0 ]; }
wait_for 90 counted || fail "collector (principal collector) counted $(metric ispeed_collector_samples_counted_total) of $N: $(grep -E 'WARN|ERROR' "$WORK/collector.log" | tail -3)"
! grep -q 'authorization failed' "$WORK/collector.log" || fail "the collector was denied something: $(grep 'authorization failed' "$WORK/collector.log" | head -2)"
# Its outputs went out in transactions (the principal may use its ids).
grep -q 'transactions on transactional.id=ispeed.collector.' "$WORK/collector.log" || fail "the collector did not use transactions"
[ "$(metric 'ispeed_collector_transactions_total{result="committed"}')" -gt 0 ] || fail "the collector committed no transaction"
want=$(awk -F, '$1 == "31" { print $2 }' "$WORK/truth.csv")
got31() { got=$("$CTL" quota -b "$BOOTSTRAP" "${P31[@]}" --province 31 --month "$MONTH" --format csv 2>"$WORK/q31.err" |
  awk -F, '$3 == "province" { s += $5 } END { print s + 0 }'); [ "$got" = "$want" ]; }
wait_for 30 got31 || fail "province-31 reads $got for province 31, truth $want: $(cat "$WORK/q31.err")"
note "agent produced $N, collector counted them, province-31 reads $got (truth $want)"

# Denials.
set +e
"$CTL" quota -b "$BOOTSTRAP" "${P31[@]}" --province 01 --month "$MONTH" >"$WORK/deny1.out" 2>&1; rc1=$?
timeout 30 kcat -b "$BOOTSTRAP" -F "$CLUSTER_DIR/users/agent.properties" -C -t ispeed.samples -e -q >"$WORK/deny2.out" 2>&1; rc2=$?
timeout 30 kcat -b "$BOOTSTRAP" -X security.protocol=sasl_ssl -X sasl.mechanisms=SCRAM-SHA-512 -X sasl.username=operator \
  -X sasl.password=wrong -X ssl.ca.location="$CLUSTER_DIR/ca.pem" -L >"$WORK/deny3.out" 2>&1; rc3=$?
timeout 30 kcat -b "$BOOTSTRAP" -F "$CLUSTER_DIR/users/operator.properties" -X ssl.ca.location=/etc/ssl/certs/ca-certificates.crt \
  -L >"$WORK/deny4.out" 2>&1; rc4=$?
set -e
[ "$rc1" = 1 ] && grep -q 'Topic authorization failed' "$WORK/deny1.out" \
  || fail "province-31 reading quota.01: exit $rc1, $(cat "$WORK/deny1.out")"
[ "$rc2" != 0 ] && grep -q 'Topic authorization failed' "$WORK/deny2.out" \
  || fail "agent reading samples: exit $rc2, $(cat "$WORK/deny2.out")"
[ "$rc3" != 0 ] && grep -qi 'authentication' "$WORK/deny3.out" || fail "a wrong password: exit $rc3, $(tail -2 "$WORK/deny3.out")"
[ "$rc4" != 0 ] && grep -qi 'certificate verify failed\|SSL handshake failed' "$WORK/deny4.out" \
  || fail "a client without our CA: exit $rc4, $(tail -2 "$WORK/deny4.out")"
note "denied: province-31 on quota.01, agent on samples, a wrong password, an untrusted certificate"
echo PASS
