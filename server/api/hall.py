"""Screens and supervisors: the hall snapshot."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from server.api.models import HallOut
from server.auth import Principal, public
from server.auth.disclosure import redact_identity, sees_identity
from server.deps import HallDep

router = APIRouter(prefix="/api", tags=["hall"])


PublicCaller = Annotated[Principal | None, Depends(public("what the hall screen shows everyone; no identities"))]


@router.get("/hall", response_model=HallOut, summary="Hall snapshot")
async def hall_snapshot(hall: HallDep, caller: PublicCaller) -> Any:
    """Services (waiting, longest wait, estimate), windows (state, current ticket) and recent calls.

    Masked ID numbers and names are only given to staff (``server/auth/disclosure.py``).
    """
    snapshot = await hall.snapshot()
    return snapshot if sees_identity(caller) else redact_identity(snapshot)
