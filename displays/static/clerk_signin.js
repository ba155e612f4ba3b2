// Clerk console, signing in from the staff directory: pick the window, tap your card (photo, 姓名, 工号,
// 所属单位 from GET /api/staff?window=N), type the password. The password goes to the ordinary sign-in
// (POST /auth/login, the session cookie) and the window opens at once, so nothing is typed twice.
import { get, esc } from "/static/common/api.js";
import { tt } from "/static/clerk_desk.js";

const $ = (id) => document.getElementById(id);
export const AUTO_OPEN_KEY = "hallq.clerk.open";   // the window to open right after a directory sign-in
const PLACEHOLDER = "/static/common/silhouette.svg";
let chosen = null;

async function loadStaff() {
  const n = Number($("dir-window").value);
  chosen = null;
  $("dir-form").classList.add("hidden");
  let people = [];
  try { people = await get(`/api/staff?window=${n}`); } catch (e) { people = []; }
  $("dir-staff").innerHTML = people.map((p) => `<button type="button" class="cl-person" role="listitem"
      data-staff="${esc(p.staff_no)}" aria-label="${esc(p.name)} ${esc(p.staff_no)}">
      <img alt="" src="${esc(p.photo ? p.photo + (p.photo.includes("?") ? "&" : "?") + "size=128" : PLACEHOLDER)}">
      <span class="cl-person-name">${esc(p.name)}</span>
      <span class="cl-person-no">${esc(tt("dir_no"))} ${esc(p.staff_no)}</span>
      <span class="cl-person-dept">${esc(p.department || "")}</span></button>`).join("") ||
    `<p class="cl-empty">${esc(tt("dir_none"))}</p>`;
  // a photo the anonymous page may not load yet shows the silhouette instead of a broken image
  for (const img of $("dir-staff").querySelectorAll("img")) {
    img.addEventListener("error", () => { if (!img.src.endsWith(PLACEHOLDER)) img.src = PLACEHOLDER; }, { once: true });
  }
}

function choose(button) {
  for (const b of $("dir-staff").querySelectorAll(".cl-person")) b.classList.toggle("chosen", b === button);
  chosen = button.dataset.staff;
  $("dir-chosen").textContent = button.getAttribute("aria-label");
  $("dir-error").textContent = "";
  $("dir-form").classList.remove("hidden");
  $("dir-password").value = "";
  $("dir-password").focus();
}

function errorOf(html, status) {
  const text = new DOMParser().parseFromString(html, "text/html").querySelector(".error");
  return (text && text.textContent.trim()) || tt("dir_failed", { status });
}

async function submit(ev) {
  ev.preventDefault();
  if (!chosen) return;
  const window = $("dir-window").value;
  const body = new URLSearchParams({ username: chosen, password: $("dir-password").value, window, next: "/clerk" });
  $("dir-password").value = "";
  let res;
  try {
    res = await fetch("/auth/login", { method: "POST", body, redirect: "manual", credentials: "same-origin" });
  } catch (e) {
    $("dir-error").textContent = tt("dir_failed", { status: 0 });
    return;
  }
  if (res.type === "opaqueredirect" || res.redirected || res.status === 303 || res.status === 302) {
    sessionStorage.setItem(AUTO_OPEN_KEY, window);
    location.assign("/clerk");
    return;
  }
  $("dir-error").textContent = errorOf(await res.text(), res.status);
}

/** Show the directory sign-in (the page has no signed-in account yet). */
export async function showDirectory() {
  $("directory").classList.remove("hidden");
  $("signin").classList.add("hidden");
  let hall = null;
  try { hall = await get("/api/hall"); } catch (e) { hall = null; }
  const windows = (hall && hall.windows) || [];
  const saved = JSON.parse(localStorage.getItem("hallq.clerk") || "{}");
  $("dir-window").innerHTML = windows.map((w) => `<option value="${w.number}">${esc(w.name)}</option>`).join("");
  if (saved.window) $("dir-window").value = String(saved.window);
  $("dir-window").addEventListener("change", loadStaff);
  $("dir-staff").addEventListener("click", (e) => { const b = e.target.closest(".cl-person"); if (b) choose(b); });
  $("dir-form").addEventListener("submit", submit);
  await loadStaff();
}
