"""Business days, opening hours, lunch break and holidays (times are parameters, never now()).

``holidays`` and ``extra_workdays`` of a ``Calendar`` already hold the mainland 放假 ranges and
调休 workdays merged with the hall's lists (server/queue/holidays.py, built in
server/queue/adapt.py ``calendar_of``): a 放假 date is closed whatever the weekly hours.
``opening_seconds`` / ``opening_deadline`` measure time the hall is open (the call-back limit).
"""

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
    lunch_issuing: str = "stop"  # stop | keep: tickets are still issued (for the afternoon) during lunch


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


def issuing_status(cal: Calendar, now: dt.datetime) -> OpenStatus:
    """Whether tickets may be issued now: opening hours, and lunch too with ``lunch_issuing: keep``.

    During a kept lunch the answer is open with ``reason="lunch_break"`` and ``next_open`` the
    afternoon start, so screens can say 午休，下午办理.
    """
    status = opening_status(cal, now)
    if not status.open and status.reason == "lunch_break" and cal.lunch_issuing == "keep":
        return OpenStatus(True, "lunch_break", status.next_open)
    return status


def closing_time(cal: Calendar, day: dt.date) -> dt.datetime | None:
    """When the date's last opening interval ends (None on a closed day)."""
    intervals = day_intervals(cal, day)
    if not intervals:
        return None
    return dt.datetime.combine(day, max(end for _start, end in intervals), tzinfo=cal.tz)


def past_cut_off(cal: Calendar, now: dt.datetime, minutes: int | None) -> bool:
    """Within ``minutes`` of today's closing (a per-service cut-off before closing; None = no cut-off)."""
    if minutes is None or cal.always_open:
        return False
    local = now.astimezone(cal.tz)
    closing = closing_time(cal, local.date())
    return closing is not None and closing - dt.timedelta(minutes=minutes) <= local < closing


def _open_spans(cal: Calendar, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    return [(dt.datetime.combine(day, a, tzinfo=cal.tz), dt.datetime.combine(day, b, tzinfo=cal.tz))
            for a, b in day_intervals(cal, day)]


def opening_seconds(cal: Calendar, start: dt.datetime, end: dt.datetime) -> float:
    """Seconds the hall is open between two aware times (lunch, closed hours, holidays and 放假 excluded)."""
    if end <= start:
        return 0.0
    if cal.always_open:
        return (end - start).total_seconds()
    first, last = start.astimezone(cal.tz).date(), end.astimezone(cal.tz).date()
    total = 0.0
    day = first
    while day <= last:
        for a, b in _open_spans(cal, day):
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += dt.timedelta(days=1)
    return total


def opening_deadline(cal: Calendar, start: dt.datetime, seconds: float,
                     horizon_days: int = 400) -> dt.datetime | None:
    """The instant the opening time since ``start`` reaches ``seconds`` (None past the horizon)."""
    if cal.always_open or seconds <= 0:
        return start + dt.timedelta(seconds=max(0.0, seconds))
    left = seconds
    first = start.astimezone(cal.tz).date()
    for offset in range(horizon_days):
        for a, b in _open_spans(cal, first + dt.timedelta(days=offset)):
            lo = max(a, start)
            if b <= lo:
                continue
            span = (b - lo).total_seconds()
            if left <= span:
                return lo + dt.timedelta(seconds=left)
            left -= span
    return None


def check_open(cal: Calendar, now: dt.datetime) -> None:
    """Raise ``outside_opening_hours`` (with ``next_open`` ISO time) when tickets cannot be issued now."""
    status = issuing_status(cal, now)
    if not status.open:
        nxt = status.next_open.isoformat() if status.next_open else None
        raise outside_opening_hours(nxt, status.reason or "closed")
