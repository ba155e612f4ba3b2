// Window screen, live configuration part (server/config_live/): the 监督电话 from GET /api/config/public,
// read again every minute (the window screen follows window:<n>, not the hall topic config.changed is on).
import { get } from "/static/common/api.js";

const REFRESH_MS = 60_000;

async function load() {
  try {
    const data = await get("/api/config/public");
    const el = document.getElementById("w-phone");
    el.textContent = data.supervision_phone ? `监督电话 ${data.supervision_phone}` : "";
    document.body.dataset.configVersion = String(data.version);
  } catch (e) { /* keep the last one shown */ }
}

load();
setInterval(load, REFRESH_MS);
