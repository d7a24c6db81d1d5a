// ispeed dashboard: national, province and commune pages filled from the
// server's JSON (/api/...) and refreshed when the server's event stream
// says a province changed. Everything read from Kafka is put in the page
// with textContent or as an attribute value, never as markup.
'use strict';

(function () {
  const SVGNS = 'http://www.w3.org/2000/svg';
  // Words of the dashboard itself; the report's own words (networks,
  // levels, "đạt", the chart's lines) come from /api/words.
  const DW = {
    vi: {
      switchTo: 'English', live: 'Đang cập nhật trực tiếp', offline: 'Mất kết nối, đang thử lại',
      map: 'Tỷ lệ xã đạt chỉ tiêu', mapDistricts: 'Tỷ lệ đơn vị đạt chỉ tiêu', noData: 'chưa có số liệu',
      count: 'Số mẫu', target: 'Chỉ tiêu', expected: 'Cần có đến nay', state: 'Trạng thái',
      projection: 'Dự báo cuối tháng', trend: 'Cộng dồn so với tiến độ', units: 'Các đơn vị (chậm nhất trước)',
      alerts: 'Cảnh báo gần đây', noAlerts: 'Chưa có cảnh báo trong tháng.', all: 'Tất cả',
      perDay: 'Số mẫu theo ngày', download: 'Tải xuống (trung vị)', upload: 'Tải lên (trung vị)',
      latency: 'Độ trễ (trung vị)', operators: 'Theo nhà mạng', operator: 'Nhà mạng', share: 'Tỷ lệ',
      late: 'Mẫu trễ hạn', g5: 'Trong đó 5G', month: 'Tháng', updated: 'Cập nhật lúc',
      ON_TRACK: 'đúng tiến độ', BEHIND: 'chậm tiến độ', MET: 'đạt', UNKNOWN: '–', NONE: 'chưa có mẫu', notFound: 'Không tìm thấy đơn vị này trong tháng.',
      showAll: 'Hiện tất cả %s dòng', shown: 'Đang hiện %s/%s dòng.',
      filter: 'Loại mạng', perDayNote: 'Tính từ các số cộng dồn mà bộ thu thập công bố mỗi ngày.',
      province: 'Tỉnh', sparkline: 'Diễn biến',
    },
    en: {
      switchTo: 'Tiếng Việt', live: 'Live', offline: 'Disconnected, retrying',
      map: 'Share of communes that met the target', mapDistricts: 'Share of units that met the target', noData: 'no figures yet',
      count: 'Samples', target: 'Target', expected: 'Expected by now', state: 'State',
      projection: 'Projected at month end', trend: 'Cumulative against pace', units: 'Units (most behind first)',
      alerts: 'Recent alerts', noAlerts: 'No alert this month.', all: 'All',
      perDay: 'Samples per day', download: 'Download (median)', upload: 'Upload (median)',
      latency: 'Latency (median)', operators: 'Per operator', operator: 'Operator', share: 'Share',
      late: 'Late samples', g5: 'Of which 5G', month: 'Month', updated: 'Updated',
      ON_TRACK: 'on track', BEHIND: 'behind', MET: 'met', UNKNOWN: '–', NONE: 'no sample yet', notFound: 'No such unit this month.',
      showAll: 'Show all %s rows', shown: 'Showing %s of %s rows.',
      filter: 'Network', perDayNote: 'From the cumulative counts the collector published each day.',
      province: 'Province', sparkline: 'Trend',
    },
  };

  const params = new URLSearchParams(location.search);
  let lang = params.get('lang') || localStorage.getItem('ispeed-lang') || 'vi';
  if (lang !== 'en') lang = 'vi';
  let W = {}; // the report's words
  let tiles = null; // {63: [...], 34: [...]}
  const route = parseRoute(location.pathname);
  const view = { net: 'all', sortKey: null, sortDir: 1, data: null, allUnits: false, allRecruit: false };
  // Rows drawn before "show all": a province of 1,152 rows and a recruiting
  // list of 741 took 1.7-2.3 s to lay out and paint on a loaded machine
  // (bench/dashboard.sh: style and layout, not script, were the time); the
  // most behind units and the largest needs come first, so these are the
  // rows an officer reads.
  const FIRST_UNITS = 200, FIRST_RECRUIT = 100;

  function t(k) { return DW[lang][k] || k; }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else e.setAttribute(k, v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }
  function link(href, text) { return el('a', { href: href + (lang === 'en' ? '?lang=en' : ''), text: text }); }
  // Decimals as the report writes them: comma in Vietnamese.
  function dec(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    const s = Number(v).toFixed(digits);
    return lang === 'vi' ? s.replace('.', ',') : s;
  }
  // An integer as the report writes it: 1.234 (vi), 1,234 (en).
  function int(v) { return String(v).replace(/\B(?=(\d{3})+(?!\d))/g, lang === 'vi' ? '.' : ','); }
  function fmt(s, ...args) { let i = 0; return s.replace(/%s/g, () => args[i++]); }
  // Under a table cut at first rows: how many are shown and a button for all.
  function moreRows(box, shown, total, onAll) {
    if (shown >= total) { box.replaceChildren(); return; }
    const b = el('button', { type: 'button', text: fmt(t('showAll'), int(total)) });
    b.addEventListener('click', onAll);
    box.replaceChildren(el('span', { class: 'muted', text: fmt(t('shown'), int(shown), int(total)) + ' ' }), b);
  }
  function mbps(bps) { return bps ? dec(bps / 1e6, 1) + ' Mbit/s' : '–'; }
  function netWord(n) { return n === 'fixed' ? W.net_fixed : W.net_mobile; }
  function levelWord(l) { return W['level_' + l] || l; }
  // A state as the page says it: once the month is over a unit below its
  // target has not met it ("chưa đạt", the report's word); it is no longer
  // behind or on track.
  function stateClass(s, closed) { return closed && s !== 'MET' ? 'NOT_MET' : s; }
  function stateText(s, closed) {
    if (!closed) return t(s);
    return s === 'MET' ? W.met : W.not_met;
  }

  function parseRoute(path) {
    let m = /^\/p\/(\d{1,10})$/.exec(path);
    if (m) return { page: 'province', code: m[1] };
    m = /^\/c\/(\d{1,10})$/.exec(path);
    if (m) return { page: 'commune', code: m[1] };
    return { page: 'national' };
  }

  async function getJSON(url) {
    const r = await fetch(url + (url.includes('?') ? '&' : '?') + 'lang=' + lang, { cache: 'no-store' });
    if (r.status === 404) return null;
    if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
    return r.json();
  }

  async function loadTiles() {
    if (tiles) return tiles;
    tiles = {};
    for (const n of ['63', '34']) {
      const r = await fetch('/static/tiles-' + n + '.csv');
      const lines = (await r.text()).trim().split('\n').slice(1);
      tiles[n] = lines.map((l) => { const f = l.split(','); return { code: f[0], row: +f[1], col: +f[2], abbr: f[3] }; });
    }
    return tiles;
  }

  // The layout whose codes cover most of the provinces shown.
  function pickLayout(provinces) {
    const codes = new Set(provinces.map((p) => p.code));
    let best = null, score = -1;
    for (const n of Object.keys(tiles)) {
      const s = tiles[n].filter((c) => codes.has(c.code)).length;
      if (s > score) { best = tiles[n]; score = s; }
    }
    return best;
  }

  function shareClass(share) {
    if (share === null || share === undefined) return 's0';
    if (share >= 1) return 's5';
    if (share >= 0.75) return 's4';
    if (share >= 0.5) return 's3';
    if (share >= 0.25) return 's2';
    return 's1';
  }

  // A cumulative line against the pace line (target x elapsed share).
  function lineChart(daily, target, days, opts) {
    const w = opts.w, h = opts.h, pad = opts.pad || 0;
    const known = daily.filter((v) => v !== null);
    const top = Math.max(target, ...known, 1);
    const x = (i) => pad + (w - 2 * pad) * (i + 1) / days;
    const y = (v) => h - pad - (h - 2 * pad) * v / top;
    const s = svg('svg', { viewBox: '0 0 ' + w + ' ' + h, class: opts.cls, role: 'img' });
    s.append(svg('line', { class: 'axis', x1: pad, y1: h - pad, x2: w - pad, y2: h - pad }));
    if (opts.labels) {
      s.append(svg('line', { class: 'target', x1: pad, y1: y(target), x2: w - pad, y2: y(target) }));
      const tl = svg('text', { x: pad + 2, y: y(target) - 3 }); tl.textContent = W.target_line + ' ' + target; s.append(tl);
    }
    s.append(svg('polyline', { class: 'pace', points: pad + ',' + (h - pad) + ' ' + x(days - 1) + ',' + y(target) }));
    const pts = [pad + ',' + (h - pad)];
    daily.forEach((v, i) => { if (v !== null) pts.push(x(i) + ',' + y(v)); });
    s.append(svg('polyline', { class: 'actual ' + (opts.net || ''), points: pts.join(' ') }));
    if (opts.labels) {
      const d1 = svg('text', { x: pad, y: h - 2 }); d1.textContent = W.day + ' 1'; s.append(d1);
      const d2 = svg('text', { x: w - pad - 30, y: h - 2 }); d2.textContent = W.day + ' ' + days; s.append(d2);
    }
    const title = svg('title', {}); title.textContent = opts.title || ''; s.prepend(title);
    return s;
  }

  function barChart(perDay, net) {
    const w = 620, h = 160, pad = 18, days = perDay.length;
    const top = Math.max(1, ...perDay.filter((v) => v !== null));
    const bw = (w - 2 * pad) / days;
    const s = svg('svg', { viewBox: '0 0 ' + w + ' ' + h, class: 'chart', role: 'img' });
    s.append(svg('line', { class: 'axis', x1: pad, y1: h - pad, x2: w - pad, y2: h - pad }));
    perDay.forEach((v, i) => {
      if (!v) return;
      const bh = (h - 2 * pad) * v / top;
      const r = svg('rect', { class: 'bar ' + net, x: pad + i * bw + 1, y: h - pad - bh, width: Math.max(1, bw - 2), height: bh });
      const tt = svg('title', {}); tt.textContent = W.day + ' ' + (i + 1) + ': ' + v; r.append(tt);
      s.append(r);
    });
    const a = svg('text', { x: pad, y: h - 3 }); a.textContent = W.day + ' 1'; s.append(a);
    const b = svg('text', { x: w - pad - 30, y: h - 3 }); b.textContent = W.day + ' ' + days; s.append(b);
    const m = svg('text', { x: pad, y: pad - 4 }); m.textContent = 'max ' + top; s.append(m);
    return s;
  }

  function setCrumbs(items) {
    const c = document.getElementById('crumbs');
    c.replaceChildren();
    items.forEach((it, i) => { if (i) c.append(' › '); c.append(it.href ? link(it.href, it.text) : it.text); });
  }

  function footer(d) {
    document.getElementById('foot').textContent = t('month') + ' ' + d.month + ' · ' + t('updated') + ' ' + d.now + ' (UTC+7)';
  }

  // ---- national page
  function renderNational(d) {
    const main = document.getElementById('main');
    setCrumbs([{ text: W.nation }]);
    const layout = pickLayout(d.provinces);
    const byCode = new Map(d.provinces.map((p) => [p.code, p]));
    const cards = el('div', { class: 'cards' });
    d.national.forEach((n) => {
      cards.append(el('div', { class: 'card', 'data-network': n.network },
        el('h3', { text: W.nation + ' · ' + netWord(n.network) }),
        el('dl', { class: 'kv' },
          el('dt', { text: W.col_samples }), el('dd', { text: n.samples_s }),
          el('dt', { text: W.col_comm_met }), el('dd', { text: n.communes_met + '/' + n.communes + ' (' + n.communes_share_s + ')' }),
          d.levels === 3 ? el('dt', { text: W.col_dist_met }) : null,
          d.levels === 3 ? el('dd', { text: n.districts_met + '/' + n.districts + ' (' + n.districts_share_s + ')' }) : null)));
    });
    const maps = el('div', { class: 'maps' });
    const rows = Math.max(...layout.map((c) => c.row)) + 1, cols = Math.max(...layout.map((c) => c.col)) + 1;
    [0, 1].forEach((ni) => {
      const m = el('div', { class: 'tilemap', 'data-network': ni ? 'mobile' : 'fixed' },
        el('h3', { text: [W.net_fixed, W.net_mobile][ni] }));
      m.style.gridTemplateColumns = 'repeat(' + cols + ', 1fr)';
      m.style.gridTemplateRows = 'auto repeat(' + rows + ', auto)';
      layout.forEach((c) => {
        const p = byCode.get(c.code);
        const f = p ? p.nets[ni] : null;
        const share = f && f.communes ? f.communes_share : null;
        const a = el('a', { class: 'tile ' + shareClass(share), href: '/p/' + c.code + (lang === 'en' ? '?lang=en' : ''),
          'data-code': c.code, text: c.abbr,
          title: (p ? p.name : c.code) + ': ' + (f ? f.communes_met + '/' + f.communes + ' (' + f.communes_share_s + ')' : t('noData')) });
        a.style.gridRow = String(c.row + 2);
        a.style.gridColumn = String(c.col + 1);
        m.append(a);
      });
      maps.append(m);
    });
    const legend = el('div', { class: 'legend' },
      el('span', { class: 's0', text: t('noData') }), el('span', { class: 's1', text: '< 25%' }),
      el('span', { class: 's2', text: '25–50%' }), el('span', { class: 's3', text: '50–75%' }),
      el('span', { class: 's4', text: '75–99%' }), el('span', { class: 's5', text: '100%' }));
    const tbody = el('tbody');
    d.provinces.forEach((p) => {
      const tr = el('tr', { 'data-code': p.code },
        el('td', { text: p.code }), el('td', { class: 'name' }, link('/p/' + p.code, p.name)));
      p.nets.forEach((f, ni) => {
        tr.append(el('td', { class: 'num', text: f.samples_s }),
          el('td', { class: 'num', text: f.communes ? f.communes_met + '/' + f.communes : '–' }),
          el('td', {}, lineChart(f.daily, f.target, d.days, { w: 90, h: 24, cls: 'spark', net: ni ? 'mobile' : 'fixed',
            title: p.name + ' · ' + netWord(f.network) + ': ' + f.samples_s + ' / ' + W.target_line + ' ' + f.target })));
      });
      tbody.append(tr);
    });
    const head = el('tr', {}, el('th', { text: W.col_code }), el('th', { text: W.col_province }));
    ['fixed', 'mobile'].forEach((n) => head.append(el('th', { class: 'num', text: netWord(n) + ' · ' + W.col_samples }),
      el('th', { class: 'num', text: W.col_comm_met }), el('th', { text: t('sparkline') })));
    main.replaceChildren(
      el('h1', { text: W.nation + ' · ' + t('month') + ' ' + d.month }), cards,
      el('div', { class: 'layout' },
        el('section', {}, el('h2', { text: t('map') }), legend, maps),
        el('section', {}, el('h2', { text: W.by_province }),
          el('div', { class: 'scroll' }, el('table', { id: 'provinces' }, el('thead', {}, head), tbody)))));
    footer(d);
  }

  // ---- province page
  const COLS = [
    { key: 'code', label: () => W.col_code },
    { key: 'name', label: () => W.col_unit, cls: 'name' },
    { key: 'level', label: () => W.col_level, cls: 'hide-phone' },
    { key: 'network', label: () => W.col_network },
    { key: 'count', label: () => t('count'), num: true },
    { key: 'target', label: () => t('target'), num: true, cls: 'hide-phone' },
    { key: 'expected', label: () => t('expected'), num: true },
    { key: 'state', label: () => t('state') },
    { key: 'projection', label: () => t('projection'), num: true },
    { key: 'agents', label: () => W.col_agents, num: true },
  ];

  function unitRows(d) {
    let rows = d.units.slice();
    if (view.net !== 'all') rows = rows.filter((u) => u.network === view.net);
    if (view.sortKey) {
      const k = view.sortKey, dir = view.sortDir;
      rows.sort((a, b) => {
        const x = a[k], y = b[k];
        if (typeof x === 'number' || typeof y === 'number') return dir * ((x ?? -1) - (y ?? -1));
        return dir * String(x).localeCompare(String(y), lang);
      });
    }
    return rows;
  }

  function renderUnitsTable(d, table, more) {
    const head = el('tr');
    COLS.forEach((c) => {
      const th = el('th', { class: 'sortable' + (c.num ? ' num' : '') + (c.cls ? ' ' + c.cls : '') +
        (view.sortKey === c.key ? (view.sortDir > 0 ? ' asc' : ' desc') : ''), 'data-key': c.key, text: c.label(), tabindex: '0' });
      th.addEventListener('click', () => {
        if (view.sortKey === c.key) view.sortDir = -view.sortDir; else { view.sortKey = c.key; view.sortDir = c.num ? -1 : 1; }
        renderUnitsTable(d, table, more);
      });
      head.append(th);
    });
    // One row built once and cloned: a province of 1,000 rows draws in a
    // fraction of the time that building each cell anew takes.
    const proto = el('tr', {}, el('td'), el('td', { class: 'name' }), el('td', { class: 'hide-phone' }), el('td'),
      el('td', { class: 'num count' }), el('td', { class: 'num hide-phone' }), el('td', { class: 'num' }),
      el('td', {}, el('span')), el('td', { class: 'num' }), el('td', { class: 'num agents' }));
    const suffix = lang === 'en' ? '?lang=en' : '';
    const tbody = el('tbody');
    const frag = document.createDocumentFragment();
    const all = unitRows(d);
    const rows = view.allUnits ? all : all.slice(0, FIRST_UNITS);
    moreRows(more, rows.length, all.length, () => { view.allUnits = true; renderUnitsTable(d, table, more); });
    rows.forEach((u) => {
      const tr = proto.cloneNode(true);
      const td = tr.children;
      tr.dataset.code = u.code;
      tr.dataset.network = u.network;
      if (u.nostatus) tr.dataset.nostatus = '1';
      td[0].textContent = u.code;
      if (u.level === 'commune') {
        const a = document.createElement('a');
        a.href = '/c/' + u.code + suffix;
        a.textContent = u.name;
        td[1].append(a);
      } else td[1].textContent = u.name;
      td[2].textContent = levelWord(u.level);
      td[3].textContent = netWord(u.network);
      td[4].dataset.value = String(u.count);
      td[4].textContent = u.count_s;
      td[5].textContent = u.target_s;
      td[6].textContent = u.expected_s;
      td[7].firstChild.className = 'st ' + stateClass(u.state, d.closed);
      td[7].firstChild.textContent = stateText(u.state, d.closed);
      td[8].textContent = u.projection_s;
      td[9].dataset.value = String(u.agents);
      td[9].textContent = u.agents;
      frag.append(tr);
    });
    tbody.append(frag);
    table.replaceChildren(el('thead', {}, head), tbody);
  }

  // The recruiting list: the rows of "ispeedctl recruit --format csv" for
  // this province, as the server computed them at d.now_ms.
  function recruitSection(d) {
    const sec = el('section', { id: 'recruit', 'data-now-ms': String(d.now_ms) }, el('h2', { text: W.recruit }),
      el('p', { class: 'muted', text: W.recruit_about }));
    if (d.closed) { sec.append(el('p', { class: 'none', text: W.recruit_closed })); return sec; }
    if (!d.recruit.length) { sec.append(el('p', { class: 'none', text: W.recruit_none })); return sec; }
    sec.append(el('p', { class: 'total', text: W.recruit_total + ': ' + netWord('fixed') + ' ' + int(d.recruit_total[0]) +
      ', ' + netWord('mobile') + ' ' + int(d.recruit_total[1]) + ' (' + W.col_per_agent.toLowerCase() + ': ' +
      dec(d.per_agent_day[0], 2) + ' / ' + dec(d.per_agent_day[1], 2) + ')' }));
    const head = el('tr');
    [[W.col_code], [W.col_unit], [W.col_network], [t('count'), 1], [W.col_needed, 1], [W.col_days_left, 1, 'hide-phone'],
      [W.col_rate_needed, 1], [W.col_agents, 1], [W.col_per_agent, 1, 'hide-phone'], [W.col_recruit, 1]].forEach(([l, num, cls]) =>
      head.append(el('th', { class: (num ? 'num' : '') + (cls ? ' ' + cls : ''), text: l })));
    const proto = el('tr', {}, el('td'), el('td', { class: 'name' }), el('td'), el('td', { class: 'num' }),
      el('td', { class: 'num' }), el('td', { class: 'num hide-phone' }), el('td', { class: 'num' }), el('td', { class: 'num' }),
      el('td', { class: 'num hide-phone' }), el('td', { class: 'num recruit' }));
    const keys = ['count', 'needed', 'days_left', 'rate_needed', 'agents', 'per_agent_day', 'recruit'];
    keys.forEach((k, i) => { proto.children[3 + i].dataset.key = k; });
    const suffix = lang === 'en' ? '?lang=en' : '';
    const tbody = el('tbody');
    const table = el('table', { id: 'recruit-list' }, el('thead', {}, head), tbody);
    const more = el('div', { class: 'more', id: 'recruit-more' });
    function recruitRow(r) {
      const tr = proto.cloneNode(true);
      const td = tr.children;
      tr.dataset.code = r.code;
      tr.dataset.network = r.network;
      td[0].textContent = r.code;
      const a = document.createElement('a');
      a.href = '/c/' + r.code + suffix;
      a.textContent = r.name;
      td[1].append(a);
      td[2].textContent = netWord(r.network);
      keys.forEach((k, i) => { td[3 + i].dataset.value = String(r[k]); });
      td[3].textContent = r.count_s;
      td[4].textContent = r.needed_s;
      td[5].textContent = dec(r.days_left, 1);
      td[6].textContent = dec(r.rate_needed, 1);
      td[7].textContent = r.agents;
      td[8].textContent = dec(r.per_agent_day, 2);
      td[9].textContent = r.recruit;
      return tr;
    }
    const draw = () => {
      const rows = view.allRecruit ? d.recruit : d.recruit.slice(0, FIRST_RECRUIT);
      moreRows(more, rows.length, d.recruit.length, () => { view.allRecruit = true; draw(); });
      tbody.replaceChildren();
      const frag = document.createDocumentFragment();
      rows.forEach((r) => frag.append(recruitRow(r)));
      tbody.append(frag);
    };
    draw();
    sec.append(el('div', { class: 'scroll' }, table), more);
    return sec;
  }

  function renderProvince(d) {
    const main = document.getElementById('main');
    if (!d) { main.replaceChildren(el('p', { text: t('notFound') })); return; }
    setCrumbs([{ href: '/', text: W.nation }, { text: d.name }]);
    const cards = el('div', { class: 'cards' });
    ['fixed', 'mobile'].forEach((net, ni) => {
      const own = d.units.find((u) => u.level === 'province' && u.network === net);
      const f = d.nets[ni];
      const card = el('div', { class: 'card', 'data-network': net }, el('h3', { text: netWord(net) }));
      const dl = el('dl', { class: 'kv' });
      if (own) {
        dl.append(el('dt', { text: t('count') }), el('dd', { class: 'prov-count', 'data-value': String(own.count), text: own.count_s }),
          el('dt', { text: t('target') }), el('dd', { text: own.target_s }),
          el('dt', { text: t('expected') }), el('dd', { text: own.expected_s }),
          el('dt', { text: t('state') }), el('dd', {}, el('span', { class: 'st ' + stateClass(own.state, d.closed), text: stateText(own.state, d.closed) })),
          el('dt', { text: t('projection') }), el('dd', { text: own.projection_s }));
      } else {
        dl.append(el('dt', { text: t('count') }), el('dd', { text: f ? f.samples_s : '–' }));
      }
      if (f) dl.append(el('dt', { text: W.col_comm_met }), el('dd', { text: f.communes_met + '/' + f.communes + ' (' + f.communes_share_s + ')' }),
        el('dt', { text: W.agents }), el('dd', { class: 'prov-agents', 'data-value': String(f.agents), text: f.agents_s }));
      card.append(dl);
      if (f) card.append(lineChart(f.daily, f.target, d.days, { w: 400, h: 170, pad: 16, cls: 'chart', labels: true, net: net,
        title: t('trend') + ' · ' + netWord(net) }));
      cards.append(card);
    });
    const sel = el('select', { id: 'net-filter' });
    [['all', t('all')], ['fixed', W.net_fixed], ['mobile', W.net_mobile]].forEach(([v, l]) => {
      const o = el('option', { value: v, text: l }); if (v === view.net) o.selected = true; sel.append(o);
    });
    const table = el('table', { id: 'units' });
    const more = el('div', { class: 'more', id: 'units-more' });
    sel.addEventListener('change', () => { view.net = sel.value; renderUnitsTable(view.data, table, more); });
    renderUnitsTable(d, table, more);
    const alerts = el('ul', { class: 'alerts', id: 'alerts' });
    d.alerts.forEach((a) => alerts.append(el('li', { 'data-unit': a.unit },
      el('span', { class: 'muted', text: a.time + ' · ' }), el('span', { text: a.name + ' (' + a.unit + ') · ' + netWord(a.network) + ': ' }),
      el('span', { class: 'st ' + a.from, text: t(a.from) }), ' → ', el('span', { class: 'st ' + a.to, text: t(a.to) }),
      el('span', { text: ' · ' + a.count_s + '/' + a.target_s + ', ' + t('expected').toLowerCase() + ' ' + a.expected_s }))));
    if (!d.alerts.length) alerts.append(el('li', { class: 'muted', text: t('noAlerts') }));
    main.replaceChildren(el('h1', { text: d.name + ' · ' + t('month') + ' ' + d.month }), cards,
      el('h2', { text: t('units') }), el('div', { class: 'tools' }, el('label', { for: 'net-filter', text: t('filter') }), sel),
      el('div', { class: 'scroll' }, table), more, el('h2', { text: t('alerts') }), alerts, recruitSection(d));
    footer(d);
  }

  // ---- commune page
  function renderCommune(d) {
    const main = document.getElementById('main');
    if (!d) { main.replaceChildren(el('p', { text: t('notFound') })); return; }
    setCrumbs([{ href: '/', text: W.nation }, { href: '/p/' + d.province, text: d.province_name || t('province') + ' ' + d.province },
      { text: d.name }]);
    const cards = el('div', { class: 'cards' });
    d.nets.forEach((n) => {
      const s = n.status;
      const card = el('div', { class: 'card', 'data-network': n.network }, el('h3', { text: netWord(n.network) }));
      const dm = n.demand;
      // The commune's agents and, while the month runs, what it still
      // needs and the volunteers it lacks (the recruiting list's figures).
      const demand = dm ? [el('dt', { text: W.col_agents }), el('dd', { class: 'unit-agents', 'data-value': String(dm.agents), text: dm.agents }),
        ...(d.closed ? [] : [el('dt', { text: W.col_needed }), el('dd', { text: dm.needed_s }),
          el('dt', { text: W.col_rate_needed }), el('dd', { text: dec(dm.rate_needed, 1) }),
          el('dt', { text: W.col_recruit }), el('dd', { class: 'unit-recruit', 'data-value': String(dm.recruit), text: dm.recruit })])] : [];
      if (!s) {
        card.append(el('p', { class: 'muted', text: t('noData') }));
        if (demand.length) card.append(el('dl', { class: 'kv' }, ...demand));
        cards.append(card);
        return;
      }
      card.append(el('dl', { class: 'kv' },
        el('dt', { text: t('count') }), el('dd', { class: 'unit-count', 'data-value': String(s.count), text: s.count_s }),
        el('dt', { text: t('target') }), el('dd', { text: s.target_s }),
        el('dt', { text: t('expected') }), el('dd', { text: s.expected_s }),
        el('dt', { text: t('state') }), el('dd', {}, el('span', { class: 'st ' + stateClass(s.state, d.closed), text: stateText(s.state, d.closed) })),
        el('dt', { text: t('projection') }), el('dd', { text: s.projection_s }),
        ...demand,
        el('dt', { text: t('download') }), el('dd', { text: mbps(s.median_download_bps) }),
        el('dt', { text: t('upload') }), el('dd', { text: mbps(s.median_upload_bps) }),
        el('dt', { text: t('latency') }), el('dd', { text: s.median_latency_ms ? dec(s.median_latency_ms, 1) + ' ms' : '–' }),
        n.network === 'mobile' ? el('dt', { text: t('g5') }) : null, n.network === 'mobile' ? el('dd', { text: s.count_5g_s }) : null,
        el('dt', { text: t('late') }), el('dd', { text: s.late_count_s })));
      card.append(el('h3', { text: t('perDay') }), barChart(n.per_day, n.network), el('p', { class: 'muted', text: t('perDayNote') }));
      const ops = el('tbody');
      s.operators.forEach((o) => ops.append(el('tr', {}, el('td', { text: o.name }), el('td', { class: 'num', text: o.count_s }),
        el('td', { class: 'num', text: s.count ? dec(100 * o.count / s.count, 1) + '%' : '–' }))));
      card.append(el('h3', { text: t('operators') }), el('table', { class: 'operators' },
        el('thead', {}, el('tr', {}, el('th', { text: t('operator') }), el('th', { class: 'num', text: t('count') }), el('th', { class: 'num', text: t('share') }))), ops));
      cards.append(card);
    });
    main.replaceChildren(el('h1', { text: d.name + ' (' + d.code + ') · ' + t('month') + ' ' + d.month }), cards);
    footer(d);
  }

  function dataURL() {
    if (route.page === 'national') return '/api/national';
    if (route.page === 'province') return '/api/province/' + route.code;
    return '/api/unit/' + route.code;
  }

  async function refresh(prefetched) {
    const d = prefetched || await getJSON(dataURL());
    if (route.page === 'national') renderNational(d);
    else if (route.page === 'province') { view.data = d; renderProvince(d); }
    else {
      if (d) view.province = d.province;
      renderCommune(d);
    }
    document.body.dataset.refreshed = String((+document.body.dataset.refreshed || 0) + 1);
    document.body.dataset.refreshedAt = String(Date.now());
    // When the frame after the draw has been laid out and painted: the
    // task after the next animation frame (for bench/dashboard.sh).
    requestAnimationFrame(() => setTimeout(() => { document.body.dataset.paintedAt = String(Date.now()); }, 0));
  }

  // Coalesces a burst of events into one fetch a tenth of a second later.
  let pending = null, running = false;
  function schedule() {
    if (pending) return;
    pending = setTimeout(async () => {
      pending = null;
      if (running) { schedule(); return; }
      running = true;
      try { await refresh(); } catch (e) { console.error(e); } finally { running = false; }
    }, 100);
  }

  function listen() {
    const code = route.page === 'province' ? route.code : route.page === 'commune' ? view.province : null;
    const es = new EventSource('/api/events' + (code ? '?province=' + code : ''));
    const dot = document.getElementById('live');
    es.addEventListener('open', () => { dot.className = 'live'; dot.title = t('live'); });
    es.addEventListener('error', () => { dot.className = 'live off'; dot.title = t('offline'); });
    es.addEventListener('update', (ev) => {
      let msg = {};
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      document.body.dataset.eventAt = String(Date.now()); // when the last event came, for tests
      schedule();
    });
  }

  async function start() {
    document.documentElement.lang = lang;
    const b = document.getElementById('lang');
    b.textContent = t('switchTo');
    b.addEventListener('click', () => {
      const next = lang === 'vi' ? 'en' : 'vi';
      localStorage.setItem('ispeed-lang', next);
      const u = new URL(location.href);
      if (next === 'en') u.searchParams.set('lang', 'en'); else u.searchParams.delete('lang');
      location.href = u.toString();
    });
    // Words, tile layouts and the page's figures at once: one round trip
    // instead of four before the first draw.
    const [words, , data] = await Promise.all([getJSON('/api/words'),
      route.page === 'national' ? loadTiles() : null, getJSON(dataURL())]);
    W = words;
    await refresh(data === null ? undefined : data);
    listen();
  }
  start().catch((e) => {
    document.getElementById('main').replaceChildren(el('p', { text: String(e) }));
  });
})();
