"""Screens and supervisors: the hall snapshot."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from server.api.deps import Hall
from server.api.models import HallOut
from server.auth import public

router = APIRouter(prefix="/api", tags=["hall"])


@router.get("/hall", response_model=HallOut, summary="Hall snapshot",
            dependencies=[Depends(public("what the hall screen shows everyone; ticket tokens are removed"))])
async def hall_snapshot(hall: Hall) -> Any:
    """Services (waiting, longest wait, estimate), windows (state, current ticket) and recent calls."""
    return await hall.snapshot()
