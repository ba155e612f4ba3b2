"""What the window wirings share: ticket digits for keypads, availability, bounded outputs, tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol, runtime_checkable

from drivers.contract import Device
from drivers.health import Health
from server.config import DeviceConfig, HallConfig
from server.devices.port import QueuePort
from server.queue.events import EventType

log = logging.getLogger("hallq.devices.window")

OUTPUT_TIMEOUT = 3.0  # seconds one device output may take before it is abandoned
CALL_EVENTS = frozenset({EventType.TICKET_CALLED, EventType.TICKET_RECALLED})


class DeviceSource(Protocol):
    """What a wiring needs of the DeviceManager when it starts."""

    @property
    def config(self) -> HallConfig | None:
        """The hall configuration (windows and their services)."""
        ...

    @property
    def queue(self) -> Any:
        """The manager's QueuePort once it has one (see ``port_of``)."""
        ...

    def devices_of_kind(self, kind: str) -> list[tuple[DeviceConfig, Any]]:
        """The configured devices of one kind, with their driver objects."""
        ...


class HealthListeners(Protocol):
    """A driver's health tracker: listeners are called on every health change."""

    listeners: list[Callable[[str, Health], None]]


@runtime_checkable
class Tracked(Protocol):
    """A device whose health changes can be followed (``drivers.base.Device`` has one)."""

    tracker: HealthListeners


def port_of(own: QueuePort | None, manager: DeviceSource) -> QueuePort | None:
    """The wiring's queue port: the one it was built with, else the manager's if it is one."""
    if own is not None:
        return own
    return manager.queue if isinstance(manager.queue, QueuePort) else None


def ticket_digits(number: str | None) -> int | None:
    """The numeric part of a ticket number for a 3-digit keypad display: "A001" → 1."""
    match = re.search(r"(\d+)$", number or "")
    return int(match.group(1)) if match else None


def available(device: Device) -> bool:
    """True when the device can take output now (down devices are skipped at once)."""
    return device.health.available


def on_recovery(device: object, callback: Callable[[], None]) -> None:
    """Call ``callback`` whenever ``device`` becomes available again."""
    if isinstance(device, Tracked):
        device.tracker.listeners.append(lambda _id, health: callback() if health.available else None)


async def bounded(job: Awaitable[object]) -> None:
    """Run one output with a timeout; a broken output is logged and never stops the others."""
    try:
        await asyncio.wait_for(job, OUTPUT_TIMEOUT)
    except Exception as exc:
        log.warning("window output failed: %s", exc or type(exc).__name__)


async def run_all(jobs: Sequence[Awaitable[object]]) -> None:
    """Run outputs concurrently, each bounded."""
    if jobs:
        await asyncio.gather(*(bounded(job) for job in jobs))


class Tasks:
    """Background tasks of a wiring, cancelled together on stop."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Start ``coro`` on the running loop (a no-op without one: shutting down)."""
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:
            coro.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Cancel and await every task."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
