"""A live change of the hall configuration on a real ``hallq serve --workers 2``: no restart, every worker follows.

The hall screen (Chromium) shows a new notice and 制度公示 within seconds of an admin's PATCH,
whichever worker its websocket and the PATCH landed on; fresh connections to both workers
answer the new version; a restore brings the old notice back the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.support import until_sync  # noqa: E402
from tests.support.workers import two_workers  # noqa: E402

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "screenshots" / "D"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
NOTICE = "今日15:00至17:00社保系统升级，社保业务暂停办理"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``hallq serve --workers 2 --no-devices`` on the demo hall (demo accounts and tokens)."""
    with two_workers(tmp_path_factory.mktemp("live")) as url:
        yield url


def _admin(base: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/auth/token", data={"username": "admin", "password": "admin-demo"}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _fresh_notices(base: str, n: int = 8) -> list[list[str]]:
    """The notices ``n`` new connections are answered (the two workers share the listening socket)."""
    out = []
    for _ in range(n):
        with httpx.Client(base_url=base, timeout=5) as c:
            out.append(c.get("/api/config/public").json()["notices"])
    return out


def test_a_notice_changed_live_appears_on_the_hall_screen_of_a_two_worker_server(base: str) -> None:
    admin = _admin(base)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN",
                                          timezone_id="Asia/Shanghai")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
            path = "/display/hall"
            page.goto(f"{base}/auth/device?token=hqd_demo-display-hall&next={quote(path, safe='/')}")
            page.wait_for_url(base + path)
            expect(page.locator("#conn")).to_have_attribute("data-status", "live", timeout=15_000)
            expect(page.locator("body")).to_have_attribute("data-config-version", "1", timeout=10_000)
            assert NOTICE not in (page.locator("#notice").text_content() or "")

            version = httpx.get(f"{base}/api/config", headers=admin, timeout=10).json()["version"]
            r = httpx.patch(f"{base}/api/config", headers=admin, timeout=10, json={
                "expected_version": version, "patch": {"bulletin": {
                    "notices": [NOTICE],
                    "disclosures": [{"title": "首问负责制",
                                     "text": "首位接待您的工作人员负责解答、引导，直至事项办结或转交。"}],
                    "supervision_phone": "12345"}}})
            assert r.status_code == 200, r.text
            # no reload of the page, no restart of the server: the feed's config.changed does it
            expect(page.locator("#notice")).to_contain_text(NOTICE, timeout=5_000)
            expect(page.locator("#disclosure")).to_contain_text("首问负责制")
            expect(page.locator("#supervision-phone")).to_have_text("监督电话 12345")
            until_sync(lambda: all(n == [NOTICE] for n in _fresh_notices(base)), 10)
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.wait_for_timeout(1500)  # let the marquee bring the text into view
            page.screenshot(path=str(SHOTS / "hall-notice-live.png"))

            # roll back: the old (empty) notices come back the same way
            r = httpx.post(f"{base}/api/config/versions/1/restore", headers=admin, timeout=10,
                           json={"expected_version": r.json()["version"]})
            assert r.status_code == 200, r.text
            expect(page.locator("#notice")).not_to_contain_text(NOTICE, timeout=5_000)
            expect(page.locator("#disclosure")).to_be_hidden()
            until_sync(lambda: all(n == [] for n in _fresh_notices(base)), 10)
            assert not errors, errors
        finally:
            browser.close()


def test_the_admin_config_page_edits_a_guide_and_lists_problems_with_paths(base: str) -> None:
    admin = _admin(base)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 960}, locale="zh-CN",
                                          timezone_id="Asia/Shanghai")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
            r = page.context.request.post(f"{base}/auth/login", max_redirects=0,
                                          form={"username": "admin", "password": "admin-demo", "next": "/"})
            assert r.status in (302, 303), r.text()
            version = httpx.get(f"{base}/api/config", headers=admin, timeout=10).json()["version"]
            page.goto(f"{base}/admin/config")
            expect(page.locator("body")).to_have_attribute("data-version", str(version))
            form = page.locator("#service-form")
            form.locator("[name=materials]").fill("居民身份证原件\n户口簿\n近期一寸免冠照片2张")
            form.locator("[name=time_limit]").fill("即办")
            form.locator("[name=fee]").fill("不收费")
            form.locator("[name=basis]").fill("《中华人民共和国居民身份证法》")
            form.locator("[name=steps]").fill("取号\n窗口受理\n审核\n办结")
            form.locator("[name=fee]").blur()
            expect(page.locator("#dirty")).to_be_visible()
            page.locator("#save").click()
            expect(page.locator("body")).to_have_attribute("data-version", str(version + 1))
            stored = httpx.get(f"{base}/api/config", headers=admin, timeout=10).json()["config"]["services"][0]
            assert stored["guide"] == {"materials": ["居民身份证原件", "户口簿", "近期一寸免冠照片2张"],
                                       "time_limit": "即办", "fee": "不收费", "basis": "《中华人民共和国居民身份证法》",
                                       "steps": ["取号", "窗口受理", "审核", "办结"]}
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "admin-config-services.png"), full_page=True)

            # an invalid prefix: every problem with its path, nothing stored
            form.locator("[name=prefix]").fill("x1")
            form.locator("[name=prefix]").blur()
            page.locator("#save").click()
            expect(page.locator("#problems")).to_contain_text("services[0].prefix")
            expect(page.locator("body")).to_have_attribute("data-version", str(version + 1))
            assert httpx.get(f"{base}/api/config", headers=admin, timeout=10).json()["version"] == version + 1
            page.screenshot(path=str(SHOTS / "admin-config-problems.png"))

            page.locator("#discard").click()
            page.locator("[data-tab=bulletin]").click()
            page.locator("#notices").fill("请提前准备好办事材料")
            page.locator("#notices").blur()
            page.locator("#add-disclosure").click()
            page.locator(".c-disc [data-title]").last.fill("一次性告知制")
            page.locator(".c-disc [data-text]").last.fill("材料不全的，窗口一次性告知需补正的全部材料。")
            page.locator(".c-disc [data-text]").last.blur()
            page.locator("#save").click()
            expect(page.locator("body")).to_have_attribute("data-version", str(version + 2))
            # either worker may answer: the other applies the change when it reads config.changed
            public = until_sync(lambda: (p := httpx.get(f"{base}/api/config/public", timeout=10).json())
                                ["notices"] == ["请提前准备好办事材料"] and p, timeout=10,
                                message="the new notice never reached /api/config/public")
            assert isinstance(public, dict)
            assert public["disclosures"][-1]["title"] == "一次性告知制"
            page.screenshot(path=str(SHOTS / "admin-config-bulletin.png"), full_page=True)
            page.locator("[data-tab=windows]").click()
            page.screenshot(path=str(SHOTS / "admin-config-windows.png"))
            page.locator("[data-tab=hours]").click()
            page.screenshot(path=str(SHOTS / "admin-config-hours.png"))
            page.locator("[data-tab=versions]").click()
            expect(page.locator("#version-rows tr").first).to_have_attribute("data-version", str(version + 2))
            page.screenshot(path=str(SHOTS / "admin-config-versions.png"))
            assert not errors, errors
        finally:
            browser.close()


def test_the_kiosk_guide_and_the_window_screen_follow_the_configuration(base: str) -> None:
    admin = _admin(base)
    current = httpx.get(f"{base}/api/config", headers=admin, timeout=10).json()
    r = httpx.patch(f"{base}/api/config", headers=admin, timeout=10, json={
        "expected_version": current["version"], "patch": {"bulletin": {"supervision_phone": "0000-12345"}}})
    assert r.status_code == 200, r.text
    doc = r.json()["config"]
    social = next(i for i, s in enumerate(doc["services"]) if s["code"] == "social")
    doc["services"][social]["guide"] = {
        "materials": ["居民身份证原件", "社会保障卡", "近期一寸免冠彩色照片1张"], "time_limit": "即办", "fee": "不收费",
        "basis": "《社会保险法》第五十八条", "steps": ["取号排队", "窗口受理并核验材料", "现场制卡或邮寄"]}
    r = httpx.patch(f"{base}/api/config", headers=admin, timeout=10,
                    json={"expected_version": r.json()["version"], "config": doc})
    assert r.status_code == 200, r.text
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            errors: list[str] = []

            def open_device(path: str, token: str, viewport: dict[str, int]) -> object:
                context = browser.new_context(viewport=viewport, locale="zh-CN",  # type: ignore[arg-type]
                                              timezone_id="Asia/Shanghai")
                page = context.new_page()
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
                page.goto(f"{base}/auth/device?token={token}&next={quote(path, safe='/')}")
                page.wait_for_url(base + path)
                return page

            kiosk = open_device("/kiosk/k1", "hqd_demo-kiosk-k1", {"width": 1080, "height": 1920})
            kiosk.locator("#guide-open").click()  # type: ignore[attr-defined]
            kiosk.locator("#guide-list [data-code=social]").click()  # type: ignore[attr-defined]
            page = kiosk.locator("#guide-page")  # type: ignore[attr-defined]
            expect(page).to_contain_text("社会保障卡")
            expect(page).to_contain_text("《社会保险法》第五十八条")
            expect(page.locator("ol").last).to_contain_text("现场制卡或邮寄")
            SHOTS.mkdir(parents=True, exist_ok=True)
            kiosk.screenshot(path=str(SHOTS / "kiosk-guide.png"))  # type: ignore[attr-defined]
            kiosk.locator("#guide-close").click()  # type: ignore[attr-defined]
            expect(kiosk.locator("#guide")).to_be_hidden()  # type: ignore[attr-defined]
            # in English the guide's frame is translated, the hall's own texts stay as configured
            kiosk.locator("#lang").click()  # type: ignore[attr-defined]
            kiosk.locator("#guide-open").click()  # type: ignore[attr-defined]
            expect(kiosk.locator("#guide-title")).to_have_text("Service guide")  # type: ignore[attr-defined]
            expect(kiosk.locator("#guide-list [data-code=social]")).to_contain_text(  # type: ignore[attr-defined]
                "Social insurance")
            kiosk.locator("#guide-list [data-code=social]").click()  # type: ignore[attr-defined]
            expect(page.locator("h3").first).to_have_text("Documents")
            expect(page).to_contain_text("社会保障卡")
            kiosk.locator("#guide-close").click()  # type: ignore[attr-defined]

            window = open_device("/display/window/1", "hqd_demo-display-w1", {"width": 1280, "height": 800})
            expect(window.locator("#w-phone")).to_have_text("监督电话 0000-12345")  # type: ignore[attr-defined]
            window.screenshot(path=str(SHOTS / "window-phone.png"))  # type: ignore[attr-defined]
            assert not errors, errors
        finally:
            browser.close()
