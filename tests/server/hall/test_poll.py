"""The event-log poll of a SQLite worker: another process's commits arrive; an idle poll reads nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.config import HallConfig
from server.hall import service as hall_service
from server.hall.hub import Hub
from server.hall.service import HallService
from server.store import QueueStore
from tests.support import until

pytestmark = pytest.mark.timeout(60)


class CountingStore:
    """A store whose ``current_seq`` reads are counted (the poll's idle check)."""

    def __init__(self, store: QueueStore) -> None:
        self._store = store
        self.seq_reads = 0

    def current_seq(self) -> int:
        self.seq_reads += 1
        return self._store.current_seq()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def test_commits_of_another_worker_arrive_and_an_idle_poll_reads_nothing(
        demo_config: HallConfig, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hall.db'}"
    mine, other = QueueStore(url, demo_config), QueueStore(url, demo_config)
    mine.migrate()
    store = CountingStore(mine)
    hub = Hub()
    hall = HallService(store, hub, poll_seconds=0.02, inline_writes=True)
    await hall.startup()
    try:
        for _ in range(25):  # each commit of the other worker reaches this worker's hub
            await until(reached(hub, _last_seq(other.issue("general"))), timeout=10)
        reads = store.seq_reads
        polls = hall._polls
        await until(lambda: hall._polls >= polls + 3 * hall_service.FULL_POLL_EVERY, timeout=10)
        # idle: the file stamps are unchanged, so only every FULL_POLL_EVERY-th poll reads the log
        assert store.seq_reads - reads <= 4, (store.seq_reads - reads, hall._polls - polls)
        # and the first commit after the quiet spell still arrives
        await until(reached(hub, _last_seq(other.issue("general"))), timeout=10)
    finally:
        await hub.stop()
        await hall.shutdown()
        mine.close()
        other.close()


def _last_seq(outcome: Any) -> int:
    return max(e.seq for e in outcome.events if e.seq is not None)


def reached(hub: Hub, seq: int) -> Callable[[], bool]:
    """True once the hub has published ``seq``."""
    return lambda: hub.last_seq >= seq
