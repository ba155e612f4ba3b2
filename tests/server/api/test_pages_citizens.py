"""Citizens first (issue 18) in a real browser: landing page, /docs, the 过号 sentence, hall-screen norms.

Uses the harness of ``test_pages_browser.py`` (its own uvicorn server per module, demo config).
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable

from playwright.sync_api import Browser, Locator, Page, Playwright, expect

from displays import wording
from tests.server.api import test_pages_browser as harness
from tests.server.api.test_pages_browser import HD, PHONE, ROOT, TIMEOUT_MS, Server, issue, live, shot

# the browser harness's fixtures, for this module (its own server process)
playwright, browser, server, open_page = harness.playwright, harness.browser, harness.server, harness.open_page
CALLBACK_MINUTES = 30  # config/demo.yaml policy.callback_minutes


def test_landing_page_lists_every_page_chinese_first(open_page: Callable[..., Page], server: Server) -> None:
    page = open_page("/")
    cards = page.locator(".l-card")
    expect(cards).to_have_count(7)
    for card_id, zh in (("p-kiosk", "取号机"), ("p-clerk", "窗口工作台"), ("p-hall", "综合屏"),
                        ("p-window", "窗口屏"), ("p-supervisor", "大厅总览"), ("p-video", "视频监控"),
                        ("p-docs", "接口文档")):
        heading = page.locator(f"#{card_id} h2")
        expect(heading).to_contain_text(zh)
        assert heading.inner_text().startswith(zh)
        assert page.locator(f"#{card_id} p").inner_text().strip(), card_id  # one line on what it is for
    shot(page, "landing")
    # the links work: the demo kiosk link carries its device token and opens the kiosk
    page.click("#p-kiosk a >> nth=0")
    page.wait_for_url(re.compile(r"/kiosk/k1"))
    expect(page.locator("#home")).to_be_visible()


def test_docs_render_operations_without_error(open_page: Callable[..., Page], server: Server) -> None:
    page = open_page("/docs")
    ops = page.locator(".opblock")
    expect(ops.first).to_be_visible(timeout=20_000)  # a 1.5 MB bundle rendering ~80 operations on a busy machine
    assert ops.count() > 20
    expect(page.locator(".opblock-summary-path", has_text="/api/tickets").first).to_be_visible()
    body = page.locator("body").inner_text()
    for error in ("Unable to render", "does not specify a valid version", "Failed to load API definition"):
        assert error not in body
    expect(page.locator(".version-stamp")).to_contain_text("OAS 3.1")  # Swagger UI read it as 3.1
    shot(page, "docs")


def test_no_show_and_transfer_wording_on_the_phone(open_page: Callable[..., Page], server: Server) -> None:
    sentence = wording.no_show_sentence(CALLBACK_MINUTES)
    ticket = issue(server, "civil")
    phone = open_page(f"/t/{ticket['token']}", PHONE)
    live(phone)
    expect(phone.locator("#hint")).to_contain_text(sentence)
    assert "重新取号" not in phone.locator("#hint").inner_text().replace(sentence, "")
    server.api("POST", "/api/windows/12/open", json={"clerk": "clerk12"})
    assert server.api("POST", "/api/windows/12/call", json={"ticket_id": ticket["id"]}).status_code == 200
    assert server.api("POST", "/api/windows/12/no-show").status_code == 200
    expect(phone.locator("#c-state")).to_have_text(f"已过号。{sentence}")
    shot(phone, "phone-no-show")


def _grid_row(hall: Page, window: int) -> Locator:
    return hall.locator(f"#grid li[data-window='{window}']")


def test_hall_grid_and_call_clearing(open_page: Callable[..., Page], server: Server) -> None:
    hall = open_page("/display/hall")
    live(hall)
    expect(hall.locator("#grid li")).to_have_count(16)  # every window of the demo hall
    assert server.api("POST", "/api/windows/10/open", json={"clerk": "clerk10"}).status_code == 200
    ticket = issue(server, "estate")
    assert server.api("POST", "/api/windows/10/call-next").json()["number"] == ticket["number"]
    now = hall.locator("#now")
    expect(now).to_have_attribute("data-phase", "calling")
    expect(hall.locator("#now-label")).to_have_text("正在叫号")
    # the call line as the hall says it: 请D001号到10号…窗口办理
    expect(now).to_have_text(re.compile(rf"请\s*{ticket['number']}\s*号到\s*10号\S*窗口办理"))
    expect(_grid_row(hall, 10).locator(".g-num")).to_have_text(ticket["number"])
    expect(_grid_row(hall, 10).locator(".g-st")).to_have_text("请到窗口")
    expect(_grid_row(hall, 2).locator(".g-st")).to_have_text("未开放")
    shot(hall, "hall-grid-calling")
    assert server.api("POST", "/api/windows/10/start").status_code == 200
    expect(now).to_have_attribute("data-phase", "serving")
    expect(hall.locator("#now-label")).to_have_text("办理中")
    expect(_grid_row(hall, 10).locator(".g-st")).to_have_text("办理中")
    shot(hall, "hall-grid-serving")
    assert server.api("POST", "/api/windows/10/finish").status_code == 200
    expect(now).to_have_attribute("data-phase", "idle")
    expect(hall.locator("#now-window")).to_have_text("欢迎您，请取号等候")
    expect(hall.locator("#now-label")).to_be_hidden()
    expect(_grid_row(hall, 10).locator(".g-num")).to_have_text("")
    expect(_grid_row(hall, 10).locator(".g-st")).to_have_text("空闲")


def test_hall_call_turns_to_serving_after_the_configured_minutes(browser: Browser, server: Server) -> None:
    context = browser.new_context(viewport=HD, timezone_id="Asia/Shanghai")  # type: ignore[arg-type]
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.clock.install()  # the page's clock; the server's called_at stays real
        page.goto(server.base + "/display/hall")
        live(page)
        minutes = int(page.locator("body").get_attribute("data-call-minutes") or "0")
        assert minutes == 3  # policy.call_display_minutes' default
        assert server.api("POST", "/api/windows/15/open", json={"clerk": "clerk15"}).status_code == 200
        ticket = issue(server, "joint")
        assert server.api("POST", "/api/windows/15/call-next").json()["number"] == ticket["number"]
        expect(page.locator("#now")).to_have_attribute("data-phase", "calling")
        page.clock.fast_forward(f"{minutes:02d}:30")  # nobody started it: still at the window, no longer 正在叫号
        expect(page.locator("#now")).to_have_attribute("data-phase", "serving")
        expect(page.locator("#now-number")).to_have_text(ticket["number"])
    finally:
        context.close()


def test_hall_shows_a_transferred_number_once(open_page: Callable[..., Page], server: Server) -> None:
    hall = open_page("/display/hall")
    live(hall)
    for window, clerk in ((4, "clerk4"), (11, "clerk11")):
        assert server.api("POST", f"/api/windows/{window}/open", json={"clerk": clerk}).status_code == 200
    ticket = issue(server, "general")
    assert server.api("POST", "/api/windows/4/call", json={"ticket_id": ticket["id"]}).status_code == 200
    assert server.api("POST", "/api/windows/4/start").status_code == 200
    moved = server.api("POST", "/api/windows/4/transfer", json={"to_service": "hukou"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["number"] == ticket["number"]  # 转号不换号
    called = server.api("POST", "/api/windows/11/call", json={"ticket_id": moved.json()["id"]})
    assert called.status_code == 200, called.text
    expect(_grid_row(hall, 11).locator(".g-num")).to_have_text(ticket["number"])
    expect(_grid_row(hall, 4).locator(".g-num")).to_have_text("")
    expect(hall.locator("#grid .g-num", has_text=ticket["number"])).to_have_count(1)
    expect(hall.locator("#now-window")).to_contain_text("11号")


def test_hall_dims_and_says_so_when_the_feed_is_down(open_page: Callable[..., Page], server: Server) -> None:
    hall = open_page("/display/hall")
    live(hall)
    expect(hall.locator("#stale")).to_be_hidden()
    server.kill()
    try:
        # the feed notices the close at once; the screen dims after STALE_MS (5 s) of no feed
        expect(hall.locator("#stale")).to_be_visible(timeout=15_000)
        expect(hall.locator("#stale")).to_contain_text("数据更新中断")
        expect(hall.locator("body")).to_have_class(re.compile(r"\bstale\b"))
        shot(hall, "hall-stale")
    finally:
        server.start()
    # reconnect backoff is capped at 15 s (with jitter); allow for one full step
    expect(hall.locator("#conn")).to_have_attribute("data-status", "live", timeout=25_000)
    expect(hall.locator("#stale")).to_be_hidden()
    expect(hall.locator("body")).not_to_have_class(re.compile(r"\bstale\b"))


def _readme_hall_flags() -> list[str]:
    """The Chromium flags the README documents for the hall screen's browser."""
    readme = (ROOT / "README.md").read_text("utf-8")
    block = readme.split("<!-- hall-browser -->", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [arg for arg in shlex.split(block) if arg.startswith("--")]


def test_hall_plays_sound_without_a_click_with_the_documented_flags(playwright: Playwright, server: Server) -> None:
    flags = _readme_hall_flags()
    assert "--autoplay-policy=no-user-gesture-required" in flags and "--kiosk" in flags
    # headless Chromium plays media whatever the policy (see test_pages_browser.py), so this proves the
    # documented command line starts a hall screen that plays a call with no click, not the flag's effect alone
    b = playwright.chromium.launch(executable_path=harness.CHROMIUM, headless=True,
                                   args=[*flags, "--no-sandbox", "--disable-gpu"])
    try:
        page = b.new_page(viewport=HD)  # type: ignore[arg-type]
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(server.base + "/display/hall")
        live(page)
        page.evaluate("url => hallqHall.enqueueAudio(url)", harness._clip_url(page))
        expect(page.locator("body")).to_have_attribute("data-audio-played", "1")
        expect(page.locator("#sound")).to_be_hidden()
    finally:
        b.close()


def test_phone_follows_a_transfer_and_fills_the_screen_when_called(open_page: Callable[..., Page],
                                                                     server: Server) -> None:
    for window in (3, 12):
        server.api("POST", f"/api/windows/{window}/open", json={"clerk": f"clerk{window}"})
    ticket = issue(server, "general")
    phone = open_page(f"/t/{ticket['token']}", PHONE)
    live(phone)
    expect(phone.locator("#called")).to_be_hidden()
    assert server.api("POST", "/api/windows/3/call", json={"ticket_id": ticket["id"]}).status_code == 200
    expect(phone.locator("#called")).to_be_visible()
    expect(phone.locator("#called-number")).to_have_text(ticket["number"])
    expect(phone.locator("#called-text")).to_have_text(re.compile(r"请到\s*3号\S*窗口\s*办理"))
    expect(phone.locator("body")).to_have_attribute("data-alerted", "1")
    shot(phone, "phone-called")
    phone.click("#called-ok")
    expect(phone.locator("#called")).to_be_hidden()
    assert server.api("POST", "/api/windows/3/start").status_code == 200
    moved = server.api("POST", "/api/windows/3/transfer", json={"to_service": "civil"})
    assert moved.status_code == 200, moved.text
    # the open page follows: same number, the new service, waiting again, and says the number stays
    expect(phone.locator("body")).to_have_attribute("data-ticket", str(moved.json()["id"]))
    live(phone)
    expect(phone.locator("#c-number")).to_have_text(ticket["number"])
    expect(phone.locator("#c-service")).to_have_text("民政与社会救助")
    expect(phone.locator("#c-state")).to_have_text("排队等候中")
    expect(phone.locator("#c-note")).to_have_text("已转至「民政与社会救助」继续排队，号码不变")
    shot(phone, "phone-after-transfer")
    # the printed QR (the same token) opens the new ticket too
    assert server.api("GET", f"/t/{ticket['token']}").text.count(f'data-ticket="{moved.json()["id"]}"') == 1
    assert server.api("POST", "/api/windows/12/call", json={"ticket_id": moved.json()["id"]}).status_code == 200
    expect(phone.locator("#called-text")).to_have_text(re.compile(r"请到\s*12号\S*窗口\s*办理"))
    expect(phone.locator("#c-note")).to_be_hidden()


def test_unserved_service_and_elderly_priority_on_phone_and_hall(open_page: Callable[..., Page],
                                                                server: Server) -> None:
    # an 80-year-old's kiosk ticket for 综合受理 while no window that serves it is open (windows 1–4)
    card = {"action": "place_card", "params": {"card": "elderly"}}
    assert server.api("POST", "/api/sim/idcard-k2/action", json=card).status_code == 200
    try:
        for _ in range(50):  # the reader polls: wait for k2's session
            if server.api("GET", "/api/kiosks/k2/session", headers={"Authorization": "Bearer hqd_demo-kiosk-k2"}
                          ).status_code == 200:
                break
            time.sleep(0.1)
        r = server.client.post("/api/kiosks/k2/tickets", json={"service": "general"},
                               headers={"Authorization": "Bearer hqd_demo-kiosk-k2"})
        assert r.status_code == 201, r.text
    finally:
        server.api("POST", "/api/sim/idcard-k2/action", json={"action": "remove_card", "params": {}})
    ticket = r.json()
    assert ticket["priority"] == "priority"
    for window in server.api("GET", "/api/hall").json()["windows"]:  # whatever earlier tests opened
        number = window["number"]
        if server.api("POST", f"/api/windows/{number}/close").status_code == 409:  # it holds a ticket
            server.api("POST", f"/api/windows/{number}/suspend")
            assert server.api("POST", f"/api/windows/{number}/close").status_code == 200
    assert not [w for w in server.api("GET", "/api/hall").json()["windows"] if w["state"] != "closed"]
    phone = open_page(f"/t/{ticket['token']}", PHONE)
    live(phone)
    expect(phone.locator("#c-priority")).to_have_text("老年人优先")
    expect(phone.locator("#c-avail")).to_have_text("暂无窗口办理")
    expect(phone.locator("#c-eta")).to_have_text("—")
    shot(phone, "G/phone-unserved-elderly")
    hall = open_page("/display/hall")
    live(hall)
    expect(hall.locator("#waiting tr[data-code=general]")).to_contain_text("暂无窗口办理")
    assert server.api("POST", "/api/windows/1/open", json={"clerk": "clerk1"}).status_code == 200
    expect(phone.locator("#c-avail")).to_be_hidden()  # a window serving it opened: the phone follows
    expect(hall.locator("#waiting tr[data-code=general]")).not_to_contain_text("暂无窗口办理")
    shot(phone, "G/phone-elderly-served")
    server.api("POST", "/api/windows/1/close")
