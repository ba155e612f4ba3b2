"""预约 routes: slots (public), booking, reading, cancelling and rescheduling by code + ID number, staff
bookings, the booking QR, 远程取号, and the kiosk check-in (server/appointments/).

Citizens are anonymous: a booking is found by its code AND the ID number (header
``X-Id-Number``, never in the URL), and a wrong code or a wrong number answer the same 404.
A signed-in staff account (phone bookings) books with ``channel: staff`` and may read or cancel
without the ID number; every change is audited with who made it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from server.api.pages import qr_svg
from server.appointments.book import AppointmentBook
from server.appointments.errors import not_found, refused, too_many
from server.appointments.people import hash_phone, id_problem, mask_phone, normal_phone, person, phone_ok
from server.appointments.remote import RemoteTickets
from server.appointments.verify import Attempts, code_of, new_challenge, sent_today
from server.auth import Role, allow, public
from server.auth.deps import Caller
from server.auth.limits import client_ip
from server.auth.roles import STAFF, Principal
from server.deps import KiosksDep, ServicesDep
from server.errors import HallqError, Unavailable, text_of
from server.http.problems import responses
from server.services import Services

router = APIRouter(prefix="/api", tags=["appointments"])

PUBLIC = [Depends(public("citizens book, read and cancel with a code and their ID number"))]
STAFF_ONLY = [Depends(allow(*STAFF))]
Code = Annotated[str, Path(min_length=4, max_length=16, pattern=r"^[A-Za-z0-9]+$", description="Booking code")]
IdHeader = Annotated[str | None, Header(alias="X-Id-Number", max_length=18)]


class BookingIn(BaseModel):
    """A booking: service, day and slot, the citizen's name, ID number and (optional) mobile number."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=32, examples=["general"])
    date: dt.date
    slot: str = Field(pattern=r"^\d{2}:\d{2}$", examples=["09:30"])
    name: str = Field(min_length=1, max_length=40)
    id_number: str = Field(min_length=15, max_length=18)
    mobile: str | None = Field(default=None, max_length=20)


class RescheduleIn(BaseModel):
    """Move a booking to another day and slot."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date
    slot: str = Field(pattern=r"^\d{2}:\d{2}$")


class RemoteIn(BaseModel):
    """远程取号: the service and the mobile number (and the SMS code when ``appointments.remote.verify_sms``)."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=32)
    mobile: str = Field(max_length=20)
    challenge: str | None = Field(default=None, max_length=120, description="From POST /api/remote-tickets/verify")
    code: str | None = Field(default=None, max_length=8, description="The six digits of the SMS")


class VerifyIn(BaseModel):
    """Ask for the SMS code of a remote ticket."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=32)
    mobile: str = Field(max_length=20)


class CheckInIn(BaseModel):
    """A booking or remote-ticket code (scanned or typed); none: the kiosk's ID-card session."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, max_length=200)


def book_of(services: Services) -> AppointmentBook:
    """The hall's bookings (reads the current configuration on every call)."""
    return AppointmentBook(lambda: services.config, services.store)


def _staff(caller: Principal | None) -> bool:
    return caller is not None and caller.role in STAFF


def _hasher(services: Services) -> Any:
    return services.kiosks.sessions.hasher


def _id_hash(services: Services, caller: Principal | None, id_number: str | None) -> str | None:
    """The key hash to check a booking against; None lets staff through; a missing number is a 404."""
    if id_number:
        if id_problem(id_number) is not None:
            raise not_found()
        return str(_hasher(services)(id_number.strip().upper()))
    if _staff(caller):
        return None
    raise not_found()


def public_base(services: Services, request: Request) -> str:
    """The citizen-facing base URL: ``server.public_url`` when set, else the address the caller used."""
    return (services.config.server.public_url or str(request.base_url)).rstrip("/")


def _out(services: Services, request: Request, a: Any) -> dict[str, Any]:
    data: dict[str, Any] = a.public(services.config)
    data["link"] = f"{public_base(services, request)}/book#code={a.code}"
    data["qr"] = f"/api/appointments/{a.code}/qr.svg"
    return data


def _actor(caller: Principal | None) -> str:
    return caller.actor if caller is not None else "citizen"


@router.get("/appointments/services", dependencies=PUBLIC, summary="Services that take bookings")
async def bookable_services(services: ServicesDep) -> list[dict[str, Any]]:
    """Each bookable service with its name, slot length and the days bookable now."""
    from server.appointments import slots as S

    config = services.config
    now = services.store.clock().astimezone(config.hall.tz)
    out = []
    for rules in config.appointments.services:
        svc = config.service_map.get(rules.code)
        if svc is None or not svc.enabled:
            continue
        out.append({"code": svc.code, "name": svc.name, "name_en": svc.name_en, "category": svc.category,
                    "notice": svc.notice,
                    "slot_minutes": S.slot_minutes(config, svc.code),
                    "remote": rules.remote and config.appointments.remote.enabled,
                    "days": [d.isoformat() for d in S.bookable_days(config, svc.code, now)]})
    return out


@router.get("/appointments/slots", dependencies=PUBLIC, summary="Slots of a service on a day (public)",
            responses=responses(404, 422))
async def get_slots(services: ServicesDep, service: Annotated[str, Query(max_length=32)],
                    date: dt.date) -> dict[str, Any]:
    """Every slot with capacity, booked and free places; ``bookable`` false with a ``reason`` on a closed day."""
    book = book_of(services)
    return await services.hall.run(book.slots, service, date)


@router.post("/appointments", status_code=201, dependencies=PUBLIC, summary="Book a slot",
             responses=responses(404, 409, 422))
async def create(body: BookingIn, services: ServicesDep, request: Request, caller: Caller) -> dict[str, Any]:
    """Book; 409 ``slot_full`` with ``next_free``; 422 with the reason for a closed day, the horizon or a limit."""
    if id_problem(body.id_number) is not None:
        raise refused("invalid_id_number", field="id_number")
    if body.mobile and not phone_ok(body.mobile):
        raise refused("invalid_mobile", field="mobile")
    who = person(_hasher(services), body.id_number, body.name, body.mobile)
    book = book_of(services)
    channel = "staff" if _staff(caller) else "web"
    a = await services.hall.write(book.book, body.service, body.date, body.slot, who, channel=channel,
                                  actor=_actor(caller))
    await _hand_phone(services, f"appointment:{a.code}", body.mobile, a.slot_at + a.slot_minutes * 60_000)
    return _out(services, request, a)


async def _hand_phone(services: Services, key: str, mobile: str | None, erase_at_ms: int) -> None:
    """Give the full mobile number to the notices outbox (server/notices/) if it runs; it is never stored here."""
    notices = services.notices
    if mobile and notices is not None:
        await notices.remember_phone(key, normal_phone(mobile), erase_at_ms=erase_at_ms)


async def _forget_phone(services: Services, key: str) -> None:
    """A cancelled booking: its queued notices are cancelled and the number erased now."""
    if services.notices is not None:
        await services.notices.forget_phone(key)


@router.get("/appointments", dependencies=STAFF_ONLY, summary="Bookings of a day (staff)")
async def list_day(services: ServicesDep, request: Request, date: dt.date) -> list[dict[str, Any]]:
    """Every open booking of ``date`` in slot order (the console's phone-booking list)."""
    book = book_of(services)
    return [_out(services, request, a) for a in await services.hall.run(book.bookings_on, date)]


@router.get("/appointments/{code}", dependencies=PUBLIC, summary="A booking by code and ID number",
            responses=responses(404))
async def read(code: Code, services: ServicesDep, request: Request, caller: Caller,
               id_number: IdHeader = None) -> dict[str, Any]:
    """The booking (masked); 404 alike for a wrong code or ID number."""
    book = book_of(services)
    a = await services.hall.run(book.get, code, _id_hash(services, caller, id_number))
    return _out(services, request, a)


@router.delete("/appointments/{code}", dependencies=PUBLIC, summary="Cancel a booking",
               responses=responses(404, 422))
async def cancel(code: Code, services: ServicesDep, request: Request, caller: Caller,
                 id_number: IdHeader = None) -> dict[str, Any]:
    """Cancel by code + ID number (staff: code only); answers the cancelled booking."""
    book = book_of(services)
    a = await services.hall.write(book.cancel, code, _id_hash(services, caller, id_number), actor=_actor(caller))
    await _forget_phone(services, f"appointment:{a.code}")
    return _out(services, request, a)


@router.post("/appointments/{code}/reschedule", dependencies=PUBLIC, summary="Move a booking",
             responses=responses(404, 409, 422))
async def reschedule(code: Code, body: RescheduleIn, services: ServicesDep, request: Request, caller: Caller,
                     id_number: IdHeader = None) -> dict[str, Any]:
    """Move to another slot under the same rules as booking (409 ``slot_full`` with ``next_free``)."""
    book = book_of(services)
    a = await services.hall.write(book.reschedule, code, _id_hash(services, caller, id_number), body.date,
                                  body.slot, actor=_actor(caller))
    return _out(services, request, a)


@router.get("/appointments/{code}/qr.svg", dependencies=PUBLIC, response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}}, summary="QR code of a booking")
async def booking_qr(code: Code, services: ServicesDep, request: Request) -> Response:
    """SVG QR of ``<public base>/book#code=<code>`` (what the kiosk scanner reads); it reveals nothing else."""
    link = f"{public_base(services, request)}/book#code={code.upper()}"
    return Response(qr_svg(link), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


# -- 远程取号 --------------------------------------------------------------------------------

@router.post("/remote-tickets", status_code=201, dependencies=PUBLIC, summary="Take a number remotely (远程取号)",
             responses=responses(404, 422, 429))
async def take_remote(body: RemoteIn, services: ServicesDep, request: Request) -> dict[str, Any]:
    """Today only, while open; confirm at a kiosk within the time limit or it lapses; limits per phone and address."""
    if not phone_ok(body.mobile):
        raise refused("invalid_mobile", field="mobile")
    hasher = _hasher(services)
    rules = services.config.appointments.remote
    _offered(services, body.service)
    challenge = None
    if rules.verify_sms:  # the code sent by POST /api/remote-tickets/verify, checked before anything is taken
        if not body.challenge or not body.code:
            raise refused("verify_required")
        challenge = VERIFY_ATTEMPTS.check(hasher, body.challenge, body.code, hash_phone(hasher, body.mobile),
                                          body.service, services.store.now_ms(), rules.verify_attempts)
    remote = RemoteTickets(lambda: services.config, services.store)
    try:
        r = await services.hall.write(remote.take, body.service, hash_phone(hasher, body.mobile),
                                      mask_phone(body.mobile), hasher("ip:" + client_ip(request)), actor="citizen")
    except HallqError:
        if challenge is not None:
            VERIFY_ATTEMPTS.release(challenge)
        raise
    if challenge is not None and services.notices is not None:
        await services.notices.forget_phone(challenge.key)  # the code's SMS is done: erase its number copy
    await _hand_phone(services, f"remote:{r.code}", body.mobile, r.expires_at)
    data: dict[str, Any] = r.public(services.config)
    data["link"] = f"{public_base(services, request)}/book#code={r.code}"
    data["qr"] = f"/api/appointments/{r.code}/qr.svg"
    return data


VERIFY_ATTEMPTS = Attempts()  # wrong codes and used challenges (server/appointments/verify.py)


@router.post("/remote-tickets/verify", status_code=202, dependencies=PUBLIC,
             summary="Send the SMS code for a remote ticket (远程取号验证码)", responses=responses(422, 429, 503))
async def send_verify(body: VerifyIn, services: ServicesDep, request: Request) -> dict[str, Any]:
    """Queue a six-digit code to ``mobile`` through the notices outbox; answer the challenge to send it back with.

    422 ``remote_not_offered`` for a service without 远程取号; 429 ``verify_send_limit`` after
    ``appointments.remote.verify_daily`` codes to the number today; 503 ``verify_unavailable``
    when SMS notices are not running.
    """
    if not phone_ok(body.mobile):
        raise refused("invalid_mobile", field="mobile")
    config = services.config
    _offered(services, body.service)
    rules = config.appointments.remote
    notices = services.notices
    if notices is None or not notices.settings.enabled:
        zh, en = text_of("verify_unavailable")
        raise Unavailable(zh, en, code="verify_unavailable")
    hasher = _hasher(services)
    now = services.store.now_ms()
    local = services.store.clock().astimezone(config.hall.tz)
    day_start = int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)
    phone = normal_phone(body.mobile)
    sent = await services.hall.run(_sent_today, services, notices.phone_hash(phone), day_start)
    if sent >= rules.verify_daily:
        raise too_many("verify_send_limit")
    challenge = new_challenge(hasher, hash_phone(hasher, body.mobile), body.service, now, rules.verify_minutes)
    await notices.remember_phone(challenge.key, phone, erase_at_ms=challenge.expires_ms)
    queued = await notices.enqueue(challenge.key, "verify", {"code": code_of(hasher, challenge),
                                                             "minutes": str(rules.verify_minutes)},
                                   dedup=challenge.key)
    if queued is None:
        zh, en = text_of("verify_unavailable")
        raise Unavailable(zh, en, code="verify_unavailable")
    expires = dt.datetime.fromtimestamp(challenge.expires_ms / 1000, tz=config.hall.tz)
    return {"challenge": challenge.text(), "expires_at": expires.isoformat(), "masked": mask_phone(body.mobile),
            "minutes": rules.verify_minutes, "attempts": rules.verify_attempts}


def _offered(services: Services, service: str) -> None:
    """404 ``unknown_service`` / 422 ``remote_not_offered`` before any code is asked for or checked."""
    config = services.config
    config.service(service)
    rules, svc_rules = config.appointments.remote, config.appointments.service(service)
    if not rules.enabled or svc_rules is None or not svc_rules.remote:
        raise refused("remote_not_offered")


def _sent_today(services: Services, phone_hash: str, since_ms: int) -> int:
    with services.store._read() as conn:
        return sent_today(conn, phone_hash, since_ms)


@router.get("/remote-tickets/{code}", dependencies=PUBLIC, summary="A remote ticket's state",
            responses=responses(404))
async def read_remote(code: Code, services: ServicesDep) -> dict[str, Any]:
    """pending (with ``confirm_by``), confirmed (with ``ticket_id``) or lapsed."""
    remote = RemoteTickets(lambda: services.config, services.store)
    r = await services.hall.write(remote.get, code)
    data: dict[str, Any] = r.public(services.config)
    return data


# -- the kiosk -------------------------------------------------------------------------------

@router.post("/kiosks/{kiosk_id}/checkin", dependencies=[Depends(allow(Role.KIOSK, Role.DEVICE))],
             summary="预约签到 or remote-ticket confirmation at a kiosk", responses=responses(403, 404, 409, 422))
async def check_in(kiosk_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")], body: CheckInIn,
                   kiosks: KiosksDep) -> dict[str, Any]:
    """By the kiosk's card session (no code) or a scanned/typed code: the ticket, its print state and a note."""
    done = await kiosks.check_in(kiosk_id, body.code)
    return {**done.issued.to_dict(), "print": done.print.to_dict(), "appointment": done.appointment,
            "remote": done.remote, "note": done.note}
