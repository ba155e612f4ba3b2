// 大厅配置 (/admin/config): edit a working copy of GET /api/config and save it as one PATCH with the
// version it was made against. 409 config_stale → reload; 422 → every problem with its path, nothing
// applied; 409 service_has_waiting → choose the service the waiting tickets move to.
import { api, get, esc, whoami, toSignIn } from "/static/common/api.js";

const $ = (id) => document.getElementById(id);
const ROLE = { "": "—", primary: "主办", secondary: "兼办" };
const SOURCE = { yaml: "YAML 初始", patch: "页面修改", restore: "回滚", import: "导入" };
const DAYS = ["一", "二", "三", "四", "五", "六", "日"];
const state = { version: 0, saved: null, doc: null, service: 0, dirty: false };

const lines = (text) => text.split("\n").map((s) => s.trim()).filter(Boolean);
const hhmm = (t) => (t || "").slice(0, 5);

function toast(text, error = false) {
  const el = $("toast");
  el.textContent = text;
  el.classList.toggle("error", error);
  el.classList.remove("hidden");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.add("hidden"), 4000);
}

function markDirty() {
  state.dirty = JSON.stringify(state.doc) !== JSON.stringify(state.saved);
  $("dirty").classList.toggle("hidden", !state.dirty);
  document.body.dataset.dirty = String(state.dirty);
}

function showProblems(problems) {
  const box = $("problems");
  box.classList.toggle("hidden", !problems.length);
  box.innerHTML = problems.length ? `<strong>配置有误，未作任何修改（${problems.length} 处）：</strong><ul>` +
    problems.map((p) => `<li><code>${esc(p.path)}</code> ${esc(p.message)}</li>`).join("") + "</ul>" : "";
}

// ---- services ---------------------------------------------------------------------------
function renderServiceList() {
  $("service-list").innerHTML = state.doc.services.map((s, i) =>
    `<li><button type="button" data-i="${i}" aria-current="${i === state.service}" title="编辑${esc(s.name)}">` +
    `<span class="c-prefix">${esc(s.prefix)}</span>${esc(s.name)}${s.enabled === false ? " <em>停用</em>" : ""}</button></li>`).join("");
}

function fillServiceForm() {
  const s = state.doc.services[state.service];
  const f = $("service-form");
  if (!s) { f.classList.add("hidden"); return; }
  f.classList.remove("hidden");
  const g = s.guide || {};
  f.code.value = s.code; f.name.value = s.name; f.prefix.value = s.prefix; f.category.value = s.category || "";
  f.enabled.checked = s.enabled !== false; f.notice.value = s.notice || "";
  f.name_en.value = s.name_en || ""; f.cutoff_minutes.value = s.cutoff_minutes ?? ""; f.expired_card.value = s.expired_card || "";
  f.materials.value = (g.materials || []).join("\n"); f.time_limit.value = g.time_limit || "";
  f.fee.value = g.fee || ""; f.basis.value = g.basis || ""; f.steps.value = (g.steps || []).join("\n");
  f.code.readOnly = state.saved.services.some((o) => o.code === s.code);  // a stored code names tickets
}

function readServiceForm() {
  const s = state.doc.services[state.service];
  if (!s) return;
  const f = $("service-form");
  const oldCode = s.code;
  Object.assign(s, { code: f.code.value.trim(), name: f.name.value.trim(), prefix: f.prefix.value.trim().toUpperCase(),
    category: f.category.value.trim(), enabled: f.enabled.checked, notice: f.notice.value.trim(),
    guide: { materials: lines(f.materials.value), time_limit: f.time_limit.value.trim(), fee: f.fee.value.trim(),
      basis: f.basis.value.trim(), steps: lines(f.steps.value) },
    name_en: f.name_en.value.trim(), cutoff_minutes: f.cutoff_minutes.value ? Number(f.cutoff_minutes.value) : null,
    expired_card: f.expired_card.value || null });
  if (oldCode !== s.code) {  // a new service renamed before its first save: follow it in the windows
    for (const w of state.doc.windows) for (const ws of w.services) if (ws.code === oldCode) ws.code = s.code;
  }
  renderServiceList();
  markDirty();
}

function addService() {
  const used = new Set(state.doc.services.map((s) => s.prefix));
  const prefix = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZ"].find((c) => !used.has(c)) || "ZZ";
  state.doc.services.push({ code: `service${state.doc.services.length + 1}`, name: "新事项", prefix, category: "",
    enabled: true, notice: "", guide: { materials: [], time_limit: "", fee: "", basis: "", steps: [] } });
  state.service = state.doc.services.length - 1;
  renderServiceList(); fillServiceForm(); renderMatrix(); markDirty();
  $("service-form").name.focus();
}

function removeService() {
  const s = state.doc.services[state.service];
  if (!s || !confirm(`删除事项“${s.name}”？保存后生效。`)) return;
  state.doc.services.splice(state.service, 1);
  for (const w of state.doc.windows) w.services = w.services.filter((ws) => ws.code !== s.code);
  for (const k of state.doc.kiosks || []) k.services = (k.services || []).filter((c) => c !== s.code);
  state.service = Math.max(0, state.service - 1);
  renderServiceList(); fillServiceForm(); renderMatrix(); markDirty();
}

// ---- windows × services ------------------------------------------------------------------
function renderMatrix() {
  const services = state.doc.services;
  const head = `<thead><tr><th>窗口</th><th>名称</th>${services.map((s) => `<th title="${esc(s.code)}">${esc(s.name)}</th>`).join("")}</tr></thead>`;
  const rows = state.doc.windows.map((w, i) => {
    const roles = new Map(w.services.map((ws) => [ws.code, ws.role || "primary"]));
    const cells = services.map((s) => {
      const role = roles.get(s.code) || "";
      return `<td data-role="${role}"><select data-w="${i}" data-code="${esc(s.code)}" aria-label="${esc(w.name || w.number + "号窗口")}办理${esc(s.name)}">` +
        Object.entries(ROLE).map(([v, t]) => `<option value="${v}"${v === role ? " selected" : ""}>${t}</option>`).join("") +
        "</select></td>";
    }).join("");
    return `<tr><th>${w.number}</th><td><input data-wname="${i}" value="${esc(w.name || "")}" aria-label="${w.number}号窗口名称"></td>${cells}</tr>`;
  }).join("");
  $("window-matrix").innerHTML = head + `<tbody>${rows}</tbody>`;
}

function onMatrix(ev) {
  const el = ev.target;
  if (el.dataset.wname !== undefined) {
    state.doc.windows[Number(el.dataset.wname)].name = el.value.trim();
  } else if (el.dataset.code) {
    const w = state.doc.windows[Number(el.dataset.w)];
    const code = el.dataset.code;
    const at = w.services.findIndex((ws) => ws.code === code);
    if (!el.value && at >= 0) w.services.splice(at, 1);
    else if (el.value && at >= 0) w.services[at] = { ...w.services[at], role: el.value };
    else if (el.value) w.services.push({ code, role: el.value, weight: 1.0 });
    el.parentElement.dataset.role = el.value;
  }
  markDirty();
}

// ---- hours ---------------------------------------------------------------------------------
function renderHours() {
  const hall = state.doc.hall;
  $("hours-list").innerHTML = (hall.opening_hours || []).map((h, i) =>
    `<div class="c-row c-hours" data-h="${i}"><span class="c-days">${DAYS.map((d, j) =>
      `<label class="check"><input type="checkbox" data-day="${j + 1}"${h.days.includes(j + 1) ? " checked" : ""} aria-label="星期${d}">${d}</label>`).join("")}</span>` +
    `<label>上班<input type="time" data-open value="${hhmm(h.open)}" aria-label="上班时间"></label>` +
    `<label>下班<input type="time" data-close value="${hhmm(h.close)}" aria-label="下班时间"></label>` +
    `<button type="button" class="c-btn" data-drop="${i}" aria-label="删除这一段">删除</button></div>`).join("");
  const lunch = hall.lunch_break;
  $("lunch-on").checked = !!lunch;
  $("lunch-start").value = lunch ? hhmm(lunch.start) : "12:00";
  $("lunch-end").value = lunch ? hhmm(lunch.end) : "13:30";
  $("holidays").value = (hall.holidays || []).join("\n");
  $("workdays").value = (hall.extra_workdays || []).join("\n");
  $("lunch-issuing").value = hall.lunch_issuing || "stop";
  const policy = state.doc.policy || {};
  $("call-order").value = policy.call_order || "class_first";
  $("unserved-issue").value = policy.unserved_issue || "confirm";
}

function readHours() {
  const hall = state.doc.hall;
  hall.opening_hours = [...document.querySelectorAll(".c-hours")].map((row) => ({
    days: [...row.querySelectorAll("[data-day]")].filter((c) => c.checked).map((c) => Number(c.dataset.day)),
    open: `${row.querySelector("[data-open]").value}:00`, close: `${row.querySelector("[data-close]").value}:00` }));
  hall.lunch_break = $("lunch-on").checked
    ? { start: `${$("lunch-start").value}:00`, end: `${$("lunch-end").value}:00` } : null;
  hall.holidays = lines($("holidays").value);
  hall.extra_workdays = lines($("workdays").value);
  hall.lunch_issuing = $("lunch-issuing").value;
  state.doc.policy = { ...(state.doc.policy || {}), call_order: $("call-order").value,
    unserved_issue: $("unserved-issue").value };
  markDirty();
}

// ---- bulletin ------------------------------------------------------------------------------
function renderBulletin() {
  const b = state.doc.bulletin || (state.doc.bulletin = { notices: [], disclosures: [], supervision_phone: "12345" });
  $("notices").value = (b.notices || []).join("\n");
  $("phone").value = b.supervision_phone || "";
  $("disclosures").innerHTML = (b.disclosures || []).map((d, i) =>
    `<div class="c-disc" data-d="${i}"><input data-title value="${esc(d.title)}" placeholder="标题，如 首问负责制" aria-label="公示标题">` +
    `<textarea data-text rows="3" aria-label="公示内容">${esc(d.text)}</textarea>` +
    `<button type="button" class="c-btn" data-drop-d="${i}" aria-label="删除这项公示">删除</button></div>`).join("");
}

function readBulletin() {
  const b = state.doc.bulletin;
  b.notices = lines($("notices").value);
  b.supervision_phone = $("phone").value.trim();
  b.disclosures = [...document.querySelectorAll(".c-disc")].map((row) => ({
    title: row.querySelector("[data-title]").value.trim(), text: row.querySelector("[data-text]").value.trim() }));
  markDirty();
}

// ---- versions ------------------------------------------------------------------------------
async function renderVersions() {
  const rows = await get("/api/config/versions");
  $("version-rows").innerHTML = rows.map((v) => `<tr data-version="${v.version}"><td>第 ${v.version} 版</td>` +
    `<td>${esc(new Date(v.at).toLocaleString("zh-CN", { hour12: false }))}</td><td>${esc(v.actor)}</td>` +
    `<td>${esc(SOURCE[v.source] || v.source)}${v.restored_from ? `（第 ${v.restored_from} 版）` : ""}</td>` +
    `<td>${v.version === state.version ? "<strong>当前</strong>" :
      `<button type="button" class="c-btn" data-restore="${v.version}" aria-label="回滚到第${v.version}版">回滚到此版</button>`}</td></tr>`).join("");
}

// ---- load and save -------------------------------------------------------------------------
function renderAll() {
  $("version").textContent = `第 ${state.version} 版`;
  document.body.dataset.version = String(state.version);
  state.service = Math.min(state.service, state.doc.services.length - 1);
  renderServiceList(); fillServiceForm(); renderMatrix(); renderHours(); renderBulletin();
  renderVersions().catch(() => {});
  markDirty();
}

function take(answer) {
  state.version = answer.version;
  state.saved = answer.config;
  state.doc = structuredClone(answer.config);
  renderAll();
}

async function load() { take(await get("/api/config")); showProblems([]); }

async function send(path, body, method = "PATCH") {
  try {
    const answer = await api(method, path, body);
    take(answer);
    showProblems([]);
    const restart = (answer.restart_required || []).length
      ? `；设备/服务器设置需重启设备进程后生效（${answer.restart_required.join("、")}）` : "";
    const moved = Object.entries(answer.moved || {}).map(([c, n]) => `${c} 的 ${n} 个等候号票已转移`).join("，");
    toast(`已保存为第 ${answer.version} 版，已生效${moved ? "，" + moved : ""}${restart}`);
  } catch (e) {
    const p = e.problem || {};
    if (e.code === "config_invalid") { showProblems(p.problems || []); toast("配置有误，未作任何修改", true); return; }
    if (e.code === "config_stale") {
      toast(`配置已被他人修改为第 ${p.current_version} 版，请刷新后再改`, true);
      showProblems([{ path: "version", message: `你的修改基于第 ${p.expected_version} 版，当前为第 ${p.current_version} 版` }]);
      return;
    }
    if (e.code === "service_has_waiting") { askWhereTo(path, body, method, p); return; }
    toast(p.zh || e.message || "保存失败", true);
  }
}

function askWhereTo(path, body, method, p) {
  const dialog = $("waiting-dialog");
  $("waiting-text").textContent = `事项 ${p.service} 还有 ${p.waiting} 人等候，不能直接删除。请选择这些号票转入的事项：`;
  $("waiting-target").innerHTML = state.doc.services.map((s) => `<option value="${esc(s.code)}">${esc(s.name)}</option>`).join("");
  dialog.onclose = () => {
    if (dialog.returnValue !== "move") return;
    send(path, { ...body, on_waiting: { ...(body.on_waiting || {}), [p.service]: $("waiting-target").value } }, method);
  };
  dialog.showModal();
}

function save() {
  readServiceForm();
  send("/api/config", { expected_version: state.version, config: state.doc });
}

async function importYaml(file) {
  const text = await file.text();
  const csrf = (document.cookie.match(/(?:^|;\s*)hallq_csrf=([^;]+)/) || [])[1];
  const res = await fetch(`/api/config.yaml?expected_version=${state.version}`, { method: "PUT", credentials: "same-origin",
    headers: { "Content-Type": "application/yaml", Accept: "application/json", ...(csrf ? { "X-CSRF-Token": decodeURIComponent(csrf) } : {}) },
    body: text });
  const data = await res.json().catch(() => ({}));
  if (res.ok) { take(data); showProblems([]); toast(`已导入为第 ${data.version} 版，已生效`); return; }
  if (data.code === "config_invalid") showProblems(data.problems || []);
  toast(data.zh || "导入失败", true);
}

function selectTab(name) {
  for (const b of document.querySelectorAll("[data-tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
  for (const p of document.querySelectorAll("[data-panel]")) p.classList.toggle("hidden", p.dataset.panel !== name);
  document.body.dataset.tab = name;
}

async function main() {
  const me = await whoami();
  if (me === null) { toSignIn("login"); return; }
  $("tabs").addEventListener("click", (ev) => { const b = ev.target.closest("[data-tab]"); if (b) selectTab(b.dataset.tab); });
  $("service-list").addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-i]");
    if (!b) return;
    readServiceForm();
    state.service = Number(b.dataset.i);
    renderServiceList(); fillServiceForm();
  });
  $("service-form").addEventListener("change", readServiceForm);
  $("add-service").addEventListener("click", addService);
  $("remove-service").addEventListener("click", removeService);
  $("window-matrix").addEventListener("change", onMatrix);
  $("hours-list").addEventListener("change", readHours);
  $("hours-list").addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-drop]");
    if (!b) return;
    state.doc.hall.opening_hours.splice(Number(b.dataset.drop), 1);
    renderHours(); markDirty();
  });
  $("add-hours").addEventListener("click", () => {
    state.doc.hall.opening_hours = [...(state.doc.hall.opening_hours || []), { days: [1, 2, 3, 4, 5], open: "09:00:00", close: "17:00:00" }];
    renderHours(); markDirty();
  });
  for (const id of ["lunch-on", "lunch-start", "lunch-end", "holidays", "workdays", "lunch-issuing", "call-order", "unserved-issue"]) $(id).addEventListener("change", readHours);
  for (const id of ["notices", "phone"]) $(id).addEventListener("change", readBulletin);
  $("disclosures").addEventListener("change", readBulletin);
  $("disclosures").addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-drop-d]");
    if (!b) return;
    state.doc.bulletin.disclosures.splice(Number(b.dataset.dropD), 1);
    renderBulletin(); markDirty();
  });
  $("add-disclosure").addEventListener("click", () => {
    state.doc.bulletin.disclosures.push({ title: "", text: "" });
    renderBulletin(); markDirty();
  });
  $("version-rows").addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-restore]");
    if (b && confirm(`回滚到第 ${b.dataset.restore} 版？将保存为新的一版并立即生效。`)) {
      send(`/api/config/versions/${b.dataset.restore}/restore`, { expected_version: state.version }, "POST");
    }
  });
  $("import").addEventListener("change", (ev) => { const f = ev.target.files[0]; if (f) importYaml(f); ev.target.value = ""; });
  $("save").addEventListener("click", save);
  $("discard").addEventListener("click", () => load().then(() => toast("已放弃未保存的修改")));
  window.addEventListener("beforeunload", (ev) => { if (state.dirty) ev.preventDefault(); });
  try { await load(); } catch (e) {
    toast(e.status === 403 ? "只有管理员可以修改大厅配置" : "读取配置失败", true);
    return;
  }
  selectTab("services");
  window.hallqConfig = { state, load };  // for tests and field debugging
}

main();
