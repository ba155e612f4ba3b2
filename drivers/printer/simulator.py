"""A virtual ESC/POS ticket printer speaking the same bytes as a real one (TCP or pty).

It parses the stream, answers DLE EOT, renders every cut ticket to text and PNG, keeps
the last ``keep`` tickets, and injects faults: ``paper_out``, ``paper_near_end``,
``cover_open`` (status bytes as a real printer sends them; tickets sent meanwhile are
lost), ``silence`` (no status answers), ``late_status`` (every answer comes
``late_delay`` seconds late) and ``drop`` (connections are closed).

Printer models follow the driver's ``status`` option (docs/protocols/escpos.md):
``escpos`` answers as above; ``presenter`` holds each cut ticket in its presenter until
``act("take")`` (or ``take_after`` seconds) and sets bit 7 of the DLE EOT 1 answer
meanwhile (0x92); ``none`` is write-only and never answers.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from drivers.printer.escpos import DOTS_PER_COLUMN, PAPER_DOTS
from drivers.printer.parser import EscposParser
from drivers.printer.render import Page
from drivers.simulator import StreamSimulator

log = logging.getLogger("hallq.sim.escpos")

FAULTS = ("paper_out", "paper_near_end", "cover_open", "silence", "late_status", "drop")
PRESENTER_BIT = 0x80

# DLE EOT n -> reply byte, per fault (docs/protocols/escpos.md).
_OK = 0x12
_STATUS: dict[str | None, dict[int, int]] = {
    None: {1: _OK, 2: _OK, 3: _OK, 4: _OK},
    "paper_near_end": {1: _OK, 2: _OK, 3: _OK, 4: 0x1E},
    "paper_out": {1: 0x1A, 2: 0x32, 3: _OK, 4: 0x72},
    "cover_open": {1: 0x1A, 2: 0x16, 3: _OK, 4: _OK},
}
_BLOCKING = ("paper_out", "cover_open")


def _opt(options: Any, name: str, default: Any) -> Any:
    if isinstance(options, dict):
        return options.get(name, default)
    return getattr(options, name, default)


class EscposSimulator(StreamSimulator):
    """The printer simulator; implements ``drivers.simulator.Simulator``."""

    faults: ClassVar[tuple[str, ...]] = FAULTS

    def __init__(self, device_id: str = "printer", options: Any = None) -> None:
        super().__init__(device_id)
        self.encoding: str = _opt(options, "encoding", "gb18030")
        paper_mm = int(_opt(options, "paper_mm", 80))
        self.columns = PAPER_DOTS.get(paper_mm, 576) // DOTS_PER_COLUMN
        self.keep = int(_opt(options, "keep", 50))
        self.render_png = bool(_opt(options, "render_png", True))
        png_dir = _opt(options, "png_dir", None)
        self.png_dir = Path(png_dir) if png_dir else Path(tempfile.mkdtemp(prefix=f"hallq-sim-{device_id}-"))
        self.tickets: deque[dict[str, Any]] = deque(maxlen=self.keep)
        self.printed = 0
        self.lost = 0
        self.bytes_received = 0
        self.status_queries = 0
        self.connections = 0
        self.model: str = _opt(options, "status", "escpos")  # escpos | presenter | none
        self.late_delay = 0.8  # seconds, for the late_status fault (> the driver's default status_timeout)
        self.take_after: float | None = None  # presenter: the citizen takes the ticket after this many s
        self.in_presenter = False
        self.taken = 0  # presenter: tickets taken by the citizen
        self.replaced = 0  # presenter: tickets still there when the next one came (retracted/ejected)
        self._take_timer: asyncio.TimerHandle | None = None
        self._renders: set[asyncio.Task[None]] = set()
        self._ticket_waiters: list[tuple[int, asyncio.Future[dict[str, Any]]]] = []
        # called with each printed ticket (``hallq sim printer`` echoes the text)
        self.ticket_listeners: list[Callable[[dict[str, Any]], None]] = []

    # --- Simulator protocol ----------------------------------------------------------------

    async def stop(self) -> None:
        """Close everything, and cancel pending PNG renders."""
        await super().stop()
        for task in list(self._renders):
            task.cancel()
        if self._take_timer is not None:
            self._take_timer.cancel()

    def state(self) -> dict[str, Any]:
        """Printed tickets (newest last) as text + PNG path, the fault, and counters."""
        return {
            "device_id": self.device_id,
            "url": self.url,
            "fault": self.fault,
            "faults": list(self.faults),
            "printed": self.printed,
            "lost": self.lost,
            "bytes_received": self.bytes_received,
            "status_queries": self.status_queries,
            "connections": self.connections,
            "model": self.model,
            "in_presenter": self.in_presenter,
            "taken": self.taken,
            "replaced": self.replaced,
            "tickets": [{k: v for k, v in t.items() if k != "_page"} for t in self.tickets],
        }

    def inject(self, fault: str | None) -> None:
        """Set (or clear with None) the injected fault; ``drop`` closes every connection."""
        super().inject(fault)
        if fault == "drop":
            self.close_connections()

    async def act(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """``clear`` forgets tickets; ``png`` gives a ticket PNG (base64, ``index``); ``take`` empties the presenter."""
        if action == "clear":
            self.tickets.clear()
            return {"cleared": True}
        if action == "png":
            ticket = self.ticket(int(params.get("index", -1)))
            return {"index": ticket["index"], "png_base64": base64.b64encode(self.png(ticket["index"])).decode()}
        if action == "last_ticket":
            return {k: v for k, v in self.ticket(-1).items() if k != "_page"}
        if action == "take":
            return {"taken": self.take()}
        raise ValueError(f"unknown action {action!r}; known: clear, png, last_ticket, take")

    def take(self) -> bool:
        """The citizen takes the ticket from the presenter; False when none was there."""
        if self._take_timer is not None:
            self._take_timer.cancel()
            self._take_timer = None
        if not self.in_presenter:
            return False
        self.in_presenter = False
        self.taken += 1
        return True

    def status_byte(self, n: int) -> int:
        """The answer to DLE EOT ``n`` now (fault table, plus the presenter bit)."""
        value = _STATUS.get(self.fault, _STATUS[None]).get(n, _OK)
        if n == 1 and self.in_presenter:
            value |= PRESENTER_BIT
        return value

    # --- tickets -------------------------------------------------------------------------------

    def ticket(self, index: int = -1) -> dict[str, Any]:
        """A kept ticket by its running index (negative: from the newest)."""
        if not self.tickets:
            raise LookupError("no ticket printed yet")
        if index < 0:
            return self.tickets[index]
        for t in self.tickets:
            if t["index"] == index:
                return t
        raise LookupError(f"ticket {index} is no longer kept")

    def png(self, index: int = -1) -> bytes:
        """PNG bytes of a kept ticket (rendered now if the background render is not done)."""
        ticket = self.ticket(index)
        if ticket.get("png_path") and Path(ticket["png_path"]).exists():
            return Path(ticket["png_path"]).read_bytes()
        data: bytes = ticket["_page"].png()
        return data

    async def wait_ticket(self, count: int, timeout: float) -> dict[str, Any]:
        """Wait until ``count`` tickets have been printed in total; returns the newest."""
        if self.printed >= count:
            return self.tickets[-1]
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._ticket_waiters.append((count, fut))
        return await asyncio.wait_for(fut, timeout)

    def _ticket_done(self, page: Page, size: int) -> None:
        if self.fault in _BLOCKING:
            self.lost += 1  # no paper / open cover: the data goes nowhere
            return
        page.finish()
        self.printed += 1
        if self.model == "presenter":
            if self.in_presenter:
                self.replaced += 1
            self.in_presenter = True
            if self.take_after is not None:
                if self._take_timer is not None:
                    self._take_timer.cancel()
                self._take_timer = asyncio.get_running_loop().call_later(self.take_after, self.take)
        ticket: dict[str, Any] = {
            "index": self.printed,
            "text": page.text(),
            "bytes": size,
            "overflow_lines": page.overflow,
            "received_at": time.perf_counter(),
            "png_path": None,
            "_page": page,
        }
        self.tickets.append(ticket)
        if self.render_png:
            task = asyncio.create_task(self._render(ticket))
            self._renders.add(task)
            task.add_done_callback(self._renders.discard)
        for listener in list(self.ticket_listeners):
            try:
                listener(ticket)
            except Exception:
                log.exception("%s: ticket listener failed", self.device_id)
        for count, fut in list(self._ticket_waiters):
            if self.printed >= count and not fut.done():
                fut.set_result(ticket)
                self._ticket_waiters.remove((count, fut))

    async def _render(self, ticket: dict[str, Any]) -> None:
        path = self.png_dir / f"{self.device_id}-{ticket['index']:05d}.png"
        try:
            data = await asyncio.to_thread(ticket["_page"].png)
            await asyncio.to_thread(path.write_bytes, data)
            ticket["png_path"] = str(path)
            old = ticket["index"] - self.keep
            if old > 0:  # keep the directory as bounded as the ticket list
                (self.png_dir / f"{self.device_id}-{old:05d}.png").unlink(missing_ok=True)
        except Exception:
            log.exception("%s: rendering ticket %s failed", self.device_id, ticket["index"])

    # --- the byte stream ----------------------------------------------------------------------

    def _late_reply(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Answer after ``late_delay`` seconds (in order: the timers run first-in first-out)."""

        def send() -> None:
            with contextlib.suppress(Exception):  # the driver may have gone meanwhile
                writer.write(data)

        asyncio.get_running_loop().call_later(self.late_delay, send)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.fault == "drop":
            writer.close()
            return
        self.connections += 1
        self._writers.add(writer)
        parser = EscposParser(self.encoding)
        page = Page(self.columns)
        size = 0
        try:
            while True:
                data = await reader.read(65536)
                if not data or self.fault == "drop":
                    break
                self.bytes_received += len(data)
                size += len(data)
                replies = bytearray()
                ops = parser.feed(data)
                # status queries (3 bytes each) are not part of a ticket, also when one arrives
                # in the same read as the cut that ends the ticket before it
                size -= 3 * sum(1 for op in ops if op.name == "status")
                for op in ops:
                    if op.name == "status":
                        self.status_queries += 1
                        if self.fault != "silence" and self.model != "none":
                            replies.append(self.status_byte(op.args[0]))
                    elif op.name == "cut":
                        self._ticket_done(page, size)
                        page, size = Page(self.columns), 0
                    else:
                        page.apply(op)
                if replies and self.fault == "late_status":
                    self._late_reply(writer, bytes(replies))
                elif replies:
                    writer.write(bytes(replies))
                    await writer.drain()
        except (ConnectionError, OSError):
            pass  # the driver went away; nothing to answer
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()
