"""In Chromium: an escalated 差评 case shows its 已升级督办 badge on the ledger (/supervisor/cases).

The production app (tests/support/apps.py make_app) is served by uvicorn in a thread with its
store on a clock the test moves, so the case goes overdue and escalates over a weekend.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, expect, sync_playwright

from server.auth import seed_demo_accounts
from server.config import HallConfig
from server.store import QueueStore
from tests.server.api.test_pages_browser import ARGS, CHROMIUM, HD, staff_sign_in
from tests.server.ratings.test_ratings_api import START, Clock
from tests.support import make_app
from tests.support.serving import free_port

SHOTS = Path(__file__).resolve().parents[3] / "screenshots" / "R2"


@pytest.fixture
def live(tmp_path: Path, hall_config: HallConfig) -> Iterator[tuple[str, Clock]]:
    """The app on a free port, its clock, until the test ends."""
    clock = Clock()

    def factory(url: str, cfg: Any) -> QueueStore:
        store = QueueStore(url, cfg, clock=clock)
        store.migrate()
        seed_demo_accounts(store, cfg)
        return store

    app = make_app(tmp_path, hall_config, store_factory=factory)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{server.config.port}", clock
    finally:
        server.should_exit = True
        thread.join(20)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def test_an_escalated_case_has_its_badge_on_the_ledger(live: tuple[str, Clock], browser: Browser) -> None:
    base, clock = live
    with httpx.Client(base_url=base, timeout=10) as api:
        token = api.post("/api/auth/token", data={"username": "admin", "password": "admin-demo"}).json()
        api.headers["Authorization"] = f"Bearer {token['access_token']}"
        tickets = []
        for _ in range(2):
            t = api.post("/api/tickets", json={"service": "general"}).json()
            assert api.post("/api/windows/1/open", json={}).status_code == 200
            assert api.post("/api/windows/1/call-next").json()["id"] == t["id"]
            assert api.post("/api/windows/1/start").status_code == 200
            assert api.post("/api/windows/1/finish").status_code == 200
            r = api.post(f"/api/tickets/by-token/{t['token']}/rating", headers={"Authorization": ""},
                         json={"level": 1, "reasons": ["attitude"]})
            assert r.status_code == 200, r.text
            tickets.append(t)
        cases = {c["ticket_id"]: c["id"] for c in api.get("/api/cases").json()["items"]}
        clock.now = START + dt.timedelta(days=4)  # Friday → Tuesday: verification overdue (level 1)
        assert sorted(api.post("/api/cases/sweep").json()["alerted"]) == sorted(cases.values())
        done = cases[tickets[1]["id"]]  # the second case is verified in time for the rectify stage
        assert api.post(f"/api/cases/{done}/verify", json={}).status_code == 200
        assert api.post(f"/api/cases/{done}/rectify", json={"finding": "属实"}).status_code == 200
        clock.now = START + dt.timedelta(days=6)  # Thursday: two further working days: the first escalates
        assert api.post("/api/cases/sweep").json()["alerted"] == [cases[tickets[0]["id"]]]

    page = browser.new_context(viewport=HD, locale="zh-CN", timezone_id="Asia/Shanghai").new_page()  # type: ignore[arg-type]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    staff_sign_in(page, base, "supervisor", "supervisor-demo")
    page.goto(f"{base}/supervisor/cases")
    escalated = page.locator(f"#rows tr:has(td:text-is('{tickets[0]['number']}'))")
    expect(escalated).to_have_attribute("data-escalation", "2")
    expect(escalated.locator(".c-badge-escalated")).to_have_text("已升级督办")
    overdue = page.locator(f"#rows tr:has(td:text-is('{tickets[1]['number']}'))")
    expect(overdue).to_have_attribute("data-escalation", "1")
    expect(overdue.locator(".c-badge-overdue")).to_have_text("曾超期")  # verified late, now in time
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "ledger-escalation.png"))
    assert errors == []
