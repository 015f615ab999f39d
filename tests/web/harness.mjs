// What the browser tests share: "ok - ..." / "not ok - ..." reporting, assertions, and a
// watchdog that ends a test whose browser hangs.
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
