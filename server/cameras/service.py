"""What the web side asks of the cameras: the list, live streams, snapshots, references, evidence.

``Services.cameras`` is a ``CameraService``. In the process that runs the cameras (``hallq
serve`` with one worker: the in-process device host) it answers from its own wiring; in a web
worker of ``hallq serve --workers N`` its wiring runs no camera, and it asks the device host's
relay instead (``server/cameras/relay.py``). The routes of ``server/api/video.py`` use only
this class; they never reach into the wiring or a driver.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from drivers.camera.broadcast import JpegBroadcaster
from server.cameras.relay import CameraRelay, RelayClient, read_relay, relay_file
from server.cameras.stream import broadcaster_of, mjpeg
from server.cameras.wiring import CameraWiring
from server.errors import NotFound, Unavailable


def camera_unavailable(camera_id: str) -> Unavailable:
    """The camera has no recent frame (503)."""
    return Unavailable("摄像机暂无画面", f"Camera {camera_id!r} has no recent frame", code="camera_unavailable")


def unknown_camera(camera_id: str) -> NotFound:
    """No camera has this id."""
    return NotFound("没有这个摄像机", f"Unknown camera {camera_id!r}", code="unknown_camera")


def masked_url(url: str) -> str:
    """The URL with its password hidden (``rtsp://user:***@host/…``); shown to supervisors, never the secret."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if parts.password is None and "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    # a user name alone may itself be the secret (token@host): then nothing of it is shown
    shown = f"{parts.username}:***" if parts.password is not None and parts.username else "***"
    return urlunsplit(parts._replace(netloc=f"{shown}@{host}"))


class CameraService:
    """The cameras of this process as the video routes see them; owns the shared stream encoders."""

    def __init__(self, wiring: CameraWiring, *, relay_file: Path | None = None) -> None:
        self.wiring = wiring
        self.relay_file = relay_file
        self.broadcasters: dict[str, JpegBroadcaster] = {}
        self._relay: RelayClient | None = None

    def use_relay(self, config: Any) -> None:
        """This process runs no camera (a web worker): show the device host's through its relay."""
        self.relay_file = relay_file(config)

    async def serve_relay(self, config: Any) -> CameraRelay:
        """In the device host: serve these cameras to the web workers (``relay.stop()`` when done)."""
        relay = CameraRelay(self, relay_file(config))
        await relay.start()
        return relay

    def relay(self) -> RelayClient | None:
        """The device host's relay, when this process runs no camera and a device host relays them."""
        if self.wiring.units or self.relay_file is None:
            return None
        found = read_relay(self.relay_file)
        if found is None:
            return None
        if self._relay is None or (self._relay.url, self._relay.key) != found:
            self._relay = RelayClient(*found)  # a restarted device host listens elsewhere
        return self._relay

    def device(self, camera_id: str) -> Any:
        """The camera device ``camera_id``; NotFound ``unknown_camera`` otherwise."""
        unit = self.wiring.units.get(camera_id)
        if unit is None:
            raise unknown_camera(camera_id)
        return unit.device

    async def listing(self) -> list[dict[str, Any]]:
        """Every camera: health, watched windows, waiting area, latest analysis, masked URL."""
        relay = self.relay()
        if relay is not None:
            return await relay.listing()
        status = self.wiring.status()
        return [
            {"id": camera_id, "health": unit.device.health.to_dict(), "windows": sorted(unit.options.seats),
             "waiting_area": unit.options.waiting_area is not None, "analysis": status.get(camera_id) or None,
             "url": masked_url(str(getattr(unit.device, "url", "") or ""))}
            for camera_id, unit in self.wiring.units.items()
        ]

    def broadcaster(self, camera_id: str) -> JpegBroadcaster:
        """The one shared encoder of a camera's live stream (created on first use)."""
        device = self.device(camera_id)
        if camera_id not in self.broadcasters:
            self.broadcasters[camera_id] = broadcaster_of(device)
        return self.broadcasters[camera_id]

    async def open_stream(self, camera_id: str) -> AsyncGenerator[bytes, None]:
        """A viewer's MJPEG multipart body; NotFound/Unavailable are raised before the first byte."""
        relay = self.relay()
        if relay is not None:
            return await relay.open_stream(camera_id)
        return mjpeg(self.broadcaster(camera_id))

    async def snapshot(self, camera_id: str) -> bytes:
        """The newest frame as JPEG; 503 ``camera_unavailable`` when it is older than the camera's staleness limit."""
        relay = self.relay()
        if relay is not None:
            return await relay.snapshot(camera_id)
        device = self.device(camera_id)
        jpeg: bytes | None = await asyncio.to_thread(device.jpeg, 85, max(5.0, device.options.stale_after))
        if jpeg is None:
            raise camera_unavailable(camera_id)
        return jpeg

    async def capture_reference(self, camera_id: str, windows: list[int] | None) -> list[int]:
        """Retake the empty-seat references from the newest frame; 503 ``camera_unavailable`` without a frame."""
        relay = self.relay()
        if relay is not None:
            return await relay.capture_reference(camera_id, windows)
        self.device(camera_id)
        taken = await self.wiring.capture_reference(camera_id, windows)
        if not taken:
            raise camera_unavailable(camera_id)
        return taken

    def evidence(self, relative: str) -> Path:
        """The file of an evidence snapshot (``YYYY-MM-DD/<name>.jpg``); NotFound otherwise."""
        path = self.wiring.snapshots.resolve(relative)
        if path is None:
            raise NotFound("没有这张截图", "No such snapshot", code="unknown_snapshot")
        return path

    async def close(self) -> None:
        """End every live stream (infinite responses would hold up a graceful shutdown)."""
        for broadcaster in self.broadcasters.values():
            await broadcaster.close()
        if self._relay is not None:
            await self._relay.aclose()
            self._relay = None
