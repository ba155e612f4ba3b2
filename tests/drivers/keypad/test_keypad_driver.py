"""The FF 68 bus driver against its simulator, over socket:// and a pty."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from drivers.contract import KeypadBus, KeypadEvent
from drivers.keypad.driver import Ff68Bus
from drivers.keypad.simulator import Ff68Simulator
from drivers.registry import build

OPTIONS = {"callers": {5: 5, 3: 3}, "evaluators": {105: 5, 103: 3}, "evaluator_model": "five_key"}


@pytest.fixture(params=["socket", "pty"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Ff68Simulator, Ff68Bus]]:
    sim = Ff68Simulator("keypads-bus1", {})
    url = await sim.start() if request.param == "socket" else await sim.start_pty()
    bus = build("keypads-bus1", "keypad_bus", "ff68", url, OPTIONS)
    await bus.open()
    assert await bus.wait_ready(3.0)
    assert await sim.wait_for(lambda s: s.state()["connected"], 3.0)
    yield sim, bus
    await bus.close()
    await sim.stop()


async def next_event(events: AsyncIterator[KeypadEvent]) -> KeypadEvent:
    return await asyncio.wait_for(anext(events), 2.0)


async def test_press_is_acknowledged_and_yielded(pair: tuple[Ff68Simulator, Ff68Bus]) -> None:
    sim, bus = pair
    assert isinstance(bus, KeypadBus)
    events = bus.events()
    waiter = asyncio.ensure_future(next_event(events))
    await asyncio.sleep(0)  # subscribe before pressing
    result = await sim.act("press", {"address": 5, "key": "call_next"})
    assert result == {"sent": True, "acked": True, "frame": "ff 68 03 03 68 05 01 0c 12 16", "refused": False}
    event = await waiter
    assert (event.address, event.kind, event.key) == (5, "caller", "call_next")
    assert sim.state()["acks"] == 1 and sim.state()["unacked"] == []


async def test_rating_uses_the_key_map(pair: tuple[Ff68Simulator, Ff68Bus]) -> None:
    sim, bus = pair
    events = bus.events()
    waiter = asyncio.ensure_future(next_event(events))
    await asyncio.sleep(0)
    await bus.start_evaluation(105)
    assert await sim.wait_for(lambda s: 105 in s.evaluating)
    assert (await sim.act("rate", {"address": 105, "value": 3}))["acked"]
    event = await waiter
    assert (event.kind, event.key, event.value) == ("evaluator", "rating", 2)  # value 3 = 不满意
    assert 105 not in sim.state()["evaluating"]


async def test_displays_and_beep(pair: tuple[Ff68Simulator, Ff68Bus]) -> None:
    sim, bus = pair
    await bus.show_ticket(5, 1)
    await bus.show_waiting(5, 12)
    await bus.beep(3)
    assert await sim.wait_for(lambda s: s.waiting.get(5) == "012" and s.beeps[3] == 1)
    assert sim.state()["displays"][5] == "001"


async def test_garbage_and_silence_faults(pair: tuple[Ff68Simulator, Ff68Bus]) -> None:
    sim, bus = pair
    events = bus.events()
    sim.inject("garbage")
    waiter = asyncio.ensure_future(next_event(events))
    await asyncio.sleep(0)
    assert (await sim.act("press", {"address": 3, "key": "no_show"}))["acked"]
    assert (await waiter).key == "no_show"
    sim.inject("silence")
    result = await sim.act("press", {"address": 3, "key": "recall", "wait": 0.2})
    assert result["acked"] is False and len(sim.state()["unacked"]) == 1
    assert bus.health.available  # noise on the bus never takes the driver down


async def test_repeated_unacked_press_counts_once() -> None:
    sim = Ff68Simulator("bus", {"repeat_unacked": True, "repeat_interval": 0.05, "max_repeats": 2})
    url = await sim.start()
    bus = Ff68Bus("bus", url, {**OPTIONS, "dedup_seconds": 2.0})  # generous: the machine may be loaded
    await bus.open()
    try:
        assert await sim.wait_for(lambda s: s.state()["connected"], 3.0)
        events = bus.events()
        waiter = asyncio.ensure_future(next_event(events))
        await asyncio.sleep(0)
        sim.inject("silence")  # ACKs are lost: the keypad sends the press again
        await sim.act("press", {"address": 5, "key": "recall", "wait": 0.3})
        sim.inject(None)
        assert (await waiter).key == "recall"
        for _ in range(100):  # first send + 2 repeats, all acknowledged by the host
            if bus.frames_in == 3:
                break
            await asyncio.sleep(0.02)
        assert bus.frames_in == 3 and sim.sent == 3
        more = asyncio.ensure_future(next_event(events))
        await asyncio.sleep(0.1)
        assert not more.done()  # the repeats were not new presses
        more.cancel()
    finally:
        await bus.close()
        await sim.stop()


async def test_unknown_model_is_a_config_error() -> None:
    from drivers.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        build("bus", "keypad_bus", "ff68", "socket://127.0.0.1:1", {"evaluator_model": "seven_key"})
    bus = Ff68Bus("bus", "socket://127.0.0.1:1", {"evaluator_model": "four_key", "key_maps": {"four_key": {0: 5}}})
    assert bus.key_map == {0: 5}
