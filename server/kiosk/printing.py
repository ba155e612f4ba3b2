"""The kiosk printers' wiring (runs in the device host): print-after-issue lives here only.

On ``print.requested`` for a kiosk whose ticket printer this host runs, the wiring claims
the job through the ``QueuePort`` (a conditional update in the store: exactly one host
wins, and a job the issuing route gave up on cannot be claimed), prints the ticket on the
kiosk's printer and reports the result with ``finish_print_job``. A faulted, offline or
silent printer is a reported fault, never a lost ticket: the kiosk shows the ticket and
its QR code on screen.

Wiring protocol of server/devices/manager.py: ``start(manager)`` (``manager.queue`` is the
port, ``manager.kiosk_device`` finds the printer), ``on_event(event)``, ``stop()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from displays import wording
from drivers.contract import PrintResult, TicketContent
from server.config import HallConfig
from server.kiosk.jobs import PrintJob
from server.queue.events import Event, EventType

log = logging.getLogger("hallq.kiosk.printing")

KIND = "ticket_printer"
PRINT_TIMEOUT = "timeout"
PRINT_ERROR = "print_error"
DEFAULT_TIMEOUT = 8.0


class PrintPort(Protocol):
    """The part of ``server.devices.port.QueuePort`` this wiring uses."""

    async def claim_print_job(self, job_id: int) -> Any | None:
        """Take a job (None: another host has it)."""
        ...

    async def finish_print_job(self, job_id: int, *, printed: bool, fault: str | None) -> None:
        """Report how printing ended."""
        ...


class PrinterHost(Protocol):
    """What the wiring needs of the device manager."""

    config: HallConfig
    public_base_url: str

    @property
    def queue(self) -> Any:
        """The QueuePort."""
        ...

    def kiosk_device(self, kiosk_id: str, kind: str) -> Any | None:
        """The kiosk's device of a kind."""
        ...


def ticket_content(config: HallConfig, job: PrintJob, base_url: str) -> TicketContent:
    """What goes on paper for a claimed job."""
    ticket = job.ticket
    service = config.service_map.get(ticket.service)
    issued = dt.datetime.fromisoformat(ticket.issued_at) if ticket.issued_at else None
    return TicketContent(
        hall_name=config.hall.name,
        service_name=ticket.service_name or (service.name if service else ticket.service),
        number=ticket.number,
        ahead=ticket.ahead,
        eta_minutes=ticket.eta_minutes,
        eta_text=wording.eta_line(ticket.eta_minutes, ticket.eta_range),
        issued_at=issued or dt.datetime.now(config.hall.tz),
        qr_url=f"{base_url.rstrip('/')}/t/{job.token}",
        notice=service.notice if service else "",
        masked_name=ticket.masked_name,
        # the ticket's priority in words (老年人优先), on the driver's free line under the wait
        window_hint=wording.priority_label(ticket.priority, ticket.channel) or None,
        footer=wording.ticket_footer(config.policy.callback_minutes) + _phone(config),
    )


def _phone(config: HallConfig) -> str:
    # 监督电话 (live configuration, server/config_live/): 12345 or the hall's local line
    phone = config.bulletin.supervision_phone
    return f"；监督电话：{phone}" if phone else ""


def _job_of(event: Event) -> tuple[int, str] | None:
    data: Mapping[str, Any] = event.data
    job, kiosk = data.get("job"), data.get("kiosk")
    return (job, kiosk) if isinstance(job, int) and isinstance(kiosk, str) else None


class PrinterWiring:
    """Claims and prints the print jobs of the kiosks whose printers this host runs."""

    def __init__(self, *, port: PrintPort | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.port = port  # None: the manager's queue port (start)
        self.timeout = timeout
        self.host: PrinterHost | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, manager: PrinterHost) -> None:
        """Remember the manager (its printers, config and public URL) and the port."""
        self.host = manager
        self.port = self.port or manager.queue

    async def on_event(self, event: Event) -> None:
        """Start printing a requested job for one of this host's kiosk printers (without blocking the event pump)."""
        if event.type is not EventType.PRINT_REQUESTED or self.host is None:
            return
        found = _job_of(event)
        if found is None:
            log.warning("print.requested without a job id skipped")
            return
        job_id, kiosk = found
        printer = self.host.kiosk_device(kiosk, KIND)
        if printer is None:
            return  # another host's printer (or none): leave the job to it
        task = asyncio.get_running_loop().create_task(self._print(job_id, printer), name=f"print-{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Let running prints end (bounded), then cancel what is left."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self.timeout)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _print(self, job_id: int, printer: Any) -> None:
        port = self.port
        assert port is not None
        raw = await port.claim_print_job(job_id)
        if raw is None:
            return  # another host (or a second event delivery) took it, or the kiosk gave up
        job = raw if isinstance(raw, PrintJob) else PrintJob.from_dict(raw)
        result = await self.print_job(job, printer)
        if not result.printed:
            log.warning("kiosk %s: ticket %s not printed (%s)", job.kiosk, job.ticket.number, result.fault)
        await port.finish_print_job(job_id, printed=result.printed, fault=result.fault)

    async def print_job(self, job: PrintJob, printer: Any) -> PrintResult:
        """Print one claimed job; never raises."""
        assert self.host is not None
        try:
            content = ticket_content(self.host.config, job, self.host.public_base_url)
            result: PrintResult = await asyncio.wait_for(printer.print_ticket(content), self.timeout)
            return result
        except TimeoutError:
            return PrintResult(False, PRINT_TIMEOUT, f"no result within {self.timeout:g}s")
        except Exception as exc:  # a driver bug must not lose the ticket
            log.exception("printing ticket %s at kiosk %s failed", job.ticket.number, job.kiosk)
            return PrintResult(False, PRINT_ERROR, str(exc))
