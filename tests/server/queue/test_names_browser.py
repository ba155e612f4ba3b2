"""English names from the config on the hall screen (``?lang=en``), Chinese by default; availability in /api/hall.

Uses the harness of ``tests/server/api/test_pages_browser.py`` (its own uvicorn server, demo config).
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.server.api import test_pages_browser as harness
from tests.server.api.test_pages_browser import ROOT, Server, live

playwright, browser, server, open_page = harness.playwright, harness.browser, harness.server, harness.open_page
SHOTS = ROOT / "screenshots" / "engine"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_hall_screen_shows_english_service_and_window_names(open_page: Callable[..., Page], server: Server) -> None:
    en = open_page("/display/hall?lang=en")
    live(en)
    expect(en.locator("#waiting tr[data-code='general'] td").first).to_have_text("General services")
    expect(en.locator("#grid li[data-window='1'] .g-win")).to_have_text("Window 1")
    shot(en, "hall-en-names")
    zh = open_page("/display/hall")
    live(zh)
    expect(zh.locator("#waiting tr[data-code='general'] td").first).to_have_text("综合受理")
    expect(zh.locator("#grid li[data-window='1'] .g-win")).to_have_text("1号综合窗口")


def test_the_hall_snapshot_says_which_services_nobody_serves(server: Server) -> None:
    # no clerk opened window 9 or 10 in this server: 不动产登记 has no window
    snap = server.api("GET", "/api/hall").json()
    estate = {s["code"]: s for s in snap["services"]}["estate"]
    assert estate["availability"] == "no_window" and estate["availability_zh"] == "暂无窗口办理"
    assert estate["confirm"] is True and estate["available"] is True  # the demo asks before issuing
    assert estate["name_en"] == "Real estate registration" and estate["windows_primary"] == 0
    assert estate["eta_minutes"] is None
