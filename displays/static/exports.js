// 好差评上报 (/supervisor/exports): GET /api/exports every few seconds; parked/failed records can be sent again.
import { get, post, esc, whoami, toSignIn } from "/static/common/api.js";
import { startClock } from "/static/common/ui.js";

const REFRESH_MS = 5000;
const STATES = { pending: "待上报", sending: "上报中", sent: "已上报", failed: "重试中", parked: "被拒" };
const $ = (id) => document.getElementById(id);
let filter = "";

function say(text) {
  const el = $("message");
  el.textContent = text || "";
  el.classList.toggle("hidden", !text);
}

function row(e) {
  const r = e.record || {};
  const retry = e.state === "parked" || e.state === "failed"
    ? `<button type="button" data-retry="${e.id}">重新上报</button>` : "";
  return `<tr data-state="${esc(e.state)}" data-key="${esc(e.key)}"><td>${esc(e.key)}</td>` +
    `<td>${esc(r.project_no || "—")}</td><td>${esc(r.window_name || r.window_no || "—")}</td>` +
    `<td>${esc(r.level_label || r.level || "")}</td><td>${esc(r.channel || "")}</td>` +
    `<td>${esc((r.evaluated_at || "").replace("T", " ").slice(0, 19))}</td><td class="x-state">${esc(STATES[e.state] || e.state)}</td>` +
    `<td>${e.attempts}</td><td class="err">${esc(e.last_error || "")}</td><td>${retry}</td></tr>`;
}

async function refresh() {
  let data;
  try {
    data = await get(`/api/exports?limit=200${filter ? `&state=${filter}` : ""}`);
  } catch (e) {
    say(e.status === 403 ? "无权查看上报记录（需要管理员或值班长账号）" : "读取上报记录失败，稍后自动重试");
    return;
  }
  say(data.sending_enabled ? "" : "未配置上报地址（HALLQ_HAOCHAPING_URL）：评价已入队，暂不上报");
  $("backlog").textContent = data.backlog;
  for (const s of ["pending", "failed", "parked", "sent"]) $(`n-${s}`).textContent = data.counts[s];
  $("rows").innerHTML = data.exports.map(row).join("");
}

async function main() {
  if ((await whoami()) === null) { toSignIn("login"); return; }
  startClock($("clock"));
  $("filter").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-filter]");
    if (!b) return;
    filter = b.dataset.filter;
    for (const other of $("filter").querySelectorAll("button")) other.classList.toggle("on", other === b);
    refresh();
  });
  $("rows").addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-retry]");
    if (!b) return;
    b.disabled = true;
    try { await post(`/api/exports/${b.dataset.retry}/retry`); } catch (e) { say(e.message); }
    refresh();
  });
  await refresh();
  setInterval(refresh, REFRESH_MS);
}

main();
