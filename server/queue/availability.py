"""Honest availability of a service: can a ticket be issued now, and will anyone serve it.

One pure function, ``service_availability``, decides the state every screen shows, in this
order: disabled · ``closed`` (hall or service hours, holiday, 放假; 不在办理时间) · ``cut_off``
(within the service's cut-off before closing) · daily limit · ``lunch`` (午休 with
``hall.lunch_issuing: keep``: still issued, for the afternoon) · ``no_window`` (no staffed
window serves it: 暂无窗口办理) · ``available``. ``no_window`` tickets are issued after the
citizen confirms (``policy.unserved_issue: confirm``) or refused at the kiosk (``refuse``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from server.queue.hours import Calendar, closing_time, issuing_status, opening_status, past_cut_off

State = Literal["available", "no_window", "closed", "cut_off", "lunch", "daily_limit_reached", "service_disabled"]

LABELS: dict[str, tuple[str, str]] = {  # short: they fit a kiosk button and a hall-screen table cell
    "available": ("可办理", "Available"),
    "no_window": ("暂无窗口办理", "No window open"),
    "closed": ("不在办理时间", "Not open now"),
    "cut_off": ("今日已停止取号", "Tickets closed"),
    "lunch": ("午休，下午办理", "Lunch break"),
    "daily_limit_reached": ("今日号已取完", "All taken today"),
    "service_disabled": ("暂停办理", "Not offered now"),
}


@dataclass(frozen=True, slots=True)
class Availability:
    """A service's state now; ``reason`` is the refusal code when a ticket cannot be issued."""

    state: State
    issuable: bool
    confirm: bool = False  # the kiosk asks before issuing (no_window, unserved_issue: confirm)
    reason: str | None = None
    next_open: dt.datetime | None = None

    @property
    def label_zh(self) -> str:
        """Short Chinese label for buttons and tables."""
        return LABELS[self.state][0]

    @property
    def label_en(self) -> str:
        """Short English label."""
        return LABELS[self.state][1]


def service_availability(*, hall: Calendar, service: Calendar, now: dt.datetime, enabled: bool = True,
                         cutoff_minutes: int | None = None, issued_today: int = 0,
                         daily_limit: int | None = None, windows_serving: int = 0,
                         unserved_issue: str = "confirm") -> Availability:
    """The service's availability at ``now`` (``service`` is the hall calendar unless it has own hours)."""
    if not enabled:
        return Availability("service_disabled", False, reason="service_disabled")
    for cal in (hall, service):
        status = issuing_status(cal, now)
        if not status.open:
            return Availability("closed", False, reason="outside_opening_hours", next_open=status.next_open)
    if past_cut_off(service, now, cutoff_minutes):
        closing = closing_time(service, now.astimezone(service.tz).date())
        after = opening_status(service, closing).next_open if closing is not None else None
        return Availability("cut_off", False, reason="service_cut_off", next_open=after)
    if daily_limit is not None and issued_today >= daily_limit:
        return Availability("daily_limit_reached", False, reason="daily_limit_reached")
    status = issuing_status(hall, now)
    if status.reason == "lunch_break":
        return Availability("lunch", True, next_open=status.next_open)
    if windows_serving <= 0:
        if unserved_issue == "refuse":
            return Availability("no_window", False, reason="no_window_serving")
        return Availability("no_window", True, confirm=True)
    return Availability("available", True)
