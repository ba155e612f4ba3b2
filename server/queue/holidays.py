"""Mainland holidays (放假) and 调休 workdays: ``chinese-calendar`` by default, the hall's own lists overriding.

The package holds the 国务院办公厅 notice of each year it knows: every date of each 放假 range
(weekend days inside the range included) and the weekend dates that are working days (调休上班).
A hall's ``holidays`` are always closed and its ``extra_workdays`` always open, whatever the
package says; for a year the package does not know, only the hall's lists and the weekly hours
apply. The queue hours (server/queue/hours.py) and the 好差评 working-day deadlines
(server/ratings/calendar.py) are both built from these sets, so they always agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Literal

import chinese_calendar

HolidaySource = Literal["chinese_calendar", "none"]


@dataclass(frozen=True, slots=True)
class DaySets:
    """Closed 放假 dates, weekend dates that are working days, and the years the source knows."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    known_years: frozenset[int] = frozenset()


@cache
def mainland() -> DaySets:
    """The package's 放假 dates and 调休 workdays (computed once)."""
    holidays = frozenset(chinese_calendar.holidays)
    workdays = frozenset(d for d in chinese_calendar.workdays if d.weekday() >= 5)
    years = frozenset(d.year for d in holidays)
    return DaySets(holidays, workdays, years)


def day_sets(source: HolidaySource, holidays: Iterable[dt.date] = (), workdays: Iterable[dt.date] = ()) -> DaySets:
    """The source's sets with the hall's own ``holidays`` and ``workdays`` (调休) overriding them."""
    own_holidays, own_workdays = frozenset(holidays), frozenset(workdays)
    base = mainland() if source == "chinese_calendar" else DaySets()
    return DaySets(
        holidays=(base.holidays - own_workdays) | own_holidays,
        workdays=(base.workdays - own_holidays) | (own_workdays - own_holidays),
        known_years=base.known_years,
    )


def is_workday(sets: DaySets, day: dt.date) -> bool:
    """A statutory working day: not 放假, and Monday–Friday or a 调休 workday."""
    if day in sets.holidays:
        return False
    return day in sets.workdays or day.weekday() < 5
