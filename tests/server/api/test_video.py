"""Supervisor video on the production app: access control, the MJPEG stream (one encoder), snapshots.

``create_app`` in demo mode with the demo camera (``url: sim`` → the camera simulator over
HTTP), served by a real uvicorn on 127.0.0.1. The wall in Chromium is in test_video_wall.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
import uvicorn

from server.cameras.service import CameraService, masked_url
from server.config import HallConfig, load_config
from server.settings import DEMO_CONFIG
from tests.support import make_app, until

CAMERA_OPTIONS = {"fps": 10, "stream_fps": 8, "stream_width": 320, "occupancy": "off", "analyze_every": 60}


def camera_config(tmp_path: Path, **options: Any) -> HallConfig:
    """The demo hall with only its camera (the other simulators would only slow the test down)."""
    config = load_config(DEMO_CONFIG)
    camera = next(d for d in config.devices if d.kind == "camera")
    camera = camera.model_copy(update={"options": {**camera.options, **CAMERA_OPTIONS, **options}})
    monitoring = config.monitoring.model_copy(update={"snapshot_dir": str(tmp_path / "snapshots")})
    return config.model_copy(update={"devices": [camera], "monitoring": monitoring})


class Hall:
    """The running app: its base URL, its services, and bearer headers for a supervisor and a clerk."""

    def __init__(self, app: Any, base: str) -> None:
        self.app, self.base = app, base
        self.supervisor: dict[str, str] = {}
        self.clerk: dict[str, str] = {}

    @property
    def cameras(self) -> CameraService:
        cameras = self.app.state.services.cameras
        assert isinstance(cameras, CameraService)
        return cameras


async def bearer(client: httpx.AsyncClient, username: str, scope: str | None = None) -> dict[str, str]:
    data = {"username": username, "password": f"{username}-demo", **({"scope": scope} if scope else {})}
    r = await client.post("/api/auth/token", data=data)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` (with its lifespan) on a free loopback port; yields the base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           timeout_graceful_shutdown=2))
    task = asyncio.create_task(server.serve())
    await until(lambda: server.started or task.done(), 30, "uvicorn did not start")
    assert not task.done(), "uvicorn exited at start-up"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


@pytest.fixture
async def hall(tmp_path: Path) -> AsyncIterator[Hall]:
    app = make_app(tmp_path, camera_config(tmp_path), demo=True)
    async with serve(app) as base:
        hall = Hall(app, base)
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            hall.supervisor = await bearer(client, "supervisor")
            hall.clerk = await bearer(client, "clerk1", "window:1")

            async def ready() -> bool:
                listing = (await client.get("/api/cameras", headers=hall.supervisor)).json()["cameras"]
                return bool(listing) and listing[0]["health"]["state"] == "ready"

            await until(ready, 20, "the demo camera never became ready")
        yield hall


ROUTES = ["/api/cameras", "/api/cameras/camera-1/snapshot.jpg", "/api/cameras/camera-1/stream.mjpg",
          "/api/snapshots/2026-11-27/x.jpg"]


async def test_supervisor_only(hall: Hall) -> None:
    async with httpx.AsyncClient(base_url=hall.base, timeout=5) as client:
        for path in ROUTES:
            anonymous = await client.get(path)
            assert anonymous.status_code == 401, path
            assert anonymous.json()["code"] == "unauthenticated"
            assert (await client.get(path, headers={"Authorization": "Bearer guess"})).status_code == 401
            wrong = await client.get(path, headers=hall.clerk)
            assert wrong.status_code == 403, path
        assert (await client.post("/api/cameras/camera-1/reference")).status_code == 401
        # the wall itself is a public page shell; its script sends a signed-out browser to sign in
        page = await client.get("/supervisor/video")
        assert page.status_code == 200 and 'data-signin="login"' in page.text
        assert '<script type="module" src="/static/video.js"></script>' in page.text


async def read_parts(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> tuple[str, list[bytes]]:
    """The first ``n`` JPEG parts of the stream."""
    parts: list[bytes] = []
    async with client.stream("GET", "/api/cameras/camera-1/stream.mjpg", headers=headers) as response:
        assert response.status_code == 200
        buffer = b""
        async for chunk in response.aiter_bytes():
            buffer += chunk
            while True:
                start = buffer.find(b"\xff\xd8")
                end = buffer.find(b"\xff\xd9", start + 2) if start >= 0 else -1
                if start < 0 or end < 0:
                    break
                parts.append(buffer[start : end + 2])
                buffer = buffer[end + 2 :]
            if len(parts) >= n:
                return response.headers["content-type"], parts[:n]
    raise AssertionError("stream ended early")


async def test_stream_is_multipart_mjpeg_with_one_encoder_for_all_viewers(hall: Hall) -> None:
    async with httpx.AsyncClient(base_url=hall.base, timeout=10) as client:
        results = await asyncio.wait_for(
            asyncio.gather(*(read_parts(client, hall.supervisor, 6) for _ in range(3))), 30)
    for content_type, parts in results:
        assert content_type == "multipart/x-mixed-replace; boundary=frame"
        image = cv2.imdecode(np.frombuffer(parts[-1], np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape == (240, 320, 3)  # stream_width 320 limits the size
    broadcaster = hall.cameras.broadcasters["camera-1"]
    received = sum(len(parts) for _, parts in results)
    assert broadcaster.encoded < received  # 18 parts delivered, each frame encoded once
    await until(lambda: broadcaster.subscribers == 0, 10, "viewers that left were not dropped")


async def test_stream_readable_by_videocapture(hall: Hall, monkeypatch: pytest.MonkeyPatch) -> None:
    header = hall.supervisor["Authorization"]
    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", f"headers;Authorization: {header}\r\n")
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 5000]
    cap = await asyncio.to_thread(cv2.VideoCapture, f"{hall.base}/api/cameras/camera-1/stream.mjpg",
                                  cv2.CAP_FFMPEG, params)
    try:
        assert cap.isOpened()
        ok, image = await asyncio.to_thread(cap.read)
        assert ok and image.shape == (240, 320, 3)
    finally:
        cap.release()


async def test_snapshots_reference_and_camera_list(hall: Hall) -> None:
    async with httpx.AsyncClient(base_url=hall.base, timeout=5, headers=hall.supervisor) as client:
        shot = await client.get("/api/cameras/camera-1/snapshot.jpg")
        assert shot.status_code == 200 and shot.content[:2] == b"\xff\xd8"
        missing = await client.get("/api/cameras/nope/snapshot.jpg")
        assert missing.status_code == 404 and missing.json()["code"] == "unknown_camera"
        saved = await asyncio.to_thread(hall.cameras.wiring.snapshot, "camera-1", "absent")
        assert saved is not None
        evidence = await client.get(saved)
        assert evidence.status_code == 200 and evidence.headers["content-type"] == "image/jpeg"
        assert (await client.get("/api/snapshots/2026-11-27/missing.jpg")).status_code == 404
        assert (await client.get("/api/snapshots/..%2F..%2Fetc/passwd")).status_code == 404
        taken = await client.post("/api/cameras/camera-1/reference", params={"window": [1, 3]})
        assert taken.json() == {"camera": "camera-1", "windows": [1, 3]}
        nothing = await client.post("/api/cameras/camera-1/reference", params={"window": [9]})
        assert nothing.status_code == 503 and nothing.json()["code"] == "camera_unavailable"
        answer = (await client.get("/api/cameras")).json()
        listing = answer["cameras"]
        assert answer["elsewhere"] is False
        assert listing[0]["id"] == "camera-1" and listing[0]["windows"] == [1, 2, 3, 4]
        assert listing[0]["waiting_area"] is True and listing[0]["health"]["state"] == "ready"
        assert listing[0]["url"].startswith("http://127.0.0.1:")  # the simulator's URL


@pytest.mark.parametrize(("url", "shown"), [
    ("rtsp://admin:s3cret@10.0.0.5:554/Streaming/Channels/101", "rtsp://admin:***@10.0.0.5:554/Streaming/Channels/101"),
    ("rtsp://token@cam.local/live", "rtsp://***@cam.local/live"),
    ("http://u:p%40ss@cam/stream.mjpg?x=1", "http://u:***@cam/stream.mjpg?x=1"),
    ("http://127.0.0.1:8000/stream.mjpg", "http://127.0.0.1:8000/stream.mjpg"),
    ("usb:0", "usb:0"),
    ("/var/video/demo.mp4", "/var/video/demo.mp4"),
])
def test_camera_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert masked_url(url) == shown
    assert "s3cret" not in masked_url(url) and "p%40ss" not in masked_url(url)


async def test_no_cameras_here_says_so(tmp_path: Path) -> None:
    config = load_config(DEMO_CONFIG).model_copy(update={"devices": []})
    app = make_app(tmp_path, config, demo=True)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=5) as client:
        headers = await bearer(client, "supervisor")
        answer = (await client.get("/api/cameras", headers=headers)).json()
        assert answer["cameras"] == [] and answer["elsewhere"] is False
        assert (await client.get("/api/cameras/camera-1/stream.mjpg", headers=headers)).status_code == 404
