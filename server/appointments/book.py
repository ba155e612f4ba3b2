"""Bookings in the store (table ``appointments``): book, read, cancel, reschedule, limits, audit.

Every change writes one ``audit_log`` row in the same transaction (``appointment.<action>``,
target ``appointment:<code>``). A wrong code and a wrong ID number answer the same 404. On
PostgreSQL a transaction-scoped advisory lock per service and day keeps two bookings from
taking the last place of a slot at once (SQLite writes are serial anyway).
"""

from __future__ import annotations

import datetime as dt
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, text, update

from server.appointments import slots as S
from server.appointments.errors import not_found, refused, slot_full
from server.appointments.people import Person
from server.store.ratings import audit
from server.store.tables import appointments

if TYPE_CHECKING:
    from server.config import HallConfig
    from server.store import QueueStore
    from server.store.base import Tx

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
CODE_LEN = 8
BOOKED, CANCELLED, CHECKED_IN, MISSED = "booked", "cancelled", "checked_in", "missed"


def new_code() -> str:
    """A random booking code (40 bits)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LEN))


def to_ms(t: dt.datetime) -> int:
    """Aware time → ms since the epoch."""
    return int(t.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Appointment:
    """One booking as stored (masked forms only)."""

    id: int
    code: str
    service: str
    day: str
    slot_at: int
    slot_minutes: int
    state: str
    key_hash: str
    masked_id: str
    masked_name: str
    phone_hash: str | None
    masked_phone: str | None
    channel: str
    ticket_id: int | None
    created_at: int

    def start(self, tz: dt.tzinfo) -> dt.datetime:
        """The slot start in the hall's zone."""
        return dt.datetime.fromtimestamp(self.slot_at / 1000, tz)

    def public(self, config: HallConfig) -> dict[str, Any]:
        """What the citizen, the kiosk and staff see (never a hash)."""
        start = self.start(config.hall.tz)
        svc = config.service_map.get(self.service)
        return {
            "code": self.code, "service": self.service, "service_name": svc.name if svc else self.service,
            "service_name_en": (svc.name_en or svc.name) if svc else self.service,
            "day": self.day, "slot": start.strftime("%H:%M"), "start": start.isoformat(),
            "end": (start + dt.timedelta(minutes=self.slot_minutes)).isoformat(), "state": self.state,
            "masked_name": self.masked_name, "masked_id": self.masked_id, "masked_phone": self.masked_phone,
            "channel": self.channel, "ticket_id": self.ticket_id,
        }


@dataclass(frozen=True, slots=True)
class Reminder:
    """A booking of tomorrow for the reminder notices (server/notices/)."""

    code: str
    service: str
    service_name: str
    slot_at: dt.datetime
    masked_name: str
    phone_hash: str | None
    masked_phone: str | None


def _row(r: Any) -> Appointment:
    return Appointment(int(r.id), r.code, r.service, r.day, int(r.slot_at), int(r.slot_minutes), r.state,
                       r.key_hash, r.masked_id, r.masked_name, r.phone_hash, r.masked_phone, r.channel,
                       r.ticket_id, int(r.created_at))


class AppointmentBook:
    """The bookings of a hall: sync methods run on the store's threads (``hall.run`` / ``hall.write``)."""

    def __init__(self, config: Callable[[], HallConfig], store: QueueStore) -> None:
        self._config = config
        self.store = store

    @property
    def config(self) -> HallConfig:
        """The current hall configuration."""
        return self._config()

    def now(self) -> dt.datetime:
        """The store's clock in the hall's zone."""
        return self.store.clock().astimezone(self.config.hall.tz)

    # -- reads ---------------------------------------------------------------------------------

    def _booked(self, conn: Any, service: str, day: dt.date) -> dict[int, int]:
        c = appointments.c
        rows = conn.execute(select(c.slot_at, func.count()).where(
            c.service == service, c.day == day.isoformat(), c.state.in_((BOOKED, CHECKED_IN, MISSED)),
        ).group_by(c.slot_at)).all()
        return {int(r[0]): int(r[1]) for r in rows}

    def _slots(self, conn: Any, service: str, day: dt.date) -> list[S.Slot]:
        booked = self._booked(conn, service, day)
        return [S.Slot(s.start, s.minutes, s.capacity, booked.get(to_ms(s.start), 0))
                for s in S.day_slots(self.config, service, day)]

    def slots(self, service: str, day: dt.date) -> dict[str, Any]:
        """``GET /api/appointments/slots``: the day's slots with free places, or why the day is closed."""
        config = self.config
        config.service(service)
        now = self.now()
        why = S.day_refusal(config, service, day, now)
        with self.store._read() as conn:
            found = self._slots(conn, service, day) if why in (None, "booking_released") else []
        items = []
        for s in found:
            item = s.to_dict()
            item["bookable"] = why is None and S.slot_refusal(s, now) is None and s.free > 0
            items.append(item)
        return {"service": service, "date": day.isoformat(), "bookable": why is None,
                "reason": _reason(why), "release_at": S.release_time(config, day).isoformat(), "slots": items,
                "days": [d.isoformat() for d in S.bookable_days(config, service, now)]}

    def next_free(self, conn: Any, service: str, after: dt.datetime, limit: int = 5) -> list[dict[str, Any]]:
        """The next bookable slots with free places after ``after`` (for ``slot_full``)."""
        out: list[dict[str, Any]] = []
        now = self.now()
        for day in S.bookable_days(self.config, service, now):
            for s in self._slots(conn, service, day):
                if s.start > after and s.free > 0 and S.slot_refusal(s, now) is None:
                    out.append(s.to_dict() | {"date": day.isoformat()})
                    if len(out) >= limit:
                        return out
        return out

    def get(self, code: str, key_hash: str | None) -> Appointment:
        """The booking with this code (and ID hash, unless staff asks); 404 alike for either wrong."""
        with self.store._read() as conn:
            return self._get(conn, code, key_hash)

    def _get(self, conn: Any, code: str, key_hash: str | None, lock: bool = False) -> Appointment:
        c = appointments.c
        q = select(appointments).where(c.code == code.strip().upper())
        if lock and self.store.pg:
            q = q.with_for_update()
        row = conn.execute(q).first()
        if row is None or (key_hash is not None and not secrets.compare_digest(row.key_hash, key_hash)):
            raise not_found()
        return _row(row)

    def for_person(self, key_hash: str, day: dt.date) -> list[Appointment]:
        """Bookings of one person on ``day`` not yet checked in (missed ones too: late arrivals), earliest first."""
        c = appointments.c
        with self.store._read() as conn:
            rows = conn.execute(select(appointments).where(
                c.key_hash == key_hash, c.day == day.isoformat(), c.state.in_((BOOKED, MISSED)))
                .order_by(c.slot_at)).all()
        return [_row(r) for r in rows]

    def bookings_on(self, day: dt.date) -> list[Appointment]:
        """Every open booking of ``day`` (the reminder notices' query)."""
        c = appointments.c
        with self.store._read() as conn:
            rows = conn.execute(select(appointments).where(c.day == day.isoformat(), c.state == BOOKED)
                                .order_by(c.slot_at, c.id)).all()
        return [_row(r) for r in rows]

    def tomorrow(self, today: dt.date) -> list[Reminder]:
        """The bookings of the day after ``today``, for 预约提醒 the day before."""
        config = self.config
        out = []
        for a in self.bookings_on(today + dt.timedelta(days=1)):
            svc = config.service_map.get(a.service)
            out.append(Reminder(a.code, a.service, svc.name if svc else a.service, a.start(config.hall.tz),
                                a.masked_name, a.phone_hash, a.masked_phone))
        return out

    # -- writes --------------------------------------------------------------------------------

    def book(self, service: str, day: dt.date, slot: str, who: Person, *, channel: str, actor: str) -> Appointment:
        """Book a slot: day and slot checked, per-person limits and the no-show rule, capacity (409 ``slot_full``)."""
        config = self.config
        config.service(service)
        with self.store._tx() as tx:
            self._sweep_missed(tx)
            self._lock_day(tx, service, day)
            start = self._check_slot(tx, service, day, slot, exclude=None)
            self._check_person(tx, who.key_hash, service, day, exclude=None)
            code = new_code()
            row = {"code": code, "service": service, "day": day.isoformat(), "slot_at": to_ms(start.start),
                   "slot_minutes": start.minutes, "state": BOOKED, "key_hash": who.key_hash,
                   "masked_id": who.masked_id, "masked_name": who.masked_name, "phone_hash": who.phone_hash,
                   "masked_phone": who.masked_phone, "channel": channel, "ticket_id": None,
                   "created_at": tx.ms, "updated_at": tx.ms}
            tx.conn.execute(insert(appointments), row)
            audit(tx, actor, "appointment.book", f"appointment:{code}",
                  {"service": service, "day": day.isoformat(), "slot": slot, "channel": channel,
                   "masked_id": who.masked_id})
            got = self._get(tx.conn, code, None)
        return got

    def cancel(self, code: str, key_hash: str | None, *, actor: str) -> Appointment:
        """Cancel an open booking (404 alike for a wrong code or ID number; 409 when not open)."""
        with self.store._tx() as tx:
            a = self._get(tx.conn, code, key_hash, lock=True)
            self._check_open(a)
            tx.conn.execute(update(appointments).where(appointments.c.id == a.id)
                            .values(state=CANCELLED, updated_at=tx.ms))
            audit(tx, actor, "appointment.cancel", f"appointment:{a.code}", {"day": a.day, "slot_at": a.slot_at})
            got = self._get(tx.conn, a.code, None)
        return got

    def reschedule(self, code: str, key_hash: str | None, day: dt.date, slot: str, *, actor: str) -> Appointment:
        """Move an open booking to another slot (same checks as booking, the booking itself not counted)."""
        with self.store._tx() as tx:
            a = self._get(tx.conn, code, key_hash, lock=True)
            self._check_open(a)
            self._lock_day(tx, a.service, day)
            start = self._check_slot(tx, a.service, day, slot, exclude=a.id)
            self._check_person(tx, a.key_hash, a.service, day, exclude=a.id)
            tx.conn.execute(update(appointments).where(appointments.c.id == a.id).values(
                day=day.isoformat(), slot_at=to_ms(start.start), slot_minutes=start.minutes, updated_at=tx.ms))
            audit(tx, actor, "appointment.reschedule", f"appointment:{a.code}",
                  {"from": {"day": a.day, "slot_at": a.slot_at}, "to": {"day": day.isoformat(), "slot": slot}})
            got = self._get(tx.conn, a.code, None)
        return got

    def mark_checked_in(self, tx: Tx, a: Appointment, ticket_id: int, actor: str) -> None:
        """In the check-in's transaction: the booking became ticket ``ticket_id``."""
        tx.conn.execute(update(appointments).where(appointments.c.id == a.id)
                        .values(state=CHECKED_IN, ticket_id=ticket_id, updated_at=tx.ms))
        audit(tx, actor, "appointment.check_in", f"appointment:{a.code}", {"ticket_id": ticket_id})

    def sweep_missed(self) -> int:
        """Mark bookings whose check-in window has passed as missed (the no-show record)."""
        with self.store._tx() as tx:
            n = self._sweep_missed(tx)
        return n

    # -- checks (inside the write transaction) -------------------------------------------------

    def _sweep_missed(self, tx: Tx) -> int:
        late_ms = self.config.appointments.late_minutes * 60_000
        c = appointments.c
        res = tx.conn.execute(update(appointments).where(c.state == BOOKED, c.slot_at + late_ms < tx.ms)
                              .values(state=MISSED, updated_at=tx.ms))
        return int(res.rowcount or 0)

    def _lock_day(self, tx: Tx, service: str, day: dt.date) -> None:
        if self.store.pg:
            key = zlib.crc32(f"appointments:{service}:{day.isoformat()}".encode())
            tx.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    @staticmethod
    def _check_open(a: Appointment) -> None:
        if a.state != BOOKED:
            raise refused("appointment_not_open", state=a.state)

    def _check_slot(self, tx: Tx, service: str, day: dt.date, slot: str, exclude: int | None) -> S.Slot:
        config = self.config
        now = tx.now.astimezone(config.hall.tz)
        why = S.day_refusal(config, service, day, now)
        if why is not None:
            raise refused(why, reason=_reason(why), date=day.isoformat())
        found = next((s for s in self._slots(tx.conn, service, day) if s.key == slot), None)
        if found is None:
            raise refused("unknown_slot", slot=slot)
        if S.slot_refusal(found, now) is not None:
            raise refused("booking_too_soon", slot=slot)
        booked = found.booked
        if exclude is not None:
            c = appointments.c
            mine = tx.conn.execute(select(c.id).where(c.id == exclude, c.slot_at == to_ms(found.start),
                                                      c.state == BOOKED)).first()
            booked -= 1 if mine is not None else 0
        if booked >= found.capacity:
            raise slot_full(self.next_free(tx.conn, service, found.start))
        return found

    def _check_person(self, tx: Tx, key_hash: str, service: str, day: dt.date, exclude: int | None) -> None:
        rules = self.config.appointments
        c = appointments.c
        others = c.id != exclude if exclude is not None else c.id.is_not(None)
        rows = tx.conn.execute(select(c.service, c.day, c.state, c.slot_at, c.updated_at).where(
            c.key_hash == key_hash, others)).all()
        open_ = [r for r in rows if r.state == BOOKED]
        if sum(1 for r in open_ if r.service == service and r.day == day.isoformat()) >= rules.per_person_day:
            raise refused("booking_limit_day", limit=rules.per_person_day)
        if len(open_) >= rules.per_person_open:
            raise refused("booking_limit", limit=rules.per_person_open)
        if rules.no_show_limit is not None:
            since = tx.ms - rules.no_show_window_days * 86_400_000
            missed = sorted(int(r.slot_at) for r in rows if r.state == MISSED and r.slot_at >= since)
            if len(missed) >= rules.no_show_limit:
                until = missed[-1] + rules.no_show_block_days * 86_400_000
                if tx.ms < until:
                    until_at = dt.datetime.fromtimestamp(until / 1000, self.config.hall.tz)
                    raise refused("booking_blocked", until=until_at.isoformat(), missed=len(missed))


def _reason(code: str | None) -> dict[str, str] | None:
    if code is None:
        return None
    from server.errors import text_of

    zh, en = text_of(code)
    return {"code": code, "zh": zh, "en": en}


__all__ = ["Appointment", "AppointmentBook", "Reminder"]
