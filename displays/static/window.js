// Window display: window, clerk, current number and status; the 好差评 tablet evaluator.
import { Feed, bindStatus } from "/static/common/ws.js";
import { setLang, t, problemText, initialLang } from "/static/common/i18n.js";
import { get, post, whoami, toSignIn } from "/static/common/api.js";
import { toast, throttle } from "/static/common/ui.js";
import { fitStage } from "/static/common/stage.js";

const N = Number(document.body.dataset.window);
const RATE_TIMEOUT_MS = 60000;   // an unanswered request means "not rated"
const $ = (id) => document.getElementById(id);
const BAD = new Set([1, 2]);        // 不满意, 非常不满意: 差评, reasons offered (GET /api/rating-reasons)
const state = { window: null, rating: null, level: null, reasons: null };
let rateTimer = null;

function render() {
  const w = state.window;
  if (!w) return;
  $("w-name").textContent = w.name || t("hall.window_n", { n: N });
  $("w-zone").textContent = w.zone || "";
  renderClerk(w);
  const cur = w.current;
  const status = $("w-status");
  const number = $("w-number");
  status.className = "w-status " + w.state;
  if (w.state === "closed") {
    status.textContent = t("window.closed");
    number.textContent = t("window.closed_short");
  } else if (w.state === "paused") {
    status.textContent = t("window.paused") + (w.pause_reason ? "：" + w.pause_reason : "");
    number.textContent = cur ? cur.number : "";
  } else if (cur) {
    status.textContent = t(cur.state === "serving" ? "window.serving" : "window.calling");
    number.textContent = cur.number;
  } else {
    status.textContent = t("window.idle");
    number.textContent = "";
  }
  number.classList.toggle("idle", !cur);
  $("w-service").textContent = cur ? (cur.service_name || cur.service)
    : w.state === "paused" || w.state === "closed" ? t("window.go_elsewhere") : t("window.idle_hint");
  document.body.dataset.state = w.state;
  document.body.dataset.number = cur ? cur.number : "";
}

// ---- the clerk from the staff directory (GET /api/staff/card): never a typed name ----------
const SILHOUETTE = "/static/common/silhouette.svg";
let cardFor = null;   // the 工号 the shown card belongs to

function renderClerk(w) {
  const staffNo = w.state === "closed" ? "" : (w.clerk || "");
  if (staffNo === cardFor) return;
  cardFor = staffNo;
  showCard(null);
  if (staffNo) loadCard(staffNo);
}

async function loadCard(staffNo) {
  let card = null;
  try { card = await get(`/api/staff/card?window=${N}`); } catch (e) { card = null; }
  if (cardFor === staffNo) showCard(card);
}

function showCard(card) {
  $("w-clerk-name").textContent = card ? card.name : "—";
  $("w-staff").textContent = card ? card.staff_no : "—";
  $("w-dept").textContent = card ? card.department || "" : "";
  $("w-photo").src = card && card.photo ? `${card.photo}&size=256` : SILHOUETTE;
  const stars = card && card.stars;
  $("w-stars-box").classList.toggle("hidden", !stars);
  if (!stars) return;
  const box = $("w-stars");
  box.replaceChildren(...[1, 2, 3, 4, 5].map((i) => {
    const s = document.createElement("span");
    s.className = "star";
    s.textContent = "★";
    s.dataset.fill = stars.stars >= i ? "1" : stars.stars >= i - 0.5 ? "0.5" : "0";
    return s;
  }));
  box.setAttribute("aria-label", `${t("window.stars")} ${stars.stars}`);
  $("w-satisfaction").textContent = t("window.satisfaction",
    { pct: Math.round(stars.satisfaction * 100), days: stars.days });
}

const refresh = throttle(async () => {
  try { state.window = await get(`/api/windows/${N}`); render(); } catch (e) { /* feed reconnects */ }
}, 500);

// ---- rating ----------------------------------------------------------------------------
function askRating(ticket) {
  state.rating = ticket;
  $("rate-number").textContent = t("window.rate_for", { number: ticket.number });
  for (const b of document.querySelectorAll(".w-rate-buttons button")) b.disabled = false;
  $("rate").querySelector(".w-rate-box").classList.remove("hidden");
  $("rate-reasons").classList.add("hidden");
  $("rate-thanks").classList.add("hidden");
  $("rate").classList.remove("hidden");
  clearTimeout(rateTimer);
  rateTimer = setTimeout(closeRating, RATE_TIMEOUT_MS);
}

function closeRating() {
  clearTimeout(rateTimer);
  state.rating = null;
  $("rate").classList.add("hidden");
}

function pick(level) {
  const list = state.reasons ? state.reasons.reasons : [];
  if (!BAD.has(level) || !list.length) { rate(level, [], ""); return; }
  state.level = level;  // a 差评: offer the reasons (评价内容) and free text first
  const box = $("reason-list");
  box.replaceChildren(...list.map((r) => {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.reason = r.code;
    b.setAttribute("aria-pressed", "false");
    b.textContent = r.name;
    return b;
  }));
  const text = $("reason-text");
  text.value = "";
  text.maxLength = state.reasons.text_max;
  text.placeholder = t("window.reasons_text");
  $("rate").querySelector(".w-rate-box").classList.add("hidden");
  $("rate-reasons").classList.remove("hidden");
  updateSend();
}

function chosen() {
  return [...document.querySelectorAll("#reason-list button[aria-pressed=true]")].map((b) => b.dataset.reason);
}

function updateSend() {
  $("reason-send").disabled = Boolean(state.reasons && state.reasons.required) && chosen().length === 0;
}

function backToLevels() {
  state.level = null;
  $("rate-reasons").classList.add("hidden");
  $("rate").querySelector(".w-rate-box").classList.remove("hidden");
}

async function rate(level, reasons, text) {
  const ticket = state.rating;
  if (!ticket) return;
  const buttons = document.querySelectorAll(".w-rate-buttons button, #reason-send");
  for (const b of buttons) b.disabled = true;
  try {
    await post(`/api/tickets/${ticket.id}/rating`, { level, source: "window", reasons, text: text || null });
    thank();
  } catch (e) {
    if (e.code === "already_rated") { thank(); return; }
    toast(problemText(e.problem), "error");
    for (const b of buttons) b.disabled = false;
  }
}

function thank() {
  $("rate").querySelector(".w-rate-box").classList.add("hidden");
  $("rate-reasons").classList.add("hidden");
  $("rate-thanks").classList.remove("hidden");
  clearTimeout(rateTimer);
  rateTimer = setTimeout(closeRating, 3000);
}

// ---- feed -------------------------------------------------------------------------------
function onEvent(msg) {
  const d = msg.data || {};
  if (d.window && d.window.number === N) { state.window = d.window; render(); }
  if (msg.type === "rating.requested" && d.ticket) askRating(d.ticket);
  else if (msg.type === "ticket.rated" && state.rating && d.ticket && d.ticket.id === state.rating.id) thank();
  if (msg.type.startsWith("ticket.") && !d.window) refresh();
  if (msg.type === "ticket.rated" && cardFor) loadCard(cardFor);   // the stars may have moved
  // --- live configuration (window_phone.js): config.changed also goes to window:<n> ---
  if (msg.type === "config.changed") document.dispatchEvent(new CustomEvent("hallq:config", { detail: d }));
  // --- end live configuration ---
}

async function main() {
  fitStage($("stage"), 1280, 800);
  // the window's screen signs in with its display token (display:w<n> may record ratings)
  if ((await whoami()) === null) { toSignIn("device"); return; }
  await setLang(initialLang("zh-CN"));
  try { state.reasons = await get("/api/rating-reasons"); } catch (e) { state.reasons = null; }
  $("rate").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-level]");
    if (b && !b.disabled) pick(Number(b.dataset.level));
    const r = e.target.closest("button[data-reason]");
    if (r) { r.setAttribute("aria-pressed", String(r.getAttribute("aria-pressed") !== "true")); updateSend(); }
  });
  $("reason-back").addEventListener("click", backToLevels);
  $("reason-send").addEventListener("click", () => {
    if (state.level !== null) rate(state.level, chosen(), $("reason-text").value.trim());
  });
  const feed = new Feed([`window:${N}`], {
    onSnapshot: (topic, data) => { if (data && data.window) { state.window = data.window; render(); } },
    onEvent,
    onStatus: bindStatus($("conn"), t),
  });
  feed.start();
  window.hallqWindow = { state, feed };
}

main();
