#!/bin/bash
# The live dashboard (ispeedctl serve) in a real browser: Debian's chromium,
# headless, driven by playwright-core (tests/browser/dashboard.test.js).
# A month of QuotaStatus for every unit of the 2025-07 registry plus one
# commune named with markup is published on the embedded Kafka, standing
# on the 20th, with distinct agents and demand; then
#   - the province page shows exactly the counts and distinct agents of
#     ispeedctl quota --format csv, and exactly the recruiting list of
#     ispeedctl recruit --format csv at the page's instant;
#   - a status published while the page is open shows within 2 s, no reload;
#   - the markup name shows as text; every request goes to 127.0.0.1;
#   - the same month served once it is over says "chưa đạt", not "behind";
#   - a POST is refused with 405 and Allow: GET, HEAD;
#   - screenshots at desktop and phone width: $BUILD/dashboard-*.png.
# The clock stands on 2025-07-20 12:00 (+07), so the test is the same on
# any day; the closed month's server on 2025-08-10.
# Skips (77) without chromium, node or npm; playwright-core comes from the
# npm registry once (npm ci into $ISPEED_NPM_CACHE, default
# ~/.cache/ispeed/browser-test) and is reused from there.
# Usage: dashboard_browser.sh BUILD_DIR
BUILD=${1:?usage: dashboard_browser.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ISPEED_NOW=2025-07-20T12:00:00
source "$HERE/lib.sh"

CHROMIUM=${ISPEED_CHROMIUM:-/usr/bin/chromium}
for c in "$CHROMIUM" "$(command -v node || true)" "$(command -v npm || true)"; do
  [ -n "$c" ] && [ -x "$c" ] || { echo "SKIP: needs chromium, node and npm (deploy/deps.sh installs them)" >&2; exit 77; }
done
CTL=$BUILD/ctl/ispeedctl
PUB=$BUILD/tests/ispeed-publish-quota
MONTH=2025-07
PROVINCE=01
MARKUP_CODE=99999
MARKUP_NAME='<img src=x onerror=alert(1)>'

# playwright-core, installed from the committed lock file, kept between runs.
CACHE=${ISPEED_NPM_CACHE:-$HOME/.cache/ispeed/browser-test}
LOCKSUM=$(sha256sum "$HERE/../browser/package-lock.json" | cut -c1-16)
MODS=$CACHE/$LOCKSUM
if [ ! -d "$MODS/node_modules/playwright-core" ]; then
  mkdir -p "$MODS"
  cp "$HERE/../browser/package.json" "$HERE/../browser/package-lock.json" "$MODS/"
  (cd "$MODS" && npm ci --no-audit --no-fund --ignore-scripts >"$WORK/npm.log" 2>&1) ||
    fail "npm ci of playwright-core failed: $(tail -n 3 "$WORK/npm.log")"
fi

# The 2025-07 registry and one commune of province 01 named with markup.
UNITS=$WORK/units.csv
cp "$DATA/vn-units-2025-07.csv" "$UNITS"
echo "$MARKUP_CODE,commune,$PROVINCE,$MARKUP_NAME,Xã" >>"$UNITS"
NPROV=$(awk -F, '$2 == "province"' "$UNITS" | wc -l)
# A commune added after the month's statuses were made: it has none, and
# the province page must list it with 0 (quota --format csv does not).
NOSTATUS_CODE=99998

start_kafka --units "$UNITS"
python3 "$HERE/../browser/gen_quota.py" "$UNITS" "$MONTH" 20250701 --day "$(it_day)" >"$WORK/quota.lines"
echo "$NOSTATUS_CODE,commune,$PROVINCE,Xã Chưa Có Mẫu,Xã" >>"$UNITS"
"$PUB" -b "$BOOTSTRAP" quota <"$WORK/quota.lines" || fail "publishing the month's statuses failed"
# Three alerts of the province, one of the markup commune.
T=1753600000000
"$PUB" -b "$BOOTSTRAP" alert <<EOF || fail "publishing alerts failed"
00004|Phường Ba Đình|commune|$PROVINCE|$PROVINCE|$MONTH|mobile|ON_TRACK|BEHIND|150|240.0|300|180.0|$T
$MARKUP_CODE|$MARKUP_NAME|commune|$PROVINCE|$PROVINCE|$MONTH|fixed|ON_TRACK|BEHIND|20|240.0|300|25.0|$((T + 60000))
00008|Phường Ngọc Hà|commune|$PROVINCE|$PROVINCE|$MONTH|fixed|BEHIND|MET|300|280.0|300|310.0|$((T + 120000))
EOF
note "published $(wc -l <"$WORK/quota.lines") statuses"

PORT=$(free_port)
"$CTL" serve -b "$BOOTSTRAP" --listen "127.0.0.1:$PORT" --units "$UNITS" --month "$MONTH" \
  >"$WORK/serve.out" 2>"$WORK/serve.err" &
PIDS+=($!)
wait_for 60 grep -q '^serving' "$WORK/serve.out" || fail "ispeedctl serve did not start: $(cat "$WORK/serve.err")"
curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/national" || fail "/api/national does not answer"
# Read-only: a POST is refused with 405 and the methods there are.
curl -s -o /dev/null -D "$WORK/post.h" -X POST --data x "http://127.0.0.1:$PORT/api/national" || fail "POST: no answer"
head -n1 "$WORK/post.h" | grep -q ' 405 ' || fail "POST answered $(head -n1 "$WORK/post.h")"
grep -qi '^Allow: GET, HEAD' "$WORK/post.h" || fail "405 without Allow: GET, HEAD: $(tr -d '\r' <"$WORK/post.h" | tr '\n' '|')"
curl -sfI -o /dev/null "http://127.0.0.1:$PORT/p/$PROVINCE" || fail "HEAD /p/$PROVINCE failed"
# The same month served once it is over (the clock on 2025-08-10).
CPORT=$(free_port)
ISPEED_NOW=$(it_instant_ms 2025-08-10T12:00:00) "$CTL" serve -b "$BOOTSTRAP" --listen "127.0.0.1:$CPORT" --units "$UNITS" \
  --month "$MONTH" >"$WORK/serve-closed.out" 2>"$WORK/serve-closed.err" &
PIDS+=($!)
wait_for 60 grep -q '^serving' "$WORK/serve-closed.out" ||
  fail "ispeedctl serve (closed month) did not start: $(cat "$WORK/serve-closed.err")"

"$CTL" quota -b "$BOOTSTRAP" --province "$PROVINCE" --month "$MONTH" --format csv >"$WORK/quota.csv" ||
  fail "ispeedctl quota failed"

# The live step: a commune of the province gets one more fixed sample.
LIVE=$(python3 - "$WORK/quota.csv" "$MONTH" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], encoding="utf-8"))
        if r["level"] == "commune" and r["network"] == "fixed" and r["code"] != "99999"]
r = rows[len(rows) // 2]
c = int(r["count"]) + 1
line = "|".join([r["code"], r["name"], "commune", r["parent"], "01", sys.argv[2], "fixed", str(c), r["target"],
                 r["target"], "MET" if c >= int(r["target"]) else "BEHIND", str(c), r["median_download_bps"],
                 r["median_upload_bps"], r["median_latency_ms"], str(int(r["updated_ms"]) + 1000)])
print(r["code"], c, line, sep="\t")
PY
)
IFS=$'\t' read -r LIVE_CODE LIVE_COUNT LIVE_LINE <<<"$LIVE"
DAILY_CODE=$(awk -F, -v p="$PROVINCE" '$2 == "commune" && $3 == p { print $1; exit }' "$UNITS")

mkdir -p "$WORK/shots"
python3 - "$WORK/config.json" <<PY
import json, sys
json.dump({"url": "http://127.0.0.1:$PORT", "closed_url": "http://127.0.0.1:$CPORT", "province": "$PROVINCE",
           "quota_csv": "$WORK/quota.csv",
           "recruit": ["$CTL", "recruit", "-b", "$BOOTSTRAP", "--province", "$PROVINCE", "--units", "$UNITS", "--format", "csv"],
           "markup_code": "$MARKUP_CODE", "nostatus_code": "$NOSTATUS_CODE", "markup_name": """$MARKUP_NAME""", "daily_code": "$DAILY_CODE",
           "live_code": "$LIVE_CODE", "live_count": int("$LIVE_COUNT"), "live_line": """$LIVE_LINE""",
           "publish": ["$PUB", "-b", "$BOOTSTRAP", "quota"], "out": "$WORK/shots", "provinces": int("$NPROV"),
           "chromium": "$CHROMIUM"}, open(sys.argv[1], "w"))
PY
NODE_PATH=$MODS/node_modules node "$HERE/../browser/dashboard.test.js" "$WORK/config.json" ||
  fail "the browser test failed (serve log: $(tail -n 3 "$WORK/serve.err"))"
for f in "$WORK"/shots/dashboard-*.png; do cp "$f" "$BUILD/"; done
note "screenshots: $(cd "$WORK/shots" && ls dashboard-*.png | tr '\n' ' ')in $BUILD"
echo PASS
