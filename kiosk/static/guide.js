// 办事指南 on the kiosk (live configuration, server/config_live/): per service the materials, 时限, 收费,
// 依据 and 流程 from GET /api/config/public, in large type. Read again each time it opens, so an
// admin's change shows on the next visit; closes itself after a minute untouched.
import { get, esc } from "/static/common/api.js";
import { localName, tOr } from "/static/common/i18n.js";

// the guide's own content (materials, steps, basis) is the hall's Chinese text; only its frame is translated
const tr = (key, zh, params = {}) => tOr(`guide.${key}`, zh, params)
  .replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));   // the fallback has placeholders too

const IDLE_MS = 60_000;
const $ = (id) => document.getElementById(id);
const state = { services: [], idle: null };

function offered(services) {
  const only = (document.body.dataset.services || "").split(",").filter(Boolean);
  return only.length ? services.filter((s) => only.includes(s.code)) : services;
}

function touch() {
  clearTimeout(state.idle);
  state.idle = setTimeout(close, IDLE_MS);
}

function showList() {
  $("guide-title").textContent = tr("title", "办事指南");
  $("guide-back").classList.add("hidden");
  $("guide-page").classList.add("hidden");
  $("guide-list").classList.remove("hidden");
  $("guide-list").innerHTML = state.services.map((s) =>
    `<button type="button" class="g-item" data-code="${esc(s.code)}" aria-label="${esc(tr("item_aria", "{name}的办事指南", { name: localName(s) }))}">` +
    `<span class="g-item-name">${esc(localName(s))}</span>` +
    `<span class="g-item-sub">${esc((s.guide && s.guide.time_limit)
      ? tr("time_limit_line", "办理时限：{v}", { v: s.guide.time_limit }) : tr("see_materials", "查看所需材料和流程"))}</span></button>`).join("")
    || `<p class="g-empty">${esc(tr("none", "暂无办事指南，请咨询工作人员"))}</p>`;
}

function section(title, body) {
  return body ? `<section class="g-sec"><h3>${title}</h3>${body}</section>` : "";
}

function showService(code) {
  const s = state.services.find((x) => x.code === code);
  if (!s) return;
  const g = s.guide || {};
  const list = (items, tag) => items && items.length
    ? `<${tag}>${items.map((i) => `<li>${esc(i)}</li>`).join("")}</${tag}>` : "";
  const facts = [g.time_limit && `<div class="g-fact"><span>${tr("time_limit", "办理时限")}</span><strong>${esc(g.time_limit)}</strong></div>`,
    g.fee && `<div class="g-fact"><span>${tr("fee", "收费标准")}</span><strong>${esc(g.fee)}</strong></div>`].filter(Boolean).join("");
  const body = [
    s.notice ? `<p class="g-notice"><span>${tr("notice", "一次告知")}</span>${esc(s.notice)}</p>` : "",
    facts ? `<div class="g-facts">${facts}</div>` : "",
    section(tr("materials", "申请材料"), list(g.materials, "ol")),
    section(tr("steps", "办理流程"), list(g.steps, "ol")),
    section(tr("basis", "设定依据"), g.basis ? `<p>${esc(g.basis)}</p>` : ""),
  ].join("");
  $("guide-title").textContent = localName(s);
  $("guide-page").innerHTML = body || `<p class="g-empty">${esc(tr("none_for_item", "此事项暂无办事指南，请咨询工作人员"))}</p>`;
  $("guide-page").dataset.code = code;
  $("guide-list").classList.add("hidden");
  $("guide-page").classList.remove("hidden");
  $("guide-back").classList.remove("hidden");
  $("guide-page").scrollTop = 0;
}

async function open() {
  try {
    state.services = offered((await get("/api/config/public")).services || []);
  } catch (e) { /* keep what we had: better an old guide than none */ }
  $("guide").classList.remove("hidden");
  showList();
  touch();
  $("guide-close").focus();
}

function close() {
  clearTimeout(state.idle);
  $("guide").classList.add("hidden");
  $("guide-open").focus();
}

$("guide-open").addEventListener("click", open);
$("guide-close").addEventListener("click", close);
$("guide-back").addEventListener("click", () => { showList(); touch(); });
$("guide-list").addEventListener("click", (ev) => {
  const b = ev.target.closest("[data-code]");
  if (b) { showService(b.dataset.code); touch(); }
});
$("guide").addEventListener("pointerdown", touch);
window.hallqGuide = { open, close, state };  // for tests and field debugging
