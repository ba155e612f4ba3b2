"""Short caches behind every auth check: remembered lookups, and one database trip per key at a time.

A remembered value lives ``CACHE_SECONDS`` from the moment its database read began, so a
revocation or password change made by another server process bites within that time. A value
derived from other cached values (a bearer token's principal from its account) is stored with
the oldest stamp of what it was derived from, so deriving never extends that bound. After
``REFRESH_SECONDS`` a value in use is read again in the background, so busy callers never
wait for the database (and never all at once when their entries expire together).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
CACHE_SECONDS = 3.0  # how long another process's revocation may take to bite
REFRESH_SECONDS = 2.0  # from this age a value in use is re-read in the background (still served meanwhile)
MAX_ENTRIES = 5000
MAX_BYTES = 4 * 1024 * 1024  # ~4 MiB of remembered principals at most
ENTRY_OVERHEAD = 200  # dict slot, tuple, stamp: a rough per-entry cost


class ShortCache:
    """Values with the (monotonic) time their read began; thread-safe, dropped together by ``clear``.

    Bounded by entries and by (estimated) bytes: the oldest entries go first, stale ones as
    soon as a new entry arrives, so neither made-up credentials nor a burst of real ones can
    grow it without limit.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._entries: OrderedDict[str, tuple[float, Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0
        self._bytes = 0
        self.max_entries = max_entries
        self.max_bytes = max_bytes

    @property
    def generation(self) -> int:
        """Changes at every ``clear``: a read that began before it must not be kept."""
        return self._generation

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """The estimated size of what is remembered."""
        return self._bytes

    def get(self, key: str, now: float) -> tuple[float, Any] | None:
        """(stamp, value) of ``key`` while younger than ``CACHE_SECONDS``, else None."""
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[0], hit[1]
        return None

    def put(self, key: str, stamp: float, value: Any, generation: int) -> None:
        """Remember ``value`` read at ``stamp``, unless the cache was cleared since ``generation``."""
        size = ENTRY_OVERHEAD + len(key) + _size(value)
        if size > self.max_bytes // 4:  # never let one value take a large share
            return
        with self._lock:
            if generation != self._generation:  # a revocation in this process happened meanwhile
                return
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[2]
            self._entries[key] = (stamp, value, size)
            self._bytes += size
            self._evict(stamp)

    def _evict(self, now: float) -> None:
        entries = self._entries
        while entries:
            first_key, (first_stamp, _, first_size) = next(iter(entries.items()))
            over = len(entries) > self.max_entries or self._bytes > self.max_bytes
            if not over and now - first_stamp < CACHE_SECONDS:
                return
            del entries[first_key]
            self._bytes -= first_size

    def clear(self) -> None:
        """Forget everything (after a revocation or password change in this process)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self._generation += 1


def _size(value: Any) -> int:
    """A rough size of a cached value (principals and account rows are small; strings count by length)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, tuple):
        return sum(_size(v) for v in value) + 16
    return 256 if value is not None else 8


class SingleFlight:
    """Concurrent callers with the same key share one run of the work (misses of many requests → one trip)."""

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Task[Any]] = {}

    def start(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
        """The run of ``work()`` for ``key``: the one under way, else a new one (held until it ends)."""
        loop = asyncio.get_running_loop()
        task = self._running.get(key)
        if task is None or task.get_loop() is not loop:  # a test's earlier event loop may have died mid-run
            task = loop.create_task(_awaited(work))
            self._running[key] = task
            task.add_done_callback(functools.partial(self._done, key))
        return task

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        """The result of ``work()``, started now unless a run for ``key`` is already under way."""
        # shielded: one waiter giving up (client gone) must not cancel the others' answer
        result: T = await asyncio.shield(self.start(key, work))
        return result

    def _done(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # mark it retrieved: waiters that left early must not make asyncio log it


async def _awaited(work: Callable[[], Awaitable[T]]) -> T:
    return await work()
