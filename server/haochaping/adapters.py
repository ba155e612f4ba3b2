"""Adapters to a provincial 好差评 system: one per province (entry points), and the generic one.

A province's adapter is a class registered in the entry point group ``hallq.haochaping``
(like the device drivers in ``hallq.drivers``)::

    [project.entry-points."hallq.haochaping"]
    zhejiang = "hallq_zj.haochaping:ZhejiangAdapter"

It is built with the ``ExportSettings`` and implements ``send(key, record)``: return on
success, raise ``Rejected`` when the system refuses this record (parked, not retried) and
``Unavailable`` when it cannot take it now (retried with backoff).
"""

from __future__ import annotations

import json
import time
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

from server.haochaping.settings import ExportSettings
from server.haochaping.signing import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

if TYPE_CHECKING:
    import httpx

GROUP = "hallq.haochaping"


class Rejected(Exception):
    """The receiving system refused this record (its fault, not the link's): park it."""


class Unavailable(Exception):
    """The receiving system could not take the record now (down, 5xx, timeout): retry later."""


class Adapter(Protocol):
    """What the sender needs of an adapter."""

    async def send(self, key: str, record: dict[str, Any]) -> None:
        """Deliver one record; ``Rejected`` or ``Unavailable`` on failure."""

    async def aclose(self) -> None:
        """Release connections."""


class GenericAdapter:
    """POST the record as JSON to ``HALLQ_HAOCHAPING_URL``, signed with HMAC-SHA256.

    Headers: ``Idempotency-Key`` (the record's 评价编号; the receiver must treat a repeat as
    success), ``X-Hallq-Timestamp`` (Unix seconds) and ``X-Hallq-Signature``
    (``sha256=<hex>`` over ``timestamp + "." + body``, see ``server/haochaping/signing.py``).
    2xx and 409 (already have it) are delivered; other 4xx park the record; 5xx, 429 and
    transport errors are retried.
    """

    def __init__(self, settings: ExportSettings, client: httpx.AsyncClient | None = None) -> None:
        if not settings.url:
            raise ValueError("the generic 好差评 adapter needs HALLQ_HAOCHAPING_URL")
        self.url = settings.url
        self.secret = settings.secret.get_secret_value().encode()
        import httpx  # loaded on use: httpx pulls in its CLI (rich, pygments); bench/bench_footprint.py

        self.client = client or httpx.AsyncClient(timeout=settings.timeout_s)

    async def send(self, key: str, record: dict[str, Any]) -> None:
        """POST one record."""
        import httpx

        body = json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json; charset=utf-8", KEY_HEADER: key,
                   TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(self.secret, stamp, body)}
        try:
            response = await self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status < 300 or status == 409:
            return
        detail = f"HTTP {status}: {response.text[:300]}"
        if 400 <= status < 500 and status not in (408, 429):
            raise Rejected(detail)
        raise Unavailable(detail)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()


def load_adapter(settings: ExportSettings) -> Adapter:
    """The adapter named by ``HALLQ_HAOCHAPING_ADAPTER``: ``generic`` or an entry point of ``hallq.haochaping``."""
    if settings.adapter == "generic":
        return GenericAdapter(settings)
    found = [ep for ep in entry_points(group=GROUP) if ep.name == settings.adapter]
    if not found:
        known = sorted({"generic", *(ep.name for ep in entry_points(group=GROUP))})
        raise ValueError(f"no 好差评 adapter {settings.adapter!r}; known: {', '.join(known)}")
    adapter: Adapter = found[0].load()(settings)
    return adapter
