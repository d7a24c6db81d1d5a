// The dashboard in a real browser (Debian's chromium, driven by
// playwright-core): the province page shows exactly the counts and
// distinct agents of "ispeedctl quota --format csv" and the recruiting
// list of "ispeedctl recruit --format csv" at the page's own instant, a
// closed month says "chưa đạt" (not met), not behind, a status published while the page is
// open shows within 2 s without a reload (Server-Sent Events), a unit name
// with markup shows as text, every request stays on 127.0.0.1, the CSP
// header is there, the English switch works; screenshots at desktop and
// phone width go to the output directory.
// usage: node dashboard.test.js CONFIG.json (written by
// tests/integration/dashboard_browser.sh).
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { chromium } = require('playwright-core');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function fail(msg) { console.error('FAIL: ' + msg); process.exit(1); }
function note(msg) { console.error('-- ' + msg); }

// code,network -> count from the CSV of ispeedctl quota (RFC 4180 quoting:
// names may hold commas and quotes).
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') q = false; else field += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
    else if (c !== '\r') field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  const head = rows.shift();
  return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}

// A long table is drawn cut at its first rows with a "show all" button
// under it (#units-more, #recruit-more): press them, so every row is there.
async function showAll(page) {
  for (const id of ['#units-more', '#recruit-more']) {
    const b = await page.$(id + ' button');
    if (!b) continue;
    await b.click();
    await page.waitForFunction((x) => !document.querySelector(x + ' button'), id);
  }
}

(async () => {
  const browser = await chromium.launch({ executablePath: cfg.chromium || '/usr/bin/chromium', args: ARGS });
  const requests = [];
  const dialogs = [];
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.on('request', (r) => requests.push(r.url()));
  const page = await context.newPage();
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  // ---- the province page against ispeedctl quota --format csv
  const resp = await page.goto(cfg.url + '/p/' + cfg.province);
  const csp = resp.headers()['content-security-policy'] || '';
  if (!/script-src 'self'/.test(csp) || /unsafe-inline/.test(csp)) fail('no strict Content-Security-Policy: ' + csp);
  await page.waitForSelector('#units tbody tr');
  // Drawn first: the 200 most behind; all of them after "show all", the
  // first 200 unchanged.
  const firstRows = await page.$$eval('#units tbody tr', (trs) => trs.map((tr) => tr.dataset.code + '/' + tr.dataset.network));
  if (firstRows.length !== 200) fail(`the units table draws ${firstRows.length} rows first, not 200`);
  const moreText = await page.textContent('#units-more');
  const firstRecruit = await page.$$eval('#recruit-list tbody tr', (x) => x.length);
  await showAll(page);
  const allRows = await page.$$eval('#units tbody tr', (trs) => trs.map((tr) => tr.dataset.code + '/' + tr.dataset.network));
  if (allRows.length <= 200 || allRows.slice(0, 200).join() !== firstRows.join())
    fail(`after "show all" ${allRows.length} rows, the first 200 ${allRows.slice(0, 200).join() === firstRows.join() ? 'the same' : 'different'}`);
  note(`units table: 200 rows first ("${moreText}"), ${allRows.length} after "show all"`);
  const want = parseCsv(fs.readFileSync(cfg.quota_csv, 'utf8'));
  if (want.length < 10) fail('the quota CSV has only ' + want.length + ' rows');
  const got = await page.$$eval('#units tbody tr', (trs) => trs.map((tr) => ({
    code: tr.dataset.code, network: tr.dataset.network, nostatus: tr.dataset.nostatus === '1',
    value: tr.querySelector('td.count').dataset.value, text: tr.querySelector('td.count').textContent,
    name: tr.querySelector('td.name').textContent,
  })));
  // Units of the registry without any status are listed too (count 0,
  // marked): the page's other rows are exactly the CSV's.
  const noStatus = got.filter((g) => g.nostatus);
  if (noStatus.length !== 2 || noStatus.some((g) => g.code !== cfg.nostatus_code || g.value !== '0'))
    fail('units without a status on the page: ' + JSON.stringify(noStatus));
  const withStatus = got.filter((g) => !g.nostatus);
  if (withStatus.length !== want.length) fail(`province page has ${withStatus.length} rows with a status, quota --format csv ${want.length}`);
  const byKey = new Map(withStatus.map((g) => [g.code + '/' + g.network, g]));
  let checked = 0;
  for (const w of want) {
    const g = byKey.get(w.code + '/' + w.network);
    if (!g) fail(`unit ${w.code} ${w.network} of the CSV is not on the page`);
    // The count as the report writes it in Vietnamese: dots between thousands.
    const shown = Number(g.text.replace(/\./g, ''));
    if (g.value !== w.count || shown !== Number(w.count))
      fail(`unit ${w.code} ${w.network}: page shows ${g.text} (${g.value}), quota CSV ${w.count}`);
    if (g.name !== w.name) fail(`unit ${w.code}: page names it ${JSON.stringify(g.name)}, CSV ${JSON.stringify(w.name)}`);
    checked++;
  }
  const thousands = got.find((g) => Number(g.value) >= 1000);
  if (thousands && !/^\d{1,3}(\.\d{3})+$/.test(thousands.text)) fail('a count over 1000 is not written 1.234: ' + thousands.text);
  note(`province ${cfg.province}: ${checked} rows, every count equal to quota --format csv; ` +
    `${noStatus.length} rows of a unit without a status, shown 0`);

  // ---- distinct agents: the units table's column and the province's cards
  const agentCells = await page.$$eval('#units tbody tr', (trs) => trs.map((tr) => ({
    code: tr.dataset.code, network: tr.dataset.network, nostatus: tr.dataset.nostatus === '1',
    value: tr.querySelector('td.agents').dataset.value, text: tr.querySelector('td.agents').textContent })));
  const wantBy = new Map(want.map((w) => [w.code + '/' + w.network, w]));
  let withAgents = 0;
  for (const g of agentCells) {
    const w = g.nostatus ? { distinct_agents: '0' } : wantBy.get(g.code + '/' + g.network);
    if (g.value !== w.distinct_agents || g.text !== w.distinct_agents)
      fail(`unit ${g.code} ${g.network}: page shows ${g.text} (${g.value}) agents, quota CSV ${w.distinct_agents}`);
    if (Number(g.value) > 0) withAgents++;
  }
  if (withAgents < 10) fail(`only ${withAgents} rows with agents: the test data has none to compare`);
  const provCards = await page.$$eval('.card .prov-agents', (x) => x.map((d) => [d.closest('.card').dataset.network, d.dataset.value]));
  if (provCards.length !== 2) fail(`the province cards show ${provCards.length} distinct-agent figures, not 2`);
  for (const [net, v] of provCards) {
    const w = want.find((r) => r.level === 'province' && r.code === cfg.province && r.network === net);
    if (!w || w.distinct_agents !== v) fail(`province ${net}: card shows ${v} agents, quota CSV ${w && w.distinct_agents}`);
  }
  note(`distinct agents: ${agentCells.length} rows (${withAgents} with agents) and both province cards equal to quota --format csv`);

  // ---- the recruiting list against ispeedctl recruit at the page's instant
  // (ISPEED_NOW: the same clock, so days left and rates are the same).
  const nowMs = await page.getAttribute('#recruit', 'data-now-ms');
  if (!/^\d+$/.test(nowMs || '')) fail('the recruiting list has no instant: ' + nowMs);
  const env = { ...process.env, ISPEED_NOW: nowMs };
  delete env.ISPEED_NOW_AT;
  let recruitCsv;
  try { recruitCsv = execFileSync(cfg.recruit[0], cfg.recruit.slice(1), { env, encoding: 'utf8' }); } catch (e) {
    fail('ispeedctl recruit failed: ' + (e.stderr || e.message));
  }
  const wantR = parseCsv(recruitCsv);
  const gotR = await page.$$eval('#recruit-list tbody tr', (trs) => trs.map((tr) => {
    const o = { code: tr.dataset.code, network: tr.dataset.network, name: tr.children[1].textContent };
    tr.querySelectorAll('td[data-key]').forEach((td) => { o[td.dataset.key] = td.dataset.value; });
    return o;
  }));
  const nets = new Set(wantR.map((r) => r.network));
  if (wantR.length < 20 || nets.size !== 2) fail(`recruit lists ${wantR.length} rows (${[...nets]}): too few to compare`);
  if (firstRecruit !== Math.min(100, wantR.length)) fail(`the recruiting list draws ${firstRecruit} rows first, not 100`);
  if (gotR.length !== wantR.length) fail(`the page's recruiting list has ${gotR.length} rows, ispeedctl recruit ${wantR.length}`);
  wantR.forEach((w, i) => {
    const g = gotR[i];
    for (const k of ['code', 'name', 'network', 'count', 'needed', 'agents', 'recruit'])
      if (g[k] !== w[k]) fail(`recruiting row ${i + 1} (${w.code} ${w.network}): ${k} is ${JSON.stringify(g[k])} on the page, ${JSON.stringify(w[k])} in recruit`);
    // Written with two decimals by both; a rounding step apart at most.
    for (const k of ['days_left', 'rate_needed', 'per_agent_day'])
      if (Math.abs(Number(g[k]) - Number(w[k])) > 0.011) fail(`recruiting row ${i + 1} (${w.code} ${w.network}): ${k} ${g[k]} on the page, ${w[k]} in recruit`);
  });
  const sums = [0, 0];
  wantR.forEach((w) => { sums[w.network === 'mobile' ? 1 : 0] += Number(w.recruit); });
  await page.evaluate(() => document.getElementById('recruit').scrollIntoView());
  await page.screenshot({ path: path.join(cfg.out, 'dashboard-province-recruit.png') });
  note(`recruiting list: ${gotR.length} rows in recruit's order, equal to ispeedctl recruit --format csv ` +
    `(${sums[0]} fixed and ${sums[1]} mobile volunteers)`);

  // ---- a unit name with markup is text
  const mk = got.find((g) => g.code === cfg.markup_code);
  if (!mk) fail('the unit with markup in its name is not on the page');
  if (mk.name !== cfg.markup_name) fail('markup unit shows as ' + JSON.stringify(mk.name));
  const alerts = await page.$$eval('#alerts li[data-unit]', (li) => li.map((x) => [x.dataset.unit, x.textContent]));
  if (alerts.length !== 3) fail(`the province page lists ${alerts.length} alerts, 3 were published`);
  const mkAlert = alerts.find((a) => a[0] === cfg.markup_code);
  if (!mkAlert || !mkAlert[1].includes(cfg.markup_name)) fail('the alert of the markup unit does not show its name as text');
  const imgs = await page.$$eval('main img', (x) => x.length);
  if (imgs !== 0) fail(`the page has ${imgs} img elements: markup from Kafka was parsed`);
  await page.goto(cfg.url + '/c/' + cfg.markup_code);
  await page.waitForSelector('h1');
  const h1 = await page.textContent('h1');
  if (!h1.includes(cfg.markup_name)) fail('commune page heading: ' + h1);
  if ((await page.$$eval('img', (x) => x.length)) !== 0) fail('commune page parsed the markup');
  note('markup unit: shown as text on the province and commune pages');

  // ---- the commune page: samples per day, medians, operators
  await page.goto(cfg.url + '/c/' + cfg.daily_code);
  await page.waitForSelector('.card[data-network="fixed"] .unit-count');
  const bars = await page.$$eval('.card[data-network="fixed"] svg.chart rect.bar', (x) => x.length);
  const ops = await page.$$eval('.card[data-network="fixed"] table.operators tbody tr', (x) => x.length);
  if (bars < 5) fail(`commune ${cfg.daily_code}: only ${bars} days with samples drawn`);
  if (ops < 1) fail(`commune ${cfg.daily_code}: no operator rows`);
  const unitAgents = await page.getAttribute('.card[data-network="fixed"] .unit-agents', 'data-value');
  const wAgents = wantBy.get(cfg.daily_code + '/fixed');
  if (!wAgents || unitAgents !== wAgents.distinct_agents) fail(`commune ${cfg.daily_code}: ${unitAgents} agents shown, quota CSV ${wAgents && wAgents.distinct_agents}`);
  const crumbs = await page.textContent('#crumbs');
  const provName = want.find((r) => r.level === 'province' && r.code === cfg.province).name;
  if (!crumbs.includes(provName)) fail(`the commune's breadcrumb does not name its province ${provName}: ${crumbs}`);
  note(`commune ${cfg.daily_code}: ${bars} days drawn, ${ops} operators, ${unitAgents} agents; breadcrumb ${crumbs}`);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: path.join(cfg.out, 'dashboard-commune-desktop.png'), fullPage: true });

  // ---- live: a new status while the page is open
  await page.goto(cfg.url + '/p/' + cfg.province);
  await page.waitForSelector('#units tbody tr');
  await showAll(page);
  await page.waitForFunction(() => document.getElementById('live').className === 'live', null, { timeout: 5000 });
  await page.evaluate(() => { window.__notReloaded = true; });
  const sel = `#units tr[data-code="${cfg.live_code}"][data-network="fixed"] td.count`;
  const before = await page.getAttribute(sel, 'data-value');
  if (before !== String(cfg.live_count - 1)) fail(`live unit shows ${before} before, expected ${cfg.live_count - 1}`);
  const t0 = Date.now();
  execFileSync(cfg.publish[0], cfg.publish.slice(1), { input: cfg.live_line + '\n' });
  const tPublished = Date.now();
  await page.waitForFunction(([s, c]) => {
    const td = document.querySelector(s);
    return td && td.dataset.value === String(c);
  }, [sel, cfg.live_count], { timeout: 5000, polling: 20 }).catch(() => fail('the new count did not show within 5 s'));
  const tShown = Date.now();
  if (!(await page.evaluate(() => window.__notReloaded === true))) fail('the page reloaded');
  // The page's own clock says when it drew the new count (the same clock
  // as ours: one machine); playwright's polling adds its own delay on top.
  // Where the time went: the page's last fetch of the province's JSON.
  const fetchAt = await page.evaluate(() => {
    const e = performance.getEntriesByType('resource').filter((r) => r.name.includes('/api/province/')).pop();
    return e ? [performance.timeOrigin + e.startTime, performance.timeOrigin + e.responseEnd] : null;
  });
  const eventAt = Number(await page.evaluate(() => document.body.dataset.eventAt || 0));
  const drawnAt = Number(await page.evaluate(() => document.body.dataset.refreshedAt || 0));
  const how = (eventAt ? `; event came ${eventAt - tPublished} ms after` : '') + (fetchAt ? `; refetch started ${Math.round(fetchAt[0] - tPublished)} ms and ended ${Math.round(fetchAt[1] - tPublished)} ms after; drawn ${drawnAt - tPublished} ms after` : '');
  const ms = drawnAt - tPublished;
  note(`live: drawn ${ms} ms after the record was delivered to Kafka (producer process took ${tPublished - t0} ms; ` +
    `test saw it ${tShown - tPublished} ms after${how})`);
  if (!(drawnAt > tPublished)) fail('the page did not redraw after the record was delivered');
  if (ms > 2000) fail(`the new sample took ${ms} ms to show (> 2000)`);

  // ---- screenshots, desktop then phone width
  await page.screenshot({ path: path.join(cfg.out, 'dashboard-province-desktop.png') });
  await page.locator('#alerts').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(cfg.out, 'dashboard-province-alerts.png') });
  await page.goto(cfg.url + '/');
  await page.waitForSelector('.tilemap .tile');
  const tilesN = await page.$$eval('.tilemap[data-network="fixed"] .tile', (x) => x.length);
  if (tilesN !== cfg.provinces) fail(`national tile map has ${tilesN} tiles, the registry ${cfg.provinces} provinces`);
  const provRows = await page.$$eval('#provinces tbody tr', (x) => x.length);
  if (provRows !== cfg.provinces) fail(`national table has ${provRows} rows, the registry ${cfg.provinces} provinces`);
  await page.screenshot({ path: path.join(cfg.out, 'dashboard-national-desktop.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await page.waitForSelector('.tilemap .tile');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 1) fail(`the national page is ${overflow} px wider than a phone`);
  await page.screenshot({ path: path.join(cfg.out, 'dashboard-national-phone.png'), fullPage: true });
  await page.goto(cfg.url + '/p/' + cfg.province);
  await page.waitForSelector('#units tbody tr');
  const overflowP = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflowP > 1) fail(`the province page is ${overflowP} px wider than a phone`);
  await page.screenshot({ path: path.join(cfg.out, 'dashboard-province-phone.png'), fullPage: false });

  // ---- the month over: every unit met or not met, nothing to recruit
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(cfg.closed_url + '/p/' + cfg.province);
  await page.waitForSelector('#units tbody tr');
  await showAll(page);
  const closed = await page.$$eval('#units tbody tr', (trs) => trs.map((tr) => ({
    code: tr.dataset.code, network: tr.dataset.network, nostatus: tr.dataset.nostatus === '1',
    count: tr.querySelector('td.count').dataset.value, state: tr.querySelector('span.st').textContent })));
  const tally = {};
  for (const c of closed) {
    const w = c.nostatus ? { count: '0', target: '300' } : wantBy.get(c.code + '/' + c.network);
    const expect = Number(w.count) >= Number(w.target) ? 'đạt' : 'chưa đạt';
    if (c.state !== expect) fail(`closed month: ${c.code} ${c.network} (${w.count}/${w.target}) shows "${c.state}", not "${expect}"`);
    tally[c.state] = (tally[c.state] || 0) + 1;
  }
  if (!tally['đạt'] || !tally['chưa đạt']) fail('closed month: not both states shown: ' + JSON.stringify(tally));
  if (await page.$('#recruit-list')) fail('closed month: a recruiting list is shown');
  const closedNote = await page.textContent('#recruit .none');
  if (!/kết thúc/.test(closedNote)) fail('closed month: the recruiting section says ' + closedNote);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(cfg.out, 'dashboard-province-closed.png') });
  note(`closed month: ${JSON.stringify(tally)}; recruiting: "${closedNote}"`);
  await page.goto(cfg.closed_url + '/p/' + cfg.province + '?lang=en');
  await page.waitForSelector('#units tbody tr');
  await showAll(page);
  const enStates = new Set(await page.$$eval('#units span.st', (x) => x.map((e) => e.textContent)));
  if ([...enStates].some((x) => x !== 'met' && x !== 'not met')) fail('closed month in English: ' + [...enStates].join('|'));

  // ---- English switch: the report's English words
  await page.goto(cfg.url + '/p/' + cfg.province);
  await page.waitForSelector('#units tbody tr');
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.click('#lang');
  await page.waitForFunction(() => document.documentElement.lang === 'en' && document.querySelector('#units tbody tr'));
  await showAll(page);
  const heads = await page.$$eval('#units th', (x) => x.map((t) => t.textContent));
  if (!heads.includes('Unit') || !heads.includes('Samples')) fail('English headings missing: ' + heads.join('|'));
  const enText = await page.textContent(sel);
  if (Number(enText.replace(/,/g, '')) !== cfg.live_count) fail('English count: ' + enText);
  await page.screenshot({ path: path.join(cfg.out, 'dashboard-province-en.png'), fullPage: false });
  note('English switch: headings ' + heads.slice(0, 5).join(', '));

  // ---- nothing left the machine
  const foreign = requests.filter((u) => { const h = new URL(u).hostname; return h !== '127.0.0.1'; });
  if (foreign.length) fail('requests left loopback: ' + foreign.slice(0, 5).join(' '));
  note(`${requests.length} requests, every one to 127.0.0.1`);
  if (dialogs.length) fail('a dialog opened (script from data ran): ' + dialogs[0]);
  const real = errors.filter((e) => !/EventSource|ERR_INCOMPLETE_CHUNKED|net::ERR_ABORTED/.test(e));
  if (real.length) fail('errors in the page: ' + real.slice(0, 3).join(' | '));
  await browser.close();
  console.log('ok');
})().catch((e) => fail(e && e.stack ? e.stack : String(e)));
