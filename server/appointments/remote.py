"""远程取号 in the store (table ``remote_tickets``): taken on a phone, confirmed at a kiosk, or it lapses.

A remote ticket is not in the queue until it is confirmed (at a kiosk, by its code or QR):
then a real ticket is issued whose place (``sort_at``) is the time it was taken. Unconfirmed
after ``appointments.remote.confirm_minutes`` it lapses. Only today, only while the hall is
open, only for services with ``remote: true``; at most N per phone number and per address a day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update

from server.appointments.book import new_code
from server.appointments.errors import not_found, refused, too_many
from server.queue.adapt import calendar_of
from server.queue.hours import check_open
from server.store.ratings import audit
from server.store.tables import remote_tickets

if TYPE_CHECKING:
    from server.config import HallConfig
    from server.store import QueueStore
    from server.store.base import Tx

PENDING, CONFIRMED, LAPSED = "pending", "confirmed", "lapsed"


@dataclass(frozen=True, slots=True)
class RemoteTicket:
    """A remote ticket as stored (masked phone only)."""

    id: int
    code: str
    service: str
    business_day: str
    state: str
    masked_phone: str
    taken_at: int
    expires_at: int
    ticket_id: int | None

    def public(self, config: HallConfig) -> dict[str, Any]:
        """What the phone page and the kiosk show."""
        tz = config.hall.tz
        svc = config.service_map.get(self.service)
        return {"code": self.code, "service": self.service, "service_name": svc.name if svc else self.service,
                "service_name_en": (svc.name_en or svc.name) if svc else self.service,
                "state": self.state, "masked_phone": self.masked_phone,
                "taken_at": dt.datetime.fromtimestamp(self.taken_at / 1000, tz).isoformat(),
                "confirm_by": dt.datetime.fromtimestamp(self.expires_at / 1000, tz).isoformat(),
                "ticket_id": self.ticket_id}


def _row(r: Any) -> RemoteTicket:
    return RemoteTicket(int(r.id), r.code, r.service, r.business_day, r.state, r.masked_phone, int(r.taken_at),
                        int(r.expires_at), r.ticket_id)


class RemoteTickets:
    """Take, read, lapse and confirm remote tickets (sync; run on the store's threads)."""

    def __init__(self, config: Callable[[], HallConfig], store: QueueStore) -> None:
        self._config = config
        self.store = store

    def take(self, service: str, phone_hash: str, masked_phone: str, address_hash: str, *,
             actor: str) -> RemoteTicket:
        """A remote ticket for today: the service allows it, the hall is open, the limits hold."""
        config = self._config()
        config.service(service)
        rules = config.appointments.remote
        svc_rules = config.appointments.service(service)
        if not rules.enabled or svc_rules is None or not svc_rules.remote:
            raise refused("remote_not_offered")
        with self.store._tx() as tx:
            check_open(calendar_of(config.hall), tx.now)
            self._lapse(tx)
            c = remote_tickets.c
            day = tx.day
            by_phone = tx.conn.execute(select(func.count()).where(
                c.phone_hash == phone_hash, c.business_day == day, c.state != "cancelled")).scalar_one()
            if by_phone >= rules.per_phone_daily:
                raise too_many("remote_limit_phone")
            by_address = tx.conn.execute(select(func.count()).where(
                c.address_hash == address_hash, c.business_day == day)).scalar_one()
            if by_address >= rules.per_address_daily:
                raise too_many("remote_limit_address")
            code = new_code()
            tx.conn.execute(insert(remote_tickets), {
                "code": code, "service": service, "business_day": day, "state": PENDING,
                "phone_hash": phone_hash, "masked_phone": masked_phone, "address_hash": address_hash,
                "taken_at": tx.ms, "expires_at": tx.ms + rules.confirm_minutes * 60_000, "ticket_id": None})
            audit(tx, actor, "remote_ticket.take", f"remote:{code}", {"service": service, "masked_phone": masked_phone})
            got = self._get(tx.conn, code)
        return got

    def get(self, code: str) -> RemoteTicket:
        """The remote ticket with this code (lapsed ones read as lapsed)."""
        with self.store._tx() as tx:
            self._lapse(tx)
            got = self._get(tx.conn, code)
        return got

    def sweep(self) -> int:
        """Lapse every unconfirmed remote ticket past its time limit; returns how many."""
        with self.store._tx() as tx:
            n = self._lapse(tx)
        return n

    def claim(self, code: str, *, actor: str) -> RemoteTicket:
        """Take a pending remote ticket for confirmation (422 ``remote_lapsed`` once lapsed)."""
        with self.store._tx() as tx:
            self._lapse(tx)
            r = self._get(tx.conn, code)
            if r.state == LAPSED:
                raise refused("remote_lapsed", confirm_by=r.public(self._config())["confirm_by"])
            if r.state != PENDING:
                raise refused("appointment_not_open", state=r.state)
            tx.conn.execute(update(remote_tickets).where(remote_tickets.c.id == r.id, remote_tickets.c.state == PENDING)
                            .values(state=CONFIRMED))
            audit(tx, actor, "remote_ticket.confirm", f"remote:{r.code}", {})
        return r

    def unclaim(self, r: RemoteTicket) -> None:
        """Issuing failed after the claim: pending again."""
        with self.store._tx() as tx:
            tx.conn.execute(update(remote_tickets).where(remote_tickets.c.id == r.id).values(state=PENDING))

    def set_ticket(self, r: RemoteTicket, ticket_id: int) -> None:
        """Record the ticket the confirmation issued."""
        with self.store._tx() as tx:
            tx.conn.execute(update(remote_tickets).where(remote_tickets.c.id == r.id).values(ticket_id=ticket_id))

    def _get(self, conn: Any, code: str) -> RemoteTicket:
        row = conn.execute(select(remote_tickets).where(remote_tickets.c.code == code.strip().upper())).first()
        if row is None:
            raise not_found()
        return _row(row)

    def _lapse(self, tx: Tx) -> int:
        c = remote_tickets.c
        res = tx.conn.execute(update(remote_tickets).where(c.state == PENDING, c.expires_at <= tx.ms)
                              .values(state=LAPSED))
        return int(res.rowcount or 0)
