"""Serial QR/barcode scanner at a kiosk: each decoded code becomes one :class:`ScanEvent`.

The scanner is set to its serial (or USB-CDC "virtual COM") mode and sends text lines
(drivers/scanner/codec.py). The same code read twice within ``dedup_seconds`` (a citizen
holding the phone under the window) is one event. A scanner sends nothing when idle, so
the link is supervised by the transport only; a silent port is not a fault.

Keyboard-wedge (HID keyboard) scanners need no driver: the kiosk page receives the
characters as key presses ending in Enter (kiosk/static/checkin.js reads them); see
docs/protocols/gsm-at.md § "Kiosk QR scanner".
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import ClassVar

from pydantic import Field

from drivers.base import ConnectedDevice
from drivers.errors import TransportTimeout
from drivers.events import EventFanout
from drivers.scanner.codec import LineParser, Terminator
from drivers.transport import SerialOptions, Transport

REJECTED_LINES = "rejected_lines"


class ScannerOptions(SerialOptions):
    """Serial framing (scanners default to 9600 8N1) and line settings."""

    terminator: Terminator = "auto"
    encoding: str = "utf-8"
    aim_ids: bool = False
    dedup_seconds: float = Field(default=2.0, ge=0)
    trace: bool = False


@dataclass(frozen=True)
class ScanEvent:
    """A code read at a kiosk's scanner."""

    device_id: str
    text: str
    symbology: str | None
    at: float


class SerialScanner(ConnectedDevice):
    """A line scanner on a serial port (or its simulator)."""

    kind: ClassVar[str] = "code_scanner"
    name: ClassVar[str] = "serial_scanner"
    Options: ClassVar[type[ScannerOptions]] = ScannerOptions
    options: ScannerOptions

    def __init__(self, device_id: str, url: str, options: ScannerOptions | dict[str, object] | None = None) -> None:
        super().__init__(device_id, url, options)
        self._fanout: EventFanout[ScanEvent] = EventFanout(device_id, maxsize=100)
        self._last: tuple[str, float] | None = None
        self.scans = 0

    def events(self) -> AsyncIterator[ScanEvent]:
        """Scans as they arrive (each call is an independent subscriber)."""
        return self._fanout.subscribe()

    async def run(self, transport: Transport) -> None:
        """Read lines until the link is lost; publish each new code once."""
        parser = LineParser(self.options.terminator, self.options.encoding, self.options.aim_ids)
        while not self._lost.is_set():
            try:
                chunk = await transport.read(4096, timeout=5.0)
            except TransportTimeout:
                continue  # an idle scanner says nothing
            dropped = parser.dropped
            scans = parser.feed(chunk)
            if parser.dropped > dropped:
                self.tracker.count(REJECTED_LINES, parser.dropped - dropped)
            for scan in scans:
                now = time.monotonic()
                last = self._last
                if last is not None and last[0] == scan.text and now - last[1] < self.options.dedup_seconds:
                    continue
                self._last = (scan.text, now)
                self.scans += 1
                self._fanout.publish(ScanEvent(self.device_id, scan.text, scan.symbology, time.time()))
