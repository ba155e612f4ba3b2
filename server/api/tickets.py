"""Citizen and kiosk endpoints: take, look up, cancel and rate tickets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request

from server.api.deps import Hall, TicketId
from server.api.models import HeldTicketOut, IssuedTicketOut, IssueRequest, RatingRequest, TicketOut
from server.api.problems import responses
from server.auth import STAFF, Role, allow, limit_issue, public
from server.auth.deps import Actor, bound_kiosk

router = APIRouter(prefix="/api/tickets", tags=["tickets"])


@router.post(
    "",
    status_code=201,
    response_model=IssuedTicketOut,
    summary="Take a ticket (取号)",
    responses=responses(403, 404, 422),
    dependencies=[Depends(allow(Role.KIOSK, Role.DEVICE, *STAFF)), Depends(limit_issue)],
)
async def issue_ticket(body: IssueRequest, hall: Hall, request: Request, actor: Actor) -> Any:
    """Issue a ticket for a service; the answer has the number, people ahead and an estimate.

    A kiosk ticket (`channel` kiosk with a `kiosk` id) is printed on that kiosk's printer;
    printing never refuses the ticket: `printed` and `print_fault` say how it went.
    """
    kiosk = bound_kiosk(request, body.kiosk)  # a kiosk token takes tickets only at its own kiosk
    ticket = await hall.issue(body.service, channel=body.channel, priority=body.priority, kiosk=kiosk,
                              actor=actor)
    printed, fault = False, None
    if body.channel == "kiosk" and kiosk:
        devices = getattr(request.app.state, "devices", None)  # the device manager, when installed
        if devices is None:
            fault = "no_printer"
        else:
            result = await devices.print_ticket_for(kiosk, ticket)
            printed, fault = bool(result.printed), result.fault
    return {**ticket, "printed": printed, "print_fault": fault}


@router.get("/by-token/{token}", response_model=HeldTicketOut, summary="Ticket by its status-page token",
            responses=responses(404, 422), dependencies=[Depends(public("the token is its holder's credential"))])
async def ticket_by_token(
    hall: Hall, token: str = Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
) -> Any:
    """The ticket behind a citizen's /t/<token> link."""
    return await hall.get_ticket_by_token(token)


@router.get("/{ticket_id}", response_model=TicketOut, summary="One ticket", responses=responses(404, 422),
            dependencies=[Depends(allow(Role.CITIZEN, Role.KIOSK, Role.DISPLAY, Role.DEVICE, *STAFF))])
async def get_ticket(ticket_id: TicketId, hall: Hall) -> Any:
    """The ticket with this id."""
    return await hall.get_ticket(ticket_id)


@router.post("/{ticket_id}/cancel", response_model=TicketOut, summary="Cancel a waiting ticket",
             responses=responses(404, 409, 422), dependencies=[Depends(allow(Role.CITIZEN, *STAFF))])
async def cancel_ticket(ticket_id: TicketId, hall: Hall, actor: Actor) -> Any:
    """Cancel a ticket that has not been served."""
    return await hall.cancel(ticket_id, actor=actor)


@router.post("/{ticket_id}/rating", response_model=TicketOut, summary="Rate the service (好差评)",
             responses=responses(404, 409, 422),
             dependencies=[Depends(allow(Role.CITIZEN, Role.DISPLAY, Role.DEVICE, ticket_window=True))])
async def rate_ticket(ticket_id: TicketId, body: RatingRequest, hall: Hall, actor: Actor) -> Any:
    """Rate a served ticket once: 5 非常满意 … 1 非常不满意 (1 and 2 are 差评); never by the clerk."""
    return await hall.rate(ticket_id, body.level, source=body.source, actor=actor)
