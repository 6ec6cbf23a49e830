// The console's entry: hash routes (real links, so pages open in new tabs), shared helpers.
import { get, ApiError, onRetry } from './api.js';
import { overview, connectorPage, pluginsPage, workerPage } from './views.js';
import { connectorForm } from './forms.js';

/** HTML-escapes a value for use in markup. */
export function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

let toastTimer;
/** A short message for everyone (aria-live region). */
export function toast(msg, kind = 'info') {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.className = `show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.className = ''; }, kind === 'error' ? 12000 : 5000);
}

/**
 * One derived state per connector (as Redpanda's "holistic" state): FAILED if the connector or
 * every task failed, DEGRADED if some task failed or is unassigned, else the connector's state.
 */
export function health(status) {
  if (!status) return 'UNKNOWN';
  const c = status.connector?.state ?? 'UNKNOWN';
  const tasks = status.tasks ?? [];
  const failed = tasks.filter((t) => t.state === 'FAILED').length;
  if (c === 'FAILED' || (tasks.length > 0 && failed === tasks.length)) return 'FAILED';
  if (failed > 0) return 'DEGRADED';
  if (c === 'RUNNING' && tasks.some((t) => t.state === 'UNASSIGNED')) return 'DEGRADED';
  return c;
}

/** Sort rank: what needs attention first. */
export const HEALTH_RANK = { FAILED: 0, DEGRADED: 1, UNASSIGNED: 2, RESTARTING: 3, UNKNOWN: 4, PAUSED: 5, STOPPED: 6, RUNNING: 7 };

export function badge(state) {
  return `<span class="badge s-${esc(state)}">${esc(state)}</span>`;
}

/** A readable title from a Java-style trace: the first line, without the exception class path. */
export function traceTitle(trace) {
  if (!trace) return '';
  const short = (line) => {
    const m = line.trim().match(/^(?:[\w$]+\.)+([\w$]+(?:Exception|Error))(?::\s*(.*))?$/);
    const t = m ? (m[2] ? `${m[1]}: ${m[2]}` : m[1]) : line.trim();
    return t.length > 240 ? `${t.slice(0, 240)}…` : t;
  };
  const lines = trace.split('\n');
  const first = short(lines.find((l) => l.trim()) ?? '');
  // The root cause says what actually went wrong; the first line where it surfaced.
  const causes = lines.filter((l) => l.startsWith('Caused by: '));
  if (!causes.length) return first;
  return `${first} — caused by ${short(causes[causes.length - 1].slice('Caused by: '.length))}`;
}

export function shortClass(cls) {
  return (cls ?? '').split('.').pop();
}

/** Polls `check` (async, returns true when done) every `everyMs` until `timeoutMs`; resolves to whether it was reached. */
export async function pollUntil(check, { timeoutMs = 30000, everyMs = 500 } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return true;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Runs something that changes state and reports the server's own message on failure. */
export async function attempt(label, fn) {
  try {
    return await fn();
  } catch (e) {
    toast(`${label} failed: ${e.message}`, 'error');
    throw e;
  }
}

/**
 * The WAI-ARIA tabs pattern on `list` (role=tablist holding role=tab elements with
 * aria-selected): only the selected tab is in the Tab order (roving tabindex); Left/Right move
 * to the previous/next tab (wrapping), Home/End to the first/last, and the tab reached is
 * selected at once (`activate(tab)`). Returns a function that re-syncs the tabindexes after the
 * selection changed some other way.
 */
export function tablist(list, activate) {
  const tabs = () => [...list.querySelectorAll('[role=tab]')];
  const sync = () => { for (const t of tabs()) t.tabIndex = t.getAttribute('aria-selected') === 'true' ? 0 : -1; };
  sync();
  list.addEventListener('keydown', (ev) => {
    const all = tabs();
    const i = all.indexOf(document.activeElement);
    if (i < 0 || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const j = { ArrowRight: (i + 1) % all.length, ArrowLeft: (i - 1 + all.length) % all.length, Home: 0, End: all.length - 1 }[ev.key];
    if (j === undefined) return;
    ev.preventDefault();
    all[j].focus();
    activate(all[j]);
    sync();
  });
  return sync;
}

/** Tabs that are links to pages (the connector's sections): selecting one opens its page. */
export function linkTabs(list) {
  return tablist(list, (tab) => {
    for (const t of list.querySelectorAll('[role=tab]')) t.setAttribute('aria-selected', String(t === tab));
    location.hash = tab.getAttribute('href');
  });
}

/** Marks `main` as showing a new page; the returned function tells whether it still does (late answers of a left page must not write into the next one). */
export function claim(main) {
  const token = {};
  main.sluicePage = token;
  return () => main.sluicePage === token;
}

// Timers and fetch loops of the page being left stop with it.
let cleanups = [];
export function onLeave(fn) { cleanups.push(fn); }

async function route() {
  for (const c of cleanups) { try { c(); } catch { /* page is gone */ } }
  cleanups = [];
  const main = document.getElementById('main');
  const hash = decodeURIComponent(location.hash.replace(/^#/, '').split('?')[0]) || '/';
  const parts = hash.split('/').filter(Boolean);
  for (const a of document.querySelectorAll('header nav a')) {
    const target = a.getAttribute('href').slice(1);
    a.toggleAttribute('aria-current', target === '/' ? parts.length === 0 || parts[0] === 'connectors' : hash.startsWith(target));
  }
  try {
    if (parts.length === 0) await overview(main);
    else if (parts[0] === 'new') await connectorForm(main, null);
    else if (parts[0] === 'plugins') await pluginsPage(main);
    else if (parts[0] === 'worker') await workerPage(main);
    else if (parts[0] === 'connectors' && parts.length >= 2) {
      // Connector names may contain '/': the tab is the last segment when it is a known one.
      const tabs = ['status', 'config', 'topics', 'offsets', 'tap', 'preview', 'metrics', 'edit'];
      let tab = 'status';
      let nameParts = parts.slice(1);
      if (nameParts.length > 1 && tabs.includes(nameParts[nameParts.length - 1])) tab = nameParts.pop();
      const name = nameParts.join('/');
      if (tab === 'edit') await connectorForm(main, name);
      else await connectorPage(main, name, tab);
    } else {
      main.innerHTML = `<h1>Not found</h1><p>No page ${esc(hash)}. <a href="#/">Back to the connectors</a>.</p>`;
    }
  } catch (e) {
    main.innerHTML = `<h1>Something went wrong</h1><p class="error" role="alert">${esc(e.message)}</p><p><a href="#/">Back to the connectors</a></p>`;
  }
}

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// After a page change the focus goes to the new page, or stays on the tabs when the keyboard
// was moving through them.
// A focus the user moved onto the new page meanwhile stays where it is.
window.addEventListener('hashchange', () => {
  const before = document.activeElement;
  const onTab = before?.getAttribute?.('role') === 'tab';
  route().then(() => {
    const now = document.activeElement;
    if (now && now !== document.body && now !== before && now.isConnected) return;
    const main = document.getElementById('main');
    const tab = onTab ? main.querySelector('[role=tab][aria-selected=true]') : null;
    (tab ?? main).focus({ preventScroll: true });
  });
});
// A write refused while the cluster rebalances is sent again (api.js); say so, once a burst.
let retrySaid = 0;
onRetry((method) => {
  if (Date.now() - retrySaid < 4000) return;
  retrySaid = Date.now();
  toast(`The cluster is rebalancing; sending the ${method} request again…`);
});
route();
get('/').then((info) => {
  document.getElementById('worker-info').textContent = `Kafka Connect ${info.version} · ${info.commit}${info.kafka_cluster_id ? ` · cluster ${info.kafka_cluster_id}` : ''}`;
}).catch(() => {});
