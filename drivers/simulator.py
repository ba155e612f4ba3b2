"""Serving a simulator's byte protocol over TCP or a pty.

A simulator is a coroutine ``handler(reader, writer)`` speaking the device's bytes;
this module plugs it in at the transport, so the production driver connects to it
with ``socket://127.0.0.1:PORT`` or the pty's slave path, unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol


class Simulator(Protocol):
    """A device simulator: serves the device's bytes; state and faults are observable.

    Built as ``cls(device_id, options)`` with the same options model as the driver
    (or a dict). ``faults`` names what ``inject`` accepts; ``act`` runs a
    device-specific action (``place_card``, ``press`` …) and returns its result.
    """

    device_id: str
    faults: tuple[str, ...]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str: ...

    async def start_pty(self) -> str: ...

    async def stop(self) -> None: ...

    def state(self) -> dict[str, Any]: ...

    def inject(self, fault: str | None) -> None: ...

    async def act(self, action: str, params: dict[str, Any]) -> dict[str, Any]: ...


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve_tcp(handler: Handler, host: str = "127.0.0.1", port: int = 0) -> tuple[asyncio.Server, str]:
    """Start a TCP server for ``handler``; returns the server and its ``socket://`` URL."""
    server = await asyncio.start_server(handler, host, port)
    sock_host, sock_port = server.sockets[0].getsockname()[:2]
    return server, f"socket://{sock_host}:{sock_port}"


@dataclass
class PtyEndpoint:
    """A running simulator on the master side of a pty; drivers open ``path``."""

    path: str
    task: asyncio.Task[None]
    _master: int
    _slave: int

    async def close(self) -> None:
        """Stop the simulator and release both ends."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task
        for fd in (self._slave,):
            with contextlib.suppress(OSError):
                os.close(fd)


async def serve_pty(handler: Handler) -> PtyEndpoint:
    """Run ``handler`` on a new pty's master end (both ends raw); returns the slave path."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    os.set_blocking(master, False)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    read_file = os.fdopen(master, "rb", buffering=0)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), read_file)
    write_file = os.fdopen(os.dup(master), "wb", buffering=0)
    w_transport, w_protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, write_file)
    writer = asyncio.StreamWriter(w_transport, w_protocol, reader, loop)

    async def run() -> None:
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    task = asyncio.create_task(run(), name=f"pty-sim-{os.ttyname(slave)}")
    return PtyEndpoint(os.ttyname(slave), task, master, slave)


class StreamSimulator:
    """Serving plumbing shared by the byte-protocol simulators: TCP or pty, clients, named faults.

    Subclasses implement ``handle(reader, writer)`` (one connection) and add their device
    state; they track connections in ``_writers`` and background tasks in ``_tasks`` so
    that ``stop`` ends them all.
    """

    faults: ClassVar[tuple[str, ...]] = ()

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self.fault: str | None = None
        self.url: str | None = None
        self._server: asyncio.Server | None = None
        self._pty: PtyEndpoint | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.changed = asyncio.Condition()  # subclasses notify it when their state changes (tests, bench)

    async def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 2.0) -> bool:
        """Wait until ``predicate(self)`` holds after a change; False on timeout."""
        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: predicate(self)), timeout)
            except TimeoutError:
                return False
        return True

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection (the device's side of the protocol)."""
        raise NotImplementedError

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on TCP; returns the ``socket://`` URL."""
        self._server, self.url = await serve_tcp(self.handle, host, port)
        return self.url

    async def start_pty(self) -> str:
        """Serve on a new pty; returns the slave path for the driver."""
        self._pty = await serve_pty(self.handle)
        self.url = self._pty.path
        return self.url

    def close_connections(self) -> None:
        """Drop every connected client (the ``drop`` fault, and stop)."""
        for writer in list(self._writers):
            with contextlib.suppress(Exception):  # a half-dead transport may refuse to close
                writer.close()
        self._writers.clear()

    async def stop(self) -> None:
        """Close the listener, every connection, the pty and background tasks."""
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
        self.close_connections()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None
        if self._pty is not None:
            await self._pty.close()
            self._pty = None

    def inject(self, fault: str | None) -> None:
        """Set or clear (None) a fault; unknown names are a ValueError."""
        if fault is not None and fault not in self.faults:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(self.faults)}")
        self.fault = fault


async def serve_with_console(sim: Any, listen: str, protocol: str, help_text: str,
                             console: Callable[[Any, Any, Any], Awaitable[None]]) -> None:
    """``python -m drivers.<family>.simulator``: listen (HOST:PORT or ``pty``), print the URL, run the console."""
    import json
    import sys

    if listen == "pty":
        url = await sim.start_pty()
    else:
        host, _, port = listen.rpartition(":")
        url = await sim.start(host or "127.0.0.1", int(port))
    print(json.dumps({"simulator": protocol, "url": url, "help": help_text}, ensure_ascii=False), flush=True)
    try:
        await console(sim, sys.stdin, sys.stdout)
    finally:
        await sim.stop()
