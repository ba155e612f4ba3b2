"""A device host in its own process follows the live configuration over the API and ``/ws`` (``ConfigWiring``)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from server.config import HallConfig
from server.config_live.follow import ConfigWiring
from server.devices.remote import RemoteQueue
from tests.support import DEMO_DEVICE_HOST, make_app, until
from tests.support.serving import free_port, serving

pytestmark = pytest.mark.timeout(90)
HOST_TOKEN = DEMO_DEVICE_HOST["Authorization"].removeprefix("Bearer ")


async def test_a_remote_host_takes_the_stored_config_and_follows_each_change(hall_config: HallConfig,
                                                                            tmp_path: Path) -> None:
    app = make_app(tmp_path, hall_config, device_host="external", event_poll_seconds=0.05)
    async with serving(app, free_port()) as base, httpx.AsyncClient(base_url=base, timeout=10) as http:
        token = (await http.post("/api/auth/token", data={"username": "admin", "password": "admin-demo"})).json()
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        r = await http.patch("/api/config", json={"expected_version": 1, "patch": {
            "bulletin": {"supervision_phone": "0571-11111111"}}})
        assert r.status_code == 200, r.text
        port = RemoteQueue(base, HOST_TOKEN, label="kiosk-pc-1")
        yaml_config = hall_config  # what `hallq devices --config hall.yaml` starts with
        manager = SimpleNamespace(config=yaml_config)
        wiring = ConfigWiring(port)
        await wiring.start(manager)  # type: ignore[arg-type]
        assert wiring.version == 2 and manager.config.bulletin.supervision_phone == "0571-11111111"
        assert manager.config.server == yaml_config.server  # its own server settings stay

        async def pump() -> None:
            async for event in port.events():
                await wiring.on_event(event)

        task = asyncio.get_running_loop().create_task(pump())
        try:
            await until(lambda: port.online, 10)
            r = await http.patch("/api/config", json={"expected_version": 2, "patch": {
                "bulletin": {"supervision_phone": "12345"}}})
            assert r.status_code == 200, r.text
            await until(lambda: manager.config.bulletin.supervision_phone == "12345", 10)
            assert wiring.version == 3
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            await port.aclose()
        # the device token reads the host view only: no database URL, no admin API
        async with httpx.AsyncClient(base_url=base, headers=DEMO_DEVICE_HOST) as device:
            host_view: Any = (await device.get("/api/config/host")).json()
            assert host_view["config"]["server"]["database_url"] == ""
            assert (await device.get("/api/config")).status_code == 403
