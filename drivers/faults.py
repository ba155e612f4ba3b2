"""Generic fault injection at a simulator's transport: drop, stall, corrupt, answer late.

The byte-protocol simulators (drivers/simulator.py ``StreamSimulator``) each have their own
device faults (paper out, bad checksum …). These are the faults of the *line* between the
device and hallq, the same for every family, injected without touching protocol code:
``FaultyLink.attach(sim)`` wraps the simulator's connection handler before it starts, so
every connection's reader and writer pass through the link.

- ``drop``: every open connection is closed (TCP) — the cable is pulled;
- ``stall``: for a while the device neither reads nor answers (bytes both ways are lost);
- ``corrupt``: for a while one byte of each reply is flipped;
- ``late``: for a while each reply is delayed (order kept).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["LINE_FAULTS", "FaultyLink"]

LINE_FAULTS = ("drop", "stall", "corrupt", "late")
Handler = Callable[[Any, Any], Awaitable[None]]


class FaultyLink:
    """The line between one simulator and its host, with faults switched on for a while."""

    def __init__(self, rng: random.Random | None = None, late_seconds: float = 0.3) -> None:
        self.rng = rng or random.Random()
        self.late_seconds = late_seconds
        self.mode: str | None = None
        self.until = 0.0
        self.injected: Counter[str] = Counter()
        self.corrupted = 0
        self.writers: set[_FaultyWriter] = set()

    def attach(self, sim: Any) -> Any:
        """Route ``sim``'s connections through this link (call before ``start``/``start_pty``)."""
        sim.handle = self.wrap(sim.handle)
        sim.line = self
        return sim

    def wrap(self, handler: Handler) -> Handler:
        """The connection handler with this link's reader and writer in between."""
        async def handle(reader: Any, writer: Any) -> None:
            faulty = _FaultyWriter(writer, self)
            self.writers.add(faulty)
            try:
                await handler(_FaultyReader(reader, self), faulty)
            finally:
                self.writers.discard(faulty)
        return handle

    def active(self, mode: str) -> bool:
        """Whether ``mode`` is switched on now."""
        if self.mode is not None and asyncio.get_running_loop().time() >= self.until:
            self.mode = None
        return self.mode == mode

    def inject(self, fault: str, seconds: float = 1.0) -> None:
        """Switch ``fault`` on for ``seconds`` (``drop`` acts at once)."""
        if fault not in LINE_FAULTS:
            raise ValueError(f"unknown line fault {fault!r}; known: {', '.join(LINE_FAULTS)}")
        self.injected[fault] += 1
        if fault == "drop":
            for writer in list(self.writers):
                writer.inner.close()
            return
        self.mode = fault
        self.until = asyncio.get_running_loop().time() + seconds

    def clear(self) -> None:
        """Switch every timed fault off."""
        self.mode = None

    def mangle(self, data: bytes) -> bytes:
        """One byte of ``data`` flipped (the ``corrupt`` fault)."""
        if not data:
            return data
        i = self.rng.randrange(len(data))
        self.corrupted += 1
        return data[:i] + bytes([data[i] ^ (1 << self.rng.randrange(8))]) + data[i + 1:]


class _FaultyReader:
    """The device's receive side: during a stall, what arrives is lost."""

    def __init__(self, inner: Any, link: FaultyLink) -> None:
        self.inner = inner
        self.link = link

    async def read(self, n: int = -1) -> bytes:
        while True:
            data: bytes = await self.inner.read(n)
            if not data or not self.link.active("stall"):
                return data

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        while True:
            data: bytes = await self.inner.readuntil(separator)
            if not self.link.active("stall"):
                return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _FaultyWriter:
    """The device's send side: stalled replies vanish, corrupt ones get a flipped bit, late ones wait."""

    def __init__(self, inner: Any, link: FaultyLink) -> None:
        self.inner = inner
        self.link = link
        self._late: asyncio.Queue[bytes] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._pending = 0  # late replies not yet written (a reply after them must wait its turn)

    def write(self, data: bytes) -> None:
        link = self.link
        if link.active("stall"):
            return
        if link.active("corrupt"):
            data = link.mangle(bytes(data))
        if link.active("late") or self._pending:
            self._delay(bytes(data))  # once one reply waits, later ones queue behind it (order kept)
            return
        self.inner.write(data)

    def _delay(self, data: bytes) -> None:
        if self._late is None:
            self._late = asyncio.Queue()
            self._pump = asyncio.get_running_loop().create_task(self._run_late())
        self._pending += 1
        self._late.put_nowait(data)

    async def _run_late(self) -> None:
        assert self._late is not None
        while True:
            data = await self._late.get()
            await asyncio.sleep(self.link.late_seconds)
            self._pending -= 1
            if self.inner.is_closing():
                continue
            with contextlib.suppress(Exception):
                self.inner.write(data)

    def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __hash__(self) -> int:
        return id(self)
