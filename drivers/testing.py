"""In-memory transports for driver tests, in the spirit of httpx's ``MockTransport``.

A :class:`MemoryTransport` is a real :class:`drivers.transport.Transport` (same
timeouts, ``read_exactly``, ``discard_input``) whose far end is Python: every write
is recorded (``written``, ``output``, like python-escpos' ``Dummy``) and answered by
a handler or by scripted replies. Drivers reach it through their ordinary URL:
register a :class:`MemoryDevice` under a name and open ``memory://name``; each
(re)connect gets a fresh transport, so reconnect logic is testable too::

    with MemoryDevice("printer", handler=lambda data: b"\\x12" * data.count(b"\\x10\\x04")) as dev:
        printer = EscposPrinter("p", "memory://printer")
        ...
        assert dev.output.startswith(b"\\x1b@")
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from drivers.errors import DeviceConfigError, TransportError
from drivers.transport import Transport

# Called with each chunk the driver writes; returns the device's answer (or None / b"").
Handler = Callable[[bytes], bytes | None]

_DEVICES: dict[str, MemoryDevice] = {}


class _Writer:
    """The write side of a MemoryTransport: records, then lets the far end answer."""

    def __init__(self, owner: MemoryTransport) -> None:
        self._owner = owner

    def write(self, data: bytes) -> None:
        self._owner._on_write(bytes(data))

    async def drain(self) -> None:
        if self._owner.broken:
            raise ConnectionResetError("memory transport broken")

    def close(self) -> None:
        self._owner._reader.feed_eof()

    async def wait_closed(self) -> None:
        return None


class MemoryTransport(Transport):
    """A transport whose device is a handler and a script of replies (no sockets, no sleeps)."""

    def __init__(
        self,
        url: str = "memory://test",
        handler: Handler | None = None,
        replies: Iterable[bytes] = (),
        *,
        trace: bool = False,
    ) -> None:
        super().__init__(url, asyncio.StreamReader(), _Writer(self), trace=trace)
        self.handler = handler
        self.replies: deque[bytes] = deque(replies)
        self.written: list[bytes] = []
        self.broken = False

    @property
    def output(self) -> bytes:
        """Everything the driver wrote, in order."""
        return b"".join(self.written)

    def clear(self) -> None:
        """Forget what was written so far."""
        self.written.clear()

    def feed(self, data: bytes) -> None:
        """Bytes the device sends on its own (a key press, a late reply)."""
        if data:
            self._reader.feed_data(data)

    def script(self, *replies: bytes) -> None:
        """Queue answers: each following write is answered by the next one (before the handler)."""
        self.replies.extend(replies)

    def hang_up(self) -> None:
        """The device goes away: reads see end of stream, writes fail."""
        self.broken = True
        self._reader.feed_eof()

    def _on_write(self, data: bytes) -> None:
        if self.broken:
            raise ConnectionResetError("memory transport broken")
        self.written.append(data)
        if self.replies:
            self.feed(self.replies.popleft())
        elif self.handler is not None:
            self.feed(self.handler(data) or b"")


class MemoryDevice:
    """A named in-memory device: every open of ``memory://name`` connects a fresh MemoryTransport."""

    def __init__(self, name: str, handler: Handler | None = None, replies: Iterable[bytes] = ()) -> None:
        self.name = name
        self.handler = handler
        self._replies = list(replies)
        self.connections: list[MemoryTransport] = []
        self.refuse: str | None = None  # set to a reason to make connects fail

    @property
    def url(self) -> str:
        """The URL a driver opens to reach this device."""
        return f"memory://{self.name}"

    @property
    def transport(self) -> MemoryTransport:
        """The latest connection (raises when nobody connected yet)."""
        if not self.connections:
            raise LookupError(f"nobody connected to {self.url}")
        return self.connections[-1]

    @property
    def output(self) -> bytes:
        """Everything written over every connection, in order."""
        return b"".join(t.output for t in self.connections)

    def connect(self, *, trace: bool = False) -> MemoryTransport:
        """A new connection (what ``open_transport('memory://name')`` returns)."""
        if self.refuse is not None:
            raise TransportError(f"{self.url}: cannot open: {self.refuse}")
        transport = MemoryTransport(self.url, self.handler, self._replies, trace=trace)
        self.connections.append(transport)
        return transport

    def register(self) -> MemoryDevice:
        """Make ``memory://name`` resolve to this device."""
        _DEVICES[self.name] = self
        return self

    def unregister(self) -> None:
        """Forget the name."""
        if _DEVICES.get(self.name) is self:
            del _DEVICES[self.name]

    def __enter__(self) -> MemoryDevice:
        return self.register()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.unregister()


def connect_memory(url: str, *, trace: bool = False, **_: Any) -> MemoryTransport:
    """Open ``memory://name``: a fresh connection to the registered MemoryDevice."""
    name = urlsplit(url).netloc
    device = _DEVICES.get(name)
    if device is None:
        raise DeviceConfigError(f"{url}: no memory device {name!r} registered (drivers.testing.MemoryDevice)")
    return device.connect(trace=trace)
