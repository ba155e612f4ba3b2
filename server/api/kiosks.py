"""The kiosk's routes: its card session, taking a ticket (the one kiosk issue path), and the device side.

KIOSK role (its own kiosk only, checked by ``allow``): ``GET``/``DELETE
/api/kiosks/{id}/session`` and ``POST /api/kiosks/{id}/tickets`` (server/kiosk/service.py).
DEVICE role (the device host running the kiosk's reader and printer, ``hallq devices``):
``PUT``/``DELETE /api/kiosks/{id}/card`` and ``POST /api/print-jobs/{id}/claim`` / ``…/result``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from server.api.models import IssuedTicketOut, PrintStatusOut
from server.auth import Role, allow, limit_issue
from server.auth.limits import card_session_read
from server.deps import ConfigDep, KiosksDep
from server.errors import Forbidden, NotFound, Unavailable
from server.http.problems import responses
from server.kiosk.reading import CardReading
from server.kiosk.reconcile import reconcile_tap
from server.kiosk.requests import check_key
from server.kiosk.service import UNREAD
from server.kiosk.voice import NUMBER, PromptArgs, sentence
from server.queue.enums import Channel, Priority
from server.services import services_of

router = APIRouter(prefix="/api", tags=["kiosks"])

KioskId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="Kiosk id")]
JobId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Print job id")]
KIOSK = [Depends(allow(Role.KIOSK))]  # its own kiosk only
DEVICE = [Depends(allow(Role.DEVICE))]


class KioskTicketRequest(BaseModel):
    """Take a ticket at a kiosk; bound to the kiosk's ID-card session when there is one."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=32, examples=["general"])
    # accepted only to refuse them with a stable code: the class comes from the card, the channel is the kiosk
    priority: Literal["green", "appointment", "priority", "normal"] | None = None
    channel: Literal["kiosk", "staff", "web", "appointment", "keypad"] | None = None


class KioskTicketOut(IssuedTicketOut):
    """The new ticket (with its status-page token) and the print outcome."""

    print: PrintStatusOut
    replayed: bool = False  # the answer of an earlier attempt of the same tap (Idempotency-Key)
    staff_alerted: bool = False  # not printed: the kiosk_printer alert is open in the supervisors' inbox


class SessionOut(BaseModel):
    """The card session on a kiosk (masked forms only)."""

    session_id: str
    kiosk: str
    card_type: str
    masked_name: str | None = None
    masked_id: str | None = None
    age: int | None = None
    priority: str
    expired: bool
    warning: dict[str, str] | None = None


class PrintResultIn(BaseModel):
    """How printing a claimed job ended."""

    model_config = ConfigDict(extra="forbid")

    printed: bool
    fault: str | None = Field(default=None, max_length=64)


class PrintJobOut(BaseModel):
    """A claimed print job: the ticket and its token (printed as the QR link)."""

    id: int
    kiosk: str
    ticket: dict[str, Any]
    token: str


def no_session(kiosk: str) -> NotFound:
    """404 when the kiosk has no card session."""
    return NotFound("当前没有读取到身份证", f"No identity session on kiosk {kiosk}", code="no_session", kiosk=kiosk)


@router.get("/kiosks/{kiosk_id}/session", response_model=SessionOut, dependencies=KIOSK,
            summary="The kiosk's current identity session (masked)", responses=responses(403, 404, 422))
async def get_session(kiosk_id: KioskId, kiosks: KiosksDep) -> Any:
    """Masked name and number, age, priority class and expiry of the card on the kiosk's reader."""
    kiosks.sessions.check_kiosk(kiosk_id)
    session = await kiosks.sessions.session(kiosk_id)
    if session is None:
        raise no_session(kiosk_id)
    return session.public(kiosks.sessions.priority(session))


@router.delete("/kiosks/{kiosk_id}/session", status_code=204, dependencies=KIOSK,
               summary="End the kiosk's identity session", responses=responses(403, 404, 422))
async def end_session(kiosk_id: KioskId, kiosks: KiosksDep) -> Response:
    """End the session (the citizen pressed 退出); 404 when there was none."""
    kiosks.sessions.check_kiosk(kiosk_id)
    if not await kiosks.sessions.end(kiosk_id, "kiosk"):
        raise no_session(kiosk_id)
    return Response(status_code=204)


@router.post("/kiosks/{kiosk_id}/tickets", status_code=201, response_model=KioskTicketOut,
             dependencies=[*KIOSK, Depends(limit_issue)], summary="Take a ticket at a kiosk (the kiosk issue path)",
             responses=responses(403, 404, 409, 422))
async def issue_at_kiosk(body: KioskTicketRequest, kiosk_id: KioskId, kiosks: KiosksDep, request: Request,
                         idempotency_key: Annotated[str | None, Header(max_length=64)] = None) -> Any:
    """Issue a ticket bound to the kiosk's card session (none without a card) and print it on the kiosk's printer.

    The priority class comes from the card (elderly by age); a kiosk may not choose one,
    nor another channel (403 ``priority_not_allowed`` / ``channel_not_allowed``). Printing
    never refuses the ticket: ``print`` says how it went. The same ``Idempotency-Key`` again
    (a retried tap) answers the ticket that tap already got (``replayed: true``), never a second one.
    """
    if body.priority is not None and body.priority != Priority.NORMAL.value:
        raise Forbidden(code="priority_not_allowed", priority=body.priority)
    if body.channel is not None and body.channel != Channel.KIOSK.value:
        raise Forbidden(code="channel_not_allowed", channel=body.channel)
    key = check_key(idempotency_key) if idempotency_key is not None else None
    issued, status, replayed = await kiosks.issue_once(kiosk_id, body.service, key,
                                                       session=card_session_read(request, kiosk_id, UNREAD))
    if replayed:
        request.state.issue_refund = True  # limit_issue: a replay took no new ticket
    alerted = False if status.printed else await _printer_alert(request, kiosk_id, str(status.fault or ""))
    return {**issued.to_dict(), "print": status.to_dict(), "replayed": replayed, "staff_alerted": alerted}


async def _printer_alert(request: Request, kiosk_id: str, fault: str) -> bool:
    """A citizen got a ticket without paper: keep a ``kiosk_printer`` alert open until staff resolve it."""
    inbox = services_of(request).alerts
    if inbox is None:
        return False
    config = services_of(request).config
    name = next((k.name for k in config.kiosks if k.id == kiosk_id and k.name), kiosk_id)
    await inbox.report("kiosk_printer", f"kiosk:{kiosk_id}", severity="critical",
                       message=f"{name}（取号机 {kiosk_id}）无法出票（{fault}），请为群众补打纸质号票并处理打印机")
    return True


class ReconcileOut(BaseModel):
    """The fate of an abandoned tap (server/kiosk/reconcile.py): none, pending, printed, cancelled or handled."""

    outcome: Literal["none", "pending", "printed", "cancelled", "handled"]
    ticket: dict[str, Any] | None = None  # {id, number, service} when a ticket was issued under the key


@router.post("/kiosks/{kiosk_id}/requests/{key}/reconcile", response_model=ReconcileOut, dependencies=KIOSK,
             summary="Settle a tap abandoned before its answer (idle reset, 取消)", responses=responses(403, 404, 422))
async def reconcile_request(kiosk_id: KioskId, kiosks: KiosksDep,
                            key: Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]) -> Any:
    """A printed ticket is kept (its paper exists); an unprinted one nobody saw is cancelled; never a second one."""
    return await reconcile_tap(kiosks, kiosk_id, key)


@router.post("/kiosks/{kiosk_id}/help", status_code=202, dependencies=KIOSK,
             summary="呼叫工作人员: a citizen at the kiosk asks for staff", responses=responses(403, 404, 422, 503))
async def call_staff(kiosk_id: KioskId, kiosks: KiosksDep, config: ConfigDep, request: Request) -> dict[str, Any]:
    """Raise (or repeat) the ``kiosk_help`` alert naming the kiosk in the supervisors' inbox (server/alerts/)."""
    kiosks.sessions.check_kiosk(kiosk_id)
    inbox = services_of(request).alerts
    if inbox is None:
        raise Unavailable(code="alerts_unavailable")
    name = next((k.name for k in config.kiosks if k.id == kiosk_id and k.name), kiosk_id)
    alert = await inbox.report("kiosk_help", f"kiosk:{kiosk_id}", severity="warning",
                               message=f"{name}（取号机 {kiosk_id}）有群众呼叫工作人员，请前往协助")
    return {"alerted": True, "alert": alert.id}


@router.get("/kiosks/{kiosk_id}/speech/{prompt}.wav", dependencies=KIOSK, response_class=Response,
            summary="A spoken kiosk prompt (WAV, espeak-ng)", responses={**responses(403, 404, 422, 503),
                                                                      200: {"content": {"audio/wav": {}}}})
async def speech(kiosk_id: KioskId, kiosks: KiosksDep,
                 prompt: Annotated[str, Path(pattern=r"^[a-z_]{1,32}$")],
                 number: Annotated[str | None, Query(pattern=NUMBER.pattern)] = None,
                 n: Annotated[int | None, Query(ge=0, le=9999)] = None,
                 m: Annotated[int | None, Query(ge=1, le=9999)] = None) -> Response:
    """One prompt of server/kiosk/voice.py, filled with a ticket number, a count or minutes only (never a name)."""
    kiosks.sessions.check_kiosk(kiosk_id)
    text = sentence(prompt, PromptArgs(number=number, ahead=n, minutes=m))
    wav = await kiosks.voice.wav(text)
    return Response(wav, media_type="audio/wav", headers={"Cache-Control": "private, max-age=3600",
                                                           "X-Hallq-Text": quote(text)})


# -- the device host's side -----------------------------------------------------------------

@router.put("/kiosks/{kiosk_id}/card", status_code=204, dependencies=DEVICE,
            summary="A card lies on the kiosk's reader (device host)", responses=responses(403, 404, 422))
async def card_placed(kiosk_id: KioskId, reading: CardReading, kiosks: KiosksDep) -> Response:
    """The server validates, hashes and masks the reading and opens (or refuses) the kiosk's session."""
    await kiosks.card_placed(kiosk_id, reading)
    return Response(status_code=204)


@router.delete("/kiosks/{kiosk_id}/card", status_code=204, dependencies=DEVICE,
               summary="The card left the kiosk's reader (device host)", responses=responses(403, 404, 422))
async def card_removed(kiosk_id: KioskId, kiosks: KiosksDep) -> Response:
    """End the kiosk's session (no error when there was none: the reader cannot know)."""
    kiosks.sessions.check_kiosk(kiosk_id)
    await kiosks.card_removed(kiosk_id)
    return Response(status_code=204)


@router.post("/print-jobs/{job_id}/claim", response_model=PrintJobOut | None, dependencies=DEVICE,
             summary="Take a print job (device host)", responses={**responses(403, 404, 422),
                                                                  204: {"description": "Another host has it"}})
async def claim_print_job(job_id: JobId, kiosks: KiosksDep) -> Any:
    """The job with its ticket and token for the host that wins it; 204 for every other caller."""
    job = await kiosks.claim_print_job(job_id)
    if job is None:
        return Response(status_code=204)
    return job.to_dict()


@router.post("/print-jobs/{job_id}/result", response_model=PrintStatusOut, dependencies=DEVICE,
             summary="Report how printing a job ended (device host)", responses=responses(403, 404, 422))
async def print_job_result(job_id: JobId, body: PrintResultIn, kiosks: KiosksDep) -> Any:
    """Record the result; a job finished before keeps its first result (the answer says which)."""
    status = await kiosks.finish_print_job(job_id, printed=body.printed, fault=body.fault)
    return status.to_dict()
