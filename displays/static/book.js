// Citizen booking page (/book): service → day → slot → details → code + QR; look up, cancel or move by code + ID.
// The ID number travels only in a request body or the X-Id-Number header, never in a URL.
import { setLang, lang, t, initialLang } from "/static/common/i18n.js";

const $ = (id) => document.getElementById(id);
const STEPS = ["service", "day", "slot", "details", "done"];
const pick = { service: null, day: null, slot: null, moving: null };   // moving: {code, id} while rescheduling

async function call(method, path, body, idNumber) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idNumber) headers["X-Id-Number"] = idNumber;
  // a signed-in staff browser (phone bookings) must echo its CSRF cookie; citizens have none
  const csrf = document.cookie.match(/(?:^|;\s*)hallq_csrf=([^;]+)/);
  if (csrf && method !== "GET") headers["X-CSRF-Token"] = decodeURIComponent(csrf[1]);
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                              credentials: "same-origin" });
  } catch (e) {
    throw { zh: t("book.network"), en: t("book.network") };
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw { status: res.status, ...data };
  return data;
}

// problem details carry zh and en (server/errors.py); the page speaks the chosen one
const why = (p) => (p && ((lang().startsWith("en") ? p.en : p.zh) || p.zh || p.detail)) || t("book.failed");
const serviceName = (s) => (lang().startsWith("en") && s.name_en) || s.name;

function show(step) {
  for (const s of STEPS) $(`s-${s}`).classList.toggle("hidden", s !== step);
  const at = STEPS.indexOf(step);
  for (const li of $("steps").children) li.classList.toggle("on", STEPS.indexOf(li.dataset.step) <= at);
  const first = $(`s-${step}`).querySelector("button:not(.b-back), input");
  if (first) first.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function dayLabel(iso) {
  const d = new Date(`${iso}T00:00:00`);
  const mon = d.toLocaleDateString("en", { month: "short" });
  return { md: t("book.month_day", { m: d.getMonth() + 1, d: d.getDate(), mon }), wd: t(`book.wd${d.getDay()}`) };
}

function button(cls, label, onClick, aria) {
  const b = document.createElement("button");
  b.className = cls;
  b.type = "button";
  if (aria) b.title = aria; // the visible text stays the accessible name (WCAG 2.5.3); this is its description
  if (typeof label === "string") b.textContent = label; else b.append(...label);
  b.addEventListener("click", onClick);
  return b;
}

function span(cls, text) { const s = document.createElement("span"); s.className = cls; s.textContent = text; return s; }

async function loadServices() {
  const list = await call("GET", "/api/appointments/services");
  const box = $("services");
  box.replaceChildren(...list.map((s) => button("b-item", [span("b-item-name", serviceName(s)),
    span("b-item-sub", s.days.length ? t("book.days_open", { days: s.days.length, minutes: s.slot_minutes }) : t("book.no_slots_soon"))],
  () => { pick.service = s; renderDays(); }, t("book.book_service", { name: serviceName(s) }))));
  $("no-services").classList.toggle("hidden", list.length > 0);
  return list;
}

function renderDays() {
  $("pick-service").textContent = serviceName(pick.service);
  const days = pick.service.days;
  $("days").replaceChildren(...days.map((iso) => {
    const l = dayLabel(iso);
    return button("b-day", [span("b-day-wd", l.wd), span("b-day-md", l.md)],
      () => { pick.day = iso; renderSlots(); }, `${l.md}${l.wd}`);
  }));
  $("no-days").classList.toggle("hidden", days.length > 0);
  show("day");
}

async function renderSlots() {
  const l = dayLabel(pick.day);
  $("pick-day").textContent = `${l.md} ${l.wd}`;
  $("slots").replaceChildren();
  show("slot");
  let data;
  try {
    data = await call("GET", `/api/appointments/slots?service=${encodeURIComponent(pick.service.code)}&date=${pick.day}`);
  } catch (p) { $("slot-reason").textContent = why(p); $("slot-reason").classList.remove("hidden"); return; }
  const reason = $("slot-reason");
  reason.classList.toggle("hidden", data.bookable);
  if (!data.bookable) reason.textContent = why(data.reason);
  $("slots").replaceChildren(...data.slots.map((s) => {
    const end = s.end.slice(11, 16);
    const b = button("b-slot", [span("b-slot-time", `${s.slot}–${end}`),
      span("b-slot-free", s.bookable ? t("book.free", { n: s.free }) : t(s.free > 0 ? "book.not_bookable" : "book.full"))],
    () => choose(s), t(s.bookable ? "book.slot_aria_free" : "book.slot_aria_closed", { start: s.slot, end, n: s.free }));
    b.disabled = !s.bookable;
    return b;
  }));
}

function summary() {
  const l = dayLabel(pick.day);
  $("summary").textContent = `${serviceName(pick.service)} · ${l.md} ${l.wd} ${pick.slot.slot}–${pick.slot.end.slice(11, 16)}`;
}

function choose(slot) {
  pick.slot = slot;
  if (pick.moving) { move(); return; }
  summary();
  $("form-error").classList.add("hidden");
  show("details");
}

function facts(dl, a) {
  const l = dayLabel(a.day);
  const name = (lang().startsWith("en") && a.service_name_en) || a.service_name;
  const rows = [[t("book.f_service"), name], [t("book.f_date"), `${l.md} ${l.wd}`],
    [t("book.f_slot"), `${a.slot}–${a.end.slice(11, 16)}`], [t("book.f_person"), a.masked_name], [t("book.f_id"), a.masked_id]];
  if (a.masked_phone) rows.push([t("book.f_mobile"), a.masked_phone]);
  const state = ["booked", "cancelled", "checked_in", "missed"].includes(a.state) ? t(`book.state_${a.state}`) : a.state;
  rows.push([t("book.f_state"), state]);
  dl.replaceChildren(...rows.map(([k, v]) => {
    const div = document.createElement("div");
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    div.append(dt, dd);
    return div;
  }));
}

let shown = null;   // the booking on the done step

function done(a) {
  shown = a;
  $("code").textContent = a.code;
  $("qr").src = a.qr;
  facts($("facts"), a);
  show("done");
}

async function submit(ev) {
  ev.preventDefault();
  const err = $("form-error");
  const name = $("f-name").value.trim(), id = $("f-id").value.trim().toUpperCase(), mobile = $("f-mobile").value.trim();
  const problem = !name ? t("book.need_name") : !/^\d{17}[\dX]$/.test(id) ? t("book.need_id") :
    (mobile && !/^1[3-9]\d{9}$/.test(mobile.replace(/\D/g, ""))) ? t("book.bad_mobile") : null;
  if (problem) { err.textContent = problem; err.classList.remove("hidden"); return; }
  $("submit").disabled = true;
  try {
    const a = await call("POST", "/api/appointments", { service: pick.service.code, date: pick.day, slot: pick.slot.slot,
      name, id_number: id, mobile: mobile || null });
    $("form").reset();
    done(a);
  } catch (p) {
    if (p.code === "slot_full") {
      const next = (p.next_free || []).slice(0, 3).map((s) => `${dayLabel(s.date).md} ${s.slot}`)
        .join(lang().startsWith("en") ? ", " : "、");
      err.textContent = `${why(p)}${next ? t("book.next_free", { list: next }) : ""}`;
    } else err.textContent = why(p);
    err.classList.remove("hidden");
  } finally { $("submit").disabled = false; }
}

// -- look up, cancel, move -------------------------------------------------------------------

function tab(which) {   // "new" | "mine" | "remote" (true/false: mine/new)
  const name = which === true ? "mine" : which === false ? "new" : which;
  for (const t of ["new", "mine", "remote"]) {
    $(`tab-${t}`).classList.toggle("active", t === name);
    $(`tab-${t}`).setAttribute("aria-selected", String(t === name));
  }
  $("flow").classList.toggle("hidden", name !== "new");
  $("steps").classList.toggle("hidden", name !== "new");
  $("mine").classList.toggle("hidden", name !== "mine");
  $("remote").classList.toggle("hidden", name !== "remote");
}

function offerRemote(list) {
  const remote = list.filter((s) => s.remote);
  $("tab-remote").classList.toggle("hidden", remote.length === 0);
  $("r-service").replaceChildren(...remote.map((s) => {
    const o = document.createElement("option"); o.value = s.code; o.textContent = serviceName(s); return o;
  }));
}

const verify = { challenge: null };   // the SMS code's challenge (POST /api/remote-tickets/verify)

async function sendCode() {
  const err = $("remote-error");
  err.classList.add("hidden");
  const mobile = $("r-mobile").value.trim();
  if (!/^1[3-9]\d{9}$/.test(mobile.replace(/\D/g, ""))) { err.textContent = t("book.bad_mobile"); err.classList.remove("hidden"); return; }
  try {
    const v = await call("POST", "/api/remote-tickets/verify", { service: $("r-service").value, mobile });
    verify.challenge = v.challenge;
    for (const id of ["r-verify", "r-verify-label", "r-sent"]) $(id).classList.remove("hidden");
    $("r-sent").textContent = t("book.code_sent", { masked: v.masked, minutes: v.minutes });
    $("r-verify").focus();
  } catch (p) { err.textContent = why(p); err.classList.remove("hidden"); }
}

async function takeRemote(ev) {
  ev.preventDefault();
  const err = $("remote-error");
  err.classList.add("hidden");
  const mobile = $("r-mobile").value.trim();
  if (!/^1[3-9]\d{9}$/.test(mobile.replace(/\D/g, ""))) { err.textContent = t("book.bad_mobile"); err.classList.remove("hidden"); return; }
  const body = { service: $("r-service").value, mobile };
  if (verify.challenge) { body.challenge = verify.challenge; body.code = $("r-verify").value.trim(); }
  try {
    const r = await call("POST", "/api/remote-tickets", body);
    $("r-code").textContent = r.code;
    $("r-qr").src = r.qr;
    $("r-by").textContent = t("book.confirm_by", { time: r.confirm_by.slice(11, 16) });
    $("remote-form").classList.add("hidden");
    $("remote-done").classList.remove("hidden");
  } catch (p) { err.textContent = why(p); err.classList.remove("hidden"); }
}

let current = null;   // {a, id} of the booking looked up

async function lookup(ev) {
  if (ev) ev.preventDefault();
  const code = $("m-code").value.trim().toUpperCase(), id = $("m-id").value.trim().toUpperCase();
  const err = $("lookup-error");
  err.classList.add("hidden");
  try {
    const a = await call("GET", `/api/appointments/${encodeURIComponent(code)}`, undefined, id);
    current = { a, id };
    $("m-code-show").textContent = a.code;
    facts($("m-facts"), a);
    $("move").disabled = $("cancel").disabled = a.state !== "booked";
    $("found-actions").classList.toggle("hidden", a.state !== "booked");   // nothing to move or cancel
    $("found").classList.remove("hidden");
  } catch (p) {
    $("found").classList.add("hidden");
    err.textContent = why(p);
    err.classList.remove("hidden");
  }
}

async function cancel() {
  $("confirm").classList.add("hidden");
  try {
    const a = await call("DELETE", `/api/appointments/${current.a.code}`, undefined, current.id);
    current.a = a;
    facts($("m-facts"), a);
    $("move").disabled = $("cancel").disabled = true;
    $("found-actions").classList.add("hidden");
  } catch (p) { $("lookup-error").textContent = why(p); $("lookup-error").classList.remove("hidden"); }
}

async function startMove() {
  const list = await loadServices();
  const s = list.find((x) => x.code === current.a.service);
  if (!s) return;
  pick.moving = { code: current.a.code, id: current.id };
  pick.service = s;
  tab(false);
  renderDays();
}

async function move() {
  try {
    const a = await call("POST", `/api/appointments/${pick.moving.code}/reschedule`,
      { date: pick.day, slot: pick.slot.slot }, pick.moving.id);
    pick.moving = null;
    done(a);
  } catch (p) {
    $("slot-reason").textContent = why(p);
    $("slot-reason").classList.remove("hidden");
  }
}

function hints() {   // sentences with the hall's own minutes (data attributes of <body>)
  const b = document.body.dataset;
  $("done-hint").textContent = t("book.done_hint", { early: b.early, late: b.late });
  $("remote-hint").textContent = t("book.remote_hint", { minutes: b.remote });
}

async function switchLang() {
  await setLang(lang() === "zh-CN" ? "en" : "zh-CN");
  hints();
  document.title = `${t("book.title")} · ${$("hall-name").textContent}`;
  await loadServices().then(offerRemote).catch(() => {});
  // the open step re-renders in the new language; a shown error was in the old one
  for (const id of ["form-error", "lookup-error", "remote-error"]) $(id).classList.add("hidden");
  if (!$("s-day").classList.contains("hidden") && pick.service) renderDays();
  else if (!$("s-slot").classList.contains("hidden") && pick.day) renderSlots();
  else if (!$("s-details").classList.contains("hidden") && pick.slot) summary();
  else if (!$("s-done").classList.contains("hidden") && shown) facts($("facts"), shown);
  if (current && !$("found").classList.contains("hidden")) facts($("m-facts"), current.a);
}

async function init() {
  await setLang(initialLang(navigator.language && navigator.language.startsWith("en") ? "en" : "zh-CN"));
  hints();
  $("lang").addEventListener("click", switchLang);
  $("form").addEventListener("submit", submit);
  $("lookup").addEventListener("submit", lookup);
  $("tab-new").addEventListener("click", () => { pick.moving = null; tab(false); show("service"); });
  $("tab-mine").addEventListener("click", () => tab(true));
  $("tab-remote").addEventListener("click", () => tab("remote"));
  $("remote-form").addEventListener("submit", takeRemote);
  $("r-send").addEventListener("click", sendCode);
  for (const b of document.querySelectorAll("[data-back]")) b.addEventListener("click", () => show(b.dataset.back));
  $("again").addEventListener("click", () => show("service"));
  $("cancel").addEventListener("click", () => { $("confirm").classList.remove("hidden"); $("confirm-no").focus(); });
  $("confirm-no").addEventListener("click", () => $("confirm").classList.add("hidden"));
  $("confirm-yes").addEventListener("click", cancel);
  $("move").addEventListener("click", startMove);
  const m = location.hash.match(/code=([A-Za-z0-9]+)/);   // opened from the booking's QR
  if (m) { $("m-code").value = m[1].toUpperCase(); tab(true); $("m-id").focus(); }
  loadServices().then(offerRemote).catch((p) => { $("no-services").textContent = why(p); $("no-services").classList.remove("hidden"); });
}

init();
