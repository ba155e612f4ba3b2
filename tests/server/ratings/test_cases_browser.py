"""In Chromium against ``hallq serve --demo``: a 差评 with a reason on the window screen becomes a ledger case.

The server, browser and page helpers are those of tests/server/api/test_pages_browser.py (its
own server process and database for this module).
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.server.api.test_pages_browser import (  # noqa: F401  (fixtures used by name)
    HD,
    WINDOW_SCREEN,
    Server,
    browser,
    issue,
    open_page,
    playwright,
    server,
    shot,
    staff_sign_in,
)


def _ok(server: Server, path: str) -> None:  # noqa: F811
    r = server.api("POST", path, json={})
    assert r.status_code == 200, r.text


def test_a_bad_rating_with_a_reason_appears_on_the_ledger(open_page: Callable[..., Page], server: Server) -> None:  # noqa: F811
    ticket = issue(server, "civil")
    window = open_page("/display/window/12", WINDOW_SCREEN, device="hqd_demo-display-w12")
    expect(window.locator("#conn")).to_have_attribute("data-status", "live")
    _ok(server, "/api/windows/12/open")
    assert server.api("POST", "/api/windows/12/call-next").json()["id"] == ticket["id"]
    _ok(server, "/api/windows/12/start")
    r = server.api("POST", "/api/windows/12/request-rating")
    assert r.status_code == 409 and r.json()["code"] == "not_ratable"  # rating only after 办结
    _ok(server, "/api/windows/12/finish")
    _ok(server, "/api/windows/12/request-rating")
    expect(window.locator("#rate")).to_be_visible()
    window.click("#rate button[data-level='1']")  # 非常不满意: the reasons are offered
    expect(window.locator("#rate-reasons")).to_be_visible()
    window.click("#reason-list button[data-reason='attitude']")
    expect(window.locator("#reason-list button[data-reason='attitude']")).to_have_attribute("aria-pressed", "true")
    window.fill("#reason-text", "解释不清楚")
    shot(window, "window-rating-reasons")
    window.click("#reason-send")
    expect(window.locator("#rate-thanks")).to_be_visible()

    ledger = open_page("/supervisor/cases", HD)
    ledger.wait_for_url(lambda url: "/auth/login" in url)
    staff_sign_in(ledger, server.base, "supervisor", "supervisor-demo")
    ledger.goto(f"{server.base}/supervisor/cases")
    row = ledger.locator(f"#rows tr:has(td:text-is('{ticket['number']}'))")
    expect(row).to_have_count(1)
    expect(row.locator(".c-state")).to_have_text("待核实")
    expect(row.locator(".c-reasons")).to_have_text("服务态度")
    expect(row.locator(".c-text")).to_have_text("解释不清楚")
    expect(row).to_contain_text("非常不满意")
    shot(ledger, "supervisor-cases")
    row.locator("button[data-step=verify]").click()
    expect(ledger.locator("#step")).to_be_visible()
    ledger.click("#step-send")
    expect(row.locator(".c-state")).to_have_text("核实中")
    case = [c for c in server.api("GET", "/api/cases").json()["items"] if c["ticket_id"] == ticket["id"]]
    assert len(case) == 1 and case[0]["reasons"] == ["attitude"] and case[0]["channel"] == "window"
    assert case[0]["verify_due"] and case[0]["rectify_due"]
    steps = server.api("GET", f"/api/cases/{case[0]['id']}").json()["steps"]
    assert [s["action"] for s in steps] == ["open", "verify"] and steps[1]["actor"].startswith("supervisor")
