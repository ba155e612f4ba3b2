"""Supervisor video: the video wall page, live MJPEG streams, snapshots, evidence files.

Routes (all supervisor-only):

- ``GET /supervisor/video`` — a plain HTML grid of every camera's live stream;
- ``GET /api/cameras`` — cameras with health, watched windows and the latest analysis;
- ``GET /api/cameras/{id}/stream.mjpg`` — ``multipart/x-mixed-replace`` MJPEG, at most
  ``stream_fps`` frames/s and ``stream_width`` px wide (camera options). One
  ``JpegBroadcaster`` per camera encodes each frame once for all viewers;
- ``GET /api/cameras/{id}/snapshot.jpg`` — the newest frame;
- ``POST /api/cameras/{id}/reference`` — "the seats are empty now": retake the frozen
  empty-seat references (optional ``?window=N``, repeatable);
- ``GET /api/snapshots/{day}/{file}.jpg`` — an evidence snapshot (alerts, bad ratings).

The camera wiring is ``app.state.cameras`` (``server.devices.cameras.CameraWiring``).

``require_supervisor`` is ``server.auth.allow(SUPERVISOR, ADMIN)``: a bearer token, or the
sign-in session cookie (an ``<img>`` tag sends cookies, not headers). No credentials → 401,
another role → 403.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse

from drivers.camera.broadcast import MULTIPART_CONTENT_TYPE, JpegBroadcaster, multipart_part
from server.auth import Principal, Role, allow
from server.errors import HallqError, NotFound

SUPERVISOR_HEADER = "X-Supervisor-Token"
SUPERVISOR_COOKIE = "hallq_supervisor"

CameraId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="Camera id")]


class NotSignedIn(HallqError):
    """No credentials (401)."""

    status = 401
    default_code = "unauthorized"


class CameraUnavailable(HallqError):
    """The camera has no recent frame (503)."""

    status = 503
    default_code = "camera_unavailable"


require_supervisor = allow(Role.SUPERVISOR, Role.ADMIN, window_param=None)  # only supervisors see video
Supervisor = Annotated[Principal, Depends(require_supervisor)]
router = APIRouter(tags=["video"])


def _wiring(request: Request) -> Any:
    wiring = getattr(request.app.state, "cameras", None)
    if wiring is None:
        raise NotFound("未配置摄像机", "No cameras are configured", code="unknown_camera")
    return wiring


def _camera(request: Request, camera_id: str) -> Any:
    device = _wiring(request).cameras.get(camera_id)
    if device is None:
        raise NotFound("没有这个摄像机", f"Unknown camera {camera_id!r}", code="unknown_camera")
    return device


def broadcaster_for(request: Request, camera_id: str) -> JpegBroadcaster:
    """The one shared encoder of a camera's stream (created on first use)."""
    device = _camera(request, camera_id)
    state = request.app.state
    if not hasattr(state, "video_broadcasters"):
        state.video_broadcasters = {}
    broadcasters: dict[str, JpegBroadcaster] = state.video_broadcasters
    if camera_id not in broadcasters:
        options = device.options

        def source() -> tuple[object, Any] | None:
            frame = device.latest()
            return None if frame is None else (frame.index, frame.image)

        broadcasters[camera_id] = JpegBroadcaster(
            source, fps=options.stream_fps, width=options.stream_width, quality=options.jpeg_quality
        )
    return broadcasters[camera_id]


@router.get("/api/cameras/{camera_id}/stream.mjpg", response_class=StreamingResponse)
async def stream(request: Request, camera_id: CameraId, _: Supervisor) -> StreamingResponse:
    """Live MJPEG of one camera (one encoder however many viewers)."""
    broadcaster = broadcaster_for(request, camera_id)

    async def parts() -> AsyncIterator[bytes]:
        async for jpeg in broadcaster.frames():
            yield multipart_part(jpeg)

    headers = {"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(parts(), media_type=MULTIPART_CONTENT_TYPE, headers=headers)


@router.get("/api/cameras/{camera_id}/snapshot.jpg", response_class=Response)
async def snapshot(request: Request, camera_id: CameraId, _: Supervisor) -> Response:
    """The camera's newest frame as JPEG."""
    device = _camera(request, camera_id)
    jpeg = await asyncio.to_thread(device.jpeg, 85, max(5.0, device.options.stale_after))
    if jpeg is None:
        raise CameraUnavailable("摄像机暂无画面", f"Camera {camera_id!r} has no recent frame")
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/api/cameras/{camera_id}/reference")
async def take_reference(
    request: Request, camera_id: CameraId, _: Supervisor, window: Annotated[list[int] | None, Query()] = None
) -> dict[str, Any]:
    """Retake the empty-seat references from the newest frame (the seats must be empty now)."""
    _camera(request, camera_id)
    windows = await _wiring(request).capture_reference(camera_id, window)
    if not windows:
        raise CameraUnavailable("摄像机暂无画面", f"Camera {camera_id!r} has no frame")
    return {"camera": camera_id, "windows": windows}


@router.get("/api/cameras")
async def cameras(request: Request, _: Supervisor) -> dict[str, Any]:
    """Every camera: health, watched windows, latest analysis."""
    wiring = _wiring(request)
    status = wiring.status()
    return {"cameras": [
        {"id": camera_id, "health": unit.device.health.to_dict(), "windows": sorted(unit.options.seats),
         "analysis": status.get(camera_id) or None}
        for camera_id, unit in wiring.units.items()
    ]}


@router.get("/api/snapshots/{day}/{name}", response_class=FileResponse)
async def evidence(request: Request, day: str, name: str, _: Supervisor) -> FileResponse:
    """An evidence snapshot saved with an alert or a bad rating."""
    path = _wiring(request).snapshots.resolve(f"{day}/{name}")
    if path is None:
        raise NotFound("没有这张截图", "No such snapshot", code="unknown_snapshot")
    return FileResponse(path, media_type="image/jpeg")


PAGE_STYLE = """
body{margin:0;background:#111;color:#eee;font-family:"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif}
header{padding:8px 16px;font-size:20px;background:#222}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:8px;padding:8px}
figure{margin:0;background:#000}
figure img{display:block;width:100%;height:auto;min-height:120px}
figcaption{padding:4px 8px;font-size:15px;background:#222}
.empty{padding:32px;font-size:18px}
"""


@router.get("/supervisor/video", response_class=HTMLResponse)
async def video_wall(request: Request, _: Supervisor) -> HTMLResponse:
    """The video wall: every camera's live stream in a grid."""
    wiring = getattr(request.app.state, "cameras", None)
    units = list(wiring.units.values()) if wiring is not None else []
    tiles = []
    for unit in units:
        cid = html.escape(unit.id)
        windows = "、".join(str(n) for n in sorted(unit.options.seats))
        caption = cid + (f" · 窗口 {windows}" if windows else "")
        caption += " · 等候区" if unit.options.waiting_area else ""
        tiles.append(
            f'<figure><img src="/api/cameras/{cid}/stream.mjpg" alt="{cid}" data-camera="{cid}">'
            f"<figcaption>{caption}</figcaption></figure>"
        )
    body = "".join(tiles) or '<p class="empty">没有配置摄像机</p>'
    # A stream that drops (camera offline, server restart) is retried every 5 s.
    script = (
        "document.querySelectorAll('img[data-camera]').forEach(function(img){"
        "img.addEventListener('error',function(){var src=img.src.split('?')[0];"
        "setTimeout(function(){img.src=src+'?t='+Date.now();},5000);});});"
    )
    page = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>视频监控</title><style>{PAGE_STYLE}</style></head>"
        f"<body><header>视频监控 Video wall</header><main>{body}</main><script>{script}</script></body></html>"
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


async def close_streams(app: Any) -> None:
    """End every live stream (a shutdown hook: infinite responses would hold a graceful shutdown)."""
    for broadcaster in getattr(app.state, "video_broadcasters", {}).values():
        await broadcaster.close()
