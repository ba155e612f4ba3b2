"""A connected device: supervises its transport, reconnects with backoff, tracks health.

Drivers subclass :class:`ConnectedDevice` and override ``on_connect`` (a handshake,
e.g. a status query) and optionally ``run`` (a polling loop). Request/response work
takes the transport with ``async with self.exclusive() as t:`` so writes are
serialised per device (one RS-485 bus, one printer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from drivers.errors import DeviceError, DeviceFault, ProtocolError, TransportError
from drivers.health import DISCONNECTED, PROTOCOL_ERROR, DeviceState, Health, HealthTracker
from drivers.transport import Backoff, Transport, open_transport

log = logging.getLogger("hallq.devices")


class ConnectedDevice:
    """Base for drivers that talk bytes over a :class:`Transport`."""

    kind: ClassVar[str] = ""
    name: ClassVar[str] = ""
    connect_timeout: float = 2.0
    serial_options: ClassVar[dict[str, Any]] = {}

    def __init__(self, device_id: str, url: str, options: Any = None) -> None:
        self.device_id = device_id
        self.url = url
        self.options = options
        self.tracker = HealthTracker(device_id)
        self.backoff = Backoff()
        self._transport: Transport | None = None
        self._connected = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.trace = bool(getattr(options, "trace", False))

    # --- lifecycle ---------------------------------------------------------------

    @property
    def health(self) -> Health:
        """Current health snapshot."""
        return self.tracker.health

    async def open(self) -> None:
        """Start supervising the connection; returns at once (the first attempt runs in the background)."""
        if self._task is None:
            self.tracker.set(DeviceState.CONNECTING)
            self._task = asyncio.create_task(self._supervise(), name=f"device-{self.device_id}")

    async def wait_ready(self, timeout: float) -> bool:
        """Wait until connected once; False on timeout."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Stop supervising and close the transport."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self._drop_transport()
        self.tracker.set(DeviceState.CLOSED)

    async def __aenter__(self) -> ConnectedDevice:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- hooks for drivers ---------------------------------------------------------

    async def on_connect(self, transport: Transport) -> None:
        """Handshake after connecting; raise DeviceError to mark the device faulty."""

    async def run(self, transport: Transport) -> None:
        """Long-running work while connected (polling); default: wait until the link is lost."""
        await self._lost.wait()

    # --- helpers for drivers ----------------------------------------------------------

    @contextlib.asynccontextmanager
    async def exclusive(self, timeout: float = 2.0) -> AsyncIterator[Transport]:
        """The transport, held exclusively; a transport failure marks the device offline."""
        if not self._connected.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connected.wait(), timeout)
        transport = self._transport
        if transport is None:
            raise TransportError(f"{self.device_id}: not connected")
        async with self._lock:
            try:
                yield transport
            except TransportError:
                self.link_lost()
                raise

    def link_lost(self) -> None:
        """Tell the supervisor the connection is gone (it reconnects)."""
        self._lost.set()

    def set_ready(self, faults: tuple[str, ...] = ()) -> None:
        """Mark ready (optionally with non-blocking faults such as paper_near_end)."""
        self.tracker.set(DeviceState.READY, faults)

    def set_fault(self, *faults: str, detail: str | None = None) -> None:
        """Mark faulted with named faults."""
        self.tracker.set(DeviceState.FAULT, faults, detail)

    def set_offline(self, detail: str | None = None, fault: str = DISCONNECTED) -> None:
        """Mark offline."""
        self.tracker.set(DeviceState.OFFLINE, (fault,), detail)

    # --- supervision -----------------------------------------------------------------

    async def _supervise(self) -> None:
        while True:
            try:
                transport = await open_transport(
                    self.url, timeout=self.connect_timeout, trace=self.trace, serial_options=self.serial_options
                )
            except DeviceError as exc:
                self.set_offline(str(exc))
                await asyncio.sleep(self.backoff.next_delay())
                continue
            self._transport = transport
            self._lost.clear()
            try:
                await self.on_connect(transport)
                if self.health.state in (DeviceState.CONNECTING, DeviceState.OFFLINE, DeviceState.CLOSED):
                    self.set_ready()
                self.backoff.reset()
                self._connected.set()
                await self.run(transport)
                self.set_offline("connection lost")
            except asyncio.CancelledError:
                raise
            except DeviceFault as exc:
                self.set_fault(exc.fault, detail=str(exc))
            except ProtocolError as exc:
                self.set_fault(PROTOCOL_ERROR, detail=str(exc))
            except DeviceError as exc:
                self.set_offline(str(exc))
            except Exception as exc:  # a driver bug must not kill supervision
                log.exception("device %s: unexpected error", self.device_id)
                self.set_offline(f"internal error: {exc}")
            self._connected.clear()
            await self._drop_transport()
            await asyncio.sleep(self.backoff.next_delay())

    async def _drop_transport(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.close()
