"""Supervisor video: access control, the MJPEG stream (one encoder), snapshots, the wall in Chromium."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI

from drivers.camera.driver import OpenCvCamera
from drivers.camera.options import DEFAULT_SEATS, DEFAULT_WAITING_AREA
from drivers.camera.simulator import CameraSimulator
from server.api import problems, video
from server.auth import Role
from server.auth.testing import account_session, account_token, memory_auth
from server.devices.cameras import CameraWiring, CameraWiringOptions

AUTH: dict[str, str] = {}  # the supervisor's bearer header, set by the fixture
COOKIES: dict[str, str] = {}  # a supervisor's sign-in session cookies
CLERK: dict[str, str] = {}  # a clerk's bearer header (not allowed to see video)
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


class Hall:
    """Simulator → driver → wiring → video router, served by a real uvicorn on 127.0.0.1."""

    def __init__(self, app: FastAPI, base: str, wiring: CameraWiring) -> None:
        self.app, self.base, self.wiring = app, base, wiring


@pytest.fixture
async def hall(tmp_path: Path) -> AsyncIterator[Hall]:
    sim = CameraSimulator("camera-1", {"fps": 10})
    url = await sim.start()
    options = {"fps": 10, "seats": DEFAULT_SEATS, "waiting_area": DEFAULT_WAITING_AREA, "stream_fps": 8,
               "stream_width": 320, "occupancy": "off", "analyze_every": 60}
    camera = OpenCvCamera("camera-1", url, options)
    await camera.open()
    assert await camera.wait_ready(10)
    wiring = CameraWiring(CameraWiringOptions(tmp_path / "snapshots", tmp_path / "cameras"),
                          cameras={"camera-1": camera})
    await wiring.start(None)
    app = FastAPI()
    problems.install(app)
    app.include_router(video.router)
    app.state.cameras = wiring
    auth = memory_auth(app)
    AUTH["Authorization"] = "Bearer " + account_token(auth, "supervisor")
    CLERK["Authorization"] = "Bearer " + account_token(auth, "A0101", Role.CLERK, window=1)
    COOKIES.update(account_session(auth, "supervisor"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and not task.done()
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Hall(app, f"http://127.0.0.1:{port}", wiring)
    finally:
        await video.close_streams(app)
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        await wiring.stop()
        await camera.close()
        await sim.stop()


ROUTES = ["/supervisor/video", "/api/cameras", "/api/cameras/camera-1/snapshot.jpg",
          "/api/cameras/camera-1/stream.mjpg", "/api/snapshots/2026-11-27/x.jpg"]


@pytest.mark.parametrize("path", ROUTES)
async def test_supervisor_only(hall: Hall, path: str) -> None:
    async with httpx.AsyncClient(base_url=hall.base, timeout=5) as client:
        anonymous = await client.get(path)
        assert anonymous.status_code == 401
        assert anonymous.json()["code"] == "unauthenticated"
        assert (await client.get(path, headers={"Authorization": "Bearer guess"})).status_code == 401
        wrong = await client.get(path, headers=CLERK)
        assert wrong.status_code == 403
        assert (await client.post("/api/cameras/camera-1/reference")).status_code == 401


async def read_parts(client: httpx.AsyncClient, n: int) -> tuple[str, list[bytes]]:
    """The first ``n`` JPEG parts of the stream."""
    parts: list[bytes] = []
    async with client.stream("GET", "/api/cameras/camera-1/stream.mjpg", headers=AUTH) as response:
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
        results = await asyncio.wait_for(asyncio.gather(*(read_parts(client, 6) for _ in range(3))), 20)
    for content_type, parts in results:
        assert content_type.startswith("multipart/x-mixed-replace")
        image = cv2.imdecode(np.frombuffer(parts[-1], np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape == (240, 320, 3)  # stream_width 320 limits the size
    broadcaster = hall.app.state.video_broadcasters["camera-1"]
    received = sum(len(parts) for _, parts in results)
    assert broadcaster.encoded < received  # 18 parts delivered, each frame encoded once
    await asyncio.sleep(0.3)
    assert broadcaster.subscribers == 0  # viewers that leave are dropped


async def test_stream_readable_by_videocapture(hall: Hall, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", f"headers;Authorization: {AUTH['Authorization']}\r\n")
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
    async with httpx.AsyncClient(base_url=hall.base, timeout=5, headers=AUTH) as client:
        shot = await client.get("/api/cameras/camera-1/snapshot.jpg")
        assert shot.status_code == 200 and shot.content[:2] == b"\xff\xd8"
        assert (await client.get("/api/cameras/nope/snapshot.jpg")).status_code == 404
        saved = await asyncio.to_thread(hall.wiring.snapshot, "camera-1", "absent")
        assert saved is not None
        evidence = await client.get(saved)
        assert evidence.status_code == 200 and evidence.headers["content-type"] == "image/jpeg"
        assert (await client.get("/api/snapshots/2026-11-27/missing.jpg")).status_code == 404
        assert (await client.get("/api/snapshots/..%2F..%2Fetc/passwd")).status_code == 404
        taken = await client.post("/api/cameras/camera-1/reference", params={"window": [1, 3]})
        assert taken.json() == {"camera": "camera-1", "windows": [1, 3]}
        listing = (await client.get("/api/cameras")).json()["cameras"]
        assert listing[0]["id"] == "camera-1" and listing[0]["windows"] == [1, 2, 3, 4]
        assert listing[0]["health"]["state"] == "ready"


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
@pytest.mark.timeout(90)
async def test_video_wall_displays_in_chromium(hall: Hall) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            anonymous = await browser.new_page()
            response = await anonymous.goto(f"{hall.base}/supervisor/video")
            assert response is not None and response.status == 401
            context = await browser.new_context()
            await context.add_cookies([{"name": k, "value": v, "url": hall.base} for k, v in COOKIES.items()])
            page = await context.new_page()
            response = await page.goto(f"{hall.base}/supervisor/video")
            assert response is not None and response.status == 200
            await page.wait_for_function(
                "() => { const i = document.querySelector('img[data-camera=\"camera-1\"]');"
                " return i && i.complete !== undefined && i.naturalWidth > 0; }",
                timeout=20_000,
            )
            size: Any = await page.evaluate(
                "() => { const i = document.querySelector('img[data-camera]');"
                " return [i.naturalWidth, i.naturalHeight]; }"
            )
            assert size == [320, 240]
            await context.close()
        finally:
            await browser.close()
