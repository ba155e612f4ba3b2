"""ESC/POS ticket printer over any transport URL (socket://host:9100, serial port, pty, file://).

Status (docs/protocols/escpos.md, "Status profiles"), chosen by the ``status`` option:

- ``escpos`` (default) and ``presenter``: before and after each ticket the driver asks
  DLE EOT 1, 2 and 4 *one query at a time*, discarding stale input before each, so a
  reply that arrives late is never read as the answer to the next query. A reply later
  than ``status_timeout`` still counts while it comes within ``status_grace``: a slow
  printer is slow, not offline. Only silence through both counts as offline, never as
  OK. While idle the same status is polled every ``poll_interval`` seconds.
- ``presenter``: bit 7 of DLE EOT 1 means "ticket in presenter" (not taken yet). It is
  shown in health as ``ticket_in_presenter`` and never fails a ticket; the next ticket
  prints at once (``presenter: print``, the printer retracts or ejects the old one) or
  waits up to ``presenter_wait`` seconds for it to be taken (``presenter: wait``).
- ``none``: write-only printers (many USB/parallel ones) never answer; no query is
  sent, the printer is ready while its transport is open, and a ticket counts as
  printed when its bytes are written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import ConnectedDevice
from drivers.contract import PrintResult, TicketContent
from drivers.errors import ProtocolError, TransportError, TransportTimeout
from drivers.health import NO_ANSWER, PROTOCOL_ERROR, DeviceState
from drivers.printer.escpos import PrinterProfile, status_query, ticket_bytes
from drivers.printer.status import OFFLINE, PrinterStatus, StatusProfile, combine, is_reply
from drivers.transport import Backoff, SerialOptions, Transport

log = logging.getLogger("hallq.devices.escpos")

STATUS_NS = (1, 2, 4)
WRITE_ONLY_DETAIL = "status: none (write-only printer; delivery not confirmed by the printer)"
PRESENTER_DETAIL = "票据在出票口，等待取走 (ticket in presenter)"


class TicketLayoutOptions(BaseModel):
    """How tickets are laid out for an ESC/POS printer (shared by ``escpos`` and ``cups_raw``)."""

    model_config = ConfigDict(extra="forbid")

    encoding: Literal["gb18030", "gbk", "big5"] = "gb18030"
    paper_mm: Literal[58, 80] = 80
    qr: Literal["native", "raster"] = "native"
    qr_size: int = Field(default=6, ge=1, le=16)  # the largest that fits the paper is used (QR width)
    chinese_mode_cmd: bool = False

    def profile(self) -> PrinterProfile:
        """The byte-builder profile of these options."""
        return PrinterProfile(self.encoding, self.paper_mm, self.qr, self.chinese_mode_cmd, self.qr_size)


class EscposOptions(SerialOptions, TicketLayoutOptions):
    """Per-printer settings in the hall config (``options:`` of the device entry)."""

    model_config = ConfigDict(extra="forbid")

    status: StatusProfile = "escpos"
    presenter: Literal["print", "wait"] = "print"
    presenter_wait: float = Field(default=20.0, ge=0, le=300)
    status_timeout: float = Field(default=0.5, gt=0, le=10)
    status_grace: float = Field(default=1.5, ge=0, le=30)
    poll_interval: float = Field(default=3.0, gt=0)
    write_timeout: float = Field(default=5.0, gt=0)
    reconnect_max: float = Field(default=30.0, gt=0)
    trace: bool = False


class EscposPrinter(ConnectedDevice):
    """A thermal ESC/POS ticket printer (kind ``ticket_printer``, driver ``escpos``)."""

    kind: ClassVar[str] = "ticket_printer"
    name: ClassVar[str] = "escpos"
    Options: ClassVar[type[EscposOptions]] = EscposOptions

    options: EscposOptions

    def __init__(self, device_id: str, url: str, options: EscposOptions | Mapping[str, Any] | None = None) -> None:
        super().__init__(device_id, url, options)
        self.profile = self.options.profile()
        self.backoff = Backoff(maximum=self.options.reconnect_max)
        self.last_status: PrinterStatus | None = None
        self.late_replies = 0  # status replies that came after status_timeout but within the grace

    @property
    def write_only(self) -> bool:
        """True for ``status: none`` printers (never queried)."""
        return self.options.status == "none"

    # --- status ----------------------------------------------------------------------------

    async def _ask(self, t: Transport, n: int) -> int | None:
        """One DLE EOT ``n`` and its reply byte; None when the printer stays silent.

        A byte that is not a reply (garbage) is retried once after discarding input,
        then reported as a protocol error.
        """
        o = self.options
        for attempt in range(2):
            await t.discard_input(0.002)  # stale bytes: a late reply to an earlier query
            await t.write(status_query(n), timeout=o.status_timeout)
            try:
                reply = await t.read_exactly(1, timeout=o.status_timeout)
            except TransportTimeout:
                if o.status_grace <= 0:
                    return None
                try:  # only this query is outstanding, so a late byte is its answer
                    reply = await t.read_exactly(1, timeout=o.status_grace)
                except TransportTimeout:
                    return None
                self.late_replies += 1
            if is_reply(n, reply[0], o.status):
                return reply[0]
            if attempt:
                raise ProtocolError(f"not a status byte: 0x{reply[0]:02x} (DLE EOT {n}, status: {o.status})")
        return None  # pragma: no cover - the loop always returns or raises

    async def _query(self, t: Transport) -> PrinterStatus | None:
        """DLE EOT 1, 2, 4, one at a time; None when the printer stays silent."""
        replies: dict[int, int] = {}
        for n in STATUS_NS:
            value = await self._ask(t, n)
            if value is None:
                return None
            replies[n] = value
        return combine(replies, self.options.status)

    def _apply(self, status: PrinterStatus | None) -> None:
        """Turn a status answer into health."""
        self.last_status = status
        if status is None:
            self.set_offline("打印机无应答 (no answer to DLE EOT)", fault=NO_ANSWER)
        elif status.blocking:
            self.set_fault(*status.faults)
        else:
            self.tracker.set(DeviceState.READY, tuple(status.faults), PRESENTER_DETAIL if status.in_presenter else None)

    async def refresh(self) -> None:
        """Query status now and update health (used by the idle poll and after fault injection)."""
        if self.write_only:
            return
        try:
            async with self.exclusive(timeout=0) as t:
                self._apply(await self._query(t))
        except ProtocolError as exc:
            self.set_fault(PROTOCOL_ERROR, detail=str(exc))
        except TransportError:
            pass  # exclusive() already told the supervisor; it marks the device offline

    async def _wait_taken(self, t: Transport, status: PrinterStatus) -> PrinterStatus | None:
        """``presenter: wait``: poll until the presented ticket is taken, at most ``presenter_wait``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.presenter_wait
        current: PrinterStatus | None = status
        while current is not None and current.in_presenter and loop.time() < deadline:
            await asyncio.sleep(min(0.2, max(0.0, deadline - loop.time())))
            current = await self._query(t)
            self._apply(current)
        return current

    # --- lifecycle hooks --------------------------------------------------------------------

    async def on_connect(self, transport: Transport) -> None:
        """Ask the status once; a silent printer is not ready (a write-only one is)."""
        if self.write_only:
            self.tracker.set(DeviceState.READY, (), WRITE_ONLY_DETAIL)
            return
        status = await self._query(transport)
        if status is None:
            raise TransportTimeout(f"{self.url}: no answer to DLE EOT")
        self._apply(status)

    async def run(self, transport: Transport) -> None:
        """Poll the status while idle until the link is lost (write-only: just wait)."""
        if self.write_only:
            await super().run(transport)
            return
        me = asyncio.current_task()
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self.options.poll_interval)
                return
            # Python 3.11's wait_for can swallow a cancel that races a finishing read; honour it here.
            if me is not None and me.cancelling():
                raise asyncio.CancelledError
            if not self._lock.locked():  # a ticket in progress reads the status itself
                await self.refresh()

    # --- printing ------------------------------------------------------------------------------

    def build(self, ticket: TicketContent) -> bytes:
        """The ticket's bytes for this printer's profile."""
        return ticket_bytes(ticket, self.profile)

    async def print_ticket(self, ticket: TicketContent) -> PrintResult:
        """Check status, send the ticket, check status again; never raises for device trouble."""
        data = await asyncio.to_thread(self.build, ticket)  # a raster QR is rendered in pure Python
        return await self.print_bytes(data)

    async def print_bytes(self, data: bytes) -> PrintResult:
        """Send prepared ESC/POS bytes between two status checks."""
        try:
            # an offline printer fails at once: the citizen's ticket must not wait for it
            wait = 0.0 if self.health.state == DeviceState.OFFLINE else 0.5
            async with self.exclusive(timeout=wait) as t:
                if self.write_only:
                    await t.write(data, timeout=self.options.write_timeout)
                    return PrintResult(True, None, WRITE_ONLY_DETAIL)
                before = await self._query(t)
                self._apply(before)
                if before is not None and before.in_presenter and self.options.presenter == "wait":
                    before = await self._wait_taken(t, before)
                if before is None:
                    return PrintResult(False, OFFLINE, "打印机无应答")
                if before.blocking:
                    return PrintResult(False, before.main_fault, ",".join(sorted(before.faults)))
                await t.write(data, timeout=self.options.write_timeout)
                after = await self._query(t)
                self._apply(after)
                if after is None:
                    return PrintResult(False, OFFLINE, "打印后打印机无应答，号票可能未打出")
                if after.blocking:
                    return PrintResult(False, after.main_fault, "打印中出现故障：" + ",".join(sorted(after.faults)))
                return PrintResult(True, None, ",".join(sorted(after.faults)) or None)
        except ProtocolError as exc:
            self.set_fault(PROTOCOL_ERROR, detail=str(exc))
            return PrintResult(False, PROTOCOL_ERROR, str(exc))
        except TransportError as exc:
            self.set_offline(str(exc))
            return PrintResult(False, OFFLINE, str(exc))

    @property
    def is_ready(self) -> bool:
        """True when connected and the last status allowed printing."""
        return self.health.state in (DeviceState.READY, DeviceState.BUSY)
