// Kiosk page: services by category, ID-card identity session, issue, ticket on screen.
// It can never hang: every request has a timeout and a retry path (net.js), a tap carries an
// idempotency key so a retry never gives a second ticket, and the idle reset aborts whatever
// is in flight. Errors are a centred, icon-led, spoken box that stays until touched (or 10 s).
import { Feed, bindStatus } from "/static/common/ws.js";
import { setLang, lang, t, tOr, problemText, initialLang, localName } from "/static/common/i18n.js";
import { esc, whoami, toSignIn } from "/static/common/api.js";
import { startClock, throttle } from "/static/common/ui.js";
import { request, abortAll, tapKey } from "/static/kiosk/net.js";
import { playPrompt, speakEnglish, stop as stopVoice } from "/static/kiosk/voice.js";

const KIOSK = document.body.dataset.kiosk;
const K = encodeURIComponent(KIOSK);
const ALLOWED = (document.body.dataset.services || "").split(",").filter(Boolean);
const NOTICES = JSON.parse(document.body.dataset.notices || "{}");  // 一次告知 per service (JSON in data-notices)
const ELDERLY_AGE = Number(document.body.dataset.elderlyAge || 0) || null;
// Timings in seconds; ?idle=N&ticket=N&alert=N&net=N&devpoll=N override them (field tuning, tests).
const QUERY = new URLSearchParams(location.search);
const secs = (name, dflt) => Number(QUERY.get(name) || dflt) * 1000;
const IDLE_MS = secs("idle", 60);         // back to the start screen without touch
const TICKET_MS = secs("ticket", 30);     // the ticket stays on screen this long
const ALERT_MS = secs("alert", 10);       // an error box stays until touched, or this long
const ISSUE_TIMEOUT_MS = secs("net", 12); // the server waits up to 5 s for the printer itself
const DEVICE_POLL_MS = secs("devpoll", 10);
const SLOW_MS = 5000;                     // then "网络较慢" and a way back
// 长辈模式: this many services per screen (a portrait kiosk has room for three rows of two)
const elderPage = () => (window.innerHeight > window.innerWidth ? 6 : 4);
const ELDER_FACTOR = 2;                   // 长辈模式: every timeout this much slower

const $ = (id) => document.getElementById(id);
const state = {
  hall: null, session: null, speech: document.body.dataset.voice === "on", busy: false, gen: 0,
  elder: false, page: 0, printerFault: false, pending: null, sessionAge: null,
};
const WARN_MS = 10000;   // a card refusal stays this long
let idleTimer = null, ticketTimer = null, warnTimer = null, alertTimer = null, slowTimer = null;
let alertRetry = null, confirmYes = null;

const slow = (ms) => (state.elder ? ms * ELDER_FACTOR : ms);

function show(screen) {
  for (const id of ["home", "busy", "ticket"]) $(id).classList.toggle("hidden", id !== screen);
  document.body.dataset.screen = screen;
}

// English text of each server prompt, for English mode (the browser's voice, when it has one)
const PROMPT_KEYS = {
  welcome: "kiosk.card_prompt", hello: "kiosk.pick_service", priority: "kiosk.priority_note",
  ticket: "kiosk.spoken_ticket", ticket_fault: "kiosk.spoken_fault", printer_fault: "kiosk.printer_warn",
  error: "kiosk.issue_failed", network: "kiosk.issuing_slow", offline: "kiosk.err_offline_title",
  rate_limited: "kiosk.err_rate_title", per_person: "kiosk.err_person_title", help: "kiosk.help_sent",
  card_refused: "kiosk.card_refused", read_failed: "kiosk.read_failed", elderly_on: "kiosk.elder_on",
  unavailable: "kiosk.unserved_title",
};

/** Say a prompt: the server renders it (never a name); English mode uses the browser's voice. */
function say(prompt, params = {}) {
  if (!state.speech) return;
  if (lang() === "zh-CN") playPrompt(KIOSK, prompt, params);
  else speakEnglish(t(PROMPT_KEYS[prompt] || "kiosk.card_prompt", { number: params.number, n: params.n ?? 0 }));
}

// ---- services -------------------------------------------------------------------------
function serviceList() {
  const services = (state.hall && state.hall.services) || [];
  return ALLOWED.length ? services.filter((s) => ALLOWED.includes(s.code)) : services;
}

function label(s, zh, en) {
  return lang().startsWith("en") ? (en || zh) : zh; // the pseudo-locale (x-rtl) shows the Chinese
}

function disabledReason(s) {
  if (s.available !== false) return null;
  if (s.availability_zh) return label(s, s.availability_zh, s.availability_en);
  // the snapshot's reason is a stable code (daily_limit_reached, outside_opening_hours, …)
  return s.reason ? tOr("reason." + s.reason, t("kiosk.unavailable")) : t("kiosk.unavailable");
}

function etaText(s) {
  if (Array.isArray(s.eta_range) && s.eta_range.length === 2) {
    return t("kiosk.eta_range", { lo: s.eta_range[0], hi: s.eta_range[1] });
  }
  return s.eta_minutes ? t("kiosk.eta", { m: s.eta_minutes }) : "";
}

function serviceButton(s) {
  const reason = disabledReason(s);
  const waiting = s.waiting ?? 0;
  const honest = s.availability && s.availability !== "available";   // e.g. no_window, lunch (H's field)
  // each piece on one line ("等候 1 人" never breaks before 人)
  const parts = [];
  if (reason) parts.push(reason);
  else if (honest) {
    parts.push(label(s, s.availability_zh || t("kiosk.unserved_title"), s.availability_en));
    if (waiting) parts.push(t("kiosk.waiting", { n: waiting }));
  } else if (!waiting) parts.push(t("kiosk.no_wait"));
  else {
    parts.push(t("kiosk.waiting", { n: waiting }));
    if (etaText(s)) parts.push(etaText(s));
  }
  const meta = parts.map((p) => `<span class="k-nowrap">${esc(p)}</span>`).join(" · ");
  const name = localName(s);   // name_en in English mode, the Chinese name when the hall gave none
  const cls = "k-svc" + (honest && !reason ? " k-svc-warn" : "");
  return `<button class="${cls}" data-code="${esc(s.code)}" ${reason ? "disabled" : ""}>
    <span class="k-svc-name">${esc(name)}</span><span class="k-svc-meta">${meta}</span></button>`;
}

function renderServices() {
  const list = serviceList();
  if (!list.length) {
    $("services").innerHTML = `<div class="k-empty">${esc(t("kiosk.loading"))}</div>`;
    $("pager").classList.add("hidden");
    return;
  }
  if (state.elder) { renderElderPage(list); return; }
  $("pager").classList.add("hidden");
  const byCat = new Map();
  for (const s of list) {
    const cat = localName(s, "category") || t("kiosk.other");
    if (!byCat.has(cat)) byCat.set(cat, []);
    byCat.get(cat).push(s);
  }
  const parts = [];
  for (const [cat, items] of byCat) {
    parts.push(`<section class="k-cat"><h2>${esc(cat)}</h2><div class="k-grid">${items.map(serviceButton).join("")}</div></section>`);
  }
  $("services").innerHTML = parts.join("");
}

// 长辈模式: fewer, larger choices — a few services per screen, with 上一页/下一页
function renderElderPage(list) {
  const size = elderPage();
  const pages = Math.max(1, Math.ceil(list.length / size));
  state.page = Math.min(Math.max(0, state.page), pages - 1);
  const items = list.slice(state.page * size, (state.page + 1) * size);
  $("services").innerHTML = `<div class="k-grid k-elder-grid">${items.map(serviceButton).join("")}</div>`;
  $("pager").classList.toggle("hidden", pages < 2);
  $("page-no").textContent = t("kiosk.page_no", { n: state.page + 1, total: pages });
  $("page-prev").disabled = state.page === 0;
  $("page-next").disabled = state.page >= pages - 1;
}

function setElder(on) {
  state.elder = on;
  state.page = 0;
  document.body.classList.toggle("elder", on);
  $("elder").setAttribute("aria-pressed", on ? "true" : "false");
  $("elder").textContent = t(on ? "kiosk.elder_off" : "kiosk.elder_mode");
  renderServices();
}

const refreshHall = throttle(async () => {
  try {
    state.hall = await request("GET", "/api/hall", { timeoutMs: 8000 });
    renderServices();
  } catch (e) { /* keep the last known list; the feed reconnects */ }
}, 1500);

// ---- identity session -------------------------------------------------------------------
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

function isElderly(s) {
  return Boolean(s && ELDERLY_AGE && typeof s.age === "number" && s.age >= ELDERLY_AGE);
}

function onSession(s) {
  state.session = s;
  if (isElderly(s) && !state.elder) setElder(true);   // an elderly card turns 长辈模式 on by itself
}

function onEvent(msg) {
  const type = msg.type || "";
  if (type.startsWith("ticket.") || type === "window.changed" || type === "hall.changed" ||
      type === "config.changed") {
    refreshHall();
    return;
  }
  if (type === "identity.session") {
    onSession(sessionFrom(msg.data));
    if (!state.busy && $("ticket").classList.contains("hidden")) showHome();
    renderBanner();
    // greet without the name: a masked name would be read with its asterisks
    say(state.session && state.session.priority && state.session.priority !== "normal" ? "priority" : "hello");
    poke();
  } else if (type === "identity.ended") {
    state.session = null;
    if (!$("home").classList.contains("hidden")) renderBanner();
  } else if (type === "identity.refused") {
    state.session = null;
    const d = msg.data || {};
    renderBanner("warn", d.reason ? problemText(d.reason) : t("kiosk.card_refused"));
    say("card_refused");
  } else if (type === "device.host") {
    renderHost(msg.data && msg.data.host);
    loadDevices();
  } else if (type === "identity.read_failed") {
    const d = msg.data || {};
    renderBanner("warn", d.zh || d.reason ? problemText(d.reason || d) : t("kiosk.read_failed"));
    say("read_failed");
  }
}

function onSnapshot(topic, data) {
  if (topic === "hall") {
    if (data && data.services) { state.hall = data; renderServices(); } else refreshHall();
  } else if (topic === `kiosk:${KIOSK}`) {
    if (data) { onSession(sessionFrom(data)); renderBanner(); } else loadSession();
    loadDevices();
  }
}

// ---- the kiosk's devices: host online? printer able to print? ----------------------------
function renderHost(host) {
  $("host-offline").classList.toggle("hidden", !host || host.online !== false);
}

function renderPrinter(fault) {
  const was = state.printerFault;
  state.printerFault = fault;
  $("printer-warn").classList.toggle("hidden", !fault);
  document.body.dataset.printer = fault ? "fault" : "ok";
  if (fault && !was && !$("home").classList.contains("hidden")) say("printer_fault");
}

async function loadDevices() {
  try {
    const r = await request("GET", `/api/kiosks/${K}/devices`, { timeoutMs: 6000 });
    const host = r.host || (r.devices.length ? { online: false } : null);  // configured, yet nobody runs them
    renderHost(host);
    const printers = r.devices.filter((d) => d.kind === "ticket_printer");
    // the host-offline notice already says tickets go on screen; the printer warning is for a live host
    renderPrinter(Boolean(host && host.online !== false && printers.length && !printers.some((d) => d.available)));
  } catch (e) { /* keep what we showed; the next poll retries */ }
}

// Without a snapshot (reconnect races): ask for the current session (404 = no card).
async function loadSession() {
  try { onSession(sessionFrom(await request("GET", `/api/kiosks/${K}/session`, { timeoutMs: 6000 }))); }
  catch (e) { state.session = null; }
  renderBanner();
}

async function endSession() {
  state.session = null;
  renderBanner();
  try { await request("DELETE", `/api/kiosks/${K}/session`, { timeoutMs: 6000 }); } catch (e) { /* already gone */ }
}

// ---- the error / notice box ---------------------------------------------------------------
/** A centred box with an icon; stays until touched or ALERT_MS; `retry` adds a 重试 button. */
function showAlert({ kind = "error", title, text = "", retry = null, prompt = null, params = {} }) {
  const box = $("alert");
  box.dataset.kind = kind;
  $("alert-icon").className = `k-icon k-icon-${kind}`;
  $("alert-icon").textContent = kind === "ok" ? "✓" : "!";
  $("alert-title").textContent = title;
  $("alert-text").textContent = text;
  alertRetry = retry;
  $("alert-retry").classList.toggle("hidden", !retry);
  box.classList.remove("hidden");
  (retry ? $("alert-retry") : $("alert-ok")).focus();
  if (prompt) say(prompt, params);
  clearTimeout(alertTimer);
  alertTimer = setTimeout(hideAlert, slow(ALERT_MS));
}

function hideAlert() {
  clearTimeout(alertTimer);
  alertRetry = null;
  $("alert").classList.add("hidden");
}

function minutesOf(problem) {
  if (problem && problem.minutes) return Number(problem.minutes);
  const s = Number(problem && problem.retry_after) || 60;
  return Math.max(1, Math.ceil(s / 60));
}

function transient(e) {
  return e.code === "timeout" || e.code === "network" || e.code === "kiosk_request_pending" || e.status >= 500;
}

function issueError(e, retry) {
  const p = e.problem || {};
  if (e.code === "network" || !navigator.onLine) {
    showAlert({ title: t("kiosk.err_offline_title"), text: t("kiosk.err_offline_text"), retry, prompt: "offline" });
  } else if (transient(e)) {
    showAlert({ title: t("kiosk.err_network_title"), text: t("kiosk.err_network_text"), retry, prompt: "error" });
  } else if (e.status === 429) {
    const m = minutesOf(p);
    showAlert({ kind: "warn", title: t("kiosk.err_rate_title"), text: t("kiosk.err_rate_text", { m }),
                prompt: "rate_limited", params: { m } });
  } else if (e.code === "per_person_limit") {
    showAlert({ kind: "warn", title: t("kiosk.err_person_title"), text: problemText(p), prompt: "per_person" });
  } else {
    showAlert({ title: t("kiosk.issue_failed"), text: problemText(p), prompt: "error" });
  }
}

// ---- issue ----------------------------------------------------------------------------------
function tapService(code) {
  if (state.busy) return;
  const s = serviceList().find((x) => x.code === code);
  if (s && s.confirm) { askConfirm(s, () => issue(code, tapKey())); return; }
  issue(code, tapKey());
}

function askConfirm(s, yes) {
  confirmYes = yes;
  $("confirm-title").textContent = label(s, s.availability_zh || t("kiosk.unserved_title"), s.availability_en);
  $("confirm-text").textContent = t("kiosk.unserved_text");
  $("confirm").classList.remove("hidden");
  $("confirm-no").focus();
  say("unavailable");
}

function closeConfirm() {
  confirmYes = null;
  $("confirm").classList.add("hidden");
}

// The one kiosk path: the server binds the ticket to this kiosk's card session (when a card
// lies on the reader) and prints it on this kiosk's printer; the answer is the ticket plus
// print: {state, printed, fault}. The same key again answers the same ticket (never a second).
function issueTicket(code, key) {
  return request("POST", `/api/kiosks/${K}/tickets`, {
    body: { service: code }, timeoutMs: ISSUE_TIMEOUT_MS, headers: { "Idempotency-Key": key },
  });
}

async function issue(code, key) {
  if (state.busy) return;
  const gen = ++state.gen;
  state.busy = true;
  state.pending = { code, key };
  state.sessionAge = state.session ? state.session.age : null;
  hideAlert();
  $("busy-slow").classList.add("hidden");
  $("busy-cancel").classList.add("hidden");
  show("busy");
  clearTimeout(slowTimer);
  slowTimer = setTimeout(() => {
    $("busy-slow").classList.remove("hidden");
    $("busy-cancel").classList.remove("hidden");
  }, SLOW_MS);
  try {
    let tk;
    try {
      tk = await issueTicket(code, key);
    } catch (e) {
      if (!transient(e) || gen !== state.gen) throw e;
      // no answer: the ticket may exist — ask again with the same key (the server answers that ticket)
      $("busy-slow").classList.remove("hidden");
      $("busy-cancel").classList.remove("hidden");
      say("network");
      tk = await issueTicket(code, key);
    }
    if (gen !== state.gen) return;        // reset meanwhile
    state.pending = null;
    showTicket(tk);
  } catch (e) {
    if (gen !== state.gen || e.code === "aborted") return;
    showHome();
    issueError(e, transient(e) ? () => issue(code, key) : null);
  } finally {
    clearTimeout(slowTimer);
    if (gen === state.gen) state.busy = false;
    refreshHall();
  }
}

// as displays/wording.py priority_label: at a kiosk only the card's age gives a priority ticket
function priorityLabel(tk) {
  if (tk.priority === "green") return t("kiosk.priority_green");
  if (tk.priority !== "priority") return "";
  const elderly = tk.channel === "kiosk" || (ELDERLY_AGE && state.sessionAge >= ELDERLY_AGE);
  return t(elderly ? "kiosk.priority_elderly" : "kiosk.priority_plain");
}

function showTicket(tk) {
  const print = tk.print || { printed: false, fault: null };
  const fault = !print.printed;
  $("t-number").textContent = tk.number;
  $("t-service").textContent = localName(tk, "service_name") || tk.service;
  const prio = priorityLabel(tk);
  $("t-priority").textContent = prio;
  $("t-priority").classList.toggle("hidden", !prio);
  const svc = serviceList().find((x) => x.code === tk.service);
  const unserved = svc && svc.availability && svc.availability !== "available" && svc.availability_zh;
  $("t-ahead").textContent = unserved ? label(svc, svc.availability_zh, svc.availability_en) +
      (tk.ahead ? " · " + t("kiosk.ahead", { n: tk.ahead }) : "")   // never "前面没有人" when nobody serves it
    : tk.ahead ? t("kiosk.ahead", { n: tk.ahead }) : t("kiosk.next_up");
  $("t-ahead").classList.toggle("k-line-warn", Boolean(unserved));
  const range = Array.isArray(tk.eta_range) && tk.eta_range.length === 2 ? tk.eta_range : null;
  $("t-eta").textContent = !tk.ahead ? ""
    : range ? t("kiosk.eta_range_long", { lo: range[0], hi: range[1] })
    : tk.eta_minutes ? t("kiosk.eta_long", { m: tk.eta_minutes }) : "";
  $("t-qr").src = `/api/tickets/${encodeURIComponent(tk.token)}/qr.svg`;
  $("t-qr-caption").textContent = t(fault ? "kiosk.qr_caption_fault" : "kiosk.qr_caption");
  const notice = NOTICES[tk.service] || "";
  $("t-notice-text").textContent = notice;
  $("t-notice").classList.toggle("hidden", !notice);
  $("fault").classList.toggle("hidden", !fault);
  $("fault-staff").classList.toggle("hidden", !(fault && tk.staff_alerted));
  $("t-printed").classList.toggle("hidden", fault);
  $("ticket").classList.toggle("fault", fault);
  $("ticket").dataset.printed = fault ? "false" : "true";
  $("ticket").dataset.fault = print.fault || "";
  $("ticket").dataset.priority = tk.priority || "";
  $("ticket").querySelector(".k-label").textContent = t(fault ? "kiosk.remember_number" : "kiosk.your_number");
  show("ticket");
  say(fault ? "ticket_fault" : "ticket", { number: tk.number, n: tk.ahead ?? 0 });
  clearTimeout(ticketTimer);
  ticketTimer = setTimeout(resetKiosk, slow(fault ? 3 * TICKET_MS : TICKET_MS));
}

function showHome() {
  clearTimeout(ticketTimer);
  show("home");
  renderBanner();
}

// ---- call staff ------------------------------------------------------------------------------
async function callStaff() {
  const btn = $("help");
  btn.disabled = true;
  try {
    await request("POST", `/api/kiosks/${K}/help`, { timeoutMs: 8000 });
    showAlert({ kind: "ok", title: t("kiosk.help_sent"), text: t("kiosk.help_wait"), prompt: "help" });
  } catch (e) {
    showAlert({ title: t("kiosk.help_failed"), text: t("kiosk.help_failed_text"), prompt: "offline" });
  } finally {
    setTimeout(() => { btn.disabled = false; }, 3000);
  }
}

// ---- idle reset, language, speech -------------------------------------------------------------
/** Back to a WORKING start screen: nothing in flight, nothing busy, Chinese, normal mode. */
async function resetKiosk() {
  state.gen++;              // any answer still on its way is for nobody now
  abortAll();
  state.busy = false;
  if (state.pending) keepAbandoned(state.pending);   // its ticket may exist: settle it on the home screen
  state.pending = null;
  clearTimeout(slowTimer);
  hideAlert();
  closeConfirm();
  stopVoice();
  if (state.elder) setElder(false);
  showHome();
  if (lang() !== "zh-CN") await switchLang("zh-CN");
  state.speech = document.body.dataset.voice === "on";   // the next person starts with the hall's default
  setSpeech(state.speech);
  if (state.session) await endSession();
  $("services").scrollTop = 0;
  window.scrollTo(0, 0);
  refreshHall();
  reconcileTap();
}

// ---- a tap abandoned before its answer (server/kiosk/reconcile.py has the rule) ----------------
// The idle reset or 取消 dropped a tap whose answer never came; it may have issued a ticket. Its
// key is kept (localStorage: a reload keeps it too) and the next home screen asks the server, which
// keeps a printed ticket (the paper exists) and cancels an unprinted one nobody saw — never a
// second ticket, never a silent lost one. "pending" (still issuing/printing) asks again later.
const ABANDONED = `hallq.kiosk.${KIOSK}.abandoned`;
const RECONCILE_RETRY_MS = secs("reconcile", 5);
let reconcileTimer = null;

function keepAbandoned(pending) {
  try { localStorage.setItem(ABANDONED, JSON.stringify({ ...pending, at: Date.now() })); } catch (e) { /* private mode */ }
}

async function reconcileTap() {
  clearTimeout(reconcileTimer);
  let tap = null;
  try { tap = JSON.parse(localStorage.getItem(ABANDONED) || "null"); } catch (e) { tap = null; }
  if (!tap || !tap.key) return;
  if (Date.now() - (tap.at || 0) > 23 * 3600 * 1000) { localStorage.removeItem(ABANDONED); return; }   // keys live a day
  try {
    const r = await request("POST", `/api/kiosks/${K}/requests/${encodeURIComponent(tap.key)}/reconcile`);
    document.body.dataset.reconciled = r.outcome;   // for staff debugging and tests
    if (r.outcome === "pending") { reconcileTimer = setTimeout(reconcileTap, RECONCILE_RETRY_MS); return; }
    localStorage.removeItem(ABANDONED);
  } catch (e) {
    if (e.status === 404 || e.status === 422) { localStorage.removeItem(ABANDONED); return; }   // not ours to settle
    reconcileTimer = setTimeout(reconcileTap, RECONCILE_RETRY_MS);   // offline: keep it and ask again
  }
}

function poke() {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => { if ($("ticket").classList.contains("hidden")) resetKiosk(); }, slow(IDLE_MS));
}

async function switchLang(to) {
  await setLang(to);
  renderServices();
  renderBanner();
  setSpeech(state.speech);
  setElderLabel();
}

function setElderLabel() {
  $("elder").textContent = t(state.elder ? "kiosk.elder_off" : "kiosk.elder_mode");
}

function setSpeech(on) {
  state.speech = on;
  const b = $("speech");
  b.setAttribute("aria-pressed", on ? "true" : "false");
  b.textContent = t(on ? "kiosk.speech_on" : "kiosk.speech_off");
}

function bind() {
  $("services").addEventListener("click", (e) => {
    const btn = e.target.closest(".k-svc");
    if (btn && !btn.disabled) tapService(btn.dataset.code);
  });
  $("lang").addEventListener("click", () => switchLang(lang() === "zh-CN" ? "en" : "zh-CN"));
  $("speech").addEventListener("click", () => { setSpeech(!state.speech); say("welcome"); });
  $("elder").addEventListener("click", () => { setElder(!state.elder); if (state.elder) say("elderly_on"); });
  $("page-prev").addEventListener("click", () => { state.page--; renderServices(); });
  $("page-next").addEventListener("click", () => { state.page++; renderServices(); });
  $("done").addEventListener("click", resetKiosk);
  $("end-session").addEventListener("click", endSession);
  $("busy-cancel").addEventListener("click", resetKiosk);
  $("help").addEventListener("click", callStaff);
  $("alert-retry").addEventListener("click", (e) => {
    e.stopPropagation();
    const retry = alertRetry;
    hideAlert();
    if (retry) retry();
  });
  $("alert-ok").addEventListener("click", (e) => { e.stopPropagation(); hideAlert(); });
  // touching anywhere on the box (not only its button) dismisses it
  $("alert").addEventListener("click", (e) => { if (e.target.closest("#alert-retry")) return; hideAlert(); });
  $("confirm-yes").addEventListener("click", () => { const yes = confirmYes; closeConfirm(); if (yes) yes(); });
  $("confirm-no").addEventListener("click", closeConfirm);
  for (const ev of ["pointerdown", "keydown"]) document.addEventListener(ev, poke, { passive: true });
  window.addEventListener("offline", () => document.body.dataset.online = "false");
  window.addEventListener("online", () => { document.body.dataset.online = "true"; refreshHall(); });
}

async function main() {
  // the kiosk browser signs in once with its device token (/auth/device)
  const me = await whoami();
  if (me === null || (me && (me.role !== "kiosk" || me.kiosk !== KIOSK))) { toSignIn("device"); return; }
  await setLang(initialLang("zh-CN"));
  startClock($("clock"));
  setSpeech(state.speech);
  setElderLabel();
  renderServices();
  bind();
  poke();
  const feed = new Feed(["hall", `kiosk:${KIOSK}`], {
    onSnapshot, onEvent, onStatus: bindStatus($("conn"), t),
  });
  feed.start();
  refreshHall();
  reconcileTap();   // a tap abandoned before a reload
  loadDevices();
  setInterval(loadDevices, DEVICE_POLL_MS);
  window.hallqKiosk = { state, feed, reset: resetKiosk };   // for tests and field debugging
}

main();
