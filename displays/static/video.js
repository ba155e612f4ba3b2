// The video wall (/supervisor/video): one tile per camera of GET /api/cameras, each an <img>
// showing the camera's MJPEG stream. A stream that drops (camera offline, server restart) is
// retried every RETRY_MS; a signed-out browser goes to the sign-in form (data-signin="login").
import { setLang, t, initialLang } from "/static/common/i18n.js";
import { get, whoami, toSignIn } from "/static/common/api.js";
import { startClock } from "/static/common/ui.js";

const RETRY_MS = 5000;
const $ = (id) => document.getElementById(id);

function say(key) {
  const el = $("message");
  el.textContent = t(key);
  el.dataset.key = key;
  el.classList.remove("hidden");
}

function where(camera) {
  const parts = [];
  if (camera.windows && camera.windows.length) parts.push(t("video.windows", { windows: camera.windows.join("、") }));
  if (camera.waiting_area) parts.push(t("video.waiting_area"));
  return parts.join(" · ");
}

function streamUrl(id) {
  return `/api/cameras/${encodeURIComponent(id)}/stream.mjpg`;
}

function tile(camera) {
  const node = $("tile").content.firstElementChild.cloneNode(true);
  const img = node.querySelector("img");
  const state = node.querySelector(".v-state");
  node.dataset.camera = camera.id;
  img.dataset.camera = camera.id;
  img.alt = camera.id;
  node.querySelector(".v-name").textContent = camera.id;
  node.querySelector(".v-where").textContent = where(camera);
  node.title = camera.url || "";
  img.addEventListener("load", () => { node.dataset.state = "live"; state.textContent = ""; });
  img.addEventListener("error", () => {
    node.dataset.state = "offline";
    state.textContent = t("video.reconnecting");
    setTimeout(() => { img.src = `${streamUrl(camera.id)}?t=${Date.now()}`; }, RETRY_MS);
  });
  img.src = streamUrl(camera.id);
  return node;
}

async function main() {
  if ((await whoami()) === null) { toSignIn("login"); return; }
  await setLang(initialLang("zh-CN"));
  startClock($("clock"));
  let listing;
  try {
    listing = await get("/api/cameras");
  } catch (e) {
    say(e.status === 403 ? "video.forbidden" : "video.failed");
    return;
  }
  const cameras = listing.cameras || [];
  if (!cameras.length) { say(listing.elsewhere ? "video.elsewhere" : "video.none"); return; }
  $("wall").replaceChildren(...cameras.map(tile));
}

main();
