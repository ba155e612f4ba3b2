"""The 好差评上报 page in Chromium against ``hallq serve`` uploading to the test receiver.

A record the receiver refuses shows as parked with its error and the backlog; 重新上报 sends
it once the receiver takes it. The page runs under the app's CSP (violations fail the test).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.haochaping.receiver import Receiver
from tests.server.haochaping.flows import AGENCY_CODE, SECRET, key_of, serve_and_rate
from tests.support import until_sync

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.support.serving import free_port as _free_port  # noqa: E402  (below the ephemeral range)

ROOT = Path(__file__).resolve().parents[3]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture
def served(tmp_path: Path, receiver: Receiver) -> Iterator[tuple[str, httpx.Client]]:
    """``hallq serve --demo`` uploading to ``receiver``; an API client signed in as the demo supervisor."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HALLQ_DATABASE_URL": f"sqlite:///{tmp_path / 'hall.db'}", "PYTHONPATH": str(ROOT),
           "HALLQ_HAOCHAPING_URL": receiver.url, "HALLQ_HAOCHAPING_SECRET": SECRET,
           "HALLQ_HAOCHAPING_AGENCY_CODE": AGENCY_CODE, "HALLQ_HAOCHAPING_POLL_S": "0.2",
           "HALLQ_HAOCHAPING_BACKOFF_BASE_S": "0.2"}
    hallq = Path(sys.executable).parent / "hallq"
    log = (tmp_path / "server.log").open("ab")
    proc = subprocess.Popen([str(hallq), "serve", "--config", str(ROOT / "config" / "demo.yaml"), "--port", str(port),
                             "--demo"], cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    client = httpx.Client(base_url=base, timeout=10)
    try:
        def up() -> bool:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            return False

        until_sync(up, timeout=30, message="hallq serve did not start")
        token = client.post("/api/auth/token", data={"username": "supervisor", "password": "supervisor-demo"})
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield base, client
    finally:
        client.close()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()


def test_parked_record_and_backlog_on_the_page_then_resent(served: tuple[str, httpx.Client],
                                                           receiver: Receiver) -> None:
    base, api = served
    good = serve_and_rate(api, window=1)
    receiver.state.reject = {"330100-2026-999999"}  # a 办件编号 the province does not know
    bad = serve_and_rate(api, window=1, level=3, link=("330100-2026-999999", "11330100002493612T333011"))
    until_sync(lambda: api.get("/api/exports", params={"state": "parked"}).json()["counts"]["parked"] == 1,
               timeout=10)
    good_key, bad_key = key_of(api, good), key_of(api, bad)
    until_sync(lambda: good_key in receiver.state.records, timeout=10)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
            page = context.new_page()
            page.set_default_timeout(10_000)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
            signin = context.request.post(f"{base}/auth/login", max_redirects=0,
                                          form={"username": "supervisor", "password": "supervisor-demo", "next": "/"})
            assert signin.status in (302, 303)
            page.goto(f"{base}/supervisor/exports")
            row = page.locator(f"tr[data-key='{bad_key}']")
            expect(row).to_have_attribute("data-state", "parked")
            expect(row.locator("td.err")).to_contain_text("422")
            expect(page.locator("#n-parked")).to_have_text("1")
            expect(page.locator("#backlog")).to_have_text("1")
            (ROOT / "screenshots").mkdir(exist_ok=True)
            page.screenshot(path=str(ROOT / "screenshots" / "supervisor-exports.png"))  # for a human to look at

            receiver.state.reject = set()
            row.locator("button[data-retry]").click()
            expect(row).to_have_attribute("data-state", "sent", timeout=15_000)
            expect(page.locator("#backlog")).to_have_text("0")
            context.close()
        finally:
            browser.close()
    assert not errors, errors
    assert receiver.state.deliveries[bad_key] == 1 and receiver.state.bad_signatures == 0
