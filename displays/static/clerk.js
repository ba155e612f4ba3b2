// Clerk console: sign in to a window, call/serve tickets, waiting list, keyboard shortcuts.
import { Feed, bindStatus } from "/static/common/ws.js";
import { setLang, lang, t, problemText, initialLang } from "/static/common/i18n.js";
import { get, post, esc, elapsed, whoami } from "/static/common/api.js";
import { toast, throttle } from "/static/common/ui.js";
import { formatClerk, parseClerk } from "/static/common/clerk.js";
import { applyDesk, chosenTransfer, pauseLabel, tt, fillPauseReasons, initDesk, loadOptions, openProxy, openTransfer, pauseReason,
  refreshCallBacks, renderCallBacks } from "/static/clerk_desk.js";
import { AUTO_OPEN_KEY, showDirectory } from "/static/clerk_signin.js";

const STORE_KEY = "hallq.clerk";
const LATE_SECONDS = 15 * 60;
const KEYS = { n: "call-next", r: "recall", s: "start", f: "finish", x: "no-show", h: "suspend",
  t: "transfer", e: "request-rating", p: "pause" };
const DESK_KEYS = { d: "proxy", g: "green" };  // 代取号 and 绿色通道 (server/console/)
const $ = (id) => document.getElementById(id);
const state = { me: null, hall: null, number: null, window: null, waiting: [], feed: null, lastDone: null };
const isClerk = () => state.me && state.me.role === "clerk";

// ---- sign in -------------------------------------------------------------------------
function fillSignin() {
  const saved = JSON.parse(localStorage.getItem(STORE_KEY) || "{}");
  let windows = (state.hall && state.hall.windows) || [];
  if (isClerk()) {
    // a clerk account works only at the window it signed into (工号 = user name)
    windows = windows.filter((w) => w.number === state.me.window);
    saved.window = state.me.window;
    saved.staffNo = state.me.staff_no || state.me.subject;
    saved.name = state.me.name || saved.name;
  }
  $("in-window").innerHTML = windows.map((w) =>
    `<option value="${w.number}">${esc(w.name || t("hall.window_n", { n: w.number }))}</option>`).join("");
  if (saved.window) $("in-window").value = String(saved.window);
  $("in-staff").value = saved.staffNo || "";
  $("in-name").value = saved.name || "";
  for (const id of ["in-window", "in-staff"]) $(id).disabled = isClerk();
}

async function signIn(ev) {
  ev.preventDefault();
  const number = Number($("in-window").value);
  const staffNo = $("in-staff").value.trim();
  const name = $("in-name").value.trim();
  try {
    state.window = await post(`/api/windows/${number}/open`, { clerk: formatClerk(staffNo, name) });
  } catch (e) {
    $("signin").classList.remove("hidden");
    toast(problemText(e.problem), "error");
    return;
  }
  localStorage.setItem(STORE_KEY, JSON.stringify({ window: number, staffNo, name }));
  enterConsole(number);
}

async function signOut() {
  try { await post(`/api/windows/${state.number}/close`); } catch (e) { toast(problemText(e.problem), "error"); return; }
  localStorage.removeItem(STORE_KEY);
  if (isClerk()) {   // the clerk's session ends with the shift at this window
    try { await post("/auth/logout"); } catch (e) { /* the session is gone either way */ }
    location.assign("/clerk");   // back to the directory sign-in
    return;
  }
  if (state.feed) state.feed.stop();
  state.feed = null;
  state.number = null;
  $("console").classList.add("hidden");
  $("signout").classList.add("hidden");
  $("signin").classList.remove("hidden");
  $("who").textContent = "";
  $("win-state").textContent = "";
  fillSignin();
}

function enterConsole(number) {
  state.number = number;
  $("signin").classList.add("hidden");
  $("console").classList.remove("hidden");
  $("signout").classList.remove("hidden");
  document.body.dataset.window = String(number);
  // "hall" too: a newly issued ticket has no window yet, so only the hall topic carries it
  const topics = [`window:${number}`, "hall"];
  if (state.feed) state.feed.setTopics(topics);
  else state.feed = new Feed(topics, { onSnapshot, onEvent, onStatus: bindStatus($("conn"), t) }).start();
  render();
  refreshCallBacks(number);
}

// ---- rendering --------------------------------------------------------------------------
function render() {
  const w = state.window;
  if (!w) return;
  const clerk = parseClerk(w.clerk);
  // the window carries the 工号 only (the staff directory); the signed-in clerk's own name comes from the account
  const mine = state.me && state.me.name && w.clerk === state.me.subject;
  const who = mine ? `${state.me.name}（${state.me.subject}）`
    : clerk.name && clerk.staffNo ? `${clerk.name}（${clerk.staffNo}）` : clerk.name || clerk.staffNo || "";
  $("who").textContent = `${w.name || t("hall.window_n", { n: w.number })} · ${who}`;
  const badge = $("win-state");
  badge.className = "cl-badge " + w.state;
  badge.textContent = t("wstate." + w.state) + (w.state === "paused" && w.pause_reason ? `：${pauseLabel(w.pause_reason)}` : "");
  const cur = w.current;
  $("cur-number").textContent = cur ? cur.number : "—";
  $("cur-number").classList.toggle("idle", !cur);
  $("cur-service").textContent = cur ? (cur.service_name || cur.service) : t("clerk.no_current");
  const meta = [];
  if (cur) {
    meta.push(t("cstate." + cur.state));
    if (cur.issued_at) meta.push(t("clerk.issued_at", { time: new Date(cur.issued_at).toTimeString().slice(0, 5) }));
    if (cur.priority && cur.priority !== "normal") meta.push(t("priority." + cur.priority));
    if (cur.recall_count) meta.push(t("clerk.recalls", { n: cur.recall_count }));
    if (cur.masked_name) meta.push(cur.masked_name);
  }
  $("cur-meta").textContent = meta.join(" · ");
  document.body.dataset.current = cur ? cur.number : "";
  document.body.dataset.state = w.state;
  tick();
  enableActions();
  renderCallBacks(!!cur, hallOpen());
}

const hallOpen = () => !(state.hall && state.hall.hall && state.hall.hall.open_now === false);

function enableActions() {
  const w = state.window;
  const cur = w && w.current;
  const open = w && w.state !== "closed";
  const paused = w && w.state === "paused";
  const can = {
    "call-next": open && !paused && !cur,
    recall: cur && cur.state === "called",
    start: cur && cur.state === "called",
    finish: cur && cur.state === "serving",
    "no-show": cur && cur.state === "called",
    suspend: !!cur,
    transfer: !!cur,
    "request-rating": !cur && !!state.lastDone,  // rating only after 办结 (the server refuses earlier)
    pause: open,
  };
  for (const b of document.querySelectorAll("#actions button")) b.disabled = !can[b.dataset.act];
  const pauseLabel = $("pause-btn").querySelector("span");
  pauseLabel.textContent = t(paused ? "clerk.resume" : "clerk.pause");
}

function tick() {
  const cur = state.window && state.window.current;
  const el = $("cur-timer");
  const since = cur ? (cur.state === "serving" ? cur.started_at : cur.called_at) : null;
  el.textContent = since ? elapsed(since) : "";
  el.classList.toggle("late", !!since && (Date.now() - Date.parse(since)) / 1000 > LATE_SECONDS);
}

function renderWaiting() {
  const rows = state.waiting.map((tk) => {
    const prio = tk.priority && tk.priority !== "normal"
      ? `<span class="${tk.priority === "green" ? "green" : "prio"}">${esc(t("priority." + tk.priority))}</span>` : "";
    return `<tr data-id="${tk.id}"><td class="num">${esc(tk.number)}</td><td>${esc(tk.service_name || tk.service)}</td>` +
      `<td>${prio}${tk.channel === "staff" ? ` <span class="cl-daiban">${esc(tt("daiban"))}</span>` : ""}</td>` +
      `<td>${esc(elapsed(tk.issued_at))}</td>` +
      `<td><button data-call="${tk.id}">${esc(t("clerk.call_this"))}</button></td></tr>`;
  });
  $("waiting").innerHTML = rows.join("") ||
    `<tr><td colspan="5">${esc(t("clerk.nobody_waiting"))}</td></tr>`;
  $("wait-count").textContent = String(state.waiting.length);
}

const refreshWaiting = throttle(async () => {
  if (!state.number) return;
  try {
    state.waiting = await get(`/api/windows/${state.number}/waiting`);
    renderWaiting();
  } catch (e) { /* feed reconnects */ }
}, 700);

const refreshBacks = throttle(() => refreshCallBacks(state.number), 700);

const refreshWindow = throttle(async () => {
  if (!state.number) return;
  try { state.window = await get(`/api/windows/${state.number}`); render(); } catch (e) { /* feed reconnects */ }
}, 300);

// ---- feed ----------------------------------------------------------------------------------
function onSnapshot(topic, data) {
  if (topic === "hall" && data && data.windows) { state.hall = data; return; }
  if (!data || topic !== `window:${state.number}`) return;
  state.window = data.window;
  state.waiting = data.waiting || [];
  render();
  renderWaiting();
}

function onEvent(msg) {
  const d = msg.data || {};
  if (d.window && d.window.number === state.number) { state.window = d.window; render(); } else if (msg.type.startsWith("ticket.")) refreshWindow();
  if (msg.type === "ticket.finished" && d.ticket) { state.lastDone = d.ticket; enableActions(); }
  if (msg.type === "ticket.rated" && state.lastDone && d.ticket && d.ticket.id === state.lastDone.id) {
    toast(t("clerk.rated", { number: d.ticket.number, level: t("rating." + d.ticket.rating) }));
    state.lastDone = null;
    enableActions();
  }
  if (msg.type.startsWith("ticket.")) { refreshWaiting(); refreshBacks(); }
  // ---- [supervision] a rule's alert sent to this window (server/alerts/inbox.py, topic window:<n>) ----
  if (msg.type === "window.notice" && d.alert) toast(`督办提醒：${d.alert.message}`, "error", 15000);
  // ---- [/supervision] ----
}

// ---- actions -------------------------------------------------------------------------------
async function act(action, body) {
  if (!state.number) return;
  try {
    const res = await post(`/api/windows/${state.number}/${action}`, body || {});
    if (action === "call-next" && res === null) toast(t("clerk.nobody_waiting"));
    if (action === "request-rating") toast(t("clerk.rating_asked"));
    if (action === "start" || action === "finish") state.lastDone = action === "finish" ? res : null;
    refreshWindow();
    refreshWaiting();
    refreshBacks();
  } catch (e) {
    toast(problemText(e.problem), "error");
  }
}

function closeTransfer() {
  const body = chosenTransfer();
  if (body) act("transfer", body);
}

function pauseOrResume() {
  if (state.window && state.window.state === "paused") { act("resume"); return; }
  const dlg = $("dlg-pause");
  dlg.returnValue = "";
  dlg.showModal();
}

function closePause() {
  const dlg = $("dlg-pause");
  if (dlg.returnValue !== "ok") return;
  const note = $("pause-note").value.trim();
  act("pause", { reason: pauseReason(note) });  // Chinese on the public screens whatever the console language
}

function run(action) {
  const btn = document.querySelector(`#actions button[data-act="${action}"]`);
  if (btn && btn.disabled) return;
  if (action === "transfer") openTransfer(state.number);
  else if (action === "pause") pauseOrResume();
  else act(action);
}

function onKey(e) {
  if (!state.number || e.ctrlKey || e.altKey || e.metaKey) return;
  if (document.querySelector("dialog[open]") || ["INPUT", "SELECT", "TEXTAREA"].includes(e.target.tagName)) return;
  const desk = DESK_KEYS[e.key.toLowerCase()];
  if (desk) { e.preventDefault(); openProxy(desk, state.hall); return; }
  const action = KEYS[e.key.toLowerCase()];
  if (action) { e.preventDefault(); run(action); }
}

async function main() {
  const me = await whoami();
  if (me === null) {   // nobody signed in: the staff directory picker (server/staff/, GET /api/staff?window=N)
    await setLang(initialLang("zh-CN"));
    applyDesk();
    $("lang").addEventListener("click", async () => { await setLang(lang() === "zh-CN" ? "en" : "zh-CN"); applyDesk(); });
    showDirectory();
    return;
  }
  if (me && me.must_change_password) { location.assign("/auth/password?next=/clerk"); return; }
  state.me = me || null;
  await setLang(initialLang("zh-CN"));
  try { state.hall = await get("/api/hall"); } catch (e) { toast(problemText(e.problem), "error"); }
  if (isClerk() && !state.me.window) toast(t("clerk.no_window"), "error", 15000);
  await loadOptions();
  fillPauseReasons();
  initDesk({ hall: () => state.hall, callBack: (id) => act("call", { ticket_id: id }) });
  fillSignin();
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", signOut);
  $("lang").addEventListener("click", async () => { await setLang(lang() === "zh-CN" ? "en" : "zh-CN"); applyDesk(); fillPauseReasons(); render(); renderWaiting(); });
  $("actions").addEventListener("click", (e) => { const b = e.target.closest("button"); if (b) run(b.dataset.act); });
  $("waiting").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-call]");
    if (b) act("call", { ticket_id: Number(b.dataset.call) });
  });
  $("dlg-transfer").addEventListener("close", closeTransfer);
  $("dlg-pause").addEventListener("close", closePause);
  document.addEventListener("keydown", onKey);
  setInterval(() => { tick(); if (state.number) renderCallBacks(!!(state.window && state.window.current), hallOpen()); }, 1000);
  setInterval(() => refreshCallBacks(state.number), 30000);   // the server's opening-time clock corrects the countdown
  setInterval(() => { if (state.number) renderWaiting(); }, 30000);   // keep "waited" times fresh
  // a clerk who reloads the page stays at the window they opened
  const saved = JSON.parse(localStorage.getItem(STORE_KEY) || "{}");
  const mine = isClerk() ? state.me.window : saved.window;
  const w = mine && ((state.hall && state.hall.windows) || []).find((x) => x.number === mine);
  const autoOpen = Number(sessionStorage.getItem(AUTO_OPEN_KEY) || 0);   // just signed in from the directory
  sessionStorage.removeItem(AUTO_OPEN_KEY);
  if (w && w.state !== "closed") { state.window = w; enterConsole(mine); }
  else if (autoOpen && isClerk() && autoOpen === state.me.window) $("signin-form").requestSubmit();
  else $("signin").classList.remove("hidden");
  window.hallqClerk = { state };
}

main();
