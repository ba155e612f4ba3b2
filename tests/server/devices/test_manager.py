"""The device manager: validation, supervision, health publishing, wiring dispatch (printing: tests/server/kiosk)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from drivers.errors import ConfigurationError
from drivers.printer.escpos_driver import EscposPrinter
from server.config import HallConfig
from server.devices.manager import DeviceManager
from server.devices.validation import validate_devices

pytestmark = pytest.mark.timeout(60)

FAST = {"poll_interval": 0.05, "status_timeout": 0.3, "reconnect_max": 0.3}
Until = Callable[..., Awaitable[None]]
HallWith = Callable[[HallConfig, list[dict[str, Any]]], HallConfig]



def test_bad_entries_are_one_startup_error_naming_each_device(demo_config: HallConfig, hall_with: HallWith) -> None:
    devices: list[dict[str, Any]] = [
        {"id": "p-unknown", "kind": "ticket_printer", "driver": "nosuch", "url": "socket://h:9100"},
        {"id": "p-kind", "kind": "led_display", "driver": "escpos", "url": "socket://h:9100"},
        {"id": "p-url", "kind": "ticket_printer", "driver": "escpos", "url": "socket://no-port"},
        {"id": "p-scheme", "kind": "ticket_printer", "driver": "escpos", "url": "http://h/"},
        {"id": "p-options", "kind": "ticket_printer", "driver": "escpos", "url": "/dev/ttyUSB0",
         "options": {"paper_mm": 70}},
        {"id": "p-sim", "kind": "ticket_printer", "driver": "escpos", "url": "sim"},
        {"id": "p-ok", "kind": "ticket_printer", "driver": "escpos", "url": "socket://10.0.0.5:9100"},
    ]
    config = hall_with(demo_config, devices)
    with pytest.raises(ConfigurationError) as err:
        DeviceManager(config, None, demo=False, overrides={"ghost": "socket://h:1"}).validate()
    message = str(err.value)
    for device_id in ("p-unknown", "p-kind", "p-url", "p-scheme", "p-options", "p-sim", "ghost"):
        assert device_id in message, device_id
    assert "p-ok" not in message and "paper_mm" in message and "demo mode" in message
    # in demo mode "sim" is fine, and an override replaces a URL
    good = hall_with(demo_config, [devices[5], devices[6]])
    specs = validate_devices(good, overrides={"p-ok": "/dev/ttyS0"}, allow_sim=True)
    assert [(s.id, s.url) for s in specs] == [("p-sim", "sim"), ("p-ok", "/dev/ttyS0")]


async def test_demo_mode_starts_simulators_and_publishes_health(manager: DeviceManager, published: list[Any]) -> None:
    snapshot = manager.snapshot()
    assert [d["id"] for d in snapshot["devices"]] == ["printer-k1", "printer-k2"]
    k1, k2 = snapshot["devices"]
    assert k1["simulated"] and k1["url"].startswith("socket://127.0.0.1:") and k1["binding"] == {"kiosk": "k1"}
    assert k2["url"].startswith("/dev/pts/") and k2["health"]["state"] == "ready"
    assert set(manager.simulators) == {"printer-k1", "printer-k2"} and snapshot["unavailable"] == []
    types = {(t, topics) for t, topics, _ in published}
    assert types == {("device.health", ("devices",))}
    assert any(data["device"]["id"] == "printer-k2" and data["device"]["health"]["state"] == "ready"
               for _, _, data in published)


@pytest.mark.parametrize(
    ("fault", "state", "faults"),
    [
        ("paper_out", "fault", ["paper_out"]),
        ("paper_near_end", "ready", ["paper_near_end"]),
        ("cover_open", "fault", ["cover_open"]),
        ("silence", "offline", ["no_answer"]),
        ("drop", "offline", ["disconnected"]),
    ],
)
async def test_every_injected_fault_shows_in_the_snapshot_and_events(
    manager: DeviceManager, published: list[Any], fault: str, state: str, faults: list[str], until: Until
) -> None:
    published.clear()
    manager.simulators["printer-k1"].inject(fault)
    await manager.refresh("printer-k1")

    def k1() -> dict[str, Any]:
        return manager.snapshot()["devices"][0]["health"]

    await until(lambda: k1()["state"] == state and k1()["faults"] == faults)
    assert any(d["device"]["health"]["faults"] == faults for _, _, d in published)
    manager.simulators["printer-k1"].inject(None)
    await until(lambda: k1()["state"] == "ready" and k1()["faults"] == [], timeout=8)


async def test_a_device_that_fails_to_open_is_a_visible_fault(
    demo_config: HallConfig, monkeypatch: pytest.MonkeyPatch, hall_with: HallWith, until: Until,
    printer_entries: list[dict[str, Any]],
) -> None:
    async def broken_open(self: EscposPrinter) -> None:
        raise RuntimeError("port busy")

    monkeypatch.setattr(EscposPrinter, "open", broken_open)
    config = hall_with(demo_config, [{**printer_entries[0], "url": "socket://127.0.0.1:9", "options": FAST}])
    m = DeviceManager(config, None, demo=False)
    await m.start()
    try:
        await until(lambda: m.snapshot()["devices"][0]["health"]["faults"] == ["open_failed"])
        entry = m.snapshot()["devices"][0]
        assert entry["health"]["state"] == "offline" and "port busy" in entry["health"]["detail"]
    finally:
        await m.stop()


async def test_unreachable_printer_is_offline_not_a_crash(
    demo_config: HallConfig, hall_with: HallWith, until: Until, printer_entries: list[dict[str, Any]]
) -> None:
    config = hall_with(demo_config, [{**printer_entries[0], "url": "socket://127.0.0.1:9", "options": FAST}])
    m = DeviceManager(config, None, demo=False)
    await m.start()
    try:
        await until(lambda: m.snapshot()["devices"][0]["health"]["state"] == "offline")
        assert m.snapshot()["unavailable"] == ["printer-k1"]
    finally:
        await m.stop()


class Recorder:
    """A wiring that records what it receives (or fails on purpose)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.events: list[dict[str, Any]] = []
        self.started: DeviceManager | None = None
        self.stopped = False

    async def start(self, manager: DeviceManager) -> None:
        self.started = manager

    async def on_event(self, event: dict[str, Any]) -> None:
        if self.fail:
            raise RuntimeError("wiring bug")
        self.events.append(event)

    async def stop(self) -> None:
        self.stopped = True


async def test_queue_events_reach_every_wiring_and_failures_are_contained(
    demo_config: HallConfig, hall_with: HallWith, until: Until
) -> None:
    m = DeviceManager(hall_with(demo_config, []), None, demo=True)
    good, bad = Recorder(), Recorder(fail=True)
    m.add_wiring(bad)
    await m.start()
    m.add_wiring(good)  # added after start: started at once
    await until(lambda: good.started is m)
    event = {"type": "ticket.called", "seq": 3, "topics": ["hall", "window:1"], "data": {}}
    await m.on_queue_event(event)
    await m.on_queue_event({"type": "device.health", "topics": ["devices"], "data": {}})  # its own echo
    assert good.events == [event] and bad.started is m
    await m.stop()
    assert good.stopped and bad.stopped
