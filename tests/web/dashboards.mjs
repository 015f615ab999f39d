// Browser test of the dashboards web app served by `strata serve`.
//
//   node tests/web/dashboards.mjs --url http://127.0.0.1:PORT [--expect expect.json] [--screenshots DIR]
//
// It drives Debian's chromium (/usr/bin/chromium, or $CHROMIUM) headless through the vendored
// playwright-core (third_party/web/node_modules/playwright-core) and checks:
//   1. every dashboard of /api/dashboards opens at /d/<id> with every card ready, without console
//      errors, page errors or failed requests, on a desktop, a phone and in the dark theme
//      (screenshots <DIR>/<id>.png, <id>-phone.png, <id>-dark.png);
//   2. the number cards show the values of expect.json (written by the harness from independent
//      SQL: {"<dashboard>": {"kpis": {"<card>": n}, "kpis_by_category": {"<category>": {"<card>": n}}}};
//      only the keys present are checked, with a relative tolerance of 1e-6);
//   3. changing the period and category filters through the UI updates the URL and refetches
//      exactly the cards that take the filter (window.strataFetchCount);
//   4. clicking the first bar of revenue_by_category drills through to that category;
//   5. the CSV download matches the card's JSON rows;
//   6. the URL holds the filter state across a reload and back/forward;
//   7. date filters show the range they resolved to (the cards' `ranges`) and the header "Data
//      through" its end;
//   8. the SQL explorer (/explore): a query shows the rows POST /api/query returns, the SQL
//      round-trips through the URL, the row limit truncates, the bar chart draws, "Save as card"
//      gives YAML with the id and the SQL, and bad SQL shows the API's error in the page
//      (screenshots <DIR>/explore.png, explore-dark.png, explore-phone.png);
// plus the home page, the theme toggle, View SQL, table sorting and the error state of a card.
// Prints "ok - ..." / "not ok - ..." per check, then "N passed, M failed"; exits 1 on any failure.
// A hung browser cannot hang it: everything stops after 180 s.
import { assert, chromiumPath, parseArgs, playwrightEntry, reporter, startWatchdog } from './harness.mjs';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const overallTimeoutMs = 180_000;
const readyTimeoutMs = 30_000;

function usage(message) {
  console.error(`dashboards: ${message}\nusage: node tests/web/dashboards.mjs --url http://127.0.0.1:PORT [--expect expect.json] [--screenshots DIR]`);
  process.exit(2);
}
const args = parseArgs(['url', 'expect', 'screenshots'], usage);
if (!args.url) usage('--url is required');
const base = args.url.replace(/\/+$/, '');
const shots = args.screenshots ? resolve(args.screenshots) : null;
if (shots) mkdirSync(shots, { recursive: true });
let expect = {};
if (args.expect) {
  try { expect = JSON.parse(readFileSync(args.expect, 'utf8')); } catch (e) { usage(`cannot read ${args.expect}: ${e.message}`); }
}
for (const [path, what] of [[playwrightEntry, 'playwright-core'], [chromiumPath, 'chromium']]) {
  if (!existsSync(path)) usage(`${what} not found at ${path} (run scripts/bootstrap.sh)`);
}

// ------------------------------------------------------------------ reporting
const R = reporter();
const { report, check } = R;
function close(a, b, rel = 1e-6) {
  const x = Number(a), y = Number(b);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
  return Math.abs(x - y) <= rel * Math.max(1, Math.abs(x), Math.abs(y));
}
function finish() {
  R.summary();
  process.exit(R.failed ? 1 : 0);
}

let browser;
const watchdog = startWatchdog(overallTimeoutMs, R, () => browser);

// ------------------------------------------------------------------ page helpers
// Every page records console errors, page errors and failed requests. Requests the app cancels on
// purpose (a card refetching aborts its previous fetch) fail with net::ERR_ABORTED; they are not
// problems. HTTP errors (status >= 400) are.
function watch(page) {
  page.problems = [];
  page.on('console', (msg) => { if (msg.type() === 'error') page.problems.push(`console error: ${msg.text()}`); });
  page.on('pageerror', (err) => page.problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    const why = req.failure() && req.failure().errorText;
    if (why && why.includes('ERR_ABORTED')) return;
    page.problems.push(`request failed: ${req.method()} ${req.url()}: ${why}`);
  });
  page.on('response', (res) => { if (res.status() >= 400) page.problems.push(`HTTP ${res.status()} for ${res.url()}`); });
  return page;
}
function takeProblems(page) { const p = page.problems; page.problems = []; return p; }
// Waits for body[data-ready=true], and when `filter` is given for that filter control to show `value`
// (after back/forward, to tell the new state from the old one).
async function waitReady(page, filter, value) {
  await page.waitForFunction((c) => {
    if (document.body.dataset.ready !== 'true') return false;
    if (!c) return true;
    const e = document.querySelector(`[data-filter="${c.filter}"]`);
    return !!e && e.dataset.value === c.value;
  }, filter ? { filter, value } : null, { timeout: readyTimeoutMs });
}
async function gotoReady(page, path) {
  await page.goto(base + path, { waitUntil: 'load', timeout: readyTimeoutMs });
  await waitReady(page);
}
const fetchJson = (page, path) => page.evaluate(async (p) => {
  const r = await fetch(p);
  return { status: r.status, body: await r.json() };
}, path);
const counts = (page) => page.evaluate(() => ({ ...(window.strataFetchCount || {}) }));
const cardStates = (page) => page.evaluate(() => [...document.querySelectorAll('[data-card]')].map((e) => [e.dataset.card, e.dataset.state, e.querySelector('.card-error') ? e.querySelector('.card-error').textContent : '']));
const dataValue = (page, card) => page.evaluate((c) => { const e = document.querySelector(`[data-card="${c}"]`); return e ? (e.dataset.value ?? null) : null; }, card);
const query = (page) => new URL(page.url()).searchParams;
function deltas(before, after) {
  const out = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) out[k] = (after[k] || 0) - (before[k] || 0);
  return out;
}
// The cards refetched are exactly those taking `filter`, each once.
function assertRefetched(d, cards, filter) {
  const bad = [];
  for (const c of cards) {
    const want = (c.filters || []).includes(filter) ? 1 : 0;
    if ((d[c.id] || 0) !== want) bad.push(`${c.id}: ${d[c.id] || 0} fetches, want ${want}`);
  }
  assert(!bad.length, bad.join('; '));
  return `${cards.filter((c) => (c.filters || []).includes(filter)).length} of ${cards.length} cards refetched`;
}
function assertAllReady(states, n) {
  assert(states.length === n, `${states.length} cards on the page, the dashboard has ${n}`);
  const bad = states.filter(([, s]) => s !== 'ready');
  assert(!bad.length, bad.map(([c, s, err]) => `${c} is ${s}${err ? ` (${err})` : ''}`).join('; '));
}
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (q) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') q = false; else field += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') { row.push(field); field = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += ch;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

// ------------------------------------------------------------------ the checks
try {
  const { chromium } = await import(pathToFileURL(playwrightEntry).href);
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'], timeout: 30_000 });
  const desktop = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: 'light' });
  const page = watch(await desktop.newPage());
  page.setDefaultTimeout(readyTimeoutMs);

  // The home page and the list of dashboards.
  let dashboards = [];
  await check('home page lists every dashboard of /api/dashboards', async () => {
    await gotoReady(page, '/');
    dashboards = (await fetchJson(page, '/api/dashboards')).body.dashboards;
    assert(Array.isArray(dashboards) && dashboards.length > 0, 'no dashboards');
    const tiles = await page.evaluate(() => [...document.querySelectorAll('a[data-dashboard]')].map((a) => [a.dataset.dashboard, new URL(a.href).pathname]));
    for (const d of dashboards) assert(tiles.some(([id, href]) => id === d.id && href === `/d/${encodeURIComponent(d.id)}`), `no link to /d/${d.id}`);
    const p = takeProblems(page);
    assert(!p.length, p.join('; '));
    return `${dashboards.length} dashboard(s)`;
  });

  // 1. Every dashboard renders, on a desktop, a phone and in the dark theme.
  const meta = {};
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, colorScheme: 'light' });
  const dark = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: 'dark' });
  const phonePage = watch(await phone.newPage());
  const darkPage = watch(await dark.newPage());
  for (const d of dashboards) {
    meta[d.id] = (await fetchJson(page, `/api/dashboards/${encodeURIComponent(d.id)}`)).body;
    const n = meta[d.id].cards.length;
    await check(`${d.id}: every card ready, no console errors or failed requests (desktop)`, async () => {
      await gotoReady(page, `/d/${encodeURIComponent(d.id)}`);
      assertAllReady(await cardStates(page), n);
      const p = takeProblems(page);
      assert(!p.length, p.join('; '));
      if (shots) await page.screenshot({ path: join(shots, `${d.id}.png`), fullPage: true });
      return `${n} cards`;
    });
    // 7. The ranges the date filters resolved to, next to them and as "Data through".
    const dateFilters = (meta[d.id].filters || []).filter((f) => f.type === 'date_range' && f.default && f.default !== 'all_time');
    if (dateFilters.length) {
      await check(`${d.id}: date filters show the range the cards resolved, the header "Data through" its end`, async () => {
        const bad = [];
        let through = null;
        for (const f of dateFilters) {
          const card = meta[d.id].cards.find((c) => (c.filters || []).includes(f.id));
          if (!card) continue;
          const body = (await fetchJson(page, `/api/dashboards/${encodeURIComponent(d.id)}/cards/${encodeURIComponent(card.id)}`)).body;
          const r = body.ranges && body.ranges[f.id];
          if (!Array.isArray(r) || r.length !== 2) { bad.push(`card ${card.id} has no ranges.${f.id}: ${JSON.stringify(body.ranges)}`); continue; }
          const shown = await page.evaluate((fid) => { const e = document.querySelector(`[data-filter="${fid}"] .filter-hint`); return e ? [e.dataset.range || '', e.textContent] : null; }, f.id);
          if (!shown || shown[0] !== `${r[0]}..${r[1]}` || !shown[1]) bad.push(`filter ${f.id} shows ${JSON.stringify(shown)}, the API resolved ${r.join('..')}`);
          if (!through || r[1] > through) through = r[1];
        }
        const head = await page.evaluate(() => { const e = document.querySelector('.page-meta [data-through]'); return e ? [e.dataset.through, e.textContent] : null; });
        if (through && (!head || head[0] !== through || !/Data through/.test(head[1]))) bad.push(`the header shows ${JSON.stringify(head)}, want data through ${through}`);
        assert(!bad.length, bad.join('; '));
        return `through ${through}`;
      });
    }
    await check(`${d.id}: every card ready and full width on a phone`, async () => {
      await gotoReady(phonePage, `/d/${encodeURIComponent(d.id)}`);
      assertAllReady(await cardStates(phonePage), n);
      const widths = await phonePage.evaluate(() => {
        const g = document.querySelector('.grid').getBoundingClientRect().width;
        return [...document.querySelectorAll('[data-card]')].map((e) => [e.dataset.card, e.getBoundingClientRect().width / g]);
      });
      const narrow = widths.filter(([, r]) => r < 0.99);
      assert(!narrow.length, `not full width: ${narrow.map(([c]) => c).join(', ')}`);
      const overflow = await phonePage.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
      const p = takeProblems(phonePage);
      assert(!p.length, p.join('; '));
      if (shots) await phonePage.screenshot({ path: join(shots, `${d.id}-phone.png`), fullPage: true });
    });
    await check(`${d.id}: every card ready in the dark theme`, async () => {
      await gotoReady(darkPage, `/d/${encodeURIComponent(d.id)}`);
      assert(await darkPage.evaluate(() => document.documentElement.dataset.theme) === 'dark', 'prefers-color-scheme: dark did not select the dark theme');
      assertAllReady(await cardStates(darkPage), n);
      const p = takeProblems(darkPage);
      assert(!p.length, p.join('; '));
      if (shots) await darkPage.screenshot({ path: join(shots, `${d.id}-dark.png`), fullPage: true });
    });
  }

  // The theme toggle switches, persists and redraws the charts.
  await check('theme toggle switches to dark, persists, and redraws the charts without errors', async () => {
    const d = dashboards[0];
    await gotoReady(page, `/d/${encodeURIComponent(d.id)}`);
    await page.click('#theme-toggle');
    await waitReady(page);
    assert(await page.evaluate(() => document.documentElement.dataset.theme) === 'dark', 'not dark after the toggle');
    await page.reload();
    await waitReady(page);
    assert(await page.evaluate(() => document.documentElement.dataset.theme) === 'dark', 'the choice did not persist');
    assertAllReady(await cardStates(page), meta[d.id].cards.length);
    await page.click('#theme-toggle');
    assert(await page.evaluate(() => document.documentElement.dataset.theme) === 'light', 'not light after the second toggle');
    const p = takeProblems(page);
    assert(!p.length, p.join('; '));
  });

  // 2. Numbers against independent SQL.
  for (const [id, exp] of Object.entries(expect)) {
    if (!meta[id]) { report(false, `${id}: expected by expect.json`, 'no such dashboard'); continue; }
    if (exp.kpis) {
      await check(`${id}: number cards equal the independent SQL under the default filters`, async () => {
        await gotoReady(page, `/d/${encodeURIComponent(id)}`);
        const bad = [];
        for (const [card, want] of Object.entries(exp.kpis)) {
          const got = await dataValue(page, card);
          if (got == null || got === '' || !close(got, want)) bad.push(`${card}: shows ${got}, expected ${want}`);
        }
        assert(!bad.length, bad.join('; '));
        return Object.keys(exp.kpis).join(', ');
      });
    }
    // Categories the filter does not offer (e.g. a '(none)' bucket for a NULL category) cannot
    // be selected, so they are not checked here.
    let offered = null;
    if (exp.kpis_by_category && meta[id].filters.some((f) => f.id === 'category' && f.has_values)) {
      offered = (await fetchJson(page, `/api/dashboards/${encodeURIComponent(id)}/filters/category/values`)).body.values || null;
    }
    for (const [cat, kp] of Object.entries(exp.kpis_by_category || {})) {
      if (offered && !offered.includes(cat)) {
        console.log(`# ${id}: category ${cat} of expect.json is not among the filter's values; not checked`);
        continue;
      }
      await check(`${id}: number cards equal the independent SQL for category=${cat}`, async () => {
        await gotoReady(page, `/d/${encodeURIComponent(id)}?category=${encodeURIComponent(cat)}`);
        const bad = [];
        for (const [card, want] of Object.entries(kp)) {
          const got = await dataValue(page, card);
          if (got == null || got === '' || !close(got, want)) bad.push(`${card}: shows ${got}, expected ${want}`);
        }
        assert(!bad.length, bad.join('; '));
      });
    }
  }

  const ov = meta.overview;
  if (!ov) {
    report(false, 'the overview dashboard exists', 'checks 3-6 need it');
  } else {
    const cards = ov.cards;
    // 3. Filter wiring.
    await check('overview: changing the period refetches exactly the cards that take it, and sets the URL', async () => {
      await gotoReady(page, '/d/overview');
      const before = await counts(page);
      await page.selectOption('[data-filter="period"] select', 'last_7_days');
      await waitReady(page);
      assert(query(page).get('period') === 'last_7_days', `URL is ${page.url()}`);
      assertAllReady(await cardStates(page), cards.length);
      return assertRefetched(deltas(before, await counts(page)), cards, 'period');
    });
    let picked = null;
    await check('overview: picking a category in the dropdown refetches exactly the cards that take it, and sets the URL', async () => {
      const before = await counts(page);
      await page.click('[data-filter="category"] .pill-btn');
      const first = page.locator('[data-filter="category"] .option').first();
      await first.waitFor({ state: 'visible' });
      picked = await first.getAttribute('data-value');
      await first.click();
      await waitReady(page);
      await page.keyboard.press('Escape');
      assert(JSON.stringify(query(page).getAll('category')) === JSON.stringify([picked]), `URL is ${page.url()}, picked ${picked}`);
      assert(query(page).get('period') === 'last_7_days', 'the period was lost');
      assert(await page.getAttribute('[data-filter="category"]', 'data-value') === picked, 'the control does not show the choice');
      assertAllReady(await cardStates(page), cards.length);
      return `${picked}; ` + assertRefetched(deltas(before, await counts(page)), cards, 'category');
    });
    await check('overview: no console errors or failed requests while filtering', async () => {
      const p = takeProblems(page);
      assert(!p.length, p.join('; '));
    });

    // 4. Drill-through from the first bar of revenue_by_category.
    await check('overview: clicking the first bar of revenue_by_category drills through to its category', async () => {
      await gotoReady(page, '/d/overview');
      const json = (await fetchJson(page, '/api/dashboards/overview/cards/revenue_by_category')).body;
      const before = await counts(page);
      const pt = await page.evaluate(() => {
        const el = document.querySelector('[data-card="revenue_by_category"] [data-echarts]');
        el.scrollIntoView({ block: 'center' });
        const chart = window.echarts.getInstanceByDom(el);
        const opt = chart.getOption();
        const horizontal = opt.yAxis[0].type === 'category';
        const cat = (horizontal ? opt.yAxis[0] : opt.xAxis[0]).data[0];
        const raw = opt.series[0].data[0];
        const v = raw !== null && typeof raw === 'object' ? raw.value : raw;
        const px = chart.convertToPixel({ seriesIndex: 0 }, horizontal ? [v / 2, cat] : [cat, v / 2]);
        const r = el.getBoundingClientRect();
        return { x: r.left + px[0], y: r.top + px[1], cat };
      });
      const cat = String(json.rows[0][0]);
      assert(pt.cat === cat, `the first bar is ${pt.cat}, the card's first row ${cat}`);
      await page.mouse.click(pt.x, pt.y);
      await waitReady(page, 'category', cat);
      assert(JSON.stringify(query(page).getAll('category')) === JSON.stringify([cat]), `URL is ${page.url()}`);
      assertRefetched(deltas(before, await counts(page)), cards, 'category');
      const exp = expect.overview && expect.overview.kpis_by_category && expect.overview.kpis_by_category[cat];
      if (exp && exp.revenue !== undefined) {
        const got = await dataValue(page, 'revenue');
        assert(close(got, exp.revenue), `revenue shows ${got}, expected ${exp.revenue} for ${cat}`);
      }
      return `category=${cat}${exp ? ', revenue matches' : ''}`;
    });
    await check('overview: the drilled filter shows in the filter bar and its x clears it', async () => {
      const clear = page.locator('[data-filter="category"] .filter-clear');
      assert(await clear.isVisible(), 'no visible clear button');
      await clear.click();
      await waitReady(page);
      assert(!query(page).has('category'), `URL is ${page.url()}`);
      assert(await page.getAttribute('[data-filter="category"]', 'data-value') === '', 'the control still shows a category');
    });

    // 5. CSV download against the JSON rows.
    await check('overview: the CSV of revenue_by_category matches its JSON rows', async () => {
      const r = await page.evaluate(async () => {
        const csv = await fetch('/api/dashboards/overview/cards/revenue_by_category?format=csv');
        const json = await fetch('/api/dashboards/overview/cards/revenue_by_category');
        return { status: csv.status, type: csv.headers.get('content-type'), disposition: csv.headers.get('content-disposition'), text: await csv.text(), json: await json.json() };
      });
      assert(r.status === 200, `CSV status ${r.status}`);
      assert(/attachment/.test(r.disposition || ''), `Content-Disposition ${r.disposition}`);
      const rows = parseCsv(r.text.replace(/\s+$/, ''));
      const header = rows.shift();
      const names = r.json.columns.map((c) => c.name);
      assert(JSON.stringify(header) === JSON.stringify(names), `CSV header ${header}, JSON columns ${names}`);
      assert(rows.length === r.json.rows.length, `${rows.length} CSV rows, ${r.json.rows.length} JSON rows`);
      const vi = names.indexOf('revenue') >= 0 ? names.indexOf('revenue') : names.length - 1;
      const csvSum = rows.reduce((s, row) => s + Number(row[vi]), 0);
      const jsonSum = r.json.rows.reduce((s, row) => s + Number(row[vi]), 0);
      assert(close(csvSum, jsonSum, 1e-9), `CSV sum ${csvSum}, JSON sum ${jsonSum}`);
      return `${rows.length} rows, sum ${jsonSum.toFixed(2)}`;
    });

    // 6. The URL holds the state: load, reload, back.
    const cats = (await fetchJson(page, '/api/dashboards/overview/filters/category/values')).body.values || [];
    const x = picked || cats[0];
    const controlsShow = async (period, category) => {
      const s = await page.evaluate(() => ({
        period: document.querySelector('[data-filter="period"] select').value,
        periodValue: document.querySelector('[data-filter="period"]').dataset.value,
        category: document.querySelector('[data-filter="category"]').dataset.value,
        pill: document.querySelector('[data-filter="category"] .pill-value').textContent,
      }));
      assert(s.period === period && s.periodValue === period, `period control shows ${s.period}, want ${period}`);
      assert(s.category === category && (category === '' ? s.pill === 'All' : s.pill.includes(category)), `category control shows ${s.category} (“${s.pill}”), want ${category}`);
    };
    let value7 = null;
    await check('overview: a URL with filters opens with those selections', async () => {
      await gotoReady(page, `/d/overview?period=last_7_days&category=${encodeURIComponent(x)}`);
      await controlsShow('last_7_days', x);
      assertAllReady(await cardStates(page), cards.length);
      value7 = await dataValue(page, 'revenue');
      const direct = (await fetchJson(page, `/api/dashboards/overview/cards/revenue?period=last_7_days&category=${encodeURIComponent(x)}`)).body;
      assert(close(value7, direct.rows[0][0], 1e-9), `revenue shows ${value7}, the API says ${direct.rows[0][0]}`);
    });
    await check('overview: reload keeps the selections', async () => {
      await page.reload({ waitUntil: 'load' });
      await waitReady(page);
      await controlsShow('last_7_days', x);
      assert(await dataValue(page, 'revenue') === value7, 'revenue changed');
    });
    await check('overview: back after a filter change restores the controls and the data', async () => {
      await page.selectOption('[data-filter="period"] select', 'last_30_days');
      await waitReady(page);
      assert(!query(page).has('period'), `the default period stays out of the URL: ${page.url()}`);
      await controlsShow('last_30_days', x);
      const value30 = await dataValue(page, 'revenue');
      await page.goBack();
      await waitReady(page, 'period', 'last_7_days');
      assert(query(page).get('period') === 'last_7_days', `URL is ${page.url()}`);
      await controlsShow('last_7_days', x);
      assertAllReady(await cardStates(page), cards.length);
      const back = await dataValue(page, 'revenue');
      assert(back === value7, `revenue shows ${back} after back, was ${value7} (${value30} for 30 days)`);
      await page.goForward();
      await waitReady(page, 'period', 'last_30_days');
      await controlsShow('last_30_days', x);
      assert(await dataValue(page, 'revenue') === value30, 'forward did not restore the 30-day revenue');
      const p = takeProblems(page);
      assert(!p.length, p.join('; '));
    });

    // A few more things an analyst relies on.
    await check('overview: View SQL shows the card\'s SQL in a dialog', async () => {
      await gotoReady(page, '/d/overview');
      await page.click('[data-card="revenue"] .card-menu-btn');
      await page.click('.menu >> text=View SQL');
      await page.waitForFunction(() => { const p = document.querySelector('dialog[open] pre'); return p && /select/i.test(p.textContent); });
      const sql = await page.textContent('dialog[open] pre');
      assert(/fact_orders/.test(sql), `unexpected SQL: ${sql.slice(0, 80)}`);
      await page.keyboard.press('Escape');
      await page.waitForFunction(() => !document.querySelector('dialog[open]'));
    });
    await check('overview: clicking a table header sorts the rows', async () => {
      const col = await page.evaluate(() => [...document.querySelectorAll('[data-card="top_products"] thead th')].findIndex((th) => /revenue/i.test(th.textContent)));
      assert(col >= 0, 'no Revenue column in top_products');
      const header = page.locator('[data-card="top_products"] thead th button').nth(col);
      const read = () => page.evaluate((i) => [...document.querySelectorAll('[data-card="top_products"] tbody tr')].map((tr) => tr.children[i].textContent), col);
      await header.click(); // numbers sort descending first
      const desc = await read();
      await header.click();
      const asc = await read();
      assert(desc.length > 1 && JSON.stringify([...desc].reverse()) === JSON.stringify(asc), `descending ${desc.slice(0, 3)}…, ascending ${asc.slice(0, 3)}…`);
      const nums = asc.map((t) => Number(t.replace(/[^0-9.-]/g, '')));
      assert(nums.every((n, i) => i === 0 || n >= nums[i - 1]), `not ascending: ${asc.slice(0, 5)}`);
    });
    await check('overview: a bad filter value shows the API\'s error inside the cards that take it', async () => {
      const errPage = await desktop.newPage();
      await errPage.goto(`${base}/d/overview?period=not_a_period`, { waitUntil: 'load' });
      await waitReady(errPage);
      const states = await cardStates(errPage);
      await errPage.close();
      const bad = [];
      for (const c of cards) {
        const [, st, msg] = states.find(([id]) => id === c.id) || [];
        const want = c.filters.includes('period') ? 'error' : 'ready';
        if (st !== want) bad.push(`${c.id} is ${st}, want ${want}`);
        if (want === 'error' && !/not_a_period/.test(msg || '')) bad.push(`${c.id} shows “${msg}”`);
      }
      assert(!bad.length, bad.join('; '));
    });
  }

  // 8. The SQL explorer.
  const EX_SQL = "select category, sum(line_revenue) as revenue from {{ ref('fact_orders') }} f join {{ ref('dim_products') }} p using (product_sk) group by 1 order by 2 desc";
  const exSettled = (p) => p.waitForFunction(() => {
    const r = document.querySelector('.ex-result');
    return !!r && (r.dataset.state === 'ready' || r.dataset.state === 'error') && document.body.dataset.ready === 'true';
  });
  const exState = (p) => p.evaluate(() => {
    const r = document.querySelector('.ex-result');
    const err = document.querySelector('.ex-result [data-error]');
    return { state: r && r.dataset.state, rows: r && r.dataset.rows, truncated: r && r.dataset.truncated, error: err ? err.getAttribute('data-error') : null };
  });
  const exRun = async (p, sql) => {
    await p.fill('.ed-text', sql);
    await p.press('.ed-text', 'Control+Enter'); // sets data-state=loading before it returns
    await exSettled(p);
    return exState(p);
  };
  const postQuery = (p, sql, limit) => p.evaluate(async (a) => {
    const r = await fetch('/api/query', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sql: a.sql, limit: a.limit }) });
    return { status: r.status, body: await r.json() };
  }, { sql, limit });
  const ex = watch(await desktop.newPage());
  ex.setDefaultTimeout(readyTimeoutMs);
  const alerts = [];
  ex.on('dialog', (dlg) => { alerts.push(`${dlg.type()}: ${dlg.message()}`); dlg.dismiss().catch(() => {}); });
  await ex.goto(base + '/', { waitUntil: 'load' });
  await waitReady(ex);
  await ex.evaluate(() => localStorage.setItem('strata.theme', 'light'));
  await check('explore: the header links to the explorer, which lists the published relations and Strata\'s tables', async () => {
    await ex.click('.topnav a[data-section="explore"]');
    await ex.waitForFunction(() => location.pathname === '/explore' && document.querySelector('[data-relation="fact_orders"]'));
    const pub = (await fetchJson(ex, '/api/publication')).body;
    const want = Object.keys(pub.relations || {}).filter((n) => !n.startsWith('_'));
    const listed = await ex.evaluate(() => [...document.querySelectorAll('[data-relation]')].map((e) => e.dataset.relation));
    const missing = [...want, 'runs', 'task_runs', 'test_results', 'lake_batches'].filter((n) => !listed.includes(n));
    assert(!missing.length, `not listed: ${missing.join(', ')}`);
    // Clicking a relation writes the query for it.
    await ex.click('[data-relation="dim_products"]');
    await exSettled(ex);
    const sql = await ex.inputValue('.ed-text');
    assert(sql === "select * from {{ ref('dim_products') }} limit 100", `the editor holds ${JSON.stringify(sql)}`);
    const st = await exState(ex);
    assert(st.state === 'ready' && Number(st.rows) > 0, `result ${JSON.stringify(st)}`);
    const p = takeProblems(ex);
    assert(!p.length, p.join('; '));
    return `${listed.length} tables`;
  });
  let exDirect = null;
  await check('explore: a query shows the rows POST /api/query returns', async () => {
    const st = await exRun(ex, EX_SQL);
    assert(st.state === 'ready', `result is ${JSON.stringify(st)}`);
    exDirect = await postQuery(ex, EX_SQL, 1000);
    assert(exDirect.status === 200, `the API answered ${exDirect.status}: ${JSON.stringify(exDirect.body)}`);
    const d = exDirect.body;
    assert(Number(st.rows) === d.rows.length && d.rows.length > 0, `the page shows ${st.rows} rows, the API returned ${d.rows.length}`);
    const shown = await ex.evaluate(() => ({
      head: [...document.querySelectorAll('.ex-result thead th')].map((th) => th.textContent.trim()),
      first: [...document.querySelectorAll('.ex-result tbody tr:first-child td')].map((td) => td.textContent),
      trs: document.querySelectorAll('.ex-result tbody tr').length,
    }));
    assert(JSON.stringify(shown.head) === JSON.stringify(d.columns.map((c) => c.name)), `header ${shown.head}, columns ${d.columns.map((c) => c.name)}`);
    assert(shown.trs === Math.min(d.rows.length, 50), `${shown.trs} table rows`);
    assert(shown.first[0] === String(d.rows[0][0]), `first row starts ${shown.first[0]}, the API ${d.rows[0][0]}`);
    const num = Number(String(shown.first[1]).replace(/[^0-9.-]/g, ''));
    assert(close(num, d.rows[0][1], 1e-9), `first row's revenue shows ${shown.first[1]}, the API ${d.rows[0][1]}`);
    const p = takeProblems(ex);
    assert(!p.length, p.join('; '));
    return `${d.rows.length} rows, first ${d.rows[0][0]} ${d.rows[0][1]}`;
  });
  await check('explore: the SQL round-trips through the URL (reload keeps and reruns it)', async () => {
    assert(query(ex).get('sql') === EX_SQL, `URL is ${ex.url()}`);
    await ex.reload({ waitUntil: 'load' });
    await exSettled(ex);
    assert(await ex.inputValue('.ed-text') === EX_SQL, 'the editor lost the SQL');
    const st = await exState(ex);
    assert(st.state === 'ready' && exDirect && Number(st.rows) === exDirect.body.rows.length, `after the reload the result is ${JSON.stringify(st)}`);
    const p = takeProblems(ex);
    assert(!p.length, p.join('; '));
  });
  await check('explore: picking the bar chart draws a canvas with a bar per row', async () => {
    await ex.click('.ex-viz [data-viz="bar"]');
    await ex.waitForSelector('.ex-result canvas');
    const info = await ex.evaluate(() => {
      const el = document.querySelector('.ex-result [data-echarts]');
      const c = el && window.echarts.getInstanceByDom(el);
      const o = c && c.getOption();
      return o ? { type: o.series[0].type, n: o.series[0].data.length, w: el.clientWidth, h: el.clientHeight } : null;
    });
    assert(info && info.type === 'bar', `chart ${JSON.stringify(info)}`);
    assert(exDirect && info.n === exDirect.body.rows.length, `${info.n} bars for ${exDirect && exDirect.body.rows.length} rows`);
    assert(info.w > 300 && info.h > 200, `the chart is ${info.w}x${info.h}`);
    assert(query(ex).get('viz') === 'bar', `URL is ${ex.url()}`);
    const p = takeProblems(ex);
    assert(!p.length, p.join('; '));
  });
  await check('explore: "Save as card" returns YAML with the id and the SQL', async () => {
    await ex.click('.ex-save');
    await ex.fill('#card-title', 'Revenue by category (explorer)');
    await ex.fill('#card-id', 'explorer_revenue_by_category');
    await ex.click('[data-action="make-card"]');
    await ex.waitForSelector('dialog[open] pre[data-yaml]');
    const yaml = await ex.textContent('dialog[open] pre[data-yaml]');
    assert(/(^|\n)\s*-?\s*id: explorer_revenue_by_category\s*(\n|$)/.test(yaml), `no id line in ${yaml}`);
    assert(yaml.includes(EX_SQL), `the SQL is not in ${yaml}`);
    assert(/viz: "?bar"?/.test(yaml), `not a bar card: ${yaml}`);
    assert(await ex.isVisible('dialog[open] >> text=Copy'), 'no Copy button');
    assert(/cards:/.test(await ex.textContent('dialog[open]')), 'no note about cards:');
    await ex.keyboard.press('Escape');
    await ex.waitForFunction(() => !document.querySelector('dialog[open]'));
    const p = takeProblems(ex);
    assert(!p.length, p.join('; '));
  });
  await check('explore: a row limit of 100 truncates select * from fact_orders', async () => {
    const sql = "select * from {{ ref('fact_orders') }}";
    await ex.click('.ex-viz [data-viz="table"]');
    await ex.fill('.ed-text', sql);
    await ex.selectOption('.ex-limit', '100'); // reruns the question
    await exSettled(ex);
    let st = await exState(ex);
    if (st.rows !== '100') st = await exRun(ex, sql);
    assert(st.state === 'ready' && st.rows === '100' && st.truncated === 'true', `result ${JSON.stringify(st)}`);
    assert(/truncated/i.test(await ex.textContent('.ex-status')), 'the status does not say truncated');
    assert(query(ex).get('limit') === '100', `URL is ${ex.url()}`);
    const direct = await postQuery(ex, sql, 100);
    assert(direct.status === 200 && direct.body.truncated === true && direct.body.rows.length === 100, `the API: ${direct.status} ${direct.body.rows && direct.body.rows.length} rows, truncated ${direct.body.truncated}`);
    if (shots) await ex.screenshot({ path: join(shots, 'explore.png'), fullPage: true });
    const p = takeProblems(ex);
    assert(!p.length, p.join('; '));
  });
  await check('explore: bad SQL shows the API\'s error in the page (no alert, no other console error)', async () => {
    const bad = 'selec nonsense from';
    const st = await exRun(ex, bad);
    assert(st.state === 'error', `result ${JSON.stringify(st)}`);
    const direct = await postQuery(ex, bad, 1000);
    assert(direct.status === 400, `the API answered ${direct.status}`);
    const firstLine = String(direct.body.error).split('\n')[0];
    assert(st.error && st.error.includes(firstLine), `the page shows ${JSON.stringify(st.error)}, the API ${JSON.stringify(firstLine)}`);
    const look = await ex.evaluate(() => {
      const e = document.querySelector('.ex-result [data-error]');
      const msg = e.querySelector('pre') || e;
      const cs = getComputedStyle(msg);
      const r = e.getBoundingClientRect(), ed = document.querySelector('.ex-editor').getBoundingClientRect();
      return { visible: r.width > 0 && r.height > 0, below: r.top >= ed.bottom, font: cs.fontFamily, color: cs.color };
    });
    assert(look.visible && look.below, `the error is not shown under the editor: ${JSON.stringify(look)}`);
    assert(/mono|courier|consolas|menlo/i.test(look.font), `not monospace: ${look.font}`);
    const [r, g, b] = (look.color.match(/\d+/g) || []).map(Number);
    assert(r > 150 && r > g + 60 && r > b + 60, `not red: ${look.color}`);
    assert(!alerts.length, `alerts: ${alerts.join('; ')}`);
    // The failed request itself (a 400 on /api/query, which Chromium also logs) is expected here.
    const p = takeProblems(ex).filter((m) => !/HTTP 400 for .*\/api\/query$/.test(m) && !/Failed to load resource: the server responded with a status of 400/.test(m));
    assert(!p.length, p.join('; '));
  });
  await check('explore: the dark theme draws the chart from a shared URL without errors', async () => {
    const darkEx = watch(await dark.newPage());
    await darkEx.goto(`${base}/explore?sql=${encodeURIComponent(EX_SQL)}&viz=bar`, { waitUntil: 'load' });
    await exSettled(darkEx);
    const st = await exState(darkEx);
    assert(st.state === 'ready' && exDirect && Number(st.rows) === exDirect.body.rows.length, `result ${JSON.stringify(st)}`);
    await darkEx.waitForSelector('.ex-result canvas');
    assert(await darkEx.evaluate(() => document.documentElement.dataset.theme) === 'dark', 'not dark');
    if (shots) await darkEx.screenshot({ path: join(shots, 'explore-dark.png'), fullPage: true });
    const p = takeProblems(darkEx);
    await darkEx.close();
    assert(!p.length, p.join('; '));
  });
  await check('explore: fits a phone (editor first, no sideways scroll)', async () => {
    await phonePage.goto(`${base}/explore?sql=${encodeURIComponent(EX_SQL)}`, { waitUntil: 'load' });
    await exSettled(phonePage);
    const st = await exState(phonePage);
    assert(st.state === 'ready' && exDirect && Number(st.rows) === exDirect.body.rows.length, `result ${JSON.stringify(st)}`);
    const layout = await phonePage.evaluate(() => ({
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      editorFirst: document.querySelector('.ex-editor').getBoundingClientRect().top < document.querySelector('.ex-side').getBoundingClientRect().top,
    }));
    assert(layout.overflow <= 0, `the page scrolls sideways by ${layout.overflow}px`);
    assert(layout.editorFirst, 'the table list comes before the editor');
    if (shots) await phonePage.screenshot({ path: join(shots, 'explore-phone.png'), fullPage: true });
    const p = takeProblems(phonePage);
    assert(!p.length, p.join('; '));
  });
  await ex.close();

  // 9. The data docs (the shop's checkpoints ran in its pipeline), linked from the header.
  await check('data docs: the header links them; the index lists the shop\'s suites and each validation opens', async () => {
    await gotoReady(page, '/');
    const href = await page.getAttribute('.topnav a[data-section="quality"]', 'href');
    assert(href === '/quality/', `the Quality link goes to ${href}`);
    await page.goto(base + href, { waitUntil: 'load' });
    const index = await page.evaluate(() => ({
      title: document.querySelector('h1') && document.querySelector('h1').textContent,
      suites: [...document.querySelectorAll('a[href^="suites/"]')].map((a) => a.textContent),
      validations: [...document.querySelectorAll('a[href^="validations/"]')].map((a) => a.getAttribute('href')),
    }));
    assert(index.title === 'Data docs', `title ${index.title}`);
    for (const suite of ['raw.events', 'marts.fact_orders', 'marts.order_totals']) {
      assert(index.suites.includes(suite), `no suite ${suite} in ${index.suites.join(', ')}`);
    }
    assert(index.validations.length >= 15, `${index.validations.length} validations listed`);
    if (shots) await page.screenshot({ path: join(shots, 'data-docs.png'), fullPage: false });
    const events = await page.evaluate(() => {
      const row = [...document.querySelectorAll('tr')].find((r) => r.textContent.includes('raw.events'));
      const a = row && row.querySelector('a[href^="validations/"]');
      return a ? a.getAttribute('href') : null;
    });
    assert(events, 'no validation of raw.events');
    await page.goto(`${base}/quality/${events}`, { waitUntil: 'load' });
    const text = await page.evaluate(() => document.body.textContent);
    assert(/warning/.test(text) && /event_id/.test(text), 'the raw.events page shows no warning about event_id');
    if (shots) await page.screenshot({ path: join(shots, 'data-docs-validation.png'), fullPage: false });
    const p = takeProblems(page);
    assert(!p.length, p.join('; '));
    return `${new Set(index.suites).size} suites, ${index.validations.length} validations`;
  });

  await browser.close();
  browser = null;
} catch (e) {
  report(false, 'the test ran to the end', e && e.stack ? e.stack : String(e));
  if (browser) await browser.close().catch(() => {});
}
clearTimeout(watchdog);
finish();
