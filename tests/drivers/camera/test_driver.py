"""The OpenCV driver against the camera simulator (HTTP MJPEG) and a video file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera.driver import OpenCvCamera
from drivers.camera.simulator import CameraSimulator
from drivers.contract import Camera
from drivers.errors import ConfigurationError
from drivers.health import DeviceState
from drivers.registry import build
from tests.support import until

FAST = {"fps": 10, "open_timeout": 3, "read_timeout": 2, "stale_after": 1}


def test_registry_builds_the_camera_with_options() -> None:
    options = {"fps": 5, "seats": {1: [1, 2, 3, 4]}}
    camera = build("camera-1", "camera", "opencv", "http://127.0.0.1:1/stream.mjpg", options)
    assert isinstance(camera, OpenCvCamera)
    assert isinstance(camera, Camera)
    assert camera.options.seats == {1: (1, 2, 3, 4)}
    with pytest.raises(ConfigurationError):
        build("camera-1", "camera", "opencv", "x", {"fps": -1})


@pytest.mark.parametrize("url", ["rtsp://10.0.0.31/stream1", "http://h/stream.mjpg", "usb:0", "0", "/tmp/a.mp4"])
def test_check_url_accepts_camera_sources(url: str) -> None:
    OpenCvCamera.check_url(url)


@pytest.mark.parametrize("url", ["socket://1.2.3.4:9", "relative.mp4", "ftp://x/y"])
def test_check_url_rejects_others(url: str) -> None:
    with pytest.raises(ConfigurationError):
        OpenCvCamera.check_url(url)


async def test_raw_videocapture_reads_the_simulator_stream() -> None:
    sim = CameraSimulator("camera-1", {"fps": 10})
    url = await sim.start()
    try:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 5000]
        cap = await asyncio.to_thread(cv2.VideoCapture, url, cv2.CAP_FFMPEG, params)
        try:
            assert cap.isOpened()
            ok, image = await asyncio.to_thread(cap.read)
            assert ok and image.shape == (480, 640, 3)
            assert float(image.std()) > 10  # a scene, not a blank frame
        finally:
            cap.release()
    finally:
        await sim.stop()


async def test_driver_keeps_the_newest_frame_and_reports_health() -> None:
    sim = CameraSimulator("camera-1", {"fps": 10})
    url = await sim.start()
    camera = OpenCvCamera("camera-1", url, {**FAST, "width": 320, "height": 240})
    seen: list[DeviceState] = []
    camera.tracker.listeners.append(lambda _id, health: seen.append(health.state))
    try:
        await camera.open()
        assert await camera.wait_ready(10)
        assert camera.health.state == DeviceState.READY
        first = camera.latest()
        assert first is not None and first.image.shape == (240, 320, 3)
        await until(lambda: (camera.latest() or first).index > first.index + 3)
        latest = camera.latest()
        assert latest is not None and latest.at >= first.at
        jpeg = camera.jpeg()
        assert jpeg is not None and jpeg[:2] == b"\xff\xd8"
    finally:
        await camera.close()
        await sim.stop()
    assert seen[:2] == [DeviceState.CONNECTING, DeviceState.READY]
    assert seen[-1] == DeviceState.CLOSED


@pytest.mark.parametrize("fault", ["silence", "drop"])
async def test_fault_takes_the_camera_offline_and_it_reconnects(fault: str) -> None:
    sim = CameraSimulator("camera-1", {"fps": 10})
    url = await sim.start()
    camera = OpenCvCamera("camera-1", url, FAST)
    try:
        await camera.open()
        assert await camera.wait_ready(10)
        sim.inject(fault)
        await until(lambda: camera.health.state == DeviceState.OFFLINE, 8)
        assert camera.health.faults in (("no_answer",), ("disconnected",))
        sim.inject(None)
        await until(lambda: camera.health.state == DeviceState.READY, 20)
    finally:
        await camera.close()
        await sim.stop()


async def test_unreachable_source_is_offline_not_a_crash() -> None:
    camera = OpenCvCamera("camera-9", "http://127.0.0.1:9/stream.mjpg", FAST)
    try:
        await camera.open()
        await until(lambda: camera.health.state == DeviceState.OFFLINE, 8)
        assert camera.latest() is None
    finally:
        await camera.close()
    assert camera.health.state == DeviceState.CLOSED


async def test_video_file_is_read_and_looped(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (160, 120))
    for i in range(5):
        writer.write(np.full((120, 160, 3), i * 40, np.uint8))
    writer.release()
    camera = OpenCvCamera("camera-f", str(path), {"fps": 20})
    try:
        await camera.open()
        assert await camera.wait_ready(5)
        await until(lambda: camera.frames_read > 8, 5)  # more frames than the file has: it loops
        frame = camera.latest()
        assert frame is not None and frame.image.shape == (120, 160, 3)
    finally:
        await camera.close()
