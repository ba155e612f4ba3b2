"""Lunch-break issuing modes, 放假 ranges, per-service cut-offs and elapsed opening time (the call-back clock)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.errors import Refused
from server.queue.hours import (
    Calendar,
    check_open,
    closing_time,
    issuing_status,
    opening_deadline,
    opening_seconds,
    opening_status,
    past_cut_off,
)

TZ = ZoneInfo("Asia/Shanghai")
WEEK = {d: ((dt.time(9), dt.time(17)),) for d in range(1, 6)}
LUNCH = (dt.time(12), dt.time(13, 30))
STOP = Calendar(tz=TZ, weekly=WEEK, lunch=LUNCH)
KEEP = dataclasses.replace(STOP, lunch_issuing="keep")


def at(mo: int, d: int, h: int, mi: int = 0) -> dt.datetime:
    return dt.datetime(2026, mo, d, h, mi, tzinfo=TZ)


def test_lunch_stop_refuses_tickets_until_the_afternoon() -> None:
    with pytest.raises(Refused) as exc:
        check_open(STOP, at(11, 27, 12, 30))  # Friday lunch
    assert exc.value.code == "outside_opening_hours" and exc.value.extra["reason"] == "lunch_break"


def test_lunch_keep_issues_for_the_afternoon_but_the_hall_is_not_open_for_calls() -> None:
    check_open(KEEP, at(11, 27, 12, 30))  # no refusal
    status = issuing_status(KEEP, at(11, 27, 12, 30))
    assert status.open and status.reason == "lunch_break" and status.next_open == at(11, 27, 13, 30)
    assert not opening_status(KEEP, at(11, 27, 12, 30)).open  # the screens still say 午休
    with pytest.raises(Refused):  # keep is about lunch only: evenings stay closed
        check_open(KEEP, at(11, 27, 18))


def test_a_holiday_range_is_closed_whatever_the_weekly_hours() -> None:
    every_day = {d: ((dt.time(9), dt.time(17)),) for d in range(1, 8)}
    cal = Calendar(tz=TZ, weekly=every_day, holidays=frozenset(at(10, d, 0).date() for d in range(1, 8)))
    for d in range(1, 8):
        status = opening_status(cal, at(10, d, 10))
        assert not status.open and status.reason == "holiday", d
    assert opening_status(cal, at(10, 8, 10)).open


def test_cut_off_before_closing() -> None:
    assert closing_time(STOP, at(11, 27, 0).date()) == at(11, 27, 17)
    assert closing_time(STOP, at(11, 28, 0).date()) is None  # Saturday
    assert not past_cut_off(STOP, at(11, 27, 16, 29), 30)
    assert past_cut_off(STOP, at(11, 27, 16, 30), 30)
    assert past_cut_off(STOP, at(11, 27, 16, 59), 30)
    assert not past_cut_off(STOP, at(11, 27, 17), 30)  # closed then: that is "closed", not "cut off"
    assert not past_cut_off(STOP, at(11, 27, 16, 59), None)
    assert not past_cut_off(dataclasses.replace(STOP, always_open=True), at(11, 27, 16, 59), 30)


def test_opening_time_does_not_run_through_lunch() -> None:
    # set aside at 11:55, looked at 13:40: 5 minutes before lunch + 10 after
    assert opening_seconds(STOP, at(11, 27, 11, 55), at(11, 27, 13, 40)) == 15 * 60
    assert opening_deadline(STOP, at(11, 27, 11, 55), 30 * 60) == at(11, 27, 13, 55)


def test_opening_time_does_not_run_through_a_weekend_or_the_night() -> None:
    # Friday 16:50 to Monday 09:20: 10 minutes on Friday, 20 on Monday
    assert opening_seconds(STOP, at(11, 27, 16, 50), at(11, 30, 9, 20)) == 30 * 60
    assert opening_deadline(STOP, at(11, 27, 16, 50), 30 * 60) == at(11, 30, 9, 20)
    # closed all along: nothing elapses
    assert opening_seconds(STOP, at(11, 28, 9), at(11, 29, 18)) == 0
    assert opening_seconds(STOP, at(11, 30, 10), at(11, 30, 9)) == 0


def test_always_open_counts_wall_time() -> None:
    cal = dataclasses.replace(STOP, always_open=True)
    assert opening_seconds(cal, at(11, 28, 1), at(11, 28, 2)) == 3600
    assert opening_deadline(cal, at(11, 28, 1), 60) == at(11, 28, 1, 1)


instants = st.integers(0, 10 * 24 * 60).map(lambda m: at(11, 23, 0) + dt.timedelta(minutes=m))


@settings(max_examples=200, deadline=None)
@given(instants, instants, instants)
def test_opening_seconds_adds_up_and_never_exceeds_wall_time(a: dt.datetime, b: dt.datetime,
                                                             c: dt.datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert opening_seconds(STOP, a, b) + opening_seconds(STOP, b, c) == opening_seconds(STOP, a, c)
    assert 0 <= opening_seconds(STOP, a, c) <= (c - a).total_seconds()


@settings(max_examples=200, deadline=None)
@given(instants, st.integers(1, 3 * 8 * 3600))
def test_the_deadline_is_where_the_opening_time_reaches_the_limit(start: dt.datetime, seconds: int) -> None:
    end = opening_deadline(STOP, start, seconds)
    assert end is not None and end > start
    assert opening_seconds(STOP, start, end) == seconds
    # and it is the first such instant: a second earlier there was less
    assert opening_seconds(STOP, start, end - dt.timedelta(seconds=1)) == seconds - 1
