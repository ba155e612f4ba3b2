"""What the queue hands out: views of tickets, windows and the hall (pure values, JSON-ready).

They live in the pure engine because typed events (``server/queue/events.py``) carry them;
``server/store/views.py`` re-exports them for the store's callers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["HallSnapshot", "HallStatus", "ServiceStatus", "TicketView", "WindowView"]


@dataclass(frozen=True, slots=True)
class TicketView:
    """A ticket as clients see it; times are ISO 8601 in the hall's time zone.

    It never carries the ticket's token (a capability of its holder): see ``IssuedTicket``
    in ``server/store/views.py``.
    """

    id: int
    number: str
    service: str
    service_name: str
    state: str
    priority: str
    channel: str
    window: int | None
    issued_at: str
    called_at: str | None
    started_at: str | None
    finished_at: str | None
    recall_count: int
    ahead: int | None
    eta_minutes: int | None
    parent_id: int | None
    masked_id: str | None
    masked_name: str | None
    rating: int | None
    business_day: str
    kiosk: str | None
    eta_range: list[int] | None = None  # [low, high] minutes when the estimate is uncertain (兼办 windows)
    service_name_en: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        # every field is a plain value: cheaper than dataclasses.asdict's deep copy
        return {name: getattr(self, name) for name in _TICKET_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TicketView:
        """The inverse of ``to_dict`` (unknown keys are ignored, e.g. an old row's ``token``)."""
        values: dict[str, Any] = {name: data.get(name) for name in _TICKET_FIELDS}
        values["service_name_en"] = values["service_name_en"] or ""  # events stored before it existed
        return cls(**values)


@dataclass(frozen=True, slots=True)
class WindowView:
    """A window's state and its current ticket."""

    number: int
    name: str
    zone: str
    state: str
    clerk: str | None
    pause_reason: str | None
    current: TicketView | None
    services: list[str]
    name_en: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "number": self.number, "name": self.name, "zone": self.zone, "state": self.state, "clerk": self.clerk,
            "pause_reason": self.pause_reason, "current": self.current.to_dict() if self.current else None,
            "services": list(self.services), "name_en": self.name_en,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WindowView:
        """The inverse of ``to_dict``."""
        current = data.get("current")
        return cls(
            number=int(data["number"]), name=data.get("name") or "", zone=data.get("zone") or "",
            state=data["state"], clerk=data.get("clerk"), pause_reason=data.get("pause_reason"),
            current=TicketView.from_dict(current) if isinstance(current, dict) else None,
            services=list(data.get("services") or ()), name_en=data.get("name_en") or "",
        )


_TICKET_FIELDS = tuple(f.name for f in fields(TicketView))


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """One service's queue in the hall snapshot."""

    code: str
    name: str
    prefix: str
    category: str
    waiting: int
    longest_wait_seconds: int
    eta_minutes: int | None
    issued_today: int
    daily_limit: int | None
    available: bool
    reason: str | None  # why not available: daily_limit_reached, outside_opening_hours, …
    # honest availability (server/queue/availability.py): available, no_window, closed, cut_off, lunch, …
    availability: str = "available"
    availability_zh: str = ""
    availability_en: str = ""
    confirm: bool = False  # the kiosk asks the citizen before issuing (暂无窗口办理)
    next_open: str | None = None
    windows_primary: int = 0
    windows_secondary: int = 0
    eta_range: list[int] | None = None
    name_en: str = ""
    category_en: str = ""


@dataclass(frozen=True, slots=True)
class HallStatus:
    """The hall header of the snapshot."""

    name: str
    business_day: str
    open_now: bool
    next_open: str | None


@dataclass(frozen=True, slots=True)
class HallSnapshot:
    """Everything a screen needs to start from; then it applies events."""

    hall: HallStatus
    services: list[ServiceStatus]
    windows: list[WindowView]
    recent_calls: list[TicketView] = field(default_factory=list)
    seq: int = 0  # the last event seq included in this snapshot

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)
