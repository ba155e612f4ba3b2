// 好差评 on the citizen's phone page (channel 二维码): five levels after 办结, and for 不满意/非常不满意 the
// hall's reasons (GET /api/rating-reasons) and free text. One rating per ticket whatever the channel: a
// rating given elsewhere first (window screen, evaluator) shows "已评价" (ticket.rating, or the 409).
// ticket.js announces every render of the ticket as the "hallq:ticket" event.
import { t, problemText } from "/static/common/i18n.js";
import { get, post } from "/static/common/api.js";
import { toast } from "/static/common/ui.js";

const $ = (id) => document.getElementById(id);
const TOKEN = document.body.dataset.token;
const BAD = new Set([1, 2]);
const st = { ticket: null, reasons: null, level: null, done: "", sending: false };

async function reasons() {
  if (st.reasons) return st.reasons;
  try { st.reasons = await get("/api/rating-reasons"); } catch (e) { st.reasons = { reasons: [], text_max: 200, required: false }; }
  return st.reasons;
}

function show() {
  const tk = st.ticket;
  const rated = st.done || (tk && tk.rating != null ? "already" : "");
  const open = Boolean(tk && tk.state === "done" && !rated);
  $("rate").classList.toggle("hidden", !open);
  $("rate-done").classList.toggle("hidden", !rated);
  if (rated) $("rate-done").textContent = t(rated === "thanks" ? "ticket.rate_thanks" : "ticket.rate_already");
  document.body.dataset.rating = rated || (open ? "open" : "");
}

function levels() {
  st.level = null;
  $("rate-levels").classList.remove("hidden");
  $("rate-reasons").classList.add("hidden");
}

function counter() {
  const max = st.reasons ? st.reasons.text_max : 200;
  $("reason-count").textContent = t("ticket.reasons_count", { n: $("reason-text").value.length, max });
}

function chosen() {
  return [...document.querySelectorAll("#reason-list button[aria-pressed=true]")].map((b) => b.dataset.reason);
}

function canSend() {
  $("reason-send").disabled = st.sending || (Boolean(st.reasons && st.reasons.required) && chosen().length === 0);
}

async function pick(level) {
  if (!BAD.has(level)) { await send(level, [], null); return; }
  const data = await reasons();
  st.level = level;
  const box = $("reason-list");
  box.replaceChildren(...data.reasons.map((r) => {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.reason = r.code;
    b.textContent = r.name;
    b.setAttribute("aria-pressed", "false");
    return b;
  }));
  const text = $("reason-text");
  text.value = "";
  text.maxLength = data.text_max;
  text.placeholder = t("ticket.reasons_text");
  counter();
  canSend();
  $("rate-levels").classList.add("hidden");
  $("rate-reasons").classList.remove("hidden");
  (box.querySelector("button") || text).focus();
}

async function send(level, codes, text) {
  if (st.sending) return;
  st.sending = true;
  canSend();
  try {
    const tk = await post(`/api/tickets/by-token/${encodeURIComponent(TOKEN)}/rating`, { level, reasons: codes, text });
    st.done = "thanks";
    st.ticket = tk;
  } catch (e) {
    if (e.code === "already_rated") st.done = "already";   // another channel was first (一次一评)
    else toast(problemText(e.problem), "error");
  } finally {
    st.sending = false;
    canSend();
  }
  show();
  if (st.done) $("rate-done").focus();
}

document.addEventListener("hallq:ticket", (ev) => {
  const tk = ev.detail;
  // a feed snapshot may lag our own rating: keep "thanks" once given
  st.ticket = st.ticket && st.ticket.id === tk.id && st.ticket.rating != null && tk.rating == null
    ? { ...tk, rating: st.ticket.rating } : tk;
  show();
});
$("rate-levels").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-level]");
  if (b) pick(Number(b.dataset.level));
});
$("reason-list").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-reason]");
  if (!b) return;
  b.setAttribute("aria-pressed", b.getAttribute("aria-pressed") === "true" ? "false" : "true");
  canSend();
});
$("reason-text").addEventListener("input", counter);
$("reason-back").addEventListener("click", levels);
$("reason-send").addEventListener("click", () => {
  if (st.level !== null) send(st.level, chosen(), $("reason-text").value.trim() || null);
});
$("rate-done").tabIndex = -1;
