// 工作人员名录 (/admin/staff): GET /api/staff, POST /api/staff, PATCH /api/staff/{id},
// PUT /api/staff/{id}/photo (the file's bytes as the body). Admins write; supervisors read.
import { api, get, post, esc, whoami, toSignIn } from "/static/common/api.js";
import { problemText } from "/static/common/i18n.js";

const $ = (id) => document.getElementById(id);
const ROLES = { clerk: "窗口人员", supervisor: "值班主任", admin: "管理员" };
const SILHOUETTE = "/static/common/silhouette.svg";
const state = { staff: [], editing: null, canWrite: false };

function say(id, text) {
  $(id).textContent = text || "";
  $(id).classList.toggle("hidden", !text);
}

const thumb = (s) => (s.photo ? `${s.photo}&size=64` : SILHOUETTE);

function row(s) {
  const windows = s.windows.length ? s.windows.join("、") : (s.window ? String(s.window) : "任意");
  const edit = state.canWrite
    ? `<button type="button" data-edit="${s.id}" aria-label="编辑 ${esc(s.name)}">编辑</button>` : "";
  return `<tr data-id="${s.id}" data-active="${s.active}">` +
    `<td><img class="s-thumb" src="${esc(thumb(s))}" alt="${esc(s.name)}的照片"></td>` +
    `<td class="s-no">${esc(s.staff_no)}</td><td class="s-name">${esc(s.name)}</td>` +
    `<td class="s-dept">${esc(s.department)}</td><td>${esc(ROLES[s.role] || s.role)}</td>` +
    `<td class="s-list">${esc(s.role === "clerk" ? windows : "—")}</td>` +
    `<td class="s-list">${esc(s.services.join("、") || "—")}</td>` +
    `<td>${s.active ? "在岗" : "已停用"}</td><td>${edit}</td></tr>`;
}

function render() {
  const needle = $("filter").value.trim().toLowerCase();
  const inactive = $("show-inactive").checked;
  const shown = state.staff.filter((s) => (inactive || s.active) &&
    (!needle || [s.staff_no, s.name, s.department].some((v) => (v || "").toLowerCase().includes(needle))));
  $("rows").innerHTML = shown.map(row).join("") || `<tr><td colspan="9">没有工作人员</td></tr>`;
}

async function load() {
  try {
    state.staff = await get("/api/staff");
    say("message", "");
  } catch (e) {
    say("message", problemText(e.problem));
  }
  render();
}

function fill(s) {
  const form = $("form");
  form.staff_no.value = s ? s.staff_no : "";
  form.staff_no.disabled = Boolean(s);   // the 工号 is the sign-in name: fixed once made
  form.name.value = s ? s.name : "";
  form.department.value = s ? s.department : "";
  form.role.value = s ? s.role : "clerk";
  form.active.checked = s ? s.active : true;
  for (const box of form.querySelectorAll("input[name=windows]")) box.checked = Boolean(s && s.windows.includes(Number(box.value)));
  for (const box of form.querySelectorAll("input[name=services]")) box.checked = Boolean(s && s.services.includes(box.value));
  $("active-row").classList.toggle("hidden", !s);
  $("photo-row").classList.toggle("hidden", !s);   // a photo belongs to a saved member
  $("photo-preview").src = s && s.photo ? `${s.photo}&size=128` : SILHOUETTE;
  $("photo-file").value = "";
  $("editor-title").textContent = s ? `编辑：${s.name}（${s.staff_no}）` : "新增工作人员";
  say("form-message", "");
  say("one-time", "");
  syncRole();
}

function syncRole() {
  const clerk = $("form").role.value === "clerk";
  for (const id of ["windows-set", "services-set"]) {
    $(id).disabled = !clerk;
    if (!clerk) for (const box of $(id).querySelectorAll("input")) box.checked = false;
  }
}

function openEditor(s) {
  state.editing = s || null;
  fill(s);
  $("editor").classList.remove("hidden");
  (s ? $("form").name : $("form").staff_no).focus();
}

function closeEditor() {
  $("editor").classList.add("hidden");
  state.editing = null;
  $("add").focus();
}

function values() {
  const form = $("form");
  const checked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((b) => b.value);
  return {
    name: form.name.value.trim(), department: form.department.value.trim(), role: form.role.value,
    windows: checked("windows").map(Number), services: checked("services"),
  };
}

async function save(ev) {
  ev.preventDefault();
  const form = $("form");
  const body = values();
  if (!body.name || (!state.editing && !form.staff_no.value.trim())) {
    say("form-message", "请填写工号和姓名");
    return;
  }
  try {
    if (state.editing) {
      const updated = await api("PATCH", `/api/staff/${state.editing.id}`, { ...body, active: form.active.checked });
      state.editing = updated;
      say("form-message", "");
      say("one-time", "已保存");
    } else {
      const made = await post("/api/staff", { ...body, staff_no: form.staff_no.value.trim() });
      openEditor(made.staff);
      say("one-time", `已新增。一次性密码（只显示这一次，请转告本人，首次登录须修改）：${made.one_time_password}`);
    }
    await load();
  } catch (e) {
    say("form-message", problemText(e.problem));
  }
}

function csrf() {
  const m = document.cookie.match(/(?:^|;\s*)hallq_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

async function upload() {
  const file = $("photo-file").files[0];
  if (!file || !state.editing) return;
  say("form-message", "");
  const res = await fetch(`/api/staff/${state.editing.id}/photo`, {
    method: "PUT", body: file, credentials: "same-origin",
    headers: { "Content-Type": file.type || "application/octet-stream", "X-CSRF-Token": csrf(), Accept: "application/json" },
  });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    say("form-message", problemText(data || { zh: `上传失败（${res.status}）` }));
    return;
  }
  state.editing = data;
  $("photo-preview").src = `${data.photo}&size=128`;
  say("one-time", "照片已更新");
  await load();
}

async function main() {
  const me = await whoami();
  if (me === null) { toSignIn("login"); return; }
  if (me && me.must_change_password) { location.assign("/auth/password?next=/admin/staff"); return; }
  state.canWrite = Boolean(me && me.role === "admin");
  $("add").classList.toggle("hidden", !state.canWrite);
  $("filter").addEventListener("input", render);
  $("show-inactive").addEventListener("change", render);
  $("add").addEventListener("click", () => openEditor(null));
  $("cancel").addEventListener("click", closeEditor);
  $("form").addEventListener("submit", save);
  $("form").role.addEventListener("change", syncRole);
  $("photo-file").addEventListener("change", upload);
  $("editor").addEventListener("keydown", (e) => { if (e.key === "Escape") closeEditor(); });
  $("rows").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-edit]");
    if (b) openEditor(state.staff.find((s) => s.id === Number(b.dataset.edit)));
  });
  await load();
  window.hallqStaff = state;
}

main();
