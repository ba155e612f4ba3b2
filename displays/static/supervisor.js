// Supervisor overview: windows, queues, device health (GET /api/devices + topic devices), alerts.
import { Feed, bindStatus } from "/static/common/ws.js";
import { setLang, t, tOr, initialLang } from "/static/common/i18n.js";
import { get, esc, whoami, toSignIn } from "/static/common/api.js";
import { startClock, throttle } from "/static/common/ui.js";
import { parseClerk } from "/static/common/clerk.js";

const ALERTS_MAX = 50;
const $ = (id) => document.getElementById(id);
const state = { hall: null, devices: new Map(), alerts: [] };

// ---- hall -------------------------------------------------------------------------------
function renderHall() {
  const hall = state.hall;
  if (!hall) return;
  $("windows").innerHTML = (hall.windows || []).map((w) => {
    const cur = w.current;
    const clerk = parseClerk(w.clerk);
    const st = t("wstate." + w.state) + (w.pause_reason ? `：${w.pause_reason}` : "") +
      (clerk.name ? ` · ${clerk.name}` : "");
    return `<div class="s-win ${esc(w.state)}" data-window="${w.number}"><div class="nm">${esc(w.name)}</div>` +
      `<div class="cur">${cur ? esc(cur.number) : "—"}</div><div class="st">${esc(st)}</div></div>`;
  }).join("");
  let waiting = 0;
  $("queues").innerHTML = (hall.services || []).map((s) => {
    waiting += s.waiting || 0;
    const longest = s.longest_wait_seconds ? Math.round(s.longest_wait_seconds / 60) : 0;
    const late = s.sla_minutes ? longest > s.sla_minutes : longest > 30;
    const eta = s.available === false ? esc(tOr("reason." + s.reason, t("hall.unavailable")))
      : s.waiting && s.eta_minutes != null ? esc(t("hall.minutes", { m: s.eta_minutes })) : "—";
    const limit = s.daily_limit ? ` / ${s.daily_limit}` : "";
    return `<tr class="${late ? "late" : ""}"><td>${esc(s.name)}</td><td class="n">${s.waiting ?? 0}</td>` +
      `<td>${longest ? esc(t("hall.minutes", { m: longest })) : "—"}</td><td>${eta}</td><td>${s.issued_today ?? 0}${limit}</td></tr>`;
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
  const before = state.devices.get(d.id);
  state.devices.set(d.id, d);
  renderDevices();
  const wasOk = before ? before.health && before.health.available : true;
  if (wasOk && d.health && !d.health.available) {
    addAlert(t("sup.alert_device", { id: d.id, state: t("dstate." + d.health.state) }));
  }
}

// ---- alerts --------------------------------------------------------------------------------
function addAlert(text, at = new Date()) {
  state.alerts.unshift({ text, at });
  state.alerts.length = Math.min(state.alerts.length, ALERTS_MAX);
  renderAlerts();
}

function renderAlerts() {
  $("alerts").innerHTML = state.alerts.map((a) =>
    `<li><time>${esc(a.at.toTimeString().slice(0, 8))}</time>${esc(a.text)}</li>`).join("") ||
    `<li class="empty">${esc(t("sup.no_alerts"))}</li>`;
}

function alertText(msg) {
  const d = msg.data || {};
  return d.zh || d.message || d.text || `${msg.type} ${JSON.stringify(d).slice(0, 120)}`;
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
  else if (topics.includes("alerts")) addAlert(alertText(msg), msg.at ? new Date(msg.at) : new Date());
  if (msg.type === "ticket.rated" && d.ticket && d.ticket.rating <= 2) {
    addAlert(t("sup.alert_bad_rating", { number: d.ticket.number, window: d.ticket.window ?? "", level: t("rating." + d.ticket.rating) }));
  }
  if (msg.type.startsWith("ticket.") || msg.type === "window.changed") refreshHall();
}

async function main() {
  if ((await whoami()) === null) { toSignIn("login"); return; }
  await setLang(initialLang("zh-CN"));
  startClock($("clock"));
  renderAlerts();
  renderDevices();
  loadDevices();
  new Feed(["hall", "devices", "alerts"], { onSnapshot, onEvent, onStatus: bindStatus($("conn"), t) }).start();
  setInterval(refreshHall, 30000);   // keep "longest wait" ages fresh between events
  window.hallqSupervisor = { state };
}

main();
