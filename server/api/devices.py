"""Device health for supervisors, and the demo simulators' state and fault injection.

``GET /api/devices`` always (supervisors and admins, see /work/spec/readme-auth.md);
``/api/sim/…`` only in demo mode (404 ``unknown_device`` otherwise; open to anyone there,
since injecting faults is what the demo is for). The manager is ``request.app.state.devices``
(``server.devices.manager.DeviceManager``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from server.api.problems import responses
from server.auth.roles import Role, allow, public
from server.errors import HallqError, NotFound

router = APIRouter(prefix="/api", tags=["devices"])
SUPERVISORS = [Depends(allow(Role.ADMIN, Role.SUPERVISOR))]
DEMO_ONLY = [Depends(public("demo-mode simulators; 404 outside demo mode"))]

DeviceId = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="Device id")


class FaultRequest(BaseModel):
    """Inject a fault into a simulator (null clears it)."""

    fault: str | None = Field(default=None, max_length=64, examples=["paper_out"])


class ActionRequest(BaseModel):
    """Run a simulator action (``place_card``, ``press``, ``png`` …)."""

    action: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)


def _manager(request: Request) -> Any:
    manager = getattr(request.app.state, "devices", None)
    if manager is None:
        raise NotFound("设备管理未启动", "The device manager is not running", code="unknown_device")
    return manager


def _simulator(request: Request, device_id: str) -> tuple[Any, Any]:
    manager = _manager(request)
    sim = manager.simulators.get(device_id) if manager.demo else None
    if sim is None:
        raise NotFound(f"没有模拟设备：{device_id}", f"No simulated device {device_id!r} (demo mode only)",
                       code="unknown_device", device=device_id)
    return manager, sim


@router.get("/devices", summary="Devices and their health (设备状态)", dependencies=SUPERVISORS,
            responses=responses(401, 403))
async def list_devices(request: Request) -> dict[str, Any]:
    """Every configured device with its health: state, faults, detail, binding."""
    snapshot: dict[str, Any] = _manager(request).snapshot()
    return snapshot


@router.get("/sim/{device_id}", summary="Simulator state (demo only)", responses=responses(404, 422),
            dependencies=DEMO_ONLY)
async def sim_state(request: Request, device_id: str = DeviceId) -> dict[str, Any]:
    """The simulator's state: printed tickets as text and PNG path, the injected fault, counters."""
    _, sim = _simulator(request, device_id)
    state: dict[str, Any] = sim.state()
    return state


@router.post("/sim/{device_id}/fault", summary="Inject a simulator fault (demo only)",
             responses=responses(404, 422), dependencies=DEMO_ONLY)
async def sim_fault(body: FaultRequest, request: Request, device_id: str = DeviceId) -> dict[str, Any]:
    """Set or clear (``null``) a fault; the device's health follows within one status poll."""
    manager, sim = _simulator(request, device_id)
    try:
        sim.inject(body.fault)
    except ValueError as exc:
        raise HallqError(f"模拟设备不支持此故障：{body.fault}", str(exc), code="invalid_request",
                         faults=list(getattr(sim, "faults", ()))) from exc
    await manager.refresh(device_id)
    return {"device": manager.entry(device_id), "fault": body.fault}


@router.post("/sim/{device_id}/action", summary="Run a simulator action (demo only)",
             responses=responses(404, 422), dependencies=DEMO_ONLY)
async def sim_action(body: ActionRequest, request: Request, device_id: str = DeviceId) -> dict[str, Any]:
    """A device-specific action (``place_card`` on a card reader, ``press`` on a keypad, ``png`` on a printer)."""
    _, sim = _simulator(request, device_id)
    try:
        result: dict[str, Any] = await sim.act(body.action, body.params)
    except (ValueError, LookupError, TypeError) as exc:
        raise HallqError(f"模拟设备操作失败：{body.action}", str(exc), code="invalid_request") from exc
    return result


@router.get("/sim/{device_id}/tickets/{index}.png", summary="A printed ticket as PNG (demo only)",
            response_class=Response, responses=responses(404, 422), dependencies=DEMO_ONLY)
async def sim_ticket_png(request: Request, index: int, device_id: str = DeviceId) -> Response:
    """PNG of ticket ``index`` (``-1`` = newest) printed on a simulated printer."""
    _, sim = _simulator(request, device_id)
    png = getattr(sim, "png", None)
    if png is None:
        raise NotFound("此设备没有打印记录", "This simulator prints no tickets", code="unknown_device")
    try:
        data = png(index)
    except LookupError as exc:
        raise NotFound("没有这张打印的号票", str(exc), code="unknown_ticket") from exc
    return Response(data, media_type="image/png")
