"""Camera simulator: the synthetic hall scene served as HTTP MJPEG.

``hallq sim camera`` and ``hallq demo`` start it; the production driver reads
``http://127.0.0.1:PORT/stream.mjpg`` through ``cv2.VideoCapture`` unchanged. Routes:
``/stream.mjpg`` (multipart/x-mixed-replace), ``/snapshot.jpg``, ``/state`` (JSON
with the ground truth). The scene runs on a simulated clock that can go faster than
real time (``speed``) or be moved by ``act("clock", {"advance": s})``.

Actions: ``scenario`` {name | spec}, ``clerk`` {window, present: bool|null},
``crowd`` {count: int|null}, ``clock`` {speed | advance | set}, ``truth`` {}.
Faults: ``silence`` (connections stay open, no frames), ``drop`` (connections are
closed, new ones refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from drivers.camera.broadcast import JpegBroadcaster, encode_jpeg
from drivers.camera.options import CameraOptions
from drivers.camera.scene import HallScene, scenario_from
from drivers.errors import DeviceConfigError

log = logging.getLogger("hallq.sim.camera")
# The wire format of a typical IP camera's MJPEG endpoint (what cv2.VideoCapture reads).
BOUNDARY = "frame"


class SimClock:
    """Simulated seconds since the scenario started, ``speed`` times real time."""

    def __init__(self, speed: float = 1.0, start: float = 0.0, real: Callable[[], float] = time.monotonic) -> None:
        self.speed = speed
        self._real = real
        self._base = start
        self._real0 = real()

    def now(self) -> float:
        """The simulated time."""
        return self._base + (self._real() - self._real0) * self.speed

    def set(self, t: float) -> None:
        """Jump to ``t``."""
        self._base, self._real0 = t, self._real()

    def advance(self, seconds: float) -> None:
        """Jump forward."""
        self.set(self.now() + seconds)

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on."""
        self.set(self.now())
        self.speed = speed


class CameraSimulator:
    """A simulated hall camera (implements ``drivers.simulator.Simulator``)."""

    faults: tuple[str, ...] = ("silence", "drop")

    def __init__(self, device_id: str, options: CameraOptions | dict[str, Any] | None = None) -> None:
        self.device_id = device_id
        self.options = options if isinstance(options, CameraOptions) else CameraOptions.model_validate(options or {})
        self.scene = HallScene(scenario_from(self.options.scenario))
        self.clock = SimClock(self.options.speed)
        self.fault: str | None = None
        self.url: str | None = None
        self.broadcaster = JpegBroadcaster(self._render, fps=self.options.fps, quality=80)
        self._frame_index = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # --- Simulator protocol ---------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve HTTP; returns the stream URL."""
        self._server = await asyncio.start_server(self._handle, host, port)
        sock_host, sock_port = self._server.sockets[0].getsockname()[:2]
        self.url = f"http://{sock_host}:{sock_port}/stream.mjpg"
        return self.url

    async def start_pty(self) -> str:
        """Cameras have no serial line."""
        raise DeviceConfigError("the camera simulator serves HTTP only")

    async def stop(self) -> None:
        """Close every connection and the server."""
        await self.broadcaster.close()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    def state(self) -> dict[str, Any]:
        """Clock, scenario, fault, viewers and the ground truth now."""
        return {
            "url": self.url,
            "t": self.clock.now(),
            "speed": self.clock.speed,
            "scenario": self.scene.scenario.name,
            "fault": self.fault,
            "clients": self.broadcaster.subscribers,
            "frames": self._frame_index,
            "truth": self.scene.truth(self.clock.now()).to_dict(),
        }

    def inject(self, fault: str | None) -> None:
        """Start a fault (``silence``, ``drop``) or clear it with None."""
        if fault is not None and fault not in self.faults:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(self.faults)}")
        self.fault = fault
        self.broadcaster.paused = fault == "silence"
        if fault == "drop":
            self.broadcaster.disconnect_all()
            for writer in list(self._writers):
                writer.close()

    async def act(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run a scenario action; returns the new state."""
        if action == "scenario":
            spec = params.get("spec", params.get("name", "demo"))
            self.scene = HallScene(scenario_from(spec))
            self.clock.set(float(params.get("at", 0.0)))
        elif action == "clerk":
            window, present = int(params["window"]), params.get("present")
            if present is None:
                self.scene.clerk_override.pop(window, None)
            else:
                self.scene.clerk_override[window] = bool(present)
        elif action == "crowd":
            count = params.get("count")
            self.scene.crowd_override = None if count is None else int(count)
        elif action == "clock":
            if "speed" in params:
                self.clock.set_speed(float(params["speed"]))
            if "set" in params:
                self.clock.set(float(params["set"]))
            if "advance" in params:
                self.clock.advance(float(params["advance"]))
        elif action != "truth":
            raise ValueError(f"unknown action {action!r}")
        return self.state()

    # --- frames and HTTP --------------------------------------------------------------------

    def _render(self) -> tuple[object, np.ndarray]:
        self._frame_index += 1
        return self._frame_index, self.scene.render(self.clock.now(), self._frame_index)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            parts = request.split(b"\r\n", 1)[0].decode("latin-1").split()
            path = parts[1].split("?", 1)[0] if len(parts) >= 2 else "/"
            if self.fault == "drop":
                return
            if path == "/stream.mjpg":
                await self._stream(writer)
            elif path == "/snapshot.jpg":
                _, image = self._render()
                await self._reply(writer, "200 OK", "image/jpeg", encode_jpeg(image, quality=85))
            elif path == "/state":
                await self._reply(writer, "200 OK", "application/json", json.dumps(self.state()).encode())
            else:
                await self._reply(writer, "404 Not Found", "text/plain", b"not found\n")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _reply(self, writer: asyncio.StreamWriter, status: str, content_type: str, body: bytes) -> None:
        head = f"HTTP/1.0 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode("ascii") + body)
        await asyncio.wait_for(writer.drain(), 5.0)

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        head = (
            "HTTP/1.0 200 OK\r\nCache-Control: no-cache\r\nConnection: close\r\n"
            f"Content-Type: multipart/x-mixed-replace; boundary={BOUNDARY}\r\n\r\n"
        )
        writer.write(head.encode("ascii"))
        await writer.drain()
        async for jpeg in self.broadcaster.frames():
            part = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
            writer.write(part.encode("ascii") + jpeg + b"\r\n")
            await asyncio.wait_for(writer.drain(), 5.0)
