"""The camera simulator: HTTP routes, actions, faults, the simulated clock, one encoder for all viewers."""

from __future__ import annotations

import asyncio

import cv2
import httpx
import numpy as np
import pytest

from drivers.camera.broadcast import JpegBroadcaster
from drivers.camera.simulator import CameraSimulator, SimClock
from drivers.errors import ConfigurationError
from tests.support import until


def test_sim_clock_runs_faster_and_jumps() -> None:
    now = [100.0]
    clock = SimClock(speed=60, real=lambda: now[0])
    now[0] += 2
    assert clock.now() == pytest.approx(120)
    clock.advance(30)
    assert clock.now() == pytest.approx(150)
    clock.set_speed(1)
    now[0] += 2
    assert clock.now() == pytest.approx(152)


async def test_routes_state_and_snapshot() -> None:
    sim = CameraSimulator("camera-1", {"scenario": "absence"})
    url = await sim.start()
    base = url.rsplit("/", 1)[0]
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            state = (await client.get(f"{base}/state")).json()
            assert state["scenario"] == "absence" and state["truth"]["waiting"] == 3
            shot = await client.get(f"{base}/snapshot.jpg")
            assert shot.headers["content-type"] == "image/jpeg"
            image = cv2.imdecode(np.frombuffer(shot.content, np.uint8), cv2.IMREAD_COLOR)
            assert image is not None and image.shape == (480, 640, 3)
            assert (await client.get(f"{base}/nope")).status_code == 404
    finally:
        await sim.stop()


async def test_actions_change_the_ground_truth() -> None:
    sim = CameraSimulator("camera-1", {"scenario": "absence"})
    state = await sim.act("clock", {"set": 100})
    assert state["truth"]["seat_empty"]["2"] is True  # away 30..330
    state = await sim.act("clerk", {"window": 2, "present": True})
    assert state["truth"]["seat_empty"]["2"] is False
    state = await sim.act("clerk", {"window": 1, "present": False})
    assert state["truth"]["seat_empty"]["1"] is True
    state = await sim.act("crowd", {"count": 7})
    assert state["truth"]["waiting"] == 7
    state = await sim.act("scenario", {"name": "empty"})
    assert state["scenario"] == "empty" and state["t"] < 5
    state = await sim.act("scenario", {"spec": {"name": "mine", "crowd": [[0, 2], [10, 4]]}, "at": 12})
    assert state["truth"]["waiting"] == 4
    with pytest.raises(ValueError):
        await sim.act("dance", {})
    with pytest.raises(ValueError):
        sim.inject("fire")
    with pytest.raises(ConfigurationError):
        await sim.start_pty()


async def test_one_encoder_for_many_viewers() -> None:
    counter = {"n": 0}
    image = np.zeros((48, 64, 3), np.uint8)

    def source() -> tuple[object, np.ndarray]:
        counter["n"] += 1
        return counter["n"], image

    broadcaster = JpegBroadcaster(source, fps=50)
    received = [0, 0, 0]

    async def viewer(k: int) -> None:
        async for jpeg in broadcaster.frames():
            assert jpeg[:2] == b"\xff\xd8"
            received[k] += 1
            if received[k] >= 10:
                return

    await asyncio.wait_for(asyncio.gather(*(viewer(k) for k in range(3))), 10)
    # three viewers, each got ≥ 10 frames, but frames were encoded once for all of them
    assert sum(received) >= 30
    assert broadcaster.encoded <= max(received) + 2
    await until(lambda: broadcaster.subscribers == 0, message="viewers that left are still attached")
    await broadcaster.close()


async def test_unchanged_frames_are_not_re_encoded() -> None:
    image = np.zeros((48, 64, 3), np.uint8)
    polled = 0

    def source() -> tuple[object, np.ndarray]:
        nonlocal polled
        polled += 1
        return 1, image  # the same key every time: no new frame

    broadcaster = JpegBroadcaster(source, fps=50)
    frames = broadcaster.frames()
    assert (await asyncio.wait_for(anext(frames), 5))[:2] == b"\xff\xd8"
    # a viewer stays attached while the encoder polls the unchanged source four more times
    await until(lambda: polled >= 5, message="the encoder stopped polling")
    assert broadcaster.encoded == 1
    await frames.aclose()
    await broadcaster.close()
