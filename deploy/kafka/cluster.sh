#!/usr/bin/env bash
# A real Apache Kafka cluster (KRaft) on loopback, from the jars fetch.sh
# caches: start, stop, SIGKILL or restart one broker. Every node is broker
# and controller at once (3 nodes: a quorum that survives one loss). State
# (ports, pids, logs, data, TLS material, passwords) lives under DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prog=$(basename "$0")

usage() {
  cat <<EOF
usage: $prog start --brokers N --dir DIR [--security plaintext|sasl_ssl] [--user NAME]... [--broker-config K=V]...
       $prog stop --dir DIR
       $prog kill ID --dir DIR        SIGKILL of broker ID (1..N)
       $prog restart ID --dir DIR     stops broker ID (SIGTERM), starts it, waits for its replicas
       $prog wait --dir DIR           waits until every broker is up and every partition's ISR is full
       $prog acl --dir DIR -- ARGS... Kafka's kafka-acls (kafka.admin.AclCommand) as operator, e.g.
                                      for what librdkafka 2.0.2 cannot create (transactional ids)
start prints the bootstrap list on its first stdout line. --dir defaults to
\$ISPEED_KAFKA_DIR. With sasl_ssl, clients speak SCRAM-SHA-512 over TLS: the
CA is DIR/ca.pem, each --user (and operator, the super user) gets a random
password in DIR/users/NAME.password and a librdkafka property file
DIR/users/NAME.properties (for kcat -F, or -X key=value each line).
Environment: ISPEED_KAFKA_HEAP (default 512m per broker).
EOF
}
die() { echo "$prog: $*" >&2; exit 1; }
bad_usage() { echo "$prog: $* (try --help)" >&2; exit 2; }

cmd=${1:-}; [ $# -gt 0 ] && shift
case "$cmd" in -h|--help) usage; exit 0 ;; start|stop|kill|restart|wait|acl) ;; "") bad_usage "no command" ;; *) bad_usage "unknown command '$cmd'" ;; esac
id=
if [ "$cmd" = kill ] || [ "$cmd" = restart ]; then
  [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]] || bad_usage "$cmd needs a broker ID"
  id=$1; shift
fi
dir=${ISPEED_KAFKA_DIR:-} brokers= security=plaintext users=() extra=() passthrough=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) [ "$cmd" = acl ] || bad_usage "'--' is for acl"; shift; passthrough=("$@"); break ;;
    --dir) dir=${2:?}; shift 2 ;;
    --brokers) brokers=${2:?}; shift 2 ;;
    --security) security=${2:?}; shift 2 ;;
    --user) users+=("${2:?}"); shift 2 ;;
    --broker-config) extra+=("${2:?}"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) bad_usage "unknown option '$1'" ;;
  esac
done
[ -n "$dir" ] || bad_usage "no --dir (or ISPEED_KAFKA_DIR)"
heap=${ISPEED_KAFKA_HEAP:-512m}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
alive() { [ -f "$dir/node-$1/pid" ] && kill -0 "$(cat "$dir/node-$1/pid")" 2>/dev/null; }

# client_conf: kcat's -F argument for the operator (empty on plaintext).
kcat_args() { if [ "$(cat "$dir/security")" = sasl_ssl ]; then echo "-F $dir/users/operator.properties"; fi; }
bootstrap() { cat "$dir/bootstrap"; }

# ready [ISR]: metadata lists every broker; with ISR, every partition's ISR
# holds all its replicas (a rolling restart must not take the next broker
# down while a partition is under-replicated).
ready() {
  local md n; n=$(cat "$dir/brokers")
  # shellcheck disable=SC2046
  md=$(timeout 10 kcat -b "$(bootstrap)" $(kcat_args) -L -m 5 2>/dev/null) || return 1
  [ "$(grep -c '^  broker [0-9]* at' <<<"$md")" -eq "$n" ] || return 1
  [ "${1:-}" = ISR ] || return 0
  awk '/partition [0-9]+, leader/ {
         r = $0; sub(/.*replicas: /, "", r); sub(/,? isrs:.*/, "", r)
         i = $0; sub(/.*isrs: /, "", i); sub(/[ ,]*$/, "", i)
         if ($4 == "-1," || split(r, a, ",") != split(i, b, ",")) bad = 1 }
       END { exit bad }' <<<"$md"
}
wait_ready() { # SECONDS [ISR]
  local deadline=$(( $(date +%s) + $1 ))
  until ready "${2:-}"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

make_tls() { # a CA and one broker certificate (SAN 127.0.0.1, localhost)
  local t=$dir/tls; mkdir -p "$t"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=ispeed-test-ca \
    -keyout "$t/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj /CN=broker -keyout "$t/broker.key" -out "$t/broker.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >"$t/ext.cnf"
  openssl x509 -req -in "$t/broker.csr" -CA "$dir/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -days 30 \
    -extfile "$t/ext.cnf" -out "$t/broker.crt" 2>/dev/null
  # Kafka's PEM key store: an unencrypted PKCS#8 key, then the certificate chain.
  { openssl pkcs8 -topk8 -nocrypt -in "$t/broker.key"; cat "$t/broker.crt"; } >"$t/broker.pem"
  chmod 600 "$t"/*.key "$t/broker.pem"
}

write_config() { # ID
  local i=$1 n b c x voters= j props=$dir/node-$1/server.properties
  n=$(cat "$dir/brokers")
  for (( j = 1; j <= n; j++ )); do voters+="${voters:+,}$j@127.0.0.1:$(cat "$dir/node-$j/controller.port")"; done
  b=$(cat "$dir/node-$i/broker.port"); c=$(cat "$dir/node-$i/controller.port")
  local rf=$(( n < 3 ? n : 3 )) misr=$(( n < 3 ? 1 : 2 ))
  {
    echo "process.roles=broker,controller"
    echo "node.id=$i"
    echo "controller.quorum.voters=$voters"
    echo "controller.listener.names=CONTROLLER"
    echo "log.dirs=$dir/node-$i/data"
    # Topics come from ispeedctl topics apply, with their production
    # settings; an auto-created topic would get the broker's defaults.
    echo "auto.create.topics.enable=false"
    echo "offsets.topic.replication.factor=$rf"
    echo "transaction.state.log.replication.factor=$rf"
    echo "transaction.state.log.min.isr=$misr"
    echo "default.replication.factor=$rf"
    # 50 partitions each by default: seconds of start-up on 2 cores for nothing.
    echo "offsets.topic.num.partitions=8"
    echo "transaction.state.log.num.partitions=8"
    echo "group.initial.rebalance.delay.ms=0"
    # A transaction its producer left open (a stopped collector) is aborted
    # within 1 s of its timeout instead of 10 s: the next owner of its input
    # partitions waits for that end before it restores them.
    echo "transaction.abort.timed.out.transaction.cleanup.interval.ms=1000"
    # A killed follower leaves the ISR after 10 s instead of 30 s: acks=all
    # producers wait that long when a follower dies.
    echo "replica.lag.time.max.ms=10000"
    # The cleaner's buffer comes out of the heap (128 MiB by default); it
    # looks for dirty logs every 2 s instead of 15 s.
    echo "log.cleaner.dedupe.buffer.size=33554432"
    echo "log.cleaner.backoff.ms=2000"
    echo "num.network.threads=2"
    echo "num.io.threads=4"
    echo "num.recovery.threads.per.data.dir=1"
    echo "background.threads=4"
    # --broker-config last: a later key wins in a properties file.
    [ ! -s "$dir/extra.properties" ] || cat "$dir/extra.properties"
    if [ "$(cat "$dir/security")" = sasl_ssl ]; then
      x=$(cat "$dir/node-$i/internal.port")
      echo "listeners=SASL_SSL://127.0.0.1:$b,INTERNAL://127.0.0.1:$x,CONTROLLER://127.0.0.1:$c"
      echo "advertised.listeners=SASL_SSL://127.0.0.1:$b,INTERNAL://127.0.0.1:$x"
      echo "listener.security.protocol.map=SASL_SSL:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL"
      echo "inter.broker.listener.name=INTERNAL"
      echo "sasl.enabled.mechanisms=SCRAM-SHA-512"
      echo "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
      # Brokers and controllers authenticate each other by certificate
      # (principal User:CN=broker); clients by SCRAM.
      echo "listener.name.internal.ssl.client.auth=required"
      echo "listener.name.controller.ssl.client.auth=required"
      echo "ssl.keystore.type=PEM"
      echo "ssl.keystore.location=$dir/tls/broker.pem"
      echo "ssl.truststore.type=PEM"
      echo "ssl.truststore.location=$dir/ca.pem"
      echo "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"
      echo "super.users=User:operator;User:CN=broker"
      echo "allow.everyone.if.no.acl.found=false"
    else
      echo "listeners=PLAINTEXT://127.0.0.1:$b,CONTROLLER://127.0.0.1:$c"
      echo "advertised.listeners=PLAINTEXT://127.0.0.1:$b"
      echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
      echo "inter.broker.listener.name=PLAINTEXT"
    fi
  } >"$props"
}

java_args() { # ID: the JVM's options and class path
  # C1 only: a broker on 2 shared cores starts faster and its load here is small.
  JAVA_ARGS=(-Xms128m -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
    -Dlog4j.configuration="file:$dir/log4j.properties" -Dkafka.logs.dir="$dir/node-$1"
    -cp "$(cat "$dir/classpath")/*")
}
java_cmd() { # ID MAINCLASS ARGS...
  java_args "$1"; shift
  java "${JAVA_ARGS[@]}" "$@"
}

launch() { # ID: the broker in the background, in its own session (signals
           # to a test's process group must not reach it; stop does)
  java_args "$1"
  setsid java "${JAVA_ARGS[@]}" kafka.Kafka "$dir/node-$1/server.properties" \
    >>"$dir/node-$1/broker.log" 2>&1 </dev/null &
  echo $! >"$dir/node-$1/pid"
}

start() {
  [[ "$brokers" =~ ^[1-9][0-9]*$ ]] || bad_usage "start needs --brokers N (N >= 1)"
  [ "$security" = plaintext ] || [ "$security" = sasl_ssl ] || bad_usage "--security is plaintext or sasl_ssl, not '$security'"
  command -v java >/dev/null || die "java not found: run deploy/deps.sh (Debian package openjdk-17-jre-headless)"
  command -v kcat >/dev/null || die "kcat not found: run deploy/deps.sh"
  if [ -f "$dir/brokers" ]; then
    for (( i = 1; i <= $(cat "$dir/brokers"); i++ )); do alive "$i" && die "a cluster already runs in $dir: $prog stop --dir $dir"; done
  fi
  local libs t0 i j cid
  libs=$("$here/fetch.sh") || die "could not fetch the Kafka jars"
  t0=$(date +%s%N)
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  rm -rf "$dir"/node-* "$dir/users" "$dir/tls"
  echo "$libs" >"$dir/classpath"; echo "$brokers" >"$dir/brokers"; echo "$security" >"$dir/security"
  if [ ${#extra[@]} -gt 0 ]; then printf '%s\n' "${extra[@]}" >"$dir/extra.properties"; else : >"$dir/extra.properties"; fi
  cat >"$dir/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=WARN
log4j.logger.kafka.log.LogCleaner=INFO
log4j.logger.state.change.logger=WARN
EOF
  local boot=
  for (( i = 1; i <= brokers; i++ )); do
    mkdir -p "$dir/node-$i/data"
    free_port >"$dir/node-$i/broker.port"; free_port >"$dir/node-$i/controller.port"
    [ "$security" = plaintext ] || free_port >"$dir/node-$i/internal.port"
    boot+="${boot:+,}127.0.0.1:$(cat "$dir/node-$i/broker.port")"
  done
  echo "$boot" >"$dir/bootstrap"
  local scram=()
  if [ "$security" = sasl_ssl ]; then
    make_tls
    mkdir -p "$dir/users"; chmod 700 "$dir/users"
    local u pw
    for u in operator "${users[@]}"; do
      [ -f "$dir/users/$u.password" ] && continue
      pw=$(openssl rand -hex 16)
      echo "$pw" >"$dir/users/$u.password"
      printf 'security.protocol=sasl_ssl\nsasl.mechanisms=SCRAM-SHA-512\nsasl.username=%s\nsasl.password=%s\nssl.ca.location=%s\n' \
        "$u" "$pw" "$dir/ca.pem" >"$dir/users/$u.properties"
      # The same for Kafka's own (Java) tools.
      printf 'security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";\nssl.truststore.type=PEM\nssl.truststore.location=%s\n' \
        "$u" "$pw" "$dir/ca.pem" >"$dir/users/$u.java.properties"
      # SCRAM users go in at format time: librdkafka 2.0.2 has no
      # AlterUserScramCredentials to add them later.
      scram+=(--add-scram "SCRAM-SHA-512=[name=$u,password=$pw]")
    done
  fi
  for (( i = 1; i <= brokers; i++ )); do write_config "$i"; done
  cid=$(java_cmd 0 kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)
  [ -n "$cid" ] || die "kafka.tools.StorageTool random-uuid printed nothing: is $libs complete?"
  # Formats in parallel: each is a JVM start (seconds on 2 cores).
  local fpids=()
  for (( i = 1; i <= brokers; i++ )); do
    java_cmd "$i" kafka.tools.StorageTool format -t "$cid" -c "$dir/node-$i/server.properties" "${scram[@]}" \
      >"$dir/node-$i/format.log" 2>&1 &
    fpids+=($!)
  done
  for (( i = 1; i <= brokers; i++ )); do
    wait "${fpids[i-1]}" || die "formatting node $i failed: $(tail -n 3 "$dir/node-$i/format.log")"
  done
  for (( i = 1; i <= brokers; i++ )); do launch "$i"; done
  if ! wait_ready 120; then
    for (( i = 1; i <= brokers; i++ )); do alive "$i" || echo "$prog: broker $i died: $(grep -m1 -E 'ERROR|FATAL|Exception' "$dir/node-$i/broker.log")" >&2; done
    die "the cluster in $dir was not ready within 120 s (logs: $dir/node-*/broker.log)"
  fi
  echo "$boot"
  echo "$prog: $brokers broker(s) ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms, security $security, dir $dir" >&2
}

stop_node() { # ID SIGNAL
  local i=$1 pid deadline
  [ -f "$dir/node-$i/pid" ] || return 0
  pid=$(cat "$dir/node-$i/pid")
  kill -"$2" "$pid" 2>/dev/null || { rm -f "$dir/node-$i/pid"; return 0; }
  deadline=$(( $(date +%s) + 30 ))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
    sleep 0.1
  done
  rm -f "$dir/node-$i/pid"
}

[ "$cmd" = start ] && { start; exit 0; }
[ -f "$dir/brokers" ] || die "no cluster state in $dir: start one first"
dir=$(cd "$dir" && pwd)
n=$(cat "$dir/brokers")
if [ -n "$id" ]; then [ "$id" -ge 1 ] && [ "$id" -le "$n" ] || bad_usage "broker ID is 1..$n, not $id"; fi
case "$cmd" in
  stop)
    # All at once: one by one, each controlled shutdown would move leaders
    # to brokers about to stop.
    for (( i = 1; i <= n; i++ )); do stop_node "$i" TERM & done
    wait ;;
  kill)
    alive "$id" || die "broker $id is not running"
    stop_node "$id" KILL ;;
  restart)
    stop_node "$id" TERM
    launch "$id"
    wait_ready 120 ISR || die "broker $id did not come back with full ISRs within 120 s (log: $dir/node-$id/broker.log)" ;;
  wait)
    wait_ready 120 ISR || die "the cluster in $dir is not whole within 120 s" ;;
  acl)
    [ ${#passthrough[@]} -gt 0 ] || bad_usage "acl needs the kafka-acls arguments after --"
    conf=()
    [ "$(cat "$dir/security")" = plaintext ] || conf=(--command-config "$dir/users/operator.java.properties")
    java_cmd 0 kafka.admin.AclCommand --bootstrap-server "$(bootstrap)" "${conf[@]}" "${passthrough[@]}" ;;
esac
