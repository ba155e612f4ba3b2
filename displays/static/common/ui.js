// Small UI helpers shared by the pages: toasts, clock, speech.

let toastTimer = null;

/** Show a transient message at the bottom of the page (one at a time, no DOM growth). */
export function toast(text, kind = "info", ms = 4000) {
  let el = document.getElementById("toast");
  if (!el) {
    el = document.createElement("div");
    el.id = "toast";
    el.setAttribute("role", "status");
    document.body.appendChild(el);
  }
  el.className = "toast " + kind;
  el.textContent = text;
  el.classList.remove("hidden");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.add("hidden"), ms);
}

/** Keep an element's text at the current local time (and date when withDate). */
export function startClock(el, withDate = false, locale = () => "zh-CN") {
  const tick = () => {
    const d = new Date();
    const time = d.toTimeString().slice(0, withDate ? 8 : 5);
    if (!withDate) { el.textContent = time; return; }
    const date = d.toLocaleDateString(locale(), { year: "numeric", month: "long", day: "numeric", weekday: "long" });
    el.innerHTML = `<span class="clock-time">${time}</span><span class="clock-date">${date}</span>`;
  };
  tick();
  return setInterval(tick, 1000);
}

/** Speak a sentence with the Web Speech API when available (used only when the user enabled it). */
export function speak(text, lang = "zh-CN") {
  if (!("speechSynthesis" in window)) return false;
  window.speechSynthesis.cancel();
  const u = new SpeechSynthesisUtterance(text);
  u.lang = lang;
  u.rate = 0.9;
  window.speechSynthesis.speak(u);
  return true;
}

/** Run fn at most once per `ms` (trailing call kept) — for refetching snapshots on bursts of events. */
export function throttle(fn, ms) {
  let timer = null, last = 0, queued = false;
  const run = () => { last = Date.now(); queued = false; timer = null; fn(); };
  return () => {
    if (timer) { queued = true; return; }
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(run, wait);
  };
}
