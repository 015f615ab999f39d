// What the browser tests share: "ok - ..." / "not ok - ..." reporting, assertions, and a
// watchdog that ends a test whose browser hangs, where the browser is, and arguments.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// Counts and prints checks; summary() prints "N passed, M failed".
export function reporter() {
  const r = { passed: 0, failed: 0 };
  r.report = (ok, name, detail) => {
    if (ok) r.passed++; else r.failed++;
    console.log(`${ok ? 'ok' : 'not ok'} - ${name}${!ok && detail ? `: ${String(detail).split('\n').join('\n    ')}` : ''}`);
  };
  r.check = async (name, fn) => {
    try {
      const detail = await fn();
      r.report(true, name + (detail ? ` (${detail})` : ''));
      return true;
    } catch (e) {
      r.report(false, name, e && e.message ? e.message : String(e));
      return false;
    }
  };
  r.summary = () => console.log(`${r.passed} passed, ${r.failed} failed`);
  return r;
}

// Fails the test and exits after `ms`, without waiting for a hung browser (browser() gives it).
export function startWatchdog(ms, r, browser) {
  return setTimeout(() => {
    r.report(false, `the test finished within ${ms / 1000} s`, 'timed out (hung browser or page?)');
    r.summary();
    const b = browser();
    if (b) b.close().catch(() => {});
    process.exit(1);
  }, ms);
}

// The vendored playwright-core and the browser (scripts/bootstrap.sh installs both).
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const playwrightEntry = join(repo, 'third_party', 'web', 'node_modules', 'playwright-core', 'index.mjs');
export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

// `--name value` and `--name=value` arguments for the given names; anything else calls usage().
export function parseArgs(names, usage) {
  const args = {};
  const re = new RegExp(`^--(${names.join('|')})(?:=(.*))?$`);
  for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i];
    const m = re.exec(a);
    if (!m) usage(`unknown argument ${a}`);
    args[m[1]] = m[2] !== undefined ? m[2] : process.argv[++i];
    if (args[m[1]] === undefined) usage(`${a} needs a value`);
  }
  return args;
}
