"""Audit trail routes (一事一档), for supervisors: ``GET /api/audit`` and the CSV export ``/api/audit.csv``.

Both merge administrative changes and ticket transitions in time order (``server/audit/trail.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from server.audit.trail import MAX_ROWS, query, to_csv
from server.auth.roles import Principal, Role, allow
from server.http.problems import responses
from server.services import services_of

router = APIRouter(tags=["audit"])
Supervisor = Annotated[Principal, Depends(allow(Role.SUPERVISOR, Role.ADMIN))]


class AuditItem(BaseModel):
    """One record: an administrative change or a ticket transition."""

    at: str
    source: str  # "admin" | "ticket"
    actor: str
    role: str | None = None
    ip: str | None = None
    action: str
    target: str | None = None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    """Records in time order (``truncated`` when the limit cut the list)."""

    items: list[AuditItem]
    count: int
    truncated: bool


def _filters(
    start: Annotated[str | None, Query(alias="from", max_length=40, description="ISO date or date-time")] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40, description="ISO date (inclusive) or time")] = None,
    ticket: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Ticket id")] = None,
    actor: Annotated[str | None, Query(max_length=80, description="Actor or its prefix, e.g. clerk:A0101")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 500,
) -> dict[str, Any]:
    return {"start": start, "end": end, "ticket": ticket, "actor": actor, "limit": limit}


Filters = Annotated[dict[str, Any], Depends(_filters)]


async def _run(request: Request, filters: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    auth = services_of(request).auth

    def work() -> tuple[list[dict[str, Any]], bool]:
        with auth.read() as conn:
            return query(conn, tz=auth.tz, **filters)

    result: tuple[list[dict[str, Any]], bool] = await auth.run(work)
    return result


@router.get("/api/audit", response_model=AuditPage, summary="Audit trail (审计记录)", responses=responses(400, 422))
async def audit_list(request: Request, filters: Filters, principal: Supervisor) -> Any:
    """Administrative changes and ticket transitions, oldest first; supervisors and admins only."""
    items, truncated = await _run(request, filters)
    return {"items": items, "count": len(items), "truncated": truncated}


@router.get("/api/audit.csv", response_class=Response, summary="Audit trail as CSV (导出)",
            responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with BOM (opens in Excel)"},
                       **responses(400, 422)})
async def audit_csv(request: Request, filters: Filters, principal: Supervisor) -> Response:
    """The same records as ``/api/audit`` as a CSV download; the export itself is audited."""
    items, _ = await _run(request, filters)
    auth = services_of(request).auth
    await auth.run(auth.audit_request, request, principal, "audit.export", None,
                   {k: v for k, v in filters.items() if v is not None})
    return Response(to_csv(items), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="hallq-audit.csv"'})
