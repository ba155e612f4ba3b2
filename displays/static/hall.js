// Hall display: the newest live call large, a per-window grid (窗口 / 当前号 / 状态), waiting per service,
// clock, notice, announcement audio, and a stale-data state when the feed is down.
import { Feed, bindStatus } from "/static/common/ws.js";
import { setLang, lang, t, tOr, initialLang, localName } from "/static/common/i18n.js";
import { get, esc } from "/static/common/api.js";
import { startClock, throttle } from "/static/common/ui.js";
import { fitStage } from "/static/common/stage.js";

const RECENT_MAX = 8;     // calls remembered for the big panel (bounded)
const STALE_MS = 5000;    // a feed down this long dims the screen: short reconnect blips do not flash it
const TICK_MS = 15000;    // re-check the call's age (正在叫号 → 办理中 after data-call-minutes)
const AUDIO_QUEUE_MAX = 6;
const ROWS_PER_PAGE = 11;  // a hall with more services pages through them
const PAGE_MS = 8000;
const $ = (id) => document.getElementById(id);

const CALL_MS = Math.max(1, Number(document.body.dataset.callMinutes) || 3) * 60_000;
const state = { windows: new Map(), recent: [], audioQueue: [], playing: false, soundBlocked: false,
  services: [], page: 0, staleTimer: null };

function windowName(ticket, win) {
  if (win && win.name) return localName(win);
  const w = state.windows.get(ticket.window);
  return (w && localName(w)) || t("hall.window_n", { n: ticket.window ?? "" });
}

// ---- calls --------------------------------------------------------------------------
// The big panel shows the newest call still at its window: 正在叫号 while the citizen is called
// (for at most CALL_MS), then 办理中 once started or when the call is that old; idle once the
// window moved on (finished, no-show, transferred). The grid below shows every window.
function phaseOf(ticket) {
  const w = ticket && state.windows.get(ticket.window);
  const cur = w && w.current;
  if (!cur || cur.id !== ticket.id) return "idle";
  if (cur.state === "serving") return "serving";
  const at = Date.parse(cur.called_at || ticket.called_at || "");
  return Number.isFinite(at) && Date.now() - at >= CALL_MS ? "serving" : "calling";
}

function showNow(animate) {
  const now = $("now");
  const ticket = state.recent.find((tk) => phaseOf(tk) !== "idle") || null;
  const phase = phaseOf(ticket);
  $("now-number").textContent = ticket ? ticket.number : "";
  // 请A001号到3号窗口办理 while calling; once served only the number and the window stay
  $("now-window").textContent = ticket ? windowName(ticket) + (phase === "calling" ? t("hall.call_tail") : "")
    : t("hall.idle");
  $("now-label").textContent = t(phase === "serving" ? "hall.serving" : "hall.now_calling");
  now.classList.toggle("idle", !ticket);
  now.classList.toggle("serving", phase === "serving");
  now.dataset.phase = phase;
  now.dataset.number = ticket ? ticket.number : "";
  if (state.recent[0]) now.dataset.last = state.recent[0].number;
  if (phase !== "calling") now.classList.remove("flash");
  if (animate && phase === "calling") {
    now.classList.remove("flash");
    void now.offsetWidth;    // restart the CSS animation
    now.classList.add("flash");
  }
}

function windowStatus(w) {
  const cur = w.current;
  if (cur && cur.state === "serving") return "serving";
  if (cur && cur.state === "called") return "calling";
  if (w.state === "paused") return "paused";
  if (w.state === "closed") return "closed";
  return "open";
}

function renderGrid() {
  const rows = [...state.windows.values()].sort((a, b) => a.number - b.number).map((w) => {
    const st = windowStatus(w);
    const num = w.current && (st === "serving" || st === "calling") ? w.current.number : "";
    const label = t(st === "serving" ? "hall.serving" : "hall.ws_" + st);
    return `<li data-window="${w.number}" data-status="${st}"><span class="g-win">${esc(localName(w) || t("hall.window_n", { n: w.number }))}</span>` +
      `<span class="g-num">${esc(num)}</span><span class="g-st">${esc(label)}</span></li>`;
  });
  const grid = $("grid");
  grid.style.setProperty("--rows", String(Math.max(1, Math.ceil(rows.length / 2))));  // CSSOM: allowed by the CSP
  grid.innerHTML = rows.join("");
}

function addCall(ticket, win) {
  if (win && win.number != null) {
    const known = state.windows.get(win.number) || {};
    state.windows.set(win.number, { ...known, ...win, current: win.current || ticket });
  }
  // one entry per number: a transferred ticket is a new id with the same number (H-6)
  state.recent = [ticket, ...state.recent.filter((r) => r.id !== ticket.id && r.number !== ticket.number)]
    .slice(0, RECENT_MAX);
  showNow(true);
  renderGrid();
}

// ---- waiting table ------------------------------------------------------------------
// fewer rows while hall_bulletin.js shows a 制度公示 text below the table (body data-wait-rows)
const rowsPerPage = () => Number(document.body.dataset.waitRows) || ROWS_PER_PAGE;

function renderWaiting() {
  const per = rowsPerPage();
  const pages = Math.max(1, Math.ceil(state.services.length / per));
  state.page %= pages;
  const services = state.services.slice(state.page * per, (state.page + 1) * per);
  $("page").textContent = pages > 1 ? `${state.page + 1}/${pages}` : "";
  const rows = services.map((s) => {
    // honest availability (暂无窗口办理 / 不在办理时间, the engine's ServiceStatus.availability) before any ETA
    const honest = s.availability && s.availability !== "available" && s.availability_zh;
    const off = s.available === false || Boolean(honest);
    const eta = honest ? esc(lang().startsWith("en") ? (s.availability_en || s.availability_zh) : s.availability_zh)
      : off ? esc(tOr("reason." + s.reason, t("hall.unavailable")))
      : s.waiting && s.eta_minutes != null ? esc(t("hall.minutes", { m: s.eta_minutes })) : "—";
    return `<tr data-code="${esc(s.code)}"><td>${esc(localName(s))}</td><td class="n">${s.waiting ?? 0}</td>` +
      `<td class="${off ? "off" : ""}">${eta}</td></tr>`;
  });
  $("waiting").innerHTML = rows.join("");
}

function applySnapshot(snap) {
  if (!snap) return;
  state.windows = new Map((snap.windows || []).map((w) => [w.number, w]));
  state.services = snap.services || [];
  renderWaiting();
  const seen = new Set();
  state.recent = (snap.recent_calls || []).filter((tk) => !seen.has(tk.number) && seen.add(tk.number))
    .slice(0, RECENT_MAX);
  showNow(false);
  renderGrid();
}

const refresh = throttle(async () => {
  try { applySnapshot(await get("/api/hall")); } catch (e) { /* feed reconnects */ }
}, 2000);

// ---- audio ---------------------------------------------------------------------------
function enqueueAudio(url) {
  if (!url) return;
  state.audioQueue.push(url);
  while (state.audioQueue.length > AUDIO_QUEUE_MAX) state.audioQueue.shift();   // drop the oldest
  playNext();
}

function playNext() {
  if (state.playing || state.soundBlocked || !state.audioQueue.length) return;
  const audio = $("audio");
  state.playing = true;
  audio.src = state.audioQueue.shift();
  audio.play().then(() => {
    document.body.dataset.audioStarted = String(Number(document.body.dataset.audioStarted || 0) + 1);
  }).catch((err) => {
    state.playing = false;
    if (err && err.name === "NotAllowedError") {
      // autoplay blocked until a user gesture: keep the clip, ask for one click
      state.audioQueue.unshift(audio.src);
      state.soundBlocked = true;
      $("sound").classList.remove("hidden");
    } else {
      playNext();
    }
  });
}

function onAudioDone() {
  state.playing = false;
  document.body.dataset.audioPlayed = String(Number(document.body.dataset.audioPlayed || 0) + 1);
  playNext();
}

// A silent WAV (44-byte header + 800 zero samples) to learn at start-up whether the browser
// lets this page play sound; if not, the overlay asks for one click before the first call.
function silentWav() {
  const n = 800, buf = new ArrayBuffer(44 + n * 2), v = new DataView(buf);
  const str = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
  str(0, "RIFF"); v.setUint32(4, 36 + n * 2, true); str(8, "WAVEfmt "); v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); v.setUint16(22, 1, true); v.setUint32(24, 8000, true); v.setUint32(28, 16000, true);
  v.setUint16(32, 2, true); v.setUint16(34, 16, true); str(36, "data"); v.setUint32(40, n * 2, true);
  return URL.createObjectURL(new Blob([buf], { type: "audio/wav" }));
}

function probeAutoplay() {
  const probe = new Audio(silentWav());
  probe.play().then(() => URL.revokeObjectURL(probe.src)).catch((err) => {
    URL.revokeObjectURL(probe.src);
    if (err && err.name === "NotAllowedError") {
      state.soundBlocked = true;
      $("sound").classList.remove("hidden");
    }
  });
}

function enableSound() {
  state.soundBlocked = false;
  $("sound").classList.add("hidden");
  playNext();
}

// ---- stale data ----------------------------------------------------------------------------
// A hall screen that lost its feed keeps ticking its clock: without this it would look live.
function onStatus(status, show) {
  show(status);
  document.body.dataset.feed = status;
  if (status === "live") {
    clearTimeout(state.staleTimer);
    state.staleTimer = null;
    document.body.classList.remove("stale");
    $("stale").classList.add("hidden");
  } else if (state.staleTimer === null && !document.body.classList.contains("stale")) {
    state.staleTimer = setTimeout(() => {
      state.staleTimer = null;
      document.body.classList.add("stale");
      $("stale").classList.remove("hidden");
    }, STALE_MS);
  }
}

// ---- feed ------------------------------------------------------------------------------
function onEvent(msg) {
  const d = msg.data || {};
  if ((msg.type === "ticket.called" || msg.type === "ticket.recalled") && d.ticket) addCall(d.ticket, d.window);
  if (msg.type === "announcement.ready") enqueueAudio(d.url);
  if (msg.type.startsWith("ticket.") || msg.type === "window.changed") refresh();
  // --- live configuration (hall_bulletin.js): notices, 制度公示, 监督电话 ---
  if (msg.type === "config.changed") {
    document.dispatchEvent(new CustomEvent("hallq:config", { detail: d }));
    refresh();
  }
  // --- end live configuration ---
}

async function main() {
  fitStage($("stage"), 1920, 1080);
  await setLang(initialLang("zh-CN"));
  startClock($("clock"), true);
  const notice = $("notice");
  const noShow = (lang().startsWith("en") ? document.body.dataset.noShowEn : document.body.dataset.noShow) || "";
  notice.textContent = t("hall.notice", { hall: notice.dataset.hall, no_show: noShow });
  const audio = $("audio");
  audio.addEventListener("ended", onAudioDone);
  audio.addEventListener("error", onAudioDone);
  $("sound").addEventListener("click", enableSound);
  probeAutoplay();
  setInterval(() => { if (state.services.length > rowsPerPage()) { state.page += 1; renderWaiting(); } }, PAGE_MS);
  setInterval(() => showNow(false), TICK_MS);
  const feed = new Feed(["hall"], {
    onSnapshot: (topic, data) => applySnapshot(data),
    onEvent,
    onStatus: ((show) => (status) => onStatus(status, show))(bindStatus($("conn"), t)),
  });
  feed.start();
  window.hallqHall = { state, feed, enqueueAudio, renderWaiting };   // for tests and field debugging
}

main();
