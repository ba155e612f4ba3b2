"""OpenCV camera driver: RTSP, HTTP MJPEG, a USB index or a video file, newest frame only.

OpenCV owns the I/O here, so this driver is a ``drivers.base.Device`` (lifecycle only),
not a ``ConnectedDevice``; it follows the same health model: ``connecting`` until the
first frame, ``ready`` while frames arrive, ``offline`` (fault ``no_answer`` or
``disconnected``) after the timeouts, and reconnects with ``Backoff``. A background
thread reads continuously (a live stream must be drained or it lags) and keeps only
the newest frame, at most ``fps`` per second. Health changes are handed to the event
loop so listeners run on the loop thread, as with every other driver.

URLs: ``rtsp://…`` (FFmpeg with open/read timeouts; set
``OPENCV_FFMPEG_CAPTURE_OPTIONS=rtsp_transport;tcp`` for cameras that drop UDP),
``http://…/stream.mjpg`` (MJPEG, e.g. the simulator), ``usb:0`` or ``0``, or a file path
(``file:///…`` too; looped when ``loop_file``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any, ClassVar

import cv2
import numpy as np
from pydantic import BaseModel

from drivers.base import Device
from drivers.camera.options import CameraOptions
from drivers.contract import Frame
from drivers.errors import DeviceConfigError
from drivers.health import DISCONNECTED, NO_ANSWER, DeviceState
from drivers.transport import Backoff

log = logging.getLogger("hallq.devices.camera")


def _usb_index(url: str) -> int | None:
    text = url.removeprefix("usb:")
    return int(text) if text.isdigit() else None


class OpenCvCamera(Device):
    """A camera read through ``cv2.VideoCapture`` by a background thread."""

    kind: ClassVar[str] = "camera"
    name: ClassVar[str] = "opencv"
    Options: ClassVar[type[BaseModel]] = CameraOptions
    options: CameraOptions

    def __init__(self, device_id: str, url: str, options: CameraOptions | dict[str, Any] | None = None) -> None:
        super().__init__(device_id, url, options)
        self.backoff = Backoff(initial=0.5, maximum=15.0)
        self.frames_read = 0
        self._frame: Frame | None = None
        self._frame_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watchdog: asyncio.Task[None] | None = None

    @staticmethod
    def check_url(url: str) -> None:
        """Raise DeviceConfigError unless OpenCV can be pointed at ``url`` (checked before serving)."""
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme in ("rtsp", "rtsps", "http", "https", "file") or _usb_index(url) is not None:
            return
        if scheme == "" and url.startswith("/"):
            return
        raise DeviceConfigError(
            f"bad camera URL {url!r}: expected rtsp://…, http://…/stream.mjpg, usb:N or an absolute file path"
        )

    # --- Device protocol ----------------------------------------------------------------

    async def on_open(self) -> None:
        """Start the reader thread; returns at once."""
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self.tracker.set(DeviceState.CONNECTING)
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.device_id}", daemon=True)
        self._thread.start()
        self._watchdog = asyncio.create_task(self._watch(), name=f"camera-watchdog-{self.device_id}")

    async def on_close(self) -> None:
        """Stop the reader (waits at most the read timeout for a blocked read)."""
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join, self.options.read_timeout + self.options.open_timeout + 1)

    def latest(self) -> Frame | None:
        """The newest frame, or None before the first one."""
        with self._frame_lock:
            return self._frame

    # --- helpers ---------------------------------------------------------------------------

    async def wait_ready(self, timeout: float) -> bool:
        """Wait until a frame has arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.latest() is None or not self.health.available:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def jpeg(self, quality: int = 85, max_age: float | None = None) -> bytes | None:
        """The newest frame as JPEG (None when there is none, or it is older than ``max_age`` s)."""
        frame = self.latest()
        if frame is None or (max_age is not None and time.time() - frame.at > max_age):
            return None
        ok, data = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        return data.tobytes() if ok else None

    # --- health, from any thread ----------------------------------------------------------

    def _set_health(self, state: DeviceState, faults: tuple[str, ...] = (), detail: str | None = None) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
            loop.call_soon_threadsafe(self.tracker.set, state, faults, detail)

    async def _watch(self) -> None:
        # A blocked read can take the whole read timeout; say "offline" as soon as frames stop.
        while True:
            await asyncio.sleep(min(0.5, self.options.stale_after / 2))
            frame = self.latest()
            if self.health.state == DeviceState.READY and frame is not None:
                age = time.time() - frame.at
                if age > self.options.stale_after:
                    self.tracker.set(DeviceState.OFFLINE, (NO_ANSWER,), f"no frame for {age:.1f}s")

    # --- the reader thread -------------------------------------------------------------------

    def _open_capture(self) -> cv2.VideoCapture:
        o = self.options
        index = _usb_index(self.url)
        if index is not None:
            cap = cv2.VideoCapture(index)
            if o.width and o.height:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, o.width)
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, o.height)
            return cap
        source = self.url.removeprefix("file://")
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(o.open_timeout * 1000),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(o.read_timeout * 1000)]
        return cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)

    def _is_file(self) -> bool:
        return _usb_index(self.url) is None and "://" not in self.url.removeprefix("file://")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                cap = self._open_capture()
            except Exception as exc:  # OpenCV raises cv2.error on some bad URLs
                cap, detail = None, f"cannot open: {exc}"
            else:
                detail = "cannot open stream"
            if cap is not None and cap.isOpened():
                try:
                    detail = self._read(cap)
                except Exception as exc:  # a decoder bug must not kill the reader
                    log.exception("camera %s: reader failed", self.device_id)
                    detail = f"internal error: {exc}"
                finally:
                    cap.release()
            elif cap is not None:
                cap.release()
            if self._stop.is_set():
                break
            self._set_health(DeviceState.OFFLINE, (DISCONNECTED,), detail)
            self._stop.wait(self.backoff.next_delay())

    def _read(self, cap: cv2.VideoCapture) -> str:
        o = self.options
        interval = 1.0 / o.fps
        is_file = self._is_file()
        last_kept = 0.0
        while not self._stop.is_set():
            if is_file:  # a file has no clock of its own: pace it
                self._stop.wait(max(0.0, last_kept + interval - time.time()))
            if not cap.grab():
                if is_file and o.loop_file and cap.set(cv2.CAP_PROP_POS_FRAMES, 0) and cap.grab():
                    pass
                else:
                    return "stream ended or read timed out"
            now = time.time()
            if now - last_kept < interval * 0.9:
                continue  # grabbed (to drain the stream) but not converted
            ok, image = cap.retrieve()
            if not ok or image is None:
                return "cannot decode frame"
            self._keep(self._resize(image), now)
            last_kept = now
        return "closed"

    def _resize(self, image: np.ndarray) -> np.ndarray:
        o = self.options
        if o.width is None and o.height is None:
            return image
        h, w = image.shape[:2]
        width = o.width or round(w * (o.height or h) / h)
        height = o.height or round(h * width / w)
        if (width, height) == (w, h):
            return image
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)

    def _keep(self, image: np.ndarray, now: float) -> None:
        with self._frame_lock:
            self._frame = Frame(image, now, self.frames_read, {"camera": self.device_id})
        self.frames_read += 1
        if self.health.state != DeviceState.READY:
            self.backoff.reset()
            self._set_health(DeviceState.READY)
