"""The event vocabulary: every event type, its typed payload, and the one wire form.

The store emits typed :class:`Event` values; the outbox stores ``payload.to_dict()``; the hub
hands the same ``Event`` objects to in-process handlers and websocket connections; JSON
exists only at the edges (the outbox row, ``Event.frame()`` at ``/ws``, and
``Event.from_message`` for events read back from the log or received over ``/ws`` by a
remote device host). No event, view or outbox row carries a ticket token.

Wire form (``to_message``)::

    {"type": "ticket.called", "seq": 42, "topics": ["hall", ...], "at": "...", "data": {...}}

Ephemeral events (device health, identity sessions, alerts, announcements) are not in the
durable log: they have no ``seq`` and no ``at``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from server.queue.views import TicketView, WindowView

__all__ = [
    "DataEvent", "Event", "EventType", "Payload", "RatingEvent", "RatingInfo", "RatingRequest", "TicketEvent",
    "WindowEvent", "payload_type",
]


class EventType(StrEnum):
    """Every event type hallq publishes."""

    # committed queue events (durable, with seq)
    TICKET_ISSUED = "ticket.issued"
    TICKET_CALLED = "ticket.called"
    TICKET_RECALLED = "ticket.recalled"
    TICKET_STARTED = "ticket.started"
    TICKET_FINISHED = "ticket.finished"
    TICKET_NO_SHOW = "ticket.no_show"
    TICKET_SUSPENDED = "ticket.suspended"
    TICKET_CANCELLED = "ticket.cancelled"
    TICKET_EXPIRED = "ticket.expired"
    TICKET_TRANSFERRED = "ticket.transferred"
    TICKET_RATED = "ticket.rated"
    RATING_REQUESTED = "rating.requested"
    WINDOW_CHANGED = "window.changed"
    HALL_CHANGED = "hall.changed"
    # kiosk printing (the device host owning the kiosk's printer claims the job)
    PRINT_REQUESTED = "print.requested"
    PRINT_DONE = "print.done"
    # devices and their host (ephemeral)
    DEVICE_HEALTH = "device.health"
    DEVICE_HOST = "device.host"
    # ID-card sessions at a kiosk (committed by server/kiosk/sessions.py, so every worker hears them; masked only)
    IDENTITY_SESSION = "identity.session"
    IDENTITY_ENDED = "identity.ended"
    IDENTITY_REFUSED = "identity.refused"
    IDENTITY_READ_FAILED = "identity.read_failed"
    # screens, cameras and supervisors (ephemeral)
    ANNOUNCEMENT_READY = "announcement.ready"
    CAMERA_ANALYSIS = "camera.analysis"
    ALERT_RAISED = "alert.raised"
    ALERT_CLEARED = "alert.cleared"
    ALERT_CLERK_ABSENT = "alert.clerk_absent"
    ALERT_CROWDING = "alert.crowding"
    ALERT_BAD_RATING = "alert.bad_rating"
    ALERT_LONG_WAIT = "alert.long_wait"
    ALERT_CASE_OVERDUE = "alert.case_overdue"  # a 差评 case passed a deadline (server/store/cases.py)
    ALERT_CASE_ESCALATED = "alert.case_escalated"  # still overdue ratings.escalate_days later (server/store/cases.py)
    WINDOW_NOTICE = "window.notice"  # a supervision rule's alert for a window's console (server/alerts/); staff only
    # the hall configuration changed (committed; every process reloads it, server/config_live/)
    CONFIG_CHANGED = "config.changed"
    # a kiosk's code scanner read a code (ephemeral; server/scanning/: the kiosk page checks the booking in)
    CODE_SCANNED = "code.scanned"

    @property
    def is_ticket(self) -> bool:
        """A ``ticket.*`` event (its payload is a TicketEvent or RatingEvent)."""
        return self.value.startswith("ticket.")


class Payload(Protocol):
    """What every payload offers: its JSON-ready ``data`` and the way back."""

    def to_dict(self) -> dict[str, Any]:
        """The ``data`` of the wire form."""
        ...


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """A ticket changed; ``window`` is the window holding or releasing it, ``child`` a transfer's new ticket."""

    ticket: TicketView
    window: WindowView | None = None
    child: TicketView | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"ticket", "window"?, "child"?}``."""
        data: dict[str, Any] = {"ticket": self.ticket.to_dict()}
        if self.window is not None:
            data["window"] = self.window.to_dict()
        if self.child is not None:
            data["child"] = self.child.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TicketEvent:
        """The inverse of ``to_dict``."""
        window, child = data.get("window"), data.get("child")
        return cls(TicketView.from_dict(data["ticket"]),
                   WindowView.from_dict(window) if isinstance(window, dict) else None,
                   TicketView.from_dict(child) if isinstance(child, dict) else None)


@dataclass(frozen=True, slots=True)
class RatingRequest:
    """``rating.requested``: the evaluator of window ``window`` should ask to rate ``ticket``."""

    ticket: TicketView
    window: int

    def to_dict(self) -> dict[str, Any]:
        """``{"ticket", "window": <number>}``."""
        return {"ticket": self.ticket.to_dict(), "window": self.window}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RatingRequest:
        """The inverse of ``to_dict``."""
        return cls(TicketView.from_dict(data["ticket"]), int(data["window"]))


@dataclass(frozen=True, slots=True)
class RatingInfo:
    """One 好差评: level 1–5, its label, whether it is 差评, where it came from."""

    level: int
    label: str
    bad: bool
    source: str
    # 好差评 closed loop (server/store/ratings.py): 评价编号, 差评 reason codes, the case it opened;
    # the free text is never in an event (it is stored in ``ratings.text`` only)
    uid: str | None = None
    reasons: tuple[str, ...] = ()
    case_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"level": self.level, "label": self.label, "bad": self.bad, "source": self.source,
                "uid": self.uid, "reasons": list(self.reasons), "case_id": self.case_id}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RatingInfo:
        """The inverse of ``to_dict``."""
        case = data.get("case_id")
        return cls(int(data["level"]), str(data.get("label", "")), bool(data.get("bad")), str(data.get("source", "")),
                   data.get("uid"), tuple(str(r) for r in data.get("reasons") or ()),
                   int(case) if case is not None else None)


@dataclass(frozen=True, slots=True)
class RatingEvent:
    """``ticket.rated``: the ticket (with its ``rating``) and the rating given."""

    ticket: TicketView
    rating: RatingInfo

    def to_dict(self) -> dict[str, Any]:
        """``{"ticket", "rating"}``."""
        return {"ticket": self.ticket.to_dict(), "rating": self.rating.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RatingEvent:
        """The inverse of ``to_dict``."""
        return cls(TicketView.from_dict(data["ticket"]), RatingInfo.from_dict(data["rating"]))


@dataclass(frozen=True, slots=True)
class WindowEvent:
    """``window.changed``: opened, closed, paused or resumed."""

    window: WindowView

    def to_dict(self) -> dict[str, Any]:
        """``{"window"}``."""
        return {"window": self.window.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WindowEvent:
        """The inverse of ``to_dict``."""
        return cls(WindowView.from_dict(data["window"]))


@dataclass(frozen=True, slots=True)
class DataEvent:
    """An ephemeral event's payload (device health, identity sessions, alerts, announcements, print jobs).

    Its producer owns the shape; the mapping is copied, so the event stays immutable in practice.
    """

    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A copy of the mapping."""
        return dict(self.data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataEvent:
        """Wrap a mapping."""
        return cls(dict(data))


_TICKET_TYPES = {t for t in EventType if t.is_ticket} - {EventType.TICKET_RATED}
_PAYLOADS: dict[EventType, Any] = {
    **dict.fromkeys(_TICKET_TYPES, TicketEvent),
    EventType.TICKET_RATED: RatingEvent,
    EventType.RATING_REQUESTED: RatingRequest,
    EventType.WINDOW_CHANGED: WindowEvent,
}


def payload_type(type_: EventType) -> Any:
    """The payload class of an event type (``DataEvent`` for ephemeral ones)."""
    return _PAYLOADS.get(type_, DataEvent)


@dataclass(frozen=True, slots=True)
class Event:
    """One event: its type, topics and typed payload; ``seq``/``at`` once committed to the outbox."""

    type: EventType
    topics: tuple[str, ...]
    payload: Any  # one of the payload classes above (see ``payload_type``)
    seq: int | None = None
    at: str | None = None
    # encoded wire forms by variant, computed once and shared by every websocket client
    _frames: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def data(self) -> dict[str, Any]:
        """The payload's JSON-ready ``data``."""
        data: dict[str, Any] = self.payload.to_dict()
        return data

    @property
    def ticket(self) -> TicketView | None:
        """The ticket the event is about, if any."""
        ticket = getattr(self.payload, "ticket", None)
        return ticket if isinstance(ticket, TicketView) else None

    @property
    def window(self) -> WindowView | None:
        """The window view the event carries, if any."""
        window = getattr(self.payload, "window", None)
        return window if isinstance(window, WindowView) else None

    @property
    def window_number(self) -> int | None:
        """The window the event concerns: the carried window, a rating request's window, or the ticket's."""
        window = getattr(self.payload, "window", None)
        if isinstance(window, WindowView):
            return window.number
        if isinstance(window, int):
            return window
        ticket = self.ticket
        return ticket.window if ticket is not None else None

    def committed(self, seq: int, at: str) -> Event:
        """The same event as written to the outbox."""
        return Event(self.type, self.topics, self.payload, seq, at)

    def to_message(self) -> dict[str, Any]:
        """The wire form (``seq``/``at`` only for committed events)."""
        message: dict[str, Any] = {"type": self.type.value}
        if self.seq is not None:
            message["seq"] = self.seq
        message["topics"] = list(self.topics)
        if self.at is not None:
            message["at"] = self.at
        message["data"] = self.data
        return message

    def frame(self, variant: str = "full",
              transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> str:
        """The wire form as compact JSON, encoded once per event and variant (every subscriber shares it).

        ``transform`` (e.g. removing masked identities for public screens) shapes the message of
        a named ``variant``; the first caller of a variant fixes its text.
        """
        text = self._frames.get(variant)
        if text is None:
            message = self.to_message()
            text = json.dumps(transform(message) if transform else message, ensure_ascii=False,
                              separators=(",", ":"))
            self._frames[variant] = text
        return text

    @classmethod
    def of(cls, type_: EventType | str, topics: tuple[str, ...] | list[str], data: Mapping[str, Any],
           seq: int | None = None, at: str | None = None) -> Event:
        """Build an event from its parts, parsing ``data`` into the type's payload (ValueError if unknown type)."""
        etype = EventType(type_)
        return cls(etype, tuple(topics), payload_type(etype).from_dict(data), seq, at)

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Event:
        """Parse the wire form (from the outbox or ``/ws``); ValueError/KeyError/TypeError when malformed."""
        seq = message.get("seq")
        at = message.get("at")
        return cls.of(message["type"], tuple(message.get("topics") or ()), message.get("data") or {},
                      int(seq) if seq is not None else None, str(at) if at is not None else None)
