// Kiosk requests that can never hang: every call has a timeout (AbortController) and the
// idle reset aborts whatever is still in flight. Errors are ApiError problems, as in
// /static/common/api.js: code "timeout" (no answer in time) or "network" (no connection).
import { ApiError, toSignIn } from "/static/common/api.js";

const inflight = new Set();

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)hallq_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : null;
}

/** One JSON request; rejects with ApiError after `timeoutMs` (code "timeout") instead of waiting for ever. */
export async function request(method, path, { body, timeoutMs = 8000, headers = {} } = {}) {
  const ctrl = new AbortController();
  inflight.add(ctrl);
  const timer = setTimeout(() => ctrl.abort("timeout"), timeoutMs);
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin",
                 signal: ctrl.signal };
  if (method !== "GET") {
    const csrf = csrfToken();
    if (csrf) init.headers["X-CSRF-Token"] = csrf;
  }
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  try {
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      if (ctrl.signal.aborted && ctrl.signal.reason === "timeout") {
        throw new ApiError(0, { code: "timeout", zh: "网络繁忙，暂时没有回应", en: "No answer from the server" });
      }
      if (ctrl.signal.aborted) throw new ApiError(0, { code: "aborted", zh: "已取消", en: "Cancelled" });
      throw new ApiError(0, { code: "network", zh: "网络连接中断", en: "Network connection lost" });
    }
    if (res.status === 204) return null;
    const text = await res.text();
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch (e) { data = { detail: text }; } }
    if (res.status === 401) toSignIn("device");
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  } finally {
    clearTimeout(timer);
    inflight.delete(ctrl);
  }
}

/** Abort every request still waiting (the idle reset: nothing may keep the kiosk busy). */
export function abortAll() {
  for (const ctrl of inflight) ctrl.abort("reset");
  inflight.clear();
}

/** A fresh idempotency key for one tap (works on plain-HTTP hall networks too, unlike randomUUID). */
export function tapKey() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return "tap-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
