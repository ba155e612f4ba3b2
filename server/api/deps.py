"""Shared dependencies of the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from server.hallservice import HallService

MAX_ID = 2**31 - 1


async def get_hall(request: Request) -> HallService:
    """The app's queue facade."""
    hall: HallService = request.app.state.hall
    return hall


Hall = Annotated[HallService, Depends(get_hall)]
TicketId = Annotated[int, Path(ge=1, le=MAX_ID, description="Ticket id")]
WindowNumber = Annotated[int, Path(ge=1, le=MAX_ID, description="Window number (窗口号)")]

