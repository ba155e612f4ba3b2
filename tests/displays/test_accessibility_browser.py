"""axe-core on every page in headless Chromium, and the right-to-left pseudo-locale (issue 18 item 5).

The production app (``make_app``, demo accounts and device tokens) served by a real uvicorn, one
server and one browser for the module. axe-core is the copy vendored from npm in
``displays/static/vendor/axe/``, loaded from the app's own origin (``script-src 'self'``; no CSP
change, no network). Every page must have zero violations of impact serious or critical; no axe rule is
disabled. Screenshots go to ``screenshots/R1/`` at the repository root (git-ignored).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from tests.support import make_app  # noqa: E402
from tests.support.serving import serving  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "displays" / "static" / "vendor" / "axe" / "axe.min.js"
SHOTS = ROOT / "screenshots" / "R1"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
HD = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}
SERIOUS = ("serious", "critical")
# WCAG 2.x A/AA plus axe's best practices; no rule is disabled
RUN_AXE = """async () => {
  const r = await axe.run(document, {resultTypes: ["violations"],
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}});
  return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " :: " + (n.failureSummary || "").slice(0, 200))}));
}"""


class Live:
    """The app served by uvicorn on a thread of its own (one server for the whole module)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.base = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serving(self.app) as base:
            self.base = base
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> Live:
        self._thread.start()
        assert self._ready.wait(60), "uvicorn did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, demo_config: Any) -> Iterator[Live]:
    app = make_app(tmp_path_factory.mktemp("a11y"), demo_config.model_copy(update={"devices": []}))
    with Live(app) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


Opener = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser, live: Live) -> Iterator[Opener]:
    """Open a path in a fresh context: as a device (token), as a staff account, or signed out."""
    contexts: list[Any] = []
    errors: list[str] = []

    def opener(path: str, *, device: str | None = None, user: str | None = None,
               viewport: dict[str, int] = HD) -> Page:
        context = browser.new_context(viewport=viewport, locale="zh-CN",  # type: ignore[arg-type]
                                      timezone_id="Asia/Shanghai")
        contexts.append(context)
        if user:
            form: dict[str, str | float | bool] = {"username": user, "password": f"{user}-demo", "next": "/"}
            if user.startswith("clerk"):
                form["window"] = user.removeprefix("clerk")
            r = context.request.post(f"{live.base}/auth/login", form=form, max_redirects=0)
            assert r.status in (302, 303), r.text()
        if device:  # the device sign-in form, posted from this context (its cookie lands here)
            r = context.request.post(f"{live.base}/auth/device", form={"token": device, "next": path},
                                     headers={"Origin": live.base}, max_redirects=0)
            assert r.status in (302, 303), r.text()
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda e: errors.append(f"{path}: {e}"))
        page.goto(live.base + path)
        page.wait_for_load_state("networkidle")
        return page

    yield opener
    for context in contexts:
        context.close()
    assert not errors, errors


def axe(page: Page, name: str) -> list[dict[str, Any]]:
    """Run the vendored axe-core on the page; save a screenshot; return the serious/critical violations."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    assert AXE.is_file()
    page.add_script_tag(url="/static/vendor/axe/axe.min.js")  # the app's own origin: allowed by its CSP
    violations: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    serious = [v for v in violations if v["impact"] in SERIOUS]
    with (SHOTS / "axe-results.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps({"page": name, "serious": len(serious), "all": len(violations),
                              "violations": violations}, ensure_ascii=False) + "\n")
    return serious


FOCUS_STYLE = """() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return null;
  const look = () => { const c = getComputedStyle(e);
    return [c.outlineStyle, c.outlineWidth, c.outlineColor, c.boxShadow, c.borderColor, c.backgroundColor].join("|"); };
  const focused = look();
  e.blur();
  const plain = look();
  e.focus();
  return {el: e.tagName + (e.id ? "#" + e.id : "") + (e.className && e.className.baseVal === undefined
    ? "." + e.className : ""), ring: focused !== plain};
}"""


def unringed(page: Page, tabs: int = 8, controls: bool = True) -> list[str]:
    """Tab through the first controls; those whose look does not change when focused (no visible focus)."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # start at the top
    missing: list[str] = []
    seen = 0
    for _ in range(tabs):
        page.keyboard.press("Tab")
        found = page.evaluate(FOCUS_STYLE)
        seen += bool(found)
        if found and not found["ring"]:
            missing.append(found["el"])
    assert seen or not controls, "Tab reached no control"
    return missing


NO_RINGS = """() => { const sheet = new CSSStyleSheet();
  sheet.replaceSync("*, *:focus, *:focus-visible { outline: none !important; box-shadow: none !important; }");
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet]; }"""


@pytest.mark.timeout(60)
def test_focus_check_fails_without_rings(open_page: Opener) -> None:
    page = open_page("/")
    assert not unringed(page)
    page.evaluate(NO_RINGS)  # every ring removed: the check must notice
    assert unringed(page)


def staff_api(page: Page, live: Live) -> Callable[..., Any]:
    """POST to the API from a signed-in page's context (session cookie + its CSRF token)."""
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "hallq_csrf")

    def post(path: str, body: dict[str, Any] | None = None) -> Any:
        r = page.context.request.post(f"{live.base}{path}", data=body or {}, headers={"X-CSRF-Token": csrf})
        assert r.status in (200, 201), (path, r.status, r.text())
        return r.json()
    return post


def ticket_token(live: Live, open_page: Opener) -> str:
    body = staff_api(open_page("/supervisor", user="supervisor"), live)(
        "/api/tickets", {"service": "fund", "channel": "staff"})
    return str(body.get("token") or body["ticket"]["token"])


PAGES: dict[str, dict[str, Any]] = {
    "landing": {"path": "/"},
    "kiosk": {"path": "/kiosk/k1", "device": "hqd_demo-kiosk-k1"},
    "hall": {"path": "/display/hall", "device": "hqd_demo-display-hall"},
    "window": {"path": "/display/window/1", "device": "hqd_demo-display-w1", "controls": False},
    "clerk-signed-out": {"path": "/clerk"},
    "clerk-signed-in": {"path": "/clerk", "user": "clerk1"},
    "supervisor": {"path": "/supervisor", "user": "supervisor"},
    "reports": {"path": "/supervisor/reports", "user": "supervisor"},
    "cases": {"path": "/supervisor/cases", "user": "supervisor"},
    "exports": {"path": "/supervisor/exports", "user": "supervisor"},
    "admin-staff": {"path": "/admin/staff", "user": "admin"},
    "admin-config": {"path": "/admin/config", "user": "admin"},
    "book": {"path": "/book", "viewport": PHONE},
    "signin-login": {"path": "/auth/login"},
    "signin-device": {"path": "/auth/device"},
    "docs": {"path": "/docs"},
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_serious_axe_violations(name: str, open_page: Opener) -> None:
    spec = dict(PAGES[name])
    controls = spec.pop("controls", True)  # the window screen has no control until a rating is asked
    page = open_page(spec.pop("path"), **spec)
    serious = axe(page, name)
    assert not serious, json.dumps(serious, ensure_ascii=False, indent=1)
    assert not unringed(page, controls=controls), "controls without a visible focus ring"


@pytest.mark.timeout(120)
def test_elderly_kiosk_has_no_serious_axe_violations(open_page: Opener) -> None:
    page = open_page("/kiosk/k1", device="hqd_demo-kiosk-k1")
    page.click("#elder")
    expect(page.locator("#elder")).to_have_attribute("aria-pressed", "true")
    serious = axe(page, "kiosk-elderly")
    assert not serious, json.dumps(serious, ensure_ascii=False, indent=1)
    assert not unringed(page), "controls without a visible focus ring"
    page.screenshot(path=str(SHOTS / "kiosk-elderly-focus.png"))  # the last control tabbed to keeps its ring


@pytest.mark.timeout(120)
def test_phone_page_has_no_serious_axe_violations(live: Live, open_page: Opener) -> None:
    token = ticket_token(live, open_page)
    page = open_page(f"/t/{token}", viewport=PHONE)
    expect(page.locator("body")).to_contain_text("号")
    serious = axe(page, "phone")
    assert not serious, json.dumps(serious, ensure_ascii=False, indent=1)
    assert not unringed(page), "controls without a visible focus ring"


@pytest.mark.timeout(120)
def test_window_screen_rating_buttons_have_no_serious_axe_violations(live: Live, open_page: Opener) -> None:
    screen = open_page("/display/window/8", device="hqd_demo-display-w8")
    post = staff_api(open_page("/supervisor", user="supervisor"), live)
    post("/api/windows/8/open")
    post("/api/tickets", {"service": "fund", "channel": "staff"})
    for step in ("call-next", "start", "finish", "request-rating"):
        post(f"/api/windows/8/{step}")
    expect(screen.locator("#rate")).to_be_visible()  # the 好差评 buttons, the known contrast offenders
    expect(screen.locator(".w-rate-buttons button").first).to_be_enabled()
    serious = axe(screen, "window-rating")
    assert not serious, json.dumps(serious, ensure_ascii=False, indent=1)
    assert not unringed(screen, tabs=5), "rating buttons without a visible focus ring"


def _box(page: Page, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return {"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"]}


@pytest.mark.timeout(120)
def test_rtl_pseudo_locale_mirrors_kiosk_and_hall_screen(open_page: Opener) -> None:
    # kiosk: the default is left to right, the pseudo-locale right to left with «…» texts
    ltr = open_page("/kiosk/k1", device="hqd_demo-kiosk-k1")
    expect(ltr.locator(".k-svc").nth(1)).to_be_visible()
    assert ltr.evaluate("() => [document.documentElement.dir, getComputedStyle(document.body).direction]") == [
        "ltr", "ltr"]
    assert _box(ltr, ".k-svc")["x"] < _box(ltr, ".k-svc >> nth=1")["x"]

    kiosk = open_page("/kiosk/k1?lang=x-rtl", device="hqd_demo-kiosk-k1")
    expect(kiosk.locator("html")).to_have_attribute("dir", "rtl")
    expect(kiosk.locator("html")).to_have_attribute("lang", "ug-x-pseudo")
    expect(kiosk.locator("#elder")).to_have_text("«长辈模式»")  # a catalogue text in its visible pseudo form
    expect(kiosk.locator(".k-svc").nth(1)).to_be_visible()
    assert kiosk.evaluate("() => getComputedStyle(document.querySelector('.k-services')).direction") == "rtl"
    first, second = _box(kiosk, ".k-svc"), _box(kiosk, ".k-svc >> nth=1")
    assert first["y"] == second["y"] and first["x"] > second["x"], (first, second)  # the first service is on the right
    # the Uyghur font stack of base.css applies under :lang(ug)
    assert "Noto Naskh Arabic" in kiosk.evaluate("() => getComputedStyle(document.body).fontFamily")
    kiosk.screenshot(path=str(SHOTS / "kiosk-rtl.png"))

    hall = open_page("/display/hall?lang=x-rtl", device="hqd_demo-display-hall")
    expect(hall.locator("html")).to_have_attribute("dir", "rtl")
    expect(hall.locator("#now-label")).to_have_text("«正在叫号»")
    assert hall.evaluate("() => getComputedStyle(document.querySelector('.h-main')).direction") == "rtl"
    calls, waits = _box(hall, ".h-calls"), _box(hall, ".h-wait")
    assert calls["x"] > waits["x"], (calls, waits)  # the call column moved from the left to the right
    hall.screenshot(path=str(SHOTS / "hall-rtl.png"))
