// Clerk console, the counter's extra tools: 代取号 / 绿色通道, the call-back list (过号/挂起 with the
// time left), the transfer dialog (open windows and services served now, 号码不变) and the configured
// pause reasons. The rules are on the server (server/console/, /api/console/*); this is the UI.
import { lang, problemText } from "/static/common/i18n.js";
import { get, post, esc } from "/static/common/api.js";
import { toast } from "/static/common/ui.js";

const $ = (id) => document.getElementById(id);

// The console's own strings (zh-CN first); the shared catalogues stay for the shared words.
const L = {
  "zh-CN": {
    proxy: "代取号", green: "绿色通道", daiban: "代办", cb_title: "过号 / 挂起（可回呼）", cb_state: "状态", cb_left: "剩余回呼时间",
    cb_hint: "回呼时限按办理时间计算，午休和下班时间不计。", cb_none: "没有可回呼的号票", cb_call: "回呼",
    cb_busy: "请先办结或挂起当前号票再回呼", no_show: "过号", suspended: "挂起", paused_clock: "午休/下班暂停计时",
    tr_keep: "号码不变：办事人无需重新取号，按原取号时间排队。", tr_waiting: "等候 {n} 人", tr_none_w: "没有其他开放的窗口",
    tr_none_s: "没有正在办理的业务", tr_pick: "请选择转到的窗口或业务", tr_done: "{number} 已转出，号码不变",
    px_service: "业务", px_reason: "原因", px_class: "类别", px_normal: "普通", px_priority: "优先（老年人、残疾人、孕妇）",
    px_id: "身份证号（可选）", px_id_ph: "18位，末位可为X", px_note: "备注（可选）", px_print: "打印",
    px_no_print: "不打印（告知号码）", px_issue: "取号", px_green_issue: "授权并取号",
    px_green_note: "绿色通道号票优先叫号；授权人（当前登录账号）和原因记入审计。",
    px_title: "代取号（帮代办）", px_green_title: "绿色通道（须说明原因）",
    id_ok: "校验通过", id_bad: "身份证号码校验不通过，请核对", id_len: "身份证号码应为18位",
    issued: "已取号 {number}（{service}）", printed: "，已打印", not_printed: "，未打印：请告知办事人号码",
    dir_title: "窗口签到", dir_pick: "请选择您的姓名，再输入密码。", dir_password: "密码", dir_submit: "签到并开窗",
    dir_other: "其他人员（值班主任、管理员）登录", dir_no: "工号", dir_none: "此窗口没有可签到的工作人员",
    dir_failed: "签到失败（{status}），请重试",
    px_reader: "读卡", px_read: "读取身份证", px_unread: "不用此卡", card_read: "已读卡：{name} {id}",
    card_none: "读卡器上没有身份证，请放置后再读取",
  },
  en: {
    proxy: "Ticket for…", green: "Green channel", daiban: "on behalf", cb_title: "Missed / on hold (call back)", cb_state: "State",
    cb_left: "Time left", cb_hint: "The call-back limit counts opening time only (not lunch or after hours).",
    cb_none: "Nothing to call back", cb_call: "Call back", cb_busy: "Finish or hold the current ticket first",
    no_show: "Missed", suspended: "On hold", paused_clock: "clock stopped (lunch/closed)",
    tr_keep: "Same number: the citizen keeps their ticket and place.", tr_waiting: "{n} waiting",
    tr_none_w: "No other window is open", tr_none_s: "No service is being served", tr_pick: "Choose a window or service",
    tr_done: "{number} transferred, same number",
    px_service: "Service", px_reason: "Reason", px_class: "Class", px_normal: "Normal",
    px_priority: "Priority (elderly, disabled, pregnant)", px_id: "ID number (optional)", px_id_ph: "18 characters",
    px_note: "Note (optional)", px_print: "Print", px_no_print: "Do not print (tell the number)", px_issue: "Issue",
    px_green_issue: "Grant and issue", px_green_note: "Green-channel tickets are called first; you (the signed-in account) and the reason are audited.",
    px_title: "Ticket on behalf (代取号)", px_green_title: "Green channel (reason required)",
    id_ok: "Check digit OK", id_bad: "The ID number's check digit is wrong", id_len: "An ID number has 18 characters",
    issued: "Issued {number} ({service})", printed: ", printed", not_printed: ", not printed: tell the citizen the number",
    dir_title: "Window sign-in", dir_pick: "Tap your name, then type your password.", dir_password: "Password",
    dir_submit: "Sign in and open", dir_other: "Other staff (supervisor, admin) sign-in", dir_no: "No.",
    dir_none: "Nobody may sign in at this window", dir_failed: "Sign-in failed ({status}), try again",
    px_reader: "Card reader", px_read: "Read ID card", px_unread: "Don't use it", card_read: "Card read: {name} {id}",
    card_none: "No card on the reader: place it and read again",
  },
};

/** A console string in the current language; {name} placeholders from params. */
export function tt(key, params = {}) {
  const table = L[lang()] || L["zh-CN"];
  let s = table[key] ?? L["zh-CN"][key] ?? key;
  for (const [k, v] of Object.entries(params)) s = s.split(`{${k}}`).join(String(v));
  return s;
}

/** Translate the console's data-x elements (the shared data-i18n ones are done by i18n.js). */
export function applyDesk(root = document) {
  for (const el of root.querySelectorAll("[data-x]")) el.textContent = tt(el.dataset.x);
  for (const el of root.querySelectorAll("[data-x-attr]")) {
    const [attr, key] = el.dataset.xAttr.split(":");
    el.setAttribute(attr, tt(key));
  }
}

const reasonText = (r) => (lang().startsWith("en") && r.en ? r.en : r.zh);

// ---- GB 11643 check digit (the server checks again) -----------------------------------------
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = "10X98765432";

/** "" when empty, "ok", "len" or "bad" for a typed ID number. */
export function idProblem(text) {
  const n = text.replace(/\s+/g, "").toUpperCase();
  if (!n) return "";
  if (!/^\d{17}[\dX]$/.test(n)) return "len";
  const sum = WEIGHTS.reduce((acc, w, i) => acc + w * Number(n[i]), 0);
  return CHECK[sum % 11] === n[17] ? "ok" : "bad";
}

// ---- options ---------------------------------------------------------------------------------
let options = null;

/** The console's lists from /api/console/options (once). */
export async function loadOptions() {
  if (options) return options;
  try { options = await get("/api/console/options"); } catch (e) { options = null; toast(problemText(e.problem), "error"); }
  return options;
}

/** Fill the pause dialog's list from the configured reasons (value = code). */
export function fillPauseReasons() {
  const list = (options && options.pause_reasons) || [];
  const sel = $("pause-reason");
  const keep = sel.value;
  sel.innerHTML = list.map((r) => `<option value="${esc(r.code)}">${esc(reasonText(r))}</option>`).join("");
  if (keep) sel.value = keep;
}

/** The pause reason as public screens show it: always the Chinese text, whatever the console language. */
export function pauseReason(note) {
  const list = (options && options.pause_reasons) || [];
  const r = list.find((x) => x.code === $("pause-reason").value);
  const zh = r ? r.zh : $("pause-reason").selectedOptions[0]?.textContent || "";
  return zh + (note ? `：${note}` : "");
}

/** A stored (Chinese) pause reason in the console's language: "午休：补充" reads "Lunch：补充" in English. */
export function pauseLabel(stored) {
  const list = (options && options.pause_reasons) || [];
  const [head, ...rest] = String(stored).split("：");
  const r = list.find((x) => x.zh === head);
  return r ? [reasonText(r), ...rest].join("：") : stored;
}

// ---- 代取号 / 绿色通道 ---------------------------------------------------------------------------
let proxyKind = "proxy";
let cardAt = null;   // the counter reader whose card this ticket uses (server reads its stored session)

function useCard(kiosk, card) {
  cardAt = kiosk;
  $("px-card").textContent = card ? tt("card_read", { name: card.masked_name || "", id: card.masked_id || "" }) : "";
  $("px-card").className = "cl-field-msg px-reader-row" + (card ? " ok" : "");
  $("px-id").disabled = !!kiosk;
  if (kiosk) $("px-id").value = "";
  $("px-unread").classList.toggle("hidden", !kiosk);
  showIdState();
}

async function readCard() {
  const kiosk = $("px-reader").value;
  try {
    const card = await get(`/api/console/card/${encodeURIComponent(kiosk)}`);
    useCard(kiosk, card);
    if (card.priority === "priority" && proxyKind !== "green") $("px-priority").value = "priority";
  } catch (e) {
    useCard(null, null);
    $("px-card").textContent = e.problem && e.problem.code === "no_session" ? tt("card_none") : problemText(e.problem);
    $("px-card").className = "cl-field-msg px-reader-row bad";
  }
}

/** Open the 代取号 (kind "proxy") or 绿色通道 (kind "green") dialog. */
export async function openProxy(kind, hall) {
  const opts = await loadOptions();
  if (!opts) return;
  proxyKind = kind;
  const green = kind === "green";
  const dlg = $("dlg-proxy");
  dlg.classList.toggle("green", green);
  $("px-title").textContent = tt(green ? "px_green_title" : "px_title");
  $("px-ok").textContent = tt(green ? "px_green_issue" : "px_issue");
  $("px-green-note").hidden = !green;
  for (const el of dlg.querySelectorAll(".px-normal-only")) el.hidden = green;
  const services = (hall && hall.services) || [];
  $("px-service").innerHTML = services.map((s) => `<option value="${esc(s.code)}">${esc(s.name)}</option>`).join("");
  const reasons = green ? opts.green_reasons : opts.proxy_reasons;
  $("px-reason").innerHTML = reasons.map((r) => `<option value="${esc(r.code)}">${esc(reasonText(r))}</option>`).join("");
  const printers = opts.printers || [];
  $("px-print").innerHTML = printers.map((p) => `<option value="${esc(p.kiosk)}">${esc(p.name)}</option>`).join("") +
    `<option value="">${esc(tt("px_no_print"))}</option>`;
  $("px-priority").value = "normal";
  const readers = opts.readers || [];
  $("px-reader").innerHTML = readers.map((r) => `<option value="${esc(r.kiosk)}">${esc(r.name)}</option>`).join("");
  for (const el of dlg.querySelectorAll(".px-reader-row")) el.hidden = !readers.length;
  useCard(null, null);
  $("px-id").value = "";
  $("px-note").value = "";
  showIdState();
  dlg.returnValue = "";
  dlg.showModal();
  $("px-service").focus();
}

function showIdState() {
  const p = idProblem($("px-id").value);
  const msg = $("px-id-msg");
  msg.textContent = p === "ok" ? tt("id_ok") : p === "bad" ? tt("id_bad") : p === "len" ? tt("id_len") : "";
  msg.className = "cl-field-msg " + (p === "ok" ? "ok" : p ? "bad" : "");
  $("px-id").setAttribute("aria-invalid", p === "bad" || p === "len" ? "true" : "false");
  return p;
}

async function submitProxy(ev) {
  if (ev.submitter && ev.submitter.value !== "ok") return;
  ev.preventDefault();
  const p = showIdState();
  if (p === "bad" || p === "len") { $("px-id").focus(); return; }
  const body = { service: $("px-service").value, reason: $("px-reason").value,
    priority: proxyKind === "green" ? "green" : $("px-priority").value };
  const id = $("px-id").value.replace(/\s+/g, "");
  if (cardAt) body.card_at = cardAt;
  else if (id) body.id_number = id;
  const note = $("px-note").value.trim();
  if (note) body.note = note;
  if ($("px-print").value) body.print_at = $("px-print").value;
  const btn = $("px-ok");
  btn.disabled = true;
  try {
    const t = await post("/api/console/tickets", body);
    $("px-id").value = "";   // the number leaves the page as soon as it is used
    $("dlg-proxy").close("done");
    let text = tt("issued", { number: t.number, service: t.service_name || t.service });
    if (t.print) text += tt(t.print.printed ? "printed" : "not_printed");
    toast(text, t.print && !t.print.printed ? "error" : "info", 10000);
    document.body.dataset.lastProxy = t.number;
  } catch (e) {
    toast(problemText(e.problem), "error");
  } finally {
    btn.disabled = false;
  }
}

// ---- call-back list ------------------------------------------------------------------------------
let callBacks = [];
let fetchedAt = 0;

/** Reload the window's 过号/挂起 list with the time left (server-computed, in opening time). */
export async function refreshCallBacks(number) {
  if (!number) return;
  try {
    callBacks = await get(`/api/console/windows/${number}/call-backs`);
    fetchedAt = Date.now();
  } catch (e) { return; }
  renderCallBacks();
}

function mmss(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/** Draw the list; ``busy`` (a ticket at the window) disables 回呼. Times count down between reloads. */
export function renderCallBacks(busy = document.body.dataset.current !== "", openNow = true) {
  const since = (Date.now() - fetchedAt) / 1000;
  const rows = callBacks.map((t) => {
    const left = openNow ? t.left_s - since : t.left_s;
    const late = left < 5 * 60;
    const state = t.state === "suspended" ? "suspended" : "no_show";
    return `<tr data-id="${t.id}"><td class="num">${esc(t.number)}</td><td>${esc(t.service_name || t.service)}</td>` +
      `<td><span class="cl-state ${state}">${esc(tt(state))}</span></td>` +
      `<td class="cl-left${late ? " late" : ""}" title="${esc(t.deadline || "")}">${mmss(left)}` +
      `${openNow ? "" : ` <small>${esc(tt("paused_clock"))}</small>`}</td>` +
      `<td><button data-callback="${t.id}" ${busy ? "disabled" : ""} title="${esc(busy ? tt("cb_busy") : "")}"` +
      ` aria-label="${esc(tt("cb_call"))} ${esc(t.number)}">${esc(tt("cb_call"))}</button></td></tr>`;
  });
  $("callbacks").innerHTML = rows.join("") || `<tr><td colspan="5" class="cl-empty">${esc(tt("cb_none"))}</td></tr>`;
  $("cb-count").textContent = String(callBacks.length);
}

// ---- transfer ----------------------------------------------------------------------------------------

/** Open the transfer dialog with the server's list of open windows and services served now. */
export async function openTransfer(number) {
  let targets;
  try { targets = await get(`/api/console/windows/${number}/transfer-targets`); } catch (e) {
    toast(problemText(e.problem), "error");
    return;
  }
  const en = lang().startsWith("en");
  const win = targets.windows.map((w) => `<label class="cl-choice"><input type="radio" name="target" value="w:${w.number}">` +
    `<span class="cl-choice-name">${esc((en && w.name_en) || w.name)}</span>` +
    `<span class="cl-choice-count">${esc(tt("tr_waiting", { n: w.waiting }))}</span></label>`);
  const svc = targets.services.map((s) => `<label class="cl-choice"><input type="radio" name="target" value="s:${esc(s.code)}">` +
    `<span class="cl-choice-name">${esc((en && s.name_en) || s.name)}</span>` +
    `<span class="cl-choice-count">${esc(tt("tr_waiting", { n: s.waiting }))}</span></label>`);
  $("tr-windows").innerHTML = win.join("") || `<p class="cl-empty">${esc(tt("tr_none_w"))}</p>`;
  $("tr-services").innerHTML = svc.join("") || `<p class="cl-empty">${esc(tt("tr_none_s"))}</p>`;
  const dlg = $("dlg-transfer");
  dlg.returnValue = "";
  dlg.showModal();
}

/** The transfer body chosen in the dialog, or null (cancelled / nothing chosen). */
export function chosenTransfer() {
  const dlg = $("dlg-transfer");
  if (dlg.returnValue !== "ok") return null;
  const picked = dlg.querySelector("input[name=target]:checked");
  if (!picked) { toast(tt("tr_pick"), "error"); return null; }
  const [kind, value] = [picked.value.slice(0, 1), picked.value.slice(2)];
  return kind === "w" ? { to_window: Number(value) } : { to_service: value };
}

/** Wire the dialogs and the call-back buttons; ``callBack(ticketId)`` calls a ticket back. */
export function initDesk({ hall, callBack }) {
  $("btn-proxy").addEventListener("click", () => openProxy("proxy", hall()));
  $("btn-green").addEventListener("click", () => openProxy("green", hall()));
  $("px-form").addEventListener("submit", submitProxy);
  $("px-id").addEventListener("input", showIdState);
  $("px-read").addEventListener("click", readCard);
  $("px-unread").addEventListener("click", () => useCard(null, null));
  $("callbacks").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-callback]");
    if (b && !b.disabled) callBack(Number(b.dataset.callback));
  });
  applyDesk();
}
