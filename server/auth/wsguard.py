"""Limits of the websocket ``/ws``: message size and rate, connections per address, principal re-checks.

A message is parsed on the event loop, so its size is capped (uvicorn's ``ws_max_size`` refuses
larger frames before they are buffered, see ``server/auth/serving.py``; this module checks again
for servers run otherwise). A connection's principal is resolved at the handshake and checked
again on every subscribe and every ``RECHECK_SECONDS``: deactivation, a password change or a
revoked device token ends the connection (close 4401) within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from typing import Any, Protocol

from starlette.requests import HTTPConnection

from server.auth.roles import Principal

MAX_MESSAGE = 8 * 1024  # a subscribe of 64 topics of 64 characters fits; JSON parsing stays cheap
MAX_FRAME = 16 * 1024  # uvicorn's ws_max_size (refused with 1009 before buffering)
MAX_SUBSCRIPTIONS = 64
CLOSE_TOO_BIG = 1009
CLOSE_REVOKED = 4401
RECHECK_SECONDS = 2.0


class _Conn(Protocol):
    principal: Principal | None
    tickets: set[int]

    def rebind(self, principal: Principal | None) -> bool: ...


def identity(principal: Principal | None) -> tuple[Any, ...] | None:
    """What must stay the same for a connection to keep its subscriptions."""
    if principal is None:
        return None
    return (principal.role, principal.subject, principal.windows, principal.kiosk, principal.must_change_password,
            principal.epoch, principal.account_id)


class ConnectionSlots:
    """Open websocket connections per client address and in all (thread-safe)."""

    def __init__(self, per_address: int, total: int) -> None:
        self.per_address = per_address
        self.total = total
        self._open: dict[str, int] = {}
        self._count = 0
        self._lock = threading.Lock()

    def acquire(self, address: str) -> bool:
        """Take a slot for ``address``; False when it (or the server) has too many."""
        with self._lock:
            held = self._open.get(address, 0)
            if held >= self.per_address or self._count >= self.total:
                return False
            self._open[address] = held + 1
            self._count += 1
            return True

    def release(self, address: str) -> None:
        """Give a slot back."""
        with self._lock:
            held = self._open.get(address, 0)
            if held <= 1:
                self._open.pop(address, None)
            else:
                self._open[address] = held - 1
            if held:
                self._count -= 1

    def held(self, address: str) -> int:
        """Connections open from ``address``."""
        with self._lock:
            return self._open.get(address, 0)


class Guard:
    """The limits of one websocket connection."""

    def __init__(self, ws: HTTPConnection, auth: Any) -> None:
        self.ws = ws
        self.auth = auth
        self.address = ws.client.host if ws.client else "unknown"
        self._admitted = False
        settings = getattr(auth, "settings", None)
        count, _, seconds = str(getattr(settings, "ws_message_rate", "60/10")).partition("/")
        self.rate = (int(count), float(seconds or 10))
        self._hits: deque[float] = deque()

    @classmethod
    def of(cls, ws: HTTPConnection) -> Guard:
        """The guard of a new connection (the app's AuthService holds the shared counters)."""
        return cls(ws, getattr(getattr(ws.app.state, "services", None), "auth", None))

    @property
    def slots(self) -> ConnectionSlots | None:
        """The shared connection counters (None without an AuthService)."""
        slots = getattr(self.auth, "ws_slots", None)
        return slots if isinstance(slots, ConnectionSlots) else None

    def admit(self) -> bool:
        """Take a connection slot for this client's address."""
        slots = self.slots
        self._admitted = slots is None or slots.acquire(self.address)
        return self._admitted

    def release(self) -> None:
        """Give the slot back (connection ended)."""
        slots = self.slots
        if self._admitted and slots is not None:
            slots.release(self.address)
        self._admitted = False

    def hit(self) -> bool:
        """Count one inbound message; False when the client sends faster than the message rate."""
        loop = asyncio.get_running_loop()
        now, (limit, period) = loop.time(), self.rate
        while self._hits and self._hits[0] <= now - period:
            self._hits.popleft()
        if len(self._hits) >= limit:
            return False
        self._hits.append(now)
        return True

    async def recheck(self, conn: _Conn) -> bool:
        """Resolve the principal again; False when it changed (revoked, deactivated, password changed)."""
        if self.auth is None or not hasattr(self.auth, "authenticate"):
            return True
        before = conn.principal
        try:
            now = await self.auth.authenticate(self.ws)
        except Exception:  # the database is away: keep the connection, try again later
            return True
        if identity(now) == identity(before):
            conn.principal = now if now is not None else before
            return True
        conn.rebind(now)
        return before is None  # gaining a principal is fine; losing or changing one ends the connection

    async def watch(self, conn: _Conn) -> None:
        """Re-check a signed-in connection every ``RECHECK_SECONDS``; close it with 4401 when revoked."""
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            if conn.principal is None:
                continue
            if not await self.recheck(conn):
                with contextlib.suppress(Exception):
                    await self.ws.close(code=CLOSE_REVOKED)  # type: ignore[attr-defined]
                return

    async def holder(self, conn: _Conn, ticket_token: Any) -> None:
        """Note the ticket whose token the client showed: its holder may follow ``ticket:<id>``."""
        if self.auth is None or not isinstance(ticket_token, str) or not 0 < len(ticket_token) <= 128:
            return
        try:
            citizen = await self.auth.citizen(self.ws, ticket_token)
        except Exception:
            return
        if citizen is not None and citizen.ticket_id is not None and len(conn.tickets) < MAX_SUBSCRIPTIONS:
            conn.tickets.add(citizen.ticket_id)
