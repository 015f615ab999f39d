// Browser test of logins in the web app served by `strata serve --auth`.
//
//   node tests/web/auth.mjs --url http://127.0.0.1:PORT --editor ana:PASSWORD --viewer bo:PASSWORD [--screenshots DIR]
//
// The server must run with --auth and have the two users (`strata users add NAME --role editor|viewer`).
// It drives Debian's chromium (/usr/bin/chromium, or $CHROMIUM) headless through the vendored
// playwright-core and checks:
//   1. opening /d/overview logged out shows the login page (form[data-login]), keeps the URL and
//      makes no API request besides GET /api/me;
//   2. a wrong password shows the server's error ([data-error]);
//   3. the editor logs in and lands on /d/overview with every card ready, the header naming the
//      user and role;
//   4. the session cookie is HttpOnly (document.cookie does not show it) and SameSite=Strict;
//   5. the explorer runs a query for the editor, and its POST carries X-CSRF-Token;
//   6. a POST /api/query from the page without the X-CSRF-Token header answers 403;
//   7. a session that ends (cookie gone) brings the login page back on the next API call, keeping
//      the URL, and logging in again continues there;
//   8. "Log out" returns to the login page, after which /api/dashboards answers 401;
//   9. the viewer logs in, sees no Explore link, and /explore says the explorer is for editors;
// plus screenshots of the login page (<DIR>/login.png, login-dark.png, login-error.png).
// Prints "ok - ..." / "not ok - ..." per check, then "N passed, M failed"; exits 1 on any failure.
// Everything stops after 120 s.
import { assert, chromiumPath, parseArgs, playwrightEntry, reporter, startWatchdog } from './harness.mjs';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const overallTimeoutMs = 120_000;
const readyTimeoutMs = 20_000;

function usage(message) {
  console.error(`auth: ${message}\nusage: node tests/web/auth.mjs --url http://127.0.0.1:PORT --editor USER:PASSWORD --viewer USER:PASSWORD [--screenshots DIR]`);
  process.exit(2);
}
const args = parseArgs(['url', 'editor', 'viewer', 'screenshots'], usage);
for (const k of ['url', 'editor', 'viewer']) if (!args[k]) usage(`--${k} is required`);
const creds = (s, what) => {
  const i = s.indexOf(':');
  if (i <= 0) usage(`--${what} takes USER:PASSWORD`);
  return { user: s.slice(0, i), password: s.slice(i + 1) };
};
const editor = creds(args.editor, 'editor');
const viewer = creds(args.viewer, 'viewer');
const base = args.url.replace(/\/+$/, '');
const shots = args.screenshots ? resolve(args.screenshots) : null;
if (shots) mkdirSync(shots, { recursive: true });
for (const [path, what] of [[playwrightEntry, 'playwright-core'], [chromiumPath, 'chromium']]) {
  if (!existsSync(path)) usage(`${what} not found at ${path} (run scripts/bootstrap.sh)`);
}

// ------------------------------------------------------------------ reporting
const R = reporter();
const { report, check } = R;

let browser;
const watchdog = startWatchdog(overallTimeoutMs, R, () => browser);

// ------------------------------------------------------------------ page helpers
// Every page records page errors and the API requests it makes (method, path, CSRF header, status).
function watch(page) {
  page.problems = [];
  page.apiLog = [];
  page.on('pageerror', (err) => page.problems.push(`page error: ${err.message}`));
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.pathname.startsWith('/api/')) page.apiLog.push({ method: req.method(), path: u.pathname, csrf: req.headers()['x-csrf-token'] || null });
  });
  return page;
}
function takeProblems(page) { const p = page.problems; page.problems = []; return p; }
const waitReady = (page) => page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: readyTimeoutMs });
const loginShown = (page) => page.evaluate(() => {
  const f = document.querySelector('form[data-login]');
  return !!f && f.offsetParent !== null && !document.querySelector('#app [data-card]');
});
const waitLogin = (page) => page.waitForSelector('form[data-login]', { state: 'visible', timeout: readyTimeoutMs });
async function logIn(page, c) {
  await waitLogin(page);
  await page.fill('form[data-login] input[name="username"]', c.user);
  await page.fill('form[data-login] input[name="password"]', c.password);
  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/login', { timeout: readyTimeoutMs });
  await page.click('form[data-login] button[type="submit"]');
  return (await answer).status();
}
const fetchStatus = (page, path, init) => page.evaluate(async (a) => {
  const r = await fetch(a.path, a.init || {});
  let body = null;
  try { body = await r.json(); } catch (_) { /* not JSON */ }
  return { status: r.status, body };
}, { path, init });
const cardStates = (page) => page.evaluate(() => [...document.querySelectorAll('[data-card]')].map((e) => [e.dataset.card, e.dataset.state]));
const headerUser = (page) => page.evaluate(() => {
  const box = document.getElementById('user-box');
  return box && !box.hidden ? box.textContent.replace(/\s+/g, ' ').trim() : null;
});
const exploreLinkVisible = (page) => page.evaluate(() => {
  const a = document.querySelector('.topnav a[data-section="explore"]');
  return !!a && a.offsetParent !== null;
});

// ------------------------------------------------------------------ the checks
try {
  const { chromium } = await import(pathToFileURL(playwrightEntry).href);
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'], timeout: 30_000 });
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: 'light' });
  const page = watch(await ctx.newPage());
  page.setDefaultTimeout(readyTimeoutMs);

  const me = await fetch(`${base}/api/me`).then((r) => r.status).catch((e) => `unreachable (${e.message})`);
  if (me !== 401) {
    report(false, 'the server runs with --auth', `GET /api/me answered ${me} without a session, want 401`);
    throw new Error('stop');
  }

  // 1. Logged out, a dashboard URL shows the login page and asks only /api/me.
  await check('logged out, /d/overview shows the login page, keeps the URL and requests nothing but /api/me', async () => {
    await page.goto(`${base}/d/overview?period=last_7_days`, { waitUntil: 'load' });
    await waitLogin(page);
    await waitReady(page);
    await page.waitForTimeout(300); // a stray request after the login page shows would be caught
    assert(await loginShown(page), 'no visible form[data-login], or cards on the page');
    const url = new URL(page.url());
    assert(url.pathname + url.search === '/d/overview?period=last_7_days', `the URL became ${url.pathname}${url.search}`);
    const other = page.apiLog.filter((r) => r.path !== '/api/me');
    assert(!other.length, `also requested ${other.map((r) => `${r.method} ${r.path}`).join(', ')}`);
    assert(page.apiLog.length >= 1, 'did not ask /api/me');
    const visible = await page.evaluate(() => ({
      name: /Strata/.test(document.querySelector('form[data-login]').textContent),
      header: document.querySelector('.topbar').offsetParent !== null,
      button: [...document.querySelectorAll('form[data-login] button[type="submit"]')].map((b) => b.textContent.trim()),
    }));
    assert(visible.name, 'the login page does not name Strata');
    assert(JSON.stringify(visible.button) === '["Log in"]', `the submit button says ${visible.button}`);
    const p = takeProblems(page);
    assert(!p.length, p.join('; '));
    if (shots) await page.screenshot({ path: join(shots, 'login.png') });
    return `${page.apiLog.length} API request(s)`;
  });

  // 2. A wrong password shows the server's error.
  await check('a wrong password shows the error on the login page', async () => {
    const status = await logIn(page, { user: editor.user, password: `${editor.password}-wrong` });
    assert(status === 400, `POST /api/login answered ${status}, want 400`);
    await page.waitForSelector('form[data-login] [data-error]:not([hidden])');
    const text = (await page.textContent('form[data-login] [data-error]')).trim();
    assert(/wrong user name or password/i.test(text), `the error says ${JSON.stringify(text)}`);
    assert(await loginShown(page), 'the login page went away');
    if (shots) await page.screenshot({ path: join(shots, 'login-error.png') });
    return text;
  });

  // 3. The editor logs in and lands where they wanted to go.
  let cardCount = 0;
  await check('the editor logs in and lands on /d/overview with every card ready', async () => {
    page.apiLog = [];
    const status = await logIn(page, editor);
    assert(status === 200, `POST /api/login answered ${status}`);
    await page.waitForFunction(() => !document.querySelector('form[data-login]') && document.querySelectorAll('[data-card]').length > 0);
    await waitReady(page);
    const url = new URL(page.url());
    assert(url.pathname === '/d/overview' && url.searchParams.get('period') === 'last_7_days', `landed on ${url.pathname}${url.search}`);
    const d = await fetchStatus(page, '/api/dashboards/overview');
    assert(d.status === 200, `/api/dashboards/overview answered ${d.status}`);
    const want = (d.body.cards || []).length;
    const states = await cardStates(page);
    cardCount = states.length;
    assert(states.length === want, `${states.length} cards on the page, the dashboard has ${want}`);
    const bad = states.filter(([, s]) => s !== 'ready');
    assert(!bad.length, bad.map(([c, s]) => `${c} is ${s}`).join('; '));
    const who = await headerUser(page);
    assert(who && who.includes(editor.user) && /editor/i.test(who) && /log out/i.test(who), `the header shows ${JSON.stringify(who)}`);
    assert(await exploreLinkVisible(page), 'the editor sees no Explore link');
    const p = takeProblems(page);
    assert(!p.length, p.join('; '));
    return `${cardCount} cards; header "${who}"`;
  });

  // 4. The session cookie cannot be read by scripts.
  await check('the session cookie is HttpOnly and SameSite=Strict (not in document.cookie)', async () => {
    const cookies = await ctx.cookies(base);
    assert(cookies.length > 0, 'no cookie after logging in');
    const docCookie = await page.evaluate(() => document.cookie);
    for (const c of cookies) {
      assert(c.httpOnly, `cookie ${c.name} is not HttpOnly`);
      assert(c.sameSite === 'Strict', `cookie ${c.name} is SameSite=${c.sameSite}`);
      assert(!docCookie.includes(c.name) && !docCookie.includes(c.value), `document.cookie shows ${c.name}`);
    }
    return `${cookies.map((c) => c.name).join(', ')}; document.cookie ${JSON.stringify(docCookie)}`;
  });

  // 5. The explorer works for the editor and its POSTs carry the CSRF token.
  await check('the explorer runs a query for the editor, its POST carrying X-CSRF-Token', async () => {
    await page.click('.topnav a[data-section="explore"]');
    await page.waitForFunction(() => location.pathname === '/explore' && document.querySelector('.ed-text'));
    page.apiLog = [];
    await page.fill('.ed-text', "select category, count(*) as n from {{ ref('dim_products') }} group by 1 order by 1");
    await page.press('.ed-text', 'Control+Enter');
    await page.waitForFunction(() => {
      const r = document.querySelector('.ex-result');
      return !!r && (r.dataset.state === 'ready' || r.dataset.state === 'error') && document.body.dataset.ready === 'true';
    });
    const st = await page.evaluate(() => {
      const r = document.querySelector('.ex-result');
      const e = document.querySelector('.ex-result [data-error]');
      return { state: r.dataset.state, rows: r.dataset.rows, error: e ? e.getAttribute('data-error') : null };
    });
    assert(st.state === 'ready' && Number(st.rows) > 0, `result ${JSON.stringify(st)}`);
    const posts = page.apiLog.filter((r) => r.method === 'POST');
    assert(posts.length > 0, 'no POST seen');
    const bare = posts.filter((r) => !r.csrf);
    assert(!bare.length, `without X-CSRF-Token: ${bare.map((r) => r.path).join(', ')}`);
    const p = takeProblems(page);
    assert(!p.length, p.join('; '));
    return `${st.rows} rows`;
  });

  // 6. A POST without the CSRF header is refused.
  await check('a POST /api/query from the page without X-CSRF-Token answers 403', async () => {
    const r = await fetchStatus(page, '/api/query', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sql: 'select 1 as x', limit: 10 }),
    });
    assert(r.status === 403, `answered ${r.status}: ${JSON.stringify(r.body)}`);
    return JSON.stringify(r.body);
  });

  // 7. A session that ends brings the login page back on the next API call, keeping the URL.
  await check('when the session ends, the next API call shows the login page (same URL), and logging in continues there', async () => {
    await page.goto(`${base}/d/overview`, { waitUntil: 'load' });
    await waitReady(page);
    await ctx.clearCookies();
    await page.click('.brand'); // the home page asks /api/dashboards: 401 now
    await waitLogin(page);
    assert(new URL(page.url()).pathname === '/', `the URL became ${page.url()}`);
    const note = await page.evaluate(() => { const e = document.querySelector('form[data-login] [data-error]'); return e && !e.hidden ? e.textContent : ''; });
    const status = await logIn(page, editor);
    assert(status === 200, `POST /api/login answered ${status}`);
    await page.waitForSelector('a[data-dashboard]');
    await waitReady(page);
    assert(new URL(page.url()).pathname === '/', `after logging in the URL is ${page.url()}`);
    const p = takeProblems(page);
    assert(!p.length, p.join('; '));
    return note ? `notice "${note}"` : '';
  });

  // 8. Log out.
  await check('"Log out" returns to the login page and /api/dashboards then answers 401', async () => {
    page.apiLog = [];
    await page.click('[data-logout]');
    await waitLogin(page);
    const out = page.apiLog.find((r) => r.path === '/api/logout');
    assert(out && out.method === 'POST' && out.csrf, `logout request ${JSON.stringify(out)}`);
    const r = await fetchStatus(page, '/api/dashboards');
    assert(r.status === 401, `/api/dashboards answered ${r.status}`);
    assert((await headerUser(page)) === null, 'the header still shows the user');
    const p = takeProblems(page);
    assert(!p.length, p.join('; '));
    return JSON.stringify(r.body);
  });

  // 9. The viewer: dashboards yes, explorer no.
  await check('the viewer logs in, sees no Explore link, and /explore says the explorer is for editors', async () => {
    const status = await logIn(page, viewer);
    assert(status === 200, `POST /api/login answered ${status}`);
    await page.waitForSelector('a[data-dashboard]');
    await waitReady(page);
    const who = await headerUser(page);
    assert(who && who.includes(viewer.user) && /viewer/i.test(who), `the header shows ${JSON.stringify(who)}`);
    assert(!(await exploreLinkVisible(page)), 'the viewer sees the Explore link');
    page.apiLog = [];
    await page.goto(`${base}/explore`, { waitUntil: 'load' });
    await waitReady(page);
    const text = await page.evaluate(() => document.getElementById('app').textContent);
    assert(/The SQL explorer is for editors/.test(text), `the page says ${JSON.stringify(text.slice(0, 200))}`);
    assert(!(await page.$('.ed-text')), 'the editor is on the page');
    const q = page.apiLog.filter((r) => r.path.startsWith('/api/query'));
    assert(!q.length, `asked ${q.map((r) => r.path).join(', ')}`);
    const direct = await fetchStatus(page, '/api/dashboards');
    assert(direct.status === 200, `/api/dashboards answered ${direct.status} for the viewer`);
    const p = takeProblems(page);
    assert(!p.length, p.join('; '));
    if (shots) await page.screenshot({ path: join(shots, 'viewer-explore.png') });
    return who;
  });

  // The login page in the dark theme.
  await check('the login page in the dark theme', async () => {
    const dark = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: 'dark' });
    const dp = watch(await dark.newPage());
    await dp.goto(`${base}/`, { waitUntil: 'load' });
    await waitLogin(dp);
    const theme = await dp.evaluate(() => document.documentElement.dataset.theme);
    assert(theme === 'dark', `theme ${theme}`);
    if (shots) await dp.screenshot({ path: join(shots, 'login-dark.png') });
    const p = takeProblems(dp);
    assert(!p.length, p.join('; '));
    await dark.close();
  });
} catch (e) {
  if (!(e && e.message === 'stop')) report(false, 'the test ran to the end', e && e.stack ? e.stack : String(e));
} finally {
  clearTimeout(watchdog);
  if (browser) await browser.close().catch(() => {});
}
R.summary();
process.exit(R.failed ? 1 : 0);
