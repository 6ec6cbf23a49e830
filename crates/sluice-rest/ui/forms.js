// Create and edit: a form generated from the plugin's config definition, live validation
// through config/validate (errors at the field), raw JSON and .properties editors, file upload.
import { api, get, put, post, enc } from './api.js';
import { esc, toast, pollUntil, go, onLeave, claim, tablist } from './app.js';

/** Java .properties (the subset connector files use: comments, key=value / key: value, continuations, escapes). */
export function parseProperties(text) {
  const out = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].replace(/^\s+/, '');
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i].replace(/^\s+/, '');
    const m = line.match(/^((?:\\.|[^=:\s\\])*)\s*[=:\s]\s*(.*)$/) ?? [null, line, ''];
    const unescape = (s) => s.replace(/\\u([0-9a-fA-F]{4})/g, (_, h) => String.fromCharCode(parseInt(h, 16))).replace(/\\(.)/g, (_, c) => ({ t: '\t', n: '\n', r: '\r', f: '\f' }[c] ?? c));
    out[unescape(m[1])] = unescape(m[2]);
  }
  return out;
}

export function toProperties(config) {
  const escape = (s, key) => String(s).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(key ? /[=: ]/g : /^ /, (c) => `\\${c}`);
  return Object.entries(config).map(([k, v]) => `${escape(k, true)}=${escape(v, false)}`).join('\n') + '\n';
}

/** A JSON text as a connector config: {"name", "config": {...}} or a flat map. */
function parseJsonConfig(text) {
  const j = JSON.parse(text);
  if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new Error('expected a JSON object');
  const flat = j.config && typeof j.config === 'object' ? { ...j.config, ...(j.name ? { name: j.name } : {}) } : j;
  return Object.fromEntries(Object.entries(flat).filter(([, v]) => v !== null).map(([k, v]) => [k, typeof v === 'string' ? v : String(v)]));
}

function inputFor(def, value, id) {
  const common = `id="${id}" name="${esc(def.name)}" data-key="${esc(def.name)}" aria-describedby="${id}-doc ${id}-err"`;
  const ph = def.default_value !== null && def.default_value !== undefined && def.default_value !== '' ? `placeholder="${esc(def.default_value)}"` : '';
  switch (def.type) {
    case 'BOOLEAN':
      return `<select ${common}><option value="" ${value === '' ? 'selected' : ''}>default${def.default_value ? ` (${esc(def.default_value)})` : ''}</option><option ${value === 'true' ? 'selected' : ''}>true</option><option ${value === 'false' ? 'selected' : ''}>false</option></select>`;
    case 'INT': case 'LONG': case 'SHORT': case 'DOUBLE':
      return `<input ${common} inputmode="decimal" value="${esc(value)}" ${ph}>`;
    case 'PASSWORD':
      // A config-provider reference names where the secret is: shown as written.
      if (/^\s*(?:\$\{[^}]*?:[^}]*?\}\s*)+$/.test(value)) return `<input ${common} value="${esc(value)}" ${ph}>`;
      return `<input ${common} type="password" autocomplete="new-password" value="${esc(value)}" ${ph}>`;
    default:
      return `<input ${common} value="${esc(value)}" ${ph} ${def.type === 'LIST' ? 'title="comma-separated list"' : ''}>`;
  }
}

export async function connectorForm(main, editName) {
  const alive = claim(main);
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const editing = editName !== null;
  let config = {};
  let original = {};
  if (editing) {
    config = await get(`/connectors/${enc(editName)}/config`);
    original = { ...config };
  }
  const plugins = (await get('/connector-plugins')).filter((p) => p.type === 'source' || p.type === 'sink');
  let plugin = config['connector.class'] ?? params.get('plugin') ?? '';
  let defs = [];
  let mode = 'form';
  let lastReport = null;

  if (!alive()) return;
  main.innerHTML = `
    <p class="crumbs"><a href="#/">Connectors</a> › ${editing ? `<a href="#/connectors/${esc(enc(editName))}">${esc(editName)}</a> › edit` : 'new'}</p>
    <h1>${editing ? `Edit ${esc(editName)}` : 'New connector'}</h1>
    <div class="row">
      <label>Plugin <select id="plugin" ${editing ? 'disabled' : ''}>
        <option value="">choose a plugin…</option>
        ${plugins.map((p) => `<option value="${esc(p.class)}">${esc(p.class.split('.').pop())} (${esc(p.type)})</option>`).join('')}
      </select></label>
      <label class="upload">Load a file (.json or .properties) <input id="upload" type="file" accept=".json,.properties,.txt,application/json,text/plain"></label>
    </div>
    <div class="tabs" role="tablist" aria-label="Editor">
      <button type="button" role="tab" id="mode-form" aria-controls="editor" data-mode="form" aria-selected="true">Form</button>
      <button type="button" role="tab" id="mode-json" aria-controls="editor" data-mode="json" aria-selected="false">JSON</button>
      <button type="button" role="tab" id="mode-properties" aria-controls="editor" data-mode="properties" aria-selected="false">.properties</button>
    </div>
    <form id="cform" novalidate>
      <div id="editor" role="tabpanel" aria-labelledby="mode-form"></div>
      <div id="general-errors" role="alert"></div>
      <div class="row sticky">
        <button type="submit" class="primary">${editing ? 'Save config' : 'Create connector'}</button>
        ${editing ? '<button type="button" id="save-patch" title="PATCH /connectors/{name}/config with the keys you changed or removed">Save changed keys only</button>' : ''}
        <button type="button" id="validate">Validate</button>
        <span id="vstate" class="muted" aria-live="polite"></span>
      </div>
    </form>`;
  const editor = main.querySelector('#editor');
  // Keyboard: arrows move between the editor tabs and switch at once (their click handler).
  const syncTabs = tablist(main.querySelector('[role=tablist]'), (t) => t.click());
  const pluginSel = main.querySelector('#plugin');

  // The known plugin class, matched by full name or alias (connector.class may be short).
  const matchPlugin = (cls) => plugins.find((p) => p.class === cls || p.class.endsWith(`.${cls}`) || p.class.split('.').pop().replace(/Connector$/, '') === cls.replace(/Connector$/, ''))?.class ?? cls;

  const readEditor = () => {
    if (mode === 'form') {
      const c = { ...config };
      for (const el of editor.querySelectorAll('[data-key]')) {
        const v = el.value;
        if (v === '') delete c[el.dataset.key];
        else c[el.dataset.key] = v;
      }
      for (const row of editor.querySelectorAll('.extra-row')) {
        const k = row.querySelector('.extra-k').value.trim();
        if (k) c[k] = row.querySelector('.extra-v').value;
      }
      return c;
    }
    const text = editor.querySelector('textarea').value;
    return mode === 'json' ? parseJsonConfig(text) : parseProperties(text);
  };

  let fieldN = 0;
  const field = (d) => {
      const id = `f-${fieldN++}`;
      const required = d.required || (d.default_value === null && d.importance === 'HIGH');
      return `<div class="field" data-field="${esc(d.name)}">
        <label for="${id}">${esc(d.display_name || d.name)} ${d.display_name && d.display_name !== d.name ? `<span class="mono muted">${esc(d.name)}</span>` : ''}
          ${required ? '<span class="req" title="required">required</span>' : ''} <span class="imp imp-${esc(d.importance)}">${esc(d.importance ?? '')}</span> <span class="muted">${esc(d.type)}</span></label>
        ${inputFor(d, config[d.name] ?? '', id)}
        <div id="${id}-err" class="field-error"></div>
        <div id="${id}-doc" class="doc">${esc(d.documentation ?? '')}${d.default_value ? ` <span class="muted">Default: ${esc(d.default_value)}</span>` : ''}</div>
      </div>`;
  };

  const renderForm = () => {
    if (!plugin) {
      editor.innerHTML = '<p class="muted">Choose a plugin, or switch to JSON / .properties, or load a file.</p>';
      return;
    }
    const known = new Set(defs.map((d) => d.name));
    const groups = new Map();
    for (const d of defs) {
      if (d.name === 'connector.class' || d.name === 'name') continue;
      const g = d.group || 'Connector';
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(d);
    }
    const rank = { HIGH: 0, MEDIUM: 1, LOW: 2 };
    const extras = Object.keys(config).filter((k) => !known.has(k) && k !== 'connector.class' && k !== 'name');
    editor.innerHTML = `
      <div class="field"><label for="f-name">Name <span class="req">required</span></label>
        <input id="f-name" data-key="name" value="${esc(config.name ?? editName ?? '')}" ${editing ? 'readonly' : ''} required aria-describedby="f-name-err"><div id="f-name-err" class="field-error"></div></div>
      <input type="hidden" data-key="connector.class" value="${esc(plugin)}">
      ${[...groups.entries()].map(([g, ds]) => {
        ds.sort((a, b) => (rank[a.importance] ?? 3) - (rank[b.importance] ?? 3) || (a.order_in_group ?? 0) - (b.order_in_group ?? 0) || a.name.localeCompare(b.name));
        const main_ = ds.filter((d) => d.importance === 'HIGH' || d.required || config[d.name] !== undefined);
        const rest = ds.filter((d) => !main_.includes(d));
        return `<fieldset><legend>${esc(g)}</legend>${main_.map(field).join('')}
          ${rest.length ? `<details><summary>${rest.length} more ${esc(g)} setting(s)</summary>${rest.map(field).join('')}</details>` : ''}</fieldset>`;
      }).join('')}
      <fieldset id="dynamic-set" hidden><legend>Keys of the configured transforms, predicates and converters</legend><div id="dynamic"></div></fieldset>
      <fieldset><legend>Other keys</legend>
        <p class="muted">Keys the plugin does not define up front: transforms.*, predicates.*, converter sub-keys, client overrides.</p>
        <div id="extras">${extras.map((k) => extraRow(k, config[k])).join('')}</div>
        <button type="button" id="add-extra">Add a key</button>
      </fieldset>`;
    editor.querySelector('#extras').addEventListener('click', (ev) => {
      if (ev.target.classList.contains('extra-remove')) { ev.target.parentElement.remove(); validate(); }
    });
    editor.querySelector('#add-extra').addEventListener('click', () => {
      editor.querySelector('#extras').insertAdjacentHTML('beforeend', extraRow('', ''));
      editor.querySelector('#extras .extra-row:last-child .extra-k').focus();
    });
    if (lastReport) showReport(lastReport);
  };
  let extraN = 0;
  function extraRow(k, v) {
    const id = `x-${extraN++}`;
    return `<div class="extra-row row"><label for="${id}k" class="sr-only">Key</label><input id="${id}k" class="extra-k mono" value="${esc(k)}" placeholder="key">
      <label for="${id}v" class="sr-only">Value</label><input id="${id}v" class="extra-v mono" value="${esc(v)}" placeholder="value">
      <button type="button" class="extra-remove" aria-label="Remove ${esc(k || 'this key')}">✕</button><span class="field-error" data-extra-err="${esc(k)}"></span></div>`;
  }

  const renderEditor = () => {
    main.querySelectorAll('[role=tab]').forEach((t) => t.setAttribute('aria-selected', String(t.dataset.mode === mode)));
    syncTabs();
    editor.setAttribute('aria-labelledby', `mode-${mode}`);
    if (mode === 'form') { renderForm(); return; }
    const c = { ...config, ...(plugin ? { 'connector.class': plugin } : {}) };
    const text = mode === 'json' ? JSON.stringify({ name: c.name ?? editName ?? '', config: c }, null, 2) : toProperties(c);
    editor.innerHTML = `<label for="raw">${mode === 'json' ? 'JSON: {"name", "config": {…}} or a flat map' : 'Java .properties'}</label>
      <textarea id="raw" class="code" rows="24" spellcheck="false">${esc(text)}</textarea>`;
  };

  const loadPlugin = async (cls) => {
    plugin = cls ? matchPlugin(cls) : '';
    pluginSel.value = plugin;
    defs = plugin ? await get(`/connector-plugins/${enc(plugin)}/config`) : [];
    lastReport = null;
    renderEditor();
  };

  function showReport(report) {
    if (!alive()) return;
    const general = [];
    editor.querySelectorAll('.field-error').forEach((e) => { e.textContent = ''; });
    editor.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
    // Keys that only exist because of other keys (transforms.<alias>.*, predicates, converter
    // sub-keys): validate defines them, so they get fields of their own.
    if (mode === 'form' && editor.querySelector('#dynamic')) {
      const extraKeys = new Set([...editor.querySelectorAll('.extra-k')].map((e) => e.value.trim()));
      for (const c of report.configs) {
        const d = c.definition;
        if (!d || d.name === 'name' || d.name === 'connector.class' || extraKeys.has(d.name)) continue;
        if (editor.querySelector(`[data-field="${CSS.escape(d.name)}"]`)) continue;
        editor.querySelector('#dynamic').insertAdjacentHTML('beforeend', field(d));
        editor.querySelector('#dynamic-set').hidden = false;
      }
    }
    for (const c of report.configs) {
      const v = c.value;
      const fieldEl = editor.querySelector(`[data-field="${CSS.escape(v.name)}"]`);
      if (fieldEl) fieldEl.hidden = v.visible === false;
      if (!v.errors.length) continue;
      const input = fieldEl?.querySelector('[data-key]') ?? (v.name === 'name' ? editor.querySelector('#f-name') : null);
      if (input && mode === 'form') {
        input.setAttribute('aria-invalid', 'true');
        editor.querySelector(`#${input.id}-err`).textContent = v.errors.join(' ');
        fieldEl?.closest('details')?.setAttribute('open', '');
      } else {
        general.push(`${v.name}: ${v.errors.join(' ')}`);
      }
    }
    main.querySelector('#general-errors').innerHTML = general.length ? `<ul class="error">${general.map((g) => `<li>${esc(g)}</li>`).join('')}</ul>` : '';
    main.querySelector('#vstate').textContent = report.error_count ? `${report.error_count} error(s)` : 'valid';
    main.querySelector('#vstate').className = report.error_count ? 'error' : 'ok';
  }

  let seq = 0;
  const validate = async () => {
    let c;
    try { c = readEditor(); } catch (e) { main.querySelector('#vstate').textContent = `Cannot read the config: ${e.message}`; return null; }
    const cls = c['connector.class'] || plugin;
    if (!cls) { main.querySelector('#vstate').textContent = 'No connector.class'; return null; }
    const mine = ++seq;
    main.querySelector('#vstate').textContent = 'validating…';
    main.querySelector('#vstate').className = 'muted';
    try {
      // Slow plugins may take long: no short timeout here.
      const report = await put(`/connector-plugins/${enc(cls)}/config/validate`, { ...c, 'connector.class': cls });
      if (mine !== seq) return null;
      if (!alive()) return report;
      lastReport = report;
      showReport(report);
      return report;
    } catch (e) {
      if (mine === seq && alive()) { main.querySelector('#vstate').textContent = `Validation failed: ${e.message}`; main.querySelector('#vstate').className = 'error'; }
      return null;
    }
  };
  // Only after the user changed something (no validate storm on load), debounced.
  let debounce;
  main.querySelector('#cform').addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(validate, 400); });
  onLeave(() => clearTimeout(debounce));
  main.querySelector('#validate').addEventListener('click', validate);

  main.querySelectorAll('[role=tab]').forEach((t) => t.addEventListener('click', () => {
    try { config = readEditor(); } catch (e) { toast(`Fix the ${mode} text first: ${e.message}`, 'error'); return; }
    if (config['connector.class'] && matchPlugin(config['connector.class']) !== plugin && !editing) {
      mode = t.dataset.mode;
      loadPlugin(config['connector.class']);
      return;
    }
    mode = t.dataset.mode;
    renderEditor();
  }));
  pluginSel.addEventListener('change', async () => {
    try { config = readEditor(); } catch { /* start over */ }
    await loadPlugin(pluginSel.value);
  });
  main.querySelector('#upload').addEventListener('change', async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    const text = await file.text();
    try {
      config = text.trim().startsWith('{') ? parseJsonConfig(text) : parseProperties(text);
    } catch (e) { toast(`${file.name} is neither JSON nor .properties: ${e.message}`, 'error'); return; }
    if (editing) config.name = editName;
    mode = 'form';
    toast(`Loaded ${Object.keys(config).length} keys from ${file.name}.`);
    await loadPlugin(config['connector.class'] ?? plugin);
    validate();
  });

  main.querySelector('#save-patch')?.addEventListener('click', async () => {
    let c;
    try { c = readEditor(); } catch (e) { toast(`Cannot read the config: ${e.message}`, 'error'); return; }
    const changes = {};
    for (const [k, v] of Object.entries(c)) if (original[k] !== v) changes[k] = v;
    for (const k of Object.keys(original)) if (!(k in c)) changes[k] = null;
    if (Object.keys(changes).length === 0) { toast('Nothing changed.'); return; }
    try {
      await api('PATCH', `/connectors/${enc(editName)}/config`, changes);
      toast(`Saved ${Object.keys(changes).length} changed key(s) of ${editName}.`);
      go(`#/connectors/${enc(editName)}/status`);
    } catch (e) {
      main.querySelector('#general-errors').innerHTML = `<p class="error">${esc(e.message)}</p>`;
      toast(`Refused by the worker: ${e.message}`, 'error');
    }
  });

  main.querySelector('#cform').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let c;
    try { c = readEditor(); } catch (e) { toast(`Cannot read the config: ${e.message}`, 'error'); return; }
    if (!c['connector.class'] && plugin) c['connector.class'] = plugin;
    const name = (editing ? editName : c.name ?? '').trim();
    if (!name) { toast('A connector needs a name.', 'error'); editor.querySelector('#f-name')?.focus(); return; }
    const report = await validate();
    if (report && report.error_count > 0) {
      toast(`Not saved: ${report.error_count} validation error(s).`, 'error');
      editor.querySelector('[aria-invalid=true]')?.focus();
      return;
    }
    try {
      if (editing) {
        await put(`/connectors/${enc(name)}/config`, c);
        toast(`Saved ${name}; waiting for it to run with the new config…`);
      } else {
        const { name: _n, ...rest } = c;
        await post('/connectors', { name, config: rest });
        toast(`Created ${name}; waiting for it to start…`);
      }
      go(`#/connectors/${enc(name)}/status`);
      const ok = await pollUntil(async () => {
        const s = await get(`/connectors/${enc(name)}/status`);
        return s.connector.state !== 'UNASSIGNED' && s.tasks.length > 0 && s.tasks.every((t) => t.state !== 'UNASSIGNED');
      }, { timeoutMs: 30000 });
      if (!ok) toast(`${name} has not started all its tasks after 30 s; see its status.`, 'error');
    } catch (e) {
      main.querySelector('#general-errors').innerHTML = `<p class="error">${esc(e.message)}</p>`;
      toast(`Refused by the worker: ${e.message}`, 'error');
    }
  });

  if (plugin) await loadPlugin(plugin); else renderEditor();
}
