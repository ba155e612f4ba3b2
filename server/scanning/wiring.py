"""The kiosk scanners' wiring (runs in the device host): a scanned code → ``code.scanned`` on ``kiosk:<id>``.

The page of that kiosk (kiosk/static/checkin.js) hears the event and checks the booking in
(``POST /api/kiosks/{id}/checkin``), exactly as it does for a keyboard-wedge scanner whose
keystrokes it reads itself (docs/protocols/gsm-at.md § "Kiosk QR scanner"). The scan's
text is the whole line; nothing is logged but its length (a booking QR is a credential).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from server.queue.events import Event, EventType

log = logging.getLogger("hallq.scanning")

KIND = "code_scanner"
MAX_TEXT = 512  # a booking code or link; longer scans are not ours


class ScannerWiring:
    """Publishes every scan of a kiosk's scanner (Wiring protocol of server/devices/manager.py)."""

    def __init__(self, port: Any) -> None:
        self.port = port
        self._tasks: list[asyncio.Task[None]] = []
        self.published = 0

    async def start(self, manager: Any) -> None:
        """Follow each scanner bound to a kiosk."""
        for entry, device in manager.devices_of_kind(KIND):
            if entry.kiosk is None:
                log.warning("scanner %s is not bound to a kiosk; its scans are ignored", entry.id)
                continue
            self._tasks.append(asyncio.create_task(self._follow(entry.id, entry.kiosk, device),
                                                   name=f"scanner-{entry.id}"))  # fmt: skip

    async def _follow(self, device_id: str, kiosk: str, device: Any) -> None:
        events = device.events()
        try:
            async for scan in events:
                if len(scan.text) > MAX_TEXT:
                    log.info("scanner %s: a %d-character scan ignored", device_id, len(scan.text))
                    continue
                with contextlib.suppress(Exception):  # the server unreachable: the citizen scans again
                    await self.port.publish(EventType.CODE_SCANNED, (f"kiosk:{kiosk}",),
                                            {"kiosk": kiosk, "device": device_id, "text": scan.text,
                                             "symbology": scan.symbology})  # fmt: skip
                    self.published += 1
        finally:
            await events.aclose()

    async def on_event(self, event: Event) -> None:
        """Queue events are not needed."""

    async def stop(self) -> None:
        """Stop following the scanners."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
