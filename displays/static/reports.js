// 统计报表 (/supervisor/reports): GET /api/reports/summary, /assessment and /staffing for the chosen
// range and filters; ECharts (vendored, window.echarts) draws the charts; exports are plain links to
// the same API with format=csv|xlsx. Formulas live in server/reports/kpi.py.
import { get, esc, whoami, toSignIn } from "/static/common/api.js";
import { problemText } from "/static/common/i18n.js";
import { startClock } from "/static/common/ui.js";

const $ = (id) => document.getElementById(id);
const echarts = window.echarts;
const charts = {};
const COLORS = { blue: "#0b3d91", green: "#0a7d32", red: "#c8102e", gold: "#d18a00", grey: "#8a94a6" };

// ---- formatting ------------------------------------------------------------------------
const pad = (n) => String(n).padStart(2, "0");
const iso = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const dash = "—";
const int = (v) => (v == null ? dash : String(v));
const pct = (v) => (v == null ? dash : `${(v * 100).toFixed(1)}%`);
const mins = (s) => (s == null ? dash : `${(s / 60).toFixed(1)} 分`);
const round1 = (v) => (v == null ? null : Math.round(v * 1000) / 10);

function optionLabels(select) {
  const out = {};
  for (const o of $("filters").elements[select].options) if (o.value) out[o.value] = o.textContent;
  return out;
}
const windowNames = optionLabels("window");
const serviceNames = optionLabels("service");
const windowName = (n) => (n == null ? "未分配" : windowNames[String(n)] || `${n}号窗口`);
const serviceName = (c) => serviceNames[c] || c;
// 工号 with the directory's 姓名 (server/reports/report.py clerk_names)
const clerkName = (no, name) => (no == null ? "未分配" : name ? `${no} ${name}` : no);

// ---- range and query -------------------------------------------------------------------
function setRange(kind) {
  const f = $("filters").elements;
  const today = new Date();
  let a = new Date(today), b = new Date(today);
  if (kind === "week") a.setDate(today.getDate() - ((today.getDay() + 6) % 7));
  if (kind === "month") a = new Date(today.getFullYear(), today.getMonth(), 1);
  if (kind === "last-month") {
    a = new Date(today.getFullYear(), today.getMonth() - 1, 1);
    b = new Date(today.getFullYear(), today.getMonth(), 0);
  }
  f.from.value = iso(a);
  f.to.value = iso(b);
}

function params(names) {
  const p = new URLSearchParams();
  const form = new FormData($("filters"));
  for (const n of names) { const v = form.get(n); if (v) p.set(n, v); }
  return p;
}

function link(id, path, p, format) {
  const q = new URLSearchParams(p);
  q.set("format", format);
  $(id).href = `${path}?${q}`;
}

function say(text) {
  $("message").textContent = text || "";
  $("message").classList.toggle("hidden", !text);
}

// ---- tables ----------------------------------------------------------------------------
const KPI_COLS = [
  ["issued", "取号量", int], ["done", "办结量", int], ["no_show", "过号", int], ["transferred", "转办", int],
  ["wait_mean", "平均等候", mins], ["wait_p90", "P90等候", mins], ["wait_max", "最长等候", mins],
  ["overdue_rate", "超时等候率", pct], ["service_mean", "平均办理", mins], ["rated_rate", "评价率", pct],
  ["satisfaction", "满意率", pct], ["bad", "差评", int],
];
const WINDOW_COLS = [["utilisation", "利用率", pct], ["staffed_s", "在岗", mins], ["paused_s", "暂停", mins],
  ["pauses", "暂停原因", (p) => Object.entries(p || {}).map(([r, s]) => `${r || "未注明"} ${Math.round(s / 60)}分`).join("，") || dash]];

function table(keyHead, keyOf, cols, rows, totals) {
  const head = `<tr><th scope="col">${esc(keyHead)}</th>${cols.map(([, h]) => `<th scope="col">${esc(h)}</th>`).join("")}</tr>`;
  const line = (r, key, cls = "") => `<tr class="${cls}"><th scope="row">${esc(key)}</th>` +
    cols.map(([k, , f]) => `<td>${esc(f(r[k]))}</td>`).join("") + "</tr>";
  const body = rows.map((r) => line(r, keyOf(r))).join("") ||
    `<tr><td colspan="${cols.length + 1}" class="r-empty">该区间没有数据</td></tr>`;
  const foot = totals ? line(totals, "合计", "r-total") : "";
  return `<table class="r-table"><thead>${head}</thead><tbody>${body}</tbody><tfoot>${foot}</tfoot></table>`;
}

function renderKpis(t) {
  const cards = [["取号量", int(t.issued)], ["办结量", int(t.done)], ["平均等候", mins(t.wait_mean)],
    ["P90 等候", mins(t.wait_p90)], ["超时等候率", pct(t.overdue_rate)], ["平均办理时长", mins(t.service_mean)],
    ["满意率", pct(t.satisfaction)], ["差评", int(t.bad)], ["过号/弃号", int(t.no_show)]];
  $("kpis").innerHTML = cards.map(([k, v]) => `<div class="r-kpi"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`).join("");
}

const ASSESS_COLS = [["total", "综合得分", (v) => (v == null ? dash : v.toFixed(1))], ["done", "办件量", int],
  ["wait_mean", "平均等候", mins], ["service_mean", "平均办理", mins], ["satisfaction", "满意率", pct], ["bad", "差评", int]];

function renderAssessment(a) {
  $("t-assess-windows").innerHTML = table("排名 · 窗口", (r) => `${r.rank}. ${windowName(r.unit)}`, ASSESS_COLS, a.rows);
  $("t-assess-staff").innerHTML = table("排名 · 工作人员", (r) => `${r.rank}. ${clerkName(r.unit, r.clerk_name)}`, ASSESS_COLS,
    a.breakdowns.assessment_staff);
}

function renderStaffing(s) {
  const services = [...new Set(s.rows.map((r) => r.service))];
  const hours = [...new Set(s.rows.map((r) => r.hour))].sort((x, y) => x - y);
  const cell = new Map(s.rows.map((r) => [`${r.service}@${r.hour}`, r]));
  if (!hours.length) { $("t-staffing").innerHTML = `<p class="r-empty">该区间没有到达数据</p>`; return; }
  const head = `<tr><th scope="col">时段</th>${services.map((c) => `<th scope="col">${esc(serviceName(c))}</th>`).join("")}<th scope="col">合计</th></tr>`;
  const body = hours.map((h) => {
    let sum = 0;
    const tds = services.map((c) => {
      const r = cell.get(`${c}@${h}`);
      if (!r) return "<td>0</td>";
      sum += r.windows;
      const tip = `每小时到达 ${r.arrivals_per_hour}，平均办理 ${Math.round(r.service_s)} 秒，目标内 ${pct(r.within_target)}`;
      return `<td data-service="${esc(c)}" data-hour="${h}" title="${esc(tip)}">${r.windows}</td>`;
    }).join("");
    return `<tr><th scope="row">${pad(h)}:00–${pad(h + 1)}:00</th>${tds}<td class="r-sum">${sum}</td></tr>`;
  }).join("");
  $("t-staffing").innerHTML = `<table class="r-table r-staffing"><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

// ---- charts ----------------------------------------------------------------------------
function chart(id, option) {
  if (!echarts) return;
  const el = $(id);
  charts[id] = charts[id] || echarts.init(el, null, { renderer: "canvas" });
  // richText tooltips are drawn on the canvas: HTML tooltips would need inline styles (CSP)
  const rotated = option.xAxis && option.xAxis.axisLabel && option.xAxis.axisLabel.rotate;
  charts[id].setOption({ animation: false, tooltip: { trigger: "axis", renderMode: "richText" },
    legend: { top: 0, right: 8 }, grid: { left: 56, right: 64, top: 48, bottom: rotated ? 96 : 36 },
    textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif" }, ...option,
    ...(option.legend ? { legend: { top: 0, right: 8, ...option.legend } } : {}) }, true);
}

function renderCharts(rep) {
  const hourly = rep.breakdowns.hourly;
  chart("c-hourly", {
    legend: { data: ["取号", "办结"] },
    xAxis: { type: "category", data: hourly.map((r) => `${r.hour}时`) },
    yAxis: { type: "value", name: "张" },
    series: [{ name: "取号", type: "bar", data: hourly.map((r) => r.issued), itemStyle: { color: COLORS.blue } },
      { name: "办结", type: "bar", data: hourly.map((r) => r.done), itemStyle: { color: COLORS.green } }],
  });
  const hist = rep.wait_histogram || [];
  chart("c-wait", {
    legend: { data: ["目标内", "超过目标"] },
    xAxis: { type: "category", name: "分钟", data: hist.map((b) => (b.to_min == null ? `${b.from_min}+` : `${b.from_min}–${b.to_min}`)) },
    yAxis: { type: "value", name: "人" },
    series: [{ name: "目标内", type: "bar", stack: "w", data: hist.map((b) => b.within), itemStyle: { color: COLORS.green } },
      { name: "超过目标", type: "bar", stack: "w", data: hist.map((b) => b.over), itemStyle: { color: COLORS.red } }],
  });
  const windows = rep.breakdowns.windows.filter((r) => r.window != null);
  const names = windows.map((r) => windowName(r.window));
  chart("c-satisfaction", {
    legend: { data: ["满意率", "差评率"] },
    xAxis: { type: "category", data: names, axisLabel: { interval: 0, rotate: names.length > 6 ? 30 : 0 } },
    yAxis: { type: "value", name: "%", max: 100 },
    series: [{ name: "满意率", type: "bar", data: windows.map((r) => round1(r.satisfaction)), itemStyle: { color: COLORS.green } },
      { name: "差评率", type: "bar", data: windows.map((r) => round1(r.bad_rate)), itemStyle: { color: COLORS.red } }],
  });
  const staffed = windows.some((r) => r.staffed_s);
  chart("c-utilisation", {
    legend: { data: ["利用率", "暂停（分钟）"] },
    title: staffed ? undefined : { text: "该区间没有窗口在岗记录", left: "center", top: "middle",
      textStyle: { color: COLORS.grey, fontSize: 16, fontWeight: "normal" } },
    xAxis: { type: "category", data: names, axisLabel: { interval: 0, rotate: names.length > 6 ? 30 : 0 } },
    yAxis: [{ type: "value", name: "%", max: 100 }, { type: "value", name: "分钟" }],
    series: [{ name: "利用率", type: "bar", data: windows.map((r) => round1(r.utilisation)), itemStyle: { color: COLORS.blue } },
      { name: "暂停（分钟）", type: "line", yAxisIndex: 1, data: windows.map((r) => (r.paused_s == null ? null : Math.round(r.paused_s / 60))),
        itemStyle: { color: COLORS.gold } }],
  });
}

// ---- loading ---------------------------------------------------------------------------
async function loadStaffing() {
  const p = params(["from", "to"]);
  for (const [k, v] of new FormData($("staffing-form"))) if (v) p.set(k, v);
  link("x-staffing-xlsx", "/api/reports/staffing", p, "xlsx");
  try {
    renderStaffing(await get(`/api/reports/staffing?${p}`));
  } catch (e) { say(problemText(e.problem)); }
}

async function load() {
  say("");
  const p = params(["from", "to", "group", "service", "window", "clerk"]);
  history.replaceState(null, "", `?${p}`);
  const range = params(["from", "to"]);
  link("x-summary-xlsx", "/api/reports/summary", p, "xlsx");
  link("x-summary-csv", "/api/reports/summary", p, "csv");
  link("x-tickets-csv", "/api/reports/tickets", p, "csv");
  link("x-assessment-xlsx", "/api/reports/assessment", range, "xlsx");
  document.body.dataset.loading = "1";
  try {
    const [rep, assessment] = await Promise.all([get(`/api/reports/summary?${p}`), get(`/api/reports/assessment?${range}`)]);
    renderKpis(rep.totals);
    const periodKey = { day: "日期", week: "周", month: "月份" }[rep.group];
    $("t-periods").innerHTML = table(periodKey, (r) => r.period, KPI_COLS, rep.rows, rep.totals);
    $("t-services").innerHTML = table("业务", (r) => serviceName(r.service), KPI_COLS, rep.breakdowns.services, rep.totals);
    $("t-windows").innerHTML = table("窗口", (r) => windowName(r.window), [...KPI_COLS, ...WINDOW_COLS],
      rep.breakdowns.windows, rep.totals);
    $("t-staff").innerHTML = table("工作人员", (r) => clerkName(r.clerk, r.clerk_name), KPI_COLS, rep.breakdowns.staff,
      rep.totals);
    renderCharts(rep);
    renderAssessment(assessment);
    await loadStaffing();
    document.body.dataset.loaded = `${rep.from}..${rep.to}`;
  } catch (e) {
    say(problemText(e.problem));
  } finally {
    delete document.body.dataset.loading;
  }
}

async function main() {
  if ((await whoami()) === null) { toSignIn("login"); return; }
  startClock($("clock"));
  const f = $("filters").elements;
  const q = new URLSearchParams(location.search);
  setRange("month");
  for (const n of ["from", "to", "group", "service", "window", "clerk"]) if (q.get(n)) f[n].value = q.get(n);
  for (const b of document.querySelectorAll("[data-range]")) {
    b.addEventListener("click", () => { setRange(b.dataset.range); load(); });
  }
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  $("staffing-form").addEventListener("change", loadStaffing);
  window.addEventListener("resize", () => { for (const c of Object.values(charts)) c.resize(); });
  window.hallqReports = { charts };
  await load();
}

main();
