"""Per-address evaluator and caller models on one FF 68 bus, over socket:// and a pty."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.contract import KeypadEvent
from drivers.errors import ConfigurationError
from drivers.keypad import codec
from drivers.keypad.driver import REJECTED_ENTRIES, REJECTED_FRAMES, UNMAPPED_VALUES, Ff68Bus
from drivers.keypad.options import Ff68Options
from drivers.keypad.simulator import Ff68Simulator
from drivers.registry import build

# A mixed bus: a 4-key and a 5-key evaluator, a standard and a numeric caller, a vendor key code.
OPTIONS = {
    "callers": {1: {"window": 1}, 2: {"window": 2, "model": "numeric", "keys": {0x21: "call_next"}}},
    "evaluators": {101: {"window": 1, "model": "four_key"}, 102: {"window": 2, "model": "five_key"},
                   103: {"window": 3, "map": {7: 5}}},
}  # fmt: skip


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


async def test_options_normalise_to_address_window() -> None:
    bus = Ff68Bus("bus", "socket://127.0.0.1:1", OPTIONS)
    assert bus.options.callers == {1: 1, 2: 2} and bus.options.evaluators == {101: 1, 102: 2, 103: 3}
    assert bus.options.evaluator_map(101) == {0: 2, 1: 3, 2: 4, 3: 5}  # the public host's 4-key order
    assert bus.options.evaluator_map(103) == {7: 5}
    old = Ff68Bus("bus", "socket://127.0.0.1:1", {"evaluators": {105: 5}, "evaluator_model": "three_key"})
    assert old.options.evaluators == {105: 5} and old.options.evaluator_map(105) == {0: 2, 1: 3, 2: 4}
    again = Ff68Bus("bus", "socket://127.0.0.1:1", bus.options.model_dump())  # a dump validates again
    assert again.options.evaluator_specs == bus.options.evaluator_specs
    for bad in ({"evaluators": {1: {"window": 1, "model": "seven_key"}}}, {"callers": {1: {"window": 1, "model": "x"}}},
                {"callers": {1: {"window": 1, "keys": {0x21: "explode"}}}}, {"baudrate": 12345}):  # fmt: skip
        with pytest.raises(ConfigurationError):
            build("bus", "keypad_bus", "ff68", "socket://127.0.0.1:1", bad)


async def test_mixed_bus_stores_each_models_meaning(pair: tuple[Ff68Simulator, Ff68Bus]) -> None:
    sim, bus = pair
    events = bus.events()
    assert (await sim.act("rate", {"address": 101, "value": 3}))["acked"]  # 4-key: 3 = 非常满意
    assert (await next_event(events)).value == 5
    assert (await sim.act("rate", {"address": 102, "value": 3}))["acked"]  # 5-key: 3 = 不满意
    assert (await next_event(events)).value == 2
    assert (await sim.act("rate", {"address": 103, "value": 7}))["acked"]  # its own map
    assert (await next_event(events)).value == 5


async def test_unmapped_value_beeps_and_shows_in_health(pair: tuple[Ff68Simulator, Ff68Bus]) -> None:
    sim, bus = pair
    events = bus.events()
    result = await sim.act("rate", {"address": 101, "value": 4})  # a 4-key evaluator has no value 4
    assert result["acked"] is False and result["refused"] is True
    assert sim.beeps[101] == 1
    assert bus.health.counters[UNMAPPED_VALUES] == 1
    assert bus.health.to_dict()["counters"] == {UNMAPPED_VALUES: 1}
    assert (await sim.act("rate", {"address": 101, "value": 0}))["acked"]  # the bus goes on
    assert (await next_event(events)).value == 2  # the refused value produced no event


async def test_two_digits_then_ok_does_not_suspend(pair: tuple[Ff68Simulator, Ff68Bus]) -> None:
    sim, bus = pair
    events = bus.events()
    result = await sim.act("enter", {"address": 1, "digits": "10"})  # 01 00 0F: not "0 OK" (挂起)
    assert result["refused"] and sim.beeps[1] == 1
    assert (await sim.act("enter", {"address": 1, "digits": "06"}))["refused"]  # not 弃号 either
    assert bus.health.counters[REJECTED_ENTRIES] == 2
    assert (await sim.act("enter", {"address": 1, "digits": "0"}))["acked"]  # exactly one digit: suspend
    assert (await next_event(events)).key == "suspend"


async def test_numeric_caller_calls_a_number_and_has_its_own_key_codes(pair: tuple[Ff68Simulator, Ff68Bus]) -> None:
    sim, bus = pair
    events = bus.events()
    assert (await sim.act("enter", {"address": 2, "digits": "07"}))["acked"]
    event = await next_event(events)
    assert (event.key, event.value, event.digits) == ("call_number", 7, "07")
    assert (await sim.act("enter", {"address": 2, "digits": "3"}))["acked"]  # one digit keeps its meaning
    assert (await next_event(events)).key == "callback"
    assert (await sim.act("raw", {"address": 2, "data": "21"}))["acked"]  # the vendor's own call-next code
    assert (await next_event(events)).key == "call_next"
    assert (await sim.act("raw", {"address": 1, "data": "21"}))["refused"]  # unknown to a standard caller


async def test_waiting_saturates_at_999(pair: tuple[Ff68Simulator, Ff68Bus]) -> None:
    sim, bus = pair
    await bus.show(1, 7, 1234)
    assert await sim.wait_for(lambda s: s.waiting.get(1) == "999" and s.displays.get(1) == "007")


async def test_rejected_frames_are_counted(pair: tuple[Ff68Simulator, Ff68Bus]) -> None:
    sim, bus = pair
    events = bus.events()
    good = codec.key_frame(1, "recall")
    sim.send_bytes(good[:-2] + bytes([good[-2] ^ 1, good[-1]]))  # bad checksum
    sim.send_bytes(good[:-1] + b"\x17")  # wrong end byte
    assert (await sim.act("press", {"address": 1, "key": "call_next"}))["acked"]
    assert (await next_event(events)).key == "call_next"
    assert bus.health.counters[REJECTED_FRAMES] == 2
    assert bus.health.available


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.integers(1, 254),
        st.tuples(st.integers(1, 99), st.sampled_from([None, "three_key", "four_key", "five_key"])),
        max_size=8,
    )
)
def test_old_and_per_address_forms_mix(entries: dict[int, tuple[int, str | None]]) -> None:
    """Any mix of ``address: window`` and ``address: {window, model}`` normalises to address -> window."""
    raw = {a: (w if m is None else {"window": w, "model": m}) for a, (w, m) in entries.items()}
    options = Ff68Options.model_validate({"evaluators": raw, "evaluator_model": "four_key"})
    assert options.evaluators == {a: w for a, (w, _) in entries.items()}
    for address, (_, model) in entries.items():
        assert options.evaluator_map(address) == codec.EVALUATOR_MAPS[model or "four_key"]
    assert Ff68Options.model_validate(options.model_dump()) == options
