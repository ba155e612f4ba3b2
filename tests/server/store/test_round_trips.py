"""Round trips of the hot path (bench/bench_store.py): statements per issue; PostgreSQL reads without BEGIN/COMMIT."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select

from server.store import QueueStore
from server.store.tables import counters, tickets


def _statements(store: QueueStore) -> list[str]:
    seen: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _count(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    return seen


def test_issue_bumps_the_counter_in_the_ticket_statement(store: QueueStore) -> None:
    store.issue("a")  # the day's counter row exists from here on
    seen = _statements(store)
    issued = [store.issue("a").value.ticket for _ in range(3)]
    per_issue = len(seen) / 3
    # PostgreSQL: counter lock, counter+ticket (one CTE), waiting view, transitions+events;
    # SQLite adds BEGIN IMMEDIATE and keeps the counter update apart (no DML inside WITH)
    assert per_issue == (4 if store.pg else 7)
    assert [t.number for t in issued] == ["A002", "A003", "A004"]
    with store.engine.connect() as conn:
        last, count = conn.execute(select(counters.c.last_number, counters.c.issued)
                                   .where(counters.c.service == "a")).one()
        stored = conn.execute(select(func.count()).select_from(tickets).where(tickets.c.service == "a")).scalar_one()
    assert (last, count) == (4, stored)


def test_postgresql_reads_are_autocommit_and_writes_stay_transactional(store: QueueStore) -> None:
    if not store.pg:
        pytest.skip("PostgreSQL only: SQLite reads are deferred BEGIN transactions")
    with store._read() as conn:
        assert conn.connection.dbapi_connection.autocommit is True  # type: ignore[union-attr]
        assert conn.execute(select(func.count()).select_from(tickets)).scalar_one() == 0
    # the pooled connection goes back to transactional mode: a failing write leaves nothing behind
    with pytest.raises(RuntimeError), store._tx() as tx:
        assert tx.conn.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]
        tx.conn.execute(counters.insert().values(service="a", business_day=tx.day, last_number=None, issued=0))
        raise RuntimeError("rolled back")
    with store._read() as conn:
        assert conn.execute(select(func.count()).select_from(counters)).scalar_one() == 0
    assert store.issue("a").value.ticket.number == "A001"
