"""Device ownership in the store: which device host holds which device, and each device's health.

A device host claims its devices before it opens them (``claim_devices``) and renews the
claim with every heartbeat; a claim whose heartbeat is older than ``stale_ms`` is free
again, so a crashed host does not hold its serial ports forever. Health entries are
written by the host that runs the device, so every web worker answers ``GET /api/devices``
from the same rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update

from server.errors import Conflict
from server.queue.events import DataEvent, EventType
from server.store.base import StoreBase
from server.store.rows import to_ms
from server.store.tables import device_claims, device_status
from server.store.views import Outcome


class DeviceClaimed(Conflict):
    """Another live device host already runs this device (409 ``device_claimed``)."""

    default_code = "device_claimed"

    def __init__(self, device_id: str, holder: str, label: str) -> None:
        super().__init__(
            f"设备 {device_id} 已由设备主机 {label} 使用",
            f"Device {device_id!r} is already run by device host {label!r} ({holder})",
            code="device_claimed", device=device_id, host=holder, host_label=label,
        )


@dataclass(frozen=True, slots=True)
class DeviceClaim:
    """One claim row: the device, its host and the host's last heartbeat (ms)."""

    device_id: str
    host: str
    host_label: str
    heartbeat_at: int


class DeviceOps(StoreBase):
    """Claims, heartbeats and health rows of the device hosts."""

    def claim_devices(self, host: str, label: str, device_ids: list[str], *, stale_ms: int) -> list[DeviceClaim]:
        """Claim every device for ``host`` (all or none); a live claim of another host raises DeviceClaimed."""
        with self._write_lock, self.engine.begin() as conn:
            now = to_ms(self.clock())
            held = {r.device_id: r for r in conn.execute(
                select(device_claims).where(device_claims.c.device_id.in_(device_ids)))}
            for device_id in device_ids:
                row = held.get(device_id)
                if row is not None and row.host != host and now - row.heartbeat_at < stale_ms:
                    raise DeviceClaimed(device_id, row.host, row.host_label)
            if held:
                conn.execute(delete(device_claims).where(device_claims.c.device_id.in_(list(held))))
            rows = [{"device_id": d, "host": host, "host_label": label, "heartbeat_at": now} for d in device_ids]
            if rows:
                conn.execute(insert(device_claims), rows)
        return [DeviceClaim(d, host, label, now) for d in device_ids]

    def heartbeat(self, host: str) -> int:
        """Renew every claim of ``host``; returns how many it holds (0: its claims were taken over)."""
        with self._write_lock, self.engine.begin() as conn:
            res = conn.execute(update(device_claims).where(device_claims.c.host == host)
                               .values(heartbeat_at=to_ms(self.clock())))
            return int(res.rowcount or 0)

    def release_devices(self, host: str) -> None:
        """Drop every claim of ``host`` (it stops cleanly)."""
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(delete(device_claims).where(device_claims.c.host == host))

    def device_claims(self) -> list[DeviceClaim]:
        """Every claim, by device id."""
        with self._read() as conn:
            rows = conn.execute(select(device_claims).order_by(device_claims.c.device_id))
            return [DeviceClaim(r.device_id, r.host, r.host_label, r.heartbeat_at) for r in rows]

    def set_device_status(self, device_id: str, entry: dict[str, Any]) -> Outcome[None]:
        """Store a device's entry (kind, driver, url, health …) and emit ``device.health`` on ``devices``."""
        data = json.dumps(entry, ensure_ascii=False)
        with self._tx() as tx:
            done = tx.conn.execute(update(device_status).where(device_status.c.device_id == device_id)
                                   .values(health=data, updated_at=tx.ms))
            if not done.rowcount:
                tx.conn.execute(insert(device_status), {"device_id": device_id, "health": data, "updated_at": tx.ms})
            tx.emit(EventType.DEVICE_HEALTH, ("devices",), DataEvent({"device": entry}))
        return Outcome(None, tuple(tx.events))

    def record_event(self, type_: EventType, topics: tuple[str, ...], data: dict[str, Any]) -> Outcome[None]:
        """Put a device host's event (identity session, announcement …) in the log, so every worker sends it."""
        with self._tx() as tx:
            tx.emit(type_, topics, DataEvent(dict(data)))
        return Outcome(None, tuple(tx.events))

    def device_statuses(self) -> dict[str, tuple[dict[str, Any], int]]:
        """Every stored device entry with the time (ms) it was reported."""
        with self._read() as conn:
            return {r.device_id: (json.loads(r.health), r.updated_at) for r in conn.execute(select(device_status))}

    def now_ms(self) -> int:
        """The store clock in milliseconds (heartbeat ages are measured with it)."""
        return to_ms(self.clock())
