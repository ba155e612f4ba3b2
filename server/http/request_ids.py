"""Request ids: one per HTTP request, taken from ``X-Request-ID`` when sane, sent back, put in every log line.

A reverse proxy that sets ``X-Request-ID`` (nginx ``$request_id``) makes its access log and
hallq's log share the id; otherwise hallq makes one. ``server/logs.py`` reads
``current_request_id`` into each log record.
"""

from __future__ import annotations

import contextvars
import re
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
_SANE = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")  # never echo a header that could forge log lines
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("hallq_request_id", default=None)


class RequestIdMiddleware:
    """Give each HTTP and websocket request an id, visible to logs and echoed as ``X-Request-ID``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope.get("headers") or () if name == HEADER), b"")
        request_id = given.decode() if _SANE.match(given) else secrets.token_hex(8)
        token = current_request_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)
