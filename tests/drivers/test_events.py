"""drivers.events: the one fan-out policy every input device uses (keypad presses, card events)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.events import EventFanout

pytestmark = pytest.mark.timeout(10)


async def _drain(sub: object, n: int) -> list[int]:
    return [await asyncio.wait_for(sub.__anext__(), 1.0) for _ in range(n)]  # type: ignore[attr-defined]


async def test_subscribed_on_creation_not_on_first_iteration() -> None:
    fanout: EventFanout[int] = EventFanout("dev")
    sub = fanout.subscribe()
    fanout.publish(1)  # before anyone awaited the subscription: not lost
    assert await _drain(sub, 1) == [1]


async def test_every_subscriber_gets_every_later_event_in_order() -> None:
    fanout: EventFanout[int] = EventFanout("dev")
    early = fanout.subscribe()
    fanout.publish(0)
    late = fanout.subscribe()
    for i in range(1, 4):
        fanout.publish(i)
    assert await _drain(early, 4) == [0, 1, 2, 3]
    assert await _drain(late, 3) == [1, 2, 3]


async def test_a_stalled_subscriber_loses_its_oldest_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "hallq.devices")
    fanout: EventFanout[int] = EventFanout("bus-1", maxsize=3)
    stalled, live = fanout.subscribe(), fanout.subscribe()
    for i in range(10):
        fanout.publish(i)
        assert await _drain(live, 1) == [i]  # the other subscriber is unaffected
    assert await _drain(stalled, 3) == [7, 8, 9] and stalled.dropped == 7
    assert sum("bus-1" in r.getMessage() for r in caplog.records) == 1


async def test_aclose_unsubscribes() -> None:
    fanout: EventFanout[str] = EventFanout("dev")
    sub = fanout.subscribe()
    assert fanout.subscribers == 1
    await sub.aclose()
    await sub.aclose()
    fanout.publish("x")
    assert fanout.subscribers == 0 and sub.queue.empty()


@given(st.lists(st.integers(), max_size=50), st.integers(1, 10))
def test_a_subscriber_keeps_the_newest_maxsize_events(events: list[int], maxsize: int) -> None:
    fanout: EventFanout[int] = EventFanout("dev", maxsize=maxsize)
    sub = fanout.subscribe()
    for e in events:
        fanout.publish(e)
    kept = [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]
    assert kept == events[-maxsize:] if events else kept == []
    assert sub.dropped == max(0, len(events) - maxsize)
