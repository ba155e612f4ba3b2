"""What the store hands out: views (from ``server/queue/views.py``), outcomes and issued tickets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from server.queue.entities import IdentityRef
from server.queue.events import Event
from server.queue.views import HallSnapshot, HallStatus, ServiceStatus, TicketView, WindowView

T = TypeVar("T")

__all__ = ["Event", "HallSnapshot", "HallStatus", "IdentityRef", "IssuedTicket", "Outcome", "ServiceStatus",
           "TicketView", "WindowView"]


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """A mutation's result and the events it committed (the caller publishes them)."""

    value: T
    events: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class IssuedTicket:
    """A ticket with its token: only its holder gets this (issue answers, the by-token lookup, the printout)."""

    ticket: TicketView
    token: str

    def to_dict(self) -> dict[str, Any]:
        """The ticket's dict plus ``token`` (what issue routes answer)."""
        return {**self.ticket.to_dict(), "token": self.token}
