"""The clerk console in Chromium against a real ``hallq serve --demo``: the call-back list with one-tap
回呼, the transfer dialog (only open windows, 号码不变), 代取号 with an ID number checked on the page and
printed, 绿色通道 with its reason audited, pause reasons stored in Chinese from the English console, 签退.

Screenshots go to screenshots/C2/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from drivers.idcard.samples import SAMPLES
from tests.server.api.test_pages_browser import ARGS, CHROMIUM, ROOT, Server, live

SHOTS = ROOT / "screenshots" / "C2"
CONSOLE = {"width": 1366, "height": 768}
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("console"))
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


@pytest.fixture
def console(browser: Browser, server: Server) -> Iterator[Callable[[int], Page]]:
    """The console of demo clerk<n>, window opened; JS errors and CSP violations fail the test."""
    pages: list[tuple[Page, list[str]]] = []

    def opener(window: int) -> Page:
        context = browser.new_context(viewport=CONSOLE, locale="zh-CN", timezone_id="Asia/Shanghai")  # type: ignore[arg-type]
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        pages.append((page, errors))
        page.goto(server.base + "/clerk")
        # nobody signed in: the staff directory of the window, a card per clerk allowed there
        expect(page.locator("#directory")).to_be_visible()
        page.locator("#dir-window").select_option(str(window))
        card = page.locator(f".cl-person[data-staff=clerk{window}]")
        expect(card).to_be_visible()
        expect(card.locator("img")).to_have_attribute("src", re.compile(r"/api/staff/\d+/photo|silhouette"))
        if window == 4:
            shot(page, "clerk-directory-signin")
        card.click()
        page.locator("#dir-password").fill(f"clerk{window}-demo")
        page.locator("#dir-form button[type=submit]").click()
        expect(page.locator("#console")).to_be_visible()  # signed in and the window opened at once
        expect(page.locator("#who")).to_contain_text(f"clerk{window}")
        live(page)
        return page

    yield opener
    for page, errors in pages:
        page.context.close()
        assert not errors, f"JavaScript errors on {page.url}: {errors}"


def shot(page: Page, name: str) -> None:
    """Save a screenshot for a human to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def issue(server: Server, service: str) -> dict[str, Any]:
    r = server.api("POST", "/api/tickets", json={"service": service, "channel": "kiosk"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_call_back_list_and_transfer_dialog(console: Callable[[int], Page], server: Server) -> None:
    page = console(4)
    a, b, c = issue(server, "hukou"), issue(server, "hukou"), issue(server, "hukou")
    expect(page.locator("#waiting tr")).to_have_count(3)
    page.keyboard.press("n")
    expect(page.locator("#cur-number")).to_have_text(a["number"])
    page.click("button[data-act=no-show]")
    expect(page.locator("#callbacks tr[data-id]")).to_have_count(1)
    page.keyboard.press("n")
    expect(page.locator("#cur-number")).to_have_text(b["number"])
    page.click("button[data-act=suspend]")
    rows = page.locator("#callbacks tr[data-id]")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(b["number"])
    expect(rows.nth(0)).to_contain_text("挂起")
    expect(rows.nth(1)).to_contain_text("过号")
    expect(rows.nth(1).locator(".cl-left")).to_have_text(re.compile(r"^(29|30):\d\d$"))
    expect(page.locator("#cb-count")).to_have_text("2")
    shot(page, "clerk-callbacks")

    # one tap calls the 过号 ticket back; while it is at the window the other 回呼 button is off
    rows.nth(1).locator("button").click()
    expect(page.locator("#cur-number")).to_have_text(a["number"])
    expect(page.locator("#callbacks tr[data-id]")).to_have_count(1)
    expect(page.locator("#callbacks button[data-callback]")).to_be_disabled()
    shot(page, "clerk-called-back")

    # the transfer dialog lists open windows only (8 open, 3 closed), with how many wait there
    assert server.api("POST", "/api/windows/8/open", json={"clerk": "clerk8"}).status_code == 200
    server.api("POST", "/api/windows/3/close")
    page.keyboard.press("t")
    dlg = page.locator("#dlg-transfer")
    expect(dlg).to_be_visible()
    expect(dlg).to_contain_text("号码不变")
    windows = dlg.locator("#tr-windows label")
    expect(windows.filter(has_text="8号公积金窗口")).to_have_count(1)
    expect(dlg.locator("#tr-windows")).not_to_contain_text("3号综合窗口")
    expect(windows.filter(has_text="8号公积金窗口")).to_contain_text("等候 0 人")
    expect(dlg.locator("#tr-services")).to_contain_text("户籍")
    box = windows.first.bounding_box()
    assert box is not None and box["height"] < 60, box  # one line per choice: no character-per-line wrapping
    shot(page, "clerk-transfer-dialog")
    windows.filter(has_text="8号公积金窗口").click()
    dlg.locator("#tr-ok").click()
    expect(page.locator("#cur-number")).to_have_text("—")
    moved = server.api("GET", "/api/windows/8/waiting").json()
    assert [t["number"] for t in moved] == [a["number"]]  # same number at the new window
    assert c["number"] in page.locator("#waiting").inner_text()


def test_proxy_ticket_green_channel_pause_and_sign_off(console: Callable[[int], Page], server: Server) -> None:
    page = console(12)
    page.keyboard.press("d")
    dlg = page.locator("#dlg-proxy")
    expect(dlg).to_be_visible()
    expect(dlg.locator("#px-title")).to_have_text("代取号（帮代办）")
    expect(dlg.locator("#px-reason option")).to_have_text(["老年人", "残疾人", "代办员", "电话预约", "其他"])
    dlg.locator("#px-service").select_option("civil")
    dlg.locator("#px-reason").select_option("elderly")
    dlg.locator("#px-id").fill(SAMPLES["bad_check"].id_number)
    expect(dlg.locator("#px-id-msg")).to_have_text("身份证号码校验不通过，请核对")
    dlg.locator("#px-ok").click()
    expect(dlg).to_be_visible()  # not sent
    dlg.locator("#px-id").fill(SAMPLES["elderly"].id_number)
    expect(dlg.locator("#px-id-msg")).to_have_text("校验通过")
    dlg.locator("#px-print").select_option("k1")
    shot(page, "clerk-proxy-dialog")
    dlg.locator("#px-ok").click()
    expect(dlg).to_be_hidden()
    expect(page.locator("#toast")).to_contain_text("已取号")
    expect(page.locator("#toast")).to_contain_text("已打印")
    number = page.locator("body").get_attribute("data-last-proxy")
    waiting = server.api("GET", "/api/windows/12/waiting").json()
    mine = next(t for t in waiting if t["number"] == number)
    assert mine["channel"] == "staff" and mine["priority"] == "priority" and mine["masked_id"].startswith(
        SAMPLES["elderly"].id_number[:6])
    expect(page.locator(f"#waiting tr:has(td.num:text-is('{number}'))")).to_contain_text("代办")

    # 绿色通道: its own reason list, the grant audited with the clerk as grantor
    page.keyboard.press("g")
    expect(dlg.locator("#px-title")).to_have_text("绿色通道（须说明原因）")
    expect(dlg.locator("#px-priority")).to_be_hidden()
    dlg.locator("#px-service").select_option("civil")
    dlg.locator("#px-reason").select_option("urgent")
    dlg.locator("#px-print").select_option("")
    shot(page, "clerk-green-dialog")
    dlg.locator("#px-ok").click()
    expect(dlg).to_be_hidden()
    green = page.locator("body").get_attribute("data-last-proxy")
    expect(page.locator("#waiting tr").first).to_contain_text(str(green))
    expect(page.locator("#waiting tr").first).to_contain_text("绿色通道")
    audit = server.api("GET", "/api/audit", params={"actor": "clerk:clerk12"}).json()["items"]
    grants = [i for i in audit if i["action"] == "console.green_grant"]
    assert len(grants) == 1 and grants[0]["detail"]["reason_zh"] == "急事急办"
    assert grants[0]["detail"]["grantor"] == "clerk:clerk12@12"

    # pause from the English console: the window screen gets the Chinese reason
    page.click("#lang")
    expect(page.locator("#btn-proxy")).to_contain_text("Ticket for")
    page.keyboard.press("p")
    pause = page.locator("#dlg-pause")
    expect(pause.locator("#pause-reason option").nth(1)).to_have_text("Lunch")
    pause.locator("#pause-reason").select_option("lunch")
    pause.locator("button[value=ok]").click()
    expect(page.locator("#win-state")).to_contain_text("Lunch")  # the console reads in its own language …
    assert server.api("GET", "/api/windows/12").json()["pause_reason"] == "午休"  # … public screens get Chinese
    shot(page, "clerk-paused-en")
    page.click("#lang")
    expect(page.locator("#signout")).to_have_text("签退")
    page.keyboard.press("p")  # resume
    expect(page.locator("#win-state")).not_to_contain_text("午休")
    expect(page.locator("#who")).to_have_text(re.compile(r"12号民政窗口 · .+（clerk12）"))
    shot(page, "clerk-console-zh")


def test_a_wrong_password_stays_on_the_directory(browser: Browser, server: Server) -> None:
    page = browser.new_page(viewport=CONSOLE)
    try:
        page.goto(server.base + "/clerk")
        page.locator("#dir-window").select_option("6")
        page.locator(".cl-person[data-staff=clerk6]").click()
        page.locator("#dir-password").fill("wrong")
        page.locator("#dir-form button[type=submit]").click()
        expect(page.locator("#dir-error")).not_to_be_empty()
        expect(page.locator("#console")).to_be_hidden()
        assert server.api("GET", "/api/windows/6").json()["state"] == "closed"
    finally:
        page.close()
