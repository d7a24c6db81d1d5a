#!/usr/bin/env bash
# Fetches the pinned Kafka broker (pom.xml) and its runtime jars from Maven
# Central into a cache, once; later runs touch no network. Prints the
# directory of the jars. The cache is ISPEED_KAFKA_CACHE (default
# ~/.cache/ispeed), one folder per version: kafka-<version>/libs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in
  -h|--help) echo "usage: $(basename "$0")   (prints the directory of the cached Kafka jars)"; exit 0 ;;
  "") ;;
  *) echo "fetch.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
[ -n "$version" ] || { echo "fetch.sh: no <kafka.version> in $here/pom.xml" >&2; exit 1; }
libs=${ISPEED_KAFKA_CACHE:-$HOME/.cache/ispeed}/kafka-$version/libs
# .complete is written last: a fetch cut short is redone, never half used.
if [ ! -f "$libs/.complete" ]; then
  command -v mvn >/dev/null || { echo "fetch.sh: mvn not found: run deploy/deps.sh (Debian package maven)" >&2; exit 1; }
  tmp="$libs.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  echo "fetch.sh: fetching Kafka $version from Maven Central into $libs" >&2
  if ! mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
         -DoutputDirectory="$tmp" >"$tmp.log" 2>&1; then
    echo "fetch.sh: mvn could not fetch Kafka $version (log: $tmp.log): is Maven Central reachable?" >&2
    exit 1
  fi
  [ -f "$tmp/kafka_2.13-$version.jar" ] || { echo "fetch.sh: mvn finished without kafka_2.13-$version.jar in $tmp" >&2; exit 1; }
  rm -f "$tmp.log"; rm -rf "$libs"; mv "$tmp" "$libs"
  echo "$version" >"$libs/.complete"
fi
echo "$libs"
