"""Stored window follow-ups: the rating deadline and the call-back list; and no token in the outbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from server.errors import Conflict
from server.queue.events import Event, RatingEvent, TicketEvent
from server.store import QueueStore
from server.store.tables import events


def test_rating_due_after_finish_until_the_deadline(store: QueueStore, clock: Any) -> None:
    t = store.issue("a").value.ticket
    store.open_window(1)
    assert store.rating_due(1) is None
    store.call_next(1)
    store.finish(1)
    due = store.rating_due(1)
    assert due is not None and due.id == t.id
    assert store.rating_due(2) is None  # another window's evaluator has nothing to rate
    clock.advance(seconds=store.config.policy.rating_seconds - 1)
    assert store.rating_due(1) is not None
    clock.advance(seconds=1)
    assert store.rating_due(1) is None  # too late


def test_rating_clears_the_deadline_and_the_next_ticket_replaces_it(store: QueueStore) -> None:
    first, second = store.issue("a").value.ticket, store.issue("a").value.ticket
    store.open_window(1)
    store.call_next(1)
    store.finish(1)
    store.call_next(1)
    store.start(1)
    with pytest.raises(Conflict) as refused:  # rating only after 办结: not while serving the second
        store.request_rating(1)
    assert refused.value.code == "not_ratable"
    store.finish(1)
    out = store.request_rating(1)
    assert out.value.id == second.id and store.rating_due(1).id == second.id  # type: ignore[union-attr]
    store.rate(second.id, 5)
    assert store.rating_due(1) is None
    assert store.get_ticket(first.id).rating is None  # its deadline was replaced, not rated


def test_call_backs_lists_what_the_window_set_aside_within_the_limit(store: QueueStore, clock: Any) -> None:
    a, b, c = (store.issue("a").value.ticket for _ in range(3))
    store.open_window(1)
    store.call_next(1)
    store.no_show(1)  # a
    clock.advance(minutes=1)
    store.call_next(1)
    store.suspend(1)  # b
    assert [t.id for t in store.call_backs(1)] == [b.id, a.id]  # newest first
    assert store.call_backs(2) == []
    store.call(1, a.id)  # called back: no longer set aside
    assert [t.id for t in store.call_backs(1)] == [b.id]
    store.finish(1)
    clock.advance(minutes=store.config.policy.callback_minutes + 1)
    assert store.call_backs(1) == []  # too old to call back
    assert c.state == "issued"


def test_no_ticket_token_in_any_event_row(store: QueueStore) -> None:
    held = [store.issue("a").value for _ in range(4)]
    tokens = {h.token for h in held}
    store.open_window(1)
    store.call_next(1)
    store.finish(1)
    store.rate(held[0].ticket.id, 2)
    store.call_next(1)
    store.start(1)
    store.transfer(1, to_service="b")
    store.cancel(held[2].ticket.id)
    store.call_next(1)
    store.no_show(1)
    store.rollover()
    with store.engine.connect() as conn:
        rows = conn.execute(select(events)).all()
    assert {r.type for r in rows} >= {"ticket.issued", "ticket.called", "ticket.finished", "ticket.rated",
                                      "ticket.transferred", "ticket.cancelled", "ticket.no_show", "window.changed"}
    for row in rows:
        for token in tokens:
            assert token not in row.data and token not in row.topics, row.type
        assert "token" not in json.loads(row.data).get("ticket", {})
    # and the log reads back as typed events
    log = store.last_events(0)
    assert len(log) == len(rows) and all(isinstance(e, Event) for e in log)
    rated = next(e for e in log if e.type == "ticket.rated")
    assert isinstance(rated.payload, RatingEvent) and rated.payload.rating.bad
    transferred = next(e for e in log if e.type == "ticket.transferred")
    assert isinstance(transferred.payload, TicketEvent) and transferred.payload.child is not None
