#!/usr/bin/env bash
# On the default generator (20,000 volunteers over the 2025-07 registry),
# the adaptive policy is never worse than the static one in communes meeting
# the target, in either class, and moves less data; the same on a second,
# flatter placement (--zipf 0.5).
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
SIM="$BUILD/tools/sim/ispeed-sim"
UNITS="$DATA/vn-units-2025-07.csv"

check() { # label, extra args...
  local label=$1; shift
  "$SIM" --units "$UNITS" --show 0 "$@" >"$WORK/$label.txt" 2>"$WORK/$label.err" || fail "$label: $(cat "$WORK/$label.err")"
  note "$label: $(grep -E 'communes meeting:|data:' "$WORK/$label.txt" | tr -s ' ' | tr '\n' ';')"
  for class in fixed mobile; do
    # "  fixed  communes meeting: ADAPTIVE vs STATIC (+N)"
    read -r ad st < <(awk -v c="$class" '$1 == c && $2 == "communes" && $3 == "meeting:" {print $4, $6}' "$WORK/$label.txt")
    [ -n "${ad:-}" ] && [ -n "${st:-}" ] || fail "$label: no comparison line for $class"
    [ "$ad" -ge "$st" ] || fail "$label: adaptive meets the target in $ad $class communes, static in $st"
  done
  [ "$(awk '$1 == "fixed" && $3 == "meeting:" {print $6}' "$WORK/$label.txt")" -gt 100 ] ||
    fail "$label: static met almost nothing: the run is not a test"
  # "  samples: A vs S; data: X GB vs Y GB (P%)"
  pct=$(sed -n 's/^  samples: .* (\([0-9]*\)%)$/\1/p' "$WORK/$label.txt")
  [ -n "$pct" ] && [ "$pct" -lt 100 ] || fail "$label: adaptive moved ${pct:-?}% of static's data"
}
check default
check flat --zipf 0.5 --seed 3
echo PASS
