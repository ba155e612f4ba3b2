"""In Chromium against ``hallq serve --demo``: the window screen shows the staff directory's identity.

姓名, 工号, 所属单位 and photo of the clerk signed in at the window (the demo clerks get a
placeholder photo at start-up), stars from the clerk's recent 满意率 once enough ratings credit
them. The server, browser and page helpers are those of tests/server/api/test_pages_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from tests.server.api.test_pages_browser import (  # noqa: F401  (fixtures used by name)
    SHOTS,
    WINDOW_SCREEN,
    Server,
    browser,
    issue,
    open_page,
    playwright,
    server,
)

DEVICE_HOST = {"Authorization": "Bearer hqd_demo-device-host"}


def _shot(page: Page, name: str) -> None:
    (SHOTS / "C1").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "C1" / f"{name}.png"))


def _ok(server: Server, path: str, **body: object) -> dict[str, object]:  # noqa: F811
    r = server.api("POST", path, json=body or {})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _serve_and_rate(server: Server, window: int, service: str, level: int) -> None:  # noqa: F811
    ticket = issue(server, service)
    assert _ok(server, f"/api/windows/{window}/call-next")["id"] == ticket["id"]
    _ok(server, f"/api/windows/{window}/start")
    _ok(server, f"/api/windows/{window}/finish")
    r = httpx.post(f"{server.base}/api/tickets/{ticket['id']}/rating", headers=DEVICE_HOST,
                   json={"level": level, "source": "evaluator"}, timeout=10)
    assert r.status_code == 200, r.text


def test_window_screen_shows_name_staff_no_department_photo_and_stars(
        open_page: Callable[..., Page], server: Server) -> None:  # noqa: F811
    screen = open_page("/display/window/3", WINDOW_SCREEN, device="hqd_demo-display-w3")
    expect(screen.locator("#conn")).to_have_attribute("data-status", "live")
    expect(screen.locator("#w-clerk-name")).to_have_text("—")

    # a supervisor opens window 3 for demo clerk3 (a 工号 from the directory; free text is refused)
    r = server.api("POST", "/api/windows/3/open", json={"clerk": "王局长"})
    assert r.status_code == 422 and r.json()["code"] == "unknown_staff"
    assert _ok(server, "/api/windows/3/open", clerk="clerk3")["clerk"] == "clerk3"
    card = server.api("GET", "/api/staff/card", params={"window": 3}).json()
    expect(screen.locator("#w-clerk-name")).to_have_text(card["name"])
    expect(screen.locator("#w-staff")).to_have_text("clerk3")
    expect(screen.locator("#w-dept")).to_have_text(card["department"])
    assert card["department"] and card["photo"]
    photo = screen.locator("#w-photo")
    expect(photo).to_have_attribute("src", f"{card['photo']}&size=256")
    screen.wait_for_function("() => { const i = document.getElementById('w-photo');"
                             " return i.complete && i.naturalWidth > 0 && !i.src.endsWith('.svg'); }")
    assert screen.evaluate("() => document.getElementById('w-photo').naturalHeight") == 256
    expect(screen.locator("#w-stars-box")).to_be_hidden()  # no ratings yet: no stars
    _shot(screen, "window-screen-clerk")

    # ten ratings (the demo minimum), nine good: 满意率 90 % → 4.5 stars, shown after the rating event
    for i in range(10):
        _serve_and_rate(server, 3, "general", 1 if i == 0 else 5)
    expect(screen.locator("#w-stars-box")).to_be_visible()
    expect(screen.locator("#w-stars .star[data-fill='1']")).to_have_count(4)
    expect(screen.locator("#w-stars .star[data-fill='0.5']")).to_have_count(1)
    expect(screen.locator("#w-satisfaction")).to_contain_text("90%")
    issue(server, "hukou")
    _ok(server, "/api/windows/3/call-next")
    _shot(screen, "window-screen-clerk-stars")

    # closing the window clears the identity
    _ok(server, "/api/windows/3/start")
    _ok(server, "/api/windows/3/finish")
    _ok(server, "/api/windows/3/close")
    expect(screen.locator("#w-clerk-name")).to_have_text("—")
    expect(photo).to_have_attribute("src", "/static/common/silhouette.svg")


def test_admin_adds_a_member_and_uploads_a_photo_on_the_staff_page(
        open_page: Callable[..., Page], server: Server, tmp_path: object) -> None:  # noqa: F811
    from pathlib import Path

    from PIL import Image

    from tests.server.api.test_pages_browser import HD, staff_sign_in

    page = open_page("/admin/staff", HD)
    page.wait_for_url(lambda url: "/auth/login" in url)
    staff_sign_in(page, server.base, "admin", "admin-demo")
    page.goto(f"{server.base}/admin/staff")
    expect(page.locator("#rows tr[data-id]").first).to_be_visible()
    expect(page.locator("#rows .s-no:text-is('clerk1')")).to_have_count(1)

    page.click("#add")
    page.fill("#form input[name=staff_no]", "B0905")
    page.fill("#form input[name=name]", "孙丽")
    page.fill("#form input[name=department]", "市医疗保障局")
    page.check("#windows-set input[value='5']")
    page.check("#services-set input[value='medical']")
    page.click("#save")
    expect(page.locator("#one-time")).to_contain_text("一次性密码")
    expect(page.locator("#photo-row")).to_be_visible()

    bad = Path(str(tmp_path)) / "notes.png"
    bad.write_bytes(b"this is not a picture")
    page.set_input_files("#photo-file", str(bad))
    expect(page.locator("#form-message")).to_contain_text("JPEG")  # 照片须为 JPEG、PNG 或 WebP 图片

    good = Path(str(tmp_path)) / "sun.png"
    Image.new("RGB", (300, 400), (90, 140, 200)).save(good)
    page.set_input_files("#photo-file", str(good))
    expect(page.locator("#one-time")).to_have_text("照片已更新")
    expect(page.locator("#photo-preview")).to_have_attribute("src", re.compile(r"/api/staff/\d+/photo\?v=\d+&size=128"))
    _shot(page, "admin-staff-edit")
    page.click("#cancel")
    row = page.locator("#rows tr", has_text="B0905")
    expect(row.locator(".s-dept")).to_have_text("市医疗保障局")
    expect(row.locator("img.s-thumb")).to_have_attribute("src", re.compile(r"/photo\?v=\d+&size=64"))
    _shot(page, "admin-staff-list")

    staff = [s for s in server.api("GET", "/api/staff").json() if s["staff_no"] == "B0905"]
    assert staff and staff[0]["windows"] == [5] and staff[0]["services"] == ["medical"] and staff[0]["photo"]
    at5 = httpx.get(f"{server.base}/api/staff", params={"window": 5}, timeout=10).json()
    assert any(c["staff_no"] == "B0905" for c in at5)
