"""现场签到 at a kiosk: an ID card on the reader, a booking QR on the scanner, or a typed code.

``check_in(kiosks, kiosk, code)`` (called by ``KioskService.check_in``, server/kiosk/service.py):

* a booking within its window (``early_minutes`` before the slot's start to ``late_minutes``
  after) becomes an ``appointment``-class ticket whose ``sort_at`` is the slot start, so
  appointments are called in slot order; an early arrival gets the note "wait for your slot";
* a later arrival becomes a normal walk-in ticket, or is refused (``appointments.late``);
* too early is refused with the slot time; a 远程取号 code is confirmed into a ticket keeping
  the place it was taken at (server/appointments/remote.py).

The booking is claimed before the ticket is issued (so two kiosks cannot both turn it into
a ticket) and released again if issuing is refused.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from server.appointments.book import BOOKED, CHECKED_IN, MISSED, Appointment, AppointmentBook
from server.appointments.errors import not_found, refused
from server.appointments.remote import RemoteTickets
from server.errors import HallqError, NotFound, text_of
from server.queue.entities import IdentityRef
from server.store.ratings import audit
from server.store.tables import appointments

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from server.kiosk.jobs import PrintStatus
    from server.kiosk.service import KioskService
    from server.store.views import IssuedTicket


@dataclass(frozen=True, slots=True)
class CheckIn:
    """What a check-in produced: the ticket, its print outcome, the booking and a note for the screen."""

    issued: IssuedTicket
    print: PrintStatus
    appointment: dict[str, Any] | None = None
    remote: dict[str, Any] | None = None
    note: dict[str, str] = field(default_factory=dict)


def _note(code: str, **fmt: str) -> dict[str, str]:
    zh, en = text_of(code)
    return {"code": code, "zh": zh.format(**fmt), "en": en.format(**fmt)}


def parse_code(text: str) -> str:
    """A booking code from a scanned line or typed text: ``…/book#code=XXXX`` or the bare code."""
    t = text.strip()
    if "code=" in t:
        t = t.split("code=", 1)[1].split("&", 1)[0]
    return t.strip().upper()[:16]


def window(kiosks: KioskService, a: Appointment, now: dt.datetime) -> str:
    """Where ``now`` falls for the booking: early_refused, early, on_time, late."""
    rules = kiosks.config.appointments
    start = a.start(kiosks.config.hall.tz)
    if now < start - dt.timedelta(minutes=rules.early_minutes):
        return "early_refused"
    if now < start:
        return "early"
    if now <= start + dt.timedelta(minutes=rules.late_minutes):
        return "on_time"
    return "late"


async def check_in(kiosks: KioskService, kiosk: str, code: str | None, *,
                   notices: Callable[[], Any] | None = None) -> CheckIn:
    """Turn the booking (of the card on the kiosk, or of ``code``) or a remote ticket into a ticket.

    ``notices()`` gives the SMS notifier (server/notices/): the booking's remembered mobile
    number moves to the ticket, so 即将到号 / 请到X号窗口 reach an appointment ticket too.
    """
    kiosks.sessions.check_kiosk(kiosk)
    config = kiosks.config
    book = AppointmentBook(lambda: kiosks.config, kiosks.store)
    session = await kiosks.sessions.session(kiosk)
    now = kiosks.store.clock().astimezone(config.hall.tz)
    if code:
        wanted = parse_code(code)
        try:
            a = await kiosks.hall.run(book.get, wanted, None)
        except NotFound:
            return await _confirm_remote(kiosks, kiosk, wanted, session, notices)
    else:
        if session is None:
            raise not_found()
        # a booking outside this day's window is refused below; a missed one is simply not found
        found = await kiosks.hall.run(book.for_person, session.key_hash, now.date())
        if not found:
            raise not_found()
        a = found[0]
    if a.state not in (BOOKED, MISSED) or a.day != now.date().isoformat():
        raise refused("appointment_not_today" if a.state in (BOOKED, MISSED) else "appointment_not_open",
                      state=a.state, day=a.day)
    # a booking already marked missed (its window passed, a sweep ran) is a late arrival like any other
    where = "late" if a.state == MISSED else window(kiosks, a, now)
    slot = a.start(config.hall.tz).strftime("%H:%M")
    if where == "early_refused":
        raise refused("checkin_too_early", slot_at=a.start(config.hall.tz).isoformat(), slot=slot,
                      early_minutes=config.appointments.early_minutes)
    if where == "late" and config.appointments.late == "refuse":
        raise refused("checkin_too_late", slot_at=a.start(config.hall.tz).isoformat(), slot=slot)
    actor = f"kiosk:{kiosk}"
    if not await kiosks.hall.write(_claim, kiosks, a, actor):
        raise refused("appointment_not_open", state="checked_in")
    identity = IdentityRef(a.key_hash, a.masked_id, a.masked_name)
    try:
        if where == "late":
            result = await kiosks.hall.issue(a.service, channel="kiosk", priority="normal", identity=identity,
                                             kiosk=kiosk, actor=actor)
            note = _note("checkin_late_walk_in", slot=slot)
        else:
            result = await kiosks.hall.issue(a.service, channel="appointment", priority="appointment",
                                             identity=identity, kiosk=kiosk, actor=actor, sort_at=a.slot_at)
            note = _note("checkin_early" if where == "early" else "checkin_on_time", slot=slot)
    except HallqError:
        await kiosks.hall.write(_unclaim, kiosks, a)
        raise
    issued = _issued(result)
    await kiosks.hall.write(_set_ticket, kiosks, a, issued.ticket.id)
    if session is not None:
        await kiosks.sessions.after_ticket(session)
    await _move_phone(notices, f"appointment:{a.code}", issued.ticket.id)
    printed = await kiosks.print(kiosk, issued.ticket.id)
    data = a.public(config) | {"state": CHECKED_IN, "ticket_id": issued.ticket.id}
    return CheckIn(issued, printed, appointment=data, note=note)


async def _move_phone(notices: Callable[[], Any] | None, key: str, ticket_id: int) -> None:
    """Hand the booking's number to the ticket's notices; a notice problem never fails the check-in."""
    service = notices() if notices is not None else None
    if service is None or not hasattr(service, "move_phone"):
        return
    try:
        await service.move_phone(key, ticket_id)
    except Exception:  # the ticket is issued and printed either way
        log.exception("check-in: moving the mobile number of %s failed", key)


async def _confirm_remote(kiosks: KioskService, kiosk: str, code: str, session: Any,
                          notices: Callable[[], Any] | None = None) -> CheckIn:
    remote = RemoteTickets(lambda: kiosks.config, kiosks.store)
    actor = f"kiosk:{kiosk}"
    r = await kiosks.hall.write(remote.claim, code, actor=actor)
    identity = (IdentityRef(session.key_hash, session.masked_id, session.masked_name)
                if session is not None else None)
    try:
        result = await kiosks.hall.issue(r.service, channel="web", priority="normal", identity=identity,
                                         kiosk=kiosk, actor=actor, sort_at=r.taken_at)
    except HallqError:
        await kiosks.hall.write(remote.unclaim, r)
        raise
    issued = _issued(result)
    await kiosks.hall.write(remote.set_ticket, r, issued.ticket.id)
    await _move_phone(notices, f"remote:{r.code}", issued.ticket.id)
    printed = await kiosks.print(kiosk, issued.ticket.id)
    data = r.public(kiosks.config) | {"state": "confirmed", "ticket_id": issued.ticket.id}
    return CheckIn(issued, printed, remote=data, note=_note("remote_confirmed"))


def _issued(value: Any) -> IssuedTicket:
    from server.kiosk.service import _issued as issued_of

    return issued_of(value)


def _claim(kiosks: KioskService, a: Appointment, actor: str) -> bool:
    c = appointments.c
    with kiosks.store._tx() as tx:
        res = tx.conn.execute(update(appointments).where(c.id == a.id, c.state == a.state)
                              .values(state=CHECKED_IN, updated_at=tx.ms))
        ok = bool(res.rowcount)
        if ok:
            audit(tx, actor, "appointment.check_in", f"appointment:{a.code}", {"slot_at": a.slot_at})
    return ok


def _unclaim(kiosks: KioskService, a: Appointment) -> None:
    c = appointments.c
    with kiosks.store._tx() as tx:
        tx.conn.execute(update(appointments).where(c.id == a.id, c.state == CHECKED_IN, c.ticket_id.is_(None))
                        .values(state=a.state, updated_at=tx.ms))


def _set_ticket(kiosks: KioskService, a: Appointment, ticket_id: int) -> None:
    with kiosks.store._tx() as tx:
        tx.conn.execute(update(appointments).where(appointments.c.id == a.id)
                        .values(ticket_id=ticket_id, updated_at=tx.ms))
