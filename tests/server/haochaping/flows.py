"""Serving and rating tickets through the API, as the tests of the 好差评 upload need them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from tests.support import DEMO_DEVICE_HOST

SECRET = "test-haochaping-secret"
AGENCY_CODE = "11330100MB0000000X"


def serve_and_rate(client: httpx.Client, *, window: int = 1, level: int = 5, source: str = "evaluator",
                   link: tuple[str, str] | None = None, reasons: Sequence[str] = (),
                   text: str | None = None) -> dict[str, Any]:
    """Issue a ticket, serve it at ``window`` (bound to ``link`` = (办件编号, 事项编码) while served), rate it."""
    r = client.post("/api/tickets", json={"service": "general"})
    assert r.status_code == 201, r.text
    ticket: dict[str, Any] = r.json()
    assert client.post(f"/api/windows/{window}/open", json={}).status_code in (200, 409)
    assert client.post(f"/api/windows/{window}/call-next").json()["id"] == ticket["id"]
    assert client.post(f"/api/windows/{window}/start").status_code == 200
    if link is not None:
        bound = client.post(f"/api/windows/{window}/case-link", json={"project_no": link[0], "item_code": link[1]})
        assert bound.status_code == 200, bound.text
    assert client.post(f"/api/windows/{window}/finish").status_code == 200
    body = {"level": level, "source": source, "reasons": list(reasons), "text": text}
    rated = client.post(f"/api/tickets/{ticket['id']}/rating", json=body, headers=DEMO_DEVICE_HOST)
    assert rated.status_code == 200, rated.text
    return ticket


def key_of(client: httpx.Client, ticket: dict[str, Any]) -> str:
    """The 评价编号 (idempotency key) the outbox gave the ticket's rating (its stable ``ratings.uid``)."""
    rows = client.get("/api/exports", params={"limit": 1000}).json()["exports"]
    (key,) = [row["key"] for row in rows if row["ticket_id"] == ticket["id"]]
    return str(key)
