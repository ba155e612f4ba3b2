"""Transport limits of ``hallq serve``: the uvicorn options that keep slow or greedy clients out.

* request headers must arrive within ``HALLQ_AUTH_HEADER_TIMEOUT_SECONDS`` (and a body within
  twice that), idle keep-alive connections close after ``HALLQ_AUTH_KEEP_ALIVE_SECONDS``:
  half-sent requests (slowloris) cannot hold file descriptors;
* at most ``HALLQ_AUTH_CONNECTIONS_PER_ADDRESS`` open connections per client address, and
  ``HALLQ_AUTH_MAX_CONNECTIONS`` in all (uvicorn ``limit_concurrency``: 503 beyond);
* websocket frames above 16 KiB are refused by uvicorn (close 1009) before they are buffered;
* ``X-Forwarded-For`` / ``-Proto`` are believed only from the proxies named by
  ``HALLQ_AUTH_TRUST_PROXY`` (uvicorn's ``forwarded_allow_ips``; default: none).
"""

from __future__ import annotations

import asyncio
import functools
import os
import weakref
from collections import Counter
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from server.auth.service import AuthSettings
from server.auth.wsframes import FRAME_WRITER
from server.auth.wsguard import MAX_FRAME

# headers (and whatever body arrived in the same reads) beyond this close the connection with 431
MAX_HEADER_BYTES = 256 * 1024
TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\n"
             b"connection: close\r\ncontent-length: 25\r\n\r\nrequest headers too large")


# open connections per client address, per server: counted as they come and go (a scan of every
# connection on every connect was O(n²) when 1,000 hall displays connect at once)
_HELD: weakref.WeakKeyDictionary[Any, Counter[str]] = weakref.WeakKeyDictionary()


class _Held:
    """One connection's place in its server's per-address count, released exactly once."""

    def __init__(self, counts: Counter[str], address: str) -> None:
        self.counts, self.address = counts, address
        counts[address] += 1

    @property
    def count(self) -> int:
        return self.counts[self.address]

    def release(self) -> None:
        if self.counts is not None:
            self.counts[self.address] -= 1
            if self.counts[self.address] <= 0:
                del self.counts[self.address]
            self.counts = None  # type: ignore[assignment]


@functools.cache
def _settings() -> AuthSettings:
    # read in each worker process (uvicorn spawns workers; class attributes would not travel)
    return AuthSettings()


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header/body deadline and a per-address connection cap."""

    settings: AuthSettings | None = None  # tests set it; else the environment's

    def _limits(self) -> AuthSettings:
        return self.settings or _settings()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Count the connection; refuse it when its address holds too many already."""
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        address = _address(self)
        self._held: _Held | None = None
        if address is not None:
            self._held = _Held(_HELD.setdefault(self.server_state, Counter()), address)
            if self._held.count > self._limits().connections_per_address:
                transport.close()  # connection_lost releases the count
                return
        self._header_bytes = 0
        self._in_headers = True
        self._arm(self._limits().header_timeout_seconds)

    def data_received(self, data: bytes) -> None:
        """Refuse requests whose headers run past ``MAX_HEADER_BYTES`` (1 MB tokens, endless headers)."""
        if getattr(self, "_in_headers", False):
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._in_headers = False
                if not self.transport.is_closing():
                    self.transport.write(TOO_LARGE)
                    self.transport.close()
                return
        super().data_received(data)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        deadline = getattr(self, "_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def on_message_begin(self) -> None:
        """A new request on this connection: its headers must arrive in time."""
        super().on_message_begin()
        if not getattr(self, "_in_headers", False):
            self._in_headers, self._header_bytes = True, 0
        if getattr(self, "_deadline", None) is None:
            self._arm(self._limits().header_timeout_seconds)

    def on_headers_complete(self) -> None:
        """Headers are in: the body gets its own deadline (a websocket upgrade none)."""
        self._disarm()
        self._in_headers = False
        super().on_headers_complete()
        if not (self.parser.should_upgrade() and self._should_upgrade()) and not self.transport.is_closing():
            self._arm(2 * self._limits().header_timeout_seconds)

    def on_message_complete(self) -> None:
        """The whole request arrived."""
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        """Hand the connection, and its place in the per-address count, to the websocket protocol."""
        super().handle_websocket_upgrade()
        held, self._held = getattr(self, "_held", None), None
        protocol = self.transport.get_protocol()
        if isinstance(protocol, FanoutWebSocketProtocol) and protocol.held is None:
            protocol.held = held
        elif held is not None:
            held.release()  # another websocket class: it is not counted (server/auth/wsguard.py caps those)

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline and the connection's count."""
        self._disarm()
        held = getattr(self, "_held", None)
        if held is not None:
            held.release()
        super().connection_lost(exc)


class FanoutWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol that also takes ready-made server frames (one fan-out pass).

    A call reaching 1,000 hall displays would otherwise frame the same text 1,000 times in
    ``send``; ``server/api/ws.py`` builds each distinct frame once and hands the bytes here.
    """

    held: _Held | None = None  # this connection's per-address count, from GuardedHttpProtocol

    def connection_lost(self, exc: Exception | None) -> None:
        """Release the per-address count."""
        if self.held is not None:
            self.held.release()
        super().connection_lost(exc)

    def handle_connect(self, event: Any) -> None:
        """Accept as uvicorn does, then offer the writer to the app in the scope's extensions."""
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if isinstance(scope, dict) and not self.conn.extensions and not self.config.ws_per_message_deflate:
            scope["extensions"][FRAME_WRITER] = self.write_frame

    def write_frame(self, frame: bytes) -> bool:
        """Write one complete server frame now; False (nothing written) when ``send`` must be used instead.

        Refused while the protocol has its own output pending, the handshake or close is under
        way, or the transport is paused above its high-water mark (a slow reader): then the
        caller queues, and the queue's bound turns a stalled reader into a resync.
        """
        if (self.close_sent or self.disconnected or not self.handshake_complete or self.initial_response is not None
                or not self.writable.is_set() or self.conn.state is not State.OPEN or self.conn.writes
                or self.conn.expect_continuation_frame or self.transport.is_closing()):
            return False
        self.transport.write(frame)
        return True


def _address(protocol: object) -> str | None:
    client = getattr(protocol, "client", None)
    return str(client[0]) if isinstance(client, tuple) and client else None


PRIVATE_UMASK = 0o077


def restrict_files() -> int:
    """Make every file the server creates private (0600/0700): the SQLite file, its WAL, evidence photos.

    The database holds ticket rows and the audit trail; snapshots show the counter. Called by
    ``hallq serve`` before the workers start (they inherit it). Returns the previous umask.
    """
    return os.umask(PRIVATE_UMASK)


def uvicorn_options(settings: AuthSettings | None = None) -> dict[str, Any]:
    """The security-relevant keyword arguments of ``uvicorn.run`` / ``uvicorn.Config``."""
    s = settings or _settings()
    proxies = [p.strip() for p in s.trust_proxy.split(",") if p.strip()]
    return {
        "http": GuardedHttpProtocol,
        "ws": FanoutWebSocketProtocol,
        "ws_max_size": MAX_FRAME,
        # no permessage-deflate: with context takeover every frame is compressed once per client (a
        # call to 1,000 hall displays = 1,000 zlib runs) and each connection keeps ~300 KB of zlib
        # state; the frames are a few KB on the hall's own network (bench/bench_fanout.py)
        "ws_per_message_deflate": False,
        "ws_max_queue": 8,
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies,
        "timeout_keep_alive": s.keep_alive_seconds,
        "limit_concurrency": s.max_connections,
        "h11_max_incomplete_event_size": 16 * 1024,
        "server_header": False,
    }
