"""Live video for browsers: one shared JPEG encoder per camera, framed as MJPEG multipart.

An ``<img src=".../stream.mjpg">`` shows a ``multipart/x-mixed-replace`` response as live
video; each part is one JPEG. The encoder (``drivers/camera/broadcast.py``) runs only while
someone watches and encodes each frame once for every viewer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from drivers.camera.broadcast import JpegBroadcaster

BOUNDARY = "frame"
CONTENT_TYPE = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
HEADERS = {"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"}  # proxies must not buffer it


def multipart_part(jpeg: bytes) -> bytes:
    """One part of a ``multipart/x-mixed-replace`` MJPEG stream."""
    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
    return head.encode("ascii") + jpeg + b"\r\n"


async def mjpeg(broadcaster: JpegBroadcaster) -> AsyncGenerator[bytes, None]:
    """The body of one viewer's stream: multipart parts until the viewer leaves or the stream closes."""
    async for jpeg in broadcaster.frames():
        yield multipart_part(jpeg)


def broadcaster_of(device: Any) -> JpegBroadcaster:
    """A broadcaster reading ``device.latest()`` at the camera's ``stream_fps`` and ``stream_width``."""
    options = device.options

    def source() -> tuple[object, Any] | None:
        frame = device.latest()
        return None if frame is None else (frame.index, frame.image)

    return JpegBroadcaster(source, fps=options.stream_fps, width=options.stream_width, quality=options.jpeg_quality)
