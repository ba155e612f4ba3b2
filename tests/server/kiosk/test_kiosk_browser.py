"""The kiosk's failure screens in Chromium, as a person at the kiosk sees them (issue 18).

A hung request (Playwright's ``page.route`` never answering), the idle reset after it, a lost
answer recovered by the retried tap's idempotency key, offline, a printer fault before the tap,
the rate limit in minutes, an elderly card turning on 长辈模式, 呼叫工作人员 raising an alert.
One demo server per module (``hallq serve --demo``), with a per-person limit of 2 per 10 minutes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, Route, expect

from tests.server.api import test_pages_browser as harness
from tests.server.api.test_pages_browser import HD, ROOT, Server, live
from tests.support import until_sync

# the harness's browser fixtures; the server fixture is this module's own (see below)
playwright, browser, open_page = harness.playwright, harness.browser, harness.open_page
SHOTS = ROOT / "screenshots" / "G"
PORTRAIT = {"width": 1080, "height": 1920}
K1 = "hqd_demo-kiosk-k1"
ISSUE = "**/api/kiosks/k1/tickets"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("kiosk"))
    srv.env["HALLQ_AUTH_PERSON_RATE"] = "2/600"  # the rate-limit test needs a small per-person limit
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()
        srv.client.close()


def shot(page: Page, name: str) -> None:
    """Save a screenshot for a human to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def kiosk(open_page: Callable[..., Page], query: str = "", viewport: dict[str, int] = HD) -> Page:
    page = open_page(f"/kiosk/k1{query}", viewport, device=K1)
    live(page)
    expect(page.locator(".k-svc").first).to_be_visible()
    return page


def card(server: Server, action: str, sample: str | None = None) -> None:
    params = {"card": sample} if sample else {}
    r = server.api("POST", "/api/sim/idcard-k1/action", json={"action": action, "params": params})
    assert r.status_code == 200, r.text
    if action == "remove_card":  # a card laid down before the reader saw this one go would be missed
        until_sync(lambda: server.api("GET", "/api/kiosks/k1/session",
                                      headers={"Authorization": f"Bearer {K1}"}).status_code == 404,
                   timeout=10, message="the kiosk's card session did not end after the card was taken")


def waiting_count(server: Server, service: str) -> int:
    hall = server.api("GET", "/api/hall").json()
    return int(next(s for s in hall["services"] if s["code"] == service)["waiting"])


def has_class(name: str) -> re.Pattern[str]:
    """A class-list matcher for ``to_have_class``."""
    return re.compile(rf"\b{name}\b")


def tap(page: Page, code: str) -> None:
    """Tap a service; confirm 仍要取号 when no window serves it now (the demo opens none)."""
    page.click(f".k-svc[data-code={code}]")
    if page.locator("#confirm").is_visible():
        page.click("#confirm-yes")


def hang(route: Route) -> None:
    """Never answer: the request stays pending, as behind a dead proxy."""


def test_unserved_service_says_so_and_asks_first(open_page: Callable[..., Page], server: Server) -> None:
    page = kiosk(open_page)
    button = page.locator(".k-svc[data-code=market]")
    expect(button).to_contain_text("暂无窗口办理")
    assert "无需等候" not in button.inner_text()
    button.click()
    expect(page.locator("#confirm")).to_be_visible()
    expect(page.locator("#confirm-text")).to_contain_text("仍要取号吗")
    shot(page, "kiosk-unserved-confirm")
    page.click("#confirm-no")
    expect(page.locator("#confirm")).to_be_hidden()
    expect(page.locator("#home")).to_be_visible()


def test_hung_request_shows_a_retry_box_not_a_frozen_screen(open_page: Callable[..., Page], server: Server) -> None:
    page = kiosk(open_page, "?net=2")
    page.route(ISSUE, hang)
    tap(page, "fund")
    expect(page.locator("#busy")).to_be_visible()
    box = page.locator("#alert")
    expect(box).to_be_visible(timeout=15_000)  # two attempts of 2 s, then the box
    expect(page.locator("#alert-title")).to_have_text("网络繁忙，取号没有完成")
    expect(page.locator("#alert-text")).to_contain_text("不会重复取号")
    expect(page.locator("#alert-retry")).to_be_visible()
    expect(page.locator("#home")).to_be_visible()
    assert page.evaluate("window.hallqKiosk.state.busy") is False
    centre = box.locator(".k-alert-box").bounding_box()
    assert centre is not None and abs(centre["x"] + centre["width"] / 2 - HD["width"] / 2) < 4
    assert abs(centre["y"] + centre["height"] / 2 - HD["height"] / 2) < 40  # centred, not a toast at the edge
    assert page.locator("#alert-title").evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 48
    shot(page, "kiosk-hung-request-box")
    page.unroute(ISSUE)
    page.click("#alert-retry")  # the retry path: the same tap, now answered
    expect(page.locator("#ticket")).to_be_visible()
    assert page.locator("#t-number").inner_text().startswith("D")


def test_idle_reset_after_a_hung_request_gives_a_working_home(open_page: Callable[..., Page],
                                                               server: Server) -> None:
    # the review's reproduction: idle=5, the issue request held, tap, wait, tap another service
    page = kiosk(open_page, "?idle=3&net=30")
    page.route(ISSUE, hang)
    tap(page, "fund")
    expect(page.locator("#busy")).to_be_visible()
    expect(page.locator("#home")).to_be_visible(timeout=10_000)  # the idle reset fires while it hangs
    assert page.evaluate("window.hallqKiosk.state.busy") is False
    expect(page.locator("#alert")).to_be_hidden()
    page.unroute(ISSUE)
    tap(page, "estate")  # before: silently ignored for ever
    expect(page.locator("#ticket")).to_be_visible()
    assert page.locator("#t-number").inner_text().startswith("E")
    shot(page, "kiosk-after-idle-reset-ticket")


def test_a_lost_answer_is_recovered_and_never_a_second_ticket(open_page: Callable[..., Page],
                                                              server: Server) -> None:
    page = kiosk(open_page, "?net=8")
    before = waiting_count(server, "civil")
    seen: list[str] = []

    def drop_first_answer(route: Route) -> None:
        seen.append(route.request.headers.get("idempotency-key", ""))
        if len(seen) == 1:
            route.fetch()  # the server issues the ticket …
            route.abort("connectionreset")  # … and the answer is lost on the way back
        else:
            route.continue_()

    page.route(ISSUE, drop_first_answer)
    tap(page, "civil")
    expect(page.locator("#ticket")).to_be_visible(timeout=15_000)
    assert len(seen) == 2 and seen[0] == seen[1] and seen[0].startswith("tap-")  # one tap, one key
    assert waiting_count(server, "civil") == before + 1  # one ticket, not two


def test_offline_kiosk_says_so_in_the_middle(open_page: Callable[..., Page], server: Server) -> None:
    page = kiosk(open_page, "?net=3")
    page.context.set_offline(True)
    try:
        tap(page, "hukou")
        expect(page.locator("#alert")).to_be_visible(timeout=10_000)
        expect(page.locator("#alert-title")).to_have_text("网络连接中断")
        expect(page.locator("#alert-text")).to_contain_text("咨询台")
        shot(page, "kiosk-offline-box")
        page.locator("#alert").click(position={"x": 20, "y": 20})  # a touch anywhere dismisses it
        expect(page.locator("#alert")).to_be_hidden()
    finally:
        page.context.set_offline(False)


def _printer_faults(server: Server) -> list[str]:
    devices = {d["id"]: d for d in server.api("GET", "/api/devices").json()["devices"]}
    return list(devices["printer-k1"]["health"]["faults"])


def test_printer_fault_is_said_before_the_tap(open_page: Callable[..., Page], server: Server) -> None:
    assert server.api("POST", "/api/sim/printer-k1/fault", json={"fault": "paper_out"}).status_code == 200
    try:
        deadline = time.monotonic() + 15
        while "paper_out" not in _printer_faults(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        page = kiosk(open_page, "?devpoll=1", PORTRAIT)
        warn = page.locator("#printer-warn")
        expect(warn).to_be_visible()
        expect(warn).to_contain_text("本机打印机暂时无法出票")
        expect(warn).to_contain_text("咨询台领取纸质号票")
        body = page.locator("body").inner_text()
        assert "please" not in body.lower() and "photograph" not in body.lower()  # Chinese only
        shot(page, "kiosk-printer-fault-home")
        tap(page, "medical")
        expect(page.locator("#ticket")).to_be_visible()
        expect(page.locator("#ticket")).to_have_attribute("data-printed", "false")
        expect(page.locator("#fault")).to_contain_text("到咨询台领取纸质号票")
        expect(page.locator("#fault-staff")).to_have_text("已通知工作人员")
        expect(page.locator(".k-label")).to_have_text("请记住您的号码")
        size = page.locator("#t-number").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 240  # the number very large: it is the citizen's only ticket
        expect(page.locator("#t-qr")).to_have_js_property("complete", True)
        assert page.locator("#t-qr").evaluate("img => img.naturalWidth") > 0
        shot(page, "kiosk-printer-fault-ticket")
        alerts = server.api("GET", "/api/alerts", params={"type": "kiosk_printer"}).json()["items"]
        assert any(a["subject"] == "kiosk:k1" and a["state"] != "resolved" for a in alerts)
    finally:
        server.api("POST", "/api/sim/printer-k1/fault", json={"fault": None})
    expect(page.locator("#printer-warn")).to_be_hidden(timeout=15_000)  # the warning goes with the fault


def test_rate_limit_is_a_wait_in_minutes(open_page: Callable[..., Page], server: Server) -> None:
    page = kiosk(open_page)
    card(server, "place_card", "young")
    try:
        expect(page.locator("#card-banner")).to_have_class(has_class("session"))
        for code in ("social", "tax"):  # two tickets with this card within 10 minutes (the limit is 2)
            r = server.client.post("/api/kiosks/k1/tickets", json={"service": code},
                                   headers={"Authorization": f"Bearer {K1}"})
            assert r.status_code == 201, r.text
        tap(page, "fund")  # a third: over the per-person limit
        expect(page.locator("#alert")).to_be_visible()
        expect(page.locator("#alert-title")).to_have_text("取号过于频繁")
        text = page.locator("#alert-text").inner_text()
        assert "10分钟后再试" in text and "秒" not in text, text
        shot(page, "kiosk-rate-limit-box")
    finally:
        card(server, "remove_card")


def test_elderly_card_turns_on_elder_mode_and_priority_is_shown(open_page: Callable[..., Page],
                                                                server: Server) -> None:
    page = kiosk(open_page, "", PORTRAIT)
    expect(page.locator("body")).not_to_have_class(has_class("elder"))
    normal = page.locator(".k-svc").count()
    card(server, "place_card", "elderly")
    try:
        expect(page.locator("body")).to_have_class(has_class("elder"))
        expect(page.locator("#elder")).to_have_attribute("aria-pressed", "true")
        buttons = page.locator(".k-svc")
        assert buttons.count() <= 6 < normal  # fewer choices per screen
        box = buttons.first.bounding_box()
        assert box is not None and box["height"] >= 200
        name_px = buttons.first.locator(".k-svc-name").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert name_px >= 56
        shot(page, "kiosk-elder-mode")
        while page.locator(".k-svc[data-code=social]").count() == 0:
            page.click("#page-next")
        tap(page, "social")
        expect(page.locator("#ticket")).to_be_visible()
        expect(page.locator("#t-priority")).to_have_text("老年人优先")
        expect(page.locator("#t-qr")).to_have_js_property("complete", True)
        shot(page, "kiosk-elder-ticket")
    finally:
        card(server, "remove_card")
    page.click("#done")
    expect(page.locator("body")).not_to_have_class(has_class("elder"))  # the next person starts normal


def test_elder_mode_button_and_call_staff(open_page: Callable[..., Page], server: Server) -> None:
    page = kiosk(open_page)
    page.click("#elder")
    expect(page.locator("body")).to_have_class(has_class("elder"))
    expect(page.locator("#pager")).to_be_visible()
    page.click("#help")
    expect(page.locator("#alert")).to_be_visible()
    expect(page.locator("#alert-title")).to_have_text("已通知工作人员")
    shot(page, "kiosk-call-staff")
    alerts = server.api("GET", "/api/alerts", params={"type": "kiosk_help"}).json()["items"]
    assert any(a["subject"] == "kiosk:k1" and "1号取号机" in a["message"] for a in alerts)


def test_voice_guidance_is_on_and_comes_from_the_server(open_page: Callable[..., Page], server: Server) -> None:
    page = kiosk(open_page)
    expect(page.locator("#speech")).to_have_attribute("aria-pressed", "true")  # on by default in the demo hall
    with page.expect_response(lambda r: "/speech/ticket.wav" in r.url) as info:
        tap(page, "jobs")
    r = info.value
    assert r.status in (200, 503)
    if r.status == 200:
        assert r.headers["content-type"] == "audio/wav" and "number=" in r.url and "name" not in r.url
    expect(page.locator("body")).to_have_attribute("data-voice-prompt", "ticket")


