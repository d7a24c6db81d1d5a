#!/usr/bin/env bash
# The quick start: installs what is missing, builds, and runs ispeed-demo
# (embedded Kafka, a test server, agents, a collector; samples, quota and
# alerts printed as they change). The demo creates an enrollment authority
# per province, issues each agent a token, runs an attesting test server and
# runs the collector with their authorities.csv and servers.csv (tokens and
# receipts required: the defaults), and says so in its first lines.
# Arguments go to ispeed-demo, e.g.
#   ./deploy/quickstart.sh --duration 30
#   ./deploy/quickstart.sh --kafka cluster   (a local 3-broker Apache Kafka)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/deploy/deps.sh"
cmake -S "$top" -B "$top/build/release" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$top/build/release" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
exec "$top/deploy/ispeed-demo" --bin "$top/build/release" --units "$top/deploy/demo-units.csv" \
  --cluster-script "$top/deploy/kafka/cluster.sh" "$@"
