// Browser test of signed embeds: the shop's overview inside another site's <iframe>.
//
//   STRATA_EMBED_SECRET=... node tests/web/embed.mjs --url http://127.0.0.1:PORT --expect expect.json [--screenshots DIR]
//
// The server runs with the same STRATA_EMBED_SECRET (and may require logins: embeds need none).
// Tokens are signed here with node's own HMAC (not Strata's code), as a shop's backend would.
// A host page on another origin (a server started here) frames /embed/<token>. Checks:
//   1. the embed loads in the cross-origin frame with every card ready and no console errors,
//      without the header, and without a control for the filter the token fixes (category);
//   2. its revenue is expect.json's revenue for that category (independent SQL);
//   3. an editable filter (period) still works: the cards reload and the frame's URL keeps it;
//   4. the card menu offers CSV but no SQL, and every API request stays under /api/embed/<token>;
//   5. a normal dashboard page (/d/overview) refuses to be framed;
//   6. an expired token, a token signed with another secret and a dashboard without `embed:`
//      each show a clear message instead of data;
//   7. #theme=dark themes the embed.
// Screenshots: <DIR>/embed.png, embed-dark.png, embed-expired.png.
// Prints "ok - ..." / "not ok - ..." per check, then "N passed, M failed"; exits 1 on any failure.
import { assert, chromiumPath, parseArgs, playwrightEntry, reporter, startWatchdog } from './harness.mjs';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const overallTimeoutMs = 150_000;
const readyTimeoutMs = 20_000;

function usage(message) {
  console.error(`embed: ${message}\nusage: STRATA_EMBED_SECRET=... node tests/web/embed.mjs --url http://127.0.0.1:PORT --expect expect.json [--screenshots DIR]`);
  process.exit(2);
}
const args = parseArgs(['url', 'expect', 'screenshots'], usage);
if (!args.url || !args.expect) usage('--url and --expect are required');
const secret = process.env.STRATA_EMBED_SECRET || '';
if (secret.length < 32) usage('STRATA_EMBED_SECRET (32 bytes or more) must be set, the same as the server\'s');
const base = args.url.replace(/\/+$/, '');
const expect = JSON.parse(readFileSync(args.expect, 'utf8'));
const shots = args.screenshots ? resolve(args.screenshots) : null;
if (shots) mkdirSync(shots, { recursive: true });
for (const [path, what] of [[playwrightEntry, 'playwright-core'], [chromiumPath, 'chromium']]) {
  if (!existsSync(path)) usage(`${what} not found at ${path} (run scripts/bootstrap.sh)`);
}

const R = reporter();
const { check } = R;
let browser;
const watchdog = startWatchdog(overallTimeoutMs, R, () => browser);

// ------------------------------------------------------------------ tokens, signed here
const b64url = (s) => Buffer.from(s).toString('base64url');
function sign(payload, key = secret) {
  const signing = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
  return `${signing}.${createHmac('sha256', key).update(signing).digest('base64url')}`;
}
const inMinutes = (m) => Math.floor(Date.now() / 1000) + m * 60;
const token = (dashboard, params, exp = inMinutes(10), key = secret) => sign({ resource: { dashboard }, params, exp }, key);

// ------------------------------------------------------------------ the host page (another origin)
const host = createServer((req, res) => {
  const u = new URL(req.url, 'http://host');
  const src = u.searchParams.get('src') || '';
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html><head><title>Partner portal</title><style>
body { font: 15px system-ui, sans-serif; margin: 0; background: #f3f4f6; }
header { padding: 14px 24px; background: #111827; color: #fff; font-weight: 600; }
iframe { display: block; width: calc(100% - 48px); height: 1500px; margin: 18px 24px; border: 1px solid #d1d5db; border-radius: 10px; background: #fff; }
</style></head><body><header>Acme partner portal · Sales</header><iframe id="embed" src="${src.replace(/"/g, '&quot;')}"></iframe></body></html>`);
});
await new Promise((ok) => host.listen(0, '127.0.0.1', ok));
const hostUrl = `http://127.0.0.1:${host.address().port}`;

// ------------------------------------------------------------------ helpers
const close = (got, want) => Math.abs(Number(got) - Number(want)) <= Math.max(0.011, Math.abs(Number(want)) * 1e-9);
async function openEmbed(page, src) {
  page.apiRequests = [];
  await page.goto(`${hostUrl}/?src=${encodeURIComponent(src)}`, { waitUntil: 'load', timeout: readyTimeoutMs });
  const handle = await page.waitForSelector('#embed');
  const frame = await handle.contentFrame();
  assert(frame, 'the iframe has no frame');
  return frame;
}
const waitReady = (frame) => frame.waitForFunction(() => document.body && document.body.dataset.ready === 'true', null, { timeout: readyTimeoutMs });
const cardStates = (frame) => frame.evaluate(() => [...document.querySelectorAll('[data-card]')].map((e) => [e.dataset.card, e.dataset.state]));

try {
  const { chromium } = await import(pathToFileURL(playwrightEntry).href);
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'], timeout: 30_000 });
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, colorScheme: 'light' });
  const page = await context.newPage();
  page.setDefaultTimeout(readyTimeoutMs);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/')) (page.apiRequests || []).push(u.pathname);
  });
  const takeProblems = () => problems.splice(0, problems.length);

  const byCategory = (expect.overview && expect.overview.kpis_by_category) || {};
  const meta = await (await fetch(`${base}/api/embed/${token('overview', { category: ['x'] })}`)).json();
  const offered = await (await fetch(`${base}/api/embed/${token('overview', {})}/filters/category/values`)).json();
  const cat = Object.keys(byCategory).find((c) => (offered.values || []).includes(c));
  if (!cat) throw new Error(`no category of expect.json is offered by the filter: ${JSON.stringify(offered)} / ${JSON.stringify(meta)}`);
  const t = token('overview', { category: [cat] });
  const embedUrl = `${base}/embed/${t}`;
  let frame;

  await check(`the overview embeds in another site's frame with category=${cat} fixed`, async () => {
    frame = await openEmbed(page, embedUrl);
    await waitReady(frame);
    const states = await cardStates(frame);
    assert(states.length > 0, 'no cards');
    const bad = states.filter(([, s]) => s !== 'ready');
    assert(!bad.length, `not ready: ${bad.map(([c, s]) => `${c} ${s}`).join(', ')}`);
    const shown = await frame.evaluate(() => ({
      header: getComputedStyle(document.querySelector('.topbar')).display,
      filters: [...document.querySelectorAll('[data-filter]')].map((e) => e.dataset.filter),
      title: document.querySelector('h1') && document.querySelector('h1').textContent,
    }));
    assert(shown.header === 'none', `the header shows (${shown.header})`);
    assert(!shown.filters.includes('category'), `the fixed filter has a control: ${shown.filters}`);
    assert(shown.filters.includes('period'), `the period filter is missing: ${shown.filters}`);
    const p = takeProblems();
    assert(!p.length, p.join('; '));
    if (shots) await page.screenshot({ path: join(shots, 'embed.png'), fullPage: true });
    return `${states.length} cards, filters ${shown.filters.join(', ')}`;
  });

  await check('its numbers equal the independent SQL for the fixed category', async () => {
    const bad = [];
    for (const [card, want] of Object.entries(byCategory[cat])) {
      const got = await frame.evaluate((c) => { const e = document.querySelector(`[data-card="${c}"]`); return e ? e.dataset.value ?? null : null; }, card);
      if (got == null || got === '' || !close(got, want)) bad.push(`${card}: shows ${got}, expected ${want}`);
    }
    assert(!bad.length, bad.join('; '));
    return Object.keys(byCategory[cat]).join(', ');
  });

  await check('an editable filter still works in the embed, and its URL keeps it', async () => {
    await frame.selectOption('[data-filter="period"] select', 'last_7_days');
    await frame.waitForFunction(() => location.search.includes('period=last_7_days'));
    await waitReady(frame);
    const url = new URL(frame.url());
    assert(url.pathname === `/embed/${t}`, `the frame moved to ${url.pathname}`);
    const bad = (await cardStates(frame)).filter(([, s]) => s !== 'ready');
    assert(!bad.length, `not ready: ${bad.map(([c, s]) => `${c} ${s}`).join(', ')}`);
    const p = takeProblems();
    assert(!p.length, p.join('; '));
  });

  await check('the card menu offers CSV, not SQL, and every API request stays under the token', async () => {
    await frame.click('[data-card="revenue"] .card-menu-btn, [data-card="revenue"] button[aria-haspopup]');
    const items = await frame.evaluate(() => [...document.querySelectorAll('.menu .menu-item')].map((e) => [e.textContent.trim(), e.getAttribute('href') || '']));
    assert(items.length, 'no menu');
    assert(!items.some(([text]) => /SQL/.test(text)), `the menu offers ${items.map(([x]) => x)}`);
    const csv = items.find(([text]) => /CSV/.test(text));
    assert(csv && csv[1].startsWith(`/api/embed/${t}/cards/revenue`), `CSV link ${csv && csv[1]}`);
    const res = await fetch(base + csv[1]);
    assert(res.status === 200 && /text\/csv/.test(res.headers.get('content-type')), `CSV answered ${res.status}`);
    const outside = page.apiRequests.filter((p) => !p.startsWith(`/api/embed/${t}/`) && p !== `/api/embed/${t}`);
    assert(!outside.length, `requests outside the embed: ${outside.join(', ')}`);
    return `${page.apiRequests.length} API requests`;
  });

  await check('a dashboard page that is not an embed refuses to be framed', async () => {
    const f = await openEmbed(page, `${base}/d/overview`);
    await page.waitForTimeout(1500);
    const loaded = await f.evaluate(() => !!document.querySelector('[data-card]')).catch(() => false);
    assert(!loaded, `/d/overview rendered inside the frame (${f.url()})`);
    takeProblems();  // Chromium reports the refusal on the console
  });

  const refused = async (name, src, want, shot) => {
    await check(name, async () => {
      const f = await openEmbed(page, src);
      await waitReady(f);
      const text = await f.evaluate(() => document.querySelector('#app').textContent);
      assert(want.test(text), `the page says: ${text.slice(0, 300)}`);
      assert(!(await f.evaluate(() => !!document.querySelector('[data-card]'))), 'cards are shown');
      if (shots && shot) await page.screenshot({ path: join(shots, shot), fullPage: false });
      takeProblems();  // the 401/403 answers are logged by the browser
    });
  };
  await refused('an expired token shows that the link expired', `${base}/embed/${token('overview', {}, inMinutes(-1))}`,
    /expired or is not valid[\s\S]*expired/, 'embed-expired.png');
  await refused('a token signed with another secret is refused', `${base}/embed/${token('overview', {}, inMinutes(10), 'x'.repeat(40))}`,
    /expired or is not valid[\s\S]*signature does not match/);
  await refused('a dashboard without `embed:` cannot be embedded', `${base}/embed/${token('funnel', {})}`, /cannot be embedded/);

  await check('#theme=dark themes the embed', async () => {
    const f = await openEmbed(page, `${embedUrl}#theme=dark`);
    await waitReady(f);
    assert(await f.evaluate(() => document.documentElement.dataset.theme) === 'dark', 'not dark');
    const p = takeProblems();
    assert(!p.length, p.join('; '));
    if (shots) await page.screenshot({ path: join(shots, 'embed-dark.png'), fullPage: true });
  });
} catch (e) {
  R.report(false, 'the embed test ran', e && e.stack ? e.stack : String(e));
} finally {
  clearTimeout(watchdog);
  if (browser) await browser.close().catch(() => {});
  host.close();
  R.summary();
  process.exit(R.failed ? 1 : 0);
}
