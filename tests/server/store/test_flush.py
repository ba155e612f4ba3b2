"""The end of a write transaction: transitions and events written together, seqs in order (both databases)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from server.store import QueueStore
from server.store.base import FLUSH_CHUNK
from server.store.tables import events, transitions


def test_one_transaction_with_more_rows_than_a_flush_chunk(store: QueueStore, clock: Any) -> None:
    n = FLUSH_CHUNK + 20
    ids = [store.issue("a").value.ticket.id for _ in range(n)]
    clock.advance(days=1)
    out = store.rollover()  # one transaction: n transitions and n events
    assert out.value == n
    seqs = [int(e.seq or 0) for e in out.events]
    assert seqs == sorted(seqs) and len(set(seqs)) == n
    assert sorted(e.data["ticket"]["id"] for e in out.events) == ids
    with store.engine.connect() as conn:
        stored = conn.execute(select(events.c.seq, events.c.type).where(events.c.seq.in_(seqs))
                              .order_by(events.c.seq)).all()
        assert [r.seq for r in stored] == seqs and {r.type for r in stored} == {"ticket.expired"}
        count = conn.execute(select(func.count()).select_from(transitions)
                             .where(transitions.c.to_state == "expired")).scalar_one()
        assert count == n


def test_issue_writes_its_transition_and_event(store: QueueStore) -> None:
    out = store.issue("a")
    ticket = out.value.ticket
    (event,) = out.events
    assert event.type == "ticket.issued" and event.seq == store.last_events(0)[-1].seq
    with store.engine.connect() as conn:
        rows = conn.execute(select(transitions.c.action, transitions.c.to_state)
                            .where(transitions.c.ticket_id == ticket.id)).all()
    assert [(r.action, r.to_state) for r in rows] == [("issue", "issued")]
