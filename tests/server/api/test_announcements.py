"""GET /api/announcements/{key}.wav serves what an announcer rendered."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from drivers.announcer.espeak import EspeakAnnouncer
from server.config import HallConfig
from tests.support import make_app


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
async def test_serves_rendered_wav_from_cache_folder(tmp_path: Path, hall_config: HallConfig) -> None:
    options = {"cache_dir": str(tmp_path / "announcements"), "repeat": 1, "output": "none"}
    announcer = EspeakAnnouncer("announcer-hall", "local", options)
    rendered = await announcer.render("请A零零一号到三号窗口办理")
    key = announcer.key_for("请A零零一号到三号窗口办理")
    # the app's own announcer is a fresh one over the same folder: served from the file cache, not memory
    entry = {"id": "announcer-hall", "kind": "announcer", "driver": "espeak", "url": "local", "hall": True,
             "options": options}
    config = HallConfig.model_validate({**hall_config.model_dump(), "devices": [entry]})
    with TestClient(make_app(tmp_path, config)) as client:
        ok = client.get(f"/api/announcements/{key}.wav")
        assert ok.status_code == 200 and ok.headers["content-type"] == "audio/wav"
        assert ok.content == rendered.wav
        missing = client.get(f"/api/announcements/{'0' * 20}.wav")
        assert missing.status_code == 404 and missing.json()["code"] == "unknown_announcement"
        assert client.get("/api/announcements/..%2Fhall.db.wav").status_code in (404, 422)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
async def test_a_web_worker_without_devices_serves_the_device_hosts_cache(tmp_path: Path,
                                                                        hall_config: HallConfig) -> None:
    """``hallq serve --workers N``: the announcer runs in the device-host child; workers read its cache folder."""
    options = {"cache_dir": str(tmp_path / "announcements"), "repeat": 1, "output": "none"}
    host_side = EspeakAnnouncer("announcer-hall", "local", options)  # what the device-host process renders
    rendered = await host_side.render("请A零零二号到一号窗口办理")
    key = host_side.key_for("请A零零二号到一号窗口办理")
    entry = {"id": "announcer-hall", "kind": "announcer", "driver": "espeak", "url": "local", "hall": True,
             "options": options}
    config = HallConfig.model_validate({**hall_config.model_dump(), "devices": [entry]})
    with TestClient(make_app(tmp_path, config, device_host="external")) as client:
        assert client.app.state.services.devices is None  # type: ignore[attr-defined]  # this worker opens nothing
        ok = client.get(f"/api/announcements/{key}.wav")
        assert ok.status_code == 200 and ok.content == rendered.wav
        assert client.get(f"/api/announcements/{'1' * 20}.wav").json()["code"] == "unknown_announcement"
