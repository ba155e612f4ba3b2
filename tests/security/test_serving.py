"""``hallq serve`` as deployed: §9 proxy headers off by default, §10 timeouts and caps, §2 frame size,
§21 private files; §20 device URLs masked; §22 demo simulators; §23 API description switch.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server import cli
from server.auth.disclosure import mask_device_entry, mask_url, strip_ticket_links
from server.auth.service import AuthSettings
from server.auth.serving import GuardedHttpProtocol
from server.auth.wsguard import MAX_FRAME
from server.config import HallConfig
from tests.support import make_app

from .conftest import config_in


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``uvicorn.run``'s keyword arguments as ``hallq serve`` passes them (nothing is started)."""
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    previous = os.umask(0o022)
    try:
        cli._run("127.0.0.1", 8000, 1, "info", False)
        seen["umask"] = os.umask(0o022)
    finally:
        os.umask(previous)
    return seen


def test_serve_trusts_no_proxy_by_default(captured: dict[str, Any]) -> None:
    assert captured["proxy_headers"] is False and captured["forwarded_allow_ips"] == []


def test_serve_sets_timeouts_caps_and_frame_size(captured: dict[str, Any]) -> None:
    assert captured["http"] is GuardedHttpProtocol
    assert captured["ws_max_size"] == MAX_FRAME <= 64 * 1024
    assert captured["limit_concurrency"] == AuthSettings().max_connections
    assert captured["timeout_keep_alive"] == AuthSettings().keep_alive_seconds


def test_serve_names_the_proxy_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from server.auth import serving

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    monkeypatch.setenv("HALLQ_AUTH_TRUST_PROXY", "10.0.0.1")
    serving._settings.cache_clear()
    previous = os.umask(0o022)
    try:
        cli._run("127.0.0.1", 8000, 1, "info", False)
    finally:
        os.umask(previous)
        serving._settings.cache_clear()
    assert seen["proxy_headers"] is True and seen["forwarded_allow_ips"] == ["10.0.0.1"]


def test_database_and_wal_are_private(captured: dict[str, Any], tmp_path: Path, demo_config: HallConfig) -> None:
    assert captured["umask"] == 0o077
    previous = os.umask(captured["umask"])
    try:
        app = make_app(tmp_path, config_in(tmp_path, demo_config))
        with TestClient(app) as c:
            assert c.get("/healthz").status_code == 200
            snapshots = tmp_path / "snapshots" / "2026-12-01"
            snapshots.mkdir(parents=True)
            (snapshots / "x.jpg").write_bytes(b"\xff\xd8")
            files = [p for p in tmp_path.iterdir() if p.name.startswith("hall.db")]
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [*files, snapshots / "x.jpg", snapshots]}
    finally:
        os.umask(previous)
    assert "hall.db" in modes and "hall.db-wal" in modes
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes


def test_device_urls_are_shown_with_credentials_masked() -> None:
    assert mask_url("rtsp://admin:S3cretPw@127.0.0.1:9/stream1") == "rtsp://admin:***@127.0.0.1:9/stream1"
    assert mask_url("http://cam/snap?user=a&password=x&token=y") == "http://cam/snap?user=a&password=***&token=***"
    entry = mask_device_entry({"url": "rtsp://u:p@h/s", "health": {"detail": "open failed: rtsp://u:p@h/s refused"}})
    assert "p@" not in entry["url"] and ":p@" not in entry["health"]["detail"]


def test_devices_api_masks_url_credentials(tmp_path: Path, demo_config: HallConfig) -> None:
    config = config_in(tmp_path, demo_config)
    camera = [d for d in demo_config.devices if d.kind == "camera"][:1]
    if not camera:
        pytest.skip("the demo hall has no camera")
    spec = camera[0].model_copy(update={"url": "rtsp://admin:S3cretPw@127.0.0.1:9/stream1"})
    app = make_app(tmp_path, config.model_copy(update={"devices": [spec]}))
    with TestClient(app) as c:
        sup = c.post("/api/auth/token", data={"username": "supervisor", "password": "supervisor-demo"}).json()
        r = c.get("/api/devices", headers={"Authorization": f"Bearer {sup['access_token']}"})
    assert r.status_code == 200, r.text
    assert "S3cretPw" not in r.text


def test_simulator_state_never_shows_ticket_links() -> None:
    state = {"tickets": [{"text": "A001\n[二维码 http://127.0.0.1:8000/t/4iz9h55ysLsaQE4A]"}]}
    assert "4iz9h55ysLsaQE4A" not in str(strip_ticket_links(state))


def test_demo_simulators_need_loopback_or_a_supervisor(tmp_path: Path, demo_config: HallConfig) -> None:
    app = make_app(tmp_path, config_in(tmp_path, demo_config), demo=True)
    with TestClient(app, client=("192.0.2.10", 4000)) as remote:
        assert remote.get("/api/sim/printer-k1").status_code == 401
        sup = remote.post("/api/auth/token", data={"username": "supervisor", "password": "supervisor-demo"}).json()
        r = remote.get("/api/sim/printer-k1", headers={"Authorization": f"Bearer {sup['access_token']}"})
        assert r.status_code in (200, 404)  # allowed (404: no simulator configured in this test hall)
    with TestClient(app, client=("127.0.0.1", 4000)) as local:
        assert local.get("/api/sim/printer-k1").status_code in (200, 404)


def test_api_description_can_be_switched_off(client: TestClient, app: Any) -> None:
    assert client.get("/openapi.json").status_code == 200
    app.state.services.auth.settings = AuthSettings(docs=False)
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert client.get(path).status_code == 404
