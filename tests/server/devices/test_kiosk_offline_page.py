"""The kiosk page says when its device host (reader, printer) is offline — in Chromium, against ``hallq serve``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.support import DEMO_DEVICE_HOST  # noqa: E402
from tests.support.serving import free_port as _free_port  # noqa: E402  (below the ephemeral range)

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[3]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
K1_DEVICES = ["printer-k1", "idcard-k1"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``hallq serve --demo --no-devices``: the devices are some other host's job."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HALLQ_DEVICE_STALE_SECONDS": "2",
           "HALLQ_DATABASE_URL": f"sqlite:///{tmp_path / 'hall.db'}"}
    log = (tmp_path / "serve.log").open("ab")
    argv = [sys.executable, "-m", "server.cli", "serve", "--demo", "--no-devices", "--port", str(port)]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def test_kiosk_page_shows_its_device_host_offline_and_back(server: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_context(locale="zh-CN").new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(f"{server}/auth/device?token=hqd_demo-kiosk-k1&next={quote('/kiosk/k1', safe='/')}")
        page.wait_for_url(f"{server}/kiosk/k1")
        banner = page.locator("#host-offline")
        # nobody runs k1's reader and printer yet
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("离线")
        with httpx.Client(base_url=server, headers=DEMO_DEVICE_HOST) as host:
            claimed = host.post("/api/devices/claims", json={"host": "kiosk-pc", "devices": K1_DEVICES})
            assert claimed.status_code == 200, claimed.text
            expect(banner).to_be_hidden()  # device.host online on kiosk:k1
            expect(page.locator("#services button").first).to_be_enabled()
        # the host stops beating (it lost the network): the page says so within the stale time
        expect(banner).to_be_visible()
        with httpx.Client(base_url=server, headers=DEMO_DEVICE_HOST) as host:
            assert host.post("/api/devices/heartbeat", json={"host": "kiosk-pc"}).json()["held"] == 2
        expect(banner).to_be_hidden()
        browser.close()
        assert not errors, errors
