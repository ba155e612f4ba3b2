"""Async facade over the synchronous QueueStore (``server.devices.port.InProcessQueue`` wraps it as a QueuePort).

Mutations run on one writer thread (or inline on the event loop for SQLite, see
``Settings.store_writes``), reads on a small pool. Events of a change are
published to the hub only after the store committed them, strictly in ``seq`` order, by
one background drainer (the HTTP answer does not wait for the fan-out). Other server
processes commit events too: a gap in the sequence is filled from the store's event log
before anything later is published, and a poller picks up their events when this process
is idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from server.hall.hub import Hub
from server.metrics import Metrics

ROLLOVER_SECONDS = 300.0
log = logging.getLogger(__name__)
T = TypeVar("T")
GAP_SETTLE_SECONDS = 0.05
FULL_POLL_EVERY = 10  # an idle SQLite poll still reads the log every 10th time (file stamps are coarse)
PG_WRITERS = 4  # writer threads on PostgreSQL (bench/bench_store.py: call 179 → 243/s with 4 over 1)


def as_dict(value: Any) -> Any:
    """JSON-ready form of a store view (or None / plain values unchanged)."""
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value


class HallService:
    """The queue as the web layer and the device manager see it: async, dict results."""

    def __init__(
        self,
        store: Any,
        hub: Hub,
        metrics: Metrics | None = None,
        *,
        threads: int = 8,
        poll_seconds: float = 0.5,
        inline_writes: bool = False,
    ) -> None:
        self.store = store
        self.hub = hub
        self.metrics = metrics or Metrics()
        self.poll_seconds = poll_seconds
        self.inline_writes = inline_writes
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hallq-read")
        # SQLite: one writer thread, so mutations of this process queue up in Python instead of
        # spinning in SQLite's busy handler (which sleeps up to 100 ms per retry). PostgreSQL: a
        # few, so one transaction's round trips overlap another's; row locks and the outbox lock
        # keep them apart (server/store/base.py), and an outcome that overtakes an earlier seq
        # waits in _pending for it (gap fill, as with another process's events).
        writers = PG_WRITERS if getattr(store, "pg", False) else 1
        self._writer = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="hallq-write")
        self._pending: dict[int, Any] = {}
        self._publish_lock = asyncio.Lock()
        self._poller: asyncio.Task[None] | None = None
        self._drainer: asyncio.Task[None] | None = None
        self._day_keeper: asyncio.Task[None] | None = None
        self._db_files = _sqlite_files(store)
        self._stamp: tuple[tuple[int, int] | None, ...] | None = None
        self._polls = 0

    # -- lifecycle -----------------------------------------------------------------
    async def startup(self) -> None:
        """Learn the current event seq and start following other processes' events."""
        self.hub.last_seq = await self.run(self._current_seq)
        if self.poll_seconds > 0:
            self._poller = asyncio.get_running_loop().create_task(self._poll())
        if callable(getattr(self.store, "rollover", None)):
            self._day_keeper = asyncio.get_running_loop().create_task(self._keep_days())

    async def shutdown(self) -> None:
        """Stop the poller and the thread pool."""
        for task in (self._poller, self._drainer, self._day_keeper):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._writer.shutdown(wait=True, cancel_futures=True)

    def _current_seq(self) -> int:
        current = getattr(self.store, "current_seq", None)
        if callable(current):
            return int(current())
        seq = 0
        while True:  # fallback: walk the event log (startup only)
            batch = self.store.last_events(seq, 1000)
            if not batch:
                return seq
            seq = batch[-1].seq

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                if not self._pending and await self._log_unchanged():
                    continue
                await self._catch_up()
            except Exception:
                log.exception("reading the event log failed")

    async def _log_unchanged(self) -> bool:
        # On SQLite (inline writes, seqs commit in order) one inline MAX(seq) read (~0.1 ms) tells an
        # idle poll there is nothing new, instead of a read-pool hop twice a second (idle CPU:
        # bench/bench_footprint.py). Elsewhere (PostgreSQL: seqs may commit out of order) always read.
        current = getattr(self.store, "current_seq", None)
        if not self.inline_writes or not callable(current):
            return False
        # Cheaper still: every commit to a WAL database writes the -wal file (or the main file at a
        # checkpoint), so unchanged size and mtime of both mean nobody committed since the last
        # poll's read. Stamped before the read, so a commit during it changes the next stamp.
        self._polls += 1
        stamp = _stamp(self._db_files) if self._db_files else None
        if stamp is not None and stamp == self._stamp and self._polls % FULL_POLL_EVERY:
            return True
        self._stamp = stamp
        return int(await self.read(current)) <= self.hub.last_seq

    async def _keep_days(self, every: float = ROLLOVER_SECONDS) -> None:
        # Tickets left waiting when a business day ends become "expired" (never deleted);
        # checking often is cheap and covers a server that runs across midnight for weeks.
        while True:
            try:
                expired = await self.rollover()
                if expired:
                    log.info("day rollover: %d tickets expired", expired)
            except Exception:
                log.exception("day rollover failed")
            try:  # 差评 cases past a deadline raise their alert (once per case and stage)
                await self.sweep_cases()
            except Exception:
                log.exception("overdue case sweep failed")
            await asyncio.sleep(every)

    async def _catch_up(self) -> None:
        async with self._publish_lock:
            await self._fill_from_log(upto=None)
            await self._flush_settled(upto=max(self._pending, default=0))

    # -- plumbing ------------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking store read on the read pool."""
        loop = asyncio.get_running_loop()
        with self.metrics.store_timer("read").time():
            return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a short point read (one indexed row): inline where writes are (SQLite), else on the read pool.

        On SQLite such a read takes ~0.1 ms and never waits for the write lock (WAL), while a
        hop to the read pool waits behind everything else on the loop (tens of ms under load:
        bench/bench_cycle.py). Scans and reports keep using ``run``.
        """
        if not self.inline_writes:
            return await self.run(fn, *args, **kwargs)
        with self.metrics.store_timer("read").time():
            return fn(*args, **kwargs)

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking write outside the queue tables (print jobs, card sessions, rate hits, device status).

        It goes where queue mutations go (the one writer thread, or inline for SQLite), so it
        queues behind them in Python instead of spinning in SQLite's busy handler on a read thread.
        """
        with self.metrics.store_timer("write").time():
            if self.inline_writes:
                return fn(*args, **kwargs)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._writer, functools.partial(fn, *args, **kwargs))

    async def _mutate(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def call() -> tuple[Any, tuple[Any, ...]]:
            outcome = fn(*args, **kwargs)
            return as_dict(outcome.value), tuple(outcome.events)

        with self.metrics.store_timer("transition").time():
            if self.inline_writes:
                value, events = call()
            else:
                value, events = await asyncio.get_running_loop().run_in_executor(self._writer, call)
        self.metrics.count_events(events)
        self.enqueue(events)  # the caller's answer does not wait for the fan-out
        return value

    def enqueue(self, events: Iterable[Any]) -> None:
        """Hand committed events to the in-order publisher (never blocks)."""
        for event in events:
            if event.seq > self.hub.last_seq:
                self._pending.setdefault(event.seq, event)
        if self._pending and (self._drainer is None or self._drainer.done()):
            self._drainer = asyncio.get_running_loop().create_task(self._drain())

    async def publish(self, events: Iterable[Any]) -> None:
        """Publish committed events in seq order and wait until they reached the hub."""
        self.enqueue(events)
        if self._drainer is not None:
            await asyncio.shield(self._drainer)

    async def _drain(self) -> None:
        async with self._publish_lock:
            while self._pending:
                top = max(self._pending)
                if not self._contiguous(top):
                    # another process committed in between: read the missing events from the log
                    try:
                        await self._fill_from_log(upto=top)
                    except Exception:
                        log.exception("reading the event log failed; publishing with a gap")
                await self._flush_settled(upto=top)

    async def _fill_from_log(self, upto: int | None) -> None:
        after = self.hub.last_seq
        while upto is None or after < upto:
            batch = await self.run(self.store.last_events, after, 1000)
            for event in batch:
                self._pending.setdefault(event.seq, event)
            if len(batch) < 1000:
                return
            after = batch[-1].seq

    async def _flush_settled(self, upto: int) -> None:
        """Flush, giving a remaining gap one short chance to commit first.

        PostgreSQL hands out sequence numbers before commit, so seq 10 may commit just after
        seq 11; a seq that never appears was rolled back and is skipped.
        """
        if upto and not self._contiguous(upto):
            await asyncio.sleep(GAP_SETTLE_SECONDS)
            with contextlib.suppress(Exception):
                await self._fill_from_log(upto=upto)
        self._flush(upto)

    def _contiguous(self, top: int) -> bool:
        last = self.hub.last_seq
        return top - last < 10_000 and all(seq in self._pending for seq in range(last + 1, top + 1))

    def _flush(self, upto: int) -> None:
        """Publish pending events up to ``upto`` in order (a seq the store never committed is skipped)."""
        for seq in sorted(s for s in self._pending if s <= upto):
            event = self._pending.pop(seq)
            if seq > self.hub.last_seq:
                self.hub.publish(event)
                self.metrics.events.inc()
                self.metrics.observe_lag(event.at)

    # -- reads ---------------------------------------------------------------------
    async def snapshot(self) -> dict[str, Any]:
        """The hall snapshot (services, windows, recent calls)."""
        return as_dict(await self.run(self.store.snapshot))

    async def get_ticket(self, ticket_id: int) -> dict[str, Any]:
        """One ticket by id."""
        return as_dict(await self.run(self.store.get_ticket, ticket_id))

    async def get_ticket_by_token(self, token: str) -> dict[str, Any]:
        """One ticket by its citizen token."""
        return as_dict(await self.run(self.store.get_ticket_by_token, token))

    async def window(self, number: int) -> dict[str, Any]:
        """One window."""
        return as_dict(await self.run(self.store.window, number))

    async def waiting_for_window(self, number: int) -> list[dict[str, Any]]:
        """Tickets this window could call, in calling order."""
        return [as_dict(t) for t in await self.run(self.store.waiting_for_window, number)]

    async def rating_due(self, number: int) -> dict[str, Any] | None:
        """The ticket the window's evaluator may rate now (stored deadline), or None."""
        return as_dict(await self.run(self.store.rating_due, number))

    async def call_backs(self, number: int) -> list[dict[str, Any]]:
        """Tickets the window set aside (过号/挂起) that it may still call back, newest first."""
        return [as_dict(t) for t in await self.run(self.store.call_backs, number)]

    async def refresh_waiting_gauges(self) -> None:
        """Set the waiting gauges from a fresh snapshot."""
        snap = await self.snapshot()
        self.metrics.set_waiting({s["code"]: int(s.get("waiting") or 0) for s in snap.get("services", [])})

    # -- ticket ops ----------------------------------------------------------------
    async def issue(
        self,
        service: str,
        *,
        channel: str = "kiosk",
        priority: str = "normal",
        identity: Any = None,
        kiosk: str | None = None,
        actor: str = "system",
        sort_at: int | None = None,  # ms; an appointment's slot start (server/appointments/checkin.py)
        on_issue: Callable[..., None] | None = None,  # (conn, view) in the issuing transaction (绿色通道 audit)
    ) -> dict[str, Any]:
        """Issue a ticket."""
        extra: dict[str, Any] = {} if sort_at is None else {"sort_at": sort_at}
        if on_issue is not None:
            extra["on_issue"] = on_issue
        return await self._mutate(
            self.store.issue, service, channel=channel, priority=priority, identity=identity, kiosk=kiosk, actor=actor,
            **extra,
        )

    async def cancel(self, ticket_id: int, *, actor: str = "citizen") -> dict[str, Any]:
        """Cancel a waiting ticket."""
        return await self._mutate(self.store.cancel, ticket_id, actor=actor)

    async def rate(
        self, ticket_id: int, level: int, *, source: str = "api", actor: str = "citizen",
        reasons: Sequence[str] = (), text: str | None = None,
    ) -> dict[str, Any]:
        """Rate a finished ticket (好差评, once); a 差评 opens a case (server/store/ratings.py)."""
        return await self._mutate(
            self.store.rate, ticket_id, level, source=source, actor=actor, reasons=reasons, text=text
        )

    async def case_step(self, case_id: int, action: str, body: dict[str, Any], *, actor: str) -> dict[str, Any]:
        """Move a 差评 case one step (server/store/cases.py)."""
        return await self._mutate(self.store.case_step, case_id, action, body, actor=actor)

    async def sweep_cases(self) -> list[int]:
        """Alert overdue 差评 cases (once per case and stage); the ids alerted now."""
        return await self._mutate(self.store.sweep_overdue)

    # -- window ops ----------------------------------------------------------------
    async def open_window(self, number: int, *, clerk: str | None = None, actor: str = "clerk") -> dict[str, Any]:
        """Open a window (clerk signs in)."""
        return await self._mutate(self.store.open_window, number, clerk=clerk, actor=actor)

    async def close_window(self, number: int, *, actor: str = "clerk") -> dict[str, Any]:
        """Close a window."""
        return await self._mutate(self.store.close_window, number, actor=actor)

    async def pause_window(self, number: int, *, reason: str | None = None, actor: str = "clerk") -> dict[str, Any]:
        """Pause a window (暂停/离岗)."""
        return await self._mutate(
            self.store.pause_window, number, reason=reason, actor=actor
        )

    async def resume_window(self, number: int, *, actor: str = "clerk") -> dict[str, Any]:
        """Resume a paused window."""
        return await self._mutate(self.store.resume_window, number, actor=actor)

    async def call_next(self, number: int, *, actor: str = "clerk") -> dict[str, Any] | None:
        """Call the next ticket for the window, or None when nothing waits."""
        return await self._mutate(self.store.call_next, number, actor=actor)

    async def call(self, number: int, ticket_id: int, *, actor: str = "clerk") -> dict[str, Any]:
        """Call a specific ticket (also 回呼 of a suspended or missed one)."""
        return await self._mutate(self.store.call, number, ticket_id, actor=actor)

    async def recall(self, number: int, *, actor: str = "clerk") -> dict[str, Any]:
        """Call the current ticket again."""
        return await self._mutate(self.store.recall, number, actor=actor)

    async def start(self, number: int, *, actor: str = "clerk") -> dict[str, Any]:
        """Start serving the called ticket."""
        return await self._mutate(self.store.start, number, actor=actor)

    async def finish(self, number: int, *, actor: str = "clerk") -> dict[str, Any]:
        """Finish the ticket being served."""
        return await self._mutate(self.store.finish, number, actor=actor)

    async def no_show(self, number: int, *, actor: str = "clerk") -> dict[str, Any]:
        """Mark the called ticket as 过号."""
        return await self._mutate(self.store.no_show, number, actor=actor)

    async def suspend(self, number: int, *, actor: str = "clerk") -> dict[str, Any]:
        """Suspend (挂起) the current ticket."""
        return await self._mutate(self.store.suspend, number, actor=actor)

    async def transfer(
        self, number: int, *, to_service: str | None = None, to_window: int | None = None, actor: str = "clerk"
    ) -> dict[str, Any]:
        """Transfer the current ticket; returns the child ticket."""
        return await self._mutate(
            self.store.transfer, number, to_service=to_service, to_window=to_window, actor=actor
        )

    async def request_rating(self, number: int, *, actor: str = "clerk") -> dict[str, Any]:
        """Ask the citizen at the window to rate (lights the evaluator)."""
        return await self._mutate(self.store.request_rating, number, actor=actor)

    async def rollover(self) -> int:
        """Expire what is left of past business days."""
        return await self._mutate(self.store.rollover)


def _sqlite_files(store: Any) -> tuple[str, ...]:
    """The SQLite database file and its WAL (empty for PostgreSQL or an in-memory database)."""
    engine = getattr(store, "engine", None)
    url = getattr(engine, "url", None)
    if url is None or url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return ()
    return (url.database, url.database + "-wal")


def _stamp(files: tuple[str, ...]) -> tuple[tuple[int, int] | None, ...]:
    """(mtime ns, size) of each file, None for a missing one."""
    out: list[tuple[int, int] | None] = []
    for name in files:
        try:
            st = os.stat(name)
        except OSError:
            out.append(None)
            continue
        out.append((st.st_mtime_ns, st.st_size))
    return tuple(out)
