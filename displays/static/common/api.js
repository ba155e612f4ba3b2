// Minimal JSON client for the hallq HTTP API; errors carry the RFC 9457 problem document.
// Pages sign in with a session cookie: changes echo the readable `hallq_csrf` cookie in
// X-CSRF-Token. A 401 sends pages that need an account (body data-signin="login"|"device")
// to the sign-in page and back.

const extraHeaders = {};

/** A header sent with every request (the citizen page sends X-Ticket-Token). */
export function setHeader(name, value) { extraHeaders[name] = value; }

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)hallq_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : null;
}

/** Go to the sign-in page of this page's kind ("login" for staff, "device" for kiosks/screens). */
export function toSignIn(kind = document.body.dataset.signin || "login") {
  location.assign(`/auth/${kind}?next=${encodeURIComponent(location.pathname + location.search)}`);
}

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || null;
  }
}

export async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json", ...extraHeaders }, credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") {
    const csrf = csrfToken();
    if (csrf) init.headers["X-CSRF-Token"] = csrf;
  }
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { code: "network", zh: "网络连接中断，请稍后再试", en: "Network error, please retry" });
  }
  if (res.status === 204) return null;
  let data = null;
  const text = await res.text();
  if (text) { try { data = JSON.parse(text); } catch (e) { data = { detail: text }; } }
  if (res.status === 401 && document.body.dataset.signin) toSignIn();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** The signed-in caller (GET /api/auth/me), or null when nobody is signed in. */
export async function whoami() {
  try {
    const res = await fetch("/api/auth/me", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (res.status === 401) return null;
    return res.ok ? await res.json() : null;
  } catch (e) {
    return undefined;   // network trouble: unknown, do not redirect
  }
}

export const get = (p) => api("GET", p);
export const post = (p, b = {}) => api("POST", p, b);
export const del = (p) => api("DELETE", p);

/** Escape text for innerHTML templates. */
export function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

/** "HH:MM:SS" of a Date in local time. */
export function hms(d) {
  return d.toTimeString().slice(0, 8);
}

/** mm:ss (or h:mm:ss) between an ISO time and now. */
export function elapsed(iso, now = Date.now()) {
  if (!iso) return "";
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mmss = `${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
  return h ? `${h}:${mmss}` : mmss;
}
