"""The supervisor overview in headless Chromium: today's KPIs, waits against each service's own target,
and a live rule alert arriving in the stored inbox and being acknowledged (under the app's CSP).

Screenshots go to ``screenshots/A/`` at the repository root (git-ignored).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import make_app
from tests.support.polling import until
from tests.support.serving import serving

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[3] / "screenshots" / "A"
RECORD_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


def _one_business_day(config: Any) -> Any:
    """The hall with its day rollover 12 h ago, so tickets of the last hour are today's at any clock time.

    (At 03:15 in Shanghai a ticket of 42 minutes ago belongs to yesterday's business day: the
    demo hall rolls over at 03:00.)
    """
    from zoneinfo import ZoneInfo

    local = dt.datetime.now(ZoneInfo(config.hall.timezone))
    rollover = (local - dt.timedelta(hours=12)).time().replace(second=0, microsecond=0)
    return config.model_copy(update={"hall": config.hall.model_copy(update={"rollover": rollover})})


def _issue_at(store: Any, service: str, minutes_ago: int) -> None:
    real = store.clock
    store.clock = lambda: real() - dt.timedelta(minutes=minutes_ago)
    try:
        store.issue(service)
    finally:
        store.clock = real


@pytest.mark.timeout(180)
async def test_live_alert_arrives_on_the_overview_and_is_acknowledged(tmp_path: Path, hall_config: Any) -> None:
    from playwright.async_api import async_playwright

    targets = {s.code: s.sla_minutes for s in hall_config.services}
    assert targets["fund"] == 40 and targets["estate"] == 45  # the demo hall's own targets
    app = make_app(tmp_path, _one_business_day(hall_config))
    async with serving(app) as base:
        services = app.state.services
        store, inbox = services.store, services.alerts
        _issue_at(store, "fund", 42)    # past fund's 40 minutes
        _issue_at(store, "estate", 42)  # within estate's 45 minutes (a fixed 30 would call it late)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                context = await browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN",
                                                    timezone_id="Asia/Shanghai")
                signed = await context.request.post(f"{base}/auth/login", max_redirects=0, form={
                    "username": "supervisor", "password": "supervisor-demo", "next": "/supervisor"})
                assert signed.status in (302, 303), await signed.text()
                page = await context.new_page()
                await page.add_init_script(RECORD_CSP)
                console: list[str] = []
                page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
                page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
                await page.goto(f"{base}/supervisor")
                fund, estate = page.locator("tr[data-service=fund]"), page.locator("tr[data-service=estate]")
                await fund.locator("td.target").filter(has_text="40 分钟").wait_for()
                assert await estate.locator("td.target").inner_text() == "45 分钟"
                await page.wait_for_function("() => document.querySelector('tr[data-service=fund]')"
                                             ".classList.contains('late')")
                assert "late" not in (await estate.get_attribute("class") or "")
                await page.locator("#today").filter(has_text="今日取号").wait_for()
                assert await page.locator("#alerts li.empty").count() == 1

                # the rules run (as every 30 s): fund's wait is past its target and no window serves it
                await inbox.evaluate_rules()
                item = page.locator("#alerts li[data-type=long_wait]")
                await item.wait_for(timeout=10_000)
                assert "住房公积金" in await item.inner_text() or "公积金" in await item.inner_text()
                assert await page.locator("#alerts li[data-type=unserved]").count() >= 1
                assert "未确认" in await page.locator("#alerts-open").inner_text()
                SHOTS.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(SHOTS / "supervisor-alert.png"))
                alert_id = await item.get_attribute("data-alert")
                await item.locator("button[data-ack]").click()
                await item.locator(".s-acked").wait_for()
                async with httpx.AsyncClient(base_url=base, timeout=10) as api:
                    token = await api.post("/api/auth/token", data={"username": "supervisor",
                                                                    "password": "supervisor-demo"})
                    api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
                    acked = (await api.get("/api/alerts", params={"state": "acked"})).json()["items"]
                    assert [(str(a["id"]), a["acked_by"]) for a in acked] == [(alert_id, "supervisor:supervisor")]
                    # resolving from the page removes it from the open list
                    await item.locator("button[data-resolve]").click()
                    async def gone() -> bool:
                        return await page.locator(f"#alerts li[data-alert='{alert_id}']").count() == 0

                    await until(gone, 10)
                    resolved = (await api.get("/api/alerts", params={"state": "resolved"})).json()["items"]
                    assert [str(a["id"]) for a in resolved] == [alert_id]
                await page.screenshot(path=str(SHOTS / "supervisor-acked.png"))
                assert await page.evaluate("() => window.__csp") == []
                assert console == []
                await context.close()
            finally:
                await browser.close()


@pytest.mark.timeout(180)
async def test_a_rule_alert_shows_on_the_clerk_console_of_the_window(tmp_path: Path, hall_config: Any) -> None:
    from playwright.async_api import async_playwright

    app = make_app(tmp_path, _one_business_day(hall_config))
    async with serving(app) as base:
        services = app.state.services
        store, inbox = services.store, services.alerts
        store.open_window(1, clerk="clerk1", actor="clerk:clerk1@1")  # window 1 serves 综合受理 (general)
        _issue_at(store, "general", 35)  # past general's 30 minutes
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                                    timezone_id="Asia/Shanghai")
                signed = await context.request.post(f"{base}/auth/login", max_redirects=0, form={
                    "username": "clerk1", "password": "clerk1-demo", "window": "1", "next": "/clerk"})
                assert signed.status in (302, 303), await signed.text()
                page = await context.new_page()
                await page.add_init_script(RECORD_CSP)
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
                await page.goto(f"{base}/clerk")
                await page.wait_for_function("() => document.body.dataset.window === '1'")
                await page.wait_for_function("() => document.querySelector('#conn')?.dataset.status === 'live'")
                await inbox.evaluate_rules()
                toast = page.locator("#toast")
                await toast.filter(has_text="督办提醒").wait_for(timeout=10_000)
                assert "综合受理" in await toast.inner_text()
                SHOTS.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(SHOTS / "clerk-notice.png"))
                assert await page.evaluate("() => window.__csp") == []
                assert errors == []
                await context.close()
            finally:
                await browser.close()
