"""In Chromium against ``hallq serve --demo``: the citizen rates on the phone page (/t/<token>) after 办结.

A 不满意 with a reason opens a 差评 case and an export record on channel 二维码; the window
screen's later rating of the same ticket is 409 ``already_rated`` (一次一评, first wins).
Server, browser and helpers: tests/server/api/test_pages_browser.py (own server per module).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from tests.server.api.test_pages_browser import (  # noqa: F401  (fixtures used by name)
    PHONE,
    Server,
    browser,
    issue,
    open_page,
    playwright,
    server,
)

SHOTS = Path(__file__).resolve().parents[3] / "screenshots" / "R2"
W12 = {"Authorization": "Bearer hqd_demo-display-w12"}  # window 12's screen (display bound to window 12)


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _ok(server: Server, path: str) -> None:  # noqa: F811
    r = server.api("POST", path, json={})
    assert r.status_code == 200, r.text


def test_the_phone_page_rates_a_finished_ticket_once(open_page: Callable[..., Page], server: Server) -> None:  # noqa: F811
    ticket = issue(server, "civil")
    phone = open_page(f"/t/{ticket['token']}", PHONE)
    expect(phone.locator("#conn")).to_have_attribute("data-status", "live")
    expect(phone.locator("#rate")).to_be_hidden()  # waiting: no rating form
    _ok(server, "/api/windows/12/open")
    assert server.api("POST", "/api/windows/12/call-next").json()["id"] == ticket["id"]
    _ok(server, "/api/windows/12/start")
    expect(phone.locator("body")).to_have_attribute("data-state", "serving")
    expect(phone.locator("#rate")).to_be_hidden()  # being served: still none (rating only after 办结)
    early = server.api("POST", f"/api/tickets/by-token/{ticket['token']}/rating", json={"level": 5})
    assert early.status_code == 409 and early.json()["code"] == "not_ratable"
    _ok(server, "/api/windows/12/finish")

    expect(phone.locator("#rate")).to_be_visible()
    _shot(phone, "phone-rate-levels")
    phone.click("#rate-levels button[data-level='2']")  # 不满意: the reasons are offered
    expect(phone.locator("#rate-reasons")).to_be_visible()
    phone.click("#reason-list button[data-reason='efficiency']")
    expect(phone.locator("#reason-list button[data-reason='efficiency']")).to_have_attribute("aria-pressed", "true")
    phone.fill("#reason-text", "等了很久")
    expect(phone.locator("#reason-count")).to_contain_text("4/")
    _shot(phone, "phone-rate-reasons")
    phone.click("#reason-send")
    expect(phone.locator("#rate-done")).to_have_text("感谢您的评价！")
    expect(phone.locator("#rate")).to_be_hidden()
    _shot(phone, "phone-rate-thanks")

    cases = [c for c in server.api("GET", "/api/cases").json()["items"] if c["ticket_id"] == ticket["id"]]
    assert len(cases) == 1
    case = cases[0]
    assert case["level"] == 2 and case["channel"] == "qr" and case["reasons"] == ["efficiency"]
    assert case["text"] == "等了很久" and case["state"] == "pending" and case["verify_due"]
    exports = [e for e in server.api("GET", "/api/exports", params={"limit": 1000}).json()["exports"]
               if e["ticket_id"] == ticket["id"]]
    assert len(exports) == 1
    record = exports[0]["record"]
    assert record["channel"] == "二维码" and record["level"] == 2 and record["reason_codes"] == ["efficiency"]

    # the window screen comes second: refused, and the stored rating is unchanged
    late = server.client.post(f"/api/tickets/{ticket['id']}/rating", json={"level": 5, "source": "window"},
                              headers=W12)
    assert late.status_code == 409 and late.json()["code"] == "already_rated"
    again = server.api("POST", f"/api/tickets/by-token/{ticket['token']}/rating", json={"level": 5})
    assert again.status_code == 409 and again.json()["code"] == "already_rated"
    # a reload shows 已评价, not the form
    phone.reload()
    expect(phone.locator("#rate-done")).to_have_text("已评价，感谢您的参与")
    expect(phone.locator("#rate")).to_be_hidden()


def test_a_rating_given_elsewhere_first_shows_already_rated(open_page: Callable[..., Page], server: Server) -> None:  # noqa: F811
    ticket = issue(server, "civil")
    _ok(server, "/api/windows/12/open")
    assert server.api("POST", "/api/windows/12/call-next").json()["id"] == ticket["id"]
    _ok(server, "/api/windows/12/start")
    _ok(server, "/api/windows/12/finish")
    phone = open_page(f"/t/{ticket['token']}", PHONE)
    expect(phone.locator("#rate")).to_be_visible()
    first = server.client.post(f"/api/tickets/{ticket['id']}/rating", json={"level": 4, "source": "window"},
                               headers=W12)
    assert first.status_code == 200, first.text
    # the feed may or may not have delivered ticket.rated yet: either way a click ends on 已评价
    with contextlib.suppress(PlaywrightError):  # the form may be gone already (ticket.rated arrived first)
        phone.click("#rate-levels button[data-level='5']", timeout=2000)
    expect(phone.locator("#rate-done")).to_have_text("已评价，感谢您的参与")
    _shot(phone, "phone-rate-already")
    stored = server.api("GET", f"/api/tickets/{ticket['id']}").json()
    assert stored["rating"] == 4
