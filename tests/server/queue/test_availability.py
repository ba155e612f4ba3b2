"""Honest availability (server/queue/availability.py) and 兼办-weighted wait estimates (server/queue/estimate.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from server.queue.availability import service_availability
from server.queue.estimate import Capacity, SecondaryWindow, estimate
from server.queue.hours import Calendar

TZ = ZoneInfo("Asia/Shanghai")
HALL = Calendar(tz=TZ, weekly={d: ((dt.time(9), dt.time(17)),) for d in range(1, 6)},
                lunch=(dt.time(12), dt.time(13, 30)))


def at(h: int, mi: int = 0, day: int = 27) -> dt.datetime:
    return dt.datetime(2026, 11, day, h, mi, tzinfo=TZ)  # 2026-11-27 is a Friday


def state(now: dt.datetime, hall: Calendar = HALL, service: Calendar | None = None, **kw: object) -> tuple:
    a = service_availability(hall=hall, service=service or hall, now=now, **kw)  # type: ignore[arg-type]
    return a.state, a.issuable, a.confirm, a.reason


def test_available_with_a_staffed_window() -> None:
    assert state(at(10), windows_serving=1) == ("available", True, False, None)


def test_no_window_asks_for_confirmation_or_refuses() -> None:
    assert state(at(10), windows_serving=0) == ("no_window", True, True, None)
    assert state(at(10), windows_serving=0, unserved_issue="refuse") == ("no_window", False, False,
                                                                          "no_window_serving")
    a = service_availability(hall=HALL, service=HALL, now=at(10))
    assert (a.label_zh, a.label_en) == ("暂无窗口办理", "No window open")


def test_closed_outside_hours_on_weekends_and_in_the_services_own_hours() -> None:
    assert state(at(18), windows_serving=2)[:2] == ("closed", False)
    assert state(at(10, day=28), windows_serving=2)[:2] == ("closed", False)  # Saturday
    mornings = dataclasses.replace(HALL, weekly={d: ((dt.time(9), dt.time(11)),) for d in range(1, 6)})
    assert state(at(10), service=mornings, windows_serving=1)[0] == "available"
    a = service_availability(hall=HALL, service=mornings, now=at(14), windows_serving=1)
    assert a.state == "closed" and a.label_zh == "不在办理时间" and a.next_open == at(9, day=30)


def test_cut_off_before_closing_says_when_it_opens_again() -> None:
    a = service_availability(hall=HALL, service=HALL, now=at(16, 40), cutoff_minutes=30, windows_serving=3)
    assert (a.state, a.issuable, a.reason) == ("cut_off", False, "service_cut_off")
    assert a.next_open == at(9, day=30)  # Monday
    assert state(at(16, 29), cutoff_minutes=30, windows_serving=3)[0] == "available"


def test_lunch_keep_is_issuable_lunch_stop_is_closed() -> None:
    keep = dataclasses.replace(HALL, lunch_issuing="keep")
    a = service_availability(hall=keep, service=keep, now=at(12, 30))
    assert (a.state, a.issuable, a.next_open) == ("lunch", True, at(13, 30))
    assert state(at(12, 30))[:2] == ("closed", False)


def test_disabled_and_daily_limit_come_first() -> None:
    assert state(at(10), enabled=False, windows_serving=1)[0] == "service_disabled"
    assert state(at(10), issued_today=50, daily_limit=50, windows_serving=1)[:2] == ("daily_limit_reached", False)


# -- estimates -----------------------------------------------------------------------------


def test_a_secondary_window_is_not_full_capacity() -> None:
    # 社会保障 served only as 兼办 at one 综合窗口 whose 综合受理 queue has people: 2 ahead × 10 min
    busy = estimate(2, Capacity(0, (SecondaryWindow(1.0, primaries_waiting=True),)), 10)
    assert busy.minutes == 80 and busy.range == [20, 80]
    idle = estimate(2, Capacity(0, (SecondaryWindow(1.0, primaries_waiting=False),)), 10)
    assert idle.minutes == 20 and idle.range == [20, 80]  # it may get busy again: still a range


def test_primary_windows_only_give_a_firm_estimate() -> None:
    e = estimate(5, Capacity(2), 10)
    assert e.minutes == 25 and e.range is None
    assert estimate(0, Capacity(0, (SecondaryWindow(),)), 10).range is None  # nobody ahead
    assert estimate(3, Capacity(), 10).minutes is None  # nobody serves it


@given(st.integers(0, 60), st.integers(0, 4), st.lists(st.tuples(st.floats(0.1, 5), st.booleans()), max_size=4),
       st.floats(1, 30))
def test_the_estimate_lies_in_its_range_and_never_beats_full_capacity(ahead: int, primary: int,
                                                                      secondary: list[tuple[float, bool]],
                                                                      avg: float) -> None:
    cap = Capacity(primary, tuple(SecondaryWindow(w, busy) for w, busy in secondary))
    e = estimate(ahead, cap, avg)
    if not cap.any:
        assert e.minutes is None
        return
    assert e.minutes is not None
    full = estimate(ahead, Capacity(primary + len(secondary)), avg).minutes
    assert full is not None and e.minutes >= full
    if e.range is not None:
        low, high = e.range
        assert low <= e.minutes <= high
