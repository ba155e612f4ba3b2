"""The report query: reads tickets and their transitions for a range of business days.

It runs on a read-only connection (SQLite: deferred BEGIN, so it never takes the queue's write
lock; PostgreSQL: a plain snapshot), outside every write path of ``server/store``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

from sqlalchemy import Connection, Engine, select

from server.config import HallConfig
from server.queue.events import EventType
from server.reports.kpi import Step, TicketFacts, Visit, WindowChange, visit
from server.store.engine import READ
from server.store.tables import events, tickets, transitions


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
            .order_by(s.id)).all():  # fetchall: one round trip instead of a fetchone per row
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


def day_bounds(config: HallConfig, start: dt.date, end: dt.date) -> tuple[int, int]:
    """[ms, ms) of business days ``start``..``end``: from ``start``'s rollover time to the one after ``end``."""
    tz, roll = config.hall.tz, config.hall.rollover
    first = dt.datetime.combine(start, roll, tz)
    last = dt.datetime.combine(end + dt.timedelta(days=1), roll, tz)
    return int(first.timestamp() * 1000), int(last.timestamp() * 1000)


def read_window_changes(engine: Engine, config: HallConfig, start: dt.date, end: dt.date) -> list[WindowChange]:
    """``window.changed`` events of the outbox from a day before the range to its end (windows close nightly)."""
    lo, hi = day_bounds(config, start - dt.timedelta(days=1), end)
    e = events.c
    with engine.connect().execution_options(**{READ: True}) as conn, conn.begin():
        rows = conn.execute(select(e.at, e.data).where(e.type == EventType.WINDOW_CHANGED.value, e.at >= lo, e.at < hi)
                            .order_by(e.seq)).all()
    out = []
    for at, data in rows:
        window = json.loads(data).get("window") or {}
        if isinstance(window.get("number"), int):
            out.append(WindowChange(window["number"], at, str(window.get("state")), window.get("pause_reason")))
    return out
