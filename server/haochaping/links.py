"""``case_links``: a ticket bound to its 办件编号 (project_no) and 事项编码 (item_code)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from server.queue.enums import TicketState
from server.store.tables import case_links, tickets, windows


@dataclass(frozen=True, slots=True)
class CaseLink:
    """One binding of a ticket to the approval system's 办件."""

    ticket_id: int
    project_no: str
    item_code: str
    window: int
    actor: str
    at: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"ticket_id": self.ticket_id, "project_no": self.project_no, "item_code": self.item_code,
                "window": self.window, "actor": self.actor, "at": self.at}


def bind(conn: Connection, link: CaseLink) -> CaseLink:
    """Store ``link``; a second call for the same ticket replaces it (the approval system corrects itself)."""
    conn.execute(delete(case_links).where(case_links.c.ticket_id == link.ticket_id))
    conn.execute(insert(case_links), link.to_dict())
    return link


def get(conn: Connection, ticket_id: int) -> CaseLink | None:
    """The binding of a ticket, if any."""
    row = conn.execute(select(case_links).where(case_links.c.ticket_id == ticket_id)).first()
    return CaseLink(**row._mapping) if row is not None else None


def target(conn: Connection, window: int, business_day: str) -> int | None:
    """The ticket a binding at ``window`` is for: its current ticket, else its last 办结 unrated one today.

    The approval system binds while the ticket is served, or at 办结 together with
    ``request_rating`` (the window has no current ticket any more by then).
    """
    current = conn.execute(select(windows.c.current_ticket_id).where(windows.c.number == window)).scalar()
    if current is not None:
        return int(current)
    t = tickets.c
    done = conn.execute(select(t.id).where(t.window == window, t.business_day == business_day,
                                           t.state == TicketState.DONE.value, t.rating.is_(None))
                        .order_by(t.finished_at.desc(), t.id.desc()).limit(1)).scalar()
    return int(done) if done is not None else None
