"""Per-address keypad models through the production wiring: the meaning stored is the configured one.

The store, HallService, the DeviceManager and the keypad wiring as in production; the FF 68
bus simulator on a socket (``url: sim``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from drivers.keypad.driver import REJECTED_ENTRIES, UNMAPPED_VALUES
from server.config import DeviceConfig, HallConfig
from server.devices.manager import DeviceManager
from server.devices.port import InProcessQueue
from server.hall.hub import Hub
from server.hall.service import HallService
from server.store import QueueStore
from server.windows import window_wirings
from tests.support import until

# one bus, two evaluator models: window 3 has a 4-key evaluator, window 5 a 5-key one
KEYPADS = {
    "callers": {3: 3, 5: 5},
    "evaluators": {103: {"window": 3, "model": "four_key"}, 105: {"window": 5, "model": "five_key"}},
    "dedup_seconds": 0,
}


@pytest.fixture
async def rig(tmp_path: Path, demo_config: HallConfig) -> AsyncIterator[tuple[HallService, DeviceManager, Any]]:
    devices = [DeviceConfig(id="keypads-bus1", kind="keypad_bus", driver="ff68", url="sim", options=KEYPADS)]
    config = demo_config.model_copy(update={"devices": devices})
    store = QueueStore(f"sqlite:///{tmp_path / 'hall.db'}", config)
    store.migrate()
    hub = Hub()
    hall = HallService(store, hub, poll_seconds=0)
    await hall.startup()
    hub.start()
    port = InProcessQueue(hall, hub, store=store)
    manager = DeviceManager(config, port, hub.publish_ephemeral, demo=True)
    for wiring in window_wirings(port):
        manager.add_wiring(wiring)
    await manager.start()
    hub.add_handler(manager.on_queue_event)
    assert await manager.devices["keypads-bus1"].wait_ready(5.0)
    try:
        yield hall, manager, manager.simulators["keypads-bus1"]
    finally:
        await hub.stop()
        await manager.stop()
        await hall.shutdown()
        store.close()


async def served_and_finished(hall: HallService, sim: Any, window: int, evaluator: int) -> int:
    """Serve one ticket at ``window`` with its caller keypad; returns its id once rating is due."""
    service = {3: "general", 5: "social"}[window]  # what the demo hall's window serves
    await hall.open_window(window)
    ticket = await hall.issue(service)
    await hall.issue(service)
    assert (await sim.act("press", {"address": window, "key": "call_next"}))["acked"]
    assert await sim.wait_for(lambda s: s.displays.get(window) == "001", 5.0), sim.state()
    assert (await sim.act("press", {"address": window, "key": "call_next"}))["acked"]  # finishes the first
    assert await sim.wait_for(lambda s: evaluator in s.evaluating, 5.0)
    return int(ticket["id"])


async def test_mixed_bus_stores_each_evaluators_meaning(rig: tuple[HallService, DeviceManager, Any]) -> None:
    hall, _manager, sim = rig
    four = await served_and_finished(hall, sim, 3, 103)
    assert (await sim.act("rate", {"address": 103, "value": 3}))["acked"]  # 4-key: 3 = 非常满意
    five = await served_and_finished(hall, sim, 5, 105)
    assert (await sim.act("rate", {"address": 105, "value": 3}))["acked"]  # 5-key: 3 = 不满意

    async def rated() -> bool:
        return (await hall.get_ticket(four))["rating"] == 5 and (await hall.get_ticket(five))["rating"] == 2

    await until(rated)


async def test_unmapped_value_beeps_counts_and_stores_nothing(rig: tuple[HallService, DeviceManager, Any]) -> None:
    hall, manager, sim = rig
    ticket = await served_and_finished(hall, sim, 3, 103)
    result = await sim.act("rate", {"address": 103, "value": 4})  # a 4-key evaluator has no value 4
    assert result["refused"] and sim.beeps[103] == 1
    health = manager.health(manager.devices["keypads-bus1"]).to_dict()
    assert health["counters"] == {UNMAPPED_VALUES: 1} and health["available"]
    assert (await hall.get_ticket(ticket))["rating"] is None
    assert (await hall.rating_due(3))["id"] == ticket  # type: ignore[index]  # the citizen can still rate


async def test_two_digits_and_ok_do_not_suspend(rig: tuple[HallService, DeviceManager, Any]) -> None:
    hall, manager, sim = rig
    await hall.open_window(3)
    ticket = await hall.issue("general")
    assert (await sim.act("press", {"address": 3, "key": "call_next"}))["acked"]
    assert await sim.wait_for(lambda s: s.displays.get(3) == "001", 5.0)
    assert (await sim.act("enter", {"address": 3, "digits": "10"}))["refused"]  # not "0 OK" (挂起)
    assert (await sim.act("enter", {"address": 3, "digits": "06"}))["refused"]  # not "6 OK" (弃号)
    current = (await hall.window(3))["current"]
    assert current["id"] == ticket["id"] and current["state"] == "called"
    assert manager.health(manager.devices["keypads-bus1"]).counters[REJECTED_ENTRIES] == 2
