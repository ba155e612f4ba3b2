"""Business days, opening hours, lunch break, holidays and the next opening time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from server.errors import Refused
from server.queue.hours import Calendar, business_day, check_open, day_intervals, opening_status

TZ = ZoneInfo("Asia/Shanghai")
WEEK = {d: ((dt.time(9), dt.time(17)),) for d in range(1, 6)}
CAL = Calendar(tz=TZ, weekly=WEEK, lunch=(dt.time(12), dt.time(13, 30)),
               holidays=frozenset({dt.date(2026, 10, 1)}), extra_workdays=frozenset({dt.date(2026, 10, 10)}))


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=TZ)


def test_business_day_rolls_over_at_configured_time() -> None:
    rollover = dt.time(3)
    assert business_day(at(2026, 11, 27, 2, 59), TZ, rollover) == dt.date(2026, 11, 26)
    assert business_day(at(2026, 11, 27, 3, 0), TZ, rollover) == dt.date(2026, 11, 27)
    # UTC input is converted to the hall's zone first: 20:00 UTC is 04:00 next day in Shanghai
    assert business_day(dt.datetime(2026, 11, 26, 20, tzinfo=dt.UTC), TZ, rollover) == dt.date(2026, 11, 27)


def test_lunch_break_is_cut_out() -> None:
    assert day_intervals(CAL, dt.date(2026, 11, 27)) == [(dt.time(9), dt.time(12)), (dt.time(13, 30), dt.time(17))]


def test_open_in_the_morning_and_afternoon() -> None:
    assert opening_status(CAL, at(2026, 11, 27, 9)).open  # Friday
    assert opening_status(CAL, at(2026, 11, 27, 16, 59)).open


def test_lunch_break_refuses_until_13_30() -> None:
    status = opening_status(CAL, at(2026, 11, 27, 12, 10))
    assert not status.open and status.reason == "lunch_break"
    assert status.next_open == at(2026, 11, 27, 13, 30)


def test_before_opening_and_after_closing() -> None:
    early = opening_status(CAL, at(2026, 11, 27, 8))
    assert (early.reason, early.next_open) == ("closed", at(2026, 11, 27, 9))
    # Friday evening → Monday morning
    late = opening_status(CAL, at(2026, 11, 27, 17))
    assert (late.reason, late.next_open) == ("closed", at(2026, 11, 30, 9))


def test_holiday_and_make_up_workday() -> None:
    hol = opening_status(CAL, at(2026, 10, 1, 10))
    assert hol.reason == "holiday" and hol.next_open == at(2026, 10, 2, 9)
    assert opening_status(CAL, at(2026, 10, 10, 10)).open  # a Saturday working day (调休)


def test_check_open_raises_with_next_open_iso() -> None:
    with pytest.raises(Refused) as info:
        check_open(CAL, at(2026, 11, 27, 12, 0))
    assert info.value.code == "outside_opening_hours"
    assert info.value.extra["next_open"] == "2026-11-27T13:30:00+08:00"
    assert "13:30" in info.value.zh


def test_always_open_ignores_everything() -> None:
    cal = Calendar(tz=TZ, always_open=True)
    assert opening_status(cal, at(2026, 10, 1, 3)).open
    check_open(cal, at(2026, 10, 1, 3))


def test_no_hours_at_all_has_no_next_open() -> None:
    status = opening_status(Calendar(tz=TZ), at(2026, 11, 27, 10), horizon_days=10)
    assert not status.open and status.next_open is None
