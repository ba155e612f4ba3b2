"""Slots of a service and day (pure): length, capacity from windows and the walk-in share, bookable or why not.

Opening intervals come from the hall calendar (server/queue/hours.py ``day_intervals``: weekly
hours with the lunch break cut out, holidays closed, 调休 workdays open), so whatever source
the calendar uses, slots follow it. A slot lies wholly inside one interval.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.queue.adapt import calendar_of
from server.queue.hours import day_intervals

if TYPE_CHECKING:
    from server.config import AppointmentService, HallConfig


@dataclass(frozen=True, slots=True)
class Slot:
    """One slot: its start (aware, hall zone), length, bookable capacity and bookings so far."""

    start: dt.datetime
    minutes: int
    capacity: int
    booked: int = 0

    @property
    def free(self) -> int:
        """Places left."""
        return max(0, self.capacity - self.booked)

    @property
    def key(self) -> str:
        """The slot as clients name it: ``HH:MM``."""
        return self.start.strftime("%H:%M")

    def to_dict(self) -> dict[str, Any]:
        """The public JSON form."""
        end = self.start + dt.timedelta(minutes=self.minutes)
        return {"slot": self.key, "start": self.start.isoformat(), "end": end.isoformat(),
                "capacity": self.capacity, "booked": self.booked, "free": self.free}


def rules_of(config: HallConfig, service: str) -> AppointmentService | None:
    """The service's booking rules, None when it takes no bookings."""
    return config.appointments.service(service)


def slot_minutes(config: HallConfig, service: str) -> int:
    """The slot length of a service."""
    rules = rules_of(config, service)
    return (rules.slot_minutes if rules and rules.slot_minutes else None) or config.appointments.slot_minutes


def serving_windows(config: HallConfig, service: str) -> float:
    """Windows serving the service: a 主办 window counts 1, a 兼办 window ½ (it serves others first)."""
    total = 0.0
    for w in config.windows:
        for ws in w.services:
            if ws.code == service:
                total += 1.0 if ws.role == "primary" else 0.5
    return total


def capacity(config: HallConfig, service: str, minutes: int) -> int:
    """Bookings per slot: set by hand, else windows × slot length ÷ expected minutes, less the walk-in share."""
    rules = rules_of(config, service)
    if rules is not None and rules.capacity is not None:
        return rules.capacity
    svc = config.service_map[service]
    served = serving_windows(config, service) * minutes / svc.expected_minutes
    return math.floor(served * (1 - config.appointments.walk_in_share) + 1e-9)


def day_slots(config: HallConfig, service: str, day: dt.date) -> list[Slot]:
    """Every slot of the service on ``day`` (empty on a closed day), booked counts zero."""
    cal = calendar_of(config.hall)
    minutes = slot_minutes(config, service)
    cap = capacity(config, service, minutes)
    step = dt.timedelta(minutes=minutes)
    out: list[Slot] = []
    for start, end in day_intervals(cal, day):
        t = dt.datetime.combine(day, start, tzinfo=cal.tz)
        stop = dt.datetime.combine(day, end, tzinfo=cal.tz)
        while t + step <= stop:
            out.append(Slot(t, minutes, cap))
            t += step
    return out


def release_time(config: HallConfig, day: dt.date) -> dt.datetime:
    """When unbooked capacity of ``day`` returns to walk-ins and booking for it closes."""
    rules = config.appointments
    when = day - dt.timedelta(days=rules.release_days_before)
    return dt.datetime.combine(when, rules.release_at, tzinfo=config.hall.tz)


def day_refusal(config: HallConfig, service: str, day: dt.date, now: dt.datetime) -> str | None:
    """Why ``day`` cannot be booked for the service now (a catalogue code), or None."""
    if rules_of(config, service) is None:
        return "not_bookable"
    today = now.astimezone(config.hall.tz).date()
    rules = config.appointments
    if day < today or (day == today and not rules.same_day):
        return "booking_too_soon"
    if day > today + dt.timedelta(days=rules.horizon_days):
        return "booking_beyond_horizon"
    if not day_intervals(calendar_of(config.hall), day):
        return "booking_closed_day"
    if now >= release_time(config, day):
        return "booking_released"
    return None


def slot_refusal(slot: Slot, now: dt.datetime) -> str | None:
    """Why one slot of a bookable day cannot be booked (already begun), or None."""
    return "booking_too_soon" if slot.start <= now else None


def bookable_days(config: HallConfig, service: str, now: dt.datetime) -> list[dt.date]:
    """The days a citizen may book now, in order."""
    today = now.astimezone(config.hall.tz).date()
    days = (today + dt.timedelta(days=i) for i in range(config.appointments.horizon_days + 1))
    return [d for d in days if day_refusal(config, service, d, now) is None]
