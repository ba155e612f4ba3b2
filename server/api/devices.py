"""Devices: their health for supervisors, the device host's own routes, and the demo simulators.

* ``GET /api/devices`` (supervisors, admins) — every configured device with the health its
  device host last reported, and whether that host is online; read from the store, so any
  web worker answers (``server/devices/status.py``).
* Device host routes (``Role.DEVICE``, used by ``server/devices/remote.py``): claim devices
  (409 ``device_claimed`` naming the live holder), heartbeat, release, report health,
  publish an ephemeral event, read the event log after a seq (catch-up after a reconnect).
* ``/api/sim/…`` only in demo mode with an in-process device host (404 ``unknown_device``
  otherwise; open to anyone there, since injecting faults is what the demo is for).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from server.auth.deps import principal_of, sim_guard
from server.auth.disclosure import strip_ticket_links
from server.auth.roles import Role, allow, public
from server.deps import ConfigDep, DevicesDep, HallDep, SettingsDep, StoreDep
from server.devices.status import device_list
from server.errors import Forbidden, HallqError, NotFound
from server.http.problems import responses
from server.queue.events import EventType

router = APIRouter(prefix="/api", tags=["devices"])
SUPERVISORS = [Depends(allow(Role.ADMIN, Role.SUPERVISOR))]
HOSTS = [Depends(allow(Role.DEVICE))]
# demo mode only; from this machine or for a supervisor (server/auth/deps.py sim_guard)
DEMO_ONLY = [Depends(public("demo-mode simulators; 404 outside demo mode")), Depends(sim_guard)]

KioskId = Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$", description="Kiosk id")
DeviceId = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="Device id")
HostName = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")
# what a device host may publish: ephemeral device-side events, never queue events
HOST_EVENTS = frozenset({
    EventType.IDENTITY_SESSION, EventType.IDENTITY_ENDED, EventType.IDENTITY_REFUSED,
    EventType.IDENTITY_READ_FAILED, EventType.ANNOUNCEMENT_READY, EventType.CAMERA_ANALYSIS,
    EventType.ALERT_RAISED, EventType.ALERT_CLEARED, EventType.ALERT_CLERK_ABSENT, EventType.ALERT_CROWDING,
    EventType.CODE_SCANNED,  # a kiosk scanner's code (server/scanning/)
})


class FaultRequest(BaseModel):
    """Inject a fault into a simulator (null clears it)."""

    fault: str | None = Field(default=None, max_length=64, examples=["paper_out"])


class ActionRequest(BaseModel):
    """Run a simulator action (``place_card``, ``press``, ``png`` …)."""

    action: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)


class ClaimRequest(BaseModel):
    """A device host claims the devices it is about to open."""

    host: str = HostName
    label: str = Field(default="", max_length=120)
    devices: list[str] = Field(max_length=500)


class HostRequest(BaseModel):
    """A device host names itself (heartbeat, release)."""

    host: str = HostName


class HealthReport(BaseModel):
    """A device's entry as its host sees it (kind, driver, url, binding, health)."""

    entry: dict[str, Any]


class HostEvent(BaseModel):
    """An ephemeral event of a device host (identity session, announcement, camera analysis)."""

    type: EventType
    topics: list[str] = Field(min_length=1, max_length=8)
    data: dict[str, Any] = Field(default_factory=dict)


def host_key(request: Request, host: str) -> str:
    """The claim's host: the token's principal and the host's own name (one token, several hosts)."""
    principal = principal_of(request)
    subject = principal.subject if principal is not None else "device:?"
    return f"{subject}/{host}"


# -- supervisors ---------------------------------------------------------------------------
@router.get("/devices", summary="Devices and their health (设备状态)", dependencies=SUPERVISORS,
            responses=responses(401, 403))
async def list_devices(config: ConfigDep, store: StoreDep, hall: HallDep, settings: SettingsDep) -> dict[str, Any]:
    """Every configured device with its health: state, faults, detail, binding, and its host."""
    listed = await hall.run(device_list, store, config, int(settings.device_stale_seconds * 1000))
    return {**listed, "demo": settings.demo}


@router.get("/kiosks/{kiosk_id}/devices", summary="Is this kiosk's device host online? (kiosk page)",
            dependencies=[Depends(allow(Role.KIOSK))], responses=responses(401, 403, 404, 422))
async def kiosk_devices(config: ConfigDep, store: StoreDep, hall: HallDep, settings: SettingsDep,
                        kiosk_id: str = KioskId) -> dict[str, Any]:
    """The host running the kiosk's reader and printer (``null``: none claimed them) and its devices' health."""
    if kiosk_id not in {k.id for k in config.kiosks}:
        raise NotFound(f"没有此取号机：{kiosk_id}", f"Unknown kiosk: {kiosk_id}", code="unknown_kiosk")
    listed = await hall.run(device_list, store, config, int(settings.device_stale_seconds * 1000))
    ids = {c.id for c in config.devices if c.kiosk == kiosk_id}
    mine = [d for d in listed["devices"] if d["id"] in ids]
    host = next((h for h in listed["hosts"] if ids & set(h["devices"])), None)
    return {"kiosk": kiosk_id, "host": host, "devices": [{"id": d["id"], "kind": d["kind"],
                                                          "available": d["health"].get("available", False)}
                                                         for d in mine]}


# -- device hosts --------------------------------------------------------------------------
@router.post("/devices/claims", summary="Claim devices for a device host", dependencies=HOSTS,
             responses=responses(401, 403, 409, 422))
async def claim_devices(body: ClaimRequest, request: Request, store: StoreDep, hall: HallDep,
                        config: ConfigDep, settings: SettingsDep) -> dict[str, Any]:
    """All or none: 409 ``device_claimed`` names the live host already running one of them."""
    known = {d.id for d in config.devices}
    unknown = [d for d in body.devices if d not in known]
    if unknown:
        raise NotFound(f"没有此设备：{unknown[0]}", f"Unknown device: {unknown[0]}", code="unknown_device",
                       device=unknown[0])
    stale_ms = int(settings.device_stale_seconds * 1000)
    label = body.label or body.host
    await hall.write(store.claim_devices, host_key(request, body.host), label, body.devices, stale_ms=stale_ms)
    return {"host": body.host, "devices": body.devices}


@router.post("/devices/heartbeat", summary="A device host is alive", dependencies=HOSTS,
             responses=responses(401, 403, 422))
async def heartbeat(body: HostRequest, request: Request, store: StoreDep, hall: HallDep) -> dict[str, Any]:
    """Renew the host's claims; ``held`` = 0 means they went stale and the host must claim again."""
    return {"held": await hall.write(store.heartbeat, host_key(request, body.host))}


@router.post("/devices/release", status_code=204, summary="A device host stops", dependencies=HOSTS,
             responses=responses(401, 403, 422))
async def release(body: HostRequest, request: Request, store: StoreDep, hall: HallDep) -> Response:
    """Drop the host's claims (its devices are closed)."""
    await hall.write(store.release_devices, host_key(request, body.host))
    return Response(status_code=204)


@router.put("/devices/{device_id}/health", status_code=204, summary="Report a device's health",
            dependencies=HOSTS, responses=responses(401, 403, 404, 422))
async def report_health(body: HealthReport, request: Request, store: StoreDep, hall: HallDep,
                        device_id: str = DeviceId) -> Response:
    """Store the entry and send ``device.health`` on ``devices`` (through the log: every worker sends it)."""
    claims = {c.device_id: c.host for c in await hall.run(store.device_claims)}
    holder = claims.get(device_id)
    if holder is not None and not holder.startswith(host_key(request, "")):
        raise Forbidden("此设备由其他设备主机管理", "Another device host runs this device", code="device_claimed",
                        device=device_id)
    entry = {**body.entry, "id": device_id}
    await hall.publish((await hall.write(store.set_device_status, device_id, entry)).events)
    return Response(status_code=204)


@router.post("/devices/events", status_code=204, summary="Publish a device host's event", dependencies=HOSTS,
             responses=responses(401, 403, 422))
async def publish_event(body: HostEvent, store: StoreDep, hall: HallDep) -> Response:
    """Identity sessions, announcements, camera analysis, alerts — never queue events."""
    if body.type not in HOST_EVENTS or any(t.partition(":")[0] in ("host", "ticket") for t in body.topics):
        raise Forbidden(f"设备主机不能发布此事件：{body.type}", f"A device host may not publish {body.type}",
                        code="forbidden_event")
    await hall.publish((await hall.write(store.record_event, body.type, tuple(body.topics), body.data)).events)
    return Response(status_code=204)


@router.get("/devices/events", summary="Committed events after a seq (catch-up)", dependencies=HOSTS,
            responses=responses(401, 403, 422))
async def events_after(store: StoreDep, hall: HallDep, after: int = Query(ge=0),
                       limit: int = Query(default=500, ge=1, le=1000)) -> dict[str, Any]:
    """The event log after ``after``, oldest first: a reconnecting device host replays what it missed."""
    events = await hall.run(store.last_events, after, limit)
    return {"events": [e.to_message() for e in events]}


# -- demo simulators (in-process device host only) ------------------------------------------
def _simulator(devices: Any, device_id: str) -> tuple[Any, Any]:
    manager = getattr(devices, "manager", None)
    sim = manager.simulators.get(device_id) if manager is not None and manager.demo else None
    if sim is None:
        raise NotFound(f"没有模拟设备：{device_id}", f"No simulated device {device_id!r} (demo mode only)",
                       code="unknown_device", device=device_id)
    return manager, sim


@router.get("/sim/{device_id}", summary="Simulator state (demo only)", responses=responses(404, 422),
            dependencies=DEMO_ONLY)
async def sim_state(devices: DevicesDep, device_id: str = DeviceId) -> dict[str, Any]:
    """The simulator's state: printed tickets as text and PNG path, the injected fault, counters."""
    _, sim = _simulator(devices, device_id)
    state: dict[str, Any] = strip_ticket_links(sim.state())  # printed QR links carry ticket tokens
    return state


@router.post("/sim/{device_id}/fault", summary="Inject a simulator fault (demo only)",
             responses=responses(404, 422), dependencies=DEMO_ONLY)
async def sim_fault(body: FaultRequest, devices: DevicesDep, device_id: str = DeviceId) -> dict[str, Any]:
    """Set or clear (``null``) a fault; the device's health follows within one status poll."""
    manager, sim = _simulator(devices, device_id)
    try:
        sim.inject(body.fault)
    except ValueError as exc:
        raise HallqError(f"模拟设备不支持此故障：{body.fault}", str(exc), code="invalid_request",
                         faults=list(getattr(sim, "faults", ()))) from exc
    await manager.refresh(device_id)
    return {"device": manager.entry(device_id), "fault": body.fault}


@router.post("/sim/{device_id}/action", summary="Run a simulator action (demo only)",
             responses=responses(404, 422), dependencies=DEMO_ONLY)
async def sim_action(body: ActionRequest, devices: DevicesDep, device_id: str = DeviceId) -> dict[str, Any]:
    """A device-specific action (``place_card`` on a card reader, ``press`` on a keypad, ``png`` on a printer)."""
    _, sim = _simulator(devices, device_id)
    try:
        result: dict[str, Any] = await sim.act(body.action, body.params)
    except (ValueError, LookupError, TypeError) as exc:
        raise HallqError(f"模拟设备操作失败：{body.action}", str(exc), code="invalid_request") from exc
    return result


@router.get("/sim/{device_id}/tickets/{index}.png", summary="A printed ticket as PNG (demo only)",
            response_class=Response, responses=responses(404, 422), dependencies=DEMO_ONLY)
async def sim_ticket_png(devices: DevicesDep, index: int, device_id: str = DeviceId) -> Response:
    """PNG of ticket ``index`` (``-1`` = newest) printed on a simulated printer."""
    _, sim = _simulator(devices, device_id)
    png = getattr(sim, "png", None)
    if png is None:
        raise NotFound("此设备没有打印记录", "This simulator prints no tickets", code="unknown_device")
    try:
        data = png(index)
    except LookupError as exc:
        raise NotFound("没有这张打印的号票", str(exc), code="unknown_ticket") from exc
    return Response(data, media_type="image/png")
