"""DeviceHost over a scripted QueuePort: claims first, events into wirings, health that survives an outage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.config import HallConfig
from server.devices.host import DeviceHost
from server.devices.manager import DeviceManager
from server.devices.remote import ServerUnreachable
from server.queue.events import Event, EventType
from server.store.devices import DeviceClaimed
from tests.support import until

pytestmark = pytest.mark.timeout(30)


class ScriptedPort:
    """The device-host half of QueuePort, with a switch that makes the server unreachable."""

    def __init__(self) -> None:
        self.down = False
        self.claims: list[tuple[str, list[str]]] = []
        self.health: list[tuple[str, dict[str, Any]]] = []
        self.published: list[tuple[str, tuple[str, ...], dict[str, Any]]] = []
        self.held = 0
        self.refuse: DeviceClaimed | None = None
        self.feed: asyncio.Queue[Event] = asyncio.Queue()

    def _check(self) -> None:
        if self.down:
            raise ServerUnreachable("无法连接", "down")

    async def events(self) -> AsyncIterator[Event]:
        while True:
            yield await self.feed.get()

    async def claim_devices(self, host: str, device_ids: list[str]) -> None:
        self._check()
        if self.refuse is not None:
            raise self.refuse
        self.claims.append((host, list(device_ids)))
        self.held = len(device_ids)

    async def heartbeat(self, host: str) -> int:
        self._check()
        return self.held

    async def report_health(self, device_id: str, health: dict[str, Any]) -> None:
        self._check()
        self.health.append((device_id, health))

    async def publish(self, type: EventType, topics: tuple[str, ...], payload: dict[str, Any]) -> None:
        self._check()
        self.published.append((str(type), topics, payload))


class Recorder:
    """A wiring that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def start(self, manager: DeviceManager) -> None:
        self.manager = manager

    async def on_event(self, event: Event) -> None:
        self.events.append(event)

    async def stop(self) -> None:
        pass


@pytest.fixture
def config(demo_config: HallConfig, hall_with: Any, printer_entries: list[dict[str, Any]]) -> HallConfig:
    return hall_with(demo_config, [{**p, "url": "socket://127.0.0.1:9"} for p in printer_entries])


async def test_claims_before_opening_and_a_refusal_opens_nothing(config: HallConfig) -> None:
    port = ScriptedPort()
    port.refuse = DeviceClaimed("printer-k1", "device:host/a", "box-a")
    host = DeviceHost(config, port, name="b")  # type: ignore[arg-type]
    with pytest.raises(DeviceClaimed, match="box-a"):
        await host.start()
    assert host.manager.devices == {} and not host.started
    await host.stop()


async def test_events_reach_wirings_and_health_waits_out_an_outage(config: HallConfig) -> None:
    port = ScriptedPort()
    recorder = Recorder()
    host = DeviceHost(config, port, name="box", wirings=[recorder], heartbeat_seconds=0.05)  # type: ignore[arg-type]
    await host.start()
    try:
        assert port.claims == [("box", ["printer-k1", "printer-k2"])]
        await until(lambda: {d for d, _ in port.health} == {"printer-k1", "printer-k2"})
        assert recorder.manager.queue is port  # wirings reach the queue through the port only

        ticket_event = Event.of(EventType.HALL_CHANGED, ("hall",), {}, seq=7, at="t")
        await port.feed.put(ticket_event)
        await port.feed.put(Event.of(EventType.DEVICE_HEALTH, ("devices",), {"device": {}}))  # skipped
        await until(lambda: recorder.events == [ticket_event])

        # the server goes away: reports queue up (the newest per device wins) and go out on return
        # ("ghost": an id the real printers' own reports cannot overtake)
        port.down = True
        reported = len(port.health)
        for state in ("fault", "offline", "ready"):
            host.manager.publish("device.health", ("devices",),  # type: ignore[misc]
                                 {"device": {"id": "ghost", "health": {"state": state}}})
        host.manager.publish("identity.session", ("kiosk:k1",), {"session": None})  # type: ignore[misc]
        await asyncio.sleep(0.1)
        assert len(port.health) == reported
        port.held = 0  # meanwhile the claims went stale on the server
        port.down = False
        await until(lambda: port.published == [("identity.session", ("kiosk:k1",), {"session": None})])
        late = [h["health"]["state"] for d, h in port.health[reported:] if d == "ghost"]
        assert late == ["ready"]
        await until(lambda: len(port.claims) == 2)  # the heartbeat noticed and claimed again
    finally:
        await host.stop()


def test_serve_restarts_a_dead_device_host_child_but_not_a_refused_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    from server.hosting import process

    codes = iter([1, process.CLAIMED_EXIT])
    started: list[int] = []

    def spawn(*_: Any) -> subprocess.Popen[bytes]:
        code = next(codes)
        started.append(code)
        return subprocess.Popen([sys.executable, "-c", f"raise SystemExit({code})"])

    monkeypatch.setattr(process, "spawn_host", spawn)
    child = process.HostChild("http://127.0.0.1:9", "hqd_x", None, {})
    try:
        child._watcher.join(10)  # crashed once → restarted; refused → left alone
        assert not child._watcher.is_alive() and started == [1, process.CLAIMED_EXIT] and child.restarts == 1
    finally:
        child.stop()
