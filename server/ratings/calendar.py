"""Working days for 差评 deadlines: mainland holidays and 调休 from ``chinese-calendar``, the hall's list first.

The hall's ``holidays`` are never working days and its ``extra_workdays`` always are (they
override the package); otherwise ``chinese_calendar.is_workday`` decides, and for a year the
package does not know yet (it raises NotImplementedError) Monday to Friday are working days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import chinese_calendar


class WorkCalendar:
    """Is a date a working day; the end of the Nth working day after a date."""

    def __init__(self, holidays: Iterable[dt.date] = (), workdays: Iterable[dt.date] = ()) -> None:
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)

    def is_workday(self, day: dt.date) -> bool:
        """The hall's own list, else the mainland calendar, else Monday–Friday."""
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:  # a year the package has no data for
            return day.weekday() < 5

    def add_workdays(self, start: dt.date, days: int) -> dt.date:
        """The ``days``-th working day after ``start`` (``start`` itself never counts)."""
        day, left = start, days
        while left > 0:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day

    def deadline(self, opened: dt.datetime, days: int, tz: dt.tzinfo) -> dt.datetime:
        """End of the ``days``-th working day after the (local) day ``opened`` falls on: its next midnight."""
        due_day = self.add_workdays(opened.astimezone(tz).date(), days)
        return dt.datetime.combine(due_day + dt.timedelta(days=1), dt.time(), tz)
