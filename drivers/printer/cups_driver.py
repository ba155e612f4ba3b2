"""Printing through CUPS (optional extra ``hallq[cups]``, pycups): URL ``cups://QueueName``.

``CupsTicketPrinter`` sends ESC/POS bytes to a raw queue (``lpadmin -m raw``, e.g. a
queue whose device is ``socket://printer:9100``); ``CupsDocumentPrinter`` sends PDF to a
normal queue. Both follow the job with ``getJobAttributes`` until it completes or fails.
pycups is blocking, so every call runs in a worker thread with its own connection.
The CUPS server is ``options.server`` ("host:port"), else ``CUPS_SERVER``, else the default.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import Device
from drivers.contract import PrintResult, TicketContent
from drivers.errors import DeviceConfigError
from drivers.health import DeviceState
from drivers.printer.escpos import PrinterProfile, ticket_bytes
from drivers.printer.escpos_driver import TicketLayoutOptions

log = logging.getLogger("hallq.devices.cups")

# IPP job-state values
JOB_PENDING, JOB_HELD, JOB_PROCESSING, JOB_STOPPED, JOB_CANCELED, JOB_ABORTED, JOB_COMPLETED = 3, 4, 5, 6, 7, 8, 9
PRINTER_STOPPED = 5
QUEUE_STOPPED = "queue_stopped"
QUEUE_MISSING = "queue_missing"
JOB_FAILED = "job_failed"
JOB_TIMEOUT = "job_timeout"
CUPS_UNREACHABLE = "cups_unreachable"


def _import_cups() -> Any:
    try:
        import cups
    except ImportError as exc:
        raise DeviceConfigError(
            "the CUPS drivers need pycups: pip install 'hallq[cups]' (builds against libcups2-dev)"
        ) from exc
    return cups


def queue_name(url: str) -> str:
    """``cups://QueueName`` -> ``QueueName``."""
    parts = urlsplit(url)
    name = unquote(parts.netloc or parts.path.lstrip("/"))
    if parts.scheme != "cups" or not name or "/" in name:
        raise DeviceConfigError(f"bad URL {url!r}: expected cups://QueueName")
    return name


class CupsOptions(BaseModel):
    """Options common to both CUPS drivers."""

    model_config = ConfigDict(extra="forbid")

    server: str | None = None
    job_timeout: float = Field(default=30.0, gt=0)
    poll_interval: float = Field(default=10.0, gt=0)


class CupsTicketOptions(CupsOptions, TicketLayoutOptions):
    """A raw CUPS queue in front of an ESC/POS printer: the ESC/POS layout plus CUPS settings."""

    model_config = ConfigDict(extra="forbid")


class _CupsQueue(Device):
    """Shared machinery: connection per call, queue health polling, job tracking."""

    Options: ClassVar[type[BaseModel]] = CupsOptions
    options: CupsOptions

    def __init__(self, device_id: str, url: str, options: BaseModel | Mapping[str, Any] | None = None) -> None:
        self.cups = _import_cups()
        self.queue = queue_name(url)
        super().__init__(device_id, url, options)
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def check_url(cls, url: str) -> None:
        """Validate a ``cups://`` URL (used by config validation)."""
        queue_name(url)

    def _connect(self) -> Any:
        # cupsSetServer is per thread and also sets the port that job URIs are built with
        # (Connection(host, port) alone sends jobs to ipp://localhost:631/printers/…).
        server = self.options.server or os.environ.get("CUPS_SERVER")
        if server:
            self.cups.setServer(server)
        return self.cups.Connection()

    # --- lifecycle ---------------------------------------------------------------------------

    async def on_open(self) -> None:
        """Check the queue once now, then poll its state in the background."""
        if self._task is None:
            self.tracker.set(DeviceState.CONNECTING)
            await self.refresh()
            self._task = asyncio.create_task(self._poll(), name=f"cups-{self.device_id}")

    async def on_close(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.options.poll_interval)
            await self.refresh()

    def _queue_state(self) -> tuple[int | None, str]:
        printers = self._connect().getPrinters()
        info = printers.get(self.queue)
        if info is None:
            return None, ""
        return int(info.get("printer-state", 3)), str(info.get("printer-state-message", ""))

    async def refresh(self) -> None:
        """Read the queue state: missing queue or stopped queue is a fault; no cupsd is offline."""
        try:
            state, message = await asyncio.to_thread(self._queue_state)
        except Exception as exc:  # cups.IPPError, RuntimeError: cupsd unreachable
            self.tracker.set(DeviceState.OFFLINE, (CUPS_UNREACHABLE,), str(exc))
            return
        if state is None:
            self.tracker.set(DeviceState.FAULT, (QUEUE_MISSING,), f"no CUPS queue {self.queue!r}")
        elif state == PRINTER_STOPPED:
            self.tracker.set(DeviceState.FAULT, (QUEUE_STOPPED,), message or None)
        else:
            self.tracker.set(DeviceState.READY)

    # --- jobs ----------------------------------------------------------------------------------

    def _submit_and_wait(self, data: bytes, title: str, job_options: dict[str, str]) -> PrintResult:
        conn = self._connect()
        fd, path = tempfile.mkstemp(prefix="hallq-", suffix=".job")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            job_id = int(conn.printFile(self.queue, path, title, job_options))
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
        deadline = time.monotonic() + self.options.job_timeout
        delay = 0.02
        while True:
            attrs = conn.getJobAttributes(job_id, requested_attributes=["job-state", "job-state-reasons",
                                                                            "job-printer-state-message"])
            state = int(attrs.get("job-state", JOB_PENDING))
            message = str(attrs.get("job-printer-state-message") or attrs.get("job-state-reasons") or "")
            if state == JOB_COMPLETED:
                return PrintResult(True, None, None, job_id)
            if state in (JOB_CANCELED, JOB_ABORTED):
                return PrintResult(False, JOB_FAILED, message or f"job state {state}", job_id)
            if state == JOB_STOPPED:
                return PrintResult(False, QUEUE_STOPPED, message or "queue stopped", job_id)
            if time.monotonic() > deadline:
                return PrintResult(False, JOB_TIMEOUT, f"job {job_id} still in state {state}", job_id)
            time.sleep(delay)
            delay = min(0.25, delay * 1.5)

    async def _print(self, data: bytes, title: str, job_options: dict[str, str]) -> PrintResult:
        try:
            result = await asyncio.to_thread(self._submit_and_wait, data, title, job_options)
        except Exception as exc:  # IPPError (queue missing, refused), RuntimeError (no cupsd)
            log.warning("%s: CUPS job failed: %s", self.device_id, exc)
            await self.refresh()
            return PrintResult(False, self.health.faults[0] if self.health.faults else JOB_FAILED, str(exc))
        if result.printed:
            self.tracker.set(DeviceState.READY)
        elif result.fault == QUEUE_STOPPED:
            self.tracker.set(DeviceState.FAULT, (QUEUE_STOPPED,), result.detail)
        return result


class CupsTicketPrinter(_CupsQueue):
    """ESC/POS tickets through a raw CUPS queue (kind ``ticket_printer``, driver ``cups_raw``)."""

    kind: ClassVar[str] = "ticket_printer"
    name: ClassVar[str] = "cups_raw"
    Options: ClassVar[type[CupsOptions]] = CupsTicketOptions

    @property
    def profile(self) -> PrinterProfile:
        """The ESC/POS profile of the printer behind the queue."""
        o = self.options
        assert isinstance(o, CupsTicketOptions)
        return o.profile()

    async def print_ticket(self, ticket: TicketContent) -> PrintResult:
        """Submit the ticket's ESC/POS bytes as a raw job and wait for it to complete."""
        data = await asyncio.to_thread(ticket_bytes, ticket, self.profile)
        return await self.print_bytes(data, f"ticket {ticket.number}")

    async def print_bytes(self, data: bytes, title: str = "hallq") -> PrintResult:
        """Submit raw bytes to the queue."""
        return await self._print(data, title, {"raw": "true"})


class CupsDocumentPrinter(_CupsQueue):
    """A4 documents (PDF) through a normal CUPS queue (kind ``document_printer``, driver ``cups``)."""

    kind: ClassVar[str] = "document_printer"
    name: ClassVar[str] = "cups"

    async def print_document(self, data: bytes, title: str, mime: str = "application/pdf") -> PrintResult:
        """Submit a document and wait for the job to complete."""
        return await self._print(data, title, {"document-format": mime})
