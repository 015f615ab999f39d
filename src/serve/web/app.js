// Strata web app: the dashboards of `strata serve`, rendered generically from its JSON API.
//
// Pages (routed on location.pathname; the server answers every page path with index.html):
//   /            the list of dashboards
//   /d/<id>      a dashboard: filter bar, 12-column grid of cards (numbers, charts, tables)
//   /explore     the SQL explorer: a query on the publication, as a table or a chart, and as card YAML
//   /embed/<token>  one dashboard opened by a signed embed token (in another site's <iframe>): no
//                header or navigation, no login, no SQL; the filters the token fixes are not shown
//
// The page URL holds the whole filter state (?period=last_7_days&category=books&category=toys; an
// absent parameter means the filter's default, an empty one "explicitly none"), so links can be
// shared and back/forward restore it. A filter change refetches only the cards that take it.
//
// Test hooks used by tests/web/dashboards.mjs: [data-card]/[data-state] on every card,
// data-value/data-previous on number cards, [data-filter] on filter controls,
// body[data-ready="true"] when the cards settled after the latest change, and
// window.strataFetchCount (card id -> number of card data fetches started), data-range on a date
// filter's hint (the resolved start..end) and data-through on the header's "Data through".
//
// Plain ES2020, no build step, no libraries besides ECharts; the CSP allows no inline script.
'use strict';

(function () {
  // ------------------------------------------------------------------ theme (before first paint)
  const THEME_KEY = 'strata.theme';
  const darkQuery = window.matchMedia('(prefers-color-scheme: dark)');
  const storedTheme = () => {
    try { const t = localStorage.getItem(THEME_KEY); return t === 'dark' || t === 'light' ? t : null; } catch (_) { return null; }
  };
  // An embed may choose its theme in the URL's fragment (#theme=dark), to match the page around it.
  const embedTheme = () => { const m = /(?:^#|&)theme=(dark|light)\b/.exec(location.hash); return m ? m[1] : null; };
  const themeNow = () => embedTheme() || storedTheme() || (darkQuery.matches ? 'dark' : 'light');
  document.documentElement.dataset.theme = themeNow();

  window.strataFetchCount = window.strataFetchCount || {};
  // An embed: the token is the credential; everything the page asks goes through /api/embed/<token>.
  const embedMatch = /^\/embed\/([^/]+)\/?$/.exec(location.pathname);
  const EMBED = embedMatch ? embedMatch[1] : null;
  if (EMBED) document.documentElement.dataset.embed = 'true';
  const reduceMotion = navigator.webdriver || window.matchMedia('(prefers-reduced-motion: reduce)').matches;

  // ------------------------------------------------------------------ small DOM helpers
  function h(tag, props, ...kids) {
    const e = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v == null || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = v;
        else if (k === 'html') e.innerHTML = v;
        else if (k === 'dataset') Object.assign(e.dataset, v);
        else if (k === 'style') Object.assign(e.style, v);
        else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2).toLowerCase(), v);
        else if (k === 'value' || k === 'checked') e[k] = v;
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid == null || kid === false) continue;
      e.append(kid instanceof Node ? kid : String(kid));
    }
    return e;
  }
  const svgIcon = (paths, cls) =>
    `<svg class="${cls || ''}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${paths}</svg>`;
  const ICON = {
    sun: svgIcon('<circle cx="12" cy="12" r="4"/><path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4"/>'),
    moon: svgIcon('<path d="M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z"/>'),
    more: svgIcon('<circle cx="5" cy="12" r="1.2"/><circle cx="12" cy="12" r="1.2"/><circle cx="19" cy="12" r="1.2"/>'),
    info: svgIcon('<circle cx="12" cy="12" r="9"/><path d="M12 16v-4.5M12 8h.01"/>'),
    x: svgIcon('<path d="M18 6 6 18M6 6l12 12"/>'),
    chevron: svgIcon('<path d="m6 9 6 6 6-6"/>'),
    left: svgIcon('<path d="m15 18-6-6 6-6"/>'),
    right: svgIcon('<path d="m9 18 6-6-6-6"/>'),
    code: svgIcon('<path d="m16 18 6-6-6-6M8 6l-6 6 6 6"/>'),
    download: svgIcon('<path d="M12 3v12M7 10l5 5 5-5M5 21h14"/>'),
    copy: svgIcon('<rect x="9" y="9" width="12" height="12" rx="2"/><path d="M5 15V5a2 2 0 0 1 2-2h10"/>'),
    check: svgIcon('<path d="M20 6 9 17l-5-5"/>'),
    alert: svgIcon('<circle cx="12" cy="12" r="9"/><path d="M12 7.5v5M12 16h.01"/>'),
    up: svgIcon('<path d="M12 19V5M5 12l7-7 7 7"/>'),
    down: svgIcon('<path d="M12 5v14M19 12l-7 7-7-7"/>'),
    db: svgIcon('<ellipse cx="12" cy="5" rx="8" ry="3"/><path d="M4 5v14c0 1.7 3.6 3 8 3s8-1.3 8-3V5M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3"/>'),
    clock: svgIcon('<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>'),
    chart: svgIcon('<path d="M3 3v18h18"/><path d="M7 15l4-4 3 3 5-6"/>'),
    play: svgIcon('<path d="M7 4.5v15l12.5-7.5z" fill="currentColor" stroke="none"/>'),
    layers: svgIcon('<path d="m12 2 10 5-10 5L2 7z"/><path d="m2 17 10 5 10-5M2 12l10 5 10-5"/>'),
  };
  const iconEl = (name) => { const s = h('span', { class: 'i', html: ICON[name] }); return s.firstChild; };
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const enc = encodeURIComponent;
  const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

  // ------------------------------------------------------------------ API
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  // The signed-in user (GET /api/me): {auth: false} when the server runs without logins, else
  // {auth: true, user, role, csrf}. Every request other than GET sends the CSRF token; a 401 from
  // any call (the session ended) shows the login page and keeps the URL.
  let session = { auth: false, user: null, role: null, csrf: null };
  const loggedOut = () => session.auth && !session.user;
  const canExplore = () => !session.auth || session.role === 'editor' || session.role === 'admin';
  // A call cut short because the session ended: pages drop it like an aborted request.
  class SessionEnded extends Error {
    constructor() { super('Your session ended: log in again.'); this.name = 'AbortError'; this.status = 401; }
  }
  async function api(path, opts) {
    opts = opts || {};
    const headers = Object.assign({ Accept: 'application/json' }, opts.headers || {});
    const method = String(opts.method || 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
    let res;
    try {
      res = await fetch(path, { ...opts, headers, credentials: 'same-origin' });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(0, 'Could not reach the Strata server.');
    }
    let body = null;
    try { body = await res.json(); } catch (e) { if (e && e.name === 'AbortError') throw e; }
    if (!res.ok) {
      if (res.status === 401 && EMBED) throw new ApiError(401, (body && body.error) || 'This link is not valid.');
      if (res.status === 401 && !opts.noLoginRedirect) {
        sessionEnded();
        throw new SessionEnded();
      }
      if (res.status === 409) throw new ApiError(409, 'Nothing is published yet: run the pipeline');
      throw new ApiError(res.status, (body && body.error) || `The server answered ${res.status} ${res.statusText}`);
    }
    return { body, res };
  }

  // ------------------------------------------------------------------ formatting
  const nfCache = new Map();
  function nf(opts) {
    const key = JSON.stringify(opts);
    let f = nfCache.get(key);
    if (!f) {
      try { f = new Intl.NumberFormat(undefined, opts); } catch (_) { f = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 }); }
      nfCache.set(key, f);
    }
    return f;
  }
  const dfCache = new Map();
  function df(opts) {
    const key = JSON.stringify(opts);
    let f = dfCache.get(key);
    if (!f) { f = new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', ...opts }); dfCache.set(key, f); }
    return f;
  }
  const isNumType = (t) => /INT|DECIMAL|NUMERIC|DOUBLE|FLOAT|REAL/i.test(t || '') && !/INTERVAL|\[\]|STRUCT|MAP/i.test(t || '');
  const isIntType = (t) => isNumType(t) && /INT/i.test(t) && !/DECIMAL|NUMERIC/i.test(t);
  function toNum(v) {
    if (typeof v === 'number') return Number.isFinite(v) ? v : null;
    if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
    if (typeof v === 'boolean') return v ? 1 : 0;
    return null;
  }
  const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?/;
  function parseDate(v) {
    const m = DATE_RE.exec(String(v));
    if (!m) return null;
    return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0)));
  }
  function fmtDate(v, style) {
    const d = parseDate(v);
    if (!d) return String(v);
    if (style === 'month') return df({ month: 'short', year: 'numeric' }).format(d);
    if (style === 'short') return df({ month: 'short', day: 'numeric' }).format(d);
    if (style === 'datetime') return df({ month: 'short', day: 'numeric', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(d);
    return df({ month: 'short', day: 'numeric', year: 'numeric' }).format(d);
  }
  function fmtRange(p) {
    if (!p || p.length < 2) return '';
    const a = parseDate(p[0]), b = parseDate(p[1]);
    if (!a || !b) return `${p[0]} – ${p[1]}`;
    if (p[0] === p[1]) return fmtDate(p[0]);
    if (a.getUTCFullYear() === b.getUTCFullYear()) return `${fmtDate(p[0], 'short')} – ${fmtDate(p[1])}`;
    return `${fmtDate(p[0])} – ${fmtDate(p[1])}`;
  }
  function prettify(name) {
    const s = String(name).replace(/[_\s]+/g, ' ').trim();
    return s ? s[0].toUpperCase() + s.slice(1) : s;
  }

  // A column's display spec: the dashboard's `columns` entry, else inferred from the SQL type.
  function colSpec(columnsMap, name, type) {
    const c = (columnsMap || {})[String(name).toLowerCase()] || {};
    let format = c.format || '';
    if (!format) {
      if (isIntType(type)) format = 'integer';
      else if (isNumType(type)) format = 'number';
      else if (/^DATE$/i.test(type || '')) format = 'date';
      else if (/TIMESTAMP/i.test(type || '')) format = 'datetime';
      else format = 'text';
    }
    return { name, type: type || '', format, currency: c.currency || 'USD', decimals: c.decimals, label: c.label || prettify(name) };
  }
  const isNumericSpec = (s) => ['currency', 'percent', 'integer', 'number'].includes(s.format) || isNumType(s.type);

  // fmt(value, spec, {compact, kpi, dateStyle})
  function fmt(v, spec, o) {
    o = o || {};
    if (v === null || v === undefined) return o.nullText != null ? o.nullText : '—';
    const f = spec ? spec.format : 'text';
    if (f === 'date') return fmtDate(v, o.dateStyle);
    if (f === 'datetime') return fmtDate(v, o.dateStyle || 'datetime');
    if (f === 'plain') return String(v); // identifiers and keys: digits as they are
    if (f === 'text' || !f) return typeof v === 'number' ? nf({ maximumFractionDigits: 6 }).format(v) : String(v);
    const n = toNum(v);
    if (n === null) return String(v);
    const d = spec.decimals;
    let opts;
    if (f === 'currency') {
      opts = { style: 'currency', currency: spec.currency || 'USD' };
      if (o.compact && Math.abs(n) < 1000 && d != null) Object.assign(opts, { minimumFractionDigits: 0, maximumFractionDigits: d });
      else if (o.compact) Object.assign(opts, { notation: 'compact', maximumFractionDigits: Math.abs(n) < 10 ? 2 : 1, minimumFractionDigits: 0 });
      else if (d != null) Object.assign(opts, { minimumFractionDigits: d, maximumFractionDigits: d });
      else if (o.kpi && (Math.abs(n) >= 1000 || n === 0)) Object.assign(opts, { minimumFractionDigits: 0, maximumFractionDigits: 0 });
    } else if (f === 'percent') {
      const dd = o.compact ? 0 : (d != null ? d : 1);
      opts = { style: 'percent', minimumFractionDigits: dd, maximumFractionDigits: dd };
      if (o.compact && Math.abs(n) < 0.1 && n !== 0) opts = { style: 'percent', maximumFractionDigits: 1 };
    } else if (f === 'integer') {
      opts = o.compact ? { notation: 'compact', maximumFractionDigits: 1 } : { maximumFractionDigits: 0 };
    } else {
      if (o.compact) opts = { notation: 'compact', maximumFractionDigits: 2 };
      else if (d != null) opts = { minimumFractionDigits: d, maximumFractionDigits: d };
      else opts = { maximumFractionDigits: Math.abs(n) >= 100 ? 1 : Math.abs(n) >= 1 ? 2 : 4 };
    }
    return nf(opts).format(n);
  }
  // Category values on an axis or a legend (dates shortened when they are month starts).
  function catFormatter(spec, values) {
    if (spec.format === 'date' || spec.format === 'datetime') {
      const ds = values.map(parseDate).filter(Boolean);
      const monthly = ds.length > 1 && ds.every((d) => d.getUTCDate() === 1);
      const years = new Set(ds.map((d) => d.getUTCFullYear()));
      return {
        axis: (v) => (v == null || v === '' ? '∅' : fmtDate(v, monthly ? 'month' : (years.size > 1 && ds.length <= 12 ? 'long' : 'short'))),
        full: (v) => (v == null ? '∅' : fmtDate(v, monthly ? 'month' : (spec.format === 'datetime' ? 'datetime' : 'long'))),
      };
    }
    const f = (v) => (v == null ? '∅' : fmt(v, spec));
    return { axis: f, full: f };
  }

  // ------------------------------------------------------------------ chart colours per theme
  const PALETTE = {
    light: ['#4f46e5', '#0ea5e9', '#14b8a6', '#f59e0b', '#ec4899', '#8b5cf6', '#64748b', '#84cc16', '#ef4444', '#06b6d4'],
    dark: ['#8e95ff', '#38bdf8', '#2dd4bf', '#fbbf24', '#f472b6', '#b197fc', '#94a3b8', '#a3e635', '#f87171', '#22d3ee'],
  };
  function chartTheme() {
    const cs = getComputedStyle(document.documentElement);
    const v = (n) => cs.getPropertyValue(n).trim();
    const mode = document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light';
    return {
      mode,
      palette: PALETTE[mode],
      text: v('--text'), text2: v('--text-2'), muted: v('--muted'), faint: v('--faint'),
      border: v('--border'), grid: mode === 'dark' ? '#22262f' : '#eef0f3',
      surface: v('--surface'), accent: v('--accent'),
      heatLow: mode === 'dark' ? '#252a3d' : '#eef0fd',
      font: v('--font') || 'system-ui, sans-serif',
    };
  }

  // ------------------------------------------------------------------ theme toggle
  function applyTheme(theme, persist) {
    document.documentElement.dataset.theme = theme;
    if (persist) { try { localStorage.setItem(THEME_KEY, theme); } catch (_) { /* private mode */ } }
    const btn = document.getElementById('theme-toggle');
    if (btn) {
      btn.innerHTML = theme === 'dark' ? ICON.sun : ICON.moon;
      const label = theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme';
      btn.setAttribute('aria-label', label);
      btn.title = label;
    }
    if (current && current.onTheme) current.onTheme();
  }

  // ------------------------------------------------------------------ router
  let current = null; // the page controller: {destroy(), onTheme(), onPopState()}
  const app = () => document.getElementById('app');

  function setCrumbs(items) {
    const nav = document.getElementById('crumbs');
    nav.replaceChildren();
    for (const it of items) {
      nav.append(h('span', { class: 'sep', text: '/' }));
      nav.append(it.href ? h('a', { href: it.href, 'data-nav': '', text: it.text }) : h('span', { class: 'here', text: it.text }));
    }
  }
  function setReady(ready) { document.body.dataset.ready = ready ? 'true' : 'false'; }

  function route() {
    if (EMBED) {
      if (!current) current = dashboardPage(null, EMBED);
      else current.onPopState();
      return;
    }
    if (loggedOut()) { if (document.body.dataset.view !== 'login') showLogin(); return; }
    const path = location.pathname.replace(/\/+$/, '') || '/';
    const m = /^\/d\/([^/]+)$/.exec(path);
    if (m && current && current.kind === 'dashboard' && current.id === decodeURIComponent(m[1])) {
      current.onPopState();
      return;
    }
    if (current) current.destroy();
    current = null;
    closeMenus();
    app().replaceChildren();
    window.scrollTo(0, 0);
    const section = path === '/explore' ? 'explore' : path === '/' || m ? 'dashboards' : '';
    for (const a of document.querySelectorAll('.topnav a')) {
      if (a.dataset.section === section) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    if (path === '/') current = homePage();
    else if (m) current = dashboardPage(decodeURIComponent(m[1]));
    else if (path === '/explore') current = canExplore() ? explorePage() : editorsOnlyPage();
    else current = notFoundPage();
  }
  function navigate(href) {
    history.pushState(null, '', href);
    route();
  }

  // ------------------------------------------------------------------ pages: home, explore, 404
  function publicationBanner(pub) {
    if (pub && pub.published === false) {
      return h('div', { class: 'banner warn', role: 'status' }, iconEl('alert'),
        h('span', { text: 'Nothing is published yet: run the pipeline. Dashboards show data once a pipeline run publishes the warehouse.' }));
    }
    return null;
  }

  function homePage() {
    document.title = 'Dashboards · Strata';
    setCrumbs([{ text: 'Dashboards' }]);
    setReady(false);
    const root = app();
    const head = h('div', { class: 'page-head' }, h('div', null,
      h('h1', { text: 'Dashboards' }),
      h('p', { class: 'desc', text: 'Every number reads the published marts, so it shows only data whose tests passed.' })));
    const meta = h('div', { class: 'page-meta' });
    head.firstChild.append(meta);
    const list = h('div', { class: 'dash-list', 'aria-busy': 'true' },
      [0, 1, 2].map(() => h('div', { class: 'dash-tile' }, h('div', { class: 'sk sk-line' }), h('div', { class: 'sk sk-line', style: { width: '80%' } }))));
    root.append(head, list);
    const ac = new AbortController();
    (async () => {
      try {
        const [dl, pub] = await Promise.all([
          api('/api/dashboards', { signal: ac.signal }),
          api('/api/publication', { signal: ac.signal }).catch((e) => { if (e.name === 'AbortError') throw e; return null; }),
        ]);
        const banner = pub && publicationBanner(pub.body);
        if (banner) root.insertBefore(banner, list);
        if (pub && pub.body && pub.body.published) {
          meta.append(h('span', { class: 'meta-item' }, h('span', { class: 'dot' }), `Publication ${pub.body.version}`),
            h('span', { class: 'meta-item', html: `${ICON.db}` }, `${pub.body.schema} · ${Object.keys(pub.body.relations || {}).filter((r) => !r.startsWith('_')).length} relations`));
        }
        const ds = dl.body.dashboards || [];
        list.replaceChildren();
        list.removeAttribute('aria-busy');
        if (!ds.length) {
          list.replaceWith(h('div', { class: 'empty-page' }, h('h1', { text: 'No dashboards yet' }),
            h('p', { text: 'Add a YAML file under dashboards/ in the project and reload.' })));
        }
        for (const d of ds) {
          list.append(h('a', { class: 'dash-tile', href: `/d/${enc(d.id)}`, 'data-nav': '', 'data-dashboard': d.id },
            h('div', { class: 'tile-icon', html: ICON.chart }),
            h('h2', { text: d.title || d.id }),
            h('p', { text: d.description || '' }),
            h('div', { class: 'tile-meta', text: `${d.cards} card${d.cards === 1 ? '' : 's'}` })));
        }
      } catch (e) {
        if (e.name === 'AbortError') return;
        list.replaceWith(errorBox(e));
      }
      setReady(true);
    })();
    return { kind: 'home', destroy() { ac.abort(); }, onTheme() {}, onPopState() {} };
  }

  // ------------------------------------------------------------------ SQL explorer (/explore)
  // A native query editor on the publication: POST /api/query runs one read-only statement
  // ({{ ref('model') }}, {{ strata('runs') }}) under a row limit; the result is drawn with the
  // dashboards' table and chart renderers; "Save as card" turns the question into card YAML
  // (POST /api/query/card). The URL holds the question (?sql=&limit=&viz=&x=&y=), replaced as it
  // changes, so it can be shared; a URL with sql runs it on open.
  //
  // Test hooks: .ex-result[data-state="idle|loading|ready|error"][data-rows], [data-error] on
  // the error (its text the API's message), [data-relation] on the side list, [data-viz] on the
  // chart picker, pre[data-yaml] in the "Save as card" dialog.
  const EX_LIMITS = [100, 1000, 10000];
  const EX_DEFAULT_LIMIT = 1000;
  const EX_VIZ = [['table', 'Table'], ['bar', 'Bar'], ['line', 'Line'], ['area', 'Area'], ['pie', 'Pie'], ['scatter', 'Scatter'], ['number', 'Number']];
  const EX_MULTI_Y = new Set(['bar', 'line', 'area']);
  const EX_SYSTEM = [
    ['runs', 'Pipeline runs: state, trigger, timings'],
    ['task_runs', 'Every task of every run'],
    ['test_results', 'Data tests per run: pass, fail, rows'],
    ['lake_batches', 'Batches landed in the lake, quarantined rows'],
  ];
  const EX_DRAFT_KEY = 'strata.explore.sql';
  // The API wraps the statement; a trailing semicolon would end it early.
  const cleanSql = (s) => String(s || '').replace(/[\s;]+$/, '');
  // DuckDB repeats the "LINE n:" context of a parser error; once is enough.
  const tidyError = (m) => String(m || '').split(/\n{2,}/).filter((p, i, a) => i === 0 || p.trim() !== a[i - 1].trim()).join('\n\n');
  const slug = (s) => String(s || '').toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 60);

  // SQL highlighting for the editor: keywords, strings, numbers, comments and {{ }} templates.
  const SQL_KEYWORDS = new Set(('select from where group by order having limit offset join left right full inner outer cross on using as and or not ' +
    'in is null like ilike between case when then else end distinct union all except intersect with recursive over partition window rows range ' +
    'asc desc nulls first last true false interval cast filter qualify lateral exists any some values natural semi anti asof pivot unpivot ' +
    'date timestamp time').split(' '));
  const SQL_TOKEN = /(--[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|('(?:[^']|'')*'?)|("(?:[^"]|"")*"?)|(\{\{[\s\S]*?(?:\}\}|$)|\{%[\s\S]*?(?:%\}|$))|(\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*(?=\s*\())|([A-Za-z_][A-Za-z0-9_]*)/gi;
  function highlightSql(text) {
    let out = '', last = 0, m;
    SQL_TOKEN.lastIndex = 0;
    while ((m = SQL_TOKEN.exec(text))) {
      if (m[0] === '') { SQL_TOKEN.lastIndex++; continue; }
      out += esc(text.slice(last, m.index));
      const t = esc(m[0]);
      if (m[1]) out += `<span class="tk-c">${t}</span>`;
      else if (m[2]) out += `<span class="tk-s">${t}</span>`;
      else if (m[3]) out += t;
      else if (m[4]) out += `<span class="tk-t">${t}</span>`;
      else if (m[5]) out += `<span class="tk-n">${t}</span>`;
      else if (SQL_KEYWORDS.has(m[0].toLowerCase())) out += `<span class="tk-k">${t}</span>`;
      else if (m[6]) out += `<span class="tk-f">${t}</span>`;
      else out += t;
      last = m.index + m[0].length;
    }
    return out + esc(text.slice(last)) + '\n';
  }

  function explorePage() {
    document.title = 'Explore · Strata';
    setCrumbs([{ text: 'Explore' }]);
    setReady(false);
    const X = {
      kind: 'explore', destroyed: false, run: null, result: null, chart: null, tableState: null,
      viz: 'table', x: null, y: [], limit: EX_DEFAULT_LIMIT, timers: [],
    };
    const root = app();
    const ac = new AbortController();

    // --- URL state --------------------------------------------------------------------
    const params = new URLSearchParams(location.search);
    let initialSql = params.get('sql');
    const fromUrl = initialSql != null && initialSql.trim() !== '';
    if (!fromUrl) { try { initialSql = localStorage.getItem(EX_DRAFT_KEY) || ''; } catch (_) { initialSql = ''; } }
    const lim = Number(params.get('limit'));
    if (EX_LIMITS.includes(lim)) X.limit = lim;
    if (EX_VIZ.some(([v]) => v === params.get('viz'))) X.viz = params.get('viz');
    X.wantX = params.get('x');
    X.wantY = params.getAll('y').filter(Boolean);

    // --- layout -----------------------------------------------------------------------
    const head = h('div', { class: 'page-head' }, h('div', null,
      h('h1', { text: 'Explore' }),
      h('p', { class: 'desc' }, 'Ask the published data a question in SQL. ',
        h('code', { text: "{{ ref('fact_orders') }}" }), ' reads a published relation, ',
        h('code', { text: "{{ strata('runs') }}" }), ' one of Strata\'s own tables.')));
    const side = h('aside', { class: 'ex-side', 'aria-label': 'Data reference' });
    const relList = h('ul', { class: 'rel-list', 'aria-busy': 'true' }, [0, 1, 2, 3].map(() => h('li', null, h('div', { class: 'sk sk-line', style: { width: '70%', margin: '8px 10px' } }))));
    const pubNote = h('span', { class: 'side-note' });
    side.append(
      h('div', { class: 'side-section' }, h('div', { class: 'side-title' }, h('h2', { text: 'Published data' }), pubNote), relList),
      h('div', { class: 'side-section' }, h('div', { class: 'side-title' }, h('h2', { text: 'Strata' }), h('span', { class: 'side-note', text: 'runs and tests' })),
        h('ul', { class: 'rel-list' }, EX_SYSTEM.map(([name, desc]) => relItem(name, `{{ strata('${name}') }}`, desc, 'clock')))),
      h('p', { class: 'side-help', text: 'Click a table to query it; the arrow lists its columns, and a column goes in at the cursor.' }));

    const gutter = h('div', { class: 'ed-gutter', 'aria-hidden': 'true' });
    const ta = h('textarea', {
      class: 'ed-text', spellcheck: 'false', wrap: 'off', autocapitalize: 'off', autocomplete: 'off',
      'aria-label': 'SQL', placeholder: "select * from {{ ref('fact_orders') }} limit 100",
    });
    ta.value = initialSql || '';
    const hl = h('pre', { class: 'ed-hl', 'aria-hidden': 'true' });
    const editor = h('div', { class: 'ed' }, gutter, h('div', { class: 'ed-area' }, hl, ta));
    const mac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
    const runBtn = h('button', { type: 'button', class: 'btn primary ex-run', title: `Run (${mac ? '⌘' : 'Ctrl'}+Enter; runs the selection when there is one)` });
    const limitSel = h('select', { class: 'ex-limit', 'aria-label': 'Row limit' }, EX_LIMITS.map((n) => h('option', { value: String(n), text: `${nf({}).format(n)} rows` })));
    limitSel.value = String(X.limit);
    const saveBtn = h('button', { type: 'button', class: 'btn ex-save', title: 'The question as a card for a dashboard file' }, iconEl('layers'), h('span', { text: 'Save as card' }));
    const hint = h('span', { class: 'ex-hint' }, h('kbd', { text: mac ? '⌘' : 'Ctrl' }), h('kbd', { text: '↵' }), h('span', { text: ' to run' }));
    const editorCard = h('div', { class: 'card ex-editor' }, editor,
      h('div', { class: 'ex-bar' }, runBtn, hint, h('div', { class: 'topbar-spacer' }), h('label', { class: 'ex-limit-wrap' }, h('span', { text: 'Limit' }), limitSel), saveBtn));

    const vizSeg = h('div', { class: 'seg ex-viz', role: 'group', 'aria-label': 'Visualization' },
      EX_VIZ.map(([v, label]) => h('button', { type: 'button', 'aria-pressed': 'false', dataset: { viz: v }, text: label })));
    const xSel = h('select', { class: 'ex-x', 'aria-label': 'X axis column' });
    const yBtn = h('button', { type: 'button', class: 'ex-ybtn', 'aria-haspopup': 'listbox', 'aria-expanded': 'false', 'aria-label': 'Y axis columns' });
    const yPanel = h('div', { class: 'filter-panel ex-ypanel', hidden: true });
    const xWrap = h('label', { class: 'ex-axis' }, h('span', { text: 'X' }), xSel);
    const yWrap = h('div', { class: 'ex-axis ex-yaxis' }, h('span', { text: 'Y' }), yBtn, yPanel);
    const status = h('div', { class: 'ex-status tabular', 'aria-live': 'polite' });
    const csvBtn = h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Download the result as CSV', title: 'Download CSV', html: ICON.download, hidden: true });
    const resultHead = h('div', { class: 'ex-result-head', hidden: true }, vizSeg, xWrap, yWrap, h('div', { class: 'topbar-spacer' }), status, csvBtn);
    const resultBody = h('div', { class: 'card-body ex-body' });
    const result = h('section', { class: 'card ex-result', dataset: { state: 'idle' }, 'aria-label': 'Result' }, resultHead, resultBody);

    const mainCol = h('div', { class: 'ex-main' }, editorCard, result);
    root.append(head, h('div', { class: 'explore' }, side, mainCol));

    function relItem(name, ref, desc, icon) {
      const cols = h('ul', { class: 'col-list', hidden: true });
      const expand = h('button', { type: 'button', class: 'rel-expand', 'aria-expanded': 'false', 'aria-label': `Columns of ${name}`, title: 'Columns', html: ICON.chevron });
      const btn = h('button', { type: 'button', class: 'rel', dataset: { relation: name }, title: desc ? `${desc}\nClick: select * from ${ref}` : `select * from ${ref}` },
        iconEl(icon || 'db'), h('span', { class: 'rel-name', text: name }));
      btn.addEventListener('click', (e) => {
        if (e.altKey || e.shiftKey) { insertAtCursor(ref); return; }
        setSql(`select * from ${ref} limit 100`);
        runQuery();
      });
      let loaded = false;
      expand.addEventListener('click', async () => {
        const open = cols.hidden;
        cols.hidden = !open;
        expand.setAttribute('aria-expanded', String(open));
        if (!open || loaded) return;
        loaded = true;
        cols.replaceChildren(h('li', { class: 'col-note', text: 'Loading…' }));
        try {
          const { body } = await api('/api/query', postJson({ sql: `select * from ${ref} limit 0`, limit: 100 }, ac.signal));
          cols.replaceChildren(...(body.columns || []).map((c) => h('li', null,
            h('button', { type: 'button', class: 'col', title: `Insert ${c.name} at the cursor`, onclick: () => insertAtCursor(c.name) },
              h('span', { class: 'col-name', text: c.name }), h('span', { class: 'col-type', text: String(c.type || '').toLowerCase() })))));
        } catch (e2) {
          if (e2.name === 'AbortError') return;
          loaded = false;
          cols.replaceChildren(h('li', { class: 'col-note', text: e2.message }));
        }
      });
      return h('li', null, h('div', { class: 'rel-row' }, btn, expand), cols);
    }

    // --- the editor ---------------------------------------------------------------------
    const syncGutter = () => {
      const n = Math.max(1, ta.value.split('\n').length);
      if (gutter.childElementCount !== n) {
        const frag = document.createDocumentFragment();
        for (let i = 1; i <= n; i++) frag.append(h('div', { text: String(i) }));
        gutter.replaceChildren(frag);
      }
      // Grows with the text from 6 to 24 lines, then scrolls.
      const lh = parseFloat(getComputedStyle(ta).lineHeight) || 20;
      ta.style.height = `${clamp(n + 1, 6, 24) * lh + 20}px`;
      hl.innerHTML = highlightSql(ta.value);
      syncScroll();
    };
    const syncScroll = () => {
      gutter.scrollTop = ta.scrollTop;
      hl.scrollTop = ta.scrollTop;
      hl.scrollLeft = ta.scrollLeft;
    };
    ta.addEventListener('scroll', syncScroll);
    let escaped = false;
    ta.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); runQuery(); return; }
      if (e.key === 'Escape') { escaped = true; return; }
      // Tab indents (Escape first moves focus on, as in code editors).
      if (e.key === 'Tab' && !escaped && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey) { e.preventDefault(); insertAtCursor('  ', true); }
      escaped = false;
    });
    let urlTimer = 0;
    ta.addEventListener('input', () => {
      syncGutter();
      clearTimeout(urlTimer);
      urlTimer = setTimeout(saveState, 350);
    });
    // Replaces the whole text (undoable where the browser allows).
    function setSql(text) {
      ta.focus();
      ta.select();
      let ok = false;
      try { ok = document.execCommand('insertText', false, text); } catch (_) { ok = false; }
      if (!ok || ta.value !== text) ta.value = text;
      ta.setSelectionRange(text.length, text.length);
      syncGutter();
      saveState();
    }
    function insertAtCursor(text, keepFocus) {
      ta.focus();
      let ok = false;
      try { ok = document.execCommand('insertText', false, text); } catch (_) { ok = false; }
      if (!ok) ta.setRangeText(text, ta.selectionStart, ta.selectionEnd, 'end');
      syncGutter();
      if (!keepFocus) saveState();
    }

    function stateUrl() {
      const p = new URLSearchParams();
      const sql = ta.value;
      if (sql.trim()) p.set('sql', sql);
      if (X.limit !== EX_DEFAULT_LIMIT) p.set('limit', String(X.limit));
      if (X.viz !== 'table') {
        p.set('viz', X.viz);
        if (X.x && X.viz !== 'number') p.set('x', X.x);
        if (X.viz !== 'number') for (const y of X.y) p.append('y', y);
      }
      const q = p.toString();
      return `/explore${q ? '?' + q : ''}`;
    }
    function saveState() {
      if (X.destroyed) return;
      const url = stateUrl();
      if (location.pathname + location.search !== url) history.replaceState(null, '', url);
      try { localStorage.setItem(EX_DRAFT_KEY, ta.value); } catch (_) { /* private mode */ }
    }

    // --- running a query ------------------------------------------------------------------
    function postJson(obj, signal) {
      return { method: 'POST', headers: { Accept: 'application/json', 'Content-Type': 'application/json' }, body: JSON.stringify(obj), signal };
    }
    const setRunBtn = (running) => {
      runBtn.replaceChildren(running ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : h('span', { class: 'i', html: ICON.play }), h('span', { text: running ? 'Cancel' : 'Run' }));
      runBtn.classList.toggle('running', running);
    };
    setRunBtn(false);
    runBtn.addEventListener('click', () => (X.run ? cancelRun() : runQuery()));
    limitSel.addEventListener('change', () => { X.limit = Number(limitSel.value); saveState(); if (X.result || X.error) runQuery(); });

    function cancelRun() {
      if (!X.run) return;
      const r = X.run;
      X.run = null;
      r.ctrl.abort();
      clearInterval(r.tick);
      setRunBtn(false);
      result.setAttribute('aria-busy', 'false');
      result.dataset.state = X.error ? 'error' : X.result ? 'ready' : 'idle';
      status.textContent = X.result ? statusText(X.result) : '';
      if (!X.result && !X.error) showIdle('Cancelled.');
      setReady(true);
    }

    async function runQuery() {
      const selected = ta.selectionStart !== ta.selectionEnd ? ta.value.slice(ta.selectionStart, ta.selectionEnd) : '';
      const sql = cleanSql(selected.trim() ? selected : ta.value);
      if (!sql.trim()) { ta.focus(); showIdle('Write a query first.'); return; }
      if (X.run) { X.run.ctrl.abort(); clearInterval(X.run.tick); }
      saveState();
      const ctrl = new AbortController();
      const t0 = performance.now();
      const run = { ctrl, sql, t0, tick: 0 };
      X.run = run;
      setReady(false);
      setRunBtn(true);
      result.dataset.state = 'loading';
      result.setAttribute('aria-busy', 'true');
      resultHead.hidden = !X.result;
      if (!X.result) resultBody.replaceChildren(h('div', { class: 'ex-placeholder' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { class: 'ex-elapsed', text: 'Running…' })));
      run.tick = setInterval(() => {
        const s = (performance.now() - t0) / 1000;
        const txt = `Running… ${s.toFixed(1)} s`;
        if (X.result) status.textContent = txt;
        const el = resultBody.querySelector('.ex-elapsed');
        if (el) el.textContent = txt;
      }, 100);
      try {
        const { body } = await api('/api/query', postJson({ sql, limit: X.limit }, ctrl.signal));
        if (X.run !== run || X.destroyed) return;
        if (!body || !Array.isArray(body.columns) || !Array.isArray(body.rows)) throw new ApiError(500, 'The server sent no result.');
        body.ms = performance.now() - t0;
        X.result = body;
        X.error = null;
        X.tableState = null;
        pickAxes(body.columns);
        renderResult();
      } catch (e) {
        if (e.name === 'AbortError' || X.run !== run || X.destroyed) return;
        X.error = e;
        renderError(e);
      } finally {
        if (X.run === run) {
          clearInterval(run.tick);
          X.run = null;
          setRunBtn(false);
          result.setAttribute('aria-busy', 'false');
          setReady(true);
        }
      }
    }

    function showIdle(msg) {
      disposeExChart();
      result.dataset.state = X.result ? 'ready' : 'idle';
      if (X.result) return;
      resultHead.hidden = true;
      resultBody.replaceChildren(h('div', { class: 'ex-placeholder' },
        h('span', { class: 'ex-empty-icon', html: ICON.code }),
        h('p', { text: msg || 'Run a query to see its result here.' }),
        h('p', { class: 'muted' }, 'Click a table on the left to start from it, or write your own SELECT.')));
    }

    function renderError(e) {
      disposeExChart();
      X.result = null;
      result.dataset.state = 'error';
      delete result.dataset.rows;
      resultHead.hidden = true;
      const title = e.status === 400 ? 'The query failed' : ERROR_TITLES[e.status] || 'Something went wrong';
      const msg = tidyError(e.message);
      const more = e.status === 504 ? 'Narrow the query (filters, a smaller range) or lower the row limit.' : e.status === 409 ? 'Run the pipeline to publish the warehouse.' : '';
      resultBody.replaceChildren(h('div', { class: 'ex-error', role: 'alert', 'data-error': msg },
        h('div', { class: 'ex-error-title' }, iconEl('alert'), h('strong', { text: title }), e.status ? h('span', { class: 'muted', text: `HTTP ${e.status}` }) : null),
        h('pre', { class: 'ex-error-msg', text: msg }),
        more ? h('p', { class: 'ex-error-more', text: more }) : null));
    }

    // --- the result -----------------------------------------------------------------------
    const numericCol = (cols, i) => isNumType(cols[i].type);
    function pickAxes(columns) {
      const names = columns.map((c) => c.name);
      const has = (n) => n != null && names.includes(n);
      // The URL's axes on the first result, then the user's choices while they still exist.
      if (X.wantX !== undefined) {
        if (has(X.wantX)) X.x = X.wantX;
        const ys = (X.wantY || []).filter(has);
        if (ys.length) X.y = ys;
        X.wantX = undefined;
        X.wantY = undefined;
      }
      if (!has(X.x)) X.x = null;
      X.y = X.y.filter(has);
      defaultAxes(columns);
    }
    // Defaults that make a sensible first chart: x a date (line, area) or a label column, y the
    // first measure; identifiers and keys are neither when something else is there.
    const ID_RE = /(^|_)(id|sk|key|uuid|hash)$/i;
    const isTime = (c) => /^(DATE|TIMESTAMP)/i.test(c.type || '');
    function defaultAxes(columns) {
      const idx = columns.map((c, i) => i);
      const nums = idx.filter((i) => numericCol(columns, i));
      const measures = [...nums.filter((i) => !ID_RE.test(columns[i].name)), ...nums.filter((i) => ID_RE.test(columns[i].name))];
      const name = (i) => (i == null || i < 0 ? null : columns[i].name);
      if (X.viz === 'scatter') {
        const xi = columns.findIndex((c) => c.name === X.x);
        if (!nums.includes(xi)) X.x = name(measures[0]);
        const rest = measures.filter((i) => columns[i].name !== X.x);
        if (!X.y.length || X.y.includes(X.x)) X.y = rest.length ? [name(rest[0])] : [];
      } else {
        if (!X.x) {
          const time = idx.filter((i) => isTime(columns[i]));
          const labels = idx.filter((i) => !numericCol(columns, i) && !isTime(columns[i]) && !ID_RE.test(columns[i].name));
          const order = X.viz === 'line' || X.viz === 'area' ? [...time, ...labels] : [...labels, ...time];
          X.x = name(order.length ? order[0] : 0);
        }
        X.y = X.y.filter((y) => y !== X.x);
        if (!X.y.length) X.y = measures.map(name).filter((n) => n !== X.x).slice(0, 1);
      }
      if (!EX_MULTI_Y.has(X.viz) && X.y.length > 1) X.y = X.y.slice(0, 1);
    }
    function statusText(r) {
      const n = r.rows.length;
      const secs = r.seconds != null ? r.seconds : r.ms / 1000;
      const t = secs < 1 ? `${Math.max(1, Math.round(secs * 1000))} ms` : `${secs.toFixed(2)} s`;
      return `${r.truncated ? 'First ' : ''}${nf({}).format(n)} row${n === 1 ? '' : 's'} · ${t}`;
    }
    function exColumns(r) {
      // Raw column names; decimals as the DECIMAL type's scale; integer ids and keys without
      // digit grouping.
      const map = {};
      for (const c of r.columns) {
        const m = /DECIMAL\(\s*\d+\s*,\s*(\d+)\s*\)/i.exec(c.type || '');
        const plain = isIntType(c.type) && /(^|_)(id|sk|key|year|yyyymmdd)$/i.test(c.name);
        map[String(c.name).toLowerCase()] = { label: c.name, decimals: m ? Math.min(Number(m[1]), 6) : undefined, format: plain ? 'plain' : undefined };
      }
      return map;
    }
    function disposeExChart() {
      if (X.cs) disposeChart(X.cs);
    }
    function renderResult() {
      const r = X.result;
      if (!r) return;
      disposeExChart();
      result.dataset.state = 'ready';
      result.dataset.rows = String(r.rows.length);
      result.dataset.truncated = r.truncated ? 'true' : 'false';
      resultHead.hidden = false;
      csvBtn.hidden = false;
      status.replaceChildren(statusText(r));
      if (r.truncated) {
        status.prepend(h('span', { class: 'chip warn', title: `The query returns more rows than the limit of ${nf({}).format(X.limit)}; raise the limit or aggregate`, text: 'Truncated' }), ' ');
      }
      updatePicker();
      const card = { id: 'explore', title: 'Result', viz: X.viz, chart: {}, filters: [], height: 4.4 };
      if (X.viz !== 'table' && X.viz !== 'number') card.chart = { x: X.x, y: X.y };
      const D = { filters: {}, dash: { columns: exColumns(r) } };
      const cs = X.cs || {};
      Object.assign(cs, { card, root: result, body: resultBody, data: r, chart: null, tableState: X.tableState });
      X.cs = cs;
      resultBody.replaceChildren();
      const cols = r.columns.map((c) => colSpec(D.dash.columns, c.name, c.type));
      try {
        if (!r.rows.length) {
          if (r.columns.length && X.viz === 'table') renderTable(D, cs, cols, resultBody, { pageSize: 50, noFoot: true });
          resultBody.append(h('div', { class: 'card-empty', text: r.columns.length ? 'No rows' : 'The statement returned nothing' }));
        } else if (X.viz === 'table') {
          renderTable(D, cs, cols, resultBody, { pageSize: 50 });
          X.tableState = cs.tableState;
        } else if (X.viz === 'number') {
          renderNumber(D, cs, cols);
          resultBody.lastChild.classList.add('ex-kpi');
          const measure = isNumType(r.columns[0].type);
          resultBody.append(h('p', { class: 'ex-note', text: measure
            ? `The first column (${r.columns[0].name}) of the first row, as a number card shows it.`
            : `A number card shows the first column of the first row, here ${r.columns[0].name}: put the measure first in the select list.` }));
        } else {
          if (!X.y.length) throw new Error(X.viz === 'scatter' ? 'A scatter plot needs two numeric columns.' : 'Pick a numeric column for Y.');
          // A time axis runs in time order whatever the query's order.
          const xi = r.columns.findIndex((c) => c.name === X.x);
          if (xi >= 0 && isTime(r.columns[xi]) && ['line', 'area', 'bar'].includes(X.viz)) {
            const rows = r.rows.map((row, i) => [row, i]);
            rows.sort((a, b) => (a[0][xi] == null) - (b[0][xi] == null) || String(a[0][xi]).localeCompare(String(b[0][xi])) || a[1] - b[1]);
            cs.data = { ...r, rows: rows.map((p2) => p2[0]) };
          }
          renderChart(D, cs, cols);
        }
      } catch (e) {
        disposeExChart();
        resultBody.replaceChildren(errorBox(e, 'Could not draw this chart'));
      }
    }

    // The chart picker and the axis selects.
    function updatePicker() {
      for (const b of vizSeg.children) b.setAttribute('aria-pressed', String(b.dataset.viz === X.viz));
      const r = X.result;
      const axes = r && X.viz !== 'table' && X.viz !== 'number';
      xWrap.hidden = !axes;
      yWrap.hidden = !axes;
      if (!axes) return;
      xSel.replaceChildren(...r.columns.map((c) => h('option', { value: c.name, text: c.name })));
      xSel.value = X.x || '';
      const ys = X.y;
      yBtn.replaceChildren(h('span', { class: `pill-value${ys.length ? '' : ' all'}`, text: ys.length ? (ys.length <= 2 ? ys.join(', ') : `${ys[0]}, ${ys[1]} +${ys.length - 2}`) : 'Pick a column' }), iconEl('chevron'));
      if (!yPanel.hidden) renderYPanel();
    }
    function renderYPanel() {
      const r = X.result;
      const multi = EX_MULTI_Y.has(X.viz);
      const list = h('div', { class: 'panel-list', role: 'listbox', 'aria-multiselectable': multi ? 'true' : 'false' });
      r.columns.forEach((c, i) => {
        if (c.name === X.x) return;
        const on = X.y.includes(c.name);
        const input = h('input', { type: multi ? 'checkbox' : 'radio', name: 'ex-y', checked: on, tabindex: '-1' });
        const opt = h('label', { class: `option${on ? ' selected' : ''}${numericCol(r.columns, i) ? '' : ' non-num'}`, role: 'option', 'aria-selected': String(on), dataset: { value: c.name } },
          input, h('span', { text: c.name }), h('span', { class: 'col-type', text: String(c.type || '').toLowerCase() }));
        input.addEventListener('change', () => {
          if (multi) X.y = input.checked ? [...X.y, c.name] : X.y.filter((y) => y !== c.name);
          else { X.y = [c.name]; closeMenus(); }
          // Keep the result's column order.
          X.y = r.columns.map((cc) => cc.name).filter((n) => X.y.includes(n));
          saveState();
          renderResult();
        });
        list.append(opt);
      });
      yPanel.replaceChildren(list, h('div', { class: 'panel-foot' }, h('span', { text: multi ? 'One series per column' : 'One column' })));
    }
    function closeY() {
      yPanel.hidden = true;
      yBtn.setAttribute('aria-expanded', 'false');
      if (openMenu && openMenu.close === closeY) openMenu = null;
    }
    yBtn.addEventListener('click', () => {
      if (!yPanel.hidden) { closeMenus(); return; }
      closeMenus();
      renderYPanel();
      yPanel.hidden = false;
      yBtn.setAttribute('aria-expanded', 'true');
      openMenu = { contains: (n) => yWrap.contains(n), close: closeY, returnFocus: () => yBtn.focus() };
      const first = yPanel.querySelector('input');
      if (first) first.focus();
    });
    vizSeg.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-viz]');
      if (!b || b.dataset.viz === X.viz) return;
      X.viz = b.dataset.viz;
      if (X.result) defaultAxes(X.result.columns);
      saveState();
      renderResult();
      updatePicker();
    });
    xSel.addEventListener('change', () => {
      X.x = xSel.value;
      X.y = X.y.filter((y) => y !== X.x);
      defaultAxes(X.result.columns);
      saveState();
      renderResult();
    });
    csvBtn.addEventListener('click', () => {
      const r = X.result;
      if (!r) return;
      const cell = (v) => {
        if (v == null) return '';
        const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
        return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
      };
      const text = [r.columns.map((c) => cell(c.name)).join(','), ...r.rows.map((row) => row.map(cell).join(','))].join('\r\n') + '\r\n';
      const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
      const a = h('a', { href: url, download: 'query.csv' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 5000);
    });

    // --- save as card -------------------------------------------------------------------------
    saveBtn.addEventListener('click', () => openSaveDialog());
    function openSaveDialog() {
      const sql = cleanSql(ta.value);
      if (!sql.trim()) { ta.focus(); showIdle('Write a query first.'); return; }
      const titleIn = h('input', { type: 'text', id: 'card-title', name: 'title', required: true, placeholder: 'Revenue by category', autocomplete: 'off' });
      const idIn = h('input', { type: 'text', id: 'card-id', name: 'id', required: true, pattern: '[a-z0-9_\\-]+', placeholder: 'revenue_by_category', autocomplete: 'off', spellcheck: 'false' });
      let idTouched = false;
      titleIn.addEventListener('input', () => { if (!idTouched) idIn.value = slug(titleIn.value); });
      idIn.addEventListener('input', () => { idTouched = idIn.value !== ''; });
      const chart = X.viz !== 'table' && X.viz !== 'number' && X.result ? { x: X.x, y: X.y } : null;
      const vizLabel = (EX_VIZ.find(([v]) => v === X.viz) || [X.viz, X.viz])[1];
      const summary = `${vizLabel}${chart ? ` · x: ${chart.x} · y: ${chart.y.join(', ')}` : ''}`;
      const err = h('div', { class: 'form-error', role: 'alert', hidden: true });
      const submit = h('button', { type: 'submit', class: 'btn primary', 'data-action': 'make-card', text: 'Make card YAML' });
      const form = h('form', { class: 'card-form', novalidate: true },
        h('label', null, h('span', { text: 'Title' }), titleIn),
        h('label', null, h('span', { text: 'Id' }), idIn, h('small', { text: 'Lower-case letters, digits, _ and -; unique in the dashboard.' })),
        h('div', { class: 'form-row' }, h('span', { class: 'muted', text: 'Visualization' }), h('span', { text: summary })),
        err, h('div', { class: 'form-actions' }, submit));
      const closeBtn = h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Close', html: ICON.x });
      const bodyEl = h('div', { class: 'modal-body' }, form);
      const dlg = h('dialog', { class: 'modal modal-narrow', 'aria-label': 'Save as card' },
        h('div', { class: 'modal-head' }, h('h2', { text: 'Save as card' }), closeBtn), bodyEl);
      closeBtn.addEventListener('click', () => dlg.close());
      dlg.addEventListener('close', () => dlg.remove());
      dlg.addEventListener('click', (e) => { if (e.target === dlg) dlg.close(); });
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const id = idIn.value.trim(), title = titleIn.value.trim();
        if (!title) { err.hidden = false; err.textContent = 'Give the card a title.'; titleIn.focus(); return; }
        if (!/^[a-z0-9_-]+$/.test(id)) { err.hidden = false; err.textContent = 'The id is lower-case letters, digits, _ and -.'; idIn.focus(); return; }
        err.hidden = true;
        submit.disabled = true;
        submit.textContent = 'Checking the query…';
        const req = { sql, id, title, viz: X.viz };
        if (chart) req.chart = chart;
        try {
          const { body } = await api('/api/query/card', postJson(req, ac.signal));
          showYaml(String(body.yaml || ''));
        } catch (e2) {
          if (e2.name === 'AbortError') return;
          err.hidden = false;
          err.textContent = tidyError(e2.message);
          submit.disabled = false;
          submit.textContent = 'Make card YAML';
        }
      });
      function showYaml(yaml) {
        const pre = h('pre', { class: 'code', tabindex: '0', 'data-yaml': '' }, yaml.replace(/\s+$/, ''));
        const copyBtn = copyButton(pre);
        const back = h('button', { type: 'button', class: 'btn', text: 'Edit' });
        back.addEventListener('click', () => { bodyEl.replaceChildren(form); submit.disabled = false; submit.textContent = 'Make card YAML'; titleIn.focus(); });
        bodyEl.replaceChildren(
          h('p', { class: 'yaml-note' }, 'Paste under ', h('code', { text: 'cards:' }), ' in a ', h('code', { text: 'dashboards/*.yml' }), ' file; the dashboard picks it up on the next load.'),
          pre, h('div', { class: 'form-actions' }, back, copyBtn));
        copyBtn.focus();
      }
      document.body.append(dlg);
      dlg.showModal();
      titleIn.focus();
    }

    // --- the side list ----------------------------------------------------------------------
    (async () => {
      try {
        const { body } = await api('/api/publication', { signal: ac.signal });
        const banner = publicationBanner(body);
        if (banner) root.insertBefore(banner, root.children[1]);
        const names = Object.keys((body && body.relations) || {}).filter((n) => !n.startsWith('_')).sort();
        if (body && body.published) pubNote.textContent = `${body.schema} · v${body.version}`;
        relList.replaceChildren(...(names.length ? names.map((n) => relItem(n, `{{ ref('${n}') }}`, `${body.schema}.${n}`, 'db')) : [h('li', { class: 'col-note', text: 'Nothing published yet' })]));
      } catch (e) {
        if (e.name === 'AbortError') return;
        relList.replaceChildren(h('li', { class: 'col-note', text: e.message }));
      }
      relList.removeAttribute('aria-busy');
      if (!X.run) setReady(true);
    })();

    syncGutter();
    updatePicker();
    saveState();
    if (fromUrl) runQuery();
    else { showIdle(); ta.focus(); }

    X.onResize = () => { if (X.cs && X.cs.chart) X.cs.chart.resize(); };
    window.addEventListener('resize', X.onResize);
    X.destroy = () => {
      X.destroyed = true;
      ac.abort();
      if (X.run) { X.run.ctrl.abort(); clearInterval(X.run.tick); X.run = null; }
      clearTimeout(urlTimer);
      window.removeEventListener('resize', X.onResize);
      disposeExChart();
      closeMenus();
      for (const d of document.querySelectorAll('dialog.modal')) d.close();
    };
    X.onTheme = () => { if (X.result && X.viz !== 'table') renderResult(); };
    X.onPopState = () => {};
    return X;
  }

  function copyButton(pre) {
    const copyBtn = h('button', { type: 'button', class: 'btn' }, iconEl('copy'), h('span', { text: 'Copy' }));
    copyBtn.addEventListener('click', async () => {
      const text = pre.textContent;
      let ok = false;
      try { await navigator.clipboard.writeText(text); ok = true; } catch (_) {
        const range = document.createRange();
        range.selectNodeContents(pre);
        const s = window.getSelection(); s.removeAllRanges(); s.addRange(range);
        try { ok = document.execCommand('copy'); } catch (__) { ok = false; }
      }
      copyBtn.replaceChildren(iconEl(ok ? 'check' : 'copy'), h('span', { text: ok ? 'Copied' : 'Select and copy' }));
      setTimeout(() => copyBtn.replaceChildren(iconEl('copy'), h('span', { text: 'Copy' })), 1600);
    });
    return copyBtn;
  }

  function notFoundPage() {
    document.title = 'Not found · Strata';
    setCrumbs([]);
    app().append(h('div', { class: 'empty-page' }, h('h1', { text: 'There is no page here' }),
      h('p', null, h('a', { href: '/', 'data-nav': '', text: 'Back to the dashboards' }))));
    setReady(true);
    return { kind: '404', destroy() {}, onTheme() {}, onPopState() {} };
  }

  function editorsOnlyPage() {
    document.title = 'Explore · Strata';
    setCrumbs([{ text: 'Explore' }]);
    app().append(h('div', { class: 'empty-page', 'data-editors-only': '' }, h('h1', { text: 'The SQL explorer is for editors' }),
      h('p', { text: `You are logged in as ${session.user}, a ${session.role}. Ask an admin for the editor role to write queries.` }),
      h('p', null, h('a', { href: '/', 'data-nav': '', text: 'Back to the dashboards' }))));
    setReady(true);
    return { kind: 'editors-only', destroy() {}, onTheme() {}, onPopState() {} };
  }

  // ------------------------------------------------------------------ logins
  // The login page lives beside #app (in #login); the header and #app are hidden while it shows.
  // Test hooks: form[data-login], [data-error] (its text the reason), [data-logout] in the header.
  const ROLE_LABEL = { viewer: 'Viewer', editor: 'Editor', admin: 'Admin' };
  function renderUser() {
    const box = document.getElementById('user-box');
    const signedIn = session.auth && !!session.user;
    box.hidden = !signedIn;
    if (signedIn) {
      document.getElementById('user-name').textContent = session.user;
      const role = document.getElementById('user-role');
      role.textContent = ROLE_LABEL[session.role] || session.role || '';
      role.dataset.role = session.role || '';
      document.getElementById('logout').title = `Log out ${session.user} (${role.textContent})`;
    }
    for (const a of document.querySelectorAll('.topnav a[data-section="explore"]')) a.hidden = !canExplore();
  }
  function sessionEnded() {
    if (document.body.dataset.view === 'login') return; // several calls fail at once: one login page
    session = { auth: true, user: null, role: null, csrf: null };
    showLogin('Your session ended. Log in again to continue.');
  }
  function showLogin(notice) {
    if (current) current.destroy();
    current = null;
    closeMenus();
    app().replaceChildren();
    renderUser();
    document.body.dataset.view = 'login';
    document.title = 'Log in · Strata';
    const page = document.getElementById('login');
    page.hidden = false;
    app().hidden = true;
    const err = h('div', { class: 'login-error', 'data-error': '', role: 'alert', hidden: !notice }, notice || '');
    if (notice) err.classList.add('notice');
    const user = h('input', { id: 'login-user', name: 'username', type: 'text', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true });
    const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const submit = h('button', { type: 'submit', class: 'btn primary login-submit', text: 'Log in' });
    const themeBtn = h('button', { type: 'button', class: 'icon-btn login-theme', 'aria-label': 'Toggle dark theme', title: 'Toggle dark theme',
      html: document.documentElement.dataset.theme === 'dark' ? ICON.sun : ICON.moon,
      onclick: () => { document.getElementById('theme-toggle').click(); themeBtn.innerHTML = document.documentElement.dataset.theme === 'dark' ? ICON.sun : ICON.moon; } });
    const showError = (msg) => { msg = String(msg); err.textContent = msg.charAt(0).toUpperCase() + msg.slice(1); err.classList.remove('notice'); err.hidden = false; };
    const form = h('form', { class: 'login-card', 'data-login': '', novalidate: true },
      h('div', { class: 'login-brand' },
        h('span', { html: '<svg class="brand-mark" viewBox="0 0 32 32" aria-hidden="true"><rect width="32" height="32" rx="8"/><path d="M8 11h16M8 16h12M8 21h8"/></svg>' }),
        h('span', { text: 'Strata' })),
      h('h1', { text: 'Log in' }),
      h('p', { class: 'login-sub', text: 'Use the account your Strata admin set up for you.' }),
      err,
      h('label', { for: 'login-user' }, 'User name', user),
      h('label', { for: 'login-password' }, 'Password', pass),
      submit);
    let busy = false;
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (busy) return;
      if (!user.value.trim() || !pass.value) { showError('Enter your user name and password.'); (user.value.trim() ? pass : user).focus(); return; }
      busy = true;
      submit.disabled = true;
      submit.replaceChildren(h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { text: 'Logging in…' }));
      try {
        const { body } = await api('/api/login', {
          method: 'POST', noLoginRedirect: true,
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ user: user.value.trim(), password: pass.value }),
        });
        session = { auth: true, user: body.user, role: body.role, csrf: body.csrf };
        hideLogin();
        route();
        return;
      } catch (e) {
        if (e.status === 429) showError((e.message && !/^The server answered/.test(e.message)) ? e.message : 'Too many attempts. Wait a minute and try again.');
        else if (e.status === 400 || e.status === 401 || e.status === 403) showError(e.message || 'Wrong user name or password.');
        else showError(e.message || 'Could not log in.');
        pass.select();
        pass.focus();
      } finally {
        busy = false;
        submit.disabled = false;
        submit.replaceChildren('Log in');
      }
    });
    page.replaceChildren(themeBtn, form);
    setReady(true);
    (user.value ? pass : user).focus();
  }
  function hideLogin() {
    const page = document.getElementById('login');
    page.hidden = true;
    page.replaceChildren();
    app().hidden = false;
    delete document.body.dataset.view;
    renderUser();
  }
  async function logout() {
    const btn = document.getElementById('logout');
    btn.disabled = true;
    try {
      await api('/api/logout', { method: 'POST', noLoginRedirect: true, headers: { 'Content-Type': 'application/json' }, body: '{}' });
    } catch (_) { /* the session is gone either way */ }
    btn.disabled = false;
    session = { auth: true, user: null, role: null, csrf: null };
    showLogin();
  }

  const ERROR_TITLES = {
    0: 'The server cannot be reached', 400: 'This card could not run', 404: 'Not found',
    409: 'No data yet', 500: 'The server failed', 504: 'The query took too long',
  };
  function errorBox(e, title) {
    return h('div', { class: `card-error${e.status === 409 ? ' neutral' : ''}`, role: 'alert' }, iconEl(e.status === 409 ? 'info' : 'alert'),
      h('div', null, h('strong', { text: title || ERROR_TITLES[e.status] || 'Something went wrong' }),
        h('span', { text: e.message || String(e) })));
  }

  // ------------------------------------------------------------------ menus (one open at a time)
  let openMenu = null;
  function closeMenus() {
    if (openMenu) { const m = openMenu; openMenu = null; m.close(); }
  }
  document.addEventListener('mousedown', (ev) => {
    if (openMenu && !openMenu.contains(ev.target)) closeMenus();
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && openMenu) { const m = openMenu; closeMenus(); if (m.returnFocus) m.returnFocus(); }
  });

  // ------------------------------------------------------------------ dashboard page
  const DATE_PRESETS = [
    ['today', 'Today'], ['yesterday', 'Yesterday'], ['last_7_days', 'Last 7 days'], ['last_14_days', 'Last 14 days'],
    ['last_30_days', 'Last 30 days'], ['last_90_days', 'Last 90 days'], ['last_365_days', 'Last 365 days'],
    ['this_week', 'This week'], ['last_week', 'Last week'], ['this_month', 'This month'], ['last_month', 'Last month'],
    ['this_quarter', 'This quarter'], ['this_year', 'This year'], ['last_year', 'Last year'], ['all_time', 'All time'],
  ];
  // Relative ranges that end on the data's newest day: their resolved end tells "data through".
  const ENDS_ON_ANCHOR = new Set(['today', 'last_7_days', 'last_14_days', 'last_30_days', 'last_90_days', 'last_365_days',
    'this_week', 'this_month', 'this_quarter', 'this_year', 'all_time']);
  const CUSTOM_RE = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/;
  const sameSet = (a, b) => {
    if (a.length !== b.length) return false;
    const x = [...a].sort(), y = [...b].sort();
    return x.every((v, i) => v === y[i]);
  };

  // `embed`: the signed token of an embed (then `id` is null until the dashboard is loaded).
  function dashboardPage(id, embed) {
    const D = {
      kind: 'dashboard', id, dash: null, sel: {}, filters: {}, controls: {}, cards: new Map(),
      pending: new Set(), destroyed: false, resolved: {}, version: null, dataThrough: null, embed: embed || null,
    };
    // Where the page's data comes from, and its own address.
    D.apiBase = embed ? `/api/embed/${embed}` : `/api/dashboards/${enc(id)}`;
    D.pubPath = embed ? `${D.apiBase}/publication` : '/api/publication';
    D.pagePath = embed ? `/embed/${embed}` : `/d/${enc(id)}`;
    const root = app();
    const ac = new AbortController();
    if (!embed) setCrumbs([{ text: 'Dashboards', href: '/' }, { text: id }]);
    document.title = embed ? 'Strata' : `${id} · Strata`;
    setReady(false);

    const head = h('div', { class: 'page-head' });
    const bar = h('div', { class: 'filter-bar', role: 'toolbar', 'aria-label': 'Filters' });
    const grid = h('div', { class: 'grid' });
    root.append(head, bar, grid);
    head.append(h('div', null, h('div', { class: 'sk sk-value', style: { width: '260px' } }), h('div', { class: 'sk sk-line', style: { width: '420px', marginTop: '10px' } })));

    // --- filter state --------------------------------------------------------------
    D.defaults = (f) => {
      const d = f.default == null ? '' : String(f.default);
      if (!d) return [];
      return f.type === 'category' ? d.split(',').map((s) => s.trim()).filter(Boolean) : [d];
    };
    D.effective = (fid) => {
      const f = D.filters[fid];
      const s = D.sel[fid];
      return s == null ? D.defaults(f) : s;
    };
    D.isDefault = (fid) => D.sel[fid] == null;
    D.parseUrl = () => {
      const p = new URLSearchParams(location.search);
      const sel = {};
      for (const f of D.dash.filters) {
        if (!p.has(f.id)) { sel[f.id] = null; continue; }
        let vals = p.getAll(f.id).filter((v) => v !== '');
        if (!(f.type === 'category' && f.multiple)) vals = vals.slice(0, 1);
        vals = [...new Set(vals)];
        sel[f.id] = sameSet(vals, D.defaults(f)) ? null : vals;
      }
      return sel;
    };
    const filterParams = (fid, parts) => {
      const s = D.sel[fid];
      if (s == null || !D.filters[fid]) return;
      if (!s.length) parts.push(`${enc(fid)}=`);
      else for (const v of s) parts.push(`${enc(fid)}=${enc(v)}`);
    };
    D.pageUrl = () => {
      const parts = [];
      for (const f of D.dash.filters) filterParams(f.id, parts);
      return `${D.pagePath}${parts.length ? '?' + parts.join('&') : ''}`;
    };
    D.cardQuery = (card, extra) => {
      const parts = [];
      for (const fid of card.filters || []) filterParams(fid, parts);
      if (extra) parts.push(extra);
      return parts.length ? '?' + parts.join('&') : '';
    };
    D.cardPath = (card) => `${D.apiBase}/cards/${enc(card.id)}`;
    // The values endpoint applies no defaults to the filters a list depends on (what is not
    // given is unset), so the parents' effective values go along, defaults included.
    D.valuesQuery = (f, q) => {
      const parts = [];
      if (q) parts.push(`q=${enc(q)}`);
      for (const pid of f.depends_on || []) {
        if (!D.filters[pid]) continue;
        const eff = D.effective(pid);
        if (eff.length) for (const v of eff) parts.push(`${enc(pid)}=${enc(v)}`);
        else if (D.sel[pid] != null) parts.push(`${enc(pid)}=`);
      }
      return parts.length ? '?' + parts.join('&') : '';
    };

    // Sets filter `fid` to `values` (null: its default). Pushes the URL and reloads the cards
    // that take the filter, when its effective value changed.
    D.setFilter = (fid, values, opts) => {
      const f = D.filters[fid];
      if (!f) return;
      const before = D.effective(fid);
      let sel = values == null ? null : [...new Set(values.map(String))];
      if (sel && sameSet(sel, D.defaults(f))) sel = null;
      D.sel[fid] = sel;
      D.updateControls();
      if (sameSet(before, D.effective(fid))) {
        if (location.pathname + location.search !== D.pageUrl()) history.replaceState(null, '', D.pageUrl());
        return;
      }
      if (!(opts && opts.replace)) history.pushState(null, '', D.pageUrl());
      else history.replaceState(null, '', D.pageUrl());
      D.filtersChanged(new Set([fid]));
    };
    D.resetFilters = () => {
      const changed = new Set();
      for (const f of D.dash.filters) {
        if (D.sel[f.id] != null) { D.sel[f.id] = null; changed.add(f.id); }
      }
      if (!changed.size) return;
      history.pushState(null, '', D.pageUrl());
      D.updateControls();
      D.filtersChanged(changed);
    };
    D.filtersChanged = (changed) => {
      // A date filter's resolved range is known again when its cards answer.
      for (const fid of changed) {
        if (D.resolved[fid]) { delete D.resolved[fid]; if (D.controls[fid]) D.controls[fid].update(); }
      }
      for (const ctl of Object.values(D.controls)) {
        if ((ctl.f.depends_on || []).some((p) => changed.has(p))) ctl.invalidate();
      }
      for (const cs of D.cards.values()) {
        if ((cs.card.filters || []).some((fid) => changed.has(fid))) D.loadCard(cs);
      }
      D.checkReady();
    };
    D.onPopState = () => {
      if (!D.dash) return;
      const sel = D.parseUrl();
      const changed = new Set();
      for (const f of D.dash.filters) {
        const before = D.effective(f.id);
        D.sel[f.id] = sel[f.id];
        if (!sameSet(before, D.effective(f.id))) changed.add(f.id);
      }
      D.updateControls();
      if (changed.size) D.filtersChanged(changed);
    };
    D.updateControls = () => {
      for (const ctl of Object.values(D.controls)) ctl.update();
      const any = D.dash.filters.some((f) => D.sel[f.id] != null);
      if (D.resetBtn) D.resetBtn.hidden = !any;
    };

    // --- cards -----------------------------------------------------------------------
    D.checkReady = () => {
      if (D.destroyed) return;
      if (D.pending.size === 0) D.layout();
      setReady(D.pending.size === 0);
    };

    // Packed layout. Cards flow in order over 12 columns like CSS grid auto-placement, but each
    // takes the height of its content (rows of 4 px), so a short card (a number) does not leave
    // a hole beside a tall one: the next card moves up under it. Cards that start on the same
    // line are stretched to the tallest of them when nothing is below, so rows end evenly.
    // Phones (< 700 px) get one column in plain CSS.
    const UNIT = 4, GAP = 16;
    D.layout = () => {
      if (D.destroyed || !grid.isConnected) return;
      const list = [...D.cards.values()];
      const vw = window.innerWidth;
      const packed = vw >= 700;
      grid.classList.toggle('packed', packed);
      if (!packed) {
        for (const cs of list) { cs.root.style.gridColumn = ''; cs.root.style.gridRow = ''; }
        return;
      }
      const sky = new Array(12).fill(0);
      const boxes = [];
      let prevTop = 0;
      for (const cs of list) {
        let w = cs.width;
        if (vw <= 1100) w = w <= 6 ? 6 : 12;
        const hu = Math.ceil((cs.inner.offsetHeight + 2 + GAP) / UNIT);
        let best = null;
        for (let x = 0; x + w <= 12; x++) {
          let top = prevTop;
          for (let c = x; c < x + w; c++) top = Math.max(top, sky[c]);
          if (!best || top < best.top) best = { x, top };
        }
        const b = { cs, x: best.x, w, top: best.top, h: hu, number: cs.card.viz === 'number' };
        for (let c = b.x; c < b.x + w; c++) sky[c] = b.top + hu;
        prevTop = b.top;
        boxes.push(b);
      }
      // Even rows: stretch a card to the tallest card starting on its line (numbers only to
      // numbers), unless that would run into a card below it.
      for (const b of boxes) {
        const peers = boxes.filter((o) => o !== b && o.top === b.top && o.number === b.number);
        const target = Math.max(b.h, ...peers.map((o) => o.h));
        if (target === b.h) continue;
        const blocked = boxes.some((o) => o !== b && o.x < b.x + b.w && b.x < o.x + o.w && o.top >= b.top + b.h && o.top < b.top + target);
        if (!blocked) b.stretch = target;
      }
      for (const b of boxes) {
        b.cs.root.style.gridColumn = `${b.x + 1} / span ${b.w}`;
        b.cs.root.style.gridRow = `${b.top + 1} / span ${b.stretch || b.h}`;
      }
    };
    D.scheduleLayout = () => {
      if (D.layoutRaf) return;
      D.layoutRaf = requestAnimationFrame(() => { D.layoutRaf = 0; D.layout(); });
    };
    D.resizeObserver = typeof ResizeObserver === 'function' ? new ResizeObserver(() => D.scheduleLayout()) : null;
    D.loadCard = async (cs) => {
      if (cs.abort) cs.abort.abort();
      const ctrl = new AbortController();
      cs.abort = ctrl;
      const cid = cs.card.id;
      window.strataFetchCount[cid] = (window.strataFetchCount[cid] || 0) + 1;
      D.pending.add(cid);
      setReady(false);
      setCardState(cs, 'loading');
      const url = D.cardPath(cs.card) + D.cardQuery(cs.card);
      const t0 = performance.now();
      try {
        const { body, res } = await api(url, { signal: ctrl.signal });
        if (ctrl.signal.aborted || D.destroyed) return;
        cs.data = body;
        cs.error = null;
        cs.meta = { cache: res.headers.get('X-Strata-Cache'), ms: performance.now() - t0, seconds: body.seconds, version: body.version };
        cs.tableState = null;
        D.noteResult(cs);
        renderCard(D, cs);
      } catch (e) {
        if ((e && e.name === 'AbortError') || ctrl.signal.aborted || D.destroyed) return;
        cs.data = null;
        cs.error = e;
        renderCard(D, cs);
      } finally {
        if (cs.abort === ctrl) {
          cs.abort = null;
          D.pending.delete(cid);
          D.checkReady();
        }
      }
    };
    // Version and "data through" in the header; the resolved range next to each date filter.
    // Every card answer has `ranges` (date filter id -> [start, end]) for the date-range filters
    // it takes that resolved to dates (all_time does not); older servers sent only `period`,
    // and only for cards with `compare`.
    D.noteResult = (cs) => {
      const body = cs.data;
      if (body.version && body.version !== D.version) { D.version = body.version; D.renderMeta(); }
      let ranges = body.ranges && typeof body.ranges === 'object' ? body.ranges : null;
      if (!ranges && body.period) {
        const dfid = (cs.card.filters || []).find((fid) => D.filters[fid] && D.filters[fid].type === 'date_range');
        ranges = dfid ? { [dfid]: body.period } : null;
      }
      let through = null;
      for (const [fid, r] of Object.entries(ranges || {})) {
        if (!D.filters[fid] || !Array.isArray(r) || r.length < 2) continue;
        const changed = !D.resolved[fid] || D.resolved[fid][0] !== r[0] || D.resolved[fid][1] !== r[1];
        D.resolved[fid] = r;
        const eff = D.effective(fid)[0] || '';
        if (ENDS_ON_ANCHOR.has(eff) && (!through || r[1] > through)) through = r[1];
        if (changed && D.controls[fid]) D.controls[fid].update();
      }
      if (through && through !== D.dataThrough) { D.dataThrough = through; D.renderMeta(); }
    };
    D.renderMeta = () => {
      if (!D.metaEl) return;
      const items = [];
      if (D.version) {
        const pubv = /^\d+$/.test(String(D.version));
        items.push(h('span', { class: 'meta-item', title: pubv ? 'The publication (warehouse version) these numbers come from' : 'The version of the data these numbers come from' },
          h('span', { class: 'dot' }), pubv ? `Publication ${D.version}` : `Data version ${D.version}`));
      }
      if (D.dataThrough) items.push(h('span', { class: 'meta-item', title: 'The newest day in the data', html: ICON.clock, dataset: { through: D.dataThrough } }, `Data through ${fmtDate(D.dataThrough)}`));
      if (D.newVersion) {
        items.push(h('button', { type: 'button', class: 'new-data', title: 'Reload every card from the new publication', onclick: () => D.refreshAll() },
          h('span', { class: 'dot' }), `New data published (${D.newVersion}) · Refresh`));
      }
      if (D.dash.models && D.dash.models.length) {
        items.push(h('span', { class: 'meta-item', title: `Reads ${D.dash.models.join(', ')}`, html: ICON.db }, `${D.dash.models.length} model${D.dash.models.length === 1 ? '' : 's'}`));
      }
      D.metaEl.replaceChildren(...items);
    };

    D.onResize = () => {
      if (D.resizeRaf) return;
      D.resizeRaf = requestAnimationFrame(() => {
        D.resizeRaf = 0;
        D.layout();
        for (const cs of D.cards.values()) {
          if (!cs.chart) continue;
          // Layouts that depend on the width (pie labels or legend) are rebuilt, others resized.
          if (cs.narrow !== undefined && (cs.chart.getDom().clientWidth < 460) !== cs.narrow) renderCard(D, cs);
          else cs.chart.resize();
        }
      });
    };
    window.addEventListener('resize', D.onResize);
    D.onScroll = () => bar.classList.toggle('stuck', bar.getBoundingClientRect().top <= (D.embed ? 1 : 53) && window.scrollY > 0);
    window.addEventListener('scroll', D.onScroll, { passive: true });

    // A new publication while the page is open: offer to refresh (cards are not reloaded under
    // the analyst's eyes).
    D.refreshAll = () => {
      D.pubVersion = D.newVersion;
      D.newVersion = null;
      D.renderMeta();
      for (const cs of D.cards.values()) D.loadCard(cs);
    };
    D.poll = setInterval(async () => {
      if (document.hidden || !D.dash || D.destroyed) return;
      try {
        const { body } = await api(D.pubPath, { signal: ac.signal });
        if (body && body.published && D.pubVersion !== undefined && body.version !== D.pubVersion && body.version !== D.newVersion) {
          D.newVersion = body.version;
          D.renderMeta();
        }
      } catch (_) { /* the next poll will tell */ }
    }, 60000);

    D.onTheme = () => { for (const cs of D.cards.values()) if (cs.data || cs.error) renderCard(D, cs); };
    D.destroy = () => {
      D.destroyed = true;
      ac.abort();
      window.removeEventListener('resize', D.onResize);
      window.removeEventListener('scroll', D.onScroll);
      clearInterval(D.poll);
      if (D.resizeObserver) D.resizeObserver.disconnect();
      cancelAnimationFrame(D.layoutRaf || 0);
      for (const cs of D.cards.values()) {
        if (cs.abort) { const a = cs.abort; cs.abort = null; a.abort(); }
        disposeChart(cs);
      }
      for (const ctl of Object.values(D.controls)) ctl.destroy();
    };

    // --- load the dashboard -------------------------------------------------------------
    (async () => {
      let dash;
      try {
        const [d, pub] = await Promise.all([
          api(D.apiBase, { signal: ac.signal }),
          api(D.pubPath, { signal: ac.signal }).catch((e) => { if (e.name === 'AbortError') throw e; return null; }),
        ]);
        dash = d.body;
        D.pub = pub && pub.body;
      } catch (e) {
        if (e.name === 'AbortError') return;
        if (embed) {
          head.replaceChildren(h('div', null, h('h1', { text: e.status === 401 ? 'This link has expired or is not valid' : 'Could not open this dashboard' })));
          root.append(errorBox(e, e.status === 401 ? 'Ask for a new link' : null));
          bar.remove();
          setReady(true);
          return;
        }
        head.replaceChildren(h('div', null, h('h1', { text: e.status === 404 ? 'Dashboard not found' : 'Could not open this dashboard' })));
        root.append(errorBox(e, e.status === 404 ? `There is no dashboard “${id}”` : null),
          h('p', null, h('a', { href: '/', 'data-nav': '', text: '← All dashboards' })));
        bar.remove();
        setReady(true);
        return;
      }
      if (D.destroyed) return;
      D.dash = dash;
      if (embed) D.id = dash.id;
      dash.filters = dash.filters || [];
      dash.cards = dash.cards || [];
      for (const f of dash.filters) D.filters[f.id] = f;
      D.sel = D.parseUrl();
      if (D.pub && D.pub.published) D.version = D.pub.version;
      D.pubVersion = D.pub ? (D.pub.published ? D.pub.version : null) : undefined;
      // Canonical URL (drops parameters equal to the defaults) without a history entry.
      if (location.pathname + location.search !== D.pageUrl()) history.replaceState(null, '', D.pageUrl());

      document.title = `${dash.title || D.id} · Strata`;
      if (!embed) setCrumbs([{ text: 'Dashboards', href: '/' }, { text: dash.title || D.id }]);
      D.metaEl = h('div', { class: 'page-meta' });
      head.replaceChildren(h('div', null,
        h('h1', { text: dash.title || D.id }),
        dash.description ? h('p', { class: 'desc', text: dash.description }) : null,
        D.metaEl));
      D.renderMeta();
      const banner = publicationBanner(D.pub);
      if (banner) root.insertBefore(banner, bar);

      if (!dash.filters.length) bar.remove();
      for (const f of dash.filters) {
        const ctl = f.type === 'date_range' ? dateControl(D, f)
          : f.type === 'category' && f.has_values !== false ? categoryControl(D, f)
            : textControl(D, f);
        D.controls[f.id] = ctl;
        bar.append(ctl.root);
      }
      D.resetBtn = h('button', { type: 'button', class: 'filter-reset', text: 'Reset filters', onclick: () => D.resetFilters() });
      bar.append(D.resetBtn);
      D.updateControls();

      if (!dash.cards.length) grid.replaceWith(h('div', { class: 'empty-page' }, h('p', { text: 'This dashboard has no cards yet.' })));
      for (const card of dash.cards) {
        const cs = makeCard(D, card);
        D.cards.set(card.id, cs);
        grid.append(cs.root);
        if (D.resizeObserver) D.resizeObserver.observe(cs.inner);
      }
      D.layout();
      for (const cs of D.cards.values()) D.loadCard(cs);
      D.checkReady();
    })();
    return D;
  }

  // ------------------------------------------------------------------ filter controls
  function pill(f, ...kids) {
    return h('div', { class: 'filter-pill' }, h('span', { class: 'filter-label', text: f.label || prettify(f.id) }), kids);
  }
  function clearButton(D, f) {
    return h('button', { type: 'button', class: 'filter-clear', 'aria-label': `Clear ${f.label || f.id}`, title: 'Back to the default',
      html: ICON.x, onclick: () => D.setFilter(f.id, null) });
  }

  // Marks a filter control with its current values (data-value) and whether they differ from
  // the default (then it is highlighted and its clear button shows); returns the values.
  function markFilter(D, f, root, clear) {
    const vals = D.effective(f.id);
    const changed = !D.isDefault(f.id);
    root.dataset.value = vals.join(',');
    root.classList.toggle('active', changed);
    clear.hidden = !changed;
    return vals;
  }

  function dateControl(D, f) {
    const sid = `filter-${f.id}`;
    const select = h('select', { id: sid, 'aria-label': f.label || f.id });
    if (!D.defaults(f).length) select.append(h('option', { value: '', text: 'Any time' }));
    for (const [v, l] of DATE_PRESETS) select.append(h('option', { value: v, text: l }));
    const customOpt = h('option', { value: 'custom', text: 'Custom range…' });
    select.append(customOpt);
    const start = h('input', { type: 'date', 'aria-label': `${f.label} from` });
    const end = h('input', { type: 'date', 'aria-label': `${f.label} to` });
    const custom = h('div', { class: 'custom-range', hidden: true }, start, h('span', { class: 'range-sep', text: '–' }), end);
    const hint = h('span', { class: 'filter-hint tabular' });
    const clear = clearButton(D, f);
    const root = h('div', { class: 'filter filter-date', dataset: { filter: f.id } }, pill(f, select, custom, clear), hint);
    root.querySelector('.filter-label').setAttribute('for', sid);
    let customOpen = false;

    select.addEventListener('change', () => {
      if (select.value === 'custom') {
        customOpen = true;
        const r = D.resolved[f.id];
        if (r && !start.value) { start.value = r[0]; end.value = r[1]; }
        custom.hidden = false;
        start.focus();
        return;
      }
      customOpen = false;
      D.setFilter(f.id, select.value ? [select.value] : []);
    });
    const applyCustom = () => {
      if (!start.value || !end.value) return;
      let a = start.value, b = end.value;
      if (a > b) [a, b] = [b, a];
      D.setFilter(f.id, [`${a}..${b}`]);
    };
    start.addEventListener('change', applyCustom);
    end.addEventListener('change', applyCustom);

    return {
      f, root,
      update() {
        const v = markFilter(D, f, root, clear)[0] || '';
        const m = CUSTOM_RE.exec(v);
        if (m) {
          select.value = 'custom';
          start.value = m[1];
          end.value = m[2];
          custom.hidden = false;
          customOpen = false;
          hint.textContent = '';
          hint.dataset.range = `${m[1]}..${m[2]}`;
        } else if (!customOpen) {
          if (v && !DATE_PRESETS.some(([p]) => p === v) && ![...select.options].some((o) => o.value === v)) {
            select.insertBefore(h('option', { value: v, text: prettify(v) }), customOpt);
          }
          select.value = v;
          custom.hidden = true;
          const r = D.resolved[f.id];
          hint.textContent = r ? fmtRange(r) : '';
          hint.dataset.range = r ? `${r[0]}..${r[1]}` : '';
          hint.title = r ? `${v ? prettify(v) : 'The range'} resolves to ${r[0]} – ${r[1]}` : '';
        }
      },
      invalidate() {},
      destroy() {},
    };
  }

  function textControl(D, f) {
    const input = h('input', { type: 'search', placeholder: f.type === 'category' ? 'a, b, …' : 'Any', 'aria-label': f.label || f.id, spellcheck: 'false' });
    const clear = clearButton(D, f);
    const root = h('div', { class: 'filter filter-text', dataset: { filter: f.id } }, pill(f, input, clear));
    let timer = 0;
    const apply = () => {
      clearTimeout(timer);
      const raw = input.value.trim();
      const vals = f.type === 'category' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : (raw ? [raw] : []);
      D.setFilter(f.id, vals);
    };
    input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(apply, 500); });
    input.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply(); });
    input.addEventListener('search', apply);
    return {
      f, root,
      update() {
        const vals = markFilter(D, f, root, clear);
        if (document.activeElement !== input) input.value = vals.join(', ');
      },
      invalidate() {},
      destroy() { clearTimeout(timer); },
    };
  }

  function categoryControl(D, f) {
    const multiple = !!f.multiple;
    const valueEl = h('span', { class: 'pill-value' });
    const btn = h('button', { type: 'button', class: 'pill-btn', 'aria-haspopup': 'listbox', 'aria-expanded': 'false' }, valueEl, iconEl('chevron'));
    const clear = clearButton(D, f);
    const search = h('input', { type: 'search', placeholder: 'Search…', 'aria-label': `Search ${f.label || f.id}`, spellcheck: 'false', autocomplete: 'off' });
    const list = h('div', { class: 'panel-list', role: 'listbox', 'aria-multiselectable': multiple ? 'true' : 'false' });
    const note = h('div', { class: 'panel-note', hidden: true });
    const count = h('span', { class: 'tabular' });
    const clearAll = h('button', { type: 'button', class: 'link-btn', text: multiple ? 'Clear' : D.defaults(f).length ? 'Reset' : 'Any value' });
    const panel = h('div', { class: 'filter-panel', hidden: true },
      h('div', { class: 'panel-search' }, search), list, note, h('div', { class: 'panel-foot' }, count, clearAll));
    const root = h('div', { class: 'filter filter-category', dataset: { filter: f.id } }, pill(f, btn, clear), panel);
    const st = { values: null, more: false, q: null, key: null, abort: null, timer: 0 };

    const canBeEmpty = multiple || D.defaults(f).length === 0;
    const renderList = () => {
      const selected = D.effective(f.id);
      const q = search.value.trim().toLowerCase();
      let vals = st.values || [];
      if (q) vals = vals.filter((v) => String(v).toLowerCase().includes(q));
      // Selected values first when not searching (they may be absent from a narrowed list).
      const shown = q ? vals.map(String) : [...selected, ...vals.map(String).filter((v) => !selected.includes(v))];
      list.replaceChildren();
      for (const v of shown) {
        const on = selected.includes(v);
        const input = h('input', { type: multiple ? 'checkbox' : 'radio', name: `opt-${f.id}`, checked: on, tabindex: '-1' });
        const opt = h('label', { class: `option${on ? ' selected' : ''}`, role: 'option', 'aria-selected': on ? 'true' : 'false', dataset: { value: v } },
          input, h('span', { text: v === '' ? '(empty)' : v }));
        input.addEventListener('change', () => {
          const cur = D.effective(f.id);
          if (multiple) D.setFilter(f.id, input.checked ? [...cur, v] : cur.filter((x) => x !== v));
          else { D.setFilter(f.id, [v]); close(); }
        });
        list.append(opt);
      }
      note.hidden = !(st.more || (!shown.length && st.values));
      note.textContent = st.more ? 'More values exist: type to narrow the list.' : (!shown.length && st.values ? 'No matching values' : '');
      count.textContent = multiple ? (selected.length ? `${selected.length} selected` : 'All values') : '';
      clearAll.disabled = multiple ? selected.length === 0 : D.isDefault(f.id);
      clearAll.hidden = !canBeEmpty && !D.defaults(f).length;
    };
    const load = async () => {
      const q = search.value.trim();
      const key = D.valuesQuery(f, q);
      if (st.key === key && st.values) { renderList(); return; }
      if (st.abort) st.abort.abort();
      const ctrl = new AbortController();
      st.abort = ctrl;
      if (!st.values) list.replaceChildren(h('div', { class: 'skeleton', style: { padding: '6px' } }, [0, 1, 2, 3].map(() => h('div', { class: 'sk sk-line', style: { width: `${50 + Math.random() * 40}%` } }))));
      try {
        const { body } = await api(`${D.apiBase}/filters/${enc(f.id)}/values${key}`, { signal: ctrl.signal });
        if (ctrl.signal.aborted) return;
        st.values = (body.values || []).map((v) => (v == null ? '' : String(v)));
        st.more = !!body.more;
        st.key = key;
        renderList();
      } catch (e) {
        if (e.name === 'AbortError') return;
        list.replaceChildren(h('div', { class: 'panel-note', text: e.message }));
      } finally {
        if (st.abort === ctrl) st.abort = null;
      }
    };
    const open = () => {
      closeMenus();
      panel.hidden = false;
      btn.setAttribute('aria-expanded', 'true');
      panel.classList.remove('align-right');
      const r = root.getBoundingClientRect();
      if (r.left + 290 > window.innerWidth) panel.classList.add('align-right');
      search.value = '';
      renderList();
      load();
      search.focus();
      openMenu = { contains: (n) => root.contains(n), close, returnFocus: () => btn.focus() };
    };
    function close() {
      panel.hidden = true;
      btn.setAttribute('aria-expanded', 'false');
      if (openMenu && openMenu.close === close) openMenu = null;
    }
    btn.addEventListener('click', () => (panel.hidden ? open() : closeMenus()));
    search.addEventListener('input', () => {
      renderList(); // instant narrowing of what is loaded, then the server's answer
      clearTimeout(st.timer);
      st.timer = setTimeout(load, 250);
    });
    search.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        const first = list.querySelector('.option input');
        if (first) first.click();
      } else if (e.key === 'ArrowDown') {
        const first = list.querySelector('.option input');
        if (first) { e.preventDefault(); first.focus(); }
      }
    });
    list.addEventListener('keydown', (e) => {
      const opts = [...list.querySelectorAll('.option input')];
      const i = opts.indexOf(document.activeElement);
      if (e.key === 'ArrowDown' && i < opts.length - 1) { e.preventDefault(); opts[i + 1].focus(); }
      if (e.key === 'ArrowUp') { e.preventDefault(); (i > 0 ? opts[i - 1] : search).focus(); }
    });
    clearAll.addEventListener('click', () => D.setFilter(f.id, multiple ? [] : null));

    return {
      f, root,
      update() {
        const vals = markFilter(D, f, root, clear);
        valueEl.classList.toggle('all', !vals.length);
        valueEl.textContent = !vals.length ? 'All' : vals.length <= 2 ? vals.join(', ') : `${vals[0]}, ${vals[1]} +${vals.length - 2}`;
        btn.title = vals.length ? vals.join(', ') : 'All values';
        if (!panel.hidden) renderList();
      },
      invalidate() {
        st.key = null;
        st.values = null;
        if (!panel.hidden) load();
      },
      destroy() { clearTimeout(st.timer); if (st.abort) st.abort.abort(); },
    };
  }

  // ------------------------------------------------------------------ cards
  function makeCard(D, card) {
    const w = clamp(Number(card.width) || 6, 1, 12);
    const root = h('section', {
      class: `card viz-${card.viz}`,
      dataset: { card: card.id, state: 'loading', size: w <= 4 ? 's' : w <= 8 ? 'm' : 'l' },
      style: { gridColumn: `span ${w}` },
      'aria-label': card.title || card.id,
    });
    const isNumber = card.viz === 'number';
    const title = h('h2', { class: 'card-title' }, h('span', { class: 't', text: card.title || prettify(card.id) }));
    if (card.description && isNumber) {
      title.append(h('span', { class: 'info', tabindex: '0', 'aria-label': card.description }, iconEl('info'), h('span', { class: 'tip', text: card.description })));
    }
    const menuBtn = h('button', { type: 'button', class: 'icon-btn card-menu-btn', 'aria-label': `Actions for ${card.title || card.id}`, 'aria-haspopup': 'menu', 'aria-expanded': 'false', html: ICON.more });
    const titles = h('div', { class: 'card-titles' }, title,
      card.description && !isNumber ? h('p', { class: 'card-desc', text: card.description }) : null);
    const body = h('div', { class: 'card-body' });
    // The inner box has the content's natural height, which the packed layout measures.
    const inner = h('div', { class: 'card-inner' }, h('header', { class: 'card-head' }, titles, menuBtn), body);
    root.append(inner);
    const cs = { card, root, inner, body, width: w, chart: null, data: null, error: null, abort: null, meta: null, tableState: null };
    if (Number(card.height) > 0) inner.style.minHeight = `${Number(card.height) * 100}px`;
    body.append(skeleton(card));
    menuBtn.addEventListener('click', () => openCardMenu(D, cs, menuBtn));
    return cs;
  }

  function skeleton(card) {
    if (card.viz === 'number') return h('div', { class: 'skeleton' }, h('div', { class: 'sk sk-value' }), h('div', { class: 'sk sk-line' }));
    return h('div', { class: 'skeleton', style: { height: `${chartHeight(card, null)}px` } }, h('div', { class: 'sk sk-line' }), h('div', { class: 'sk sk-chart' }));
  }

  function setCardState(cs, state) {
    cs.root.dataset.state = state;
    cs.root.setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
  }

  function disposeChart(cs) {
    if (cs.chart) { cs.chart.dispose(); cs.chart = null; }
  }

  function openCardMenu(D, cs, anchor) {
    const wasOpen = anchor.getAttribute('aria-expanded') === 'true';
    closeMenus();
    if (wasOpen) return;
    const card = cs.card;
    const link = (fmtName) => D.cardPath(card) + D.cardQuery(card, `format=${fmtName}`);
    const items = [
      // Embeds show results, not the SQL behind them.
      D.embed ? null : h('button', { type: 'button', class: 'menu-item', role: 'menuitem', onclick: () => { closeMenus(); showSql(D, cs); } }, iconEl('code'), 'View SQL'),
      h('a', { class: 'menu-item', role: 'menuitem', href: link('csv'), download: '', onclick: () => closeMenus() }, iconEl('download'), 'Download CSV'),
      h('a', { class: 'menu-item', role: 'menuitem', href: link('json'), download: '', onclick: () => closeMenus() }, iconEl('download'), 'Download JSON'),
    ].filter(Boolean);
    const notes = [];
    if (cs.meta) {
      const secs = cs.meta.seconds != null ? cs.meta.seconds : cs.meta.ms / 1000;
      notes.push(`Query ${secs < 1 ? `${Math.max(1, Math.round(secs * 1000))} ms` : `${secs.toFixed(1)} s`}${cs.meta.cache === 'hit' ? ' · cached' : ''}`);
      if (cs.data && cs.data.rows) notes.push(`${cs.data.rows.length} row${cs.data.rows.length === 1 ? '' : 's'}${cs.data.truncated ? ' (truncated)' : ''}`);
    }
    const menu = h('div', { class: 'menu', role: 'menu' }, items, notes.length ? [h('div', { class: 'menu-sep' }), h('div', { class: 'menu-note', text: notes.join(' · ') })] : null);
    document.body.append(menu);
    const r = anchor.getBoundingClientRect();
    const mw = menu.offsetWidth;
    menu.style.top = `${Math.min(r.bottom + 4, window.innerHeight - menu.offsetHeight - 8)}px`;
    menu.style.left = `${clamp(r.right - mw, 8, window.innerWidth - mw - 8)}px`;
    anchor.setAttribute('aria-expanded', 'true');
    const close = () => { menu.remove(); anchor.setAttribute('aria-expanded', 'false'); window.removeEventListener('scroll', onScroll, true); };
    const onScroll = () => closeMenus();
    window.addEventListener('scroll', onScroll, true);
    openMenu = { contains: (n) => menu.contains(n) || anchor.contains(n), close, returnFocus: () => anchor.focus() };
    items[0].focus();
    menu.addEventListener('keydown', (e) => {
      const all = [...menu.querySelectorAll('.menu-item')];
      const i = all.indexOf(document.activeElement);
      if (e.key === 'ArrowDown') { e.preventDefault(); all[(i + 1) % all.length].focus(); }
      if (e.key === 'ArrowUp') { e.preventDefault(); all[(i - 1 + all.length) % all.length].focus(); }
    });
  }

  function showSql(D, cs) {
    const card = cs.card;
    const pre = h('pre', { class: 'code', tabindex: '0' }, 'Loading…');
    const params = h('div', { class: 'params' });
    let data = null, mode = 'sql';
    const bWritten = h('button', { type: 'button', 'aria-pressed': 'true', text: 'As written' });
    const bBound = h('button', { type: 'button', 'aria-pressed': 'false', text: 'Bound' });
    const copyBtn = copyButton(pre);
    const closeBtn = h('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Close', html: ICON.x });
    const dlg = h('dialog', { class: 'modal', 'aria-label': `SQL of ${card.title}` },
      h('div', { class: 'modal-head' }, h('h2', { text: `SQL · ${card.title || card.id}` }), h('div', { class: 'seg' }, bWritten, bBound), copyBtn, closeBtn),
      h('div', { class: 'modal-body' }, pre, params));
    const show = () => {
      bWritten.setAttribute('aria-pressed', String(mode === 'sql'));
      bBound.setAttribute('aria-pressed', String(mode === 'bound'));
      if (!data) return;
      pre.textContent = String((mode === 'sql' ? data.sql : data.bound_sql) || '').replace(/\s+$/, '');
      params.replaceChildren();
      if (mode === 'bound') {
        const list = (name, ps) => ps && ps.length ? h('div', null, h('b', { text: name }), ' ', ps.map((p, i) => `$${i + 1} = ${JSON.stringify(p)}`).join(',  ')) : null;
        params.append(list('Parameters', data.params) || h('div', { text: 'No parameters' }), list('Previous period', data.previous_params));
      }
    };
    bWritten.addEventListener('click', () => { mode = 'sql'; show(); });
    bBound.addEventListener('click', () => { mode = 'bound'; show(); });
    closeBtn.addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => dlg.remove());
    dlg.addEventListener('click', (e) => { if (e.target === dlg) dlg.close(); });
    document.body.append(dlg);
    dlg.showModal();
    (async () => {
      try {
        const { body } = await api(`${D.cardPath(card)}/sql${D.cardQuery(card)}`);
        data = body;
        show();
      } catch (e) {
        pre.replaceWith(errorBox(e));
      }
    })();
  }

  // ------------------------------------------------------------------ rendering a card
  function chartHeight(card, data) {
    if (Number(card.height) > 0) return Math.max(140, Number(card.height) * 100 - 64);
    const n = data && data.rows ? data.rows.length : 0;
    switch (card.viz) {
      case 'bar': return card.chart && card.chart.horizontal ? clamp(n * 30 + 50, 280, 720) : 300;
      case 'pivot': case 'heatmap': {
        const ch = card.chart || {};
        const yi = data ? colIndex(data.columns, ch.y, 1) : -1;
        const ny = data && yi >= 0 ? new Set(data.rows.map((r) => String(r[yi]))).size : 8;
        return clamp(ny * 30 + 90, 240, 900);
      }
      case 'funnel': return 260;
      default: return 300;
    }
  }

  function renderCard(D, cs) {
    disposeChart(cs);
    const { card, body } = cs;
    body.replaceChildren();
    body.classList.remove('has-content');
    delete cs.root.dataset.value;
    delete cs.root.dataset.previous;
    if (cs.error) {
      body.append(errorBox(cs.error));
      setCardState(cs, 'error');
      return;
    }
    try {
      const data = cs.data;
      if (!data || !Array.isArray(data.columns) || !Array.isArray(data.rows)) throw new Error('The server sent no result for this card.');
      const cols = data.columns.map((c) => colSpec(D.dash.columns, c.name, c.type));
      if (card.viz === 'number') renderNumber(D, cs, cols);
      else if (!data.rows.length) body.append(h('div', { class: 'card-empty', text: 'No data for these filters' }));
      else if (card.viz === 'table') renderTable(D, cs, cols, body);
      else renderChart(D, cs, cols);
      if (data.truncated && card.viz !== 'table') body.append(h('div', { class: 'table-foot' }, h('span', { class: 'note', text: `Showing the first ${data.rows.length} rows` })));
      body.classList.add('has-content');
      setCardState(cs, 'ready');
    } catch (e) {
      disposeChart(cs);
      body.replaceChildren(errorBox(e, 'Could not draw this card'));
      setCardState(cs, 'error');
    }
  }

  function renderNumber(D, cs, cols) {
    const { data, body, root } = cs;
    const spec = cols[0] || { format: 'number' };
    const v = data.rows.length ? data.rows[0][0] : null;
    root.dataset.value = v == null ? '' : String(v);
    const kpi = h('div', { class: 'kpi' });
    kpi.append(h('div', { class: 'kpi-value', title: fmt(v, spec), text: fmt(v, spec, { kpi: true }) }));
    if (data.previous) {
      const pv = data.previous.rows && data.previous.rows.length ? data.previous.rows[0][0] : null;
      root.dataset.previous = pv == null ? '' : String(pv);
      const a = toNum(v), b = toNum(pv);
      let delta;
      if (a == null || b == null || b === 0) {
        delta = h('span', { class: 'delta', title: 'No previous value to compare with', text: '—' });
      } else {
        const ch = (a - b) / Math.abs(b);
        const cls = ch > 0.0005 ? 'up' : ch < -0.0005 ? 'down' : '';
        delta = h('span', { class: `delta ${cls}`, title: `Change against the previous period: ${fmt(a - b, spec)}` },
          cls ? iconEl(cls) : null, nf({ style: 'percent', maximumFractionDigits: 1, minimumFractionDigits: 1, signDisplay: 'exceptZero' }).format(ch).replace(/^[+-]/, ''));
        if (!cls) delta.textContent = '0.0%';
      }
      const prevPeriod = data.previous.period ? ` (${fmtRange(data.previous.period)})` : '';
      kpi.append(h('div', { class: 'kpi-compare' }, delta,
        h('span', { class: 'kpi-prev', title: `Previous period${prevPeriod}: ${fmt(pv, spec)}`,
          text: pv == null ? 'no data for the previous period' : `vs ${fmt(pv, spec, { kpi: true })} previous period` })));
    }
    if (data.period) kpi.append(h('div', { class: 'kpi-period', text: fmtRange(data.period) }));
    body.append(kpi);
  }

  // ---- table
  function renderTable(D, cs, cols, container, opts) {
    const { card, data } = cs;
    opts = opts || {};
    const st = cs.tableState || (cs.tableState = { sort: null, dir: 1, page: 0 });
    const heat = new Set(((card.chart && card.chart.heat) || []).map((c) => String(c).toLowerCase()));
    const numeric = cols.map((c, i) => isNumericSpec(c) || (c.format === 'text' && data.rows.some((r) => typeof r[i] === 'number')));
    const ranges = cols.map((c, i) => {
      if (!heat.has(c.name.toLowerCase())) return null;
      const ns = data.rows.map((r) => toNum(r[i])).filter((n) => n != null);
      return ns.length ? [Math.min(...ns), Math.max(...ns)] : null;
    });
    const drill = card.drill && D.filters[card.drill.filter] ? card.drill : null;
    const drillIdx = drill ? colIndex(data.columns, drill.column, -1) : -1;
    const pageSize = opts.pageSize || 25;

    const wrap = h('div', { class: 'table-wrap' });
    const foot = h('div', { class: 'table-foot' });
    container.append(wrap);
    if (!opts.noFoot) container.append(foot);

    const draw = () => {
      let rows = data.rows.map((r, i) => [r, i]);
      if (st.sort != null) {
        const k = st.sort, dir = st.dir;
        rows.sort((A, B) => {
          const a = A[0][k], b = B[0][k];
          if (a == null && b == null) return A[1] - B[1];
          if (a == null) return 1;
          if (b == null) return -1;
          const na = toNum(a), nb = toNum(b);
          const c = numeric[k] && na != null && nb != null ? na - nb : String(a).localeCompare(String(b), undefined, { numeric: true });
          return c * dir || A[1] - B[1];
        });
      }
      const pages = Math.max(1, Math.ceil(rows.length / pageSize));
      st.page = clamp(st.page, 0, pages - 1);
      const from = st.page * pageSize;
      const pageRows = rows.slice(from, from + pageSize);
      const thead = h('thead', null, h('tr', null, cols.map((c, i) => {
        const sorted = st.sort === i;
        const th = h('th', { class: numeric[i] ? 'num' : '', scope: 'col', 'aria-sort': sorted ? (st.dir > 0 ? 'ascending' : 'descending') : 'none' },
          h('button', { type: 'button', title: `Sort by ${c.label}` },
            numeric[i] ? h('span', { class: 'sort', text: sorted ? (st.dir > 0 ? '↑' : '↓') : '' }) : null,
            h('span', { text: c.label }),
            !numeric[i] ? h('span', { class: 'sort', text: sorted ? (st.dir > 0 ? '↑' : '↓') : '' }) : null));
        th.firstChild.addEventListener('click', () => {
          if (st.sort === i) {
            if (st.dir === (numeric[i] ? -1 : 1)) st.dir = -st.dir; else { st.sort = null; st.dir = 1; }
          } else { st.sort = i; st.dir = numeric[i] ? -1 : 1; }
          st.page = 0;
          draw();
        });
        return th;
      })));
      const tbody = h('tbody', null, pageRows.map(([r]) => h('tr', null, r.map((v, i) => {
        const text = fmt(v, cols[i], { nullText: '∅' });
        const td = h('td', { class: `${numeric[i] ? 'num' : ''}${v == null ? ' null' : ''}`, title: text.length > 40 ? text : null });
        if (i === drillIdx && v != null) {
          td.append(h('button', { type: 'button', class: 'drill-link', title: `Filter by ${text}`, text, onclick: () => drillTo(D, cs, r) }));
        } else td.textContent = text;
        const rg = ranges[i];
        const n = toNum(v);
        if (rg && n != null) {
          const t = rg[1] > rg[0] ? (n - rg[0]) / (rg[1] - rg[0]) : 0.25;
          td.classList.add('heat');
          td.style.background = `rgba(var(--accent-rgb), ${(0.06 + t * 0.42).toFixed(3)})`;
        }
        return td;
      }))));
      wrap.replaceChildren(h('table', { class: 'data-table' }, thead, tbody));
      foot.replaceChildren();
      if (data.truncated) foot.append(h('span', { class: 'note', text: `Showing the first ${data.rows.length} rows (truncated)` }));
      if (rows.length > pageSize) {
        const prev = h('button', { type: 'button', 'aria-label': 'Previous page', html: ICON.left, disabled: st.page === 0 });
        const next = h('button', { type: 'button', 'aria-label': 'Next page', html: ICON.right, disabled: st.page >= pages - 1 });
        prev.addEventListener('click', () => { st.page--; draw(); });
        next.addEventListener('click', () => { st.page++; draw(); });
        foot.append(h('span', { class: 'tabular', text: `${from + 1}–${Math.min(from + pageSize, rows.length)} of ${rows.length}` }), h('span', { class: 'pager' }, prev, next));
      } else if (!opts.noFoot) {
        foot.append(h('span', { class: 'tabular', text: `${rows.length} row${rows.length === 1 ? '' : 's'}` }));
      }
    };
    draw();
  }

  // ---- charts
  function colIndex(columns, name, fallback) {
    if (name == null || name === '') return fallback;
    const n = String(name).toLowerCase();
    const i = columns.findIndex((c) => String(c.name).toLowerCase() === n);
    if (i < 0) throw new Error(`The chart names column “${name}”, which the query does not return (it returns ${columns.map((c) => c.name).join(', ')}).`);
    return i;
  }
  const asList = (v) => (v == null ? [] : Array.isArray(v) ? v : [v]);

  function drillTo(D, cs, row) {
    const d = cs.card.drill;
    if (!d || !row || !D.filters[d.filter]) return;
    let i;
    try { i = colIndex(cs.data.columns, d.column, -1); } catch (_) { return; }
    if (i < 0 || row[i] == null) return;
    D.setFilter(d.filter, [String(row[i])]);
  }

  function renderChart(D, cs, cols) {
    const { card, data, body } = cs;
    const T = chartTheme();
    const el = h('div', { class: 'chart', 'data-echarts': '', role: 'img', 'aria-label': card.title || card.id });
    el.style.height = `${chartHeight(card, data)}px`;
    body.append(el);
    const built = buildOption(card, data, cols, T, { width: el.clientWidth, height: el.clientHeight });
    cs.narrow = built.narrow;
    if (built.caption) el.before(h('div', { class: 'chart-caption', text: built.caption }));
    const chart = echarts.init(el, null, { renderer: 'canvas' });
    cs.chart = chart;
    chart.setOption(built.option);
    const drill = card.drill && D.filters[card.drill.filter];
    if (drill && built.rowFor) {
      chart.on('click', (p) => {
        const row = built.rowFor(p);
        if (row) drillTo(D, cs, row);
      });
      el.title = `Click to filter by ${D.filters[card.drill.filter].label || card.drill.filter}`;
    }
    if (built.after) built.after(body);
  }

  function baseOption(T) {
    return {
      animation: !reduceMotion,
      animationDuration: 450,
      color: T.palette,
      backgroundColor: 'transparent',
      textStyle: { fontFamily: T.font, color: T.text2 },
      tooltip: {
        backgroundColor: T.surface, borderColor: T.border, borderWidth: 1, padding: [8, 10],
        textStyle: { color: T.text, fontSize: 12.5, fontFamily: T.font },
        extraCssText: 'box-shadow: 0 8px 24px rgba(0,0,0,.14); border-radius: 8px;',
        confine: true,
      },
    };
  }
  function legendOpt(T, show) {
    return {
      show, type: 'scroll', top: 0, left: 0, right: 0, icon: 'roundRect', itemWidth: 10, itemHeight: 10, itemGap: 16,
      textStyle: { color: T.muted, fontSize: 12 },
      pageIconColor: T.muted, pageIconInactiveColor: T.border, pageTextStyle: { color: T.muted }, pageIconSize: 10,
    };
  }
  function valueAxis(T, spec, extra) {
    return Object.assign({
      type: 'value',
      axisLabel: { color: T.muted, fontSize: 11.5, formatter: (v) => fmt(v, spec, { compact: true }) },
      splitLine: { lineStyle: { color: T.grid } },
      axisLine: { show: false }, axisTick: { show: false },
    }, extra || {});
  }
  function categoryAxis(T, values, cf, extra) {
    return Object.assign({
      type: 'category', data: values,
      axisLabel: { color: T.muted, fontSize: 11.5, formatter: (v) => cf.axis(v === '\u0000' ? null : v), hideOverlap: true },
      axisLine: { lineStyle: { color: T.border } }, axisTick: { show: false },
    }, extra || {});
  }
  // Category labels under a chart: every one when there are few (rotated when they would
  // overlap); dates keep ECharts' automatic spacing.
  function fitLabels(labels, width, spec) {
    if (spec && (spec.format === 'date' || spec.format === 'datetime')) return {};
    if (labels.length > 40 || !width) return {};
    const longest = Math.max(0, ...labels.map((l) => String(l).length));
    const need = labels.length * (longest * 6.6 + 10);
    if (need <= width * 0.92) return { interval: 0 };
    return { interval: 0, rotate: 35, width: 110, overflow: 'truncate' };
  }
  const catKey = (v) => (v == null ? '\u0000' : String(v));
  const tooltipRow = (marker, name, value) =>
    `<div style="display:flex;gap:14px;justify-content:space-between;align-items:center"><span>${marker}${esc(name)}</span><b style="font-variant-numeric:tabular-nums">${esc(value)}</b></div>`;

  function buildOption(card, data, cols, T, box) {
    const ch = card.chart || {};
    switch (card.viz) {
      case 'line': case 'area': case 'bar': case 'combo': return cartesianOption(card, ch, data, cols, T, box);
      case 'pie': case 'donut': return pieOption(card, ch, data, cols, T, box);
      case 'funnel': return funnelOption(card, ch, data, cols, T);
      case 'pivot': case 'heatmap': return heatmapOption(card, ch, data, cols, T, box);
      case 'scatter': return scatterOption(card, ch, data, cols, T);
      default: throw new Error(`Unknown visualization “${card.viz}”.`);
    }
  }

  function cartesianOption(card, ch, data, cols, T, box) {
    const { rows, columns } = data;
    const viz = card.viz;
    const xi = colIndex(columns, ch.x, 0);
    const si = colIndex(columns, ch.series, -1);
    const numericIdx = (i) => i !== xi && i !== si && (isNumericSpec(cols[i]) || rows.some((r) => typeof r[i] === 'number'));
    let barIdx = [], lineIdx = [];
    if (viz === 'combo') {
      barIdx = asList(ch.bar).map((c) => colIndex(columns, c, -1));
      lineIdx = asList(ch.line).map((c) => colIndex(columns, c, -1));
      if (!barIdx.length && !lineIdx.length) {
        const all = cols.map((_, i) => i).filter(numericIdx);
        barIdx = all.slice(0, 1); lineIdx = all.slice(1);
      }
    } else {
      const ys = asList(ch.y).length ? asList(ch.y).map((c) => colIndex(columns, c, -1)) : cols.map((_, i) => i).filter(numericIdx);
      if (viz === 'bar') barIdx = ys; else lineIdx = ys;
    }
    if (!barIdx.length && !lineIdx.length) throw new Error('The result has no numeric column to plot.');
    const horizontal = viz === 'bar' && !!ch.horizontal;
    const stacked = !!ch.stacked;
    const xSpec = cols[xi];
    const seriesList = []; // {name, type, yi, values[], rowAt[]}
    let xs;

    if (si >= 0) {
      // One series per value of the `series` column; x values in order of first appearance.
      const yi = (barIdx.length ? barIdx : lineIdx)[0];
      const type = barIdx.length ? 'bar' : 'line';
      xs = [];
      const xPos = new Map();
      for (const r of rows) { const k = catKey(r[xi]); if (!xPos.has(k)) { xPos.set(k, xs.length); xs.push(k); } }
      const byS = new Map();
      for (const r of rows) {
        const sk = catKey(r[si]);
        if (!byS.has(sk)) byS.set(sk, { name: sk === '\u0000' ? '∅' : fmt(r[si], cols[si]), type, yi, values: xs.map(() => null), rowAt: xs.map(() => null) });
        const s = byS.get(sk);
        const p = xPos.get(catKey(r[xi]));
        s.values[p] = toNum(r[yi]);
        s.rowAt[p] = r;
      }
      seriesList.push(...byS.values());
    } else {
      xs = rows.map((r) => catKey(r[xi]));
      for (const yi of barIdx) seriesList.push({ name: cols[yi].label, type: 'bar', yi, values: rows.map((r) => toNum(r[yi])), rowAt: rows });
      for (const yi of lineIdx) seriesList.push({ name: cols[yi].label, type: 'line', yi, values: rows.map((r) => toNum(r[yi])), rowAt: rows, secondary: viz === 'combo' && barIdx.length > 0 });
    }
    const cf = catFormatter(xSpec, xs.map((k) => (k === '\u0000' ? null : k)));
    const many = xs.length > 40;
    const series = seriesList.map((s) => {
      const spec = cols[s.yi];
      const o = {
        name: s.name, type: s.type, data: s.values,
        yAxisIndex: horizontal ? undefined : (s.secondary ? 1 : 0),
        tooltip: { valueFormatter: (v) => fmt(v, spec) },
        emphasis: { focus: seriesList.length > 1 ? 'series' : 'none' },
      };
      if (stacked) o.stack = 'total';
      if (s.type === 'bar') {
        o.barMaxWidth = horizontal ? 26 : 42;
        o.itemStyle = { borderRadius: horizontal ? [0, 4, 4, 0] : [4, 4, 0, 0] };
        if (stacked) o.itemStyle.borderRadius = 0;
        if (horizontal && seriesList.length === 1 && xs.length <= 30) {
          o.label = { show: true, position: 'right', color: T.muted, fontSize: 11.5, formatter: (p) => fmt(p.value, spec, { compact: true }) };
        }
      } else {
        o.symbol = 'circle';
        o.symbolSize = 6;
        o.showSymbol = !many;
        o.lineStyle = { width: 2.2 };
        o.connectNulls = false;
        if (viz === 'area') o.areaStyle = { opacity: stacked ? 0.55 : 0.14 };
        if (viz === 'combo') o.z = 3;
      }
      return o;
    });
    const primarySpec = cols[(barIdx.length ? barIdx : lineIdx)[0]];
    const secondarySpec = lineIdx.length ? cols[lineIdx[0]] : primarySpec;
    const showLegend = series.length > 1;
    const opt = baseOption(T);
    opt.legend = legendOpt(T, showLegend);
    opt.grid = { left: 4, right: horizontal ? 40 : barIdx.length ? 8 : 22, top: showLegend ? 36 : 12, bottom: 4, containLabel: true };
    opt.tooltip = Object.assign(opt.tooltip, {
      trigger: 'axis',
      axisPointer: { type: barIdx.length ? 'shadow' : 'line', shadowStyle: { color: T.mode === 'dark' ? 'rgba(255,255,255,.04)' : 'rgba(20,24,35,.04)' }, lineStyle: { color: T.border } },
      formatter: (ps) => {
        const arr = Array.isArray(ps) ? ps : [ps];
        if (!arr.length) return '';
        const head = `<div style="color:${T.muted};margin-bottom:4px">${esc(cf.full(arr[0].name === '\u0000' ? null : arr[0].name))}</div>`;
        return head + arr.map((p) => tooltipRow(p.marker, p.seriesName, fmt(p.value, cols[seriesList[p.seriesIndex].yi]))).join('');
      },
    });
    const catAx = categoryAxis(T, xs, cf, horizontal ? {
      inverse: true, axisLine: { show: false },
      axisLabel: { color: T.text2, fontSize: 12, width: 140, overflow: 'truncate', formatter: (v) => cf.axis(v === '\u0000' ? null : v) },
    } : { boundaryGap: barIdx.length > 0, axisLabel: Object.assign(categoryAxis(T, xs, cf).axisLabel, fitLabels(xs.map((k) => cf.axis(k === '\u0000' ? null : k)), box.width, xSpec)) });
    if (horizontal) {
      opt.yAxis = catAx;
      opt.xAxis = valueAxis(T, primarySpec, { splitNumber: 4 });
    } else {
      opt.xAxis = catAx;
      // Bars and areas start at zero; lines zoom to their range.
      const scale = viz === 'line';
      opt.yAxis = [valueAxis(T, primarySpec, { splitNumber: 4, scale })];
      if (series.some((s) => s.yAxisIndex === 1)) opt.yAxis.push(valueAxis(T, secondarySpec, { splitLine: { show: false }, splitNumber: 4, scale }));
    }
    opt.series = series;
    return { option: opt, rowFor: (p) => (p.componentType === 'series' && seriesList[p.seriesIndex] ? seriesList[p.seriesIndex].rowAt[p.dataIndex] : null) };
  }

  function pieOption(card, ch, data, cols, T, box) {
    const width = box.width;
    const { rows, columns } = data;
    const xi = colIndex(columns, ch.x, 0);
    const yi = asList(ch.y).length ? colIndex(columns, asList(ch.y)[0], 1) : cols.findIndex((c, i) => i !== xi && isNumericSpec(c));
    if (yi < 0) throw new Error('The result has no numeric column for the slices.');
    const spec = cols[yi];
    const donut = card.viz === 'donut';
    const items = rows.map((r) => ({ name: r[xi] == null ? '∅' : fmt(r[xi], cols[xi]), value: toNum(r[yi]) }));
    const total = items.reduce((s, it) => s + (it.value || 0), 0);
    const pctOf = (v) => (total ? nf({ style: 'percent', maximumFractionDigits: 0 }).format((v || 0) / total) : '—');
    // Wide: labels at the left and right edges; narrow (phones): a legend under the pie.
    const narrow = width < 460;
    const opt = baseOption(T);
    opt.tooltip = Object.assign(opt.tooltip, {
      trigger: 'item',
      formatter: (p) => tooltipRow(p.marker, p.name, `${fmt(p.value, spec)}  ·  ${nf({ maximumFractionDigits: 1 }).format(p.percent)}%`),
    });
    const center = narrow ? ['50%', '42%'] : ['50%', '50%'];
    const series = {
      type: 'pie',
      radius: donut ? (narrow ? ['42%', '64%'] : ['46%', '70%']) : [0, narrow ? '64%' : '70%'],
      center,
      data: items,
      itemStyle: { borderColor: T.surface, borderWidth: 2, borderRadius: donut ? 4 : 2 },
      emphasis: { scaleSize: 4 },
    };
    if (narrow) {
      series.label = { show: false };
      opt.legend = Object.assign(legendOpt(T, true), {
        top: 'auto', bottom: 0, left: 'center',
        formatter: (name) => { const it = items.find((i) => i.name === name); return `${name}  ${it ? pctOf(it.value) : ''}`; },
      });
    } else {
      series.label = {
        alignTo: 'edge', edgeDistance: 8, minMargin: 6, lineHeight: 16,
        formatter: (p) => `{n|${p.name}}\n{v|${fmt(p.value, spec, { compact: true })} · ${pctOf(p.value)}}`,
        rich: { n: { color: T.text2, fontSize: 12, lineHeight: 17 }, v: { color: T.muted, fontSize: 11.5, lineHeight: 16 } },
      };
      series.labelLine = { length: 14, length2: 0, maxSurfaceAngle: 80, lineStyle: { color: T.faint } };
    }
    opt.series = [series];
    if (donut) {
      opt.title = {
        text: fmt(total, spec, { compact: true }), subtext: 'Total', left: 'center', top: Math.round(box.height * parseFloat(center[1]) / 100 - 22), itemGap: 4,
        textStyle: { color: T.text, fontSize: 19, fontWeight: 650, fontFamily: T.font, lineHeight: 22 },
        subtextStyle: { color: T.muted, fontSize: 12, lineHeight: 14 },
      };
    }
    return { option: opt, rowFor: (p) => (p.componentType === 'series' ? rows[p.dataIndex] : null), narrow };
  }

  function funnelOption(card, ch, data, cols, T) {
    const { rows, columns } = data;
    const xi = colIndex(columns, ch.x, 0);
    const yi = asList(ch.y).length ? colIndex(columns, asList(ch.y)[0], 1) : cols.findIndex((c, i) => i !== xi && isNumericSpec(c));
    if (yi < 0) throw new Error('The result has no numeric column for the steps.');
    const spec = cols[yi];
    const vals = rows.map((r) => toNum(r[yi]));
    const first = vals[0];
    const pct = (a, b) => (a == null || b == null || b === 0 ? '—' : nf({ style: 'percent', maximumFractionDigits: 1 }).format(a / b));
    const steps = rows.map((r, i) => ({
      name: r[xi] == null ? '∅' : fmt(r[xi], cols[xi]), value: vals[i],
      ofFirst: pct(vals[i], first), ofPrev: i === 0 ? '—' : pct(vals[i], vals[i - 1]),
    }));
    const opt = baseOption(T);
    opt.tooltip = Object.assign(opt.tooltip, {
      trigger: 'item',
      formatter: (p) => {
        const s = steps[p.dataIndex];
        return `<div style="font-weight:600;margin-bottom:4px">${esc(s.name)}</div>` + tooltipRow('', 'Value', fmt(s.value, spec)) +
          tooltipRow('', 'Of first step', s.ofFirst) + tooltipRow('', 'Of previous step', s.ofPrev);
      },
    });
    opt.series = [{
      type: 'funnel', sort: 'none', left: '12%', right: '12%', top: 8, bottom: 8, minSize: '18%', gap: 3,
      data: steps.map((s) => ({ name: s.name, value: s.value })),
      itemStyle: { borderColor: T.surface, borderWidth: 0 },
      label: {
        show: true, position: 'inside', color: '#fff', fontSize: 12,
        formatter: (p) => `${p.name}  ·  ${steps[p.dataIndex].ofFirst}`,
      },
      labelLine: { show: false },
      emphasis: { label: { fontWeight: 600 } },
    }];
    // A small table: value, % of first and % of previous step.
    const after = (body) => {
      const stepSpec = { ...cols[xi], label: cols[xi].label };
      const t = h('table', { class: 'data-table funnel-table' },
        h('thead', null, h('tr', null, [stepSpec.label, spec.label, 'Of first', 'Of previous'].map((l, i) => h('th', { class: i ? 'num' : '' }, h('button', { type: 'button', tabindex: '-1', text: l }))))),
        h('tbody', null, steps.map((s) => h('tr', null, h('td', { text: s.name }), h('td', { class: 'num', text: fmt(s.value, spec) }), h('td', { class: 'num', text: s.ofFirst }), h('td', { class: 'num', text: s.ofPrev })))));
      body.append(h('div', { class: 'table-wrap' }, t));
    };
    return { option: opt, rowFor: (p) => (p.componentType === 'series' ? rows[p.dataIndex] : null), after };
  }

  function heatmapOption(card, ch, data, cols, T, box) {
    const { rows, columns } = data;
    const xi = colIndex(columns, ch.x, 0);
    const yi = colIndex(columns, ch.y != null ? asList(ch.y)[0] : null, 1);
    const vi = colIndex(columns, ch.value != null ? ch.value : null, 2);
    const spec = cols[vi];
    const xs = [], ys = [], xPos = new Map(), yPos = new Map();
    for (const r of rows) {
      const xk = catKey(r[xi]), yk = catKey(r[yi]);
      if (!xPos.has(xk)) { xPos.set(xk, xs.length); xs.push(xk); }
      if (!yPos.has(yk)) { yPos.set(yk, ys.length); ys.push(yk); }
    }
    const nums = rows.map((r) => toNum(r[vi])).filter((n) => n != null);
    const min = nums.length ? Math.min(...nums) : 0, max = nums.length ? Math.max(...nums) : 1;
    // The colour scale: percentages from 0; a single value still gets a scale.
    let vmin = spec.format === 'percent' ? Math.min(0, min) : min, vmax = max;
    if (vmax <= vmin) { vmin = Math.min(0, vmin); vmax = vmin < vmax ? vmax : vmin + 1; }
    const cells = [];
    rows.forEach((r, i) => {
      const n = toNum(r[vi]);
      if (n == null) return;
      const t = (n - vmin) / (vmax - vmin);
      cells.push({ value: [xPos.get(catKey(r[xi])), yPos.get(catKey(r[yi])), n], row: i, label: { color: t > 0.5 ? '#fff' : T.text2 } });
    });
    const xcf = catFormatter(cols[xi], xs.map((k) => (k === '\u0000' ? null : k)));
    const ycf = catFormatter(cols[yi], ys.map((k) => (k === '\u0000' ? null : k)));
    const opt = baseOption(T);
    // Cells no larger than ~120 x 44 px: a few cohorts must not become a wall of colour.
    const labelW = 90;
    const gridW = Math.min(box.width - 12, labelW + xs.length * 120);
    const gridH = Math.min(box.height - 70, 34 + ys.length * 44);
    opt.grid = { left: 4, top: 22, width: gridW, height: gridH, containLabel: true };
    opt.tooltip = Object.assign(opt.tooltip, {
      trigger: 'item',
      formatter: (p) => {
        const [x, y, v] = p.value;
        return `<div style="color:${T.muted};margin-bottom:4px">${esc(cols[yi].label)} ${esc(ycf.full(ys[y] === '\u0000' ? null : ys[y]))} · ${esc(cols[xi].label)} ${esc(xcf.full(xs[x] === '\u0000' ? null : xs[x]))}</div>` +
          tooltipRow('', spec.label, fmt(v, spec));
      },
    });
    opt.xAxis = categoryAxis(T, xs, xcf, { position: 'top', splitArea: { show: false }, axisLine: { show: false },
      axisLabel: Object.assign(categoryAxis(T, xs, xcf).axisLabel, fitLabels(xs.map((k) => xcf.axis(k === '\u0000' ? null : k)), gridW - labelW, cols[xi])) });
    opt.yAxis = categoryAxis(T, ys, ycf, { inverse: true, axisLine: { show: false } });
    opt.visualMap = {
      type: 'continuous', min: vmin, max: vmax, calculable: false, orient: 'horizontal', left: Math.max(4, 4 + gridW / 2 - 90), top: 22 + gridH + 14,
      itemWidth: 10, itemHeight: 140, inRange: { color: [T.heatLow, T.accent] },
      text: [fmt(vmax, spec, { compact: true }), fmt(vmin, spec, { compact: true })], textStyle: { color: T.muted, fontSize: 11.5 },
    };
    // Values in the cells when they fit.
    const cellText = (p) => fmt(p.value[2], spec, { compact: spec.format !== 'percent' });
    const longest = Math.max(0, ...cells.map((c) => cellText({ value: c.value }).length));
    const showLabels = cells.length <= 400 && (gridW - labelW) / Math.max(1, xs.length) >= longest * 6.6 + 8;
    opt.series = [{
      type: 'heatmap', data: cells,
      label: { show: showLabels, fontSize: 11, formatter: cellText },
      itemStyle: { borderColor: T.surface, borderWidth: 2, borderRadius: 3 },
      emphasis: { itemStyle: { borderColor: T.text, borderWidth: 1 } },
    }];
    return {
      option: opt, rowFor: (p) => (p.componentType === 'series' && p.data ? rows[p.data.row] : null),
      caption: `Rows: ${cols[yi].label} · Columns: ${cols[xi].label} · Cells: ${spec.label}`,
    };
  }

  function scatterOption(card, ch, data, cols, T) {
    const { rows, columns } = data;
    const xi = colIndex(columns, ch.x, 0);
    const yi = asList(ch.y).length ? colIndex(columns, asList(ch.y)[0], 1) : cols.findIndex((c, i) => i !== xi && isNumericSpec(c));
    if (yi < 0) throw new Error('The result has no numeric column for the y axis.');
    const si = colIndex(columns, ch.series, -1);
    const groups = new Map();
    rows.forEach((r, i) => {
      const k = si >= 0 ? catKey(r[si]) : '';
      if (!groups.has(k)) groups.set(k, { name: si >= 0 ? (k === '\u0000' ? '∅' : fmt(r[si], cols[si])) : cols[yi].label, data: [], rows: [] });
      const g = groups.get(k);
      const x = toNum(r[xi]), y = toNum(r[yi]);
      if (x == null || y == null) return;
      g.data.push([x, y]);
      g.rows.push(i);
    });
    const list = [...groups.values()];
    const opt = baseOption(T);
    opt.legend = legendOpt(T, list.length > 1);
    opt.grid = { left: 4, right: 12, top: list.length > 1 ? 36 : 12, bottom: 24, containLabel: true };
    opt.tooltip = Object.assign(opt.tooltip, {
      trigger: 'item',
      formatter: (p) => `<div style="margin-bottom:4px">${p.marker}${esc(p.seriesName)}</div>` +
        tooltipRow('', cols[xi].label, fmt(p.value[0], cols[xi])) + tooltipRow('', cols[yi].label, fmt(p.value[1], cols[yi])),
    });
    opt.xAxis = valueAxis(T, cols[xi], { scale: true, name: cols[xi].label, nameLocation: 'middle', nameGap: 26, nameTextStyle: { color: T.muted, fontSize: 11.5 }, splitLine: { lineStyle: { color: T.grid } } });
    opt.yAxis = valueAxis(T, cols[yi], { scale: true });
    opt.series = list.map((g) => ({ type: 'scatter', name: g.name, data: g.data, symbolSize: 9, itemStyle: { opacity: 0.78 } }));
    return { option: opt, rowFor: (p) => (p.componentType === 'series' ? rows[list[p.seriesIndex].rows[p.dataIndex]] : null) };
  }

  // ------------------------------------------------------------------ start
  function main() {
    applyTheme(document.documentElement.dataset.theme, false);
    document.getElementById('theme-toggle').addEventListener('click', () => {
      applyTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark', true);
    });
    darkQuery.addEventListener('change', () => { if (!storedTheme()) applyTheme(darkQuery.matches ? 'dark' : 'light', false); });
    // Same-origin page links navigate without reloading.
    document.addEventListener('click', (e) => {
      const a = e.target.closest && e.target.closest('a[data-nav]');
      if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      const url = new URL(a.href, location.href);
      if (url.origin !== location.origin) return;
      e.preventDefault();
      navigate(url.pathname + url.search);
    });
    window.addEventListener('popstate', route);
    document.getElementById('logout').addEventListener('click', logout);
    start();
  }
  // Who is signed in decides what shows: nothing but GET /api/me runs before that is known.
  async function start() {
    setReady(false);
    if (EMBED) {
        document.querySelector('main#app').after(h('footer', { class: 'embed-credit' }, 'Powered by Strata'));
      route();
      return;
    }
    try {
      const { body } = await api('/api/me', { noLoginRedirect: true });
      if (body && body.auth) session = { auth: true, user: body.user, role: body.role, csrf: body.csrf };
      else session = { auth: false, user: null, role: null, csrf: null };
    } catch (e) {
      if (e.status === 401) { session = { auth: true, user: null, role: null, csrf: null }; showLogin(); return; }
      // An older server without /api/me (404) runs without logins; anything else is shown as is.
      if (e.status !== 404) {
        app().append(errorBox(e, e.status === 0 ? undefined : 'Strata could not start'));
        setReady(true);
        return;
      }
    }
    renderUser();
    if (typeof window.echarts === 'undefined') {
      app().append(errorBox(new Error('The chart library (/vendor/echarts.min.js) did not load.')));
    }
    route();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
  else main();
})();
