"""Issuing at a kiosk, the one path: ``KioskService.issue(kiosk, service) -> (IssuedTicket, PrintStatus)``.

``POST /api/kiosks/{id}/tickets`` (server/api/kiosks.py) calls it, and so does ``POST
/api/tickets`` for a kiosk token (server/api/tickets.py): whatever route, it binds the
kiosk's stored card session (elderly priority from the card's age by server/queue/limits.py,
per-person limits in the store), issues through ``HallService.issue``, creates the ticket's
print job and announces it as ``print.requested`` on topic ``host``. The device host owning
the kiosk's printer (server/kiosk/printing.py) claims, prints and finishes the job; the
route waits a few seconds for that, polling the store, and answers with the print state.
Printing never refuses a ticket: a missing, faulted or silent printer is a ``fault``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from server.errors import NotFound
from server.kiosk.jobs import PrintJob, PrintJobs, PrintState, PrintStatus
from server.kiosk.reading import CardReading
from server.kiosk.requests import UNBOUND, KioskRequests, request_pending
from server.kiosk.sessions import CardSession, CardSessions, Hasher
from server.kiosk.voice import KioskVoice
from server.queue.entities import IdentityRef
from server.queue.views import TicketView
from server.store.tables import device_claims
from server.store.views import IssuedTicket

if TYPE_CHECKING:
    from server.config import HallConfig
    from server.hall.hub import Hub
    from server.hall.service import HallService
    from server.store import QueueStore

log = logging.getLogger("hallq.kiosk")

PRINTER_KIND = "ticket_printer"
NO_PRINTER = "no_printer"  # the kiosk has no ticket printer configured
PRINTER_HOST_OFFLINE = "printer_host_offline"  # no running device host holds the kiosk's printer
PRINT_TIMEOUT = "print_timeout"  # a live host holds the printer but did not take the job in time
PRINT_UNFINISHED = "print_unfinished"  # a host is printing but did not report back in time
POLL_SECONDS = 0.05
UNREAD = object()  # issue(session=…) not given: read the kiosk's card session


@dataclass(frozen=True, slots=True)
class KioskSettings:
    """How long the kiosk route waits for the printer, and when a device host counts as gone."""

    print_wait_s: float = 5.0
    host_stale_s: float = 15.0  # as ``Settings.device_stale_seconds``: no heartbeat for this long = offline


def _issued(value: Any) -> IssuedTicket:
    """HallService.issue's answer as an IssuedTicket (older facades answer its dict)."""
    if isinstance(value, IssuedTicket):
        return value
    return IssuedTicket(TicketView.from_dict(value), str(value["token"]))


class KioskService:
    """The kiosk feature on the server: card sessions, issuing with them, print jobs."""

    def __init__(self, config: HallConfig, store: QueueStore, hall: HallService, hasher: Hasher,
                 settings: KioskSettings | None = None) -> None:
        self.config = config
        self.store = store
        self.hall = hall
        self.settings = settings or KioskSettings()
        self.sessions = CardSessions(config, store, hall, hasher)
        self.jobs = PrintJobs(store)
        self.requests = KioskRequests(store)
        self.voice = KioskVoice()
        # jobs this process waits for: a finish reported to this process wakes the wait at once
        # (the embedded host, or a remote host's result landing on this worker); others are polled
        self._waiting: dict[int, asyncio.Event] = {}

    def start(self, hub: Hub | None = None) -> None:
        """Serve the ``kiosk:<id>`` websocket snapshot and start the session sweeper (app lifespan)."""
        if hub is not None:
            hub.register_snapshot("kiosk", self.sessions.snapshot)
        self.sessions.start()

    async def stop(self) -> None:
        """Stop the sweeper."""
        await self.sessions.stop()

    def printers(self, kiosk: str) -> list[str]:
        """The ids of the ticket printers configured for this kiosk (in whichever device host runs them)."""
        return [d.id for d in self.config.devices if d.kind == PRINTER_KIND and d.kiosk == kiosk]

    def _printer_fault(self, kiosk: str) -> str | None:
        """Why nobody can print for this kiosk right now: no printer, or no live device host holds one."""
        printers = self.printers(kiosk)
        if not printers:
            return NO_PRINTER
        fresh = self.store.now_ms() - int(self.settings.host_stale_s * 1000)
        with self.store._read() as conn:
            live = conn.execute(select(device_claims.c.device_id).where(
                device_claims.c.device_id.in_(printers), device_claims.c.heartbeat_at >= fresh)).first()
        return None if live is not None else PRINTER_HOST_OFFLINE

    # -- issuing -------------------------------------------------------------------------------

    async def issue(self, kiosk: str, service: str, key: str | None = None, *,
                    session: object = UNREAD) -> tuple[IssuedTicket, PrintStatus]:
        """Issue at ``kiosk`` with its card session (if any), then print; ``HallqError`` refusals propagate.

        With ``key`` (the tap's idempotency key, server/kiosk/requests.py) a retried tap answers
        the ticket its first attempt issued instead of issuing a second one. ``session``: the
        card session this request already read (the issue limits' person key), else it is read here.
        """
        issued, status, _ = await self.issue_once(kiosk, service, key, session=session)
        return issued, status

    async def issue_once(self, kiosk: str, service: str, key: str | None, *,
                         session: object = UNREAD) -> tuple[IssuedTicket, PrintStatus, bool]:
        """``issue`` that also says whether the answer is a replay of an earlier attempt of the same tap."""
        self.sessions.check_kiosk(kiosk)
        if key is not None:
            bound = await self.hall.write(self.requests.begin, kiosk, key)
            if bound is not None:
                issued, status = await self._replay(kiosk, key, bound)
                return issued, status, True
        try:
            # the card session the issue limits read in this request, else read it now
            card = (session if isinstance(session, CardSession) or session is None
                    else await self.sessions.session(kiosk))
            issued = _issued(await self.hall.issue(
                service, channel="kiosk", priority=self.sessions.priority(card).value,
                identity=self._identity(card), kiosk=kiosk, actor=f"kiosk:{kiosk}",
            ))
        except BaseException:
            if key is not None:  # refused or failed: nothing was issued, the key is free again
                with contextlib.suppress(Exception):
                    await self.hall.write(self.requests.drop, kiosk, key)
            raise
        if key is not None:
            await self.hall.write(self.requests.bind, kiosk, key, issued.ticket.id)
        if card is not None:
            await self.sessions.after_ticket(card)
        return issued, await self.print(kiosk, issued.ticket.id), False

    async def _replay(self, kiosk: str, key: str, bound: int) -> tuple[IssuedTicket, PrintStatus]:
        """The first attempt's ticket; while it is still issuing, wait for it (bounded) like its printing."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.print_wait_s + 2.0
        while bound == UNBOUND:
            if loop.time() >= deadline:
                raise request_pending()
            await asyncio.sleep(POLL_SECONDS * 2)
            found = await self.hall.run(self.requests.bound, kiosk, key)
            bound = UNBOUND if found is None else found
        ticket_id = bound
        issued, status = await self.hall.run(self.requests.replay, ticket_id)
        if status.state in (PrintState.PENDING, PrintState.PRINTING):  # the first attempt still waits for paper
            status = await self._wait_print(ticket_id, status)
        log.info("kiosk %s: retried tap answered with ticket %d", kiosk, ticket_id)
        return issued, status

    async def _wait_print(self, ticket_id: int, status: PrintStatus) -> PrintStatus:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.print_wait_s + 1.0
        while status.state in (PrintState.PENDING, PrintState.PRINTING) and loop.time() < deadline:
            await asyncio.sleep(POLL_SECONDS * 2)
            status = (await self.hall.run(self.requests.replay, ticket_id))[1]
        return status

    @staticmethod
    def _identity(session: CardSession | None) -> IdentityRef | None:
        if session is None:
            return None
        # an expired card (accepted with a warning) may still be refused by a service (ServiceConfig.expired_card)
        return IdentityRef(session.key_hash, session.masked_id, session.masked_name, expired=session.expired)

    async def print(self, kiosk: str, ticket_id: int) -> PrintStatus:
        """Create the ticket's print job, wait briefly for a device host to print it, answer its state."""
        # a kiosk without a printer needs no store read at all; the heartbeat check is one indexed lookup
        fault = NO_PRINTER if not self.printers(kiosk) else await getattr(self.hall, "read", self.hall.run)(
            self._printer_fault, kiosk)
        job_id, events = await self.hall.write(self.jobs.create, ticket_id, kiosk, fault)
        self.hall.enqueue(events)
        if fault is not None:
            return PrintStatus(PrintState.FAILED, fault)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.print_wait_s
        finished = self._waiting.setdefault(job_id, asyncio.Event())
        try:
            while True:
                status = await self.hall.run(self.jobs.status, job_id)
                if status.state in (PrintState.DONE, PrintState.FAILED):
                    return status
                if loop.time() >= deadline:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(finished.wait(), POLL_SECONDS)
        finally:
            self._waiting.pop(job_id, None)
        # nobody claimed it: fail it for good, so a host coming back later cannot print it behind the kiosk's back
        status = await self.hall.write(self.jobs.give_up, job_id, PRINT_TIMEOUT)
        if status.state is PrintState.PRINTING:
            return PrintStatus(PrintState.PRINTING, PRINT_UNFINISHED)
        log.warning("kiosk %s: ticket %d not printed (%s)", kiosk, ticket_id, status.fault)
        return status

    # 预约签到: server/app.py sets this to server/appointments/checkin.py ``check_in`` (kiosk never imports it)
    check_in_hook: Any = None

    async def check_in(self, kiosk: str, code: str | None = None) -> Any:
        """预约签到 / 远程取号 at ``kiosk`` by its card session or a code (404 when appointments are not wired)."""
        if self.check_in_hook is None:
            raise NotFound(code="appointment_not_found")
        return await self.check_in_hook(self, kiosk, code)

    # -- the device host's side (InProcessQueue calls these directly, RemoteQueue through the API) -

    async def card_placed(self, kiosk: str, reading: CardReading) -> CardSession | None:
        """A card was laid on the kiosk's reader (see ``CardSessions.card_placed``)."""
        return await self.sessions.card_placed(kiosk, reading)

    async def card_removed(self, kiosk: str) -> bool:
        """The card was lifted."""
        return await self.sessions.card_removed(kiosk)

    async def claim_print_job(self, job_id: int) -> PrintJob | None:
        """Take a pending job for printing; None when another host took it (or it was given up)."""
        job: PrintJob | None = await self.hall.write(self.jobs.claim, job_id)
        return job

    async def finish_print_job(self, job_id: int, *, printed: bool, fault: str | None) -> PrintStatus:
        """Record how printing went."""
        status, events = await self.hall.write(self.jobs.finish, job_id, printed=printed, fault=fault)
        self.hall.enqueue(events)
        waiter = self._waiting.get(job_id)
        if waiter is not None:
            waiter.set()
        result: PrintStatus = status
        return result
