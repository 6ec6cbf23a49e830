// Small charts per connector that update while the page is open. Two sources, one shape:
// the worker's metrics registry (GET /metrics, Prometheus text) when the worker has it, and
// otherwise what the status API tells (task states, records tolerated, records seen by the tap).
import { get, getText, enc } from './api.js';
import { esc, onLeave } from './app.js';

/** Prometheus text exposition → [{name, labels, value}]. */
export function parsePrometheus(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    const value = Number(m[4]);
    if (!Number.isNaN(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

/** A source of named series for one connector: sample() → {seriesName: number}. */
export async function metricsSource(name) {
  const fallback = statusSource(name);
  let text = null;
  try { text = await getText('/metrics'); } catch { text = null; }
  if (text !== null) {
    return {
      kind: 'worker metrics (/metrics), or the status API where this worker runs none of its tasks',
      async sample() {
        const t = await getText('/metrics');
        const out = {};
        for (const s of parsePrometheus(t ?? '')) {
          if (s.labels.connector !== name) continue;
          const key = `${s.name}${s.labels.task !== undefined ? ` task ${s.labels.task}` : ''}`;
          out[key] = (out[key] ?? 0) + s.value;
        }
        // In a cluster the tasks may all run on other workers: this worker's registry then
        // has nothing for the connector, and what the status API tells is all there is.
        return Object.keys(out).length ? out : fallback.sample();
      },
    };
  }
  return fallback;
}

/** Series from the status API, the errors count and the record tap. */
function statusSource(name) {
  // Records per second from the record tap's sequence numbers (one per worker), which this
  // page keeps switched on while it is open.
  const seen = new Map();
  let lastAt = null;
  return {
    kind: 'status API and record tap (the worker has no /metrics)',
    async sample() {
      const [st, errs, tap] = await Promise.all([
        get(`/connectors/${enc(name)}/status`),
        get(`/sluice/connectors/${enc(name)}/errors`),
        get(`/sluice/connectors/${enc(name)}/tap?limit=1`).catch(() => null),
      ]);
      const out = {
        'tasks running': st.tasks.filter((t) => t.state === 'RUNNING').length,
        'tasks failed': st.tasks.filter((t) => t.state === 'FAILED').length,
      };
      if (tap) {
        const now = Date.now();
        let delta = 0;
        for (const r of tap.records) {
          const prev = seen.get(r.worker_id);
          if (prev !== undefined && r.seq > prev) delta += r.seq - prev;
          seen.set(r.worker_id, r.seq);
        }
        if (lastAt !== null) out['records/s (tap)'] = delta / ((now - lastAt) / 1000);
        lastAt = now;
      }
      for (const t of errs.tasks) out[`records tolerated task ${t.id}`] = t.records_tolerated;
      return out;
    },
  };
}

function sparkline(points, w = 260, h = 48) {
  if (points.length < 2) return `<svg width="${w}" height="${h}" role="img" aria-label="not enough samples yet"></svg>`;
  const min = Math.min(...points);
  const max = Math.max(...points);
  const span = max - min || 1;
  const d = points.map((p, i) => `${(i / (points.length - 1)) * w},${h - 4 - ((p - min) / span) * (h - 8)}`).join(' ');
  return `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="from ${min} to ${max}"><polyline fill="none" stroke="currentColor" stroke-width="2" points="${d}"/></svg>`;
}

export async function connectorCharts(section, name) {
  const source = await metricsSource(name);
  const history = new Map();
  const times = [];
  section.innerHTML = `<p class="muted">Source: ${esc(source.kind)}. Sampled every 2 s while this page is open.</p><div id="charts" class="charts"></div>`;
  const draw = () => {
    section.querySelector('#charts').innerHTML = [...history.entries()].map(([k, pts]) => {
      const last = pts[pts.length - 1];
      return `<figure class="chart"><figcaption>${esc(k)} <b>${Number.isInteger(last) ? last : last.toFixed(2)}</b></figcaption>${sparkline(pts)}</figure>`;
    }).join('') || '<p class="muted">No series for this connector yet.</p>';
  };
  const tick = async () => {
    if (document.hidden) return;
    try {
      const s = await source.sample();
      times.push(Date.now());
      for (const [k, v] of Object.entries(s)) {
        if (!history.has(k)) history.set(k, []);
        const pts = history.get(k);
        pts.push(v);
        if (pts.length > 90) pts.shift();
      }
      draw();
    } catch (e) {
      section.querySelector('#charts').innerHTML = `<p class="error">${esc(e.message)}</p>`;
    }
  };
  await tick();
  const timer = setInterval(tick, 2000);
  onLeave(() => clearInterval(timer));
}
