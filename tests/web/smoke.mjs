// Browser smoke test: the pieces scripts/bootstrap.sh installs for the web UI and its browser tests
// work together. It launches Debian's chromium (/usr/bin/chromium) headless through the vendored
// playwright-core (third_party/web/node_modules/playwright-core), opens a file:// page that loads
// the vendored ECharts (third_party/web/echarts/echarts.min.js), draws a small bar chart, checks
// that ECharts loaded and drew something, and saves a screenshot.
//
//   node tests/web/smoke.mjs [screenshot.png]     (default /tmp/smoke.png)
//
// Exits 0 and prints "smoke: OK ..." on success; prints "smoke: FAIL: <why>" and exits 1 on any
// failure, including an error logged on the page's console, an uncaught page error, or a
// resource that failed to load.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const web = join(repo, 'third_party', 'web');
const playwrightEntry = join(web, 'node_modules', 'playwright-core', 'index.mjs');
const echartsJs = join(web, 'echarts', 'echarts.min.js');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const screenshot = resolve(process.argv[2] || '/tmp/smoke.png');
const overallTimeoutMs = 60_000;

function fail(message) {
  console.error(`smoke: FAIL: ${message}`);
  process.exit(1);
}

for (const [path, what] of [[playwrightEntry, 'playwright-core'], [echartsJs, 'ECharts'],
                            [chromiumPath, 'chromium']]) {
  if (!existsSync(path)) fail(`${what} not found at ${path} (run scripts/bootstrap.sh)`);
}

// A hung browser must not hang the test.
const watchdog = setTimeout(() => fail(`timed out after ${overallTimeoutMs / 1000} s`), overallTimeoutMs);

const { chromium } = await import(pathToFileURL(playwrightEntry).href);

// The page is a file on disk rather than a data: URL: a data: page has an opaque origin and may
// not load file:// scripts, whereas a file:// page may.
const pageDir = mkdtempSync(join(tmpdir(), 'strata-smoke-'));
const pagePath = join(pageDir, 'smoke.html');
writeFileSync(pagePath, `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>Strata smoke</title>
<script src="${pathToFileURL(echartsJs).href}"></script>
</head>
<body style="margin:0;background:#fff">
<div id="chart" style="width:640px;height:400px"></div>
<script>
  const chart = echarts.init(document.getElementById('chart'));
  chart.setOption({
    animation: false,
    title: { text: 'Strata smoke: rows per table' },
    tooltip: {},
    xAxis: { type: 'category', data: ['orders', 'customers', 'products', 'payments', 'events'] },
    yAxis: { type: 'value' },
    series: [{ type: 'bar', data: [120, 45, 30, 88, 160] }],
  });
  window.smokeDone = true;
</script>
</body>
</html>
`);

const problems = [];
let browser;
try {
  // As root, chromium refuses to start with its sandbox on. playwright-core already adds
  // --no-sandbox unless chromiumSandbox is set; it is spelled out so that stays true if the
  // default changes. Headless needs no X server.
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox'],
    timeout: 30_000,
  });
  const page = await browser.newPage({ viewport: { width: 640, height: 400 } });
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) =>
    problems.push(`failed to load ${req.url()}: ${req.failure()?.errorText}`));

  await page.goto(pathToFileURL(pagePath).href, { waitUntil: 'load', timeout: 20_000 });

  const result = await page.evaluate(() => {
    const root = document.getElementById('chart');
    const canvas = root.querySelector('canvas');
    const svg = root.querySelector('svg');
    let painted = 0;
    if (canvas) {
      // Count pixels that are not blank, to tell a drawn chart from an empty canvas.
      const ctx = canvas.getContext('2d');
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      for (let i = 0; i < data.length; i += 4) {
        const blank = data[i + 3] === 0 || (data[i] > 250 && data[i + 1] > 250 && data[i + 2] > 250);
        if (!blank) painted++;
      }
    }
    return {
      echartsType: typeof window.echarts,
      version: window.echarts && window.echarts.version,
      done: window.smokeDone === true,
      canvas: !!canvas,
      svg: !!svg,
      painted,
    };
  });

  await page.screenshot({ path: screenshot });

  if (result.echartsType !== 'object') problems.push(`typeof echarts is '${result.echartsType}', not 'object'`);
  if (!result.done) problems.push('the page script did not finish');
  if (!result.canvas && !result.svg) problems.push('the chart produced no canvas or svg element');
  if (result.canvas && result.painted < 1000) problems.push(`the chart canvas is (nearly) blank: ${result.painted} painted pixels`);

  if (problems.length === 0) {
    console.log(`smoke: OK: ${browser.version()} drew an ECharts ${result.version} bar chart ` +
                `(${result.canvas ? 'canvas' : 'svg'}, ${result.painted} painted pixels); screenshot ${screenshot}`);
  }
} catch (err) {
  problems.push(err && err.message ? err.message : String(err));
} finally {
  if (browser) await browser.close().catch(() => {});
  rmSync(pageDir, { recursive: true, force: true });
  clearTimeout(watchdog);
}

if (problems.length) fail(problems.join('\n  '));
