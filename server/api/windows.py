"""Clerk endpoints: a window's state and its calling actions (叫号, 重呼, 过号, 挂起, 转移 …)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from server.api.models import (
    CallRequest,
    OpenWindowRequest,
    PauseRequest,
    TicketOut,
    TransferRequest,
    WindowOut,
)
from server.auth import MANAGERS, STAFF, Role, allow
from server.auth.deps import Actor, principal_of
from server.auth.disclosure import redact_identity, sees_identity
from server.deps import HallDep, WindowNumber
from server.errors import Conflict
from server.http.problems import responses
from server.services import services_of
from server.staff import seating

router = APIRouter(prefix="/api/windows", tags=["windows"])
# screens and staff read any window; only its clerk, supervisors and device hosts act on it
READ = [Depends(allow(Role.DISPLAY, Role.DEVICE, *STAFF, window_param=None))]
ACT = [Depends(allow(Role.CLERK, Role.DEVICE, *MANAGERS))]
STAFFED_STATES = ("open", "calling", "serving")  # a transfer goes only to a window a clerk is at


@router.get("/{number}", response_model=WindowOut, summary="One window", responses=responses(404, 422),
            dependencies=READ)
async def get_window(number: WindowNumber, hall: HallDep, request: Request) -> Any:
    """The window's state and current ticket (masked ID number and name for staff only)."""
    window = await hall.window(number)
    return window if sees_identity(principal_of(request)) else redact_identity(window)


@router.get("/{number}/waiting", response_model=list[TicketOut], summary="Tickets this window can call",
            responses=responses(404, 422),
            dependencies=READ)
async def waiting(number: WindowNumber, hall: HallDep, request: Request) -> Any:
    """Waiting tickets of the window's services, in calling order (identities for staff only)."""
    tickets = await hall.waiting_for_window(number)
    return tickets if sees_identity(principal_of(request)) else redact_identity(tickets)


@router.get("/{number}/rating-due", response_model=TicketOut | None, summary="The ticket its evaluator may rate",
            responses=responses(404, 422), dependencies=ACT)
async def rating_due(number: WindowNumber, hall: HallDep, request: Request) -> Any:
    """The ticket this window's evaluator (评价器) may rate now (stored deadline), or null."""
    ticket = await hall.rating_due(number)
    return ticket if sees_identity(principal_of(request)) else redact_identity(ticket)


@router.get("/{number}/call-backs", response_model=list[TicketOut], summary="Tickets it may call back (过号/挂起)",
            responses=responses(404, 422), dependencies=ACT)
async def call_backs(number: WindowNumber, hall: HallDep, request: Request) -> Any:
    """Tickets this window marked no-show or suspended that it may still call back, newest first."""
    tickets = await hall.call_backs(number)
    return tickets if sees_identity(principal_of(request)) else redact_identity(tickets)


@router.post("/{number}/open", response_model=WindowOut, summary="Open the window (上岗)",
             responses=responses(403, 404, 409, 422),
             dependencies=ACT)
async def open_window(number: WindowNumber, hall: HallDep, actor: Actor, request: Request,
                      body: OpenWindowRequest | None = None) -> Any:
    """Open the window; the clerk shown (and credited with its ratings) is a staff directory entry (工号).

    A clerk is always their own entry (the body's ``clerk`` is ignored) and must be allowed at
    the window; a supervisor or a device host may name a clerk by 工号
    (``server/staff/seating.py`` ``window_clerk``).
    """
    auth = services_of(request).auth
    clerk = await auth.run(seating.window_clerk, auth, principal_of(request), number, body.clerk if body else None)
    return await hall.open_window(number, clerk=clerk, actor=actor)


@router.post("/{number}/close", response_model=WindowOut, summary="Close the window",
             responses=responses(404, 409, 422),
             dependencies=ACT)
async def close_window(number: WindowNumber, hall: HallDep, actor: Actor) -> Any:
    """Close the window."""
    return await hall.close_window(number, actor=actor)


@router.post("/{number}/pause", response_model=WindowOut, summary="Pause the window (暂停/离岗)",
             responses=responses(404, 409, 422),
             dependencies=ACT)
async def pause_window(number: WindowNumber, hall: HallDep, actor: Actor, body: PauseRequest | None = None) -> Any:
    """Pause the window with an optional reason."""
    return await hall.pause_window(number, reason=body.reason if body else None, actor=actor)


@router.post("/{number}/resume", response_model=WindowOut, summary="Resume the window",
             responses=responses(404, 409, 422),
             dependencies=ACT)
async def resume_window(number: WindowNumber, hall: HallDep, actor: Actor) -> Any:
    """Resume a paused window."""
    return await hall.resume_window(number, actor=actor)


@router.post(
    "/{number}/call-next",
    response_model=TicketOut,
    summary="Call the next ticket (叫号)",
    responses={204: {"description": "Nothing is waiting for this window"}, **responses(404, 409, 422)},
    dependencies=ACT,
)
async def call_next(number: WindowNumber, hall: HallDep, actor: Actor) -> Any:
    """Call the next ticket by the calling policy; 204 when nothing waits."""
    ticket = await hall.call_next(number, actor=actor)
    if ticket is None:
        return Response(status_code=204)
    return ticket


@router.post("/{number}/call", response_model=TicketOut, summary="Call a specific ticket (含回呼)",
             responses=responses(404, 409, 422),
             dependencies=ACT)
async def call_ticket(number: WindowNumber, body: CallRequest, hall: HallDep, actor: Actor) -> Any:
    """Call the given ticket, also to call back a suspended or missed one."""
    return await hall.call(number, body.ticket_id, actor=actor)


@router.post("/{number}/recall", response_model=TicketOut, summary="Call again (重呼)",
             responses=responses(404, 409, 422),
             dependencies=ACT)
async def recall(number: WindowNumber, hall: HallDep, actor: Actor) -> Any:
    """Announce the current ticket again; past the limit it becomes a no-show."""
    return await hall.recall(number, actor=actor)


@router.post("/{number}/start", response_model=TicketOut, summary="Start serving (开始办理)",
             responses=responses(404, 409, 422),
             dependencies=ACT)
async def start(number: WindowNumber, hall: HallDep, actor: Actor) -> Any:
    """The citizen arrived: start serving the called ticket."""
    return await hall.start(number, actor=actor)


@router.post("/{number}/finish", response_model=TicketOut, summary="Finish (办结)",
             responses=responses(404, 409, 422),
             dependencies=ACT)
async def finish(number: WindowNumber, hall: HallDep, actor: Actor) -> Any:
    """Finish the ticket being served."""
    return await hall.finish(number, actor=actor)


@router.post("/{number}/no-show", response_model=TicketOut, summary="No-show (过号)",
             responses=responses(404, 409, 422),
             dependencies=ACT)
async def no_show(number: WindowNumber, hall: HallDep, actor: Actor) -> Any:
    """The called citizen did not come."""
    return await hall.no_show(number, actor=actor)


@router.post("/{number}/suspend", response_model=TicketOut, summary="Suspend (挂起)",
             responses=responses(404, 409, 422),
             dependencies=ACT)
async def suspend(number: WindowNumber, hall: HallDep, actor: Actor) -> Any:
    """Put the current ticket aside (e.g. the citizen fetches a missing document)."""
    return await hall.suspend(number, actor=actor)


@router.post("/{number}/transfer", response_model=TicketOut, summary="Transfer (转移)",
             responses=responses(404, 409, 422),
             dependencies=ACT)
async def transfer(number: WindowNumber, body: TransferRequest, hall: HallDep, actor: Actor) -> Any:
    """Transfer the current ticket to a service or window; answers with the new child ticket.

    A target window nobody is at (closed or paused) is refused with 409 ``transfer_target_closed``.
    """
    if body.to_window is not None and (await hall.window(body.to_window))["state"] not in STAFFED_STATES:
        raise Conflict(code="transfer_target_closed", window=body.to_window)
    return await hall.transfer(number, to_service=body.to_service, to_window=body.to_window, actor=actor)


@router.post("/{number}/request-rating", response_model=TicketOut, summary="Ask for a rating (请评价)",
             responses=responses(404, 409, 422),
             dependencies=ACT)
async def request_rating(number: WindowNumber, hall: HallDep, actor: Actor) -> Any:
    """Light the window's evaluator for the current or just finished ticket."""
    return await hall.request_rating(number, actor=actor)
