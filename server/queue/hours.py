"""Business days, opening hours, lunch break and holidays (times are parameters, never now())."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from server.queue.refusals import outside_opening_hours

Interval = tuple[dt.time, dt.time]


@dataclass(frozen=True)
class Calendar:
    """A hall's calendar: weekly hours, lunch break, holidays, make-up workdays and rollover."""

    tz: ZoneInfo
    weekly: dict[int, tuple[Interval, ...]] = field(default_factory=dict)  # ISO weekday -> intervals
    lunch: Interval | None = None
    holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()
    rollover: dt.time = dt.time(3, 0)
    always_open: bool = False


@dataclass(frozen=True, slots=True)
class OpenStatus:
    """Whether tickets may be issued now; otherwise why and when it next opens."""

    open: bool
    reason: str | None = None  # closed, lunch_break, holiday
    next_open: dt.datetime | None = None


def business_day(now: dt.datetime, tz: ZoneInfo, rollover: dt.time) -> dt.date:
    """The business day of an aware time: local date, minus one before the rollover time."""
    local = now.astimezone(tz)
    if local.time() < rollover:
        return local.date() - dt.timedelta(days=1)
    return local.date()


def day_intervals(cal: Calendar, day: dt.date) -> list[Interval]:
    """Opening intervals of a date, lunch break cut out."""
    if day in cal.extra_workdays:
        base = cal.weekly.get(1) or next(iter(cal.weekly.values()), ())
    elif day in cal.holidays:
        return []
    else:
        base = cal.weekly.get(day.isoweekday(), ())
    out: list[Interval] = []
    for start, end in sorted(base):
        if cal.lunch is not None and start < cal.lunch[1] and cal.lunch[0] < end:
            if start < cal.lunch[0]:
                out.append((start, cal.lunch[0]))
            if cal.lunch[1] < end:
                out.append((cal.lunch[1], end))
        else:
            out.append((start, end))
    return out


def opening_status(cal: Calendar, now: dt.datetime, horizon_days: int = 400) -> OpenStatus:
    """Open now, or the reason and the next opening time (in the hall's zone)."""
    if cal.always_open:
        return OpenStatus(True)
    local = now.astimezone(cal.tz)
    today = local.date()
    t = local.time()
    intervals = day_intervals(cal, today)
    for start, end in intervals:
        if start <= t < end:
            return OpenStatus(True)
    if today in cal.holidays and today not in cal.extra_workdays:
        reason = "holiday"
    elif cal.lunch is not None and cal.lunch[0] <= t < cal.lunch[1] and intervals:
        reason = "lunch_break"
    else:
        reason = "closed"
    for offset in range(horizon_days):
        day = today + dt.timedelta(days=offset)
        for start, _end in day_intervals(cal, day):
            if offset > 0 or start > t:
                return OpenStatus(False, reason, dt.datetime.combine(day, start, tzinfo=cal.tz))
    return OpenStatus(False, reason, None)


def check_open(cal: Calendar, now: dt.datetime) -> None:
    """Raise ``outside_opening_hours`` (with ``next_open`` ISO time) when the hall is closed."""
    status = opening_status(cal, now)
    if not status.open:
        nxt = status.next_open.isoformat() if status.next_open else None
        raise outside_opening_hours(nxt, status.reason or "closed")
