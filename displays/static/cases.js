// 差评闭环台账 (/supervisor/cases): GET /api/cases with the filters; each case's next step posts
// POST /api/cases/{id}/{verify|rectify|reply|close|appeal} with what that step records.
import { get, post, esc, whoami, toSignIn } from "/static/common/api.js";
import { problemText } from "/static/common/i18n.js";
import { startClock } from "/static/common/ui.js";

const REFRESH_MS = 10000;
const LEVELS = { 1: "非常不满意", 2: "不满意", 3: "基本满意", 4: "满意", 5: "非常满意" };
const CALLBACK = { satisfied: "满意", unsatisfied: "不满意", unreachable: "未联系上" };
// state -> the steps a supervisor may take, and the fields each needs
const NEXT = {
  pending: ["verify", "appeal"], verifying: ["rectify", "appeal"], rectifying: ["reply", "appeal"],
  replied: ["close"], appealed: ["decide"], closed: [],
};
const STEPS = {
  verify: { label: "开始核实", fields: [["note", "核实说明（选填）"]] },
  rectify: { label: "核实完成，整改", fields: [["finding", "核实结果"], ["note", "整改措施（选填）"]] },
  reply: { label: "回复群众", fields: [["reply", "回复内容"]] },
  close: { label: "回访办结", fields: [["callback_result", "回访结果"], ["note", "回访记录（选填）"]] },
  appeal: { label: "申诉", fields: [["reason", "申诉理由"]] },
  decide: { label: "申诉裁定", fields: [["decision", "裁定"], ["note", "裁定说明"]] },
};
const $ = (id) => document.getElementById(id);
const reasonNames = {};
let open = null;   // {id, step}

function say(text) {
  $("message").textContent = text || "";
  $("message").classList.toggle("hidden", !text);
}

function query() {
  const params = new URLSearchParams();
  for (const [k, v] of new FormData($("filters"))) if (v) params.set(k, v);
  return params.toString();
}

const when = (iso) => (iso ? iso.slice(0, 16).replace("T", " ") : "—");

function row(c) {
  const late = c.overdue_stage;
  const buttons = (NEXT[c.state] || []).map((s) =>
    `<button type="button" data-case="${c.id}" data-step="${s}">${esc(STEPS[s].label)}</button>`).join("");
  const reasons = (c.reasons || []).map((r) => reasonNames[r] || r).join("、");
  // 升级督办 (level 2) and 超期 (level 1) badges next to the state; the stage escalated in the title
  const level = c.escalation_level || 0;
  const stageName = c.escalated_stage === "verify" ? "核实" : "整改回复";
  const badge = level >= 2
    ? ` <span class="c-badge c-badge-escalated" title="${esc(stageName)}超期，${esc(when(c.escalated_at))}升级">已升级督办</span>`
    : level === 1 ? ` <span class="c-badge c-badge-overdue">${c.overdue ? "超期" : "曾超期"}</span>` : "";
  return `<tr data-case="${c.id}" data-state="${esc(c.state)}" data-overdue="${c.overdue}" data-escalation="${level}">` +
    `<td>${c.id}</td><td>${esc(c.number || "")}</td><td>${esc(c.window ?? "")}</td><td>${esc(c.clerk || "—")}</td>` +
    `<td>${esc(LEVELS[c.level] || c.level)}</td><td class="c-reasons">${esc(reasons)}</td>` +
    `<td class="c-text">${esc(c.text || "")}</td><td><span class="c-state">${esc(c.state_name)}</span>${badge}</td>` +
    `<td class="${late === "verify" ? "c-due-late" : ""}">${esc(when(c.verify_due))}</td>` +
    `<td class="${late === "rectify" ? "c-due-late" : ""}">${esc(when(c.rectify_due))}</td>` +
    `<td>${esc(CALLBACK[c.callback_result] || "")}</td><td>${buttons}</td></tr>`;
}

async function refresh() {
  const q = query();
  $("export-csv").href = `/api/cases.csv${q ? "?" + q : ""}`;
  $("export-xlsx").href = `/api/cases.xlsx${q ? "?" + q : ""}`;
  let data;
  try {
    data = await get(`/api/cases${q ? "?" + q : ""}`);
  } catch (e) {
    say(e.status === 403 ? "无权查看差评台账（需要管理员或值班长账号）" : problemText(e.problem));
    return;
  }
  say(data.count ? "" : "暂无差评案件");
  $("rows").innerHTML = data.items.map(row).join("");
}

function field(name, label) {
  if (name === "callback_result") {
    const opts = Object.entries(CALLBACK).map(([k, v]) => `<option value="${k}">${v}</option>`).join("");
    return `<label>${label} <select name="${name}">${opts}</select></label>`;
  }
  if (name === "decision") {
    return `<label>${label} <select name="${name}"><option value="rejected">申诉不成立</option>` +
      `<option value="upheld">申诉成立</option></select></label>`;
  }
  return `<label>${label}<textarea name="${name}" rows="2" maxlength="500"></textarea></label>`;
}

function showStep(id, step) {
  open = { id, step };
  $("step-title").textContent = `案件 ${id} · ${STEPS[step].label}`;
  $("step-fields").innerHTML = STEPS[step].fields.map(([n, l]) => field(n, l)).join("");
  $("step").classList.remove("hidden");
}

async function sendStep() {
  if (!open) return;
  const body = {};
  for (const el of $("step-fields").querySelectorAll("[name]")) if (el.value.trim()) body[el.name] = el.value.trim();
  const action = open.step === "decide" ? "appeal" : open.step;
  try {
    await post(`/api/cases/${open.id}/${action}`, body);
    open = null;
    $("step").classList.add("hidden");
    say("");
  } catch (e) {
    say(problemText(e.problem));
  }
  refresh();
}

async function main() {
  if ((await whoami()) === null) { toSignIn("login"); return; }
  startClock($("clock"));
  try {
    for (const r of (await get("/api/rating-reasons")).reasons) reasonNames[r.code] = r.name;
  } catch (e) { /* codes are shown instead */ }
  $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); refresh(); });
  $("rows").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-step]");
    if (b) showStep(Number(b.dataset.case), b.dataset.step);
  });
  $("step-send").addEventListener("click", sendStep);
  $("step-cancel").addEventListener("click", () => { open = null; $("step").classList.add("hidden"); });
  await refresh();
  setInterval(refresh, REFRESH_MS);
}

main();
