"""Citizen and kiosk endpoints: take, look up, cancel and rate tickets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request

from server.api.models import HeldTicketOut, IssuedTicketOut, IssueRequest, RatingRequest, TicketOut
from server.auth import STAFF, Role, allow, limit_issue, public
from server.auth.deps import Actor, bound_kiosk, check_clerk_cancel, principal_of
from server.auth.disclosure import redact_identity, sees_identity
from server.auth.roles import Principal
from server.deps import HallDep, KiosksDep, TicketId
from server.errors import Forbidden
from server.hall.service import as_dict
from server.http.problems import responses
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
async def issue_ticket(body: IssueRequest, hall: HallDep, kiosks: KiosksDep, request: Request, actor: Actor) -> Any:
    """Issue a ticket for a service; the answer has the number, people ahead, an estimate and the token.

    Staff choose the channel and priority class. Kiosk and device tokens take `normal`
    tickets on their own channel (403 `priority_not_allowed` / `channel_not_allowed`). A kiosk
    token's ticket goes the one kiosk path (`POST /api/kiosks/{id}/tickets`): bound to its card
    session and printed, with `print` saying how that went.
    """
    principal = principal_of(request)
    check_issue_request(principal, body)
    if principal is not None and principal.role is Role.KIOSK:
        kiosk = bound_kiosk(request, body.kiosk) or ""  # a kiosk token takes tickets only at its own kiosk
        issued, status = await kiosks.issue(kiosk, body.service)
        return {**issued.to_dict(), "print": status.to_dict()}
    return as_dict(await hall.issue(body.service, channel=body.channel, priority=body.priority, kiosk=body.kiosk,
                                    actor=actor))


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
