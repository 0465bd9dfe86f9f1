// The access token lives in this module's memory only: never in localStorage,
// a cookie or a URL. A reload means logging in again; expiry logs out.
let token = null;
let expiryTimer = null;
let onExpired = () => {};

export function setExpiredHandler(fn) { onExpired = fn; }
export function hasToken() { return token !== null; }

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export async function login(username, password) {
  const r = await fetch("/auth/login", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password }),
  });
  if (!r.ok) throw new ApiError(r.status, (await r.json().catch(() => ({}))).detail || r.statusText);
  const body = await r.json();
  token = body.access_token;
  clearTimeout(expiryTimer);
  // Log out a little before the server would refuse the token.
  expiryTimer = setTimeout(() => expire(), Math.max(1, body.expires_in - 5) * 1000);
}

export function logout() {
  token = null;
  clearTimeout(expiryTimer);
}

function expire() {
  if (token === null) return;
  logout();
  onExpired();
}

export async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = body === undefined ? {} : { "content-type": "application/json" };
  const r = await send(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return raw ? r : r.json();
}

// A multipart form (photos): the browser sets the content type and its boundary.
export async function postForm(path, form) {
  return (await send(path, { method: "POST", headers: {}, body: form })).json();
}

async function send(path, init) {
  if (token === null) throw new ApiError(401, "not logged in");
  const r = await fetch(path, { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } });
  if (r.status === 401) { expire(); throw new ApiError(401, "session expired"); }
  if (!r.ok) throw new ApiError(r.status, (await r.json().catch(() => ({}))).detail || r.statusText);
  return r;
}

// Every page of a list route (limit 200 is the server's cap).
export async function all(path, cap = 5000) {
  const items = [];
  const sep = path.includes("?") ? "&" : "?";
  for (let offset = 0; offset < cap; offset += 200) {
    const page = await api(`${path}${sep}limit=200&offset=${offset}`);
    items.push(...page.items);
    if (items.length >= page.total || page.items.length === 0) break;
  }
  return items;
}

// A picture behind the token as a blob URL (never the token in a URL); the caller's
// ``urls`` collects it, to be revoked when the page goes.
export async function blobUrl(path, urls) {
  const r = await api(path, { raw: true });
  const url = URL.createObjectURL(await r.blob());
  urls.push(url);
  return url;
}

// A download through fetch (the token is a header, never in the URL).
export async function download(path, filename) {
  const r = await api(path, { raw: true });
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement("a");
  a.href = url; a.download = filename;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
