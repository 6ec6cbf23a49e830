// Overview, connector page, plugins and worker pages.
import { get, put, post, del, patch, enc, ApiError } from './api.js';
import { esc, toast, health, HEALTH_RANK, badge, traceTitle, shortClass, pollUntil, onLeave, go, claim, linkTabs } from './app.js';
import { connectorCharts } from './metrics.js';

// ---------------------------------------------------------------- overview

const overviewState = { q: '', state: '', type: '', sort: 'attention', auto: true, selected: new Set() };

/** Orders of the list: what needs attention first (the default), or by a column. */
const SORTS = {
  attention: ['attention first', (a, b) => (HEALTH_RANK[a.health] ?? 4) - (HEALTH_RANK[b.health] ?? 4) || a.name.localeCompare(b.name)],
  name: ['name', (a, b) => a.name.localeCompare(b.name)],
  type: ['type', (a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name)],
  class: ['class', (a, b) => shortClass(a.cls).localeCompare(shortClass(b.cls)) || a.name.localeCompare(b.name)],
  worker: ['worker', (a, b) => (a.status?.connector?.worker_id ?? '').localeCompare(b.status?.connector?.worker_id ?? '') || a.name.localeCompare(b.name)],
};

/** The connectors with status and info in one call (scales to hundreds of connectors). */
async function loadAll() {
  const all = await get('/connectors?expand=status&expand=info');
  return Object.entries(all).map(([name, e]) => ({
    name,
    status: e.status,
    info: e.info,
    type: e.info?.type ?? e.status?.type ?? 'unknown',
    cls: e.info?.config?.['connector.class'] ?? '',
    health: health(e.status),
  }));
}

export async function overview(main) {
  const alive = claim(main);
  main.innerHTML = `
    <div class="titlebar"><h1>Connectors</h1><a class="button primary" href="#/new">New connector</a></div>
    <div id="counts" class="counts" aria-live="polite"></div>
    <form id="filters" class="filters" role="search">
      <div class="filter"><label for="f-q">Name or class</label><input id="f-q" type="search" value="${esc(overviewState.q)}" placeholder="filter…"></div>
      <div class="filter"><label for="f-state">State</label><select id="f-state">
        ${['', 'FAILED', 'DEGRADED', 'RUNNING', 'PAUSED', 'STOPPED', 'UNASSIGNED', 'RESTARTING'].map((s) => `<option value="${s}" ${overviewState.state === s ? 'selected' : ''}>${s || 'any'}</option>`).join('')}
      </select></div>
      <div class="filter"><label for="f-type">Type</label><select id="f-type">
        ${['', 'source', 'sink'].map((s) => `<option value="${s}" ${overviewState.type === s ? 'selected' : ''}>${s || 'any'}</option>`).join('')}
      </select></div>
      <div class="filter"><label for="f-sort">Sort by</label><select id="f-sort">
        ${Object.entries(SORTS).map(([k, [label]]) => `<option value="${k}" ${overviewState.sort === k ? 'selected' : ''}>${label}</option>`).join('')}
      </select></div>
      <label class="check"><input id="f-auto" type="checkbox" ${overviewState.auto ? 'checked' : ''}> refresh every 5 s</label>
    </form>
    <div class="bulk" role="toolbar" aria-label="Actions on the selected connectors">
      <span id="sel-count">0 selected</span>
      <button data-bulk="pause">Pause</button>
      <button data-bulk="resume">Resume</button>
      <button data-bulk="restart">Restart</button>
      <button data-bulk="restart-failed">Restart failed tasks</button>
      <button data-bulk="stop">Stop</button>
      <button data-bulk="delete" class="danger">Delete</button>
    </div>
    <div id="list"><p class="muted">Loading…</p></div>`;
  let rows = [];
  const render = () => {
    if (!alive()) return;
    const q = overviewState.q.toLowerCase();
    const shown = rows
      .filter((r) => !q || r.name.toLowerCase().includes(q) || r.cls.toLowerCase().includes(q))
      .filter((r) => !overviewState.state || r.health === overviewState.state || r.status?.connector?.state === overviewState.state)
      .filter((r) => !overviewState.type || r.type === overviewState.type)
      .sort((SORTS[overviewState.sort] ?? SORTS.attention)[1]);
    const tasks = rows.flatMap((r) => r.status?.tasks ?? []);
    const count = (s) => rows.filter((r) => r.health === s).length;
    main.querySelector('#counts').innerHTML = `
      <span><b>${rows.length}</b> connectors</span>
      <span class="c-FAILED"><b>${count('FAILED')}</b> failed</span>
      <span class="c-DEGRADED"><b>${count('DEGRADED')}</b> degraded</span>
      <span><b>${count('RUNNING')}</b> running</span>
      <span><b>${count('PAUSED')}</b> paused</span>
      <span><b>${count('STOPPED')}</b> stopped</span>
      <span><b>${tasks.length}</b> tasks, <b class="${tasks.some((t) => t.state === 'FAILED') ? 'c-FAILED' : ''}">${tasks.filter((t) => t.state === 'FAILED').length}</b> failed</span>
      ${shown.length !== rows.length ? `<span class="muted">${shown.length} shown</span>` : ''}`;
    for (const n of [...overviewState.selected]) if (!rows.some((r) => r.name === n)) overviewState.selected.delete(n);
    main.querySelector('#sel-count').textContent = `${overviewState.selected.size} selected`;
    if (rows.length === 0) {
      main.querySelector('#list').innerHTML = `<div class="empty"><p>No connectors yet.</p><p><a class="button primary" href="#/new">Create one</a> from a plugin's form, or paste a JSON or .properties config.</p></div>`;
      return;
    }
    const allShownSelected = shown.length > 0 && shown.every((r) => overviewState.selected.has(r.name));
    // One string, one assignment: fast enough for 500+ rows.
    main.querySelector('#list').innerHTML = `
      <table class="grid" aria-label="Connectors">
        <thead><tr>
          <th scope="col"><input type="checkbox" id="sel-all" aria-label="Select all shown connectors" ${allShownSelected ? 'checked' : ''}></th>
          <th scope="col">Name</th><th scope="col">State</th><th scope="col">Type</th><th scope="col">Class</th><th scope="col">Tasks</th><th scope="col">Worker</th>
        </tr></thead>
        <tbody>${shown.map((r) => {
          const st = r.status;
          const trace = st?.connector?.trace || (st?.tasks ?? []).find((t) => t.trace)?.trace;
          return `<tr class="h-${esc(r.health)}">
            <td><input type="checkbox" data-sel="${esc(r.name)}" aria-label="Select ${esc(r.name)}" ${overviewState.selected.has(r.name) ? 'checked' : ''}></td>
            <td><a href="#/connectors/${esc(enc(r.name))}">${esc(r.name)}</a>${trace ? `<div class="err-title">${esc(traceTitle(trace))}</div>` : ''}</td>
            <td>${badge(r.health)}${r.health !== st?.connector?.state ? ` <span class="muted">connector ${esc(st?.connector?.state ?? '?')}</span>` : ''}</td>
            <td>${esc(r.type)}</td>
            <td title="${esc(r.cls)}">${esc(shortClass(r.cls))}</td>
            <td class="tasks">${(st?.tasks ?? []).map((t) => `<span class="chip s-${esc(t.state)}" title="task ${t.id} on ${esc(t.worker_id)}">${t.id}: ${esc(t.state)}</span>${t.worker_id && t.worker_id !== st.connector.worker_id ? ` <span class="mono muted">on ${esc(t.worker_id)}</span>` : ''}`).join(' ') || '<span class="muted">none</span>'}</td>
            <td class="mono">${esc(st?.connector?.worker_id ?? '')}</td>
          </tr>`;
        }).join('')}</tbody>
      </table>`;
    main.querySelector('#sel-all').addEventListener('change', (ev) => {
      for (const r of shown) ev.target.checked ? overviewState.selected.add(r.name) : overviewState.selected.delete(r.name);
      render();
    });
  };
  // Refreshes overlap when the worker is slow: only the newest answer is shown.
  let asked = 0;
  let shownSeq = 0;
  const refresh = async () => {
    const mine = ++asked;
    try {
      const fresh = await loadAll();
      if (mine < shownSeq) return;
      shownSeq = mine;
      rows = fresh;
      render();
    } catch (e) {
      if (alive()) main.querySelector('#list').innerHTML = `<p class="error" role="alert">Cannot list connectors: ${esc(e.message)}</p>`;
    }
  };
  main.querySelector('#list').addEventListener('change', (ev) => {
    const n = ev.target.dataset?.sel;
    if (n === undefined) return;
    ev.target.checked ? overviewState.selected.add(n) : overviewState.selected.delete(n);
    main.querySelector('#sel-count').textContent = `${overviewState.selected.size} selected`;
  });
  main.querySelector('#filters').addEventListener('submit', (e) => e.preventDefault());
  main.querySelector('#f-q').addEventListener('input', (e) => { overviewState.q = e.target.value; render(); });
  main.querySelector('#f-state').addEventListener('change', (e) => { overviewState.state = e.target.value; render(); });
  main.querySelector('#f-type').addEventListener('change', (e) => { overviewState.type = e.target.value; render(); });
  main.querySelector('#f-sort').addEventListener('change', (e) => { overviewState.sort = e.target.value; render(); });
  main.querySelector('#f-auto').addEventListener('change', (e) => { overviewState.auto = e.target.checked; });
  main.querySelector('.bulk').addEventListener('click', async (ev) => {
    const action = ev.target.dataset?.bulk;
    if (!action) return;
    const names = [...overviewState.selected];
    if (names.length === 0) { toast('Select connectors first (the checkboxes on the left).'); return; }
    if ((action === 'delete' || action === 'stop') && !confirm(`${action === 'delete' ? 'Delete' : 'Stop'} ${names.length} connector(s)?\n${names.join('\n')}`)) return;
    const results = await Promise.allSettled(names.map((n) => ACTIONS[action].run(n)));
    const failed = results.map((r, i) => [r, names[i]]).filter(([r]) => r.status === 'rejected');
    if (failed.length) toast(`${action}: ${failed.length} of ${names.length} failed — ${failed.map(([r, n]) => `${n}: ${r.reason.message}`).join('; ')}`, 'error');
    else toast(`${action}: requested for ${names.length} connector(s); waiting for their states…`);
    if (action === 'delete') names.forEach((n) => overviewState.selected.delete(n));
    await refresh();
    if (!alive()) return;
    // States settle visibly: keep refreshing until every selected connector shows its new state.
    const want = ACTIONS[action].settled;
    const ok = await pollUntil(async () => {
      await refresh();
      // A page left meanwhile stops polling.
      return !alive() || names.every((n) => want(rows.find((r) => r.name === n)));
    }, { timeoutMs: 120000, everyMs: 1000 });
    if (!alive()) return;
    if (!failed.length) toast(ok ? `${action}: done for ${names.length} connector(s).` : `${action}: not every connector reached its new state after 2 min; see the list.`, ok ? 'info' : 'error');
  });
  await refresh();
  const timer = setInterval(() => { if (overviewState.auto && !document.hidden) refresh(); }, 5000);
  onLeave(() => clearInterval(timer));
}

const allTasks = (row, state) => row && row.status && row.status.connector.state === state && (row.status.tasks ?? []).every((t) => t.state === state);
/** What each action calls, and when its effect counts as settled. */
const ACTIONS = {
  pause: { run: (n) => put(`/connectors/${enc(n)}/pause`), settled: (r) => allTasks(r, 'PAUSED') },
  resume: { run: (n) => put(`/connectors/${enc(n)}/resume`), settled: (r) => allTasks(r, 'RUNNING') },
  restart: { run: (n) => post(`/connectors/${enc(n)}/restart?includeTasks=true`), settled: (r) => allTasks(r, 'RUNNING') || r?.health === 'FAILED' || r?.health === 'PAUSED' || r?.health === 'STOPPED' },
  'restart-failed': { run: (n) => post(`/connectors/${enc(n)}/restart?includeTasks=true&onlyFailed=true`), settled: (r) => !r || !(r.status?.tasks ?? []).some((t) => t.state === 'RESTARTING') },
  stop: { run: (n) => put(`/connectors/${enc(n)}/stop`), settled: (r) => r && r.status?.connector.state === 'STOPPED' && (r.status.tasks ?? []).length === 0 },
  delete: { run: (n) => del(`/connectors/${enc(n)}`), settled: (r) => !r },
};

// ---------------------------------------------------------------- connector page

const TABS = [['status', 'Status'], ['config', 'Config'], ['topics', 'Topics'], ['offsets', 'Offsets'], ['tap', 'Live records'], ['preview', 'Transform preview'], ['metrics', 'Metrics']];

export async function connectorPage(main, name, tab) {
  const alive = claim(main);
  const base = `#/connectors/${enc(name)}`;
  let info;
  try {
    // A connector just created through another worker may take a moment to be read here.
    let missing = null;
    await pollUntil(async () => {
      try {
        info = await get(`/connectors/${enc(name)}`);
        return true;
      } catch (e) {
        if (e.status !== 404) throw e;
        missing = e;
        return false;
      }
    }, { timeoutMs: 30000, everyMs: 500 });
    if (!info) throw missing;
  } catch (e) {
    if (alive()) main.innerHTML = `<h1>${esc(name)}</h1><p class="error" role="alert">${esc(e.message)}</p><p><a href="#/">Back to the connectors</a></p>`;
    return;
  }
  if (!alive()) return;
  main.innerHTML = `
    <p class="crumbs"><a href="#/">Connectors</a> › ${esc(name)}</p>
    <div class="titlebar">
      <h1>${esc(name)} <span id="c-health"></span></h1>
      <div class="actions" role="toolbar" aria-label="Connector actions">
        <button data-act="pause">Pause</button>
        <button data-act="resume">Resume</button>
        <button data-act="stop">Stop</button>
        <span class="split">
          <button data-act="restart">Restart</button>
          <select id="restart-scope" aria-label="What to restart">
            <option value="">connector only</option>
            <option value="includeTasks=true">connector and all tasks</option>
            <option value="includeTasks=true&onlyFailed=true">only failed (connector and tasks)</option>
          </select>
        </span>
        <a class="button" href="${base}/edit">Edit config</a>
        <button data-act="delete" class="danger">Delete</button>
      </div>
    </div>
    <p class="muted">${esc(info.type)} · <span title="${esc(info.config['connector.class'])}">${esc(info.config['connector.class'])}</span>
      ${info.config['errors.tolerance'] ? ` · errors.tolerance=${esc(info.config['errors.tolerance'])}` : ''}
      ${info.config['errors.deadletterqueue.topic.name'] ? ` · dead letter queue: <span class="mono">${esc(info.config['errors.deadletterqueue.topic.name'])}</span>` : ''}</p>
    <div id="act-status" class="act-status" role="status" aria-live="polite"></div>
    <div class="tabs" role="tablist" aria-label="Connector sections">
      ${TABS.map(([t, label]) => `<a href="${base}/${t}" id="tab-${t}" role="tab" aria-controls="tab" aria-selected="${t === tab}">${label}</a>`).join('')}
    </div>
    <section id="tab" role="tabpanel" aria-labelledby="tab-${esc(tab)}" tabindex="0"></section>`;
  linkTabs(main.querySelector('[role=tablist]'));
  const section = main.querySelector('#tab');
  const actStatus = main.querySelector('#act-status');
  const showHealth = (st) => { main.querySelector('#c-health').innerHTML = badge(health(st)); };
  get(`/connectors/${enc(name)}/status`).then(showHealth).catch(() => {});

  // States settle visibly: poll until the state is reached. A cluster that rebalances (every
  // connector change makes it) or a loaded machine can take longer than the 30 s after which
  // the page says what the state is instead; it keeps watching for a while after that and says
  // so when the state arrives.
  const settle = async (label, expect) => {
    actStatus.className = 'act-status busy';
    actStatus.removeAttribute('role');
    actStatus.textContent = `${label}: waiting for ${expect.describe}…`;
    let last = null;
    const check = async () => {
      if (!alive()) return true;
      try {
        last = await get(`/connectors/${enc(name)}/status`);
      } catch (e) {
        if (e.status === 404) { last = null; return expect.gone === true; }
        throw e;
      }
      if (!alive()) return true;
      showHealth(last);
      if (tab === 'status') renderStatus(section, name, last, rerender);
      return expect.check(last);
    };
    const why = () => (last ? `the connector is ${last.connector.state}${(last.tasks ?? []).map((t) => `, task ${t.id} ${t.state}${t.trace ? ` (${traceTitle(t.trace)})` : ''}`).join('')}${last.connector.trace ? ` — ${traceTitle(last.connector.trace)}` : ''}` : 'the connector is gone');
    let ok = await pollUntil(check, { timeoutMs: 30000 });
    if (!ok && alive()) {
      actStatus.textContent = `${label}: ${expect.describe} not reached after 30 s; ${why()}. Still watching…`;
      ok = await pollUntil(check, { timeoutMs: 150000, everyMs: 1000 });
    }
    if (!alive()) return ok;
    if (ok) {
      actStatus.className = 'act-status ok';
      actStatus.textContent = `${label}: ${expect.describe} reached.`;
    } else {
      actStatus.className = 'act-status error';
      actStatus.textContent = `${label}: ${expect.describe} not reached after 3 min; ${why()}.`;
    }
    return ok;
  };
  const every = (state) => ({ describe: state, check: (s) => s.connector.state === state && s.tasks.every((t) => t.state === state) });
  // Re-renders the page, keeping what the last action said.
  const rerender = async () => {
    if (!alive()) return;
    const [cls, text] = [actStatus.className, actStatus.textContent];
    await connectorPage(main, name, tab);
    const a = main.querySelector('#act-status');
    if (a) { a.className = cls; a.textContent = text; }
  };

  main.querySelector('.actions').addEventListener('click', async (ev) => {
    const act = ev.target.dataset?.act;
    if (!act) return;
    actStatus.className = 'act-status';
    actStatus.textContent = '';
    try {
      if (act === 'pause') { await put(`/connectors/${enc(name)}/pause`); await settle('Pause', every('PAUSED')); }
      if (act === 'resume') { await put(`/connectors/${enc(name)}/resume`); await settle('Resume', every('RUNNING')); }
      if (act === 'stop') { await put(`/connectors/${enc(name)}/stop`); await settle('Stop', { describe: 'STOPPED', check: (s) => s.connector.state === 'STOPPED' && s.tasks.length === 0 }); }
      if (act === 'restart') {
        const scope = main.querySelector('#restart-scope').value;
        await post(`/connectors/${enc(name)}/restart${scope ? `?${scope}` : ''}`);
        await settle('Restart', { describe: 'RUNNING', check: (s) => s.connector.state === 'RUNNING' && s.tasks.every((t) => t.state === 'RUNNING') });
      }
      if (act === 'delete') {
        if (!confirm(`Delete connector ${name}? Its config is removed; its offsets stay.`)) return;
        await del(`/connectors/${enc(name)}`);
        await settle('Delete', { describe: 'deletion', gone: true, check: () => false });
        toast(`Connector ${name} deleted.`);
        if (alive()) go('#/');
        return;
      }
      if (tab === 'offsets' || tab === 'topics' || tab === 'config') await rerender();
    } catch (e) {
      actStatus.className = 'act-status error';
      actStatus.setAttribute('role', 'alert');
      actStatus.textContent = `${act} refused: ${e.message}`;
    }
  });

  if (tab === 'status') {
    try {
      const st = await get(`/connectors/${enc(name)}/status`);
      renderStatus(section, name, st, rerender);
    } catch (e) {
      section.innerHTML = `<p class="muted">No status yet: ${esc(e.message)}</p>`;
    }
    // One request at a time, and none while an action watches the state itself.
    let inFlight = false;
    const timer = setInterval(async () => {
      if (inFlight || document.hidden || actStatus.classList.contains('busy')) return;
      inFlight = true;
      try {
        const s = await get(`/connectors/${enc(name)}/status`);
        if (alive() && !actStatus.classList.contains('busy')) { showHealth(s); renderStatus(section, name, s, rerender); }
      } catch { /* shown on next action */ } finally { inFlight = false; }
    }, 3000);
    onLeave(() => clearInterval(timer));
  } else if (tab === 'config') {
    renderConfig(section, info);
  } else if (tab === 'topics') {
    await renderTopics(section, name);
  } else if (tab === 'offsets') {
    await renderOffsets(section, name, info);
  } else if (tab === 'tap') {
    renderTap(section, name);
  } else if (tab === 'preview') {
    renderPreview(section, name, info);
  } else if (tab === 'metrics') {
    await connectorCharts(section, name);
  }
}

function renderStatus(section, name, st, rerender) {
  const open = new Set([...section.querySelectorAll('details[open]')].map((d) => d.dataset.key));
  const row = (kind, id, s) => `
    <tr class="h-${esc(s.state)}">
      <th scope="row">${kind}${id === null ? '' : ` ${id}`}</th>
      <td>${badge(s.state)}</td>
      <td class="mono">${esc(s.worker_id)}</td>
      <td>${s.trace ? `<div class="err-title">${esc(traceTitle(s.trace))}</div>
        <details data-key="${kind}${id}" ${open.has(`${kind}${id}`) ? 'open' : ''}><summary>Full trace</summary><pre class="trace">${esc(s.trace)}</pre></details>` : '<span class="muted">—</span>'}</td>
      <td>${id === null ? '' : `<button data-restart-task="${id}">Restart task ${id}</button>`}</td>
    </tr>`;
  section.innerHTML = `
    <table class="grid status-table">
      <thead><tr><th scope="col">What</th><th scope="col">State</th><th scope="col">Worker</th><th scope="col">Error</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${row('Connector', null, st.connector)}${st.tasks.map((t) => row('Task', t.id, t)).join('')}</tbody>
    </table>
    ${st.tasks.length === 0 ? `<p class="muted">No tasks${st.connector.state === 'STOPPED' ? ': the connector is stopped (its offsets can be edited now, see Offsets).' : '.'}</p>` : ''}
    <div id="tolerated"></div>`;
  section.querySelectorAll('[data-restart-task]').forEach((b) => b.addEventListener('click', async () => {
    const id = b.dataset.restartTask;
    try {
      await post(`/connectors/${enc(name)}/tasks/${id}/restart`);
      toast(`Task ${id} restarting…`);
      const ok = await pollUntil(async () => (await get(`/connectors/${enc(name)}/tasks/${id}/status`)).state === 'RUNNING', { timeoutMs: 60000 });
      toast(ok ? `Task ${id} is RUNNING.` : `Task ${id} did not reach RUNNING in 60 s.`, ok ? 'info' : 'error');
      rerender();
    } catch (e) { toast(`Restart of task ${id} refused: ${e.message}`, 'error'); }
  }));
  get(`/sluice/connectors/${enc(name)}/errors`).then((e) => {
    const tol = e.tasks.filter((t) => t.records_tolerated > 0);
    const el = section.querySelector('#tolerated');
    if (el && tol.length) el.innerHTML = `<p class="warn">Records skipped under errors.tolerance=all: ${tol.map((t) => `task ${t.id}: ${t.records_tolerated}`).join(', ')}</p>`;
  }).catch(() => {});
}

/** A value that is nothing but config-provider references (`${provider:path:key}`), as the worker shows them. */
const REFERENCE = /^\s*(?:\$\{[^}]*?:[^}]*?\}\s*)+$/;

function renderConfig(section, info) {
  const keys = Object.keys(info.config).sort();
  const shown = (v) => {
    if (v === '[hidden]') return `<td class="mono secret">${esc(v)} <span class="chip note">secret</span></td>`;
    if (REFERENCE.test(v)) return `<td class="mono">${esc(v)} <span class="chip note ref" title="resolved by the worker's config provider when the connector starts">reference</span></td>`;
    return `<td class="mono">${esc(v)}</td>`;
  };
  section.innerHTML = `
    <p class="muted">Secret values are shown as <code>[hidden]</code>; saving the form keeps them as they are. Config-provider references such as <code>\${file:/path:key}</code> are shown as written: the worker resolves them when the connector starts, and their values are never shown.</p>
    <table class="grid kv" aria-label="Config of ${esc(info.name)}"><thead><tr><th scope="col">Key</th><th scope="col">Value</th></tr></thead>
    <tbody>${keys.map((k) => `<tr data-key="${esc(k)}"><th scope="row" class="mono">${esc(k)}</th>${shown(info.config[k])}</tr>`).join('')}</tbody></table>
    <h2>Tasks</h2><p>${info.tasks.length} task(s): ${info.tasks.map((t) => `${esc(t.connector)}-${t.task}`).join(', ') || 'none'}</p>
    <h2>As JSON</h2><pre class="code">${esc(JSON.stringify({ name: info.name, config: info.config }, null, 2))}</pre>`;
}

async function renderTopics(section, name) {
  let topics;
  try {
    topics = (await get(`/connectors/${enc(name)}/topics`))[name]?.topics ?? [];
  } catch (e) {
    section.innerHTML = `<p class="error" role="alert">${esc(e.message)}</p>`;
    return;
  }
  const many = topics.length > 20;
  section.innerHTML = `
    <p>${topics.length} active topic(s) since the last reset (KIP-558).</p>
    ${topics.length ? `<details ${many ? '' : 'open'}><summary>${many ? `Show all ${topics.length} topics` : 'Topics'}</summary><ul class="topics">${topics.map((t) => `<li class="mono">${esc(t)}</li>`).join('')}</ul></details>` : ''}
    <button id="reset-topics">Reset active topics</button>
    <p class="muted">A reset forgets the list; topics the tasks use again reappear. The worker may refuse it (topic.tracking.allow.reset=false).</p>`;
  section.querySelector('#reset-topics').addEventListener('click', async () => {
    try {
      await put(`/connectors/${enc(name)}/topics/reset`);
      toast('Active topics reset.');
      await renderTopics(section, name);
    } catch (e) {
      toast(`Reset refused: ${e.message}`, 'error');
    }
  });
}

async function renderOffsets(section, name, info) {
  let offsets;
  let status;
  try {
    [offsets, status] = await Promise.all([get(`/connectors/${enc(name)}/offsets`), get(`/connectors/${enc(name)}/status`)]);
  } catch (e) {
    section.innerHTML = `<p class="error" role="alert">${esc(e.message)}</p>`;
    return;
  }
  const stopped = status.connector.state === 'STOPPED';
  const list = offsets.offsets ?? [];
  const example = info.type === 'sink'
    ? { offsets: [{ partition: { kafka_topic: 'topic', kafka_partition: 0 }, offset: { kafka_offset: 0 } }] }
    : { offsets: list.length ? list : [{ partition: {}, offset: {} }] };
  section.innerHTML = `
    ${stopped ? '' : `<p class="warn">The connector is ${esc(status.connector.state)}. Kafka changes offsets only while a connector is STOPPED: <button id="stop-now">Stop it</button></p>`}
    <h2>Committed offsets</h2>
    ${list.length ? `<table class="grid"><thead><tr><th scope="col">Partition</th><th scope="col">Offset</th></tr></thead><tbody>
      ${list.map((o) => `<tr><td class="mono">${esc(JSON.stringify(o.partition))}</td><td class="mono">${esc(JSON.stringify(o.offset))}</td></tr>`).join('')}</tbody></table>` : '<p class="muted">No offsets committed.</p>'}
    <h2>Alter</h2>
    <label for="offsets-edit">New offsets (PATCH body; an offset of <code>null</code> removes a partition's offset)</label>
    <textarea id="offsets-edit" class="code" rows="10" spellcheck="false">${esc(JSON.stringify(example, null, 2))}</textarea>
    <div class="row"><button id="offsets-alter" class="primary">Alter offsets</button><button id="offsets-reset" class="danger">Reset all offsets</button></div>
    <div id="offsets-msg" role="status" aria-live="polite"></div>`;
  const msg = section.querySelector('#offsets-msg');
  const say = (text, kind) => { msg.className = kind; msg.textContent = text; };
  section.querySelector('#stop-now')?.addEventListener('click', async () => {
    try {
      say('Stopping: waiting for STOPPED…', 'muted');
      await put(`/connectors/${enc(name)}/stop`);
      const ok = await pollUntil(async () => {
        const s = await get(`/connectors/${enc(name)}/status`);
        return s.connector.state === 'STOPPED' && s.tasks.length === 0;
      }, { timeoutMs: 120000 });
      if (!section.isConnected) return;
      await renderOffsets(section, name, info);
      if (!ok) say('The connector did not reach STOPPED within 2 min; see its status.', 'error');
    } catch (e) { say(`Stop refused: ${e.message}`, 'error'); }
  });
  section.querySelector('#offsets-alter').addEventListener('click', async () => {
    let body;
    try { body = JSON.parse(section.querySelector('#offsets-edit').value); } catch (e) { say(`Not JSON: ${e.message}`, 'error'); return; }
    try {
      const r = await patch(`/connectors/${enc(name)}/offsets`, body);
      await renderOffsets(section, name, info);
      section.querySelector('#offsets-msg').className = 'ok';
      section.querySelector('#offsets-msg').textContent = r.message;
    } catch (e) { say(`Refused by the worker: ${e.message}`, 'error'); }
  });
  section.querySelector('#offsets-reset').addEventListener('click', async () => {
    if (!confirm(`Reset every offset of ${name}? It will start from the beginning when resumed.`)) return;
    try {
      const r = await del(`/connectors/${enc(name)}/offsets`);
      await renderOffsets(section, name, info);
      section.querySelector('#offsets-msg').className = 'ok';
      section.querySelector('#offsets-msg').textContent = r.message;
    } catch (e) { say(`Refused by the worker: ${e.message}`, 'error'); }
  });
}

function showBytes(b) {
  if (b === null || b === undefined) return '<span class="muted">null</span>';
  if (b.encoding === 'base64') return `<span class="muted">base64</span> ${esc(b.data)}`;
  return esc(b.data);
}

function renderTap(section, name) {
  section.innerHTML = `
    <p>The newest records of this connector's tasks, after transforms and converters (sources: the bytes sent to Kafka; sinks: the data handed to the task). Nothing is copied while no one watches; secret config values are hidden.</p>
    <div class="row"><button id="tap-toggle" aria-pressed="true">Pause view</button><label>Show last <select id="tap-limit"><option>20</option><option selected>50</option><option>200</option></select> records</label> <span id="tap-info" class="muted" aria-live="polite"></span></div>
    <table class="grid tap" aria-label="Live records"><thead><tr><th scope="col">Task</th><th scope="col">Topic / partition</th><th scope="col">Timestamp</th><th scope="col">Key</th><th scope="col">Value</th><th scope="col">Headers</th></tr></thead><tbody id="tap-rows"><tr><td colspan="6" class="muted">Waiting for records…</td></tr></tbody></table>`;
  let on = true;
  let inFlight = false;
  const poll = async () => {
    if (!on || document.hidden || inFlight || !section.isConnected) return;
    inFlight = true;
    const limit = section.querySelector('#tap-limit').value;
    try {
      const t = await get(`/sluice/connectors/${enc(name)}/tap?limit=${limit}`);
      const recs = [...t.records].sort((a, b) => b.tapped_at - a.tapped_at || b.seq - a.seq).slice(0, Number(limit));
      const bad = t.workers.filter((w) => !w.ok);
      section.querySelector('#tap-info').textContent = `${recs.length} record(s) from ${t.workers.length} worker(s)${bad.length ? `; not reachable: ${bad.map((w) => `${w.worker_id} (${w.error})`).join(', ')}` : ''}`;
      section.querySelector('#tap-rows').innerHTML = recs.length ? recs.map((r) => `<tr>
        <td>${r.task}<div class="muted mono">${esc(r.worker_id)}</div></td>
        <td class="mono">${esc(r.topic)}${r.partition === null ? '' : ` / ${r.partition}`}${r.offset === null ? '' : ` @${r.offset}`}</td>
        <td class="mono">${r.timestamp ? new Date(r.timestamp).toISOString() : '—'}</td>
        <td class="mono">${showBytes(r.key)}</td>
        <td class="mono tap-value">${showBytes(r.value)}${r.truncated ? ' <span class="warn">(cut)</span>' : ''}</td>
        <td class="mono">${r.headers.map((h) => `${esc(h.key)}=${showBytes(h.value)}`).join('<br>')}</td></tr>`).join('')
        : '<tr><td colspan="6" class="muted">No records since the tap started. New records appear here as the tasks handle them.</td></tr>';
    } catch (e) {
      if (section.isConnected) section.querySelector('#tap-info').textContent = `Tap unavailable: ${e.message}`;
    } finally {
      inFlight = false;
    }
  };
  section.querySelector('#tap-toggle').addEventListener('click', (ev) => {
    on = !on;
    ev.target.textContent = on ? 'Pause view' : 'Resume view';
    ev.target.setAttribute('aria-pressed', String(on));
    if (on) poll();
  });
  section.querySelector('#tap-limit').addEventListener('change', poll);
  poll();
  const timer = setInterval(poll, 1000);
  onLeave(() => clearInterval(timer));
}

function renderPreview(section, name, info) {
  const chain = (info.config.transforms ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  section.innerHTML = `
    <p>Runs a sample record through this connector's transforms${chain.length ? ` (<span class="mono">${chain.map(esc).join(' → ')}</span>)` : ' (none configured)'} and converters. Nothing is sent to Kafka.</p>
    <div class="two">
      <div>
        <label for="pv-topic">Topic</label><input id="pv-topic" class="mono" value="${esc((info.config.topic ?? info.config.topics ?? 'preview').split(',')[0])}">
        <label for="pv-key">Key (JSON)</label><textarea id="pv-key" class="code" rows="2" spellcheck="false">null</textarea>
        <label for="pv-value">Value (JSON)</label><textarea id="pv-value" class="code" rows="6" spellcheck="false">{"id": 1, "name": "example"}</textarea>
        <label for="pv-headers">Headers (JSON object of strings)</label><textarea id="pv-headers" class="code" rows="2" spellcheck="false">{}</textarea>
        <button id="pv-run" class="primary">Preview</button>
      </div>
      <div><h2>Result</h2><div id="pv-out" role="status" aria-live="polite"><p class="muted">Press Preview.</p></div></div>
    </div>`;
  section.querySelector('#pv-run').addEventListener('click', async () => {
    const out = section.querySelector('#pv-out');
    let body;
    try {
      body = {
        topic: section.querySelector('#pv-topic').value,
        key: JSON.parse(section.querySelector('#pv-key').value || 'null'),
        value: JSON.parse(section.querySelector('#pv-value').value || 'null'),
        headers: JSON.parse(section.querySelector('#pv-headers').value || '{}'),
      };
    } catch (e) {
      out.innerHTML = `<p class="error">Not JSON: ${esc(e.message)}</p>`;
      return;
    }
    try {
      const r = await post(`/sluice/connectors/${enc(name)}/transform-preview`, body);
      if (r.error) out.innerHTML = `<p class="error">${esc(r.error)}</p>`;
      else if (r.dropped) out.innerHTML = '<p class="warn">A transform dropped the record (it would not reach Kafka).</p>';
      else out.innerHTML = `
        <dl class="kv">
          <dt>Topic</dt><dd class="mono">${esc(r.record.topic)}${r.record.partition === null ? '' : ` / ${r.record.partition}`}</dd>
          <dt>Key</dt><dd><pre class="code">${esc(JSON.stringify(r.record.key, null, 2))}</pre>${r.record.key_schema ? `<span class="muted">schema ${esc(r.record.key_schema)}</span>` : ''}</dd>
          <dt>Value</dt><dd><pre class="code">${esc(JSON.stringify(r.record.value, null, 2))}</pre>${r.record.value_schema ? `<span class="muted">schema ${esc(r.record.value_schema)}</span>` : ''}</dd>
          <dt>Headers</dt><dd class="mono">${r.record.headers.map((h) => `${esc(h.key)}=${esc(JSON.stringify(h.value))}`).join('<br>') || '—'}</dd>
          <dt>Bytes to Kafka</dt><dd>${r.serialized.error ? `<span class="error">${esc(r.serialized.error)}</span>` : `key: <code>${showBytes(r.serialized.key)}</code><br>value: <code>${showBytes(r.serialized.value)}</code>`}</dd>
        </dl>`;
    } catch (e) {
      out.innerHTML = `<p class="error">${esc(e.message)}</p>`;
    }
  });
}

// ---------------------------------------------------------------- plugins and worker

export async function pluginsPage(main) {
  const plugins = await get('/connector-plugins?connectorsOnly=false');
  main.innerHTML = `<h1>Plugins</h1>
    <table class="grid"><thead><tr><th scope="col">Type</th><th scope="col">Class</th><th scope="col">Version</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
    <tbody>${plugins.map((p) => `<tr><td>${esc(p.type)}</td><td class="mono">${esc(p.class)}</td><td>${esc(p.version ?? '')}</td>
      <td>${p.type === 'source' || p.type === 'sink' ? `<a href="#/new?plugin=${esc(enc(p.class))}">Create…</a>` : ''}</td></tr>`).join('')}</tbody></table>`;
}

export async function workerPage(main) {
  const [info, loggers] = await Promise.all([get('/'), get('/admin/loggers').catch((e) => ({ error: e.message }))]);
  main.innerHTML = `<h1>Worker</h1>
    <dl class="kv"><dt>Kafka Connect API</dt><dd>${esc(info.version)}</dd><dt>Build</dt><dd>${esc(info.commit)}</dd><dt>Kafka cluster</dt><dd class="mono">${esc(info.kafka_cluster_id)}</dd></dl>
    <p><a href="/openapi.json" target="_blank" rel="noopener">REST API description (OpenAPI)</a></p>
    <h2>Log levels</h2>
    ${loggers.error ? `<p class="muted">${esc(loggers.error)}</p>` : `<table class="grid"><thead><tr><th scope="col">Logger</th><th scope="col">Level</th></tr></thead><tbody>
      ${Object.entries(loggers).map(([n, l]) => `<tr><td class="mono">${esc(n)}</td><td>${esc(l.level)}</td></tr>`).join('')}</tbody></table>
      <form id="set-level" class="row"><label>Logger <input id="lg-name" class="mono" required placeholder="sluice_runtime::task"></label>
      <label>Level <select id="lg-level">${['ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE'].map((l) => `<option>${l}</option>`).join('')}</select></label><button class="primary">Set</button></form>`}`;
  main.querySelector('#set-level')?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const n = main.querySelector('#lg-name').value.trim();
    try {
      await put(`/admin/loggers/${enc(n)}`, { level: main.querySelector('#lg-level').value });
      toast(`Level of ${n} set.`);
      workerPage(main);
    } catch (e) { toast(`Refused: ${e.message}`, 'error'); }
  });
}

export { ApiError };
