"""电话预约 from the clerk console in Chromium against a real ``hallq serve --demo``: the booking is channel staff."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from drivers.idcard.samples import SAMPLES
from tests.server.api.test_pages_browser import ROOT, Server
from tests.server.console.test_console_browser import browser, console, server  # noqa: F401  (fixtures)

SHOTS = ROOT / "screenshots" / "R6"


def test_clerk_books_a_slot_for_a_caller(console: Callable[[int], Page], server: Server) -> None:  # noqa: F811
    page = console(5)
    page.click("#btn-book")
    dlg = page.locator("#dlg-book")
    expect(dlg).to_be_visible()
    expect(page.locator("#bk-service option").first).to_be_attached()
    expect(page.locator("#bk-slot option").first).to_be_attached()
    page.fill("#bk-name", "王小明")
    page.fill("#bk-id", SAMPLES["young"].id_number)
    page.fill("#bk-mobile", "13812340000")
    page.click("#bk-ok")
    done = page.locator("#bk-done")
    expect(done).to_be_visible()
    expect(done).to_contain_text("预约码")
    code = done.get_attribute("data-code")
    assert code
    expect(page.locator("#bk-slot option").first).to_be_attached()  # the slots reloaded with the new counts
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "clerk-phone-booking.png"))
    r = server.api("GET", f"/api/appointments/{code}")  # staff read it by code alone
    assert r.status_code == 200, r.text
    booking = r.json()
    assert booking["channel"] == "staff" and booking["state"] == "booked"
    assert SAMPLES["young"].id_number not in r.text and "13812340000" not in r.text
    # a wrong ID number is refused with the server's text, nothing is booked
    page.fill("#bk-name", "李四")
    page.fill("#bk-id", SAMPLES["bad_check"].id_number)
    page.click("#bk-ok")
    expect(page.locator("#bk-error")).not_to_be_empty()
