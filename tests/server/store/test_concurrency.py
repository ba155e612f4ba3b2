"""Several OS processes on one database: no duplicate numbers, no ticket called twice."""

from __future__ import annotations

import multiprocessing
import queue
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

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

ROOT = Path(__file__).resolve().parents[3]
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


def worker(url: str, windows: list[int], seed: int, out: Any) -> None:
    """Process entry point: hammer, then report through the queue."""
    out.put(hammer(url, windows, seed))


def run_processes(url: str) -> list[tuple[int, list[int], int]]:
    """Start the processes (spawn: fresh interpreters, as separate servers) and collect their results."""
    # the children import this module by its pytest name (tests.server.store.…): make the root importable
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(url, [2 * i + 1, 2 * i + 2], i, out)) for i in range(PROCESSES)]
    for p in procs:
        p.start()
    results = []
    deadline = time.monotonic() + 180
    try:
        while len(results) < PROCESSES:
            try:
                results.append(out.get(timeout=0.5))
            except queue.Empty:
                dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
                assert not dead, f"a worker process failed (exit codes {dead})"
                assert time.monotonic() < deadline, "workers did not finish in time"
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    return results


def run_and_check(url: str) -> None:
    results = run_processes(url)
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
