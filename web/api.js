// The console's only ways to reach the server and to build the page: api() calls the JSON API
// with the session cookie and, on anything but GET, the session's CSRF token; h() builds DOM
// nodes. Text always goes in as text nodes: nothing here ever parses a string as HTML.

let csrf = '';

export function setCsrf(token) {
  csrf = token;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call(path, method, body, accept) {
  const headers = { Accept: accept };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET') {
    headers['X-CSRF-Token'] = csrf;
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  const res = await fetch(path, init);
  const text = await res.text();
  if (res.ok) return text;
  let err = {};
  try { err = JSON.parse(text).error ?? {}; } catch { /* not JSON */ }
  if (res.status === 401 && !path.startsWith('/ui/')) location.replace('/ui/login');
  throw new ApiError(res.status, err.code ?? String(res.status), err.message ?? res.statusText);
}

export async function api(path, opts = {}) {
  const text = await call(path, opts.method ?? 'GET', opts.body, 'application/json');
  return text ? JSON.parse(text) : null;
}

export async function apiText(path) {
  return call(path, 'GET', undefined, 'text/plain, text/markdown, */*');
}

// h('tag.class#id', {attr: value, onclick: fn}, child, ...): children are nodes, strings
// (text nodes), numbers, arrays of these, or null/false (skipped).
export function h(spec, attrs, ...children) {
  const m = /^([a-z0-9]+)((?:[.#][\w-]+)*)$/i.exec(spec);
  const el = document.createElement(m ? m[1] : 'div');
  for (const part of (m ? m[2] : '').match(/[.#][\w-]+/g) ?? []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function when(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString().replace('T', ' ').slice(0, 19);
}
