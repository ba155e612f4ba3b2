"""The device manager: builds every configured device, supervises it, publishes its health,
and hands committed queue events to the wiring objects of each device family.

It is the supervisor inside a device host (``server/devices/host.py``), which owns it,
claims its devices and feeds it the events of a ``QueuePort`` (``server/devices/port.py``);
wirings reach the queue through ``manager.queue`` (that port) only.

A device that fails to open is a visible fault, never a crash of the server; a wiring
that fails on an event is logged, never raised. In demo mode every device whose URL is
``sim`` (or ``sim:pty``) gets its simulator started first, on 127.0.0.1 with a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from drivers.errors import ConfigurationError
from drivers.health import DeviceState, Health
from drivers.transport import Backoff
from server.auth.disclosure import mask_device_entry
from server.config import DeviceConfig, HallConfig
from server.devices.port import QueuePort
from server.devices.simulators import is_sim_url, start_simulator
from server.devices.validation import DeviceSpec, validate_devices
from server.queue.events import Event

log = logging.getLogger("hallq.devices")

HEALTH_EVENT = "device.health"
TOPIC = "devices"

# publish(type, topics, data): a non-queue event (device health, identity sessions, alerts);
# in a device host it goes out through ``QueuePort.publish``/``report_health``.
Publish = Callable[[str, tuple[str, ...], dict[str, Any]], None]


class Wiring(Protocol):
    """Turns queue events into device actions (and device events into queue calls) for one family.

    ``start`` gets the manager (``manager.queue`` is the QueuePort, ``manager.devices_of_kind``
    the devices); ``on_event`` gets every committed queue event as a typed ``Event``
    (``server/queue/events.py``), in seq order.
    """

    async def start(self, manager: DeviceManager) -> None: ...

    async def on_event(self, event: Event) -> None: ...

    async def stop(self) -> None: ...


class DeviceManager:
    """Owns the devices of one hall: build, open supervised, health, event dispatch, simulators."""

    open_timeout = 10.0
    event_timeout = 15.0

    def __init__(
        self,
        config: HallConfig,
        queue: QueuePort | None,
        publish: Publish | None = None,
        *,
        demo: bool = False,
        overrides: dict[str, str] | None = None,
        public_base_url: str = "",
    ) -> None:
        self.config = config
        self.queue = queue
        self.publish = publish
        self.demo = demo
        self.overrides = dict(overrides or {})
        self.public_base_url = (public_base_url or config.server.public_url or "").rstrip("/")
        self.devices: dict[str, Any] = {}
        self.specs: dict[str, DeviceSpec] = {}
        self.simulators: dict[str, Any] = {}
        self.wirings: list[Wiring] = []
        self._open_errors: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = False

    # --- configuration ---------------------------------------------------------------------

    def validate(self) -> list[DeviceSpec]:
        """Check every device entry (driver, kind, options, URL); raises ConfigurationError naming devices."""
        specs = validate_devices(self.config, overrides=self.overrides, allow_sim=self.demo)
        self.specs = {s.id: s for s in specs}
        return specs

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Validate, start demo simulators, build and open every device, start wirings."""
        if self._started:
            return
        specs = self.validate()
        for spec in specs:
            url = spec.url
            if is_sim_url(url):
                try:
                    sim, url = await start_simulator(spec)
                except Exception as exc:  # a broken simulator is a device fault in the demo
                    log.exception("device %s: simulator failed to start", spec.id)
                    self._open_errors[spec.id] = f"simulator failed: {exc}"
                    continue
                self.simulators[spec.id] = sim
            spec.effective_url = url
            try:
                device = spec.build(url)
            except ConfigurationError as exc:  # validated already; only a racing change gets here
                self._open_errors[spec.id] = str(exc)
                continue
            self.devices[spec.id] = device
            tracker = getattr(device, "tracker", None)
            if tracker is not None:
                tracker.listeners.append(self._on_health)
            self._spawn(self._open_supervised(spec.id, device), f"open-{spec.id}")
        self._started = True
        for wiring in list(self.wirings):
            await self._start_wiring(wiring)

    async def stop(self) -> None:
        """Stop wirings, close devices, stop simulators; never raises."""
        for wiring in list(self.wirings):
            try:
                await asyncio.wait_for(wiring.stop(), 5.0)
            except Exception:
                log.exception("wiring %r failed to stop", wiring)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for device_id, device in list(self.devices.items()):
            try:
                await asyncio.wait_for(device.close(), 5.0)
            except Exception:
                log.exception("device %s failed to close", device_id)
        for device_id, sim in list(self.simulators.items()):
            try:
                await asyncio.wait_for(sim.stop(), 5.0)
            except Exception:
                log.exception("simulator %s failed to stop", device_id)
        self._started = False

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _open_supervised(self, device_id: str, device: Any) -> None:
        """Open a device; retry with backoff while open() itself fails (drivers reconnect after that)."""
        backoff = Backoff()
        while True:
            try:
                await asyncio.wait_for(device.open(), self.open_timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                detail = f"open failed: {exc}" if str(exc) else f"open failed: {type(exc).__name__}"
                if self._open_errors.get(device_id) != detail:
                    log.warning("device %s: %s", device_id, detail)
                    self._open_errors[device_id] = detail
                    self._publish_device(device_id)
                await asyncio.sleep(backoff.next_delay())
                continue
            if self._open_errors.pop(device_id, None) is not None:
                self._publish_device(device_id)
            return

    # --- wiring -----------------------------------------------------------------------------------

    def add_wiring(self, wiring: Wiring) -> None:
        """Register a wiring object; started now when the manager already runs."""
        self.wirings.append(wiring)
        if self._started:
            self._spawn(self._start_wiring(wiring), f"wiring-{type(wiring).__name__}")

    async def _start_wiring(self, wiring: Wiring) -> None:
        try:
            await asyncio.wait_for(wiring.start(self), self.event_timeout)
        except Exception:
            log.exception("wiring %r failed to start", wiring)

    async def on_queue_event(self, event: Any) -> None:
        """Give one committed queue event to every wiring (concurrently); failures are logged.

        The device layer's own ``device.*`` messages are skipped.
        """
        if not self.wirings or str(_type_of(event)).startswith("device."):
            return
        await asyncio.gather(*(self._deliver(w, event) for w in list(self.wirings)))

    async def _deliver(self, wiring: Wiring, event: Any) -> None:
        try:
            await asyncio.wait_for(wiring.on_event(event), self.event_timeout)
        except Exception:
            log.exception("wiring %r failed on %s", wiring, _type_of(event))

    # --- lookup -------------------------------------------------------------------------------------

    def device(self, device_id: str) -> Any | None:
        """The device object with this id (None when absent or not built)."""
        return self.devices.get(device_id)

    def devices_of_kind(self, kind: str) -> list[tuple[DeviceConfig, Any]]:
        """(config entry, device) of every built device of a kind, in config order."""
        return [(s.config, self.devices[s.id]) for s in self.specs.values() if s.kind == kind and s.id in self.devices]

    def kiosk_device(self, kiosk_id: str, kind: str) -> Any | None:
        """The kiosk's device of a kind, preferring one that is available now."""
        found = [d for cfg, d in self.devices_of_kind(kind) if cfg.kiosk == kiosk_id]
        for device in found:
            if self.health(device).available:
                return device
        return found[0] if found else None

    def health(self, device: Any) -> Health:
        """A device's reported health (a return only once settled), tolerant of drivers without one."""
        health = getattr(device, "reported", None) or getattr(device, "health", None)
        return health if isinstance(health, Health) else Health(DeviceState.CLOSED)

    async def refresh(self, device_id: str) -> None:
        """Ask a device to re-read its status now (after a simulator fault change)."""
        refresh = getattr(self.devices.get(device_id), "refresh", None)
        if refresh is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(refresh(), 3.0)

    # --- health -------------------------------------------------------------------------------------

    def entry(self, device_id: str) -> dict[str, Any]:
        """One device as shown in GET /api/devices and the ``devices`` topic."""
        spec = self.specs[device_id]
        device = self.devices.get(device_id)
        if device_id in self._open_errors:
            state = DeviceState.FAULT if device is None else DeviceState.OFFLINE
            health: dict[str, Any] = Health(state, ("open_failed",), self._open_errors[device_id]).to_dict()
        else:
            health = self.health(device).to_dict()
        return mask_device_entry({  # credentials in device URLs stay on the server (issue 12, §20)
            "id": spec.id,
            "kind": spec.kind,
            "driver": spec.driver,
            "url": spec.effective_url or spec.url,
            "binding": spec.binding,
            "simulated": device_id in self.simulators,
            "health": health,
        })

    def snapshot(self) -> dict[str, Any]:
        """Every device with its health, in config order."""
        devices = [self.entry(i) for i in self.specs]
        down = [d["id"] for d in devices if not d["health"]["available"]]
        return {"devices": devices, "count": len(devices), "unavailable": down, "demo": self.demo}

    def _on_health(self, device_id: str, _: Health) -> None:
        self._publish_device(device_id)

    def _publish_device(self, device_id: str) -> None:
        if self.publish is None or device_id not in self.specs:
            return
        try:
            self.publish(HEALTH_EVENT, (TOPIC,), {"device": self.entry(device_id)})
        except Exception:
            log.exception("publishing health of %s failed", device_id)


def _type_of(event: Any) -> str:
    """An event's type, from a typed Event or (tests, old wirings) its wire dict."""
    if isinstance(event, Event):
        return event.type.value
    return str(event.get("type", "")) if isinstance(event, dict) else ""
