#!/bin/sh
# ispeedctl's printed output, byte for byte: the quota table and the monthly
# report (Vietnamese and English tables, CSV) of a fixed month, from the
# records in tests/golden/quota-2025-03.psv and a small registry cut at run
# time from the real 2025-03 one (provinces 01 and 02, three districts,
# three communes each). Also the report's one-line errors and exit codes.
# ISPEED_GOLDEN_UPDATE=1 rewrites the golden files instead of comparing
# (see tests/golden/README.md). Usage: ctl_golden.sh BUILD_DIR
set -eu

BUILD=${1:?usage: ctl_golden.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
GOLDEN=$HERE/../golden
DATA=${ISPEED_DATA_DIR:-$(cd "$HERE/../../../shared/data" && pwd)}
CTL=$BUILD/ctl/ispeedctl
PUB=$BUILD/tests/ispeed-publish-quota
KDEV=$BUILD/kafkadev/ispeed-kafka-dev
TMP=$(mktemp -d)
KPID=

cleanup() {
    [ -n "$KPID" ] && kill "$KPID" 2>/dev/null && wait "$KPID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

expect_rc() {
    want=$1
    shift
    set +e
    "$@" >"$TMP/out" 2>"$TMP/err"
    got=$?
    set -e
    [ "$got" -eq "$want" ] || fail "exit $got, expected $want: $* ($(cat "$TMP/err"))"
}

one_line_error() {
    grep -q "$1" "$TMP/err" || fail "expected '$1' on stderr: $(cat "$TMP/err")"
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "error is not one line: $(cat "$TMP/err")"
}

# golden NAME CMD...: CMD's stdout must equal tests/golden/NAME.
golden() {
    name=$1
    shift
    expect_rc 0 "$@"
    if [ "${ISPEED_GOLDEN_UPDATE:-}" = 1 ]; then
        cp "$TMP/out" "$GOLDEN/$name"
        echo "updated $GOLDEN/$name"
    else
        diff -u "$GOLDEN/$name" "$TMP/out" || fail "$name differs from the golden file (ISPEED_GOLDEN_UPDATE=1 rewrites it)"
    fi
}

[ -r "$DATA/vn-units-2025-03.csv" ] || fail "no registry $DATA/vn-units-2025-03.csv (set ISPEED_DATA_DIR)"
# The sub-registry: never copied into the repository, cut from the data.
awk -F, 'NR == 1 || $1 == "01" || $1 == "02" || $1 == "001" || $1 == "002" || $1 == "024" ||
         ($2 == "commune" && ($3 == "001" || $3 == "002" || $3 == "024")) {
             if ($2 == "commune" && ++n[$3] > 3) next
             print
         }' "$DATA/vn-units-2025-03.csv" >"$TMP/units.csv"
[ "$(wc -l <"$TMP/units.csv")" -eq 15 ] || fail "sub-registry has $(wc -l <"$TMP/units.csv") lines, expected 15"

"$KDEV" --brokers 1 --partitions 4 >"$TMP/kdev.out" 2>"$TMP/kdev.err" &
KPID=$!
i=0
while [ ! -s "$TMP/kdev.out" ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "ispeed-kafka-dev printed no bootstrap: $(cat "$TMP/kdev.err")"
    sleep 0.1
done
B=$(head -n 1 "$TMP/kdev.out")
"$PUB" -b "$B" quota <"$GOLDEN/quota-2025-03.psv" || fail "publishing the golden records"

golden quota-table.txt "$CTL" quota -b "$B" --province 01 --month 2025-03 --units "$TMP/units.csv"
golden report-vi.txt "$CTL" report -b "$B" --month 2025-03 --units "$TMP/units.csv"
golden report-en.txt "$CTL" report -b "$B" --month 2025-03 --units "$TMP/units.csv" --lang en
golden report-csv.txt "$CTL" report -b "$B" --month 2025-03 --units "$TMP/units.csv" --format csv
golden report-province-en.txt "$CTL" report -b "$B" --month 2025-03 --units none --province 02 --lang en

# The tables fit 100 columns, counted in characters, not bytes.
for f in quota-table.txt report-vi.txt report-en.txt report-province-en.txt; do
    python3 -c 'import sys; sys.exit(max(len(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8")) > 100)' \
        "$GOLDEN/$f" || fail "$f is wider than 100 columns"
done
# -o writes the same bytes to a file.
expect_rc 0 "$CTL" report -b "$B" --month 2025-03 --units "$TMP/units.csv" -o "$TMP/report.txt"
cmp -s "$TMP/report.txt" "$GOLDEN/report-vi.txt" || fail "-o FILE differs from stdout"

# Errors: one line each, 2 for misuse, 1 for failure.
expect_rc 2 "$CTL" report -b "$B"
one_line_error 'month YYYY-MM is required'
expect_rc 2 "$CTL" report -b "$B" --month 2999-01
one_line_error 'month 2999-01 is in the future'
expect_rc 2 "$CTL" report -b "$B" --month 2025-3
one_line_error 'malformed'
expect_rc 2 "$CTL" report -b "$B" --month 2025-03 --units "$TMP/units.csv" --province 79
one_line_error 'unknown province 79'
expect_rc 2 "$CTL" report -b "$B" --month 2025-03 --lang fr
expect_rc 2 "$CTL" report -b "$B" --month 2025-03 --format pdf
expect_rc 1 "$CTL" report -b "$B" --month 2025-03 --units none --province 79
one_line_error 'no quota topic ispeed.quota.79'
expect_rc 1 "$CTL" report -b "$B" --month 2025-03 --units none --topic-prefix other.
one_line_error 'no quota topics other.quota.\*'
expect_rc 1 "$CTL" report -b 127.0.0.1:1 --month 2025-03 --units none
one_line_error 'cannot reach Kafka'
expect_rc 0 "$CTL" report --help

echo PASS
