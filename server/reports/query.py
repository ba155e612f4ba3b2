"""The report query: reads tickets and their transitions for a range of business days.

It runs on a read-only connection (SQLite: deferred BEGIN, so it never takes the queue's write
lock; PostgreSQL: a plain snapshot), outside every write path of ``server/store``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import Connection, Engine, select

from server.config import HallConfig
from server.reports.kpi import Step, TicketFacts, Visit, visit
from server.store.engine import READ
from server.store.tables import tickets, transitions


def read_facts(conn: Connection, start: dt.date, end: dt.date, service: str | None = None) -> list[TicketFacts]:
    """Tickets of business days ``start``..``end`` (inclusive) with their transitions, by id."""
    t, s = tickets.c, transitions.c
    where = [t.business_day >= start.isoformat(), t.business_day <= end.isoformat()]
    if service is not None:
        where.append(t.service == service)
    rows = conn.execute(select(t.id, t.business_day, t.service, t.state, t.sort_at, t.priority, t.channel,
                               t.counted, t.parent_id, t.rating, t.number).where(*where).order_by(t.id)).all()
    steps: dict[int, list[Step]] = defaultdict(list)
    joined = transitions.join(tickets, t.id == s.ticket_id)
    for tid, action, at, actor, window in conn.execute(
            select(s.ticket_id, s.action, s.at, s.actor, s.window).select_from(joined).where(*where)
            .order_by(s.id)):
        steps[tid].append(Step(action, at, actor, window))
    return [TicketFacts(r.id, r.business_day, r.service, r.state, r.sort_at, r.priority, r.channel,
                        bool(r.counted), r.parent_id, r.rating, r.number, tuple(steps.get(r.id, ())))
            for r in rows]


def read_visits(engine: Engine, config: HallConfig, start: dt.date, end: dt.date,
                service: str | None = None) -> list[Visit]:
    """The visits of a range on a read-only connection."""
    targets = {s.code: s.sla_minutes for s in config.services}
    with engine.connect().execution_options(**{READ: True}) as conn, conn.begin():
        facts = read_facts(conn, start, end, service)
    tz = config.hall.tz
    return [visit(f, target_minutes=targets.get(f.service), tz=tz) for f in facts]
