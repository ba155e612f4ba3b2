"""The device host: the one owner of a hall's devices, running with any ``QueuePort``.

::

    host = DeviceHost(config, InProcessQueue(hall, hub, kiosks=kiosks), name="embedded")
    await host.start()     # claim every device (DeviceClaimed if a live host holds one), open them
    ...
    await host.stop()      # close them, release the claims

Inside ``hallq serve`` (one worker) it runs with ``InProcessQueue``; as ``hallq devices``
(its own process, or the child ``hallq serve --workers N`` starts) with ``RemoteQueue``.
It follows the port's events into the wirings, renews its claims every
``heartbeat_seconds`` and reports every device's health to the port, which stores it so
any web worker can answer ``GET /api/devices``. Reports made while the server is away
wait in a small outbox (the newest entry per device wins) and go out when it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Sequence
from typing import Any

from server.config import HallConfig
from server.devices.manager import HEALTH_EVENT, DeviceManager, Wiring
from server.devices.port import HEARTBEAT_SECONDS, QueuePort
from server.queue.events import EventType
from server.store.devices import DeviceClaimed

log = logging.getLogger("hallq.devices")

__all__ = ["DeviceClaimed", "DeviceHost", "default_host_name"]

OUTBOX_LIMIT = 1000


def default_host_name() -> str:
    """``<hostname>-<pid>``: unique per running host, readable in a refusal."""
    return f"{socket.gethostname()}-{os.getpid()}"


class DeviceHost:
    """Owns a DeviceManager and its wirings; claims, heartbeats and reports health through a QueuePort."""

    def __init__(
        self,
        config: HallConfig,
        queue: QueuePort,
        *,
        name: str | None = None,
        wirings: Sequence[Wiring] = (),
        demo: bool = False,
        overrides: dict[str, str] | None = None,
        public_base_url: str = "",
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.config = config
        self.queue = queue
        self.name = name or default_host_name()
        self.heartbeat_seconds = heartbeat_seconds
        self.manager = DeviceManager(config, queue, self._publish, demo=demo, overrides=overrides,
                                     public_base_url=public_base_url)
        for wiring in wirings:
            self.manager.add_wiring(wiring)
        self._outbox: dict[Any, tuple[str, tuple[str, ...], dict[str, Any]]] = {}
        self._outbox_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._serial = 0
        self.started = False

    @property
    def device_ids(self) -> list[str]:
        """The ids of the devices this host runs (validated config order)."""
        return list(self.manager.specs)

    async def start(self) -> None:
        """Validate, claim every device, open them, then follow events and beat."""
        specs = self.manager.validate()  # DeviceConfigError names a bad entry before anything opens
        ids = [s.id for s in specs]
        if ids:
            await self.queue.claim_devices(self.name, ids)  # DeviceClaimed: another live host runs one
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._send_outbox(), name="device-host-outbox")]
        await self.manager.start()
        for device_id in ids:
            self._publish(HEALTH_EVENT, ("devices",), {"device": self.manager.entry(device_id)})
        self._tasks += [loop.create_task(self._follow(), name="device-host-events"),
                        loop.create_task(self._beat(ids), name="device-host-heartbeat")]
        self.started = True
        log.info("device host %s runs %d devices", self.name, len(ids))

    async def stop(self) -> None:
        """Stop following, close every device, release the claims; never raises."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self.manager.stop()
        release = getattr(self.queue, "release_devices", None)
        if self.started and release is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(release(self.name), 3.0)
        self.started = False

    def snapshot(self) -> dict[str, Any]:
        """The devices of this host with their health (the manager's view, for the ``devices`` topic)."""
        return self.manager.snapshot()

    # -- events into wirings ------------------------------------------------------------------
    async def _follow(self) -> None:
        while True:
            try:
                async for event in self.queue.events():
                    await self.manager.on_queue_event(event)
            except asyncio.CancelledError:
                raise
            except Exception:  # the port reconnects itself; a bug here must not stop the devices
                log.exception("following queue events failed; again in %.0f s", self.heartbeat_seconds)
            await asyncio.sleep(self.heartbeat_seconds)

    # -- heartbeats -------------------------------------------------------------------------
    async def _beat(self, ids: list[str]) -> None:
        heartbeat = getattr(self.queue, "heartbeat", None)
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                held = await heartbeat(self.name) if heartbeat is not None else len(ids)
                if ids and held < len(ids):
                    # our claims went stale while the server could not hear us; take them back
                    # (refused only if another host claimed them meanwhile)
                    await self.queue.claim_devices(self.name, ids)
            except asyncio.CancelledError:
                raise
            except DeviceClaimed as exc:
                log.error("device host %s lost its devices: %s", self.name, exc.en)
            except Exception as exc:
                log.debug("heartbeat failed: %s", exc)

    # -- health and ephemeral events out -----------------------------------------------------
    def _publish(self, type_: str, topics: tuple[str, ...], data: dict[str, Any]) -> None:
        """The manager's (sync) publish: queue it for the port, coalescing health per device."""
        if type_ == HEALTH_EVENT and isinstance(data.get("device"), dict):
            key: Any = ("health", data["device"].get("id"))
        else:
            self._serial += 1
            key = ("event", self._serial)
            if len(self._outbox) >= OUTBOX_LIMIT:  # server away for long: old ephemera are worthless
                return
        self._outbox.pop(key, None)  # re-insert: dicts keep insertion order, newest last
        self._outbox[key] = (type_, topics, data)
        self._outbox_ready.set()

    async def _send_outbox(self) -> None:
        while True:
            await self._outbox_ready.wait()
            while self._outbox:
                key, (type_, topics, data) = next(iter(self._outbox.items()))
                try:
                    if key[0] == "health":
                        await self.queue.report_health(str(key[1]), data["device"])
                    else:
                        await self.queue.publish(EventType(type_), topics, data)
                except asyncio.CancelledError:
                    raise
                except ValueError:
                    log.warning("unknown event type %r not published", type_)
                except Exception as exc:
                    log.debug("report failed (%s); retrying", exc)
                    await asyncio.sleep(min(self.heartbeat_seconds, 1.0))
                    continue
                if self._outbox.get(key) == (type_, topics, data):
                    del self._outbox[key]
            self._outbox_ready.clear()
