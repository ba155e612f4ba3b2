"""ESC/POS ticket printer over any transport URL (socket://host:9100, serial port, pty, file://).

Before and after each ticket the driver asks DLE EOT 1, 2, 4 (after discarding stale
input); no answer within ``status_timeout`` counts as offline, never as OK. While idle
it polls the same status every ``poll_interval`` seconds, so a supervisor sees
``paper_out`` before the next citizen does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import ConnectedDevice
from drivers.contract import PrintResult, TicketContent
from drivers.errors import ProtocolError, TransportError, TransportTimeout
from drivers.health import NO_ANSWER, PROTOCOL_ERROR, DeviceState
from drivers.printer.escpos import PrinterProfile, status_query, ticket_bytes
from drivers.printer.status import OFFLINE, PrinterStatus, combine
from drivers.transport import Backoff, Transport

log = logging.getLogger("hallq.devices.escpos")

STATUS_NS = (1, 2, 4)
_QUERY = b"".join(status_query(n) for n in STATUS_NS)


class EscposOptions(BaseModel):
    """Per-printer settings in the hall config (``options:`` of the device entry)."""

    model_config = ConfigDict(extra="forbid")

    encoding: Literal["gb18030", "gbk", "big5"] = "gb18030"
    paper_mm: Literal[58, 80] = 80
    qr: Literal["native", "raster"] = "native"
    qr_size: int = Field(default=6, ge=1, le=16)
    chinese_mode_cmd: bool = False
    status_timeout: float = Field(default=0.5, gt=0, le=10)
    poll_interval: float = Field(default=3.0, gt=0)
    write_timeout: float = Field(default=5.0, gt=0)
    reconnect_max: float = Field(default=30.0, gt=0)
    baudrate: int = 9600
    trace: bool = False

    def profile(self) -> PrinterProfile:
        """The byte-builder profile of these options."""
        return PrinterProfile(self.encoding, self.paper_mm, self.qr, self.chinese_mode_cmd, self.qr_size)


class EscposPrinter(ConnectedDevice):
    """A thermal ESC/POS ticket printer (kind ``ticket_printer``, driver ``escpos``)."""

    kind: ClassVar[str] = "ticket_printer"
    name: ClassVar[str] = "escpos"
    Options: ClassVar[type[EscposOptions]] = EscposOptions

    def __init__(self, device_id: str, url: str, options: EscposOptions | None = None) -> None:
        opts = options if isinstance(options, EscposOptions) else EscposOptions.model_validate(options or {})
        super().__init__(device_id, url, opts)
        self.options: EscposOptions = opts
        self.profile = opts.profile()
        self.backoff = Backoff(maximum=opts.reconnect_max)
        self.serial_options = {"baudrate": opts.baudrate}  # type: ignore[misc]  # per instance on purpose
        self.last_status: PrinterStatus | None = None

    # --- status ----------------------------------------------------------------------------

    async def _query(self, t: Transport) -> PrinterStatus | None:
        """DLE EOT 1, 2, 4 in one write; None when the printer stays silent.

        A reply that is not a status byte (garbage, late bytes) is retried once after
        discarding input, then reported as a protocol error.
        """
        for attempt in range(2):
            await t.discard_input(0.002)
            await t.write(_QUERY, timeout=self.options.status_timeout)
            try:
                reply = await t.read_exactly(len(STATUS_NS), timeout=self.options.status_timeout)
            except TransportTimeout:
                return None
            try:
                return combine(dict(zip(STATUS_NS, reply, strict=True)))
            except ProtocolError:
                if attempt:
                    raise
        return None  # pragma: no cover - the loop always returns or raises

    def _apply(self, status: PrinterStatus | None) -> None:
        """Turn a status answer into health."""
        self.last_status = status
        if status is None:
            self.set_offline("打印机无应答 (no answer to DLE EOT)", fault=NO_ANSWER)
        elif status.blocking:
            self.set_fault(*status.faults)
        else:
            self.set_ready(tuple(status.faults))

    async def refresh(self) -> None:
        """Query status now and update health (used by the idle poll and after fault injection)."""
        try:
            async with self.exclusive(timeout=0) as t:
                self._apply(await self._query(t))
        except ProtocolError as exc:
            self.set_fault(PROTOCOL_ERROR, detail=str(exc))
        except TransportError:
            pass  # exclusive() already told the supervisor; it marks the device offline

    # --- lifecycle hooks --------------------------------------------------------------------

    async def on_connect(self, transport: Transport) -> None:
        """Ask the status once; a silent printer is not ready."""
        status = await self._query(transport)
        if status is None:
            raise TransportTimeout(f"{self.url}: no answer to DLE EOT")
        self._apply(status)

    async def run(self, transport: Transport) -> None:
        """Poll the status while idle until the link is lost."""
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
        if self.profile.qr == "raster":
            data = await asyncio.to_thread(self.build, ticket)  # pure-Python QR rendering
        else:
            data = self.build(ticket)
        return await self.print_bytes(data)

    async def print_bytes(self, data: bytes) -> PrintResult:
        """Send prepared ESC/POS bytes between two status checks."""
        try:
            # an offline printer fails at once: the citizen's ticket must not wait for it
            wait = 0.0 if self.health.state == DeviceState.OFFLINE else 0.5
            async with self.exclusive(timeout=wait) as t:
                before = await self._query(t)
                self._apply(before)
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
