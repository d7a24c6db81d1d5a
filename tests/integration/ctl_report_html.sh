#!/bin/sh
# The HTML report in a real browser: headless Chromium loads the one file
# (no network: nothing in it may be fetched), renders it, and the rendered
# page has the national tables and, per province, a section with its table
# and its SVG chart; printed to PDF it breaks pages per province. Exits 77
# (skipped) without Chromium. ISPEED_SCREENSHOT_DIR=DIR keeps the screenshot
# and the PDF for a person to look at. Usage: ctl_report_html.sh BUILD_DIR
set -eu

BUILD=${1:?usage: ctl_report_html.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
GOLDEN=$HERE/../golden
DATA=${ISPEED_DATA_DIR:-$(cd "$HERE/../../../shared/data" && pwd)}
CTL=$BUILD/ctl/ispeedctl
PUB=$BUILD/tests/ispeed-publish-quota
KDEV=$BUILD/kafkadev/ispeed-kafka-dev

CHROMIUM=
for c in chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null 2>&1; then
        CHROMIUM=$(command -v "$c")
        break
    fi
done
if [ -z "$CHROMIUM" ]; then
    echo "SKIP: no Chromium (apt-get install chromium); the HTML report is not checked in a browser" >&2
    exit 77
fi

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

# A browser that asks nothing of the network and keeps no state.
browse() {
    timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$TMP/profile" "$@" \
        2>>"$TMP/chromium.err"
}

awk -F, 'NR == 1 || $1 == "01" || $1 == "02" || $1 == "001" || $1 == "002" || $1 == "024" ||
         ($2 == "commune" && ($3 == "001" || $3 == "002" || $3 == "024")) {
             if ($2 == "commune" && ++n[$3] > 3) next
             print
         }' "$DATA/vn-units-2025-03.csv" >"$TMP/units.csv"

"$KDEV" --brokers 1 --partitions 4 >"$TMP/kdev.out" 2>"$TMP/kdev.err" &
KPID=$!
i=0
while [ ! -s "$TMP/kdev.out" ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "ispeed-kafka-dev printed no bootstrap: $(cat "$TMP/kdev.err")"
    sleep 0.1
done
B=$(head -n 1 "$TMP/kdev.out")
"$PUB" -b "$B" quota <"$GOLDEN/quota-2025-03.psv" || fail "publishing the records"

"$CTL" report -b "$B" --month 2025-03 --units "$TMP/units.csv" --format html -o "$TMP/report.html" ||
    fail "report --format html"
"$CTL" report -b "$B" --month 2025-03 --units "$TMP/units.csv" --format html --lang en >"$TMP/report-en.html" ||
    fail "report --format html --lang en"

# Self-contained: no script, no stylesheet or image to fetch. The only URL
# is the SVG namespace, a name that is never fetched.
H=$TMP/report.html
! grep -qi '<script\|<link\|<img\|@import\|url(\|src=' "$H" || fail "the report refers to outside resources"
[ "$(grep -o 'https\?://[^"]*' "$H" | sort -u)" = "http://www.w3.org/2000/svg" ] ||
    fail "URLs in the report: $(grep -o 'https\?://[^"]*' "$H" | sort -u | tr '\n' ' ')"
grep -q '<html lang="vi">' "$H" || fail "not marked Vietnamese"
grep -q '<html lang="en">' "$TMP/report-en.html" || fail "--lang en not marked English"
grep -q '<h1>Báo cáo kết quả đo tốc độ truy cập Internet tháng 03/2025</h1>' "$H" || fail "Vietnamese title"
grep -q '@media print' "$H" || fail "no print style"

browse --dump-dom "file://$H" >"$TMP/dom.html" || fail "chromium --dump-dom: $(tail -n 3 "$TMP/chromium.err")"
grep -q '<table class="provinces">' "$TMP/dom.html" || fail "no table of provinces in the rendered page"
for p in 01 02; do
    # Each province's section holds its figures table, its chart and its
    # list of units behind.
    sed -n "/<section class=\"province\" id=\"p-$p\">/,/<\/section>/p" "$TMP/dom.html" >"$TMP/sec.html"
    [ -s "$TMP/sec.html" ] || fail "no section for province $p"
    [ "$(grep -c '<svg' "$TMP/sec.html")" -eq 1 ] || fail "province $p has no chart"
    grep -q '<polyline class="series"' "$TMP/sec.html" || fail "province $p chart has no series"
    grep -q '<line class="pace"' "$TMP/sec.html" || fail "province $p chart has no pace line"
    [ "$(grep -c '<table' "$TMP/sec.html")" -eq 2 ] || fail "province $p: expected 2 tables"
done
[ "$(grep -c '<svg' "$TMP/dom.html")" -eq 2 ] || fail "expected one chart per province"

# Distinct agents (issue 12): the figures tables carry agents and communes
# met with one agent's samples, the units' tables the agents per class. The
# input (quota-2025-03.psv) gives province 01 9 fixed agents, province 02's
# fixed statuses none (a collector that did not count them: "–"), and
# commune 00001 met its fixed target with 1 agent.
cell() { # the cells of the table row whose first cell is $1, tab-separated
    python3 - "$TMP/dom.html" "$1" "$2" <<'PY'
import html, re, sys
doc, first, table = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2], sys.argv[3]
part = doc.split('<table class="%s">' % table, 1)[1].split("</table>", 1)[0] if table else doc
for tr in re.findall(r"<tr>(.*?)</tr>", part, re.S):
    cells = [html.unescape(re.sub(r"<[^>]*>", "", c)).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)]
    if cells and cells[0] == first:
        print("\t".join(cells))
        break
PY
}
head=$(cell "Loại mạng" figures)
[ "$head" = "$(printf 'Loại mạng\tSố mẫu đo\tTỉnh đạt\tHuyện đạt\tXã đạt\tMáy đo\tXã đạt 1 máy')" ] ||
    fail "national table head without the agents' columns: $head"
[ "$(cell "băng rộng cố định" figures | cut -f 6,7)" = "$(printf '9\t1')" ] ||
    fail "national fixed row: agents and met with one agent are not 9 and 1: $(cell "băng rộng cố định" figures)"
sed -n '/<section class="province" id="p-01">/,/<\/section>/p' "$TMP/dom.html" >"$TMP/sec.html"
python3 - "$TMP/sec.html" <<'PY' || fail "province 01: commune 00001 not shown met by 1 fixed agent, 2 mobile"
import re, sys
s = open(sys.argv[1], encoding="utf-8").read()
row = re.search(r"<tr><td>00001</td>(.*?)</tr>", s, re.S).group(1)
cells = [re.sub(r"<[^>]*>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
sys.exit(0 if cells[2:] == ["310/300", "1", "50/300", "2"] else 1)
PY
grep -q '<td class="n agents">–</td>' "$TMP/dom.html" || fail "province 02's uncounted agents are not shown as –"

browse --screenshot="$TMP/shot.png" --window-size=1200,2000 "file://$H" >/dev/null ||
    fail "chromium --screenshot: $(tail -n 3 "$TMP/chromium.err")"
[ "$(head -c 8 "$TMP/shot.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "screenshot is not a PNG"
[ "$(wc -c <"$TMP/shot.png")" -gt 20000 ] || fail "screenshot is suspiciously small (blank page?)"

# Printed: the national part, then one page (at least) per province.
browse --no-pdf-header-footer --print-to-pdf="$TMP/report.pdf" "file://$H" >/dev/null ||
    fail "chromium --print-to-pdf: $(tail -n 3 "$TMP/chromium.err")"
pages=$(python3 -c 'import re, sys; print(len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", open(sys.argv[1], "rb").read())))' \
    "$TMP/report.pdf")
[ "$pages" -ge 3 ] || fail "the PDF has $pages pages; expected a page break per province"

if [ -n "${ISPEED_SCREENSHOT_DIR:-}" ]; then
    cp "$TMP/shot.png" "$TMP/report.pdf" "$H" "$ISPEED_SCREENSHOT_DIR/"
    echo "kept the screenshot, the PDF and the HTML in $ISPEED_SCREENSHOT_DIR" >&2
fi
echo "PASS ($pages PDF pages)"
