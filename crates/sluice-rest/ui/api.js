// The REST API of the worker that served this page. Same origin: the browser adds the Basic
// credentials it was challenged for, and HTTPS is whatever the page was loaded over.

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export const enc = encodeURIComponent;

/**
 * Whether an answer is Kafka's 409 for a request that reached the cluster while it rebalanced
 * (or with a stale config): nothing was done, and the same request can be sent again.
 */
export function isRebalanceConflict(status, message) {
  return status === 409 && /rebalanc|conflicting operation|stale configuration/i.test(message ?? '');
}

// Who hears about retries (the page shows "the cluster is rebalancing; trying again").
const retryListeners = new Set();
export function onRetry(fn) { retryListeners.add(fn); return () => retryListeners.delete(fn); }

/**
 * Calls the API; resolves to the parsed JSON body (or null), rejects with ApiError carrying the
 * server's own message. A request refused with 409 because the cluster is rebalancing is sent
 * again (with backoff, for up to `retryMs`), as a Connect client is expected to: a cluster
 * rebalances after every connector change, and under load that takes a while.
 */
export async function api(method, path, body, { timeoutMs = 95000, retryMs = 90000 } = {}) {
  const until = Date.now() + retryMs;
  let wait = 250;
  for (;;) {
    try {
      return await once(method, path, body, timeoutMs);
    } catch (e) {
      if (!(e instanceof ApiError) || !isRebalanceConflict(e.status, e.message) || Date.now() + wait > until) throw e;
      for (const l of retryListeners) { try { l(method, path, e); } catch { /* a listener of a left page */ } }
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 2000);
    }
  }
}

async function once(method, path, body, timeoutMs) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers: body === undefined ? { Accept: 'application/json' } : { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal: ctrl.signal,
    });
  } catch (e) {
    throw new ApiError(0, e.name === 'AbortError' ? `No answer from the worker after ${timeoutMs / 1000} s` : `The worker cannot be reached: ${e.message}`);
  } finally {
    clearTimeout(timer);
  }
  const text = await resp.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (!resp.ok) {
    const msg = (json && json.message) || text || `HTTP ${resp.status}`;
    throw new ApiError(resp.status, msg, json);
  }
  return json;
}

export const get = (p) => api('GET', p);
export const put = (p, b) => api('PUT', p, b);
export const post = (p, b) => api('POST', p, b);
export const patch = (p, b) => api('PATCH', p, b);
export const del = (p) => api('DELETE', p);

/** GET that answers null for a 404 (optional routes such as /metrics). */
export async function getOptional(path) {
  try {
    return await get(path);
  } catch (e) {
    if (e.status === 404 || e.status === 405) return null;
    throw e;
  }
}

/** Raw text GET that answers null on 404 (Prometheus text). */
export async function getText(path) {
  const resp = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'text/plain' } });
  if (resp.status === 404 || resp.status === 405) return null;
  if (!resp.ok) throw new ApiError(resp.status, `HTTP ${resp.status}`);
  return resp.text();
}
