"""The audit trail (一事一档): administrative changes and every ticket transition, for supervisors.

Administrative records live in the append-only ``audit_log`` (the code only inserts; on
PostgreSQL a trigger refuses UPDATE and DELETE). Ticket transitions come from the store's
``transitions`` table (time, actor, window) joined with ``tickets`` for number and service.
``GET /api/audit`` merges both in time order; ``GET /api/audit.csv`` exports the same.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Connection, select

from server.api.problems import responses
from server.auth.roles import Principal, Role, allow
from server.auth.tables import audit_log
from server.errors import HallqError
from server.store.tables import tickets, transitions

MAX_ROWS = 5000
CSV_COLUMNS = ("at", "source", "actor", "role", "ip", "action", "target", "detail")

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


def _ms(value: str | None, tz: Any, end: bool) -> int | None:
    """ISO date or date-time → ms; a bare date means its start (or, for ``end``, the next day's start)."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value) + dt.timedelta(days=1 if end else 0)
            moment = dt.datetime.combine(day, dt.time(), tz)
        else:
            moment = dt.datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=tz)
    except ValueError as exc:
        raise HallqError(f"时间格式有误：{value}", f"Invalid time: {value} (ISO 8601 expected)",
                         code="invalid_request") from exc
    return int(moment.timestamp() * 1000)


def _iso(ms: int, tz: Any) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz).isoformat(timespec="milliseconds")


def query(conn: Connection, *, tz: Any, start: str | None = None, end: str | None = None,
          ticket: int | None = None, actor: str | None = None, limit: int = 500) -> tuple[list[dict[str, Any]], bool]:
    """Audit records and ticket transitions matching the filters, oldest first (at most ``limit``)."""
    lo, hi = _ms(start, tz, False), _ms(end, tz, True)
    a, t, k = audit_log.c, transitions.c, tickets.c
    admin_q = select(audit_log)
    joined = transitions.outerjoin(tickets, k.id == t.ticket_id)
    trans_q = select(t.id, t.ticket_id, t.from_state, t.to_state, t.action, t.at, t.actor, t.window,
                     k.number, k.service, k.business_day).select_from(joined)
    if lo is not None:
        admin_q, trans_q = admin_q.where(a.at >= lo), trans_q.where(t.at >= lo)
    if hi is not None:
        admin_q, trans_q = admin_q.where(a.at < hi), trans_q.where(t.at < hi)
    if actor:
        admin_q = admin_q.where(a.actor.startswith(actor, autoescape=True))
        trans_q = trans_q.where(t.actor.startswith(actor, autoescape=True))
    if ticket is not None:
        admin_q = admin_q.where(a.target == f"ticket:{ticket}")
        trans_q = trans_q.where(t.ticket_id == ticket)
    admin_rows = conn.execute(admin_q.order_by(a.at, a.id).limit(limit + 1)).all()
    trans_rows = conn.execute(trans_q.order_by(t.at, t.id).limit(limit + 1)).all()
    items: list[tuple[int, int, dict[str, Any]]] = []
    for r in admin_rows:
        items.append((r.at, 0, {"at": _iso(r.at, tz), "source": "admin", "actor": r.actor, "role": r.role,
                                "ip": r.ip, "action": r.action, "target": r.target or None,
                                "detail": json.loads(r.detail or "{}")}))
    for r in trans_rows:
        detail = {"ticket_id": r.ticket_id, "number": r.number, "service": r.service, "from_state": r.from_state,
                  "to_state": r.to_state, "window": r.window, "business_day": r.business_day}
        items.append((r.at, 1, {"at": _iso(r.at, tz), "source": "ticket", "actor": r.actor, "role": None,
                                "ip": None, "action": f"ticket.{r.action}", "target": f"ticket:{r.ticket_id}",
                                "detail": detail}))
    items.sort(key=lambda x: (x[0], x[1]))
    return [i[2] for i in items[:limit]], len(items) > limit


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
    auth = request.app.state.auth

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
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for item in items:
        row = [item.get(c) if c != "detail" else json.dumps(item["detail"], ensure_ascii=False) for c in CSV_COLUMNS]
        # a cell starting with = + - @ would run as a formula in a spreadsheet
        writer.writerow(["'" + v if isinstance(v, str) and v[:1] in "=+-@" else v for v in row])
    auth = request.app.state.auth
    await auth.run(auth.audit_request, request, principal, "audit.export", None,
                   {k: v for k, v in filters.items() if v is not None})
    return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="hallq-audit.csv"'})
