"""Working days for 差评 deadlines: the hall's one calendar (server/queue/holidays.py).

The hall's ``holidays`` are never working days and its ``extra_workdays`` always are (they
override the package); otherwise the 放假 ranges and 调休 workdays of ``chinese-calendar``
decide, and for a year the package does not know yet Monday to Friday are working days. The
queue's opening hours are built from the same ``DaySets``, so a 放假 day is closed for both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from server.queue.holidays import HolidaySource, day_sets, is_workday


class WorkCalendar:
    """Is a date a working day; the end of the Nth working day after a date."""

    def __init__(self, holidays: Iterable[dt.date] = (), workdays: Iterable[dt.date] = (),
                 source: HolidaySource = "chinese_calendar") -> None:
        self.sets = day_sets(source, holidays, workdays)

    def is_workday(self, day: dt.date) -> bool:
        """The hall's own list, else the mainland calendar, else Monday–Friday."""
        return is_workday(self.sets, day)

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
