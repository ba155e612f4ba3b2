"""The pages in a real browser (Debian's Chromium via Playwright) against a real uvicorn server.

One server process per module on a fresh SQLite file, in demo mode (simulated devices).
Every test drives its own service/window pair so the tests do not depend on each other.
Screenshots of every page go to ``screenshots/`` at the repository root (git-ignored).
"""

from __future__ import annotations

import base64
import contextlib
import io
import math
import os
import re
import signal
import struct
import subprocess
import sys
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
HD = {"width": 1920, "height": 1080}
WINDOW_SCREEN = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000

def _free_port() -> int:
    from tests.support.serving import free_port  # outside the ephemeral range the demo's simulators use

    return free_port()


class Server:
    """A hallq server subprocess that can be killed and restarted on the same port and database."""

    def __init__(self, tmp: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "server.log"
        self.env = {**os.environ, "HALLQ_CONFIG": str(ROOT / "config" / "demo.yaml"),
                    "HALLQ_DATABASE_URL": f"sqlite:///{tmp / 'hall.db'}", "HALLQ_DEMO": "1",
                    "HALLQ_EVENT_POLL_SECONDS": "0.5", "PYTHONPATH": str(ROOT)}
        self.proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.base, timeout=10)

    def start(self) -> None:
        """Start the process, wait (bounded) until /healthz answers, sign the API client in as supervisor."""
        self.client.close()  # pooled connections to a killed process are dead
        self.client = httpx.Client(base_url=self.base, timeout=10)
        hallq = Path(sys.executable).parent / "hallq"
        cmd = [str(hallq), "serve", "--config", self.env["HALLQ_CONFIG"], "--port", str(self.port), "--demo"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=log,
                                         start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    self._sign_in()
                    return
            time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")

    def _sign_in(self) -> None:
        # demo mode seeds the demo accounts (README: supervisor / supervisor-demo)
        r = self.client.post("/api/auth/token", data={"username": "supervisor", "password": "supervisor-demo"})
        assert r.status_code == 200, r.text
        self.client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def kill(self) -> None:
        """Kill the process (no graceful shutdown: a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """One HTTP call to the server."""
        return self.client.request(method, path, **kw)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("pages"))
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()
        srv.client.close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def open_page(browser: Browser, server: Server) -> Iterator[Callable[..., Page]]:
    """Open a page of the server; JS errors and CSP violations fail the test."""
    pages: list[tuple[Page, list[str]]] = []

    def opener(path: str, viewport: dict[str, int] = HD, device: str | None = None) -> Page:
        context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")  # type: ignore[arg-type]
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # every page runs under the app's CSP: a blocked script or style is a failure too
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        if device:  # a kiosk or screen browser signs in once with its device token (demo tokens)
            page.goto(f"{server.base}/auth/device?token={device}&next={quote(path, safe='/')}")
            page.wait_for_url(server.base + path)
        else:
            page.goto(server.base + path)
        pages.append((page, errors))
        return page

    yield opener
    for page, errors in pages:
        page.context.close()
        assert not errors, f"JavaScript errors on {page.url}: {errors}"


def shot(page: Page, name: str) -> None:
    """Save a screenshot for a human to look at."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def live(page: Page) -> None:
    """Wait until the page's websocket feed has its snapshots."""
    expect(page.locator("#conn")).to_have_attribute("data-status", "live")


def staff_sign_in(page: Page, base: str, username: str, password: str, window: int | None = None) -> None:
    """Post the sign-in form from this browser context (the session cookie lands in the context).

    The form is posted by the context's request client rather than by clicking: with the
    pages' ``Referrer-Policy: no-referrer`` Chromium sends ``Origin: null`` on form posts,
    which the sign-in's same-origin check refuses (reported to the auth owner).
    """
    form = {"username": username, "password": password, "next": "/"}
    if window is not None:
        form["window"] = str(window)
    r = page.context.request.post(f"{base}/auth/login", form=form, max_redirects=0)
    assert r.status in (302, 303), r.text()


def clerk_console(open_page: Callable[..., Page], base: str, window: int) -> Page:
    """The clerk console of demo account clerk<window>, signed in and with the window opened."""
    page = open_page("/clerk")
    expect(page.locator("#directory")).to_be_visible()  # the console needs an account: the staff directory sign-in
    staff_sign_in(page, base, f"clerk{window}", f"clerk{window}-demo", window)
    page.goto(f"{base}/clerk")
    expect(page.locator("#in-window")).to_have_value(str(window))
    expect(page.locator("#in-staff")).to_have_value(f"clerk{window}")
    expect(page.locator("#in-name")).not_to_have_value("")  # the account's name
    shot(page, "clerk-open-window")
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#console")).to_be_visible()
    live(page)
    return page


def kiosk_tap(kiosk: Page, code: str) -> None:
    """Tap a kiosk service; confirm 仍要取号 when no open window serves it (the kiosk asks first)."""
    kiosk.click(f".k-svc[data-code={code}]")
    if kiosk.locator("#confirm").is_visible():
        kiosk.click("#confirm-yes")


def issue(server: Server, service: str) -> dict[str, Any]:
    r = server.api("POST", "/api/tickets", json={"service": service, "channel": "staff"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_kiosk_ticket_appears_in_clerk_console(open_page: Callable[..., Page], server: Server) -> None:
    clerk = clerk_console(open_page, server.base, 8)
    kiosk = open_page("/kiosk/k1", device="hqd_demo-kiosk-k1")
    live(kiosk)
    shot(kiosk, "kiosk-home")
    kiosk_tap(kiosk, "fund")
    expect(kiosk.locator("#ticket")).to_be_visible()
    number = kiosk.locator("#t-number").inner_text()
    assert number.startswith("D")
    expect(kiosk.locator("#t-qr")).to_have_js_property("complete", True)
    assert kiosk.locator("#t-qr").evaluate("img => img.naturalWidth") > 0
    shot(kiosk, "kiosk-ticket")
    expect(clerk.locator("#waiting")).to_contain_text(number)
    shot(clerk, "clerk-console")


def test_call_next_shows_on_hall_and_window_display(open_page: Callable[..., Page], server: Server) -> None:
    ticket = issue(server, "estate")
    hall = open_page("/display/hall")
    window = open_page("/display/window/9", WINDOW_SCREEN, device="hqd_demo-display-w9")
    clerk = clerk_console(open_page, server.base, 9)
    live(hall)
    live(window)
    expect(window.locator("#w-clerk-name")).to_have_text(clerk.locator("#in-name").input_value())
    expect(window.locator("#w-staff")).to_have_text("clerk9")
    clerk.keyboard.press("n")  # shortcut of 呼叫下一位
    expect(clerk.locator("#cur-number")).to_have_text(ticket["number"])
    expect(hall.locator("#now-number")).to_have_text(ticket["number"])
    expect(hall.locator("#now-window")).to_contain_text("9号")
    expect(window.locator("#w-number")).to_have_text(ticket["number"])
    shot(hall, "hall-display")
    shot(window, "window-display")
    shot(clerk, "clerk-calling")
    devices = server.api("GET", "/api/devices")
    if devices.status_code == 200 and any(d["kind"] == "announcer" and d["health"]["available"]
                                          for d in devices.json()["devices"]):
        # the hall's announcer rendered the call: the display fetched the WAV and plays it
        expect(hall.locator("body")).to_have_attribute("data-audio-started", re.compile(r"^[1-9]"), timeout=15_000)
    # an action taken elsewhere (the hardware caller keypad runs the same queue operation)
    # shows on the console without any click
    assert server.api("POST", "/api/windows/9/start").status_code == 200
    expect(clerk.locator("button[data-act=finish]")).to_be_enabled()
    expect(clerk.locator("#cur-meta")).to_contain_text("办理中")
    expect(window.locator("#w-status")).to_have_text("正在办理")


def test_rating_on_window_display_is_stored(open_page: Callable[..., Page], server: Server) -> None:
    ticket = issue(server, "hukou")
    citizen = open_page(f"/t/{ticket['token']}", PHONE)
    live(citizen)
    expect(citizen.locator("#c-number")).to_have_text(ticket["number"])
    shot(citizen, "citizen-waiting")
    window = open_page("/display/window/11", WINDOW_SCREEN, device="hqd_demo-display-w11")
    clerk = clerk_console(open_page, server.base, 11)
    live(window)
    clerk.click("button[data-act=call-next]")
    expect(citizen.locator("body")).to_have_attribute("data-state", "called")
    shot(citizen, "citizen-called")
    clerk.click("button[data-act=start]")
    expect(clerk.locator("button[data-act=finish]")).to_be_enabled()
    expect(clerk.locator("button[data-act=request-rating]")).to_be_disabled()  # rating only after 办结
    clerk.click("button[data-act=finish]")
    expect(clerk.locator("button[data-act=request-rating]")).to_be_enabled()
    clerk.click("button[data-act=request-rating]")
    expect(window.locator("#rate")).to_be_visible()
    shot(window, "window-rating")
    window.click("#rate button[data-level='5']")
    expect(window.locator("#rate-thanks")).to_be_visible()
    deadline = time.monotonic() + 10
    rating = None
    while time.monotonic() < deadline and rating is None:
        rating = server.api("GET", f"/api/tickets/{ticket['id']}").json().get("rating")
        time.sleep(0.1)
    assert rating == 5


def test_kiosk_shows_printer_fault_path(open_page: Callable[..., Page], server: Server) -> None:
    r = server.api("POST", "/api/sim/printer-k1/fault", json={"fault": "paper_out"})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        devices = {d["id"]: d for d in server.api("GET", "/api/devices").json()["devices"]}
        if "paper_out" in devices["printer-k1"]["health"]["faults"]:
            break
        time.sleep(0.1)
    kiosk = open_page("/kiosk/k1", device="hqd_demo-kiosk-k1")
    live(kiosk)
    kiosk_tap(kiosk, "civil")
    expect(kiosk.locator("#ticket")).to_be_visible()
    expect(kiosk.locator("#fault")).to_be_visible()
    expect(kiosk.locator("#fault")).to_contain_text("到咨询台领取纸质号票")  # no smartphone needed, Chinese only
    expect(kiosk.locator("#ticket")).to_have_attribute("data-printed", "false")
    expect(kiosk.locator("#t-qr")).to_have_js_property("complete", True)
    assert kiosk.locator("#t-qr").evaluate("img => img.naturalWidth") > 0
    shot(kiosk, "kiosk-printer-fault")
    server.api("POST", "/api/sim/printer-k1/fault", json={"fault": None})


def test_hall_display_recovers_after_server_restart(open_page: Callable[..., Page], server: Server) -> None:
    server.api("POST", "/api/windows/14/open", json={"clerk": "clerk14"})
    hall = open_page("/display/hall")
    live(hall)
    server.kill()
    expect(hall.locator("#conn")).not_to_have_attribute("data-status", "live")
    server.start()
    # reconnect backoff is capped at 15 s (with jitter); allow for one full step
    expect(hall.locator("#conn")).to_have_attribute("data-status", "live", timeout=25_000)
    ticket = issue(server, "tax")
    r = server.api("POST", "/api/windows/14/call-next")
    assert r.status_code == 200, r.text
    expect(hall.locator("#now-number")).to_have_text(ticket["number"])
    expect(hall.locator("#grid li[data-window='14'] .g-num")).to_have_text(ticket["number"])


def test_supervisor_and_english_kiosk(open_page: Callable[..., Page], server: Server) -> None:
    sup = open_page("/supervisor")
    sup.wait_for_url(re.compile(r"/auth/login"))  # supervisors sign in
    staff_sign_in(sup, server.base, "supervisor", "supervisor-demo")
    sup.goto(f"{server.base}/supervisor")
    live(sup)
    expect(sup.locator(".s-win")).to_have_count(16)
    shot(sup, "supervisor")
    sup.click("a[href='/supervisor/video']")  # the video wall, from the overview
    sup.wait_for_url(f"{server.base}/supervisor/video")
    expect(sup.locator("figure[data-camera='camera-1']")).to_have_attribute("data-state", "live")
    shot(sup, "video-wall-demo")
    kiosk = open_page("/kiosk/k2", device="hqd_demo-kiosk-k2")
    live(kiosk)
    kiosk.click("#lang")
    expect(kiosk.locator("#banner-main")).to_have_text("Place your ID card on the reader")
    shot(kiosk, "kiosk-english")


def test_kiosk_card_path_greets_the_masked_name(open_page: Callable[..., Page], server: Server) -> None:
    kiosk = open_page("/kiosk/k1", device="hqd_demo-kiosk-k1")
    live(kiosk)
    r = server.api("POST", "/api/sim/idcard-k1/action", json={"action": "place_card", "params": {"card": "elderly"}})
    assert r.status_code == 200, r.text
    try:
        expect(kiosk.locator("#card-banner")).to_have_class(re.compile(r"\bsession\b"))
        expect(kiosk.locator("#banner-main")).to_contain_text("张*明")
        assert "张卫明" not in kiosk.content()  # only the masked name reaches the page
        shot(kiosk, "kiosk-card-session")
        kiosk_tap(kiosk, "social")
        expect(kiosk.locator("#ticket")).to_be_visible()
        number = kiosk.locator("#t-number").inner_text()
    finally:
        server.api("POST", "/api/sim/idcard-k1/action", json={"action": "remove_card", "params": {}})
    waiting = server.api("GET", "/api/windows/5/waiting").json()
    mine = [t for t in waiting if t["number"] == number]
    assert mine and mine[0]["priority"] == "priority" and mine[0]["masked_name"] == "张*明"


def _wav_base64(seconds: float = 0.3) -> str:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 8000 * 2 * math.pi * 440)))
                               for i in range(int(8000 * seconds))))
    return base64.b64encode(buffer.getvalue()).decode()


# The pages' Content-Security-Policy allows media from 'self' and blob: only.
TO_BLOB_URL = """b64 => URL.createObjectURL(new Blob([Uint8Array.from(atob(b64), c => c.charCodeAt(0))],
                                              {type: "audio/wav"}))"""


def _clip_url(page: Page) -> str:
    return str(page.evaluate(TO_BLOB_URL, _wav_base64()))


def test_hall_display_plays_queued_announcements_in_order(open_page: Callable[..., Page]) -> None:
    hall = open_page("/display/hall")
    live(hall)
    clip = _clip_url(hall)
    hall.evaluate("url => { hallqHall.enqueueAudio(url); hallqHall.enqueueAudio(url); }", clip)
    expect(hall.locator("body")).to_have_attribute("data-audio-played", "2")
    expect(hall.locator("#sound")).to_be_hidden()


# Headless Chromium lets media play regardless of --autoplay-policy, so the browser's
# refusal is reproduced by making play() reject exactly as Chrome does until a click.
BLOCK_AUTOPLAY = """
(() => {
  const realPlay = HTMLMediaElement.prototype.play;
  let activated = false;
  addEventListener("click", () => { activated = true; }, true);
  HTMLMediaElement.prototype.play = function () {
    if (!activated) return Promise.reject(new DOMException("play() needs a user gesture", "NotAllowedError"));
    return realPlay.call(this);
  };
})();
"""


def test_hall_display_asks_for_a_click_when_autoplay_is_blocked(browser: Browser, server: Server) -> None:
    context = browser.new_context(viewport=HD, timezone_id="Asia/Shanghai")  # type: ignore[arg-type]
    try:
        context.add_init_script(BLOCK_AUTOPLAY)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(server.base + "/display/hall")
        live(page)
        page.evaluate("url => hallqHall.enqueueAudio(url)", _clip_url(page))
        expect(page.locator("#sound")).to_be_visible()
        shot(page, "hall-enable-sound")
        page.click("#sound")
        expect(page.locator("#sound")).to_be_hidden()
        expect(page.locator("body")).to_have_attribute("data-audio-played", "1")
    finally:
        context.close()


def test_kiosk_resets_to_chinese_start_screen_when_idle(open_page: Callable[..., Page], server: Server) -> None:
    kiosk = open_page("/kiosk/k2?idle=1&ticket=1", device="hqd_demo-kiosk-k2")
    live(kiosk)
    kiosk.click("#lang")
    expect(kiosk.locator("html")).to_have_attribute("lang", "en")
    kiosk_tap(kiosk, "tax")
    expect(kiosk.locator("#ticket")).to_be_visible()
    expect(kiosk.locator("#home")).to_be_visible()  # ticket screen times out
    expect(kiosk.locator("html")).to_have_attribute("lang", "zh-CN")  # then the idle reset
    expect(kiosk.locator("#banner-main")).to_have_text("请将身份证放在感应区")


def test_citizen_can_cancel_from_the_phone(open_page: Callable[..., Page], server: Server) -> None:
    ticket = issue(server, "jobs")
    phone = open_page(f"/t/{ticket['token']}", PHONE)
    live(phone)
    phone.once("dialog", lambda d: d.accept())
    phone.click("#cancel")
    expect(phone.locator("body")).to_have_attribute("data-state", "cancelled")
    assert server.api("GET", f"/api/tickets/{ticket['id']}").json()["state"] == "cancelled"
    expect(phone.locator("#cancel")).to_be_hidden()


def test_hall_display_dom_stays_bounded_over_many_calls(open_page: Callable[..., Page], server: Server) -> None:
    hall = open_page("/display/hall")
    live(hall)
    server.api("POST", "/api/windows/13/open", json={"clerk": "clerk13"})
    count_nodes = "() => document.getElementsByTagName('*').length"
    sizes = []
    for _round in range(3):
        for _ in range(10):
            issue(server, "market")
            called = server.api("POST", "/api/windows/13/call-next")
            assert called.status_code == 200, called.text
            server.api("POST", "/api/windows/13/start")
            server.api("POST", "/api/windows/13/finish")
        # every call was finished: the big panel is idle again and the grid has one row per window
        expect(hall.locator("#now")).to_have_attribute("data-last", called.json()["number"])
        expect(hall.locator("#now")).to_have_attribute("data-phase", "idle")
        expect(hall.locator("#grid li")).to_have_count(16)
        sizes.append(hall.evaluate(count_nodes))
        assert sizes[-1] == sizes[0], sizes  # the DOM does not grow with the number of calls
