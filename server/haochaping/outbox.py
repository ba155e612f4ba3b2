"""The ``evaluation_exports`` outbox: each rating queued once, claimed by one sender, settled.

States: ``pending`` (queued) → ``sending`` (claimed by one sender until ``claim_until``) →
``sent``; a transient failure (timeout, 5xx, connection refused) → ``failed`` with
``next_attempt_at`` pushed back exponentially, retried from there; a refusal of the record
itself (4xx) → ``parked`` with its error, left for a person (``retry`` puts it back).
Claims are conditional updates, so any number of processes may run senders: a record is
handed to exactly one of them at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from server.store.tables import case_links, evaluation_exports, ratings, tickets

STATES = ("pending", "sending", "sent", "failed", "parked")
RETRYABLE = ("pending", "failed")
e = evaluation_exports.c


@dataclass(frozen=True, slots=True)
class Export:
    """One outbox row as the API shows it."""

    id: int
    key: str
    ticket_id: int
    state: str
    attempts: int
    next_attempt_at: int
    last_error: str | None
    created_at: int
    sent_at: int | None
    record: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"id": self.id, "key": self.key, "ticket_id": self.ticket_id, "state": self.state,
                "attempts": self.attempts, "next_attempt_at": self.next_attempt_at, "last_error": self.last_error,
                "created_at": self.created_at, "sent_at": self.sent_at, "record": self.record}


def _export(row: Any) -> Export:
    return Export(id=row.id, key=row.key, ticket_id=row.ticket_id, state=row.state, attempts=row.attempts,
                  next_attempt_at=row.next_attempt_at, last_error=row.last_error, created_at=row.created_at,
                  sent_at=row.sent_at, record=json.loads(row.record))


RecordBuilder = Callable[[Any, Any, Any], tuple[str, dict[str, Any]]]  # (rating, ticket, link) -> (key, record)


def unqueued(conn: Connection, limit: int, since: str | None = None) -> list[tuple[Any, Any, Any]]:
    """Ratings without an outbox row yet (of business day ``since`` or later), oldest first: (rating, ticket, link)."""
    r, t, link = ratings.c, tickets.c, case_links.c
    query = (
        select(ratings, tickets, case_links)
        .join(tickets, t.id == r.ticket_id)
        .outerjoin(case_links, link.ticket_id == r.ticket_id)
        .outerjoin(evaluation_exports, e.ticket_id == r.ticket_id)
        .where(e.id.is_(None))
        .order_by(r.at, r.ticket_id)
        .limit(limit)
    )
    if since is not None:
        query = query.where(r.business_day >= since)
    rows = conn.execute(query).all()
    out = []
    for row in rows:
        m = row._mapping
        rating = _Row({c.name: m[c] for c in ratings.c})
        ticket = _Row({c.name: m[c] for c in tickets.c})
        bound = _Row({c.name: m[c] for c in case_links.c}) if m[link.ticket_id] is not None else None
        out.append((rating, ticket, bound))
    return out


class _Row:
    """Attribute access to one table's columns of a joined row."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def enqueue(engine: Any, build: RecordBuilder, *, now_ms: int, limit: int, since: str | None = None) -> int:
    """Queue every rating not queued yet (idempotent: the unique keys drop a concurrent duplicate)."""
    with engine.connect() as conn:
        todo = unqueued(conn, limit, since)
    queued = 0
    for rating, ticket, link in todo:
        key, record = build(rating, ticket, link)
        try:
            with engine.begin() as conn:
                conn.execute(insert(evaluation_exports), {
                    "key": key, "ticket_id": rating.ticket_id, "state": "pending",
                    "record": json.dumps(record, ensure_ascii=False), "attempts": 0, "next_attempt_at": now_ms,
                    "created_at": now_ms,
                })
            queued += 1
        except IntegrityError:  # another process queued it first
            continue
    return queued


def due(conn: Connection, *, now_ms: int, limit: int) -> list[int]:
    """Ids of records a sender may claim now (due retries, and claims whose lease ran out)."""
    rows = conn.execute(
        select(e.id).where(or_(and_(e.state.in_(RETRYABLE), e.next_attempt_at <= now_ms),
                               and_(e.state == "sending", e.claim_until < now_ms)))
        .order_by(e.next_attempt_at, e.id).limit(limit)
    ).scalars()
    return list(rows)


def claim(conn: Connection, export_id: int, *, sender: str, now_ms: int, lease_ms: int) -> Export | None:
    """Claim one record for ``sender`` (conditional update); None when another sender has it."""
    result = conn.execute(
        update(evaluation_exports)
        .where(e.id == export_id,
               or_(and_(e.state.in_(RETRYABLE), e.next_attempt_at <= now_ms),
                   and_(e.state == "sending", e.claim_until < now_ms)))
        .values(state="sending", claimed_by=sender, claim_until=now_ms + lease_ms, attempts=e.attempts + 1)
    )
    if result.rowcount != 1:
        return None
    row = conn.execute(select(evaluation_exports).where(e.id == export_id)).one()
    return _export(row)


def settle(conn: Connection, export_id: int, *, sender: str, state: str, now_ms: int,
           error: str | None = None, retry_at: int | None = None) -> bool:
    """Record the outcome of a claimed send (only the claiming sender may); False when the claim was lost."""
    values: dict[str, Any] = {"state": state, "claimed_by": None, "claim_until": None,
                              "last_error": error[:400] if error else None}
    if state == "sent":
        values["sent_at"] = now_ms
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    result = conn.execute(update(evaluation_exports)
                          .where(e.id == export_id, e.state == "sending", e.claimed_by == sender).values(**values))
    return result.rowcount == 1


def retry(conn: Connection, export_id: int, *, now_ms: int) -> bool:
    """Put a parked or failed record back in the queue now (a person fixed the cause)."""
    result = conn.execute(update(evaluation_exports)
                          .where(e.id == export_id, e.state.in_(("parked", "failed")))
                          .values(state="pending", next_attempt_at=now_ms))
    return result.rowcount == 1


def state_of(conn: Connection, export_id: int) -> str | None:
    """The state of one record (None when there is no such record)."""
    state: str | None = conn.execute(select(e.state).where(e.id == export_id)).scalar()
    return state


def counts(conn: Connection) -> dict[str, int]:
    """Records per state (every state present, zero when none)."""
    found: dict[str, int] = {state: n for state, n in conn.execute(select(e.state, func.count()).group_by(e.state))}
    return {state: int(found.get(state, 0)) for state in STATES}


def listing(conn: Connection, *, state: str | None = None, limit: int = 100) -> list[Export]:
    """The newest records, optionally of one state."""
    query = select(evaluation_exports).order_by(e.id.desc()).limit(limit)
    if state is not None:
        query = query.where(e.state == state)
    return [_export(row) for row in conn.execute(query)]
