// Kiosk page: services by category, ID-card identity session, issue, ticket on screen.
import { Feed, bindStatus } from "/static/common/ws.js";
import { setLang, lang, t, tOr, problemText, initialLang } from "/static/common/i18n.js";
import { get, post, del, esc, whoami, toSignIn } from "/static/common/api.js";
import { toast, startClock, speak, throttle } from "/static/common/ui.js";

const KIOSK = document.body.dataset.kiosk;
const ALLOWED = (document.body.dataset.services || "").split(",").filter(Boolean);
const NOTICES = JSON.parse(document.body.dataset.notices || "{}");  // 一次告知 per service (JSON in data-notices)
// Timings in seconds; ?idle=N&ticket=N override them (field tuning, tests).
const QUERY = new URLSearchParams(location.search);
const IDLE_MS = Number(QUERY.get("idle") || 60) * 1000;        // back to the start screen without touch
const TICKET_MS = Number(QUERY.get("ticket") || 30) * 1000;    // the ticket stays on screen this long
const FAULT_TICKET_MS = 3 * TICKET_MS;   // longer when the citizen must photograph the QR code

const $ = (id) => document.getElementById(id);
const state = { hall: null, session: null, speech: false, busy: false };
const WARN_MS = 10000;   // a card refusal stays this long
let idleTimer = null, ticketTimer = null, warnTimer = null;

function show(screen) {
  for (const id of ["home", "busy", "ticket"]) $(id).classList.toggle("hidden", id !== screen);
}

function say(key, params) {
  if (state.speech) speak(t(key, params), lang());
}

// ---- services -------------------------------------------------------------------
function serviceList() {
  const services = (state.hall && state.hall.services) || [];
  return ALLOWED.length ? services.filter((s) => ALLOWED.includes(s.code)) : services;
}

function disabledReason(s) {
  if (s.available !== false) return null;
  // the snapshot's reason is a stable code (daily_limit_reached, outside_opening_hours, …)
  return s.reason ? tOr("reason." + s.reason, t("kiosk.unavailable")) : t("kiosk.unavailable");
}

function renderServices() {
  const byCat = new Map();
  for (const s of serviceList()) {
    const cat = s.category || t("kiosk.other");
    if (!byCat.has(cat)) byCat.set(cat, []);
    byCat.get(cat).push(s);
  }
  if (!byCat.size) {
    $("services").innerHTML = `<div class="k-empty">${esc(t("kiosk.loading"))}</div>`;
    return;
  }
  const parts = [];
  for (const [cat, list] of byCat) {
    const buttons = list.map((s) => {
      const reason = disabledReason(s);
      const waiting = s.waiting ?? 0;
      const meta = reason ? esc(reason)
        : !waiting ? esc(t("kiosk.no_wait"))
        : esc(t("kiosk.waiting", { n: waiting })) +
          (s.eta_minutes ? " · " + esc(t("kiosk.eta", { m: s.eta_minutes })) : "");
      return `<button class="k-svc" data-code="${esc(s.code)}" ${reason ? "disabled" : ""}>
        <span class="k-svc-name">${esc(s.name)}</span><span class="k-svc-meta">${meta}</span></button>`;
    });
    parts.push(`<section class="k-cat"><h2>${esc(cat)}</h2><div class="k-grid">${buttons.join("")}</div></section>`);
  }
  $("services").innerHTML = parts.join("");
}

const refreshHall = throttle(async () => {
  try {
    state.hall = await get("/api/hall");
    renderServices();
  } catch (e) { /* keep the last known list; the feed reconnects */ }
}, 1500);

// ---- identity session -------------------------------------------------------------
function renderBanner(kind = null, text = null) {
  const banner = $("card-banner");
  banner.classList.remove("session", "warn");
  $("end-session").classList.add("hidden");
  if (state.session) {
    const s = state.session;
    banner.classList.add("session");
    $("banner-main").textContent = t("kiosk.hello", { name: s.masked_name || "" });
    $("banner-sub").textContent = s.warning ? problemText(s.warning)
      : s.priority && s.priority !== "normal" ? t("kiosk.priority_note") : t("kiosk.pick_service");
    $("end-session").classList.remove("hidden");
  } else if (kind === "warn") {
    banner.classList.add("warn");
    $("banner-main").textContent = text;
    $("banner-sub").textContent = t("kiosk.card_or_pick");
    clearTimeout(warnTimer);
    warnTimer = setTimeout(() => { if (!state.session) renderBanner(); }, WARN_MS);
  } else {
    $("banner-main").textContent = t("kiosk.card_prompt");
    $("banner-sub").textContent = t("kiosk.card_or_pick");
  }
}

function sessionFrom(data) {
  if (!data) return null;
  const s = data.session !== undefined ? data.session : data;
  return s && (s.masked_name || s.masked_id || s.id) ? s : null;
}

function onEvent(msg) {
  const type = msg.type || "";
  if (type.startsWith("ticket.") || type === "window.changed" || type === "hall.changed") {
    refreshHall();
    return;
  }
  if (type === "identity.session") {
    state.session = sessionFrom(msg.data);
    showHome();
    renderBanner();
    say("kiosk.hello_spoken", { name: state.session ? state.session.masked_name || "" : "" });
    poke();
  } else if (type === "identity.ended") {
    state.session = null;
    if (!$("home").classList.contains("hidden")) renderBanner();
  } else if (type === "identity.refused") {
    state.session = null;
    const d = msg.data || {};
    renderBanner("warn", d.reason ? problemText(d.reason) : t("kiosk.card_refused"));
    say("kiosk.card_refused");
  } else if (type === "device.host") {
    renderHost(msg.data && msg.data.host);
  } else if (type === "identity.read_failed") {
    const d = msg.data || {};
    renderBanner("warn", d.zh || d.reason ? problemText(d.reason || d) : t("kiosk.read_failed"));
    say("kiosk.read_failed");
  }
}

function onSnapshot(topic, data) {
  if (topic === "hall") {
    if (data && data.services) { state.hall = data; renderServices(); } else refreshHall();
  } else if (topic === `kiosk:${KIOSK}`) {
    if (data) { state.session = sessionFrom(data); renderBanner(); } else loadSession();
    loadHost();
  }
}

// The device host running this kiosk's reader and printer: offline = no card reading, no paper.
function renderHost(host) {
  $("host-offline").classList.toggle("hidden", !host || host.online !== false);
}

async function loadHost() {
  try {
    const r = await get(`/api/kiosks/${encodeURIComponent(KIOSK)}/devices`);
    renderHost(r.host || (r.devices.length ? { online: false } : null));  // configured, yet nobody runs them
  }
  catch (e) { renderHost(null); }
}

// Without a snapshot (reconnect races): ask for the current session (404 = no card).
async function loadSession() {
  try { state.session = sessionFrom(await get(`/api/kiosks/${encodeURIComponent(KIOSK)}/session`)); }
  catch (e) { state.session = null; }
  renderBanner();
}

async function endSession() {
  state.session = null;
  renderBanner();
  try { await del(`/api/kiosks/${encodeURIComponent(KIOSK)}/session`); } catch (e) { /* already gone */ }
}

// ---- issue -------------------------------------------------------------------------
async function issue(code) {
  if (state.busy) return;
  state.busy = true;
  show("busy");
  try {
    showTicket(await issueTicket(code));
  } catch (e) {
    showHome();
    toast(problemText(e.problem), "error", 6000);
    say("kiosk.issue_failed");
  } finally {
    state.busy = false;
    refreshHall();
  }
}

// The one kiosk path: the server binds the ticket to this kiosk's card session (when a card
// lies on the reader) and prints it on this kiosk's printer; the answer is the ticket plus
// print: {state, printed, fault}.
function issueTicket(code) {
  return post(`/api/kiosks/${encodeURIComponent(KIOSK)}/tickets`, { service: code });
}

function showTicket(tk) {
  const print = tk.print || { printed: false, fault: null };
  const fault = !print.printed;
  $("t-number").textContent = tk.number;
  $("t-service").textContent = tk.service_name || tk.service;
  $("t-ahead").textContent = tk.ahead ? t("kiosk.ahead", { n: tk.ahead }) : t("kiosk.next_up");
  $("t-eta").textContent = tk.ahead && tk.eta_minutes ? t("kiosk.eta_long", { m: tk.eta_minutes }) : "";
  $("t-qr").src = `/api/tickets/${encodeURIComponent(tk.token)}/qr.svg`;
  const notice = NOTICES[tk.service] || "";
  $("t-notice-text").textContent = notice;
  $("t-notice").classList.toggle("hidden", !notice);
  $("fault").classList.toggle("hidden", !fault);
  $("t-printed").classList.toggle("hidden", fault);
  $("ticket").classList.toggle("fault", fault);
  $("ticket").dataset.printed = fault ? "false" : "true";
  $("ticket").dataset.fault = print.fault || "";
  show("ticket");
  say(fault ? "kiosk.spoken_fault" : "kiosk.spoken_ticket", { number: tk.number, n: tk.ahead ?? 0 });
  clearTimeout(ticketTimer);
  ticketTimer = setTimeout(resetKiosk, fault ? FAULT_TICKET_MS : TICKET_MS);
}

function showHome() {
  clearTimeout(ticketTimer);
  show("home");
  renderBanner();
}

// ---- idle reset, language, speech ---------------------------------------------------
async function resetKiosk() {
  showHome();
  if (lang() !== "zh-CN") await switchLang("zh-CN");
  if (state.session) await endSession();
  $("services").scrollTop = 0;
  window.scrollTo(0, 0);
}

function poke() {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => { if ($("ticket").classList.contains("hidden")) resetKiosk(); }, IDLE_MS);
}

async function switchLang(to) {
  await setLang(to);
  renderServices();
  renderBanner();
  setSpeech(state.speech);
}

function setSpeech(on) {
  state.speech = on;
  const b = $("speech");
  b.setAttribute("aria-pressed", on ? "true" : "false");
  b.textContent = t(on ? "kiosk.speech_on" : "kiosk.speech_off");
}

async function main() {
  // the kiosk browser signs in once with its device token (/auth/device)
  const me = await whoami();
  if (me === null || (me && (me.role !== "kiosk" || me.kiosk !== KIOSK))) { toSignIn("device"); return; }
  await setLang(initialLang("zh-CN"));
  startClock($("clock"));
  setSpeech(false);
  renderServices();
  $("services").addEventListener("click", (e) => {
    const btn = e.target.closest(".k-svc");
    if (btn && !btn.disabled) issue(btn.dataset.code);
  });
  $("lang").addEventListener("click", () => switchLang(lang() === "zh-CN" ? "en" : "zh-CN"));
  $("speech").addEventListener("click", () => { setSpeech(!state.speech); say("kiosk.card_prompt"); });
  $("done").addEventListener("click", resetKiosk);
  $("end-session").addEventListener("click", endSession);
  for (const ev of ["pointerdown", "keydown"]) document.addEventListener(ev, poke, { passive: true });
  poke();
  const feed = new Feed(["hall", `kiosk:${KIOSK}`], {
    onSnapshot, onEvent, onStatus: bindStatus($("conn"), t),
  });
  feed.start();
  refreshHall();
  window.hallqKiosk = { state, feed };   // for tests and field debugging
}

main();
