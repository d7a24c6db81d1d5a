#!/usr/bin/env bash
# Installs the Debian 12 packages ispeed needs to build, test and run its
# quick start, if any is missing: one apt-get update, one apt-get install.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  librdkafka-dev libevent-dev libprotobuf-c-dev protobuf-c-compiler libzstd-dev libsodium-dev libinih-dev
  libcmocka-dev
  protobuf-compiler kcat curl python3 iproute2 procps openssl
  openjdk-17-jre-headless maven
  clang libclang-rt-14-dev
  chromium
  nodejs npm # the dashboard's browser test drives chromium with playwright-core
)
if [ "${ISPEED_DEPS_EXTRA:-}" ]; then read -r -a extra <<<"$ISPEED_DEPS_EXTRA"; packages+=("${extra[@]}"); fi

# A Node.js from elsewhere (NodeSource's nodejs ships npm inside, and
# conflicts with Debian's npm) serves as well as Debian's pair.
have_cmd() { case "$1" in nodejs) command -v node >/dev/null ;; npm) command -v npm >/dev/null ;; *) return 1 ;; esac; }
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || have_cmd "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: installing ${missing[*]}" >&2
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
