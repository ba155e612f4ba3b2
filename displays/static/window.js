// Window display: window, clerk, current number and status; the 好差评 tablet evaluator.
import { Feed, bindStatus } from "/static/common/ws.js";
import { setLang, t, problemText, initialLang } from "/static/common/i18n.js";
import { get, post, whoami, toSignIn } from "/static/common/api.js";
import { toast, throttle } from "/static/common/ui.js";
import { parseClerk } from "/static/common/clerk.js";
import { fitStage } from "/static/common/stage.js";

const N = Number(document.body.dataset.window);
const RATE_TIMEOUT_MS = 60000;   // an unanswered request means "not rated"
const $ = (id) => document.getElementById(id);
const state = { window: null, rating: null };
let rateTimer = null;

function render() {
  const w = state.window;
  if (!w) return;
  $("w-name").textContent = w.name || t("hall.window_n", { n: N });
  $("w-zone").textContent = w.zone || "";
  const clerk = parseClerk(w.clerk);
  $("w-clerk-name").textContent = clerk.name || "—";
  $("w-staff").textContent = clerk.staffNo || "—";
  if (w.clerk_photo) $("w-photo").src = w.clerk_photo;
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

const refresh = throttle(async () => {
  try { state.window = await get(`/api/windows/${N}`); render(); } catch (e) { /* feed reconnects */ }
}, 500);

// ---- rating ----------------------------------------------------------------------------
function askRating(ticket) {
  state.rating = ticket;
  $("rate-number").textContent = t("window.rate_for", { number: ticket.number });
  for (const b of document.querySelectorAll(".w-rate-buttons button")) b.disabled = false;
  $("rate").querySelector(".w-rate-box").classList.remove("hidden");
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

async function rate(level) {
  const ticket = state.rating;
  if (!ticket) return;
  for (const b of document.querySelectorAll(".w-rate-buttons button")) b.disabled = true;
  try {
    await post(`/api/tickets/${ticket.id}/rating`, { level, source: "evaluator" });
    thank();
  } catch (e) {
    if (e.code === "already_rated") { thank(); return; }
    toast(problemText(e.problem), "error");
    for (const b of document.querySelectorAll(".w-rate-buttons button")) b.disabled = false;
  }
}

function thank() {
  $("rate").querySelector(".w-rate-box").classList.add("hidden");
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
}

async function main() {
  fitStage($("stage"), 1280, 800);
  // the window's screen signs in with its display token (display:w<n> may record ratings)
  if ((await whoami()) === null) { toSignIn("device"); return; }
  await setLang(initialLang("zh-CN"));
  $("rate").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-level]");
    if (b && !b.disabled) rate(Number(b.dataset.level));
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
