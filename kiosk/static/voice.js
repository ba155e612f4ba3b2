// Voice guidance rendered by the server (GET /api/kiosks/{id}/speech/{prompt}.wav, espeak-ng):
// a fixed list of prompts filled with a number, a count or minutes — never a (masked) name.
// In English mode the browser's own speech is used when it has a voice.
import { speak } from "/static/common/ui.js";

let audio = null;
let last = { prompt: null, at: 0 };

/** Play one prompt of server/kiosk/voice.py; params: {number, n, m}. */
export function playPrompt(kiosk, prompt, params = {}) {
  const now = Date.now();
  if (last.prompt === prompt && now - last.at < 1500) return;   // one tap, one sentence
  last = { prompt, at: now };
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const url = `/api/kiosks/${encodeURIComponent(kiosk)}/speech/${prompt}.wav` + (q.size ? `?${q}` : "");
  stop();
  audio = new Audio(url);
  document.body.dataset.voicePrompt = prompt;   // what was said last (tests, field checks)
  audio.play().then(() => { document.body.dataset.voicePlayed = String(Number(document.body.dataset.voicePlayed || 0) + 1); })
    .catch(() => { /* autoplay blocked or no audio device: the screen says it too */ });
}

/** Speak English text with the browser's speech (when it has a voice). */
export function speakEnglish(text) {
  speak(text, "en");
}

export function stop() {
  if (audio) { audio.pause(); audio = null; }
  if ("speechSynthesis" in window) window.speechSynthesis.cancel();
}
