"""Clerk endpoints: a window's state and its calling actions (叫号, 重呼, 过号, 挂起, 转移 …)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from server.api.deps import Hall, WindowNumber
from server.api.models import (
    CallRequest,
    OpenWindowRequest,
    PauseRequest,
    TicketOut,
    TransferRequest,
    WindowOut,
)
from server.api.problems import responses

router = APIRouter(prefix="/api/windows", tags=["windows"])
ACTOR = "clerk"


@router.get("/{number}", response_model=WindowOut, summary="One window", responses=responses(404, 422))
async def get_window(number: WindowNumber, hall: Hall) -> Any:
    """The window's state and current ticket."""
    return await hall.window(number)


@router.get("/{number}/waiting", response_model=list[TicketOut], summary="Tickets this window can call",
            responses=responses(404, 422))
async def waiting(number: WindowNumber, hall: Hall) -> Any:
    """Waiting tickets of the window's services, in calling order."""
    return await hall.waiting_for_window(number)


@router.post("/{number}/open", response_model=WindowOut, summary="Open the window (上岗)",
             responses=responses(404, 409, 422))
async def open_window(number: WindowNumber, hall: Hall, body: OpenWindowRequest | None = None) -> Any:
    """Open the window, optionally naming the clerk."""
    return await hall.open_window(number, clerk=body.clerk if body else None, actor=ACTOR)


@router.post("/{number}/close", response_model=WindowOut, summary="Close the window",
             responses=responses(404, 409, 422))
async def close_window(number: WindowNumber, hall: Hall) -> Any:
    """Close the window."""
    return await hall.close_window(number, actor=ACTOR)


@router.post("/{number}/pause", response_model=WindowOut, summary="Pause the window (暂停/离岗)",
             responses=responses(404, 409, 422))
async def pause_window(number: WindowNumber, hall: Hall, body: PauseRequest | None = None) -> Any:
    """Pause the window with an optional reason."""
    return await hall.pause_window(number, reason=body.reason if body else None, actor=ACTOR)


@router.post("/{number}/resume", response_model=WindowOut, summary="Resume the window",
             responses=responses(404, 409, 422))
async def resume_window(number: WindowNumber, hall: Hall) -> Any:
    """Resume a paused window."""
    return await hall.resume_window(number, actor=ACTOR)


@router.post(
    "/{number}/call-next",
    response_model=TicketOut,
    summary="Call the next ticket (叫号)",
    responses={204: {"description": "Nothing is waiting for this window"}, **responses(404, 409, 422)},
)
async def call_next(number: WindowNumber, hall: Hall) -> Any:
    """Call the next ticket by the calling policy; 204 when nothing waits."""
    ticket = await hall.call_next(number, actor=ACTOR)
    if ticket is None:
        return Response(status_code=204)
    return ticket


@router.post("/{number}/call", response_model=TicketOut, summary="Call a specific ticket (含回呼)",
             responses=responses(404, 409, 422))
async def call_ticket(number: WindowNumber, body: CallRequest, hall: Hall) -> Any:
    """Call the given ticket, also to call back a suspended or missed one."""
    return await hall.call(number, body.ticket_id, actor=ACTOR)


@router.post("/{number}/recall", response_model=TicketOut, summary="Call again (重呼)",
             responses=responses(404, 409, 422))
async def recall(number: WindowNumber, hall: Hall) -> Any:
    """Announce the current ticket again; past the limit it becomes a no-show."""
    return await hall.recall(number, actor=ACTOR)


@router.post("/{number}/start", response_model=TicketOut, summary="Start serving (开始办理)",
             responses=responses(404, 409, 422))
async def start(number: WindowNumber, hall: Hall) -> Any:
    """The citizen arrived: start serving the called ticket."""
    return await hall.start(number, actor=ACTOR)


@router.post("/{number}/finish", response_model=TicketOut, summary="Finish (办结)",
             responses=responses(404, 409, 422))
async def finish(number: WindowNumber, hall: Hall) -> Any:
    """Finish the ticket being served."""
    return await hall.finish(number, actor=ACTOR)


@router.post("/{number}/no-show", response_model=TicketOut, summary="No-show (过号)",
             responses=responses(404, 409, 422))
async def no_show(number: WindowNumber, hall: Hall) -> Any:
    """The called citizen did not come."""
    return await hall.no_show(number, actor=ACTOR)


@router.post("/{number}/suspend", response_model=TicketOut, summary="Suspend (挂起)",
             responses=responses(404, 409, 422))
async def suspend(number: WindowNumber, hall: Hall) -> Any:
    """Put the current ticket aside (e.g. the citizen fetches a missing document)."""
    return await hall.suspend(number, actor=ACTOR)


@router.post("/{number}/transfer", response_model=TicketOut, summary="Transfer (转移)",
             responses=responses(404, 409, 422))
async def transfer(number: WindowNumber, body: TransferRequest, hall: Hall) -> Any:
    """Transfer the current ticket to a service or window; answers with the new child ticket."""
    return await hall.transfer(number, to_service=body.to_service, to_window=body.to_window, actor=ACTOR)


@router.post("/{number}/request-rating", response_model=TicketOut, summary="Ask for a rating (请评价)",
             responses=responses(404, 409, 422))
async def request_rating(number: WindowNumber, hall: Hall) -> Any:
    """Light the window's evaluator for the current or just finished ticket."""
    return await hall.request_rating(number, actor=ACTOR)
