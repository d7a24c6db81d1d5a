#!/usr/bin/env bash
# The agents topic unreadable for a while (its leader down, as when that
# broker restarts) while samples of agents the collector has not read yet
# arrive. A catch-up that cannot reach the topic's end decides nothing: no
# sample is refused as unknown_agent (its enrollment may be on the topic),
# the batch waits and tries again, and once the topic is back every sample
# counts, exactly. Before this, each was refused (kafka_cluster.sh's rolling
# restart lost 139 honest samples in one run of three). A shutdown in the
# outage leaves the undecided samples to the next run, which counts them.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
UNITS="$DATA/vn-units-2025-03.csv"
LOADGEN="$BUILD/tools/loadgen/ispeed-loadgen"
[ -x "$LOADGEN" ] || fail "build ispeed-loadgen first"
N=600

start_kafka --partitions 8 --units "$UNITS"
KAFKA_PID=${PIDS[0]}
trust_setup
HTTP=127.0.0.1:$(free_port)
start_collector collector.log --units "$UNITS" --http "$HTTP" "${COLLECTOR_TRUST[@]}"
COLLECTOR_PID=${PIDS[-1]}
metric() { curl -sf --max-time 10 "http://$HTTP/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
rejected() { curl -sf --max-time 10 "http://$HTTP/metrics" | awk '/^ispeed_collector_samples_rejected_total\{/ { s += $2 } END { print s + 0 }'; }
caught_up() { [ "$(metric ispeed_collector_caught_up)" = 1 ]; }
wait_for 60 caught_up || fail "collector did not start: $(tail -3 "$WORK/collector.log")"

# Stopped while the agents enroll and send their samples, so its agents
# feed has not read the enrollments when the outage starts.
kill -STOP "$COLLECTOR_PID"
"$LOADGEN" -b "$BOOTSTRAP" --units "$UNITS" --month "$(it_month)" --samples "$N" --seed 21 \
  "${LOADGEN_TRUST[@]}" --truth "$WORK/truth.csv" >"$WORK/loadgen.out" 2>"$WORK/loadgen.err" \
  || { kill -CONT "$COLLECTOR_PID"; fail "loadgen: $(tail -3 "$WORK/loadgen.err")"; }
kill -HUP "$KAFKA_PID"
wait_for 10 grep -q 'agents topic unreadable' "$WORK/kafka.err" || { kill -CONT "$COLLECTOR_PID"; fail "no agents outage: $(tail -3 "$WORK/kafka.err")"; }
kill -CONT "$COLLECTOR_PID"

# Two failed catch-ups: the samples were read, their agents looked up, and
# the lookup retried; nothing refused meanwhile.
failed_twice_or_refused() { [ "$(grep -c 'feed=agents cannot' "$WORK/collector.log")" -ge 2 ] || [ "$(rejected)" != 0 ]; }
wait_for 60 failed_twice_or_refused || fail "the collector did not try to catch the agents up: $(grep -E 'WARN|ERROR' "$WORK/collector.log" | tail -3)"
during_counted=$(metric ispeed_collector_samples_counted_total)
during_rejected=$(rejected)
[ "$during_rejected" = 0 ] || fail "$during_rejected samples refused while the agents topic was unreadable: $(grep -m3 'sample rejected' "$WORK/collector.log")"
# Some enrollments may be read before the catch-up fails (a partition whose
# leader stayed); the others' samples wait.
[ "$during_counted" -lt "$N" ] || fail "all $N samples counted: the outage held nothing back"

kill -USR2 "$KAFKA_PID"
all_counted() { [ "$(metric ispeed_collector_samples_counted_total)" = "$N" ]; }
wait_for 90 all_counted || fail "after the outage: counted $(metric ispeed_collector_samples_counted_total) of $N, rejected $(rejected)"
[ "$(rejected)" = 0 ] || fail "rejected $(rejected) after the outage: $(grep -m3 'sample rejected' "$WORK/collector.log")"

# And where they count: each province's count equals the loadgen's truth.
province_counts() {
  "$BUILD/ctl/ispeedctl" quota -b "$BOOTSTRAP" --province all --units "$UNITS" --month "$(it_month)" --level province \
    --format csv 2>/dev/null | awk -F, 'NR > 1 { s[$1] += $5 } END { for (p in s) print p "," s[p] }' | sort
}
want_counts() { # TRUTH...: the provinces' sums
  awk -F, 'FNR > 1 && length($1) == 2 { s[$1] += $2 } END { for (p in s) if (s[p] > 0) print p "," s[p] }' "$@" | sort
}
want_counts "$WORK/truth.csv" >"$WORK/want"
same() { province_counts >"$WORK/got"; cmp -s "$WORK/want" "$WORK/got"; }
wait_for 30 same || fail "province counts differ from the truth: $(diff "$WORK/want" "$WORK/got" | head -5)"
note "$N samples: $(grep -c 'feed=agents cannot' "$WORK/collector.log") failed catch-ups, $during_counted counted and 0 refused meanwhile; all counted after, $(wc -l <"$WORK/want") provinces exact"

# A shutdown during the outage cannot wait: the samples not decided are
# left unhandled, the checkpoints stay before them, and the next run
# counts them.
waits=$(metric ispeed_collector_agent_catchup_waits_total)
kill -STOP "$COLLECTOR_PID"
"$LOADGEN" -b "$BOOTSTRAP" --units "$UNITS" --month "$(it_month)" --samples "$N" --seed 22 \
  "${LOADGEN_TRUST[@]}" --truth "$WORK/truth2.csv" >"$WORK/loadgen2.out" 2>"$WORK/loadgen2.err" \
  || { kill -CONT "$COLLECTOR_PID"; fail "loadgen: $(tail -3 "$WORK/loadgen2.err")"; }
outages=$(grep -c 'agents topic unreadable' "$WORK/kafka.err")
kill -HUP "$KAFKA_PID"
# The outage must have begun before the collector runs again: otherwise its
# agents feed may read the new enrollments first, decide every sample, and
# the shutdown below has nothing to leave.
in_outage() { [ "$(grep -c 'agents topic unreadable' "$WORK/kafka.err")" -gt "$outages" ]; }
wait_for 10 in_outage || { kill -CONT "$COLLECTOR_PID"; fail "no second agents outage: $(tail -3 "$WORK/kafka.err")"; }
kill -CONT "$COLLECTOR_PID"
# A batch held after a failed catch-up: the samples are read and waiting.
held_again() { [ "$(metric ispeed_collector_agent_catchup_waits_total)" -gt "$waits" ] || [ "$(rejected)" != 0 ]; }
wait_for 60 held_again || fail "no batch held in the second outage: $(grep -E 'WARN|ERROR' "$WORK/collector.log" | tail -3)"
kill -TERM "$COLLECTOR_PID"
wait "$COLLECTOR_PID" || fail "collector exited $? when stopped during the outage: $(grep -E 'ERROR' "$WORK/collector.log" | tail -3)"
grep -q 'sample rejected' "$WORK/collector.log" && fail "samples refused at the shutdown: $(grep -m3 'sample rejected' "$WORK/collector.log")"
left=$(grep -c 'records left unhandled' "$WORK/collector.log" || true)
[ "$left" -ge 1 ] || fail "the shutdown left nothing unhandled: $(grep -E 'WARN|ERROR' "$WORK/collector.log" | tail -3)"
kill -USR2 "$KAFKA_PID"
start_collector collector2.log --units "$UNITS" --http "$HTTP" "${COLLECTOR_TRUST[@]}"
want_counts "$WORK/truth.csv" "$WORK/truth2.csv" >"$WORK/want"
wait_for 90 same || fail "after the restart: province counts differ from the truth: $(diff "$WORK/want" "$WORK/got" | head -5)"
grep -q 'sample rejected' "$WORK/collector2.log" && fail "the restart refused samples: $(grep -m3 'sample rejected' "$WORK/collector2.log")"
note "shutdown during the outage: $left partition(s) left unhandled; the restart counted them, $((2 * N)) samples, $(wc -l <"$WORK/want") provinces exact"
echo PASS
