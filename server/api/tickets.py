"""Citizen and kiosk endpoints: take, look up, cancel and rate tickets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from server.api.models import HeldTicketOut, IssuedTicketOut, IssueRequest, RatingRequest, TicketOut
from server.auth import STAFF, Role, allow, limit_issue, public
from server.auth.deps import Actor, bound_kiosk, check_clerk_cancel, principal_of
from server.auth.disclosure import redact_identity, sees_identity
from server.auth.limits import SlidingWindow, card_session_read, client_ip
from server.auth.roles import Principal
from server.console.identity import ConsoleInputError
from server.console.proxy import check_reason, green_audit
from server.deps import HallDep, KiosksDep, ServicesDep, TicketId
from server.errors import Forbidden, RateLimited
from server.hall.service import as_dict
from server.http.problems import responses
from server.kiosk.service import UNREAD
from server.queue.enums import Channel, Priority

router = APIRouter(prefix="/api/tickets", tags=["tickets"])


# The channels a device principal issues on; staff choose any channel and class.
OWN_CHANNELS: dict[Role, frozenset[str]] = {
    Role.KIOSK: frozenset({Channel.KIOSK.value}),
    Role.DEVICE: frozenset({Channel.KIOSK.value, Channel.KEYPAD.value}),
}


def check_issue_request(principal: Principal | None, body: IssueRequest) -> None:
    """Kiosk and device tokens take normal tickets on their own channel (staff choose freely)."""
    if principal is None or principal.role in STAFF:
        return
    if body.priority != Priority.NORMAL.value:  # green/appointment/priority come from staff or rules only
        raise Forbidden(code="priority_not_allowed", priority=body.priority)
    if body.channel not in OWN_CHANNELS.get(principal.role, frozenset()):
        raise Forbidden(code="channel_not_allowed", channel=body.channel)


@router.post(
    "",
    status_code=201,
    response_model=IssuedTicketOut,
    summary="Take a ticket (取号)",
    responses=responses(403, 404, 422),
    dependencies=[Depends(allow(Role.KIOSK, Role.DEVICE, *STAFF)), Depends(limit_issue)],
)
async def issue_ticket(body: IssueRequest, hall: HallDep, kiosks: KiosksDep, request: Request, actor: Actor,
                       services: ServicesDep) -> Any:
    """Issue a ticket for a service; the answer has the number, people ahead, an estimate and the token.

    Staff choose the channel and priority class; 绿色通道 (``green``) needs ``green_reason`` from
    ``console.green_reasons`` (422 ``green_reason_required``) and writes the ``console.green_grant``
    audit record (reason, grantor) in the issuing transaction. Kiosk and device tokens take `normal`
    tickets on their own channel (403 `priority_not_allowed` / `channel_not_allowed`). A kiosk
    token's ticket goes the one kiosk path (`POST /api/kiosks/{id}/tickets`): bound to its card
    session and printed, with `print` saying how that went.
    """
    principal = principal_of(request)
    check_issue_request(principal, body)
    if principal is not None and principal.role is Role.KIOSK:
        kiosk = bound_kiosk(request, body.kiosk) or ""  # a kiosk token takes tickets only at its own kiosk
        issued, status = await kiosks.issue(kiosk, body.service, session=card_session_read(request, kiosk, UNREAD))
        return {**issued.to_dict(), "print": status.to_dict()}
    on_issue = None
    if body.priority == Priority.GREEN.value:  # staff only (checked above): a reason and an audit record, always
        on_issue = _green_hook(services, request, principal, body)
    return as_dict(await hall.issue(body.service, channel=body.channel, priority=body.priority, kiosk=body.kiosk,
                                    actor=actor, on_issue=on_issue))


def _green_hook(services: Any, request: Request, principal: Principal | None, body: IssueRequest) -> Any:
    """The 绿色通道 audit hook: 422 ``green_reason_required`` without a configured reason."""
    config = services.config
    if principal is None or not body.green_reason:
        raise ConsoleInputError(code="green_reason_required", use="/api/console/tickets",
                                allowed=[r.code for r in config.console.green_reasons])
    reason = check_reason(config, Priority.GREEN.value, body.green_reason)
    auth, ip = services.auth, client_ip(request)

    def audit(conn: Any, action: str, target: str, detail: dict[str, Any]) -> None:
        auth.audit(conn, principal, ip, action, target, detail)

    return green_audit(principal, reason, body.channel, audit)


@router.get("/by-token/{token}", response_model=HeldTicketOut, summary="Ticket by its status-page token",
            responses=responses(404, 422), dependencies=[Depends(public("the token is its holder's credential"))])
async def ticket_by_token(
    hall: HallDep, token: str = Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
) -> Any:
    """The ticket behind a citizen's /t/<token> link."""
    return await hall.get_ticket_by_token(token)


@router.get("/{ticket_id}", response_model=TicketOut, summary="One ticket", responses=responses(404, 422),
            dependencies=[Depends(allow(Role.CITIZEN, Role.KIOSK, Role.DISPLAY, Role.DEVICE, *STAFF))])
async def get_ticket(ticket_id: TicketId, hall: HallDep, request: Request) -> Any:
    """The ticket with this id (masked ID number and name for staff only)."""
    ticket = await hall.get_ticket(ticket_id)
    return ticket if sees_identity(principal_of(request)) else redact_identity(ticket)


@router.post("/{ticket_id}/cancel", response_model=TicketOut, summary="Cancel a waiting ticket",
             responses=responses(404, 409, 422), dependencies=[Depends(allow(Role.CITIZEN, *STAFF))])
async def cancel_ticket(ticket_id: TicketId, hall: HallDep, actor: Actor, request: Request) -> Any:
    """Cancel a ticket that has not been served (a clerk: only tickets of their own window)."""
    await check_clerk_cancel(request, await hall.get_ticket(ticket_id))
    return await hall.cancel(ticket_id, actor=actor)


@router.post("/{ticket_id}/rating", response_model=TicketOut, summary="Rate the service (好差评)",
             responses=responses(404, 409, 422),
             dependencies=[Depends(allow(Role.CITIZEN, Role.DISPLAY, Role.DEVICE, ticket_window=True))])
async def rate_ticket(ticket_id: TicketId, body: RatingRequest, hall: HallDep, actor: Actor) -> Any:
    """Rate a served ticket once: 5 非常满意 … 1 非常不满意 (1 and 2 are 差评); never by the clerk."""
    return await hall.rate(ticket_id, body.level, source=body.source, actor=actor, reasons=body.reasons,
                           text=body.text)


# --- the citizen's phone page rates by its ticket token (好差评 渠道 二维码; server/ratings/) ---
PHONE_LIMITS = SlidingWindow()
PHONE_PER_TOKEN = (5, 60.0)  # a phone retrying a refused rating a few times is fine; a script is not
PHONE_PER_IP = (60, 60.0)
TokenPath = Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")


class PhoneRatingRequest(BaseModel):
    """A rating from the phone page: level, and for a 差评 the reason codes and free text (channel is fixed)."""

    model_config = ConfigDict(extra="forbid")
    level: int = Field(ge=1, le=5)
    reasons: list[str] = Field(default_factory=list, max_length=10)
    text: str | None = Field(default=None, max_length=1000)


def limit_phone_rating(request: Request, token: str) -> None:
    """At most a few attempts per token and per address a minute (429 ``rate_limited``)."""
    import time

    now = time.monotonic()
    for key, (count, period) in ((f"t:{token}", PHONE_PER_TOKEN), (f"ip:{client_ip(request)}", PHONE_PER_IP)):
        wait = PHONE_LIMITS.hit(key, count, period, now)
        if wait is not None:
            raise RateLimited("评价提交过于频繁，请稍后再试", "Too many rating attempts; retry later",
                              int(wait) + 1, limit=key.split(":", 1)[0])


@router.post("/by-token/{token}/rating", response_model=TicketOut, summary="Rate by the ticket's token (手机/二维码)",
             responses=responses(404, 409, 422, 429),
             dependencies=[Depends(public("the token is its holder's credential; rate-limited"))])
async def rate_by_token(body: PhoneRatingRequest, hall: HallDep, request: Request, token: str = TokenPath) -> Any:
    """The citizen rates the ticket behind /t/<token> once, after 办结; the channel is 二维码 (``qr``).

    409 ``not_ratable`` before 办结, 409 ``already_rated`` when any channel rated it first.
    """
    limit_phone_rating(request, token)
    ticket = await hall.get_ticket_by_token(token)  # unknown token: 404
    rated = await hall.rate(int(ticket["id"]), body.level, source="qr", actor="citizen:qr", reasons=body.reasons,
                            text=body.text)
    return redact_identity(rated)
