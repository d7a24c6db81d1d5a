#!/usr/bin/env bash
# ispeed-sim is deterministic for a seed: the same seed gives byte-identical
# output (tables and HTML), another seed a different placement; bad usage
# exits 2 with one line on stderr.
BUILD=$(cd "$1" && pwd)
source "$(dirname "$0")/lib.sh"
SIM="$BUILD/tools/sim/ispeed-sim"
UNITS="$DATA/vn-units-2025-07.csv"
ARGS=(--units "$UNITS" --volunteers 4000 --show 20)

"$SIM" "${ARGS[@]}" --seed 7 --html "$WORK/a.html" >"$WORK/a.txt" 2>"$WORK/a.err" || fail "run a: $(cat "$WORK/a.err")"
"$SIM" "${ARGS[@]}" --seed 7 --html "$WORK/b.html" >"$WORK/b.txt" 2>"$WORK/b.err" || fail "run b: $(cat "$WORK/b.err")"
"$SIM" "${ARGS[@]}" --seed 8 >"$WORK/c.txt" 2>"$WORK/c.err" || fail "run c: $(cat "$WORK/c.err")"
cmp "$WORK/a.txt" "$WORK/b.txt" || fail "same seed, different tables"
cmp "$WORK/a.html" "$WORK/b.html" || fail "same seed, different HTML"
! cmp -s "$WORK/a.txt" "$WORK/c.txt" || fail "seeds 7 and 8 gave the same output: the seed is not used"
# The run did something: both policies, counted samples, a recruiting list.
grep -q '^policy static$' "$WORK/a.txt" || fail "no static table"
grep -q '^policy adaptive$' "$WORK/a.txt" || fail "no adaptive table"
counted=$(awk '/^  samples:/ {print $2; exit}' "$WORK/a.txt")
[ "${counted:-0}" -gt 1000 ] || fail "static counted ${counted:-nothing}"
grep -q '<svg' "$WORK/a.html" || fail "no SVG chart in the HTML"

# The volunteers CSV: the same placement twice is the same run too.
printf 'code,fixed,mobile\n00004,1,0\n00008,0,3\n' >"$WORK/v.csv"
"$SIM" --units "$UNITS" --volunteers-file "$WORK/v.csv" --policy adaptive >"$WORK/v1.txt" 2>/dev/null || fail "csv run"
"$SIM" --units "$UNITS" --volunteers-file "$WORK/v.csv" --policy adaptive >"$WORK/v2.txt" 2>/dev/null || fail "csv run 2"
cmp "$WORK/v1.txt" "$WORK/v2.txt" || fail "same CSV, different output"
grep -q '4 volunteers' "$WORK/v1.txt" || fail "the CSV's 4 volunteers were not read: $(head -1 "$WORK/v1.txt")"

set +e
"$SIM" --policy sometimes >/dev/null 2>"$WORK/e.err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "bad --policy exited $rc, want 2"
[ "$(wc -l <"$WORK/e.err")" -eq 1 ] || fail "bad --policy: not one line on stderr"
printf 'code,fixed,mobile\nnope,1,1\n' >"$WORK/bad.csv"
set +e
"$SIM" --units "$UNITS" --volunteers-file "$WORK/bad.csv" >/dev/null 2>"$WORK/f.err"; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "unknown commune in the CSV exited $rc, want 1"
grep -q 'line 2' "$WORK/f.err" || fail "the error does not name the line: $(cat "$WORK/f.err")"
"$SIM" --help | grep -q -- '--policy' || fail "--help says nothing of --policy"
echo PASS
