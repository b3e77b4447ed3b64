// Small helpers shared by the dashboard's modules: DOM building (text only, never HTML), formatting and
// the authenticated JSON client.

/**
 * Creates an element. `attrs` sets properties for `className`, `hidden` and the like, `data-*` and `aria-*`
 * as attributes; children are nodes or strings (strings become text nodes, so data is never parsed as HTML).
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className' || key === 'textContent' || key === 'type' || key === 'value') node[key] = value;
    else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) node.dataset[k] = String(v);
    }
    else if (key === 'style') Object.assign(node.style, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
}

/** Replaces the children of `node` with `children`. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

const pad = (n, width = 2) => String(n).padStart(width, '0');

/** hh:mm:ss in the browser's time zone. */
export function clock(iso) {
  const d = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** hh:mm, with the date in front when it is not today. */
export function when(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const today = new Date();
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return d.toDateString() === today.toDateString() ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** hh:mm:ss, with the date in front when it is not today. */
export function stamp(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const today = new Date();
  return d.toDateString() === today.toDateString() ? clock(d) : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(d)}`;
}

/** Integer micro-USD as dollars: $0.0123 for small sums, $12.34 above a dollar. */
export function usd(micro) {
  const dollars = micro / 1_000_000;
  if (dollars === 0) return '$0';
  if (Math.abs(dollars) < 1) return `$${dollars.toFixed(4)}`;
  return `$${dollars.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

export function count(n) {
  return Number(n ?? 0).toLocaleString('en-US');
}

export function megabytes(bytes) {
  return `${(bytes / (1024 * 1024)).toFixed(0)} MB`;
}

/** At most `max` characters, with an ellipsis when cut. */
export function clip(text, max = 160) {
  const s = typeof text === 'string' ? text : JSON.stringify(text) ?? '';
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** An API answer other than 2xx, with the gateway's error code and message. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/**
 * GETs a gateway API path with the bearer key and returns its JSON. Only same-origin `/v1/` paths are
 * fetched, so a link in the data can never send the key anywhere else.
 */
export async function getJson(path, key) {
  if (typeof path !== 'string' || !path.startsWith('/v1/')) throw new ApiError(0, 'bad_link', `not an API path: ${clip(path, 80)}`);
  let res;
  try {
    res = await fetch(path, { headers: { authorization: `Bearer ${key}`, accept: 'application/json' }, cache: 'no-store' });
  } catch (err) {
    throw new ApiError(0, 'network', `the gateway did not answer (${err.message})`);
  }
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const error = body && body.error ? body.error : {};
    throw new ApiError(res.status, error.code ?? `http_${res.status}`, error.message ?? `${res.status} ${res.statusText}`, error.field);
  }
  return body;
}
