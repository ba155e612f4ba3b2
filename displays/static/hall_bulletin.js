// Hall screen, live configuration part (server/config_live/): the scrolling notices, the rotating
// 制度公示 panel and the 监督电话 follow GET /api/config/public; hall.js re-dispatches the feed's
// config.changed event as "hallq:config" on document, so an admin's change shows within seconds.
import { get, esc } from "/static/common/api.js";

const ROTATE_MS = 12000;  // one 制度公示 text at a time
const DISCLOSURE_ROWS = 7;  // waiting-table rows left beside the 制度公示 panel
const $ = (id) => document.getElementById(id);
const state = { version: 0, notices: [], disclosures: [], phone: "", index: 0, base: "" };

function renderNotices() {
  const notice = $("notice");
  if (!state.base) state.base = notice.textContent;  // hall.js's welcome sentence
  const lines = [...state.notices, state.base].filter(Boolean);
  notice.textContent = lines.join("　　◆　　");
  notice.dataset.version = String(state.version);
  // restart the scroll so a new notice starts at the right edge instead of mid-way
  notice.style.animation = "none";
  void notice.offsetWidth;
  notice.style.animation = "";
}

function renderDisclosure() {
  const box = $("disclosure");
  if (!box) return;
  const items = state.disclosures;
  box.classList.toggle("hidden", items.length === 0);
  const rows = items.length ? String(DISCLOSURE_ROWS) : "";
  if ((document.body.dataset.waitRows || "") !== rows) {  // make room in the waiting table (hall.js pages it)
    if (rows) document.body.dataset.waitRows = rows; else delete document.body.dataset.waitRows;
    if (window.hallqHall) window.hallqHall.renderWaiting();
  }
  if (!items.length) return;
  state.index %= items.length;
  const d = items[state.index];
  box.innerHTML = `<h3 class="h-disc-title"><span class="h-disc-tag">制度公示</span>${esc(d.title)}` +
    `<span class="h-disc-page">${items.length > 1 ? `${state.index + 1}/${items.length}` : ""}</span></h3>` +
    `<p class="h-disc-text">${esc(d.text)}</p>`;
}

function renderPhone() {
  const el = $("supervision-phone");
  if (el) el.textContent = state.phone ? `监督电话 ${state.phone}` : "";
}

async function load(version = 0) {
  try {
    const data = await get(`/api/config/public${version ? `?version=${version}` : ""}`);
    if (data.version < state.version) return;  // an older answer overtaken by a newer one
    Object.assign(state, { version: data.version, notices: data.notices || [], disclosures: data.disclosures || [],
      phone: data.supervision_phone || "" });
    renderNotices();
    renderDisclosure();
    renderPhone();
    document.body.dataset.configVersion = String(state.version);
  } catch (e) { /* the next config.changed or reload tries again */ }
}

document.addEventListener("hallq:config", (ev) => load((ev.detail && ev.detail.version) || 0));
setInterval(() => { state.index += 1; renderDisclosure(); }, ROTATE_MS);
// hall.js writes its welcome sentence after loading the language: wait for it once
const started = setInterval(() => {
  if ($("notice").textContent) { clearInterval(started); load(); }
}, 100);
window.hallqBulletin = { state, load };  // for tests and field debugging
