"""The alert inbox routes for supervisors: list, acknowledge, resolve (server/alerts/)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from server.alerts.inbox import AlertInbox
from server.auth.roles import Principal, Role, allow
from server.errors import Unavailable
from server.http.problems import responses
from server.services import services_of

router = APIRouter(prefix="/api/alerts", tags=["alerts"])
Supervisor = Annotated[Principal, Depends(allow(Role.SUPERVISOR, Role.ADMIN))]
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _inbox(request: Request) -> AlertInbox:
    inbox = services_of(request).alerts
    if inbox is None:
        raise Unavailable("告警服务未启动", "The alert inbox is not running", code="alerts_unavailable")
    return inbox


@router.get("", summary="Alert inbox (告警)", responses=responses(422))
async def list_alerts(
    request: Request,
    principal: Supervisor,
    state: Annotated[Literal["open", "acked", "resolved", "all"], Query()] = "open",
    type: Annotated[str | None, Query(max_length=48)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Alerts newest first: ``open`` = not resolved (acknowledged or not)."""
    inbox = _inbox(request)
    items = await run_in_threadpool(inbox.store.list, state=state, type_=type, limit=limit)
    return {"items": [a.to_dict(inbox.tz) for a in items], "count": len(items)}


@router.post("/{alert_id}/ack", summary="Acknowledge an alert (确认)", responses=responses(404))
async def ack_alert(request: Request, principal: Supervisor, alert_id: AlertId) -> dict[str, Any]:
    """Mark the alert seen by the caller; idempotent."""
    inbox = _inbox(request)
    return (await inbox.ack(alert_id, principal.actor)).to_dict(inbox.tz)


@router.post("/{alert_id}/resolve", summary="Resolve an alert (处理完毕)", responses=responses(404))
async def resolve_alert(request: Request, principal: Supervisor, alert_id: AlertId) -> dict[str, Any]:
    """Close the alert; a new report of the same condition opens a new one."""
    inbox = _inbox(request)
    return (await inbox.resolve(alert_id, principal.actor)).to_dict(inbox.tz)
