// Window screen, live configuration part (server/config_live/): the 监督电话 from GET /api/config/public,
// read again on each config.changed (window.js re-dispatches it from window:<n> as the DOM event
// "hallq:config"); a slow fallback read covers a change made while the screen was offline.
import { get } from "/static/common/api.js";

const FALLBACK_MS = 15 * 60_000;

async function load(version = 0) {
  try {
    const data = await get(`/api/config/public${version ? `?version=${version}` : ""}`);
    const el = document.getElementById("w-phone");
    el.textContent = data.supervision_phone ? `监督电话 ${data.supervision_phone}` : "";
    document.body.dataset.configVersion = String(data.version);
  } catch (e) { /* keep the last one shown */ }
}

document.addEventListener("hallq:config", (ev) => load(Number((ev.detail || {}).version) || 0));
load();
setInterval(load, FALLBACK_MS);
