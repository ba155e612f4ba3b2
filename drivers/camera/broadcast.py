"""One JPEG encoder per video source, fanned out to any number of viewers.

A viewer's queue holds one frame: a slow viewer skips frames instead of slowing the
encoder or the other viewers. The encoder runs only while someone watches, encodes in
a worker thread, and never re-encodes a frame it has already sent. How the frames reach
a browser (MJPEG multipart over HTTP) is the server's business: ``server/cameras/stream.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# source() -> (key, BGR image) or None; the same key twice means "no new frame".
Source = Callable[[], "tuple[object, np.ndarray] | None"]

def encode_jpeg(image: np.ndarray, width: int | None = None, quality: int = 80) -> bytes:
    """Encode a BGR image as JPEG, scaled down to ``width`` when it is wider."""
    import cv2  # only when video is watched: a hall without cameras never loads OpenCV
    h, w = image.shape[:2]
    if width is not None and w > width:
        image = cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


class JpegBroadcaster:
    """Encodes a source at most ``fps`` times a second, once for all subscribers."""

    def __init__(self, source: Source, *, fps: float = 5.0, width: int | None = None, quality: int = 70) -> None:
        self.source = source
        self.fps = fps
        self.width = width
        self.quality = quality
        self.paused = False  # keep encoding, deliver nothing (a stalled stream)
        self.encoded = 0  # frames encoded so far (for tests and metrics)
        self.last_jpeg: bytes | None = None
        self._last_key: object = object()
        self._subscribers: set[asyncio.Queue[bytes | None]] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def subscribers(self) -> int:
        """How many viewers are attached now."""
        return len(self._subscribers)

    def _encode(self) -> bytes | None:
        item = self.source()
        if item is None:
            return None
        key, image = item
        if key == self._last_key:
            return None
        self._last_key = key
        jpeg = encode_jpeg(image, self.width, self.quality)
        self.encoded += 1
        self.last_jpeg = jpeg
        return jpeg

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.fps
        try:
            while self._subscribers:
                started = loop.time()
                jpeg = await asyncio.to_thread(self._encode)
                if jpeg is not None and not self.paused:
                    for queue in list(self._subscribers):
                        if queue.full():
                            with contextlib.suppress(asyncio.QueueEmpty):
                                queue.get_nowait()
                        queue.put_nowait(jpeg)
                await asyncio.sleep(max(0.0, interval - (loop.time() - started)))
        finally:
            self._task = None

    async def frames(self) -> AsyncIterator[bytes]:
        """JPEG frames for one viewer, until it stops iterating or ``disconnect_all``."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=1)
        self._subscribers.add(queue)
        if self._task is None:
            self._task = asyncio.create_task(self._pump(), name="jpeg-broadcaster")
        try:
            while True:
                jpeg = await queue.get()
                if jpeg is None:
                    return
                yield jpeg
        finally:
            self._subscribers.discard(queue)

    def disconnect_all(self) -> None:
        """End every viewer's stream (they may subscribe again)."""
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
            queue.put_nowait(None)
        self._subscribers.clear()

    async def close(self) -> None:
        """Disconnect everyone and stop the encoder."""
        self.disconnect_all()
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
