// 预约签到 at the kiosk (server/appointments/checkin.py through POST /api/kiosks/<id>/checkin):
// · an ID card laid on the reader (identity.session on topic kiosk:<id>) checks its booking in at once;
//   a card without a booking today is left to the kiosk's own flow (kiosk.js) without a word;
// · a booking QR read by a keyboard-wedge scanner (fast keystrokes ending in Enter) or a code typed
//   on the on-screen keys; the serial scanner's reads reach the server through the device host.
// The result stays on screen until touched or 15 s: the ticket number and the reason, in the kiosk's language.
import { post } from "/static/common/api.js";
import { Feed } from "/static/common/ws.js";
import { lang, onLangChange, t, tOr } from "/static/common/i18n.js";

const KIOSK = document.body.dataset.kiosk;
const $ = (id) => document.getElementById(id);
const KEYS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const SHOW_MS = 15_000;
let typed = "";
let closer = null;
let busy = false;

function setTyped(v) { typed = v.toUpperCase().slice(0, 16); $("ci-code").textContent = typed || "—"; }

function showResult(ok, title, number, text, detail) {
  $("ci-entry").classList.add("hidden");
  $("ci-icon").textContent = ok ? "✓" : "!";
  $("ci-icon").className = `ci-icon ${ok ? "ok" : "bad"}`;
  $("ci-result-title").textContent = title;
  $("ci-number").textContent = number || "";
  $("ci-number").classList.toggle("hidden", !number);
  $("ci-text").textContent = text || "";
  $("ci-detail").textContent = detail || "";
  $("ci-result").classList.remove("hidden");
  $("ci-ok").focus();
  clearTimeout(closer);
  closer = setTimeout(hideResult, SHOW_MS);
}

function hideResult() { clearTimeout(closer); $("ci-result").classList.add("hidden"); }

async function checkIn(code, quietIfNone) {
  if (busy) return;
  busy = true;
  try {
    const r = await post(`/api/kiosks/${encodeURIComponent(KIOSK)}/checkin`, code ? { code } : {});
    const a = r.appointment || r.remote;
    const en = lang().startsWith("en");
    const paper = t(r.print && r.print.printed ? "checkin.take_ticket" : "checkin.remember_number");
    const name = a && ((en && a.service_name_en) || a.service_name);
    const detail = a ? `${name}${r.appointment ? ` · ${t("checkin.slot", { slot: a.slot })}` : ""} · ${paper}` : paper;
    const note = r.note ? (en ? r.note.en : r.note.zh) || r.note.zh || "" : "";
    showResult(true, t(r.remote ? "checkin.remote_ok" : "checkin.done"), r.number, note, detail);
    setTyped("");
  } catch (e) {
    if (quietIfNone && e.status === 404) return;   // a card without a booking: the normal kiosk flow goes on
    const p = e.problem || {};
    const reason = (lang().startsWith("en") ? p.en : p.zh) || p.zh || e.message;
    showResult(false, t("checkin.failed"), "", reason, e.status === 404 ? t("checkin.check_code") : "");
  } finally { busy = false; }
}

function keys() {
  const box = $("ci-keys");
  const mk = (label, fn, aria) => {
    const b = document.createElement("button");
    b.type = "button"; b.className = "ci-key"; b.textContent = label; b.setAttribute("aria-label", aria || label);
    b.addEventListener("click", fn);
    return b;
  };
  box.replaceChildren(...[...KEYS].map((k) => mk(k, () => setTyped(typed + k))),
    // built before kiosk.js may have loaded the catalogue: the Chinese is the fallback
    mk(tOr("checkin.delete", "删除"), () => setTyped(typed.slice(0, -1)), tOr("checkin.delete_aria", "删除一位")));
}

// a keyboard-wedge scanner types the QR's text quickly and ends it with Enter
let wedge = "", lastKey = 0;
function onKey(ev) {
  if (ev.target instanceof HTMLInputElement) return;
  const now = performance.now();
  if (now - lastKey > 80) wedge = "";
  lastKey = now;
  if (ev.key === "Enter") {
    const m = wedge.match(/code=([A-Za-z0-9]+)/) || wedge.match(/^([A-Za-z0-9]{8})$/);
    wedge = "";
    if (m) { ev.preventDefault(); checkIn(m[1], false); }
  } else if (ev.key.length === 1) wedge += ev.key;
}

function init() {
  if (!KIOSK) return;
  keys();
  onLangChange(keys);
  setTyped("");
  $("ci-open").addEventListener("click", () => { setTyped(""); $("ci-entry").classList.remove("hidden"); $("ci-go").focus(); });
  $("ci-close").addEventListener("click", () => $("ci-entry").classList.add("hidden"));
  $("ci-go").addEventListener("click", () => { if (typed.length >= 4) checkIn(typed, false); });
  $("ci-ok").addEventListener("click", hideResult);
  $("ci-result").addEventListener("click", (e) => { if (e.target === $("ci-result")) hideResult(); });
  document.addEventListener("keydown", onKey);
  new Feed([`kiosk:${KIOSK}`], {
    onEvent: (msg) => {
      if (msg.type === "identity.session") checkIn(null, true);
      // the kiosk's serial QR scanner (drivers/scanner, published by the device host on this topic)
      if (msg.type === "code.scanned" && msg.data && msg.data.text) {
        const m = msg.data.text.match(/code=([A-Za-z0-9]+)/) || msg.data.text.trim().match(/^([A-Za-z0-9]{4,16})$/);
        if (m) checkIn(m[1], false);
      }
    },
  }).start();
}

init();
