"""Print jobs: claimed exactly once under a race (SQLite with two workers, PostgreSQL), given up for good,
and the kiosk's answer when a host claimed a job but never reported."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from server.config import HallConfig
from server.errors import NotFound
from server.kiosk.jobs import PrintJob, PrintJobs, PrintState
from server.queue.events import EventType
from server.store import QueueStore
from tests.server.kiosk.conftest import Clock, close_rig, open_rig
from tests.support import until

CLAIMERS = 8


def race(stores: list[QueueStore], job_id: int) -> list[PrintJob | None]:
    """``CLAIMERS`` threads over ``stores`` claim one job at the same moment."""
    start = threading.Barrier(CLAIMERS)

    def claim(i: int) -> PrintJob | None:
        jobs = PrintJobs(stores[i % len(stores)])
        start.wait()
        return jobs.claim(job_id)

    with ThreadPoolExecutor(CLAIMERS) as pool:
        return list(pool.map(claim, range(CLAIMERS)))


def check_exactly_once(stores: list[QueueStore]) -> None:
    jobs = PrintJobs(stores[0])
    for _ in range(5):
        ticket = stores[0].issue("general", kiosk="k1").value
        job_id, events = jobs.create(ticket.ticket.id, "k1")
        assert [e.type.value for e in events] == ["print.requested"] and "token" not in str(events[0].data)
        won = [j for j in race(stores, job_id) if j is not None]
        assert len(won) == 1, won
        assert won[0].token == ticket.token and won[0].ticket.number == ticket.ticket.number
        assert jobs.status(job_id).state is PrintState.PRINTING


def test_two_workers_on_one_sqlite_file_claim_a_job_once(demo_config: HallConfig, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hall.db'}"
    stores = [QueueStore(url, demo_config, clock=Clock()) for _ in range(2)]
    stores[0].migrate()
    try:
        check_exactly_once(stores)
    finally:
        for store in stores:
            store.close()


def test_claimed_once_on_postgresql(demo_config: HallConfig, postgres_db_url: str) -> None:
    stores = [QueueStore(postgres_db_url, demo_config, clock=Clock()) for _ in range(2)]
    stores[0].migrate()
    try:
        check_exactly_once(stores)
    finally:
        for store in stores:
            store.close()


def test_finish_keeps_the_first_result_and_give_up_blocks_late_claims(demo_config: HallConfig,
                                                                      tmp_path: Path) -> None:
    store = QueueStore(f"sqlite:///{tmp_path / 'hall.db'}", demo_config, clock=Clock())
    store.migrate()
    jobs = PrintJobs(store)
    try:
        ticket = store.issue("general", kiosk="k1").value.ticket
        job_id, _ = jobs.create(ticket.id, "k1")
        assert jobs.claim(job_id) is not None
        status, events = jobs.finish(job_id, printed=False, fault="paper_out")
        assert (status.state, status.fault, status.printed) == (PrintState.FAILED, "paper_out", False)
        assert [e.type.value for e in events] == ["print.done"]
        again, events = jobs.finish(job_id, printed=True, fault=None)  # a duplicate report changes nothing
        assert again.state is PrintState.FAILED and events == ()

        late, _ = jobs.create(ticket.id, "k1")
        assert jobs.give_up(late, "print_timeout").fault == "print_timeout"
        assert jobs.claim(late) is None  # a host coming back cannot print behind the kiosk's back

        refused, events = jobs.create(ticket.id, "k1", fault="no_printer")
        assert events == () and jobs.status(refused).state is PrintState.FAILED
        with pytest.raises(NotFound) as info:
            jobs.claim(99_999)
        assert info.value.code == "unknown_print_job"
    finally:
        store.close()


async def test_a_job_a_host_claimed_but_never_finished_answers_printing(config: HallConfig, tmp_path: Path) -> None:
    rig = await open_rig(config, tmp_path / "hall.db", print_wait_s=0.3)
    try:
        rig.store.claim_devices("device:host", "kiosk-pc", ["printer-k1"], stale_ms=15_000)
        answer = asyncio.create_task(rig.kiosks.issue("k1", "general"))
        requested = await until(lambda: [e for e in rig.events() if e.type is EventType.PRINT_REQUESTED])
        job_id = requested[0].data["job"]  # type: ignore[index]
        assert await rig.kiosks.claim_print_job(job_id) is not None  # a host took it … and went quiet
        issued, status = await answer
        assert (status.state, status.fault, status.printed) == (PrintState.PRINTING, "print_unfinished", False)
        assert issued.ticket.kiosk == "k1"
        late = await rig.kiosks.finish_print_job(job_id, printed=True, fault=None)
        assert late.printed  # the host's late report is kept: the ticket did come out
    finally:
        await close_rig(rig)
