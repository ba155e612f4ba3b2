// Supervisor overview: today's KPIs (GET /api/reports/services), windows, queues against each service's
// own wait target, device health (GET /api/devices + topic devices), the stored alert inbox
// (GET /api/alerts, pushed live on topic alerts; 确认 / 处理完毕 post ack / resolve).
import { Feed, bindStatus } from "/static/common/ws.js";
import { setLang, t, tOr, initialLang, problemText } from "/static/common/i18n.js";
import { get, post, esc, whoami, toSignIn } from "/static/common/api.js";
import { startClock, throttle, toast } from "/static/common/ui.js";
import { parseClerk } from "/static/common/clerk.js";

const ALERTS_MAX = 50;
const $ = (id) => document.getElementById(id);
const state = { hall: null, devices: new Map(), alerts: new Map(), today: null, staff: new Map() };
const SEVERITY = { critical: "严重", warning: "警告", info: "提示" };
const pct = (v) => (v == null ? "—" : `${(v * 100).toFixed(0)}%`);
const minutes = (s) => (s == null ? "—" : t("hall.minutes", { m: Math.round(s / 60) }));

// ---- hall -------------------------------------------------------------------------------
function renderHall() {
  const hall = state.hall;
  if (!hall) return;
  $("windows").innerHTML = (hall.windows || []).map((w) => {
    const cur = w.current;
    const clerk = parseClerk(w.clerk);
    const name = state.staff.get(w.clerk) || clerk.name || state.staff.get(clerk.staffNo) || clerk.staffNo;
    const st = t("wstate." + w.state) + (w.pause_reason ? `：${w.pause_reason}` : "") +
      (name ? ` · ${name}` : "");
    return `<div class="s-win ${esc(w.state)}" data-window="${w.number}"><div class="nm">${esc(w.name)}</div>` +
      `<div class="cur">${cur ? esc(cur.number) : "—"}</div><div class="st">${esc(st)}</div></div>`;
  }).join("");
  let waiting = 0;
  const today = state.today || { rows: [], targets: {} };
  const todayOf = new Map(today.rows.map((r) => [r.service, r]));
  $("queues").innerHTML = (hall.services || []).map((s) => {
    waiting += s.waiting || 0;
    const longest = s.longest_wait_seconds ? Math.round(s.longest_wait_seconds / 60) : 0;
    // each service's own target (services[].sla_minutes); no target: never "late"
    const target = (today.targets || {})[s.code];
    const late = target != null && (s.longest_wait_seconds || 0) > target * 60;
    const k = todayOf.get(s.code) || {};
    const eta = s.available === false ? esc(tOr("reason." + s.reason, t("hall.unavailable")))
      : s.waiting && s.eta_minutes != null ? esc(t("hall.minutes", { m: s.eta_minutes })) : "—";
    const limit = s.daily_limit ? ` / ${s.daily_limit}` : "";
    return `<tr class="${late ? "late" : ""}" data-service="${esc(s.code)}"><td>${esc(s.name)}</td><td class="n">${s.waiting ?? 0}</td>` +
      `<td class="longest">${longest ? esc(t("hall.minutes", { m: longest })) : "—"}</td>` +
      `<td class="target">${target != null ? esc(t("hall.minutes", { m: target })) : "—"}</td>` +
      `<td>${esc(minutes(k.wait_mean))}</td><td>${esc(pct(k.overdue_rate))}</td>` +
      `<td>${eta}</td><td>${s.issued_today ?? 0}${limit}</td></tr>`;
  }).join("");
  const open = (hall.windows || []).filter((w) => w.state !== "closed").length;
  $("totals").textContent = t("sup.totals", { waiting, open, total: (hall.windows || []).length });
}

const refreshHall = throttle(async () => {
  try { state.hall = await get("/api/hall"); renderHall(); } catch (e) { /* feed reconnects */ }
}, 2000);

// ---- devices -----------------------------------------------------------------------------
function bindingText(b) {
  if (!b) return "";
  if (typeof b === "string") return b;
  return Object.entries(b).map(([k, v]) => tOr("bind." + k, k, { v: Array.isArray(v) ? v.join(",") : v })).join(" ");
}

function renderDevices() {
  const rows = [];
  let down = 0;
  // faulted devices first: with dozens of devices the healthy ones would hide them
  const ordered = [...state.devices.values()].sort((a, b) =>
    Number(!!(a.health && a.health.available)) - Number(!!(b.health && b.health.available)));
  for (const d of ordered) {
    const h = d.health || {};
    const ok = h.available;
    if (!ok) down += 1;
    const cls = ok ? "ok" : h.state === "connecting" ? "wait" : "bad";
    const faults = (h.faults || []).map((f) => tOr("fault." + f, f)).join("、");
    rows.push(`<tr data-device="${esc(d.id)}"><td>${esc(d.id)}</td><td>${esc(tOr("kind." + d.kind, d.kind))}</td>` +
      `<td>${esc(bindingText(d.binding))}</td><td><span class="s-state ${cls}">${esc(tOr("dstate." + h.state, h.state || "?"))}` +
      `${faults ? " · " + esc(faults) : ""}</span></td></tr>`);
  }
  $("devices").innerHTML = rows.join("") || `<tr><td colspan="4">${esc(t("sup.no_devices"))}</td></tr>`;
  $("dev-down").textContent = down ? t("sup.down", { n: down }) : "";
}

async function loadDevices() {
  try {
    const snap = await get("/api/devices");
    setDevices(snap);
  } catch (e) { /* no device manager: leave empty */ }
}

function setDevices(snap) {
  const list = (snap && (snap.devices || snap)) || [];
  if (!Array.isArray(list)) return;
  state.devices = new Map(list.map((d) => [d.id, d]));
  renderDevices();
}

function updateDevice(d) {
  state.devices.set(d.id, d);
  renderDevices();
}

// ---- today ----------------------------------------------------------------------------------
function renderToday() {
  const k = (state.today && state.today.totals) || {};
  const cards = [["今日取号", k.issued ?? 0], ["已办结", k.done ?? 0], ["平均等候", minutes(k.wait_mean)],
    ["P90 等候", minutes(k.wait_p90)], ["超时等候率", pct(k.overdue_rate)], ["平均办理", minutes(k.service_mean)],
    ["满意率", pct(k.satisfaction)], ["差评", k.bad ?? 0], ["过号", k.no_show ?? 0]];
  $("today").innerHTML = cards.map(([n, v]) =>
    `<div class="s-kpi"><span class="k">${esc(n)}</span><span class="v">${esc(v)}</span></div>`).join("");
}

const refreshToday = throttle(async () => {
  try { state.today = await get("/api/reports/services"); renderToday(); renderHall(); } catch (e) { /* retried */ }
}, 5000);

// ---- alerts (the stored inbox) -------------------------------------------------------------------
function upsertAlert(a) {
  if (!a || a.id == null) return;
  const before = state.alerts.get(a.id);
  if (a.state === "resolved") state.alerts.delete(a.id); else state.alerts.set(a.id, a);
  if (!before && a.state === "open") toast(a.message, a.severity === "critical" ? "error" : "info");
  renderAlerts();
}

function renderAlerts() {
  const list = [...state.alerts.values()].sort((x, y) => (y.last_seen || "").localeCompare(x.last_seen || ""))
    .slice(0, ALERTS_MAX);
  $("alerts").innerHTML = list.map((a) => {
    const at = (a.last_seen || "").slice(11, 19);
    const count = a.count > 1 ? ` ×${a.count}` : "";
    const ack = a.state === "open"
      ? `<button type="button" data-ack="${a.id}" aria-label="确认告警：${esc(a.message)}">确认</button>` : `<span class="s-acked">已确认 ${esc(a.acked_by || "")}</span>`;
    const evidence = a.evidence ? ` <a href="${esc(a.evidence)}" target="_blank" rel="noopener">证据</a>` : "";
    return `<li class="s-alert ${esc(a.severity)} ${esc(a.state)}" data-alert="${a.id}" data-type="${esc(a.type)}">` +
      `<time>${esc(at)}</time><span class="sev">${esc(SEVERITY[a.severity] || a.severity)}</span>` +
      `<span class="msg">${esc(a.message)}${esc(count)}</span>${evidence}` +
      `<span class="acts">${ack}<button type="button" data-resolve="${a.id}" aria-label="处理完毕：${esc(a.message)}">处理完毕</button></span></li>`;
  }).join("") || `<li class="empty">${esc(t("sup.no_alerts"))}</li>`;
  const open = [...state.alerts.values()].filter((a) => a.state === "open").length;
  $("alerts-open").textContent = open ? `${open} 条未确认` : "";
}

async function loadAlerts() {
  try {
    const data = await get("/api/alerts?state=open&limit=200");
    state.alerts = new Map(data.items.map((a) => [a.id, a]));
    renderAlerts();
  } catch (e) { /* the inbox may be off: the panel stays empty */ }
}

async function alertAction(id, action) {
  try { upsertAlert(await post(`/api/alerts/${id}/${action}`)); } catch (e) { toast(problemText(e.problem), "error"); }
}

// ---- feed ------------------------------------------------------------------------------------
function onSnapshot(topic, data) {
  if (topic === "hall" && data) { state.hall = data; renderHall(); }
  if (topic === "devices") { if (data) setDevices(data); else loadDevices(); }
}

function onEvent(msg) {
  const d = msg.data || {};
  const topics = msg.topics || [];
  if (msg.type === "device.health" && d.device) updateDevice(d.device);
  // the inbox turns device faults, 差评, absences and rule findings into stored alerts: show those only
  else if (topics.includes("alerts") && d.inbox && d.alert) upsertAlert(d.alert);
  if (msg.type.startsWith("ticket.") || msg.type === "window.changed") refreshHall();
  if (msg.type === "ticket.called" || msg.type === "ticket.finished" || msg.type === "ticket.rated") refreshToday();
}

async function main() {
  if ((await whoami()) === null) { toSignIn("login"); return; }
  await setLang(initialLang("zh-CN"));
  startClock($("clock"));
  renderAlerts();
  renderToday();
  renderDevices();
  loadDevices();
  loadAlerts();
  refreshToday();
  // 工号 → 姓名 from the staff directory (GET /api/staff, supervisors); windows carry the 工号 only
  get("/api/staff").then((rows) => {
    state.staff = new Map((rows || []).map((r) => [r.staff_no, r.name]));
    renderHall();
  }).catch(() => { /* no directory: show the 工号 */ });
  $("alerts").addEventListener("click", (e) => {
    const b = e.target.closest("button");
    if (b && b.dataset.ack) alertAction(b.dataset.ack, "ack");
    if (b && b.dataset.resolve) alertAction(b.dataset.resolve, "resolve");
  });
  new Feed(["hall", "devices", "alerts"], { onSnapshot, onEvent, onStatus: bindStatus($("conn"), t) }).start();
  setInterval(refreshHall, 30000);   // keep "longest wait" ages fresh between events
  setInterval(() => { refreshToday(); loadAlerts(); }, 60000);   // another worker's acknowledgements
  window.hallqSupervisor = { state };
}

main();
