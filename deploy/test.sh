#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds the release and the
# sanitizer (ASan + UBSan) builds, and runs every test on both with ctest.
# Usage: ./deploy/test.sh [ctest arguments, e.g. -R unit]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
start=$(date +%s)
jobs=$(nproc 2>/dev/null || echo 2)

"$top/deploy/deps.sh"

if [ ! -d "$top/../shared/data" ]; then
  echo "test.sh: ../shared/data not found beside the checkout; the tests read the registries from there" >&2
  exit 1
fi

# The real Kafka cluster's jars (deploy/kafka/), fetched once from Maven
# Central into a cache: the kafka_* tests then start without the network.
"$top/deploy/kafka/fetch.sh" >/dev/null

build() { # dir, cmake args...
  local dir=$1; shift
  cmake -S "$top" -B "$dir" -DISPEED_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

build "$top/build/release" -DCMAKE_BUILD_TYPE=Release
build "$top/build/sanitize" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DISPEED_SANITIZE=ON

# Leak checks on; a UBSan finding aborts the test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
for variant in release sanitize; do
  echo "== ctest ($variant)"
  (cd "$top/build/$variant" && ctest --output-on-failure -j "$jobs" "$@") || status=1
done
echo "test.sh: $(( $(date +%s) - start )) s, status $status"
exit $status
