"""drivers/health.py HealthTracker: a drop is reported at once, a return only once it settled."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest

from drivers.health import NO_ANSWER, PAPER_NEAR_END, PAPER_OUT, DeviceState, Health, HealthTracker
from tests.support.polling import until

pytestmark = pytest.mark.timeout(30)

SETTLE = 0.2


def tracked(caplog: pytest.LogCaptureFixture, device_id: str) -> tuple[HealthTracker, list[Health]]:
    """A tracker with a short settle, ready once, and the reported healths its listener saw."""
    caplog.set_level(logging.INFO, "hallq.devices")
    tracker = HealthTracker(device_id, settle=SETTLE)
    seen: list[Health] = []
    tracker.listeners.append(lambda _id, h: seen.append(h))
    tracker.set(DeviceState.CONNECTING)
    tracker.set(DeviceState.READY)
    return tracker, seen


def lines(caplog: pytest.LogCaptureFixture, device_id: str, word: str) -> int:
    """How many log lines of ``device_id`` contain ``word``."""
    return sum(word in r.getMessage() for r in caplog.records if f"device {device_id} " in r.getMessage())


async def test_the_first_ready_is_reported_at_once(caplog: pytest.LogCaptureFixture) -> None:
    tracker, seen = tracked(caplog, "t-1")
    assert tracker.reported.available and seen[-1].available and not tracker.settling
    assert lines(caplog, "t-1", "is ready") == 1


async def test_a_flapping_line_is_one_outage_logged_once_each_way(caplog: pytest.LogCaptureFixture) -> None:
    tracker, seen = tracked(caplog, "t-2")
    # a corrupting line: bad, good, bad, good … within less than the settle time
    for _ in range(4):
        tracker.set(DeviceState.FAULT, (PAPER_OUT,))
        assert not tracker.reported.available
        tracker.set(DeviceState.READY)
        assert tracker.health.available and not tracker.reported.available  # the driver sees it at once
    assert tracker.settling
    await until(lambda: tracker.reported.available, timeout=5)
    assert lines(caplog, "t-2", "dropped") == 1 and lines(caplog, "t-2", "is back") == 1
    available = [h.available for h in seen]
    drops = sum(1 for a, b in itertools.pairwise(available) if a and not b)
    assert drops == 1, available


async def test_a_return_is_reported_only_after_it_stayed_good(caplog: pytest.LogCaptureFixture) -> None:
    tracker, _ = tracked(caplog, "t-3")
    tracker.set(DeviceState.OFFLINE, (NO_ANSWER,))
    tracker.set(DeviceState.READY)
    await asyncio.sleep(SETTLE / 2)
    tracker.set(DeviceState.OFFLINE, (NO_ANSWER,))  # bad again before it settled: the wait starts over
    assert not tracker.settling and tracker.reported.faults == (NO_ANSWER,)
    tracker.set(DeviceState.READY, (PAPER_NEAR_END,))
    await asyncio.sleep(SETTLE * 0.75)
    assert not tracker.reported.available
    await until(lambda: tracker.reported.available, timeout=5)
    assert tracker.reported.faults == (PAPER_NEAR_END,)  # the health observed when it settled
    assert lines(caplog, "t-3", "dropped") == 1 and lines(caplog, "t-3", "is back") == 1


async def test_faults_change_while_down_without_a_second_drop(caplog: pytest.LogCaptureFixture) -> None:
    tracker, _ = tracked(caplog, "t-4")
    tracker.set(DeviceState.OFFLINE, (NO_ANSWER,))
    tracker.set(DeviceState.FAULT, (PAPER_OUT,))
    assert tracker.reported.faults == (PAPER_OUT,)
    assert lines(caplog, "t-4", "dropped") == 1 and lines(caplog, "t-4", "faults: paper_out") == 1


async def test_a_close_ends_the_outage_and_the_next_ready_is_at_once(caplog: pytest.LogCaptureFixture) -> None:
    tracker, _ = tracked(caplog, "t-5")
    tracker.set(DeviceState.OFFLINE, (NO_ANSWER,))
    tracker.set(DeviceState.READY)
    tracker.set(DeviceState.CLOSED)
    assert not tracker.settling and tracker.reported.state == DeviceState.CLOSED
    tracker.set(DeviceState.CONNECTING)
    tracker.set(DeviceState.READY)
    assert tracker.reported.available


async def test_counters_reach_listeners_while_settling(caplog: pytest.LogCaptureFixture) -> None:
    tracker, seen = tracked(caplog, "t-6")
    tracker.set(DeviceState.OFFLINE, (NO_ANSWER,))
    tracker.set(DeviceState.READY)
    tracker.count("rejected_frames", 2)
    assert seen[-1].counters == {"rejected_frames": 2} and not seen[-1].available
    assert tracker.health.counters == {"rejected_frames": 2}


def test_without_an_event_loop_a_return_is_reported_at_once(caplog: pytest.LogCaptureFixture) -> None:
    tracker, _ = tracked(caplog, "t-7")
    tracker.set(DeviceState.OFFLINE, (NO_ANSWER,))
    tracker.set(DeviceState.READY)
    assert tracker.reported.available and not tracker.settling
