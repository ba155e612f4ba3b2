"""What the store hands out: views of tickets, windows and the hall, events and outcomes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Generic, TypeVar

from server.queue.entities import IdentityRef

T = TypeVar("T")

__all__ = ["Event", "HallSnapshot", "HallStatus", "IdentityRef", "Outcome", "ServiceStatus", "TicketView", "WindowView"]


@dataclass(frozen=True, slots=True)
class Event:
    """A committed change, e.g. ``ticket.called``; ``seq`` is the global outbox id."""

    type: str
    topics: tuple[str, ...]
    data: dict[str, Any]
    seq: int
    at: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form ``{"type", "seq", "topics", "data", "at"}``."""
        return {"type": self.type, "seq": self.seq, "topics": list(self.topics), "data": self.data, "at": self.at}


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """A mutation's result and the events it committed (the caller publishes them)."""

    value: T
    events: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class TicketView:
    """A ticket as clients see it; times are ISO 8601 in the hall's time zone."""

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
    token: str
    ahead: int | None
    eta_minutes: int | None
    parent_id: int | None
    masked_id: str | None
    masked_name: str | None
    rating: int | None
    business_day: str
    kiosk: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        # every field is a plain value: cheaper than dataclasses.asdict's deep copy
        return {name: getattr(self, name) for name in _TICKET_FIELDS}


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "number": self.number, "name": self.name, "zone": self.zone, "state": self.state, "clerk": self.clerk,
            "pause_reason": self.pause_reason, "current": self.current.to_dict() if self.current else None,
            "services": list(self.services),
        }


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
