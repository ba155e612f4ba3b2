"""Live video across processes: the device host relays its cameras to the web workers on loopback.

With ``hallq serve --workers N`` the cameras run in the ``hallq devices`` child, so a web
worker has no frames. The child serves its ``CameraService`` on ``127.0.0.1:<free port>``
(:class:`CameraRelay`, requests must carry a random key) and writes where it listens to
``relay_file(config)`` (``var/camera-relay.json``, mode 0600, next to the installation
secret); a web worker whose own wiring runs no camera reads that file and proxies through
:class:`RelayClient`. Each camera is still encoded once, by the device host, whoever watches.

Left out: a device host on another machine (``hallq devices --server URL`` elsewhere) is not
reachable on loopback, so its cameras show no live video on the server's wall.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from server.cameras.stream import CONTENT_TYPE
from server.errors import HallqError, NotFound, Unavailable

if TYPE_CHECKING:
    import httpx

    from server.cameras.service import CameraService

log = logging.getLogger("hallq.cameras")

KEY_HEADER = "X-Hallq-Relay-Key"


def relay_file(config: Any) -> Path:
    """Where the device host says where its camera relay listens (``var/camera-relay.json``)."""
    return Path(config.server.secret_path).parent / "camera-relay.json"


def _unavailable(camera_id: str | None = None) -> Unavailable:
    name = f"Camera {camera_id!r}" if camera_id else "The cameras"
    return Unavailable("设备主机的视频暂不可用", f"{name}: the device host's video relay does not answer",
                       code="camera_unavailable")


class CameraRelay:
    """Serves a device host's cameras to the web workers of the same machine (loopback, keyed).

    A small HTTP/1.0 server on asyncio streams (no second ASGI server with its own signal
    handling inside the device host): ``GET /cameras``, ``GET /cameras/<id>/stream.mjpg``,
    ``GET /cameras/<id>/snapshot.jpg``, ``POST /cameras/<id>/reference?window=N``.
    """

    def __init__(self, cameras: CameraService, file: Path, host: str = "127.0.0.1") -> None:
        self.cameras = cameras
        self.file = file
        self.host = host
        self.key = secrets.token_urlsafe(32)
        self.url = ""
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> str:
        """Listen on a free loopback port and publish the address in ``file``; returns the base URL."""
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{port}"
        self._write({"url": self.url, "key": self.key, "pid": os.getpid()})
        log.info("camera relay for the web workers on %s", self.url)
        return self.url

    async def stop(self) -> None:
        """Stop serving and withdraw the address (only if it is still ours)."""
        with contextlib.suppress(OSError, ValueError):
            if json.loads(self.file.read_text("utf-8")).get("key") == self.key:
                self.file.unlink()
        await self.cameras.close()  # ends the relayed streams
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def _write(self, data: dict[str, Any]) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the key is a secret
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        tmp.replace(self.file)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            lines = head.decode("latin-1").split("\r\n")
            method, target = [*lines[0].split(), "", ""][:2]
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
            if not hmac.compare_digest(headers.get(KEY_HEADER.lower(), ""), self.key):
                await self._reply(writer, 403, {"code": "forbidden"})
                return
            url = urlsplit(target)
            await self._route(writer, method, url.path.strip("/").split("/"), parse_qs(url.query))
        except HallqError as exc:
            await self._reply(writer, exc.status, {"code": exc.code, "zh": exc.zh, "en": exc.en})
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _route(self, writer: asyncio.StreamWriter, method: str, parts: list[str],
                     query: dict[str, list[str]]) -> None:
        if method == "GET" and parts == ["cameras"]:
            await self._reply(writer, 200, {"cameras": await self.cameras.listing()})
        elif method == "GET" and len(parts) == 3 and parts[0] == "cameras" and parts[2] == "stream.mjpg":
            body = await self.cameras.open_stream(parts[1])
            writer.write(f"HTTP/1.0 200 OK\r\nContent-Type: {CONTENT_TYPE}\r\n\r\n".encode("ascii"))
            async with contextlib.aclosing(body):  # the viewer leaves the camera's encoder at once
                async for chunk in body:
                    writer.write(chunk)
                    await asyncio.wait_for(writer.drain(), 10.0)  # a stuck worker is dropped, not waited for
        elif method == "GET" and len(parts) == 3 and parts[0] == "cameras" and parts[2] == "snapshot.jpg":
            await self._reply(writer, 200, await self.cameras.snapshot(parts[1]), "image/jpeg")
        elif method == "POST" and len(parts) == 3 and parts[0] == "cameras" and parts[2] == "reference":
            windows = [int(w) for w in query.get("window", []) if w.isdigit()] or None
            await self._reply(writer, 200, {"windows": await self.cameras.capture_reference(parts[1], windows)})
        else:
            await self._reply(writer, 404, {"code": "not_found"})

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, status: int, body: Any, content_type: str = "") -> None:
        if not isinstance(body, bytes):
            body, content_type = json.dumps(body, ensure_ascii=False).encode(), "application/json"
        head = f"HTTP/1.0 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode("ascii") + body)
        await asyncio.wait_for(writer.drain(), 5.0)


class RelayClient:
    """A web worker's side of the relay: the same questions as CameraService, asked over loopback."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.key = key
        import httpx  # loaded on use: httpx pulls in its CLI (rich, pygments); bench/bench_footprint.py

        self._client = httpx.AsyncClient(base_url=url, headers={KEY_HEADER: key},
                                         timeout=httpx.Timeout(10.0, read=None))

    async def _call(self, method: str, path: str, camera_id: str | None = None, **kw: Any) -> httpx.Response:
        import httpx

        try:
            response = await self._client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise _unavailable(camera_id) from exc
        self._raise_for(response, camera_id)
        return response

    @staticmethod
    def _raise_for(response: httpx.Response, camera_id: str | None) -> None:
        if response.status_code < 400:
            return
        if response.status_code == 404:
            raise NotFound(code="unknown_camera")
        raise _unavailable(camera_id)

    async def listing(self) -> list[dict[str, Any]]:
        """The device host's cameras."""
        cameras: list[dict[str, Any]] = (await self._call("GET", "/cameras")).json()["cameras"]
        return cameras

    async def snapshot(self, camera_id: str) -> bytes:
        """The newest frame of one camera."""
        return (await self._call("GET", f"/cameras/{camera_id}/snapshot.jpg", camera_id)).content

    async def capture_reference(self, camera_id: str, windows: list[int] | None) -> list[int]:
        """Retake the empty-seat references on the device host."""
        params = {"window": windows} if windows else None
        answer = await self._call("POST", f"/cameras/{camera_id}/reference", camera_id, params=params)
        taken: list[int] = answer.json()["windows"]
        return taken

    async def open_stream(self, camera_id: str) -> AsyncGenerator[bytes, None]:
        """The relayed multipart body (already framed); NotFound/Unavailable before any byte is sent."""
        import httpx

        request = self._client.build_request("GET", f"/cameras/{camera_id}/stream.mjpg")
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _unavailable(camera_id) from exc
        if response.status_code >= 400:
            await response.aclose()
            self._raise_for(response, camera_id)

        async def body() -> AsyncGenerator[bytes, None]:
            try:
                async for chunk in response.aiter_raw():
                    yield chunk
            except httpx.HTTPError:
                return  # the device host went away: the wall reconnects
            finally:
                await response.aclose()

        return body()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def read_relay(file: Path) -> tuple[str, str] | None:
    """(url, key) from the relay file, or None when no device host relays cameras."""
    try:
        data = json.loads(file.read_text("utf-8"))
        return str(data["url"]), str(data["key"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
