#!/usr/bin/env bash
# Collector benchmark: 1,000,000 samples pre-loaded into the embedded Kafka,
# then, in one run:
#   - kcat reading the samples topic to its end: the raw consume limit;
#   - ispeed-collector from start to every sample counted (caught up), its
#     rate against kcat's (target ratio >= 0.8) and its peak RSS (<= 64 MiB);
#     and against the floor every sample's Ed25519 verification sets: what
#     all cores verify together (ispeed-verify-rate, one per core at once);
#     the broker's wait before it hands out the partitions on the first join
#     (group.initial.rebalance.delay.ms, 3 s) is printed apart;
#   - the delay from a sample's produce to the QuotaStatus counting it, p50
#     and p99 (target p99 <= 1 s), with ispeed-delay-probe;
#   - the restore time after SIGKILL with that history: restart to caught up
#     (target <= 2 s), printed apart from the time the broker holds the
#     killed member's partitions (its session timeout, 6 s by default: a
#     failure detector, the same for any consumer group, not restore work).
# Figures are printed whether or not a target is met; the exit status is 0
# unless something broke.
#
# usage: bench/collector.sh BUILD    (ISPEED_BENCH_SAMPLES=N to change 1,000,000;
#        ISPEED_BENCH_COLLECTOR_ARGS="--verify-threads 1" adds collector options;
#        ISPEED_BENCH_KAFKA=cluster runs it on a real 3-broker Apache Kafka)
#
# Sizing: the embedded Kafka keeps ~5 MiB per partition, ~29,000 of our
# samples. Samples are keyed by province, so each province must have its own
# partition: 256 partitions is the one count (of 63..256) where librdkafka's
# consistent partitioner (CRC32 % n) gives the 63 provinces of the 2025-03
# registry 63 different partitions, and --spread provinces gives each about
# 1,000,000 / 63 = 15,900 samples (~2.9 MB). kcat checks that all are kept.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/../tests/integration/lib.sh"
N=${ISPEED_BENCH_SAMPLES:-1000000}
UNITS="$DATA/vn-units-2025-03.csv"
LOADGEN="$BUILD/tools/loadgen/ispeed-loadgen"
PROBE="$BUILD/tools/loadgen/ispeed-delay-probe"
MONTH=$(it_month) # the clock lib.sh stands on (ISPEED_NOW), not today

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
metric() { curl -sf "http://$HTTP/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
caught_up() { [ "$(metric ispeed_collector_caught_up)" = 1 ]; }
rss_peak_mib() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# ISPEED_BENCH_KAFKA=cluster: the same run on a real 3-broker Apache Kafka
# (deploy/kafka/cluster.sh; RF 3, topics by ispeedctl topics apply), which
# keeps every sample, so 12 partitions as in production.
if [ "${ISPEED_BENCH_KAFKA:-embedded}" = cluster ]; then
  start_cluster
  "$BUILD/ctl/ispeedctl" topics apply -b "$BOOTSTRAP" --units "$UNITS" --partitions 12 --replication-factor 3 \
    >"$WORK/topics.out" 2>&1 || fail "topics apply: $(tail -3 "$WORK/topics.out")"
  note "real cluster: $(tail -1 "$WORK/topics.out")"
else
  start_kafka --partitions 256 --units "$UNITS"
  BROKER_PID=${PIDS[-1]}
fi
# Attestation required, tokens required (the defaults): loadgen's samples
# carry receipts, so the collector verifies one signature per sample, the
# receipt's.
trust_setup
note "loading $N samples of $MONTH"
t=$(now)
"$LOADGEN" -b "$BOOTSTRAP" --units "$UNITS" --month "$MONTH" --samples "$N" --spread provinces --seed 1 \
  "${LOADGEN_TRUST[@]}" --truth "$WORK/truth.csv" >"$WORK/loadgen.out" 2>"$WORK/loadgen.err" || fail "loadgen: $(tail -2 "$WORK/loadgen.err")"
LOAD_S=$(secs "$t" "$(now)")

# The raw consume limit, and the check that the topic holds every sample.
t=$(now)
held=$(kcat -b "$BOOTSTRAP" -C -t ispeed.samples -o beginning -e -q -f '%o\n' | wc -l)
KCAT_S=$(secs "$t" "$(now)")
[ "$held" = "$N" ] || fail "ispeed.samples holds $held of $N samples: the embedded Kafka dropped some"

# The floor: every sample's Ed25519 signature must verify before it counts,
# with the collector's own code. One ispeed-verify-rate per core, all at
# once: their sum is what the machine verifies a second (two cores together
# do less than twice one alone), and the collector cannot pass it whatever
# else it does.
CORES=$(nproc)
VPIDS=()
for i in $(seq "$CORES"); do "$BUILD/tools/loadgen/ispeed-verify-rate" 2 >"$WORK/verify.$i" & VPIDS+=($!); done
wait "${VPIDS[@]}"
VERIFY_RATE=$(cat "$WORK"/verify.* | sed 's/.*verify_per_s=\([0-9]*\).*/\1/' | awk '{ s += $1 } END { print s }')
VERIFY_US=$(cat "$WORK"/verify.* | sed 's/.*us_each=\([0-9.]*\).*/\1/' | awk '{ s += $1; n++ } END { printf "%.1f", s / n }')

HTTP=127.0.0.1:$(free_port)
t0=$(now)
start_collector collector.err --units "$UNITS" --http "$HTTP" "${COLLECTOR_TRUST[@]}" ${ISPEED_BENCH_COLLECTOR_ARGS:-}
CPID=${PIDS[-1]}
# cpu_snapshot PID: "consumed checks check_us collector_ticks broker_ticks",
# the collector's counters and the CPU time (utime + stime) of it and of the
# embedded broker (0 on a cluster: three JVMs, not one process).
cpu_ticks() { [ -r "/proc/$1/stat" ] && awk '{ print $14 + $15 }' "/proc/$1/stat" || echo 0; }
cpu_snapshot() {
  local m; m=$(curl -sf "http://$HTTP/metrics")
  echo "$(awk '$1 == "ispeed_collector_samples_consumed_total" { c = $2 } $1 == "ispeed_collector_signature_checks_total" { s = $2 }
    $1 == "ispeed_collector_signature_check_cpu_microseconds_total" { u = $2 } END { print c + 0, s + 0, u + 0 }' <<<"$m") \
    $(cpu_ticks "$1") $([ -n "${BROKER_PID:-}" ] && cpu_ticks "$BROKER_PID" || echo 0)"
}
# until_caught_up T0 LOG PID: waits, and sets JOIN_S (start to the first
# sample consumed: enrollments, checkpoints, group join), DONE_S (start to
# caught up), and CPU_AT_JOIN and CPU_AT_DONE (cpu_snapshot).
until_caught_up() {
  local deadline=$(( $(date +%s) + 900 )); JOIN_S= CPU_AT_JOIN=
  while ! caught_up; do
    [ -n "$JOIN_S" ] || [ "$(metric ispeed_collector_samples_consumed_total)" = 0 ] \
      || [ -z "$(metric ispeed_collector_samples_consumed_total)" ] || { JOIN_S=$(secs "$1" "$(now)"); CPU_AT_JOIN=$(cpu_snapshot "$3"); }
    [ "$(date +%s)" -lt "$deadline" ] || fail "collector not caught up in 15 min: $(tail -3 "$WORK/$2")"
    sleep 0.1
  done
  DONE_S=$(secs "$1" "$(now)")
  CPU_AT_DONE=$(cpu_snapshot "$3")
  [ -n "$JOIN_S" ] || { JOIN_S=$DONE_S; CPU_AT_JOIN=$CPU_AT_DONE; }
}
until_caught_up "$t0" collector.err "$CPID"
COLL_S=$DONE_S JOIN1_S=$JOIN_S CPU1_JOIN=$CPU_AT_JOIN CPU1_DONE=$CPU_AT_DONE
note "collector caught up in $COLL_S s"
# group_wait LOG: seconds from the collector's "group join requested" to its
# first assignment: on the first join the broker's initial rebalance delay,
# after a SIGKILL the killed member's session timeout.
group_wait() {
  local t_join t_assign
  t_join=$(grep -a -m1 'group join requested t_ms=' "$WORK/$1" | sed 's/.*t_ms=\([0-9]*\).*/\1/')
  t_assign=$(grep -a -m1 'partition assigned .*t_ms=' "$WORK/$1" | sed 's/.*t_ms=\([0-9]*\).*/\1/')
  awk -v a="$t_join" -v b="$t_assign" 'BEGIN { if (a == "" || b == "") print "0.00"; else printf "%.2f", (b - a) / 1000 }'
}
JOIN_WAIT_S=$(group_wait collector.err)
counted=$(metric ispeed_collector_samples_counted_total)
[ "$counted" = "$N" ] || note "collector counted $counted of $N"

"$PROBE" -b "$BOOTSTRAP" --units "$UNITS" "${LOADGEN_TRUST[@]}" --probes 200 --rate 20 --sent "$WORK/probes.csv" >"$WORK/probe.out" 2>"$WORK/probe.err" \
  || note "delay probe: $(cat "$WORK/probe.out" "$WORK/probe.err" | tail -2)"
RSS=$(rss_peak_mib "$CPID")

# Restore: SIGKILL, restart in the same group, time to caught up.
kill -KILL "$CPID"; wait "$CPID" 2>/dev/null || true
t1=$(now)
start_collector collector2.err --units "$UNITS" --http "$HTTP" "${COLLECTOR_TRUST[@]}" ${ISPEED_BENCH_COLLECTOR_ARGS:-}
CPID2=${PIDS[-1]}
until_caught_up "$t1" collector2.err "$CPID2"
RESTORE_S=$DONE_S JOIN2_S=$JOIN_S
note "restarted collector caught up in $RESTORE_S s"
# The part of it the broker spends before it hands out the partitions: the
# killed member holds them until its session times out (session.timeout.ms).
GROUP_WAIT_S=$(group_wait collector2.err)
RSS2=$(rss_peak_mib "$CPID2")

# The restored counts: every province's total equals the truth plus the probes.
exact=yes
for prov in $(awk -F, '$2 == "province" { print $1 }' "$UNITS"); do
  got=$("$BUILD/ctl/ispeedctl" quota -b "$BOOTSTRAP" --province "$prov" --month "$MONTH" --level province --format csv 2>/dev/null \
    | awk -F, 'NR > 1 { s += $5 } END { print s + 0 }')
  want=$(awk -F, -v p="$prov" '$1 "" == p "" { print $2 }' "$WORK/truth.csv")
  want=$(( want + $(awk -F, -v p="$prov" '$2 "" == p "" { n++ } END { print n + 0 }' "$WORK/probes.csv" 2>/dev/null || echo 0) ))
  [ "$got" = "$want" ] || { exact="no (province $prov: $got, want $want)"; break; }
done

awk -v n="$N" -v load="$LOAD_S" -v kc="$KCAT_S" -v co="$COLL_S" -v rss="$RSS" -v rs="$RESTORE_S" -v rss2="$RSS2" \
    -v probe="$(cat "$WORK/probe.out" 2>/dev/null)" -v exact="$exact" -v j1="$JOIN1_S" -v j2="$JOIN2_S" -v gw="$GROUP_WAIT_S" -v jw="$JOIN_WAIT_S" -v vr="$VERIFY_RATE" -v cores="$CORES" \
    -v vus="$VERIFY_US" -v cj="$CPU1_JOIN" -v cd="$CPU1_DONE" -v tck="$(getconf CLK_TCK)" 'BEGIN {
  kr = n / kc; cr = n / co; ratio = cr / kr
  split(probe, f, " "); for (i in f) { split(f[i], kv, "="); p[kv[1]] = kv[2] }
  printf "samples                  %d (loaded in %.1f s)\n", n, load
  printf "kcat raw consume         %.0f samples/s (%.2f s)\n", kr, kc
  printf "collector start->counted %.0f samples/s (%.2f s)\n", cr, co
  if (co - j1 > 0.5)
    printf "  of which                %.2f s start to first sample consumed (%.2f s of it the broker'"'"'s initial rebalance delay), then %.0f samples/s to caught up\n", j1, jw, n / (co - j1)
  else
    printf "  of which                no split: /metrics did not answer while the collector replayed\n"
  printf "ratio                    %.2f   (target >= 0.8) %s\n", ratio, (ratio >= 0.8 ? "ok" : "MISSED")
  printf "  Ed25519 floor           %d cores together verify %d signatures/s: at most %d samples/s, a ratio of %.2f at best\n", cores, vr, vr, vr / kr
  printf "  collector / floor       %.2f start to counted; %.2f once consuming\n", cr / vr, (co - j1 > 0.5 ? n / (co - j1) / vr : cr / vr)
  # Where the CPU went from the first sample consumed to caught up: what
  # bounds the ratio on these cores whatever the scheduling.
  split(cj, a, " "); split(cd, b, " "); ns = b[1] - a[1]
  if (ns > 0 && b[2] > a[2]) {
    cus = (b[4] - a[4]) / tck * 1e6 / ns; bus = (b[5] - a[5]) / tck * 1e6 / ns
    per = (b[2] - a[2]) / ns; vin = (b[3] - a[3]) / (b[2] - a[2])
    printf "  CPU per sample          collector %.0f us: %.2f signature checks of %.1f us each (%.1f us alone, ispeed-verify-rate), the rest %.0f us; broker %.0f us\n",
      cus, per, vin, vus, cus - per * vin, bus
    printf "  ceiling at that CPU     %d cores / %.0f us = %.0f samples/s, a ratio of %.2f to the floor\n",
      cores, cus + bus, cores * 1e6 / (cus + bus), cores * 1e6 / (cus + bus) / vr
  }
  printf "peak RSS                 %.1f MiB (target <= 64) %s; after restore %.1f MiB\n", rss, (rss <= 64 ? "ok" : "MISSED"), rss2
  printf "restart after SIGKILL    %.2f s to caught up; counts exact: %s\n", rs, exact
  printf "  of which                %.2f s the broker waiting for the killed member'"'"'s session to time out\n", gw
  printf "restore (the rest)       %.2f s (target <= 2) %s\n", rs - gw, (rs - gw <= 2 ? "ok" : "MISSED")
  if (p["p99_ms"] != "")
    printf "produce->QuotaStatus     p50 %.0f ms, p99 %.0f ms, max %.0f ms over %s probes (target p99 <= 1000) %s\n",
      p["p50_ms"], p["p99_ms"], p["max_ms"], p["answered"], (p["p99_ms"] <= 1000 ? "ok" : "MISSED")
  else
    printf "produce->QuotaStatus     not measured: %s\n", probe
}'
