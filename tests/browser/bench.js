// bench/dashboard.sh's browser half: loads a province page in headless
// chromium ROUNDS times (fresh context each, so nothing is cached) and
// prints the time from navigation start to the page drawn, units table and
// recruiting list laid out and painted (the page's own mark,
// body[data-painted-at], taken in the task after the frame that follows
// the draw), with where the time went: the script loaded, the JSON asked
// and received, the DOM built (body[data-refreshed-at]), and chromium's
// main-thread seconds of script, style, layout and all tasks.
// usage: node bench.js URL ROUNDS
'use strict';
const { chromium } = require('playwright-core');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

(async () => {
  const [url, rounds] = [process.argv[2], +(process.argv[3] || 5)];
  const browser = await chromium.launch({ executablePath: process.env.ISPEED_CHROMIUM || '/usr/bin/chromium', args: ARGS });
  const times = [];
  let rows = 0, recruitRows = 0;
  for (let i = 0; i < rounds; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    // Chromium's own counters: where the main thread's time went.
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.paintedAt, null, { timeout: 30000 });
    const ms = await page.evaluate(() => Number(document.body.dataset.paintedAt) - performance.timeOrigin);
    const built = await page.evaluate(() => Number(document.body.dataset.refreshedAt) - performance.timeOrigin);
    const m = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((x) => [x.name, x.value]));
    const parts = await page.evaluate(() => {
      const r = (s) => performance.getEntriesByType('resource').find((e) => e.name.includes(s));
      const js = r('/static/dash.js'), data = r('/api/province/');
      return { js_loaded: Math.round(js.responseEnd), json_asked: Math.round(data.startTime), json_done: Math.round(data.responseEnd) };
    });
    parts.dom_built = Math.round(built);
    for (const [k, n] of [['ScriptDuration', 'script'], ['RecalcStyleDuration', 'style'], ['LayoutDuration', 'layout'], ['TaskDuration', 'all_tasks']])
      parts[n] = Math.round(1000 * (m[k] || 0));
    console.error(`round ${i + 1}: painted ${Math.round(ms)} ms; ` + Object.entries(parts).map(([k, v]) => `${k} ${v}`).join(', '));
    rows = await page.$$eval('#units tbody tr', (x) => x.length);
    recruitRows = await page.$$eval('#recruit-list tbody tr', (x) => x.length);
    times.push(ms);
    await ctx.close();
  }
  await browser.close();
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ rows, recruit_rows: recruitRows, median_ms: Math.round(times[Math.floor(times.length / 2)]),
    max_ms: Math.round(times[times.length - 1]), min_ms: Math.round(times[0]) }));
})().catch((e) => { console.error(e); process.exit(1); });
