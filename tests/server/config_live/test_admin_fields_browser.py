"""The admin config page edits the engine's newer fields; the window screen takes the 监督电话 from config.changed.

Against a real ``hallq serve --demo`` in Chromium. Screenshots: screenshots/R6/ (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.server.api.test_pages_browser import ARGS, CHROMIUM, ROOT, Server, live

SHOTS = ROOT / "screenshots" / "R6"
pytestmark = pytest.mark.timeout(150)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("admin-fields"))
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()
        srv.client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _admin(server: Server) -> dict[str, str]:
    r = httpx.post(f"{server.base}/api/auth/token", data={"username": "admin", "password": "admin-demo"}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _page(browser: Browser, errors: list[str], viewport: dict[str, int]) -> Page:
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    return page


def test_admin_page_edits_cutoff_english_name_expired_card_lunch_and_policy(browser: Browser, server: Server) -> None:
    admin = _admin(server)
    errors: list[str] = []
    page = _page(browser, errors, {"width": 1440, "height": 960})
    r = page.context.request.post(f"{server.base}/auth/login", max_redirects=0,
                                  form={"username": "admin", "password": "admin-demo", "next": "/"})
    assert r.status in (302, 303), r.text()
    version = httpx.get(f"{server.base}/api/config", headers=admin, timeout=10).json()["version"]
    page.goto(f"{server.base}/admin/config")
    expect(page.locator("body")).to_have_attribute("data-version", str(version))
    form = page.locator("#service-form")
    form.locator("[name=name_en]").fill("General affairs desk")
    form.locator("[name=cutoff_minutes]").fill("30")
    form.locator("[name=expired_card]").select_option("refuse")
    form.locator("[name=name_en]").blur()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "admin-config-service-fields.png"), full_page=True)
    page.locator("[data-tab=hours]").click()
    page.locator("#lunch-issuing").select_option("keep")
    page.locator("#call-order").select_option("role_first")
    page.locator("#unserved-issue").select_option("refuse")
    expect(page.locator("#dirty")).to_be_visible()
    page.screenshot(path=str(SHOTS / "admin-config-hours-policy.png"), full_page=True)
    page.locator("#save").click()
    expect(page.locator("body")).to_have_attribute("data-version", str(version + 1))
    stored = httpx.get(f"{server.base}/api/config", headers=admin, timeout=10).json()["config"]
    first = stored["services"][0]
    assert (first["name_en"], first["cutoff_minutes"], first["expired_card"]) == ("General affairs desk", 30, "refuse")
    assert stored["hall"]["lunch_issuing"] == "keep"
    assert (stored["policy"]["call_order"], stored["policy"]["unserved_issue"]) == ("role_first", "refuse")
    others = stored["services"][1]
    assert others["cutoff_minutes"] is None and others["expired_card"] is None  # untouched services stay default
    # clearing the cut-off stores "no cut-off" again
    page.locator("[data-tab=services]").click()
    form.locator("[name=cutoff_minutes]").fill("")
    form.locator("[name=expired_card]").select_option("")
    form.locator("[name=cutoff_minutes]").blur()
    page.locator("#save").click()
    expect(page.locator("body")).to_have_attribute("data-version", str(version + 2))
    first = httpx.get(f"{server.base}/api/config", headers=admin, timeout=10).json()["config"]["services"][0]
    assert first["cutoff_minutes"] is None and first["expired_card"] is None
    assert not errors, errors
    page.context.close()


def test_window_screen_follows_the_supervision_phone_on_config_changed(browser: Browser, server: Server) -> None:
    admin = _admin(server)
    errors: list[str] = []
    page = _page(browser, errors, {"width": 1280, "height": 800})
    path = "/display/window/1"
    page.goto(f"{server.base}/auth/device?token=hqd_demo-display-w1&next={quote(path, safe='/')}")
    page.wait_for_url(server.base + path)
    live(page)
    current = httpx.get(f"{server.base}/api/config", headers=admin, timeout=10).json()
    expect(page.locator("#w-phone")).to_have_text(f"监督电话 {current['config']['bulletin']['supervision_phone']}")
    r = httpx.patch(f"{server.base}/api/config", headers=admin, timeout=10, json={
        "expected_version": current["version"], "patch": {"bulletin": {"supervision_phone": "0571-87654321"}}})
    assert r.status_code == 200, r.text
    # the fallback read is 15 minutes away: only the config.changed event on window:1 can do this
    expect(page.locator("#w-phone")).to_have_text("监督电话 0571-87654321", timeout=8_000)
    expect(page.locator("body")).to_have_attribute("data-config-version", str(r.json()["version"]))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "window-phone-live.png"))
    assert not errors, errors
    page.context.close()
