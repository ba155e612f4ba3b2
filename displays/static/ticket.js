// Citizen ticket page: live state of one ticket (topic ticket:<id>), position refreshed on hall events.
import { Feed, bindStatus } from "/static/common/ws.js";
import { setLang, lang, t, problemText, initialLang } from "/static/common/i18n.js";
import { get, post, setHeader } from "/static/common/api.js";
import { throttle, toast } from "/static/common/ui.js";

const ID = Number(document.body.dataset.ticket);
setHeader("X-Ticket-Token", document.body.dataset.token);   // the citizen's credential for this ticket
const $ = (id) => document.getElementById(id);
const state = { ticket: null, windows: new Map() };
const ENDED = ["done", "no_show", "cancelled", "expired", "transferred"];
// the 过号 sentence is generated from the hall's policy (displays/wording.py) and carried by the page
const noShow = () => (lang().startsWith("en") ? document.body.dataset.noShowEn : document.body.dataset.noShow) || "";

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
  $("c-ahead").textContent = waiting && tk.ahead != null ? t("ticket.people", { n: tk.ahead }) : "—";
  $("c-eta").textContent = waiting && tk.eta_minutes != null ? t("hall.minutes", { m: tk.eta_minutes }) : "—";
  $("c-issued").textContent = tk.issued_at ? new Date(tk.issued_at).toLocaleTimeString(lang(), { hour: "2-digit", minute: "2-digit" }) : "—";
  document.body.dataset.state = tk.state;
  $("cancel").classList.toggle("hidden", tk.state !== "issued");
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
    state.windows = new Map(data.windows.map((w) => [w.number, w.name]));
    render();
  }
}

function onEvent(msg) {
  const d = msg.data || {};
  if (d.ticket && d.ticket.id === ID) { state.ticket = d.ticket; render(); return; }
  // someone else was called or left: our position may have changed
  if (state.ticket && state.ticket.state === "issued" && msg.type.startsWith("ticket.")) refresh();
}

async function main() {
  await setLang(initialLang(navigator.language && navigator.language.startsWith("en") ? "en" : "zh-CN"));
  renderHint();
  $("cancel").addEventListener("click", cancelTicket);
  $("lang").addEventListener("click", async () => { await setLang(lang() === "zh-CN" ? "en" : "zh-CN"); renderHint(); render(); });
  // ticket:<id> is for its holder only: the subscribe message shows the ticket's token
  new Feed([`ticket:${ID}`, "hall"], { onSnapshot, onEvent, onStatus: bindStatus($("conn"), t),
    subscribe: { ticket_token: document.body.dataset.token } }).start();
}

main();
