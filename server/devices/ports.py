"""What the device layer needs from the rest of the server, as narrow protocols.

The device manager and the per-family wiring modules depend only on these, so they
can be tested with the real queue server or with a small fake, and the web layer's
facade plugs in at one place (``server/app.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

TicketDict = dict[str, Any]
WindowDict = dict[str, Any]


class QueueOps(Protocol):
    """Queue operations as the device layer calls them (the web facade implements these).

    Every method raises ``server.errors.HallqError`` subclasses on refusal, exactly as
    the HTTP API does; events of the change are published by the facade after commit.
    Tickets and windows come back as the JSON-ready dicts of ``TicketView.to_dict()``
    and ``WindowView.to_dict()``.
    """

    async def issue(
        self,
        service: str,
        *,
        channel: str = "kiosk",
        priority: str = "normal",
        identity: Any = None,
        kiosk: str | None = None,
        actor: str = "system",
    ) -> TicketDict: ...

    async def get_ticket(self, ticket_id: int) -> TicketDict: ...

    async def call_next(self, number: int, *, actor: str = "keypad") -> TicketDict | None: ...

    async def call(self, number: int, ticket_id: int, *, actor: str = "keypad") -> TicketDict: ...

    async def recall(self, number: int, *, actor: str = "keypad") -> TicketDict: ...

    async def start(self, number: int, *, actor: str = "keypad") -> TicketDict: ...

    async def finish(self, number: int, *, actor: str = "keypad") -> TicketDict: ...

    async def no_show(self, number: int, *, actor: str = "keypad") -> TicketDict: ...

    async def suspend(self, number: int, *, actor: str = "keypad") -> TicketDict: ...

    async def transfer(self, number: int, *, to_service: str | None = None, to_window: int | None = None,
                       actor: str = "keypad") -> TicketDict: ...

    async def pause_window(self, number: int, *, reason: str | None = None, actor: str = "keypad") -> WindowDict: ...

    async def resume_window(self, number: int, *, actor: str = "keypad") -> WindowDict: ...

    async def request_rating(self, number: int, *, actor: str = "keypad") -> TicketDict: ...

    async def rate(
        self, ticket_id: int, level: int, *, source: str = "evaluator", actor: str = "citizen"
    ) -> TicketDict: ...

    async def window(self, number: int) -> WindowDict: ...

    async def waiting_for_window(self, number: int) -> list[TicketDict]: ...

    async def snapshot(self) -> dict[str, Any]: ...


# publish(type, topics, data): send a non-ticket event (device health, identity sessions,
# alerts) to websocket subscribers. Ticket events are published by the facade itself.
Publish = Callable[[str, tuple[str, ...], dict[str, Any]], None]

# The device manager receives every committed queue event as a dict
# {"type": "ticket.called", "seq": 12, "topics": [...], "data": {...}} through this.
EventHandler = Callable[[dict[str, Any]], Awaitable[None]]
