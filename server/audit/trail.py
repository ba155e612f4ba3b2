"""The audit trail read model (一事一档): administrative changes merged with every ticket transition.

Administrative records live in the append-only ``audit_log`` (the code only inserts; on
PostgreSQL a trigger refuses UPDATE and DELETE). Ticket transitions come from the store's
``transitions`` table (time, actor, window) joined with ``tickets`` for number and service.
The routes are ``server/api/audit.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from sqlalchemy import Connection, select

from server.auth.tables import audit_log
from server.errors import HallqError
from server.store.tables import tickets, transitions

MAX_ROWS = 5000
CSV_COLUMNS = ("at", "source", "actor", "role", "ip", "action", "target", "detail")


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
        return int(moment.timestamp() * 1000)
    except (ValueError, OverflowError) as exc:  # 9999-12-31 + 1 day overflows: a client error, not a 500
        raise HallqError(f"时间格式有误：{value}", f"Invalid time: {value} (ISO 8601 expected)",
                         code="invalid_request") from exc


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


def to_csv(items: list[dict[str, Any]]) -> str:
    """The records as CSV with a BOM (opens in Excel); cells that would run as formulas are quoted."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for item in items:
        row = [item.get(c) if c != "detail" else json.dumps(item["detail"], ensure_ascii=False) for c in CSV_COLUMNS]
        # a cell starting with = + - @ would run as a formula in a spreadsheet
        writer.writerow(["'" + v if isinstance(v, str) and v[:1] in "=+-@" else v for v in row])
    return "\ufeff" + buf.getvalue()
