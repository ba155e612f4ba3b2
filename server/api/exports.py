"""好差评 upload: bind a window's ticket to its 办件 (case-link) and the export outbox status."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import HTTPConnection

from server.auth import MANAGERS, Role, allow
from server.auth.deps import Actor
from server.deps import HallDep, WindowNumber
from server.haochaping.sender import ExportService
from server.http.problems import responses
from server.services import services_of

router = APIRouter(tags=["好差评"])
# the window's clerk, the approval system (一窗受理, a device token) and managers
LINK = [Depends(allow(Role.CLERK, Role.DEVICE, *MANAGERS))]
STATUS = [Depends(allow(*MANAGERS, window_param=None))]

CODE = r"^[0-9A-Za-z][0-9A-Za-z_.\-/]{0,63}$"


async def get_exports(conn: HTTPConnection) -> ExportService:
    """The export service of the running hall."""
    exports: ExportService | None = services_of(conn).exports
    if exports is None:  # built in every app's lifespan; missing only in a half-started app
        raise RuntimeError("the 好差评 export service is not running")
    return exports


ExportsDep = Annotated[ExportService, Depends(get_exports)]


class CaseLinkRequest(BaseModel):
    """The 办件 of the window's current ticket, from the approval (一窗受理) system."""

    model_config = ConfigDict(extra="forbid")

    project_no: str = Field(pattern=CODE, description="办件编号 (project / case number)",
                            examples=["330100-2026-000123"])
    item_code: str = Field(pattern=CODE, description="事项编码 (item code of the service catalogue)",
                           examples=["11330100002493612T3330110001000"])
    request_rating: bool = Field(default=False, description="also light the window's evaluator (请评价)")


class CaseLinkOut(BaseModel):
    """The stored binding (and the ticket asked to rate, when requested)."""

    ticket_id: int
    project_no: str
    item_code: str
    window: int
    actor: str
    at: int
    rating_requested: bool = False


@router.post("/api/windows/{number}/case-link", response_model=CaseLinkOut,
             summary="Bind the current ticket to its 办件", responses=responses(404, 409, 422), dependencies=LINK)
async def case_link(number: WindowNumber, body: CaseLinkRequest, exports: ExportsDep, hall: HallDep,
                    actor: Actor) -> Any:
    """Bind the window's ticket to 办件编号 + 事项编码; its rating is uploaded with them.

    The ticket is the window's current one or, when it has none, its last 办结 ticket of today
    not rated yet (the approval system binds at 办结). With ``request_rating`` the window's
    evaluator is then lit as by ``POST …/request-rating`` (409 while the ticket is still being
    served: a rating comes only after 办结; the binding is kept).
    """
    link = await exports.bind(number, project_no=body.project_no, item_code=body.item_code, actor=actor)
    requested = False
    if body.request_rating:
        await hall.request_rating(number, actor=actor)
        requested = True
    return {**link.to_dict(), "rating_requested": requested}


@router.get("/api/exports", summary="好差评 uploads: counts, backlog, newest records", dependencies=STATUS)
async def list_exports(exports: ExportsDep,
                       state: Literal["pending", "sending", "sent", "failed", "parked"] | None = None,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """Counts per state, the backlog (everything not yet sent) and the newest records with their last error."""
    return await exports.status(state=state, limit=limit)


@router.post("/api/exports/{export_id}/retry", status_code=204, summary="Send a parked or failed record again",
             responses=responses(404, 409), dependencies=STATUS)
async def retry_export(export_id: Annotated[int, Field(ge=1, le=2**31 - 1)], exports: ExportsDep) -> None:
    """Put a parked (refused) or failed record back in the queue now."""
    await exports.retry(export_id)
