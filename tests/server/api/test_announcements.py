"""GET /api/announcements/{key}.wav serves what an announcer rendered."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from drivers.announcer.espeak import EspeakAnnouncer
from server.api import announcements, problems


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
async def test_serves_rendered_wav_from_cache_folder(tmp_path: Path) -> None:
    announcer = EspeakAnnouncer("announcer-hall", "local", {"cache_dir": str(tmp_path), "repeat": 1})
    rendered = await announcer.render("请A零零一号到三号窗口办理")
    key = announcer.key_for("请A零零一号到三号窗口办理")
    app = FastAPI()
    problems.install(app)
    app.include_router(announcements.router)
    # a fresh announcer over the same folder: served from the file cache, not memory
    app.state.announcer = EspeakAnnouncer("announcer-hall", "local", {"cache_dir": str(tmp_path), "repeat": 1})
    with TestClient(app) as client:
        ok = client.get(f"/api/announcements/{key}.wav")
        assert ok.status_code == 200 and ok.headers["content-type"] == "audio/wav"
        assert ok.content == rendered.wav
        missing = client.get(f"/api/announcements/{'0' * 20}.wav")
        assert missing.status_code == 404 and missing.json()["code"] == "unknown_announcement"
        assert client.get("/api/announcements/..%2Fhall.db.wav").status_code in (404, 422)
