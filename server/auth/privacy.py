"""Privacy guards: a ticket's status-page token goes only to whoever issued or holds the ticket.

The token of ``/t/<token>`` is a capability (it lets its holder cancel or rate the ticket and
see its page), so it must not travel on public screens, clerk consoles or event streams.
The response models leave it out (``TicketOut``; only the issuing routes and the by-token
lookup answer ``HeldTicketOut``). ``TokenRedactionMiddleware`` is the guard behind them: it
removes ``token`` from every ticket in JSON answers under ``/api`` except those routes, and
costs a substring search when there is nothing to remove. ``strip_tokens`` does the same for
websocket messages.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# (method, path pattern) whose answers keep the token: whoever issues prints the QR code,
# and the by-token lookup is asked by the token's holder.
KEEP = (
    ("POST", re.compile(r"^/api/tickets/?$")),
    ("POST", re.compile(r"^/api/kiosks/[^/]+/tickets/?$")),
    ("GET", re.compile(r"^/api/tickets/by-token/[^/]+$")),
)
MAX_REWRITE = 4 * 1024 * 1024  # larger bodies pass unchanged (none of the ticket answers is near this)


def _is_ticket(d: dict[str, Any]) -> bool:
    return "number" in d and "state" in d


def strip_tokens(value: Any) -> Any:
    """A copy of ``value`` with ``token`` removed from every ticket-like dict (``number`` and ``state``)."""
    if isinstance(value, dict):
        return {k: strip_tokens(v) for k, v in value.items() if not (k == "token" and _is_ticket(value))}
    if isinstance(value, list):
        return [strip_tokens(v) for v in value]
    return value


def keeps_token(method: str, path: str) -> bool:
    """True for the routes whose answers may carry a ticket's token."""
    return any(method == m and p.match(path) for m, p in KEEP)


class TokenRedactionMiddleware:
    """Remove ticket tokens from JSON answers under ``/api`` (except issuing and by-token routes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/") or keeps_token(scope["method"], path):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        passthrough = False

        async def buffered(message: Message) -> None:
            nonlocal start, passthrough
            if passthrough:
                await send(message)
                return
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if not content_type.startswith(b"application/json"):
                    passthrough = True
                    await send(message)
                    return
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            assert start is not None
            if len(body) <= MAX_REWRITE and b'"token"' in body:  # rare: the models leave tokens out
                with contextlib.suppress(ValueError):
                    data = json.loads(body)
                    clean = strip_tokens(data)
                    if clean != data:
                        body = json.dumps(clean, ensure_ascii=False, separators=(",", ":")).encode()
                        kept = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                        start = {**start, "headers": [*kept, (b"content-length", str(len(body)).encode())]}
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered)
