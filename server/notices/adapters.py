"""The notifier port and its adapters: log only (demo), an HTTP SMS gateway (政务短信平台).

The GSM modem is not an adapter here: the device host that owns the modem claims the modem
notices itself (server/notices/modem.py). An adapter's ``send`` returns the gateway's
message references (or None) and raises :class:`Rejected` when the message itself is refused
(no retry: the error is shown to supervisors) or :class:`Transient` when it may work later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from typing import TYPE_CHECKING, Protocol

from server.config import SmsGatewayConfig
from server.notices.outbox import Notice

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("hallq.notices")


class Rejected(Exception):
    """The channel refused this message (bad number, content, signature): do not retry."""


class Transient(Exception):
    """The channel could not take the message now (offline, 5xx, timeout): retry later."""


class Notifier(Protocol):
    """Sends one notice to one full number."""

    channel: str

    async def send(self, notice: Notice, phone: str) -> str | None: ...

    async def close(self) -> None: ...


class LogNotifier:
    """Writes each notice to the log (masked number only): the demo's channel."""

    channel = "log"

    def __init__(self) -> None:
        self.sent: list[Notice] = []

    async def send(self, notice: Notice, phone: str) -> str | None:
        """Log and keep the notice."""
        log.info("SMS %s to %s: %s", notice.kind, notice.masked, notice.text)
        self.sent.append(notice)
        return None

    async def close(self) -> None:
        """Nothing to release."""


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256(secret, "<unix>." + body)>`` — the receiver recomputes it."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class HttpGatewayNotifier:
    """POSTs a JSON body built from ``body_template`` to ``url``, signed with HMAC-SHA256."""

    channel = "http"

    def __init__(self, settings: SmsGatewayConfig, hall_name: str, *, client: httpx.AsyncClient | None = None,
                 secret: bytes | None = None) -> None:
        self.settings = settings
        self.hall_name = hall_name
        self.secret = secret if secret is not None else os.environ.get(settings.secret_env, "").encode()
        import httpx  # loaded on use: httpx pulls in its CLI (rich, pygments); bench/bench_footprint.py

        self.client = client or httpx.AsyncClient(timeout=settings.timeout_s)

    def body(self, notice: Notice, phone: str) -> bytes:
        """The request body: every template value formatted with mobile, text, id, kind, hall."""
        fields = {"mobile": phone, "text": notice.text, "id": str(notice.id), "kind": notice.kind,
                  "hall": self.hall_name}
        values = {name: template.format_map(_Safe(fields)) for name, template in self.settings.body_template.items()}
        return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()

    async def send(self, notice: Notice, phone: str) -> str | None:
        """One POST; 2xx with no error code → sent, 4xx or an error code → Rejected, else Transient."""
        if not self.settings.url:
            raise Rejected("notices.http.url is not configured")
        import httpx

        body = self.body(notice, phone)
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Idempotency-Key": f"hallq-notice-{notice.id}"}
        if self.secret:
            headers[self.settings.signature_header] = signature(self.secret, str(int(time.time())), body)
        try:
            response = await self.client.post(self.settings.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise Transient(f"gateway unreachable: {type(exc).__name__}: {exc}") from None
        text = response.text[:300]
        if response.status_code >= 500 or response.status_code == 429:
            raise Transient(f"gateway HTTP {response.status_code}: {text}")
        if response.status_code >= 400:
            raise Rejected(f"gateway HTTP {response.status_code}: {text}")
        try:
            answer = response.json()
        except ValueError:
            return None
        if isinstance(answer, dict):
            code = answer.get("code", 0)
            if answer.get("ok") is False or answer.get("success") is False or str(code) not in ("0", "OK", "ok", "200"):
                raise Rejected(f"gateway refused: {json.dumps(answer, ensure_ascii=False)[:300]}")
            ref = answer.get("msgid") or answer.get("id")
            return str(ref)[:64] if ref is not None else None
        return None

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()


class _Safe(dict[str, str]):
    """``format_map`` that leaves unknown ``{fields}`` as they are (a template typo is not a crash)."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
