"""The booking page at 390×844 and a kiosk check-in with the ID-card simulator, in Chromium.

The app runs in this process under uvicorn (a thread of its own) so the test can set the
store's clock: Tuesday 10:00 to book, Wednesday 09:50 to check in for a 10:00 slot.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from drivers.idcard.samples import SAMPLES  # noqa: E402
from server.config import HallConfig  # noqa: E402
from tests.server.appointments.conftest import NOW, WEDNESDAY, Clock, booking_config  # noqa: E402
from tests.support import make_app, until_sync  # noqa: E402
from tests.support.serving import serving  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "screenshots" / "F"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
KIOSK_SCREEN = {"width": 1920, "height": 1080}
READER = {"poll_interval": 0.03, "status_interval": 0.2, "reply_timeout": 0.3, "read_timeout": 0.6}
pytestmark = pytest.mark.timeout(120)


class Live:
    """The app served by uvicorn on a thread with its own event loop."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.base = ""
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serving(self.app) as base:
            self.base = base
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> Live:
        self._thread.start()
        assert self._ready.wait(30), "server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.loop is not None and self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run a coroutine function on the server's loop."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(fn(), self.loop).result(20)


@pytest.fixture(scope="module")
def clock() -> Clock:
    """One clock for the module's server."""
    return Clock()


@pytest.fixture(scope="module")
def live(demo_config: HallConfig, tmp_path_factory: pytest.TempPathFactory, clock: Clock) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("book")
    raw = booking_config(demo_config, tmp, remote={"enabled": True}).model_dump()
    raw["devices"] = [{"id": "idcard-k1", "kind": "idcard_reader", "driver": "sam", "url": "sim", "kiosk": "k1",
                       "options": READER}]
    raw["server"]["public_url"] = "https://hall.example.cn"

    async def on_clock(services: Any) -> None:
        services.store.clock = clock

    app = make_app(tmp, HallConfig.model_validate(raw), demo=True, on_startup=[on_clock])
    with Live(app) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def open_page(browser: Browser, live: Live) -> Iterator[Callable[..., Page]]:
    """Open a page; JS errors and CSP violations fail the test."""
    opened: list[tuple[Page, list[str]]] = []

    def opener(path: str, viewport: dict[str, int], token: str | None = None) -> Page:
        context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")  # type: ignore[arg-type]
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        if token:
            page.goto(f"{live.base}/auth/device?token={token}&next={path}")
            page.wait_for_url(live.base + path)
        else:
            page.goto(live.base + path)
        opened.append((page, errors))
        return page

    yield opener
    for page, errors in opened:
        page.context.close()
        assert not errors, f"JavaScript errors on {page.url}: {errors}"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_booking_page_at_phone_size(open_page: Callable[..., Page], live: Live, clock: Clock) -> None:
    clock.now = NOW
    page = open_page("/book", PHONE)
    expect(page.locator("#services .b-item")).to_have_count(2)
    expect(page.locator("#services .b-item").first).to_contain_text("综合受理")
    shot(page, "book-1-services")
    page.locator("#services .b-item").first.click()
    days = page.locator("#days .b-day")
    expect(days.first).to_contain_text("12月2日")
    assert "12月3日" not in page.locator("#days").inner_text()  # the hall's holiday
    expect(page.locator("#days")).to_contain_text("12月5日")  # the 调休 Saturday
    shot(page, "book-2-days")
    days.first.click()
    expect(page.locator("#slots .b-slot")).to_have_count(13)
    assert "12:00–" not in page.locator("#slots").inner_text()  # no slot starts in the lunch break
    shot(page, "book-3-slots")
    page.locator("#slots .b-slot", has_text="09:30–10:00").click()
    expect(page.locator("#summary")).to_contain_text("综合受理")
    page.fill("#f-name", "李明")
    page.fill("#f-id", SAMPLES["young"].id_number[:-1] + "9")  # a wrong check digit is refused by the server
    page.fill("#f-mobile", "13812345678")
    page.click("#submit")
    expect(page.locator("#form-error")).to_contain_text("身份证号码有误")
    page.fill("#f-id", SAMPLES["young"].id_number)
    shot(page, "book-4-details")
    page.click("#submit")
    expect(page.locator("#s-done")).to_be_visible()
    code = page.locator("#code").inner_text()
    assert len(code) == 8
    expect(page.locator("#facts")).to_contain_text("110105********0015")
    expect(page.locator("#facts")).to_contain_text("138****5678")
    until_sync(lambda: page.evaluate("document.getElementById('qr').naturalWidth") > 0)
    qr = httpx.get(f"{live.base}/api/appointments/{code}/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/svg+xml"
    shot(page, "book-5-done")

    # cancel by code + ID number: opened from the booking's link
    mine = open_page(f"/book#code={code}", PHONE)
    expect(mine.locator("#m-code")).to_have_value(code)
    mine.fill("#m-id", SAMPLES["elderly"].id_number)  # somebody else's number: the same answer as a wrong code
    mine.click("#lookup button[type=submit]")
    expect(mine.locator("#lookup-error")).to_contain_text("没有找到预约")
    mine.fill("#m-id", SAMPLES["young"].id_number)
    mine.click("#lookup button[type=submit]")
    expect(mine.locator("#m-facts")).to_contain_text("已预约")
    shot(mine, "book-6-lookup")
    # 改约: pick another day and slot; the code stays
    mine.click("#move")
    mine.locator("#days .b-day", has_text="12月5日").click()
    mine.locator("#slots .b-slot", has_text="14:00–14:30").click()
    expect(mine.locator("#s-done")).to_be_visible()
    expect(mine.locator("#code")).to_have_text(code)
    expect(mine.locator("#facts")).to_contain_text("12月5日 周六")
    expect(mine.locator("#facts")).to_contain_text("14:00–14:30")
    mine.click("#tab-mine")
    mine.click("#lookup button[type=submit]")
    expect(mine.locator("#m-facts")).to_contain_text("12月5日")
    mine.click("#cancel")
    mine.click("#confirm-yes")
    expect(mine.locator("#m-facts")).to_contain_text("已取消")
    expect(mine.locator("#found-actions")).to_be_hidden()
    shot(mine, "book-7-cancelled")


def test_booking_page_in_english(open_page: Callable[..., Page], live: Live, clock: Clock) -> None:
    clock.now = NOW
    page = open_page("/book?lang=en", PHONE)
    expect(page.locator("h1")).to_have_text("Book an appointment")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    first = page.locator("#services .b-item").first
    expect(first).to_contain_text("General services")  # the service's name_en
    expect(first).to_contain_text("days open")
    expect(page.locator("#done-hint")).to_contain_text("minutes before your time")
    first.click()
    expect(page.locator("#days .b-day").first).to_contain_text("2 Dec")
    expect(page.locator("#days .b-day").first).to_contain_text("Wed")
    page.locator("#days .b-day").first.click()
    page.locator("#slots .b-slot", has_text="10:30–11:00").click()
    page.fill("#f-name", "Li Ming")
    page.fill("#f-id", "123")
    page.click("#submit")
    expect(page.locator("#form-error")).to_have_text("Please enter the 18-character ID number")
    page.fill("#f-id", SAMPLES["young"].id_number[:-1] + "9")
    page.click("#submit")  # the server's problem details: its English text
    expect(page.locator("#form-error")).not_to_contain_text("身份证")
    assert page.locator("#form-error").inner_text().strip()
    shot(page, "book-en-details")
    body = page.locator("body").inner_text()
    for own in (page.locator("#hall-name").inner_text(), "中文"):  # the hall's name, the language toggle
        body = body.replace(own, "")
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in body), body
    page.click("#lang")  # back to Chinese, where it was
    expect(page.locator("h1")).to_have_text("预约取号")
    expect(page.locator("#summary")).to_contain_text("综合受理")
    expect(page.locator("#lang")).to_have_text("English")


def test_kiosk_checkin_with_the_id_card(open_page: Callable[..., Page], live: Live, clock: Clock) -> None:
    clock.now = NOW
    r = httpx.post(f"{live.base}/api/appointments", json={
        "service": "general", "date": WEDNESDAY.isoformat(), "slot": "10:00", "name": SAMPLES["minority"].name,
        "id_number": SAMPLES["minority"].id_number})
    assert r.status_code == 201, r.text
    assert r.json()["link"].startswith("https://hall.example.cn/book#code=")  # server.public_url, not our address
    clock.now = dt.datetime.combine(WEDNESDAY, dt.time(9, 50), tzinfo=NOW.tzinfo)
    kiosk = open_page("/kiosk/k1", KIOSK_SCREEN, token="hqd_demo-kiosk-k1")
    expect(kiosk.locator("#ci-open")).to_be_visible()
    expect(kiosk.locator("#conn")).to_have_attribute("data-status", "live")
    services = live.app.state.services
    manager = getattr(services.devices, "manager", services.devices)
    until_sync(lambda: len(manager.devices_of_kind("idcard_reader")) == 1, timeout=10)
    live.call(lambda: manager.simulators["idcard-k1"].act("place_card", {"card": "minority"}))
    expect(kiosk.locator("#ci-result")).to_be_visible()
    expect(kiosk.locator("#ci-result-title")).to_have_text("签到成功")
    expect(kiosk.locator("#ci-text")).to_have_text("请稍候，预约时段10:00开始后优先叫号")  # 10 minutes early
    expect(kiosk.locator("#ci-number")).to_have_text("A001")
    expect(kiosk.locator("#ci-detail")).to_contain_text("综合受理")
    shot(kiosk, "kiosk-checkin-card")
    kiosk.click("#ci-ok")
    # a typed code of nothing booked: the reason stays on screen
    kiosk.click("#ci-open")
    for key in "ZZZZ":
        kiosk.locator("#ci-keys .ci-key", has_text=key).first.click()
    kiosk.click("#ci-go")
    expect(kiosk.locator("#ci-result-title")).to_have_text("签到未成功")
    expect(kiosk.locator("#ci-text")).to_contain_text("没有找到预约")
    shot(kiosk, "kiosk-checkin-unknown")
    # the same overlay in English: the kiosk's language button, the server's English reason
    kiosk.click("#ci-ok")
    kiosk.click("#lang")
    expect(kiosk.locator("#ci-open")).to_have_text("Booking check-in")
    kiosk.click("#ci-open")
    expect(kiosk.locator("#ci-entry-title")).to_have_text("Booking check-in")
    expect(kiosk.locator("#ci-keys .ci-key").last).to_have_text("Del")
    for key in "ZZZZ":
        kiosk.locator("#ci-keys .ci-key", has_text=key).first.click()
    kiosk.click("#ci-go")
    expect(kiosk.locator("#ci-result-title")).to_have_text("Check-in failed")
    expect(kiosk.locator("#ci-detail")).to_have_text("Check the code, or ask at the help desk")
    expect(kiosk.locator("#ci-text")).not_to_contain_text("没有找到预约")
    shot(kiosk, "kiosk-checkin-unknown-en")


def sms_code(live: Live) -> str | None:
    """The six digits of the newest verification SMS in the outbox (what the citizen's phone receives)."""
    import re

    from sqlalchemy import select

    from server.store.tables import notices

    with live.app.state.services.store.engine.connect() as conn:
        row = conn.execute(select(notices.c.text).where(notices.c.kind == "verify")
                           .order_by(notices.c.id.desc())).first()
    found = re.search(r"验证码(\d{6})", row.text) if row is not None else None
    return found.group(1) if found else None


def test_remote_ticket_on_the_phone_confirmed_by_code_at_the_kiosk(open_page: Callable[..., Page], live: Live,
                                                                 clock: Clock) -> None:
    clock.now = NOW
    phone = open_page("/book", PHONE)
    expect(phone.locator("#tab-remote")).to_be_visible()
    phone.click("#tab-remote")
    expect(phone.locator("#r-service option")).to_have_count(1)  # general only: remote: true
    phone.fill("#r-mobile", "139 0000 1111")
    phone.click("#remote-form button[type=submit]")  # no SMS code yet: refused, nothing taken
    expect(phone.locator("#remote-error")).to_contain_text("验证码")
    phone.click("#r-send")
    expect(phone.locator("#r-sent")).to_contain_text("139****1111")
    sms = until_sync(lambda: sms_code(live))
    phone.fill("#r-verify", "000000" if sms != "000000" else "111111")
    phone.click("#remote-form button[type=submit]")
    expect(phone.locator("#remote-error")).to_contain_text("还可以再试4次")
    phone.fill("#r-verify", sms)
    phone.click("#remote-form button[type=submit]")
    expect(phone.locator("#remote-done")).to_be_visible()
    code = phone.locator("#r-code").inner_text()
    expect(phone.locator("#r-by")).to_contain_text("10:30")
    shot(phone, "book-8-remote")

    kiosk = open_page("/kiosk/k1", KIOSK_SCREEN, token="hqd_demo-kiosk-k1")
    kiosk.click("#ci-open")
    for key in code:
        kiosk.locator("#ci-keys .ci-key", has_text=key).first.click()
    expect(kiosk.locator("#ci-code")).to_have_text(code)
    shot(kiosk, "kiosk-checkin-keypad")
    kiosk.click("#ci-go")
    expect(kiosk.locator("#ci-result-title")).to_have_text("取号已确认")
    expect(kiosk.locator("#ci-text")).to_have_text("远程取号已确认，请等候叫号")
    number = kiosk.locator("#ci-number").inner_text()
    assert number.startswith("A")
    shot(kiosk, "kiosk-remote-confirmed")
