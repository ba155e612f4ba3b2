"""Driver lifecycle (:class:`Device`) and byte-stream supervision (:class:`ConnectedDevice`).

``Device`` is what every driver shares: its id, URL, parsed options, a health tracker
(which debounces returns and logs once per drop and once per return), ``open``/``close``
and ``async with``.
Drivers whose I/O is not a byte stream (announcers, cameras, CUPS) subclass it and
override ``on_open``/``on_close``.

``ConnectedDevice`` adds a supervised :class:`drivers.transport.Transport`: it
reconnects with backoff, and drivers override ``on_connect`` (a handshake, e.g. a
status query) and optionally ``run`` (a polling loop). Request/response work takes the
transport with ``async with self.exclusive() as t:`` so writes are serialised per device
(one RS-485 bus, one printer). Serial framing comes from ``serial_options()``, which
reads the options' :class:`drivers.transport.SerialOptions` fields.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from drivers.errors import DeviceError, DeviceFault, ProtocolError, TransportError
from drivers.health import DISCONNECTED, PROTOCOL_ERROR, DeviceState, Health, HealthTracker
from drivers.transport import Backoff, SerialOptions, Transport, open_transport

__all__ = ["ConnectedDevice", "Device", "NoOptions", "SerialOptions"]

log = logging.getLogger("hallq.devices")


class NoOptions(BaseModel):
    """Options of a driver that has none."""

    model_config = ConfigDict(extra="forbid")


class Device:
    """Lifecycle shared by every driver: options, health, open/close, ``async with``."""

    kind: ClassVar[str] = ""
    name: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = NoOptions

    options: Any

    def __init__(self, device_id: str, url: str, options: BaseModel | Mapping[str, Any] | None = None) -> None:
        self.device_id = device_id
        self.url = url
        self.options = self.parse_options(options)
        self.tracker = HealthTracker(device_id)

    @classmethod
    def parse_options(cls, options: BaseModel | Mapping[str, Any] | None) -> Any:
        """The driver's ``Options`` instance: as given when already parsed (the registry's case)."""
        if isinstance(options, cls.Options):
            return options
        if isinstance(options, BaseModel):
            options = options.model_dump()
        return cls.Options.model_validate(dict(options or {}))

    @property
    def health(self) -> Health:
        """Current health snapshot, as the driver observes it now."""
        return self.tracker.health

    @property
    def reported(self) -> Health:
        """The health the hall is told: a return after a drop only once it settled (drivers/health.py)."""
        return self.tracker.reported

    async def open(self) -> None:
        """Start the device (``on_open``)."""
        await self.on_open()

    async def close(self) -> None:
        """Stop the device (``on_close``) and mark it closed."""
        try:
            await self.on_close()
        finally:
            self.tracker.set(DeviceState.CLOSED)

    async def on_open(self) -> None:
        """Driver hook: acquire resources, set the first health; default: ready."""
        self.tracker.set(DeviceState.READY)

    async def on_close(self) -> None:
        """Driver hook: release resources."""

    async def __aenter__(self) -> Any:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class ConnectedDevice(Device):
    """Base for drivers that talk bytes over a supervised :class:`Transport`."""

    connect_timeout: float = 2.0

    def __init__(self, device_id: str, url: str, options: BaseModel | Mapping[str, Any] | None = None) -> None:
        super().__init__(device_id, url, options)
        self.backoff = Backoff()
        self._transport: Transport | None = None
        self._connected = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.trace = bool(getattr(self.options, "trace", False))

    def serial_options(self) -> dict[str, Any]:
        """Serial framing for the transport, from the options (empty for drivers without it)."""
        if isinstance(self.options, SerialOptions):
            return self.options.serial_kwargs()
        return {}

    # --- lifecycle ---------------------------------------------------------------

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

    async def on_close(self) -> None:
        """Stop supervising and close the transport."""
        if self._task is not None:
            task, self._task = self._task, None
            # Cancel until it is really done: on Python 3.11 a cancel that lands while an inner
            # asyncio.wait_for completes can be swallowed, and a single await would then hang.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
            if not task.cancelled():
                task.exception()  # retrieved, so asyncio does not log it as never retrieved
        await self._drop_transport()

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
                    self.url, timeout=self.connect_timeout, trace=self.trace, serial_options=self.serial_options()
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
