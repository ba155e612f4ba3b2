"""The SAM reader driver against the simulator, over socket:// and over a pty (real pyserial stack)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from drivers import registry
from drivers.contract import CardEvent, IdCardReader
from drivers.errors import ConfigurationError
from drivers.health import NO_ANSWER, SELF_TEST_FAILED, DeviceState
from drivers.idcard.driver import SamReader
from drivers.idcard.samples import SAMPLES
from drivers.idcard.simulator import SamSimulator
from tests.support import until

FAST = {"poll_interval": 0.02, "status_interval": 0.1, "reply_timeout": 0.25, "read_timeout": 0.4}


async def next_event(events: AsyncIterator[CardEvent], timeout: float = 5.0) -> CardEvent:
    return await asyncio.wait_for(anext(events), timeout)


async def quiet(events: Any, seconds: float = 0.3) -> list[CardEvent]:
    await asyncio.sleep(seconds)
    out = []
    while not events.queue.empty():
        out.append(events.queue.get_nowait())
    return out


@pytest.fixture(params=["socket", "pty"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[tuple[SamSimulator, SamReader]]:
    sim = SamSimulator("idcard-test", {"chunks": 3, "chunk_delay": 0.005})
    url = await sim.start() if request.param == "socket" else await sim.start_pty()
    reader = SamReader("idcard-test", url, FAST)
    await reader.open()
    try:
        assert await reader.wait_ready(5)
        yield sim, reader
    finally:
        await reader.close()
        await sim.stop()


def test_registry_builds_the_reader_with_validated_options() -> None:
    reader = registry.build("idcard-k1", "idcard_reader", "sam", "/dev/ttyUSB0", {"baudrate": 57600})
    assert isinstance(reader, SamReader) and isinstance(reader, IdCardReader)
    assert reader.serial_options()["baudrate"] == 57600
    assert SamReader("x", "socket://h:1").serial_options()["baudrate"] == 115200
    assert registry.simulator_class("sam") is SamSimulator
    with pytest.raises(ConfigurationError, match="idcard-k1"):
        registry.build("idcard-k1", "idcard_reader", "sam", "/dev/ttyUSB0", {"bogus": 1})


async def test_one_event_per_placement(rig: tuple[SamSimulator, SamReader]) -> None:
    sim, reader = rig
    events = reader.events()
    await sim.act("place_card", {"card": "elderly"})
    placed = await next_event(events)
    assert placed.kind == "placed" and placed.card == SAMPLES["elderly"]
    assert placed.card.photo == SAMPLES["elderly"].photo  # 1295 bytes in 3 chunks, photo intact
    await until(lambda: sim.requests["find"] >= 10)  # many polls while the card lies there …
    assert await quiet(events) == []  # … and still only one event
    assert sim.requests["read"] == 1
    await sim.act("remove_card", {})
    assert (await next_event(events)).kind == "removed"
    await sim.act("place_card", {"card": "young"})
    again = await next_event(events)
    assert again.kind == "placed" and again.card.id_number == SAMPLES["young"].id_number
    assert reader.reads == 2


async def test_chunked_replies_with_slow_chunks(rig: tuple[SamSimulator, SamReader]) -> None:
    sim, reader = rig
    sim.chunks, sim.chunk_delay = 7, 0.02
    events = reader.events()
    await sim.act("place_card", {"card": "permit_j"})
    event = await next_event(events)
    assert event.kind == "placed" and event.card == SAMPLES["permit_j"]


async def test_garbage_before_replies_is_skipped(rig: tuple[SamSimulator, SamReader]) -> None:
    sim, reader = rig
    events = reader.events()
    sim.inject("garbage")
    await sim.act("place_card", {"card": "foreigner_y"})
    event = await next_event(events)
    assert event.kind == "placed" and event.card == SAMPLES["foreigner_y"]
    assert reader.health.state == DeviceState.READY


@pytest.mark.parametrize("fault", ["read_failure", "bad_checksum", "truncated"])
async def test_failed_reads_are_reported_once_then_recover(rig: tuple[SamSimulator, SamReader], fault: str) -> None:
    sim, reader = rig
    events = reader.events()
    sim.inject(fault)
    await sim.act("place_card", {"card": "young"})
    failed = await next_event(events)
    assert failed.kind == "read_failed" and failed.card is None
    await until(lambda: sim.requests["read"] >= 3)  # it keeps trying …
    assert await quiet(events, 0.1) == []  # … without repeating the failure
    sim.inject(None)
    placed = await next_event(events)
    assert placed.kind == "placed" and placed.card == SAMPLES["young"]
    assert reader.health.state == DeviceState.READY


async def test_silence_makes_the_reader_offline_and_ends_the_placement(rig: tuple[SamSimulator, SamReader]) -> None:
    sim, reader = rig
    events = reader.events()
    await sim.act("place_card", {"card": "young"})
    assert (await next_event(events)).kind == "placed"
    sim.inject("silence")
    await until(lambda: reader.health.state == DeviceState.OFFLINE)
    assert reader.health.faults == (NO_ANSWER,)
    removed = await next_event(events)
    assert removed.kind == "removed" and removed.detail == "reader offline"
    sim.inject(None)
    await until(lambda: reader.health.state == DeviceState.READY)
    assert (await next_event(events)).kind == "placed"  # the card is still there: read again


async def test_self_test_failure_is_a_fault(rig: tuple[SamSimulator, SamReader]) -> None:
    sim, reader = rig
    sim.inject("self_test_failure")
    await until(lambda: reader.health.state == DeviceState.FAULT)
    assert reader.health.faults == (SELF_TEST_FAILED,)
    finds = sim.requests["find"]
    await asyncio.sleep(0.15)
    assert sim.requests["find"] == finds  # no card polling while the SAM is broken
    sim.inject(None)
    await until(lambda: reader.health.state == DeviceState.READY)


async def test_refresh_queries_the_status_at_once() -> None:
    sim = SamSimulator("idcard-test")
    url = await sim.start()
    reader = SamReader("idcard-test", url, {**FAST, "status_interval": 60})
    await reader.open()
    try:
        assert await reader.wait_ready(5)
        sim.inject("self_test_failure")
        await asyncio.sleep(0.1)
        assert reader.health.state == DeviceState.READY  # the next status query is a minute away
        await reader.refresh()
        assert reader.health.state == DeviceState.FAULT
    finally:
        await reader.close()
        await sim.stop()


async def test_self_test_failure_at_connect() -> None:
    sim = SamSimulator("idcard-test")
    sim.inject("self_test_failure")
    url = await sim.start()
    reader = SamReader("idcard-test", url, FAST)
    await reader.open()
    try:
        await until(lambda: reader.health.state == DeviceState.FAULT)
        sim.inject(None)
        await until(lambda: reader.health.state == DeviceState.READY)
    finally:
        await reader.close()
        await sim.stop()


async def test_silent_reader_at_connect_is_offline() -> None:
    sim = SamSimulator("idcard-test")
    sim.inject("silence")
    url = await sim.start()
    reader = SamReader("idcard-test", url, FAST)
    reader.backoff.initial = reader.backoff.maximum = 0.05
    await reader.open()
    try:
        await until(lambda: reader.health.state == DeviceState.OFFLINE)
        sim.inject(None)
        await until(lambda: reader.health.state == DeviceState.READY)
    finally:
        await reader.close()
        await sim.stop()


async def test_simulator_state_is_masked_and_faults_are_checked() -> None:
    sim = SamSimulator("idcard-test")
    state = await sim.act("place_card", {"card": "elderly"})
    assert state["card"]["masked_id"] == SAMPLES["elderly"].masked_id
    assert SAMPLES["elderly"].id_number not in repr(state) and SAMPLES["elderly"].name not in repr(state)
    with pytest.raises(ValueError):
        sim.inject("on_fire")
    with pytest.raises(ValueError):
        await sim.act("place_card", {"card": "nobody"})
    assert (await sim.act("remove_card", {}))["card"] is None
