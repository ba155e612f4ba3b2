// Citizen ticket page: live state of one ticket (topic ticket:<id>), position refreshed on hall events.
// A transfer keeps the number; the token opens the newest ticket of its chain: the page reloads onto it.
// Being called fills the screen with "请到 X 办理", vibrates and beeps (while the page is open).
import { Feed, bindStatus } from "/static/common/ws.js";
import { setLang, lang, t, problemText, initialLang } from "/static/common/i18n.js";
import { get, post, setHeader } from "/static/common/api.js";
import { throttle, toast } from "/static/common/ui.js";

const ID = Number(document.body.dataset.ticket);
setHeader("X-Ticket-Token", document.body.dataset.token);   // the citizen's credential for this ticket
const $ = (id) => document.getElementById(id);
const state = { ticket: null, windows: new Map(), services: new Map() };
const ENDED = ["done", "no_show", "cancelled", "expired", "transferred"];
// the 过号 sentence is generated from the hall's policy (displays/wording.py) and carried by the page
const noShow = () => (lang().startsWith("en") ? document.body.dataset.noShowEn : document.body.dataset.noShow) || "";

const MOVED_KEY = "hallq.moved";   // sessionStorage: the service a transfer moved us to, shown once after reload
let alertedFor = "";                // the call (called_at + recall count) the full-screen alert was shown for

function beep() {
  // best effort: a phone browser may refuse sound before any touch on the page
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    const ctx = new Ctx(), osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.6);
    osc.onended = () => ctx.close();
  } catch (e) { /* no audio */ }
}

function showCalled(tk, win) {
  const key = `${tk.called_at}|${tk.recall_count}`;
  if (alertedFor === key) return;
  alertedFor = key;
  $("called-number").textContent = tk.number;
  // the window's name on a line of its own: it must not break in the middle ("3号综合窗 / 口")
  const [pre, post = ""] = t("ticket.called_go", { window: "\u0000" }).split("\u0000");
  const name = document.createElement("span");
  name.className = "c-called-win";
  name.textContent = win;
  $("called-text").replaceChildren(pre.trim(), name, post.trim());
  $("called").classList.remove("hidden");
  $("called").focus();
  if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 400]);
  beep();
  document.body.dataset.alerted = String(Number(document.body.dataset.alerted || 0) + 1);
}

function follow(child) {
  sessionStorage.setItem(MOVED_KEY, child.service_name || child.service);
  location.reload();   // /t/<token> opens the newest ticket of the chain (server/store/reads.py)
}

function renderHint() { $("hint").textContent = t("ticket.hint", { no_show: noShow() }); }

function render() {
  const tk = state.ticket;
  if (!tk) return;
  $("c-number").textContent = tk.number;
  $("c-service").textContent = tk.service_name || tk.service;
  const st = $("c-state");
  const win = tk.window != null ? (state.windows.get(tk.window) || t("hall.window_n", { n: tk.window })) : "";
  st.className = "c-state " + (ENDED.includes(tk.state) ? "ended" : tk.state);
  st.textContent = t("state." + tk.state, { window: win, no_show: noShow() });
  const waiting = tk.state === "issued";
  renderPriority(tk);
  const unserved = waiting ? renderAvailability(tk) : ($("c-avail").classList.add("hidden"), false);
  $("c-ahead").textContent = waiting && tk.ahead != null ? t("ticket.people", { n: tk.ahead }) : "—";
  const range = Array.isArray(tk.eta_range) && tk.eta_range.length === 2 ? tk.eta_range : null;
  $("c-eta").textContent = !waiting || unserved ? "—"
    : range ? t("ticket.minutes_range", { lo: range[0], hi: range[1] })
    : tk.eta_minutes != null ? t("hall.minutes", { m: tk.eta_minutes }) : "—";
  // a finished ticket has nothing ahead and no wait: hide the empty boxes
  $("f-ahead").classList.toggle("hidden", !waiting);
  $("f-eta").classList.toggle("hidden", !waiting);
  $("c-issued").textContent = tk.issued_at ? new Date(tk.issued_at).toLocaleTimeString(lang(), { hour: "2-digit", minute: "2-digit" }) : "—";
  document.body.dataset.state = tk.state;
  document.dispatchEvent(new CustomEvent("hallq:ticket", { detail: tk }));   // the rating block (ticket_rating.js)
  $("cancel").classList.toggle("hidden", tk.state !== "issued");
  if (tk.state === "called") showCalled(tk, win);
  else $("called").classList.add("hidden");
  const moved = sessionStorage.getItem(MOVED_KEY);
  $("c-note").classList.toggle("hidden", !moved || tk.state !== "issued");
  if (moved) $("c-note").textContent = t("ticket.moved", { service: moved });
  if (moved && tk.state !== "issued") sessionStorage.removeItem(MOVED_KEY);
}

// 老年人优先: a priority ticket says so (displays/wording.py priority_label: a kiosk's comes from the card's age)
function renderPriority(tk) {
  const key = tk.priority === "green" ? "ticket.priority_green"
    : tk.priority !== "priority" ? null : tk.channel === "kiosk" ? "ticket.priority_elderly" : "ticket.priority_plain";
  $("c-priority").textContent = key ? t(key) : "";
  $("c-priority").classList.toggle("hidden", !key);
}

// honest availability of the ticket's service (the engine's ServiceStatus.availability): 暂无窗口办理 …
function renderAvailability(tk) {
  const s = state.services.get(tk.service);
  const bad = Boolean(s && s.availability && s.availability !== "available" && s.availability_zh);
  $("c-avail").classList.toggle("hidden", !bad);
  if (bad) $("c-avail").textContent = lang().startsWith("en") ? (s.availability_en || s.availability_zh) : s.availability_zh;
  document.body.dataset.availability = s && s.availability ? s.availability : "";
  return bad;
}

const refreshHall = throttle(async () => {
  try { onHall(await get("/api/hall")); render(); } catch (e) { /* keep the last known */ }
}, 3000);

function onHall(data) {
  if (!data) return;
  if (data.windows) state.windows = new Map(data.windows.map((w) => [w.number, w.name]));
  if (data.services) state.services = new Map(data.services.map((s) => [s.code, s]));
}

async function cancelTicket() {
  if (!state.ticket || !window.confirm(t("ticket.cancel_confirm", { number: state.ticket.number }))) return;
  try { state.ticket = await post(`/api/tickets/${ID}/cancel`); render(); }
  catch (e) { toast(problemText(e.problem), "error"); }
}

const refresh = throttle(async () => {
  try { state.ticket = await get(`/api/tickets/${ID}`); render(); } catch (e) { /* feed reconnects */ }
}, 3000);

function onSnapshot(topic, data) {
  if (topic === `ticket:${ID}`) { state.ticket = data; render(); }
  if (topic === "hall" && data && data.windows) {
    onHall(data);
    render();
  }
}

function onEvent(msg) {
  const d = msg.data || {};
  if (d.ticket && d.ticket.id === ID && d.ticket.state === "transferred" && d.child) { follow(d.child); return; }
  if (d.ticket && d.ticket.id === ID) { state.ticket = d.ticket; render(); return; }
  // someone else was called or left: our position may have changed
  if (state.ticket && state.ticket.state === "issued" && msg.type.startsWith("ticket.")) refresh();
  // a window opening or closing changes whether anyone serves our service now
  if (msg.type === "window.changed" || msg.type === "hall.changed" || msg.type === "config.changed") refreshHall();
}

async function main() {
  await setLang(initialLang(navigator.language && navigator.language.startsWith("en") ? "en" : "zh-CN"));
  renderHint();
  $("cancel").addEventListener("click", cancelTicket);
  $("called-ok").addEventListener("click", () => $("called").classList.add("hidden"));
  $("lang").addEventListener("click", async () => { await setLang(lang() === "zh-CN" ? "en" : "zh-CN"); renderHint(); render(); });
  // ticket:<id> is for its holder only: the subscribe message shows the ticket's token
  new Feed([`ticket:${ID}`, "hall"], { onSnapshot, onEvent, onStatus: bindStatus($("conn"), t),
    subscribe: { ticket_token: document.body.dataset.token } }).start();
}

main();
