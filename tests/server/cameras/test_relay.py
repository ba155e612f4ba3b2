"""Live video across processes: a web worker without cameras shows the device host's through its relay.

The device side is a CameraService over the camera simulator (as ``hallq devices`` runs it)
with its CameraRelay on loopback; the web side is the production app with
``device_host=external`` (a ``hallq serve --workers N`` worker), served by uvicorn.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from drivers.camera.driver import OpenCvCamera
from drivers.camera.options import DEFAULT_SEATS, DEFAULT_WAITING_AREA
from drivers.camera.simulator import CameraSimulator
from server.cameras.relay import KEY_HEADER, CameraRelay, read_relay, relay_file
from server.cameras.service import CameraService
from server.cameras.wiring import CameraWiring, CameraWiringOptions
from server.errors import Unavailable
from tests.server.api.test_video import bearer, camera_config, read_parts, serve
from tests.support import make_app, until


@pytest.fixture
async def device_host(tmp_path: Path) -> AsyncIterator[CameraRelay]:
    """The device host's half: simulator → driver → CameraService → relay (writes var/camera-relay.json)."""
    sim = CameraSimulator("camera-1", {"fps": 10})
    url = await sim.start()
    camera = OpenCvCamera("camera-1", url, {"fps": 10, "seats": DEFAULT_SEATS, "waiting_area": DEFAULT_WAITING_AREA,
                                            "stream_width": 320, "occupancy": "off"})
    await camera.open()
    assert await camera.wait_ready(10)
    wiring = CameraWiring(CameraWiringOptions(tmp_path / "snapshots", tmp_path / "cameras"))
    wiring.add_camera("camera-1", camera)
    relay = CameraRelay(CameraService(wiring), tmp_path / "var" / "camera-relay.json")
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()
        await camera.close()
        await sim.stop()


async def test_a_web_worker_streams_the_device_hosts_camera(tmp_path: Path, device_host: CameraRelay) -> None:
    config = camera_config(tmp_path)
    config = config.model_copy(update={"server": config.server.model_copy(
        update={"secret_path": str(tmp_path / "var" / "secret.key")})})
    assert relay_file(config) == device_host.file
    assert device_host.file.stat().st_mode & 0o777 == 0o600  # it holds the relay's key
    app = make_app(tmp_path, config, demo=True, device_host="external")
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        supervisor = await bearer(client, "supervisor")
        assert app.state.services.devices is None and not app.state.services.cameras.wiring.units
        answer = (await client.get("/api/cameras", headers=supervisor)).json()
        assert answer["elsewhere"] is False
        assert [c["id"] for c in answer["cameras"]] == ["camera-1"]
        assert answer["cameras"][0]["health"]["state"] == "ready"
        content_type, parts = await asyncio.wait_for(read_parts(client, supervisor, 3), 20)
        assert content_type == "multipart/x-mixed-replace; boundary=frame" and len(parts) == 3
        shot = await client.get("/api/cameras/camera-1/snapshot.jpg", headers=supervisor)
        assert shot.status_code == 200 and shot.content[:2] == b"\xff\xd8"
        missing = await client.get("/api/cameras/nope/stream.mjpg", headers=supervisor)
        assert missing.status_code == 404 and missing.json()["code"] == "unknown_camera"
        # the relay's encoder is shared and released when the worker's viewer leaves
        broadcaster = device_host.cameras.broadcasters["camera-1"]
        await until(lambda: broadcaster.subscribers == 0, 10, "the relayed viewer was not released")

        await device_host.stop()  # the device host goes away: the wall says where video comes from
        assert read_relay(device_host.file) is None
        answer = (await client.get("/api/cameras", headers=supervisor)).json()
        assert answer == {"cameras": [], "elsewhere": True}
        gone = await client.get("/api/cameras/camera-1/stream.mjpg", headers=supervisor)
        assert gone.status_code == 404  # no relay file: this worker knows no camera-1


async def test_the_relay_wants_its_key(device_host: CameraRelay) -> None:
    async with httpx.AsyncClient(base_url=device_host.url, timeout=5) as client:
        assert (await client.get("/cameras")).status_code == 403
        assert (await client.get("/cameras", headers={KEY_HEADER: "guess"})).status_code == 403
        listing = await client.get("/cameras", headers={KEY_HEADER: device_host.key})
        assert listing.status_code == 200 and listing.json()["cameras"][0]["id"] == "camera-1"
        assert (await client.get("/other", headers={KEY_HEADER: device_host.key})).status_code == 404


async def test_a_dead_relay_is_a_503_not_a_crash(tmp_path: Path, device_host: CameraRelay) -> None:
    service = CameraService(CameraWiring(CameraWiringOptions(tmp_path / "s", tmp_path / "c")),
                            relay_file=device_host.file)
    assert [c["id"] for c in await service.listing()] == ["camera-1"]
    device_host.file.write_text('{"url": "http://127.0.0.1:9", "key": "x"}')  # nobody listens on port 9
    with pytest.raises(Unavailable) as raised:
        await service.snapshot("camera-1")
    assert raised.value.code == "camera_unavailable" and raised.value.status == 503
    await service.close()


@pytest.mark.timeout(90)
async def test_hallq_devices_relays_its_cameras_to_the_web_workers(tmp_path: Path) -> None:
    """``run_devices`` (the body of ``hallq devices``) against a worker app: the wall's API streams its camera."""
    from server.hosting.process import mint_host_token, run_devices

    sim = CameraSimulator("camera-1", {"fps": 10})
    sim_url = await sim.start()
    config = camera_config(tmp_path)
    config = config.model_copy(update={"server": config.server.model_copy(
        update={"secret_path": str(tmp_path / "var" / "secret.key")})})
    app = make_app(tmp_path, config, demo=True, device_host="external")
    try:
        async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
            _, token = await asyncio.to_thread(mint_host_token, f"sqlite:///{tmp_path / 'hall.db'}", config)
            stop = asyncio.Event()
            host = asyncio.create_task(run_devices(config, base, token, overrides={"camera-1": sim_url},
                                                   heartbeat_seconds=1, stop=stop))
            await until(lambda: read_relay(relay_file(config)) or host.done(), 30, "no relay was published")
            assert not host.done()
            supervisor = await bearer(client, "supervisor")

            async def ready() -> bool:
                cameras = (await client.get("/api/cameras", headers=supervisor)).json()["cameras"]
                return bool(cameras) and cameras[0]["health"]["state"] == "ready"

            await until(ready, 20, "the device host's camera never showed up ready")
            _, parts = await asyncio.wait_for(read_parts(client, supervisor, 3), 20)
            assert all(p[:2] == b"\xff\xd8" for p in parts)
            stop.set()
            assert await asyncio.wait_for(host, 20) == 0
            assert read_relay(relay_file(config)) is None  # withdrawn on a clean stop
    finally:
        await sim.stop()
