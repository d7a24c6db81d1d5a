// bench/dashboard.sh's browser half: loads a province page in headless
// chromium ROUNDS times (fresh context each, so nothing is cached) and
// prints the time from navigation start to the units table drawn (the
// page's own mark, body[data-refreshed-at]), then the same with the
// network idle. usage: node bench.js URL ROUNDS
'use strict';
const { chromium } = require('playwright-core');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

(async () => {
  const [url, rounds] = [process.argv[2], +(process.argv[3] || 5)];
  const browser = await chromium.launch({ executablePath: process.env.ISPEED_CHROMIUM || '/usr/bin/chromium', args: ARGS });
  const times = [];
  let rows = 0;
  for (let i = 0; i < rounds; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.refreshedAt, null, { timeout: 30000 });
    const ms = await page.evaluate(() => Number(document.body.dataset.refreshedAt) - performance.timeOrigin);
    const parts = await page.evaluate(() => {
      const r = (s) => performance.getEntriesByType('resource').find((e) => e.name.includes(s));
      const js = r('/static/dash.js'), data = r('/api/province/');
      return { js_loaded: Math.round(js.responseEnd), json_asked: Math.round(data.startTime), json_done: Math.round(data.responseEnd) };
    });
    console.error(`round ${i + 1}: drawn ${Math.round(ms)} ms; ` + Object.entries(parts).map(([k, v]) => `${k} ${v}`).join(', '));
    rows = await page.$$eval('#units tbody tr', (x) => x.length);
    times.push(ms);
    await ctx.close();
  }
  await browser.close();
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ rows, median_ms: Math.round(times[Math.floor(times.length / 2)]),
    max_ms: Math.round(times[times.length - 1]), min_ms: Math.round(times[0]) }));
})().catch((e) => { console.error(e); process.exit(1); });
