"""Working days for 差评 deadlines: weekends, a 调休 Saturday, the National Day holiday, the hall's own list."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from server.ratings.calendar import WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date.fromisoformat


def test_weekend_is_skipped() -> None:
    cal = WorkCalendar()
    assert cal.add_workdays(D("2026-11-27"), 1) == D("2026-11-30")  # Friday → Monday
    opened = dt.datetime(2026, 11, 27, 10, 0, tzinfo=TZ)
    assert cal.deadline(opened, 1, TZ) == dt.datetime(2026, 12, 1, tzinfo=TZ)  # end of Monday
    assert cal.add_workdays(D("2026-11-27"), 15) == D("2026-12-18")


def test_tiaoxiu_saturday_counts_and_the_holiday_does_not() -> None:
    cal = WorkCalendar()
    assert cal.is_workday(D("2026-10-10"))  # Saturday made a working day for National Day (调休)
    assert cal.add_workdays(D("2026-10-09"), 1) == D("2026-10-10")
    assert not cal.is_workday(D("2026-10-01"))
    assert cal.add_workdays(D("2026-09-30"), 1) == D("2026-10-08")  # over the 1–7 October holiday


def test_the_halls_own_list_overrides_the_package() -> None:
    cal = WorkCalendar(holidays=[D("2026-11-30")], workdays=[D("2026-11-28")])
    assert cal.add_workdays(D("2026-11-27"), 1) == D("2026-11-28")  # the hall works that Saturday
    assert cal.add_workdays(D("2026-11-28"), 1) == D("2026-12-01")  # and closes that Monday


def test_a_year_without_data_falls_back_to_weekdays() -> None:
    cal = WorkCalendar()
    assert cal.is_workday(D("2099-06-05")) and not cal.is_workday(D("2099-06-06"))


@given(st.dates(D("2024-01-01"), D("2026-12-01")), st.integers(1, 30))
def test_the_deadline_is_a_working_day_n_working_days_later(start: dt.date, days: int) -> None:
    cal = WorkCalendar()
    due = cal.add_workdays(start, days)
    assert due > start and cal.is_workday(due)
    between = [start + dt.timedelta(days=i) for i in range(1, (due - start).days + 1)]
    assert sum(cal.is_workday(d) for d in between) == days
