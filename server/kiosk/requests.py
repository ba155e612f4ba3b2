"""One tap, one ticket: the kiosk's idempotency keys (table ``kiosk_requests``).

The kiosk page sends an ``Idempotency-Key`` with every ticket tap and the same key when it
retries that tap (timeout, lost answer). The first attempt claims the key before issuing and
binds it to the ticket afterwards; a retry finds the binding and answers the same ticket
again (with its print state), so a lost answer is recovered and never becomes a second
ticket. A refused attempt drops its key: retrying a refused tap is a new attempt. Keys are
kept for a day.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.errors import Conflict, Refused
from server.kiosk.jobs import PrintState, PrintStatus
from server.store.tables import kiosk_requests, print_jobs, tickets
from server.store.views import IssuedTicket

if TYPE_CHECKING:
    from server.store import QueueStore

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
KEEP_MS = 24 * 3600 * 1000
UNBOUND = -1  # the first attempt holds the key but has no ticket yet


def check_key(key: str) -> str:
    """The key as given, or ``bad_idempotency_key`` (422)."""
    if not KEY_PATTERN.match(key):
        raise Refused("取号请求编号无效", "Invalid Idempotency-Key (8–64 letters, digits, - or _)",
                      code="bad_idempotency_key")
    return key


def request_pending() -> Conflict:
    """A retry arrived while the first attempt of the same tap is still issuing."""
    return Conflict("正在取号，请稍候", "This tap is still being issued; retry shortly", code="kiosk_request_pending")


class KioskRequests:
    """The store side of the keys (synchronous: run it on the store's threads)."""

    def __init__(self, store: QueueStore) -> None:
        self.store = store

    def begin(self, kiosk: str, key: str) -> int | None:
        """None when this attempt now owns the key; else the ticket id bound to it (``UNBOUND``: still issuing)."""
        c = kiosk_requests.c
        try:
            with self.store._tx() as tx:
                row = tx.conn.execute(select(c.ticket_id).where(c.kiosk == kiosk, c.key == key)).first()
                if row is not None:
                    return UNBOUND if row.ticket_id is None else int(row.ticket_id)
                tx.conn.execute(delete(kiosk_requests).where(c.created_at < tx.ms - KEEP_MS))
                tx.conn.execute(insert(kiosk_requests).values(kiosk=kiosk, key=key, ticket_id=None,
                                                              created_at=tx.ms))
                return None
        except IntegrityError:  # another worker claimed the same key a moment ago
            return UNBOUND

    def bind(self, kiosk: str, key: str, ticket_id: int) -> None:
        """The first attempt issued ``ticket_id``."""
        c = kiosk_requests.c
        with self.store._tx() as tx:
            tx.conn.execute(update(kiosk_requests).where(c.kiosk == kiosk, c.key == key).values(ticket_id=ticket_id))

    def drop(self, kiosk: str, key: str) -> None:
        """The first attempt was refused (or failed): the key is free again."""
        c = kiosk_requests.c
        with self.store._tx() as tx:
            tx.conn.execute(delete(kiosk_requests).where(c.kiosk == kiosk, c.key == key))

    def bound(self, kiosk: str, key: str) -> int | None:
        """The ticket id bound to the key (None: unknown key or still issuing)."""
        c = kiosk_requests.c
        with self.store._read() as conn:
            value = conn.execute(select(c.ticket_id).where(c.kiosk == kiosk, c.key == key)).scalar()
        return None if value is None else int(value)

    def replay(self, ticket_id: int) -> tuple[IssuedTicket, PrintStatus]:
        """The ticket (with its token) and how its print job went, as the first answer said it."""
        with self.store._read() as conn:
            token = conn.execute(select(tickets.c.token).where(tickets.c.id == ticket_id)).scalar_one()
            job = conn.execute(select(print_jobs.c.state, print_jobs.c.fault)
                               .where(print_jobs.c.ticket_id == ticket_id)
                               .order_by(print_jobs.c.id.desc()).limit(1)).first()
        status = PrintStatus(PrintState(job.state), job.fault) if job is not None else PrintStatus(PrintState.PENDING)
        return IssuedTicket(self.store.get_ticket(ticket_id), str(token)), status
