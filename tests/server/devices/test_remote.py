"""RemoteQueue and DeviceHost against a real server (create_app as built, uvicorn, /ws, device token)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from server.config import DeviceConfig, HallConfig
from server.devices.host import DeviceHost
from server.devices.remote import RemoteQueue, ServerUnreachable
from server.queue.events import Event, EventType
from server.store import QueueStore
from server.store.devices import DeviceClaimed
from tests.support import DEMO_DEVICE_HOST, account_token, make_app, until
from tests.support.serving import free_port, serving

pytestmark = pytest.mark.timeout(90)
HOST_TOKEN = DEMO_DEVICE_HOST["Authorization"].removeprefix("Bearer ")
SUPERVISOR: dict[str, str] = {}


def _hall(demo_config: HallConfig) -> HallConfig:
    # a device nobody can open: these tests are about claims and events, not bytes
    printer = DeviceConfig(id="printer-k1", kind="ticket_printer", driver="escpos", url="socket://127.0.0.1:9",
                           kiosk="k1", options={"reconnect_max": 0.2})
    return demo_config.model_copy(update={"devices": [printer]})


def _app(tmp_path: Path, config: HallConfig) -> Any:
    async def sign_in(services: Any) -> None:
        SUPERVISOR["Authorization"] = "Bearer " + account_token(services.auth, "supervisor")

    return make_app(tmp_path, config, device_host="external", device_stale_seconds=1.0,
                    event_poll_seconds=0.05, on_startup=[sign_in])


async def test_a_second_host_claiming_a_device_is_refused_with_the_first_hosts_name(
    demo_config: HallConfig, tmp_path: Path,
) -> None:
    config = _hall(demo_config)
    async with serving(_app(tmp_path, config), free_port()) as base:
        first = RemoteQueue(base, HOST_TOKEN, label="kiosk-pc-1")
        second = RemoteQueue(base, HOST_TOKEN, label="spare-box")
        host = DeviceHost(config, first, name="kiosk-pc-1", heartbeat_seconds=0.2)
        other = DeviceHost(config, second, name="spare-box", heartbeat_seconds=0.2)
        try:
            await host.start()
            with pytest.raises(DeviceClaimed) as refused:
                await other.start()
            assert "kiosk-pc-1" in refused.value.en and "printer-k1" in refused.value.en
            assert other.manager.devices == {}  # it opened nothing
            # the same refusal over plain HTTP: 409 with a stable code, naming the holder
            async with httpx.AsyncClient(base_url=base, headers=DEMO_DEVICE_HOST) as client:
                answer = await client.post("/api/devices/claims", json={"host": "third", "devices": ["printer-k1"]})
                assert answer.status_code == 409 and answer.json()["code"] == "device_claimed"
                assert "kiosk-pc-1" in answer.json()["en"]
                listed = (await client.get("/api/devices", headers=SUPERVISOR)).json()
                assert listed["devices"][0]["host"] == "kiosk-pc-1" and listed["devices"][0]["host_online"]
                # the first host reports health through the API; any worker answers from the store
                await until(lambda: host.manager.entry("printer-k1")["health"]["state"] in ("offline", "connecting"))
        finally:
            await other.stop()
            await host.stop()
            await first.aclose()
            await second.aclose()
        async with httpx.AsyncClient(base_url=base, headers=DEMO_DEVICE_HOST) as client:
            # a clean stop releases the claims: another host may take the device now
            answer = await client.post("/api/devices/claims", json={"host": "third", "devices": ["printer-k1"]})
            assert answer.status_code == 200, answer.text


async def test_a_silent_host_shows_offline_on_the_kiosk_topic(demo_config: HallConfig, tmp_path: Path) -> None:
    config = _hall(demo_config)
    async with serving(_app(tmp_path, config), free_port()) as base:
        async with httpx.AsyncClient(base_url=base, headers=DEMO_DEVICE_HOST) as client:
            claimed = await client.post("/api/devices/claims", json={"host": "box", "label": "box",
                                                                      "devices": ["printer-k1"]})
            assert claimed.status_code == 200, claimed.text
        url = base.replace("http://", "ws://") + "/ws"
        async with websockets.connect(url, additional_headers={"Authorization": "Bearer hqd_demo-kiosk-k1"}) as ws:
            await ws.send(json.dumps({"op": "subscribe", "topics": ["kiosk:k1"]}))
            seen: list[dict[str, Any]] = []
            async with asyncio.timeout(10):
                while not any(m.get("type") == "device.host" and not m["data"]["host"]["online"] for m in seen):
                    seen.append(json.loads(await ws.recv()))
            [offline] = [m for m in seen if m.get("type") == "device.host" and not m["data"]["host"]["online"]]
            assert offline["data"]["host"]["label"] == "box" and offline["data"]["host"]["devices"] == ["printer-k1"]
        # what the kiosk page reads when it (re)connects
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": "Bearer hqd_demo-kiosk-k1"}) as kiosk:
            state = (await kiosk.get("/api/kiosks/k1/devices")).json()
            assert state["host"]["online"] is False and state["devices"] == [
                {"id": "printer-k1", "kind": "ticket_printer", "available": False}]
            assert (await kiosk.get("/api/kiosks/k2/devices")).status_code == 403  # its own kiosk only


async def test_events_resume_after_a_server_restart_without_loss_or_repeat(
    demo_config: HallConfig, tmp_path: Path,
) -> None:
    config = _hall(demo_config)
    port = free_port()
    remote = RemoteQueue(f"http://127.0.0.1:{port}", HOST_TOKEN, label="box")
    got: list[Event] = []

    async def follow() -> None:
        async for event in remote.events():
            if event.type is EventType.TICKET_ISSUED:
                got.append(event)

    follower: asyncio.Task[None] | None = None
    try:
        app = _app(tmp_path, config)
        async with serving(app, port):
            follower = asyncio.get_running_loop().create_task(follow())
            await until(lambda: remote.online, 10)
            first = await app.state.services.hall.issue("general", channel="staff", actor="test")
            await until(lambda: len(got) == 1, 10)
        # the server is down: the host keeps going, calls fail clearly, events wait in the log
        with pytest.raises(ServerUnreachable):
            await remote.window(1)
        await until(lambda: not remote.online, 10)
        store = QueueStore(f"sqlite:///{tmp_path / 'hall.db'}", config)
        missed = [store.issue("general", channel="staff", actor="test").value for _ in range(3)]
        store.close()
        async with serving(_app(tmp_path, config), port) as base:
            await until(lambda: len(got) == 4, 15)
            async with httpx.AsyncClient(base_url=base, headers=SUPERVISOR) as client:
                answer = await client.post("/api/tickets", json={"service": "general", "channel": "staff"})
                assert answer.status_code == 201, answer.text
            await until(lambda: len(got) == 5, 10)
        numbers = [e.ticket.number for e in got if e.ticket is not None]
        first_number = getattr(first, "ticket", first)
        first_number = first_number["number"] if isinstance(first_number, dict) else first_number.number
        assert numbers[:4] == [first_number, *[getattr(m, "ticket", m).number for m in missed]]
        assert len(set(numbers)) == 5 and remote.connects == 2
        seqs = [e.seq for e in got]
        assert seqs == sorted(seqs)
    finally:
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
        await remote.aclose()
