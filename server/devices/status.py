"""What every web worker knows about the devices: the store's claims and health rows.

``device_list`` answers ``GET /api/devices`` and the ``devices`` websocket snapshot from the
store (whichever process runs the devices). :class:`HostWatch` runs in each web worker:
it reads the heartbeats and publishes ``device.host`` (online/offline) on ``devices`` and
on the ``kiosk:<id>`` topics of the host's kiosks to this worker's own subscribers
whenever a host goes quiet for ``stale_seconds`` or comes back, so a kiosk page shows
"offline" while its device host cannot reach the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from drivers.health import DeviceState, Health
from server.auth.disclosure import mask_device_entry
from server.config import HallConfig
from server.devices.port import host_topics
from server.queue.events import EventType

log = logging.getLogger("hallq.devices")


@dataclass(frozen=True, slots=True)
class HostState:
    """One device host as the store knows it."""

    host: str
    label: str
    online: bool
    heartbeat_at: int
    devices: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"host": self.host, "label": self.label, "online": self.online, "heartbeat_at": self.heartbeat_at,
                "devices": list(self.devices)}


def host_states(store: Any, stale_ms: int) -> list[HostState]:
    """Every host holding claims, online when its last heartbeat is younger than ``stale_ms``."""
    now = store.now_ms()
    by_host: dict[str, list[Any]] = {}
    for claim in store.device_claims():
        by_host.setdefault(claim.host, []).append(claim)
    return [HostState(host, claims[0].host_label, now - max(c.heartbeat_at for c in claims) < stale_ms,
                      max(c.heartbeat_at for c in claims), tuple(c.device_id for c in claims))
            for host, claims in sorted(by_host.items())]


def device_list(store: Any, config: HallConfig, stale_ms: int = 15_000) -> dict[str, Any]:
    """Every configured device with its last reported entry and its host (blocking: run on a thread)."""
    statuses = store.device_statuses()
    hosts = host_states(store, stale_ms)
    host_of = {d: h for h in hosts for d in h.devices}
    devices: list[dict[str, Any]] = []
    for cfg in config.devices:
        entry, _ = statuses.get(cfg.id, (None, 0))
        host = host_of.get(cfg.id)
        if entry is None:
            entry = {"id": cfg.id, "kind": cfg.kind, "driver": cfg.driver, "url": cfg.url, "binding": None,
                     "simulated": False, "health": Health(DeviceState.CLOSED, (), "no device host").to_dict()}
        if host is None or not host.online:
            # the last report is stale: nobody runs this device now
            entry = {**entry, "health": {**entry["health"], "available": False,
                                         "state": DeviceState.OFFLINE.value if host else entry["health"]["state"]}}
        devices.append(mask_device_entry({**entry, "host": host.label if host else None,
                                          "host_online": bool(host and host.online)}))
    down = [d["id"] for d in devices if not d["health"].get("available")]
    return {"devices": devices, "count": len(devices), "unavailable": down,
            "hosts": [h.to_dict() for h in hosts]}


class HostWatch:
    """Publishes ``device.host`` to this worker's hub when a device host goes offline or returns."""

    def __init__(self, store: Any, hall: Any, hub: Any, config: HallConfig, *, stale_seconds: float,
                 every: float = 1.0) -> None:
        self.store, self.hall, self.hub, self.config = store, hall, hub, config
        self.stale_ms = int(stale_seconds * 1000)
        self.every = every
        self.known: dict[str, bool] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start watching (a task of the running loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="device-host-watch")

    async def stop(self) -> None:
        """Stop watching."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:
                log.exception("reading device host heartbeats failed")
            await asyncio.sleep(self.every)

    async def check(self) -> list[HostState]:
        """Compare heartbeats with what was last published; publish the changes."""
        states = await self.hall.run(host_states, self.store, self.stale_ms)
        for state in states:
            if self.known.get(state.host) != state.online:
                self.known[state.host] = state.online
                # one event per topic: a kiosk may follow its own topic but not ``devices``
                for topic in host_topics(self.config, list(state.devices)):
                    self.hub.publish_ephemeral(EventType.DEVICE_HOST, (topic,), {"host": state.to_dict()})
        return list(states)

    async def kiosk_host(self, kiosk: str) -> dict[str, Any] | None:
        """The host running this kiosk's devices (None: none claimed) — for the ``kiosk:<id>`` snapshot."""
        ids = {d.id for d in self.config.devices if getattr(d, "kiosk", None) == kiosk}
        for state in await self.hall.run(host_states, self.store, self.stale_ms):
            if ids & set(state.devices):
                return state.to_dict()
        return None
