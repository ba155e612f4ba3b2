// Hall display: newest call large, recent calls, waiting per service, clock, notice, announcement audio.
import { Feed, bindStatus } from "/static/common/ws.js";
import { setLang, lang, t, tOr, initialLang } from "/static/common/i18n.js";
import { get, esc } from "/static/common/api.js";
import { startClock, throttle } from "/static/common/ui.js";
import { fitStage } from "/static/common/stage.js";

const RECENT_MAX = 8;     // list items below the big call (bounded DOM)
const AUDIO_QUEUE_MAX = 6;
const ROWS_PER_PAGE = 11;  // a hall with more services pages through them
const PAGE_MS = 8000;
const $ = (id) => document.getElementById(id);

const state = { windows: new Map(), recent: [], audioQueue: [], playing: false, soundBlocked: false,
  services: [], page: 0 };

function windowName(ticket, win) {
  if (win && win.name) return win.name;
  const w = state.windows.get(ticket.window);
  return (w && w.name) || t("hall.window_n", { n: ticket.window ?? "" });
}

// ---- calls --------------------------------------------------------------------------
function showNow(ticket, animate) {
  const now = $("now");
  $("now-number").textContent = ticket ? ticket.number : "";
  $("now-window").textContent = ticket ? windowName(ticket) : t("hall.idle");
  now.classList.toggle("idle", !ticket);
  now.dataset.number = ticket ? ticket.number : "";
  if (animate) {
    now.classList.remove("flash");
    void now.offsetWidth;    // restart the CSS animation
    now.classList.add("flash");
  }
}

function renderRecent() {
  const items = state.recent.slice(1, RECENT_MAX + 1).map((tk) =>
    `<li><span class="num">${esc(tk.number)}</span><span class="win">${esc(windowName(tk))}</span></li>`);
  $("recent").innerHTML = items.join("");
}

function addCall(ticket, win) {
  if (win && win.number != null) state.windows.set(win.number, win);
  state.recent = [ticket, ...state.recent.filter((r) => r.id !== ticket.id)].slice(0, RECENT_MAX + 1);
  showNow(ticket, true);
  renderRecent();
}

// ---- waiting table ------------------------------------------------------------------
function renderWaiting() {
  const pages = Math.max(1, Math.ceil(state.services.length / ROWS_PER_PAGE));
  state.page %= pages;
  const services = state.services.slice(state.page * ROWS_PER_PAGE, (state.page + 1) * ROWS_PER_PAGE);
  $("page").textContent = pages > 1 ? `${state.page + 1}/${pages}` : "";
  const rows = services.map((s) => {
    const off = s.available === false;
    const eta = off ? esc(tOr("reason." + s.reason, t("hall.unavailable")))
      : s.waiting && s.eta_minutes != null ? esc(t("hall.minutes", { m: s.eta_minutes })) : "—";
    return `<tr data-code="${esc(s.code)}"><td>${esc(s.name)}</td><td class="n">${s.waiting ?? 0}</td>` +
      `<td class="${off ? "off" : ""}">${eta}</td></tr>`;
  });
  $("waiting").innerHTML = rows.join("");
}

function applySnapshot(snap) {
  if (!snap) return;
  state.windows = new Map((snap.windows || []).map((w) => [w.number, w]));
  state.services = snap.services || [];
  renderWaiting();
  const calls = snap.recent_calls || [];
  state.recent = calls.slice(0, RECENT_MAX + 1);
  showNow(calls[0] || null, false);
  renderRecent();
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

// ---- feed ------------------------------------------------------------------------------
function onEvent(msg) {
  const d = msg.data || {};
  if ((msg.type === "ticket.called" || msg.type === "ticket.recalled") && d.ticket) addCall(d.ticket, d.window);
  if (msg.type === "announcement.ready") enqueueAudio(d.url);
  if (msg.type.startsWith("ticket.") || msg.type === "window.changed") refresh();
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
  setInterval(() => { if (state.services.length > ROWS_PER_PAGE) { state.page += 1; renderWaiting(); } }, PAGE_MS);
  const feed = new Feed(["hall"], {
    onSnapshot: (topic, data) => applySnapshot(data),
    onEvent,
    onStatus: bindStatus($("conn"), t),
  });
  feed.start();
  window.hallqHall = { state, feed, enqueueAudio };   // for tests and field debugging
}

main();
