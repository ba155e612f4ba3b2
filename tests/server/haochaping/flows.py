"""Serving and rating tickets through the API, as the tests of the 好差评 upload need them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.support import DEMO_DEVICE_HOST

SECRET = "test-haochaping-secret"
AGENCY_CODE = "11330100MB0000000X"


def serve_and_rate(client: httpx.Client, *, window: int = 1, level: int = 5, source: str = "evaluator",
                   link: tuple[str, str] | None = None,
                   before_rating: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
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
    if before_rating is not None:
        before_rating(ticket)
    rated = client.post(f"/api/tickets/{ticket['id']}/rating", json={"level": level, "source": source},
                        headers=DEMO_DEVICE_HOST)
    assert rated.status_code == 200, rated.text
    return ticket


def key_of(ticket: dict[str, Any]) -> str:
    """The 评价编号 / idempotency key the sender gives the ticket's rating (agency code from the fixture)."""
    return f"{AGENCY_CODE}-T{ticket['id']}-R"
