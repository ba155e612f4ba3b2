"""Kiosk identity sessions (身份证取号): the current masked session and tickets bound to it.

The routes read the identity wiring from ``request.app.state.identity``
(``server.devices.identity.IdentityWiring``); mount with ``app.include_router(router)``.
Ticket printing goes through ``app.state.devices.print_ticket_for`` when a device
manager runs; printing never refuses the ticket.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from server.api.problems import responses
from server.auth import Role, allow, limit_issue
from server.errors import NotFound

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["identity"], dependencies=[Depends(allow(Role.KIOSK))])  # its own kiosk only

KioskId = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="Kiosk id")


class KioskTicketRequest(BaseModel):
    """Take a ticket at a kiosk; bound to the kiosk's ID-card session when there is one."""

    service: str = Field(min_length=1, max_length=32, examples=["general"])


def _identity(request: Request) -> Any:
    identity = getattr(request.app.state, "identity", None)
    if identity is None:
        raise NotFound("身份证读卡服务未启动", "The identity service is not running", code="no_session")
    return identity


def _no_session(kiosk_id: str) -> NotFound:
    return NotFound("当前没有读取到身份证", f"No identity session on kiosk {kiosk_id}", code="no_session",
                    kiosk=kiosk_id)


@router.get("/kiosks/{kiosk_id}/session", summary="The kiosk's current identity session (masked)",
            responses=responses(404, 422))
async def get_session(request: Request, kiosk_id: str = KioskId) -> dict[str, Any]:
    """Masked name and number, age, priority class and expiry of the card on the kiosk's reader."""
    session = _identity(request).session(kiosk_id)
    if session is None:
        raise _no_session(kiosk_id)
    data: dict[str, Any] = session.public()
    return data


@router.post("/kiosks/{kiosk_id}/tickets", status_code=201, summary="Take a ticket with the kiosk's ID card",
             dependencies=[Depends(limit_issue)],
             responses=responses(403, 404, 422))
async def issue_at_kiosk(body: KioskTicketRequest, request: Request, kiosk_id: str = KioskId) -> dict[str, Any]:
    """Issue a ticket bound to the current identity session (without one when no card was read)."""
    identity = _identity(request)
    # Without a started device manager the wiring has no queue yet: use the app's facade.
    queue = None if identity.queue is not None else getattr(request.app.state, "hall", None)
    ticket: dict[str, Any] = await identity.issue_with_session(kiosk_id, body.service, queue=queue)
    printed, fault = False, None
    devices = getattr(request.app.state, "devices", None)
    if devices is not None and hasattr(devices, "print_ticket_for"):
        try:
            result = await devices.print_ticket_for(kiosk_id, ticket)
            printed, fault = result.printed, result.fault
        except Exception:  # the ticket exists; the kiosk shows it on screen
            log.exception("kiosk %s: printing failed", kiosk_id)
            fault = "print_error"
    return {**ticket, "printed": printed, "print_fault": fault}


@router.delete("/kiosks/{kiosk_id}/session", status_code=204, summary="End the kiosk's identity session",
               responses=responses(404, 422))
async def end_session(request: Request, kiosk_id: str = KioskId) -> Response:
    """End the session (the citizen pressed 退出); 404 when there was none."""
    if not _identity(request).end_session(kiosk_id, "kiosk"):
        raise _no_session(kiosk_id)
    return Response(status_code=204)
