"""Supervisor video: the camera list, live MJPEG streams, snapshots, references, evidence files.

Routes (all supervisor-only; the wall page itself is ``/supervisor/video`` in
``server/api/pages.py``, a template of the page system that reads these):

- ``GET /api/cameras`` — cameras with health, watched windows, the latest analysis and the
  URL with its password masked;
- ``GET /api/cameras/{id}/stream.mjpg`` — ``multipart/x-mixed-replace`` MJPEG, at most
  ``stream_fps`` frames/s and ``stream_width`` px wide (camera options), one shared encoder
  per camera however many viewers;
- ``GET /api/cameras/{id}/snapshot.jpg`` — the newest frame;
- ``POST /api/cameras/{id}/reference`` — "the seats are empty now": retake the frozen
  empty-seat references (optional ``?window=N``, repeatable);
- ``GET /api/snapshots/{day}/{file}.jpg`` — an evidence snapshot (alerts, bad ratings).

They use ``Services.cameras`` (``server/cameras/service.py``): the cameras of this process,
or, in a web worker of ``hallq serve --workers N``, the device host's loopback relay.
``require_supervisor`` accepts a bearer token or the sign-in session cookie
(an ``<img>`` tag sends cookies, not headers): no credentials → 401, another role → 403.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import FileResponse, Response, StreamingResponse

from server.auth import Principal, Role, allow
from server.cameras.service import CameraService, unknown_camera
from server.cameras.stream import CONTENT_TYPE, HEADERS
from server.deps import CamerasDep, ConfigDep, DevicesDep
from server.errors import NotFound, Unavailable

CameraId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="Camera id")]

require_supervisor = allow(Role.SUPERVISOR, Role.ADMIN, window_param=None)  # only supervisors see video
Supervisor = Annotated[Principal, Depends(require_supervisor)]
router = APIRouter(tags=["video"])


def _service(cameras: Any, camera_id: str | None = None) -> CameraService:
    if not isinstance(cameras, CameraService):
        if camera_id is not None:
            raise unknown_camera(camera_id)
        raise NotFound("未配置摄像机", "No cameras are configured", code="unknown_camera")
    return cameras


@router.get("/api/cameras")
async def cameras(cameras: CamerasDep, devices: DevicesDep, config: ConfigDep, _: Supervisor) -> dict[str, Any]:
    """Every camera: health, watched windows, latest analysis, masked URL.

    ``elsewhere`` is true when the hall has cameras but this process does not run them
    (``hallq serve --workers N``: the device host process does).
    """
    configured = any(d.kind == "camera" and d.enabled for d in config.devices)
    try:
        listing = await cameras.listing() if isinstance(cameras, CameraService) else []
    except Unavailable:  # the device host's relay does not answer (restarting, or on another machine)
        listing = []
    return {"cameras": listing, "elsewhere": configured and devices is None and not listing}


@router.get("/api/cameras/{camera_id}/stream.mjpg", response_class=StreamingResponse)
async def stream(camera_id: CameraId, cameras: CamerasDep, _: Supervisor) -> StreamingResponse:
    """Live MJPEG of one camera (one encoder however many viewers)."""
    body = await _service(cameras, camera_id).open_stream(camera_id)
    return StreamingResponse(body, media_type=CONTENT_TYPE, headers=HEADERS)


@router.get("/api/cameras/{camera_id}/snapshot.jpg", response_class=Response)
async def snapshot(camera_id: CameraId, cameras: CamerasDep, _: Supervisor) -> Response:
    """The camera's newest frame as JPEG (503 ``camera_unavailable`` without a recent one)."""
    jpeg = await _service(cameras, camera_id).snapshot(camera_id)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/api/cameras/{camera_id}/reference")
async def take_reference(
    camera_id: CameraId, cameras: CamerasDep, _: Supervisor, window: Annotated[list[int] | None, Query()] = None
) -> dict[str, Any]:
    """Retake the empty-seat references from the newest frame (the seats must be empty now)."""
    windows = await _service(cameras, camera_id).capture_reference(camera_id, window)
    return {"camera": camera_id, "windows": windows}


@router.get("/api/snapshots/{day}/{name}", response_class=FileResponse)
async def evidence(day: str, name: str, cameras: CamerasDep, _: Supervisor) -> FileResponse:
    """An evidence snapshot saved with an alert or a bad rating."""
    if not isinstance(cameras, CameraService):
        raise NotFound("没有这张截图", "No such snapshot", code="unknown_snapshot")
    return FileResponse(cameras.evidence(f"{day}/{name}"), media_type="image/jpeg")
