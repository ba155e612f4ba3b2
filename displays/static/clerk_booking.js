// 电话预约 on the clerk console: a clerk books a slot for a citizen on the phone (POST /api/appointments
// signed in: channel "staff"); the booking code is read back to the caller. Server: server/api/appointments.py.
import { api, get, esc } from "/static/common/api.js";

const $ = (id) => document.getElementById(id);
const state = { services: [] };

function problem(e) {
  const p = e.problem || {};
  return p.zh || p.detail || e.message || "预约失败";
}

async function loadSlots() {
  const service = $("bk-service").value, date = $("bk-date").value;
  $("bk-slot").innerHTML = "";
  if (!service || !date) return;
  try {
    const day = await get(`/api/appointments/slots?service=${encodeURIComponent(service)}&date=${date}`);
    const open = (day.slots || []).filter((s) => s.bookable !== false && s.free > 0);
    $("bk-slot").innerHTML = open.length
      ? open.map((s) => `<option value="${esc(s.slot)}">${esc(s.slot)}（余 ${s.free}）</option>`).join("")
      : `<option value="">当日已约满或不可预约</option>`;
  } catch (e) { $("bk-error").textContent = problem(e); }
}

function fillDates() {
  const svc = state.services.find((s) => s.code === $("bk-service").value);
  $("bk-date").innerHTML = (svc ? svc.days : []).map((d) => `<option value="${d}">${d}</option>`).join("");
  return loadSlots();
}

async function open() {
  $("bk-error").textContent = "";
  $("bk-done").classList.add("hidden");
  try { state.services = await get("/api/appointments/services"); } catch (e) { state.services = []; }
  $("bk-service").innerHTML = state.services.map((s) => `<option value="${esc(s.code)}">${esc(s.name)}</option>`).join("");
  await fillDates();
  $("dlg-book").showModal();
  $("bk-name").focus();
}

async function book(ev) {
  ev.preventDefault();
  $("bk-error").textContent = "";
  const body = { service: $("bk-service").value, date: $("bk-date").value, slot: $("bk-slot").value,
    name: $("bk-name").value.trim(), id_number: $("bk-id").value.replace(/\s/g, "").toUpperCase() };
  const mobile = $("bk-mobile").value.trim();
  if (mobile) body.mobile = mobile;
  if (!body.slot || !body.name || !body.id_number) { $("bk-error").textContent = "请选择时段并填写姓名和身份证号"; return; }
  try {
    const a = await api("POST", "/api/appointments", body);
    const done = $("bk-done");
    done.textContent = `已预约：${a.date || body.date} ${a.slot || body.slot}，预约码 ${a.code}（请告知市民，到大厅取号机刷身份证或输入预约码签到）`;
    done.dataset.code = a.code;
    done.classList.remove("hidden");
    for (const id of ["bk-name", "bk-id", "bk-mobile"]) $(id).value = "";
    await loadSlots();
  } catch (e) { $("bk-error").textContent = problem(e); }
}

$("btn-book").addEventListener("click", open);
$("bk-service").addEventListener("change", fillDates);
$("bk-date").addEventListener("change", loadSlots);
$("bk-ok").addEventListener("click", book);
