"""``ExportService``: binds 办件 to tickets and uploads every rating once, with backoff.

The sender loop (one per process that runs it; claims make several safe) does, every
``poll_s`` seconds or as soon as a ``ticket.rated`` event arrives: queue each rating that has
no outbox row yet (``outbox.enqueue``: the record is fixed then, with its 办件 binding), then
claim every due record and hand it to the adapter. Offline, records go ``failed`` with
exponential backoff (``backoff_base_s`` × 2^(attempts−1), capped at ``backoff_max_s``) and
are caught up when the system answers again; a 4xx parks only that record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
from typing import TYPE_CHECKING, Any

from server.errors import Conflict, NotFound
from server.haochaping import links, outbox
from server.haochaping.adapters import Adapter, Rejected, load_adapter
from server.haochaping.record import build_record, rating_key
from server.haochaping.settings import ExportSettings
from server.queue.events import Event, EventType
from server.store.rows import to_ms

if TYPE_CHECKING:
    from server.config import HallConfig
    from server.hall.hub import Hub
    from server.hall.service import HallService
    from server.services import Services
    from server.store import QueueStore

log = logging.getLogger(__name__)


def backoff_s(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next try after ``attempts`` failed ones (exponential, ±10 % jitter, capped)."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return float(delay * random.uniform(0.9, 1.1))  # spreading retries, not security


class ExportService:
    """The 办件 bindings and the 好差评 outbox of one hall."""

    def __init__(self, settings: ExportSettings, config: HallConfig, store: QueueStore, hall: HallService,
                 adapter: Adapter | None = None) -> None:
        self.settings = settings
        self.config = config
        self.store = store
        self.hall = hall
        self.adapter = adapter
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.hall_code = settings.agency_code or "HALLQ"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def now_ms(self) -> int:
        """The store's clock in ms."""
        return to_ms(self.store.clock())

    # -- 办件 binding -------------------------------------------------------------------------

    async def bind(self, window: int, *, project_no: str, item_code: str, actor: str) -> links.CaseLink:
        """Bind the window's ticket (``links.target``) to its 办件编号 and 事项编码, replacing an earlier binding."""
        await self.hall.window(window)  # NotFound for an unknown window
        day = self.store.business_day()

        def write() -> links.CaseLink:
            with self.store.engine.begin() as conn:
                ticket_id = links.target(conn, window, day)
                if ticket_id is None:
                    raise Conflict(code="no_current_ticket", window=window)
                return links.bind(conn, links.CaseLink(ticket_id=ticket_id, project_no=project_no,
                                                       item_code=item_code, window=window, actor=actor,
                                                       at=self.now_ms()))

        return await self.hall.run(write)

    async def link(self, ticket_id: int) -> links.CaseLink | None:
        """A ticket's 办件 binding."""
        def read() -> links.CaseLink | None:
            with self.store.engine.connect() as conn:
                return links.get(conn, ticket_id)

        return await self.hall.run(read)

    # -- the outbox ---------------------------------------------------------------------------

    def _build(self, rating: Any, ticket: Any, link: Any) -> tuple[str, dict[str, Any]]:
        key = rating_key(self.hall_code, rating)
        return key, build_record(key=key, rating=rating, ticket=ticket, link=link, config=self.config,
                                 agency_code=self.settings.agency_code, agency_name=self.settings.agency_name)

    async def enqueue(self) -> int:
        """Queue the ratings not queued yet; how many were."""
        since = self.settings.since.isoformat() if self.settings.since else None
        return await self.hall.run(outbox.enqueue, self.store.engine, self._build, now_ms=self.now_ms(),
                                   limit=self.settings.batch * 4, since=since)

    async def status(self, *, state: str | None = None, limit: int = 100) -> dict[str, Any]:
        """Counts per state, the backlog (not yet sent) and the newest records."""
        def read() -> dict[str, Any]:
            with self.store.engine.connect() as conn:
                counts = outbox.counts(conn)
                rows = outbox.listing(conn, state=state, limit=limit)
            backlog = counts["pending"] + counts["sending"] + counts["failed"] + counts["parked"]
            return {"counts": counts, "backlog": backlog, "sending_enabled": self.adapter is not None,
                    "exports": [r.to_dict() for r in rows]}

        await self.enqueue()  # a rating given a moment ago shows as pending, even without a sender
        return await self.hall.run(read)

    async def retry(self, export_id: int) -> None:
        """Put a parked or failed record back in the queue now."""
        def write() -> str | None:
            with self.store.engine.begin() as conn:
                if outbox.retry(conn, export_id, now_ms=self.now_ms()):
                    return None
                return outbox.state_of(conn, export_id) or "missing"

        refused = await self.hall.run(write)
        if refused == "missing":
            raise NotFound(code="unknown_export", export=export_id)
        if refused is not None:
            raise Conflict(code="export_not_retryable", export=export_id, state=refused)
        self._wake.set()

    # -- sending ------------------------------------------------------------------------------

    async def tick(self) -> int:
        """Queue new ratings, then send every due record once; how many were delivered.

        Each record is claimed just before its send (not the whole batch up front), so a
        slow link never holds claims past their lease while others wait.
        """
        await self.enqueue()
        if self.adapter is None:
            return 0
        lease = int(self.settings.lease_s * 1000)

        def due() -> list[int]:
            with self.store.engine.connect() as conn:
                return outbox.due(conn, now_ms=self.now_ms(), limit=self.settings.batch)

        def claim(export_id: int) -> outbox.Export | None:
            with self.store.engine.begin() as conn:
                return outbox.claim(conn, export_id, sender=self.name, now_ms=self.now_ms(), lease_ms=lease)

        delivered = 0
        for export_id in await self.hall.run(due):
            export = await self.hall.run(claim, export_id)
            if export is None:  # another sender has it
                continue
            state, error, retry_at = "sent", None, None
            try:
                await self.adapter.send(export.key, export.record)
                delivered += 1
            except Rejected as exc:
                state, error = "parked", str(exc)
                log.warning("好差评 export %s parked: %s", export.key, exc)
            except Exception as exc:  # Unavailable, or anything else on the way: the link's fault, retry
                state, error = "failed", str(exc) or type(exc).__name__
                retry_at = self.now_ms() + int(1000 * backoff_s(export.attempts, self.settings.backoff_base_s,
                                                                self.settings.backoff_max_s))
            await self.hall.run(self._settle, export.id, state, error, retry_at)
        return delivered

    def _settle(self, export_id: int, state: str, error: str | None, retry_at: int | None) -> None:
        with self.store.engine.begin() as conn:
            if not outbox.settle(conn, export_id, sender=self.name, state=state, now_ms=self.now_ms(),
                                 error=error, retry_at=retry_at):
                log.warning("好差评 export %d: claim lost before settling (%s)", export_id, state)

    async def _on_event(self, event: Event) -> None:
        if event.type is EventType.TICKET_RATED:
            self._wake.set()

    async def _loop(self) -> None:
        failing = False
        while True:
            try:
                await self.tick()
                failing = False
            except Exception as exc:  # the store busy or gone for a while: try again next round
                if not failing:  # one traceback per outage, not one per round
                    log.exception("好差评 sender round failed")
                else:
                    log.warning("好差评 sender round failed again: %s", exc)
                failing = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_s)
            self._wake.clear()

    def start(self, hub: Hub | None = None) -> None:
        """Run the sender loop on the running event loop (woken by ``ticket.rated``)."""
        if hub is not None:
            hub.add_handler(self._on_event, topics=("hall",))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="haochaping-sender")

    async def stop(self) -> None:
        """Stop the loop and close the adapter; unsent records stay queued."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.adapter is not None:
            await self.adapter.aclose()


def build_exports(config: HallConfig, store: QueueStore, hall: HallService,
                  settings: ExportSettings | None = None) -> ExportService:
    """The export service from ``HALLQ_HAOCHAPING_*``; sending only when a URL (or a named adapter) is set."""
    settings = settings or ExportSettings()
    adapter = load_adapter(settings) if (settings.url or settings.adapter != "generic") else None
    return ExportService(settings, config, store, hall, adapter)


def start_exports(services: Services) -> ExportService:
    """Build the export service for the app's lifespan and start its sender (unless ``HALLQ_HAOCHAPING_SENDER=0``).

    Every web worker may run a sender: claims are conditional updates, so each record is
    sent by one of them; set ``HALLQ_HAOCHAPING_SENDER=0`` in all but one to keep it to one.
    """
    exports = build_exports(services.config, services.store, services.hall)
    if exports.settings.sender:
        exports.start(services.hub)
    return exports
