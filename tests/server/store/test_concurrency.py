"""Several OS processes on one database: no duplicate numbers, no ticket called twice."""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from server.config import parse_config
from server.errors import HallqError
from server.store import QueueStore
from server.store.tables import tickets, transitions

HALL = """\
hall: {name: 并发测试, always_open: true}
services:
  - {code: a, name: 综合, prefix: A, number_end: 9999, width: 4}
  - {code: b, name: 社保, prefix: B, number_end: 9999, width: 4}
windows:
""" + "".join(f"  - {{number: {n}, services: [a, b]}}\n" for n in range(1, 9))

PROCESSES = 4
ROUNDS = 120


def hammer(url: str, windows: list[int], seed: int) -> tuple[int, list[int], int]:
    """Issue and call as fast as possible; returns (issued, ids this process called, refusals)."""
    rng = random.Random(seed)
    store = QueueStore(url, parse_config(HALL))
    store.migrate()  # all processes at once on a fresh database, as server processes starting together
    for n in windows:
        store.open_window(n)
    issued, called, refused = 0, [], 0
    try:
        for _ in range(ROUNDS):
            store.issue(rng.choice("ab"), priority=rng.choice(["normal", "normal", "priority"]))
            issued += 1
            window = rng.choice(windows)
            try:
                out = store.call_next(window)
            except HallqError:
                refused += 1
                continue
            if out.value is not None:
                called.append(out.value.id)
                store.finish(window) if rng.random() < 0.8 else store.no_show(window)
    finally:
        store.close()
    return issued, called, refused


def run_and_check(url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(PROCESSES) as pool:
        results = pool.starmap(hammer, [(url, [2 * i + 1, 2 * i + 2], i) for i in range(PROCESSES)],
                               chunksize=1)
    called = [tid for _, ids, _ in results for tid in ids]
    assert sum(r[0] for r in results) == PROCESSES * ROUNDS
    assert len(called) == len(set(called)), "a ticket was called by two windows"
    assert len(called) > ROUNDS  # the processes really competed for the same queues
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(tickets.c.service, tickets.c.number, tickets.c.business_day)).all()
        calls = conn.execute(select(transitions.c.ticket_id).where(transitions.c.to_state == "called")).scalars()
        per_ticket = Counter(calls)
    engine.dispose()
    assert len(rows) == PROCESSES * ROUNDS, "a ticket was lost"
    dupes = [k for k, n in Counter(rows).items() if n > 1]
    assert dupes == [], f"duplicate numbers: {dupes[:5]}"
    assert max(per_ticket.values()) == 1, "a ticket has two call transitions"
    assert set(per_ticket) == set(called)


@pytest.mark.timeout(240)
def test_four_processes_on_one_sqlite_file(tmp_path: Path) -> None:
    run_and_check(f"sqlite:///{tmp_path / 'shared.db'}")


@pytest.mark.timeout(240)
def test_four_processes_on_postgresql(postgres_db_url: str) -> None:
    run_and_check(postgres_db_url)
