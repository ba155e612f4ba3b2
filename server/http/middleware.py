"""ASGI middleware: request body size limit, security headers on every HTTP response, docs switch.

The API description (``/docs``, ``/redoc``, ``/openapi.json``) can be switched off in
production with ``HALLQ_AUTH_DOCS=0``: those paths then answer 404.
"""

from __future__ import annotations

import contextlib
import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY = 64 * 1024
# Pages are served by hallq itself: no CDN, no inline script, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; font-src 'self'; connect-src 'self' ws: wss:; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
# FastAPI's /docs and /redoc load their assets from a CDN: only frame protection there.
DOCS_CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'"
DOCS_PATHS = ("/docs", "/redoc")
HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    # /t/<token> links carry the ticket's capability: never leak them to other sites ("no-referrer"
    # would also make Chromium send "Origin: null" on same-site form posts, breaking sign-in)
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)


class _TooLarge(Exception):
    pass


def _problem(limit: int) -> bytes:
    return json.dumps({
        "type": "/problems/payload_too_large", "title": "Content Too Large", "status": 413,
        "detail": f"Request body larger than {limit} bytes", "code": "payload_too_large",
        "zh": "请求内容过大", "en": f"Request body larger than {limit} bytes",
    }, ensure_ascii=False).encode()


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_body`` bytes with 413 (declared length or streamed)."""

    def __init__(self, app: ASGIApp, max_body: int = DEFAULT_MAX_BODY,
                 wider: tuple[tuple[str, int], ...] = ()) -> None:
        self.app = app
        self.max_body = max_body
        # (path regex, limit): uploads that need more, e.g. staff photos (their route checks its own limit)
        self.wider = tuple((re.compile(pattern), limit) for pattern, limit in wider)

    def _limit(self, path: str) -> int:
        return next((limit for pattern, limit in self.wider if pattern.fullmatch(path)), self.max_body)

    async def _refuse(self, send: Send, limit: int | None = None) -> None:
        body = _problem(limit or self.max_body)
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_body = self._limit(scope.get("path", "")) if self.wider else self.max_body
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = max_body + 1
                if declared > max_body:
                    await self._refuse(send, max_body)
                    return
        seen = 0
        started = exceeded = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_body:
                    exceeded = True
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if exceeded:  # the app may have turned our exception into a 400: answer 413 instead
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, limited_receive, tracking_send)
        if exceeded and not started:
            await self._refuse(send, max_body)


API_DESCRIPTION = ("/docs", "/redoc", "/openapi.json")


def _docs_enabled(scope: Scope) -> bool:
    # read through the app (this module is a leaf and imports no auth code)
    services = getattr(getattr(scope.get("app"), "state", None), "services", None)
    settings = getattr(getattr(services, "auth", None), "settings", None)
    return bool(getattr(settings, "docs", True))


async def _not_found(send: Send) -> None:
    body = json.dumps({"type": "/problems/not_found", "title": "Not Found", "status": 404, "code": "not_found",
                       "zh": "页面不存在", "en": "Not found", "detail": "Not found"}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": 404, "headers": [
        (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
        *HEADERS, (b"content-security-policy", CSP.encode())]})
    await send({"type": "http.response.body", "body": body})


_EXTRA = ((b"content-security-policy", CSP.encode()), *HEADERS)  # encoded once, not per response
_DOCS_EXTRA = ((b"content-security-policy", DOCS_CSP.encode()), *HEADERS)


class SecurityHeadersMiddleware:
    """Add CSP, nosniff, same-origin referrers, frame denial and related headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith(API_DESCRIPTION) and not _docs_enabled(scope):
            await _not_found(send)
            return
        extra = _DOCS_EXTRA if path.startswith(DOCS_PATHS) else _EXTRA

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
