"""绿色通道 on every issuing route: a configured reason and the grantor's audit record, written with the ticket."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from server.store.tables import tickets
from tests.server.console.conftest import ok
from tests.server.console.test_proxy_issue import audit_of
from tests.support import demo_bearer


def greens(client: TestClient) -> int:
    """How many green tickets the store holds."""
    store = client.app.state.services.store  # type: ignore[attr-defined]
    with store._read() as conn:
        return int(conn.execute(select(func.count()).select_from(tickets).where(tickets.c.priority == "green"))
                   .scalar_one())


@pytest.mark.parametrize("reason", [None, "", "agent", "vip"])
def test_plain_route_refuses_green_without_a_configured_reason(client: TestClient, reason: str | None) -> None:
    body: dict[str, Any] = {"service": "general", "priority": "green", "channel": "staff"}
    if reason is not None:
        body["green_reason"] = reason
    r = client.post("/api/tickets", headers=demo_bearer(client, "supervisor"), json=body)
    assert r.status_code == 422, r.text
    code = r.json()["code"]
    if reason in (None, ""):
        assert code == "green_reason_required" and r.json()["use"] == "/api/console/tickets"
        assert "key_project" in r.json()["allowed"]
    else:  # a 代取号 reason or an unknown one is not a 绿色通道 reason
        assert code == "unknown_console_reason"
    assert greens(client) == 0


def test_plain_route_green_is_audited_with_reason_and_grantor(client: TestClient) -> None:
    t = ok(client.post("/api/tickets", headers=demo_bearer(client, "supervisor"),
                       json={"service": "general", "priority": "green", "channel": "staff",
                             "green_reason": "urgent"}), 201)
    assert t["priority"] == "green"
    record = audit_of(client, t["id"], "console.green_grant")
    d = record["detail"]
    assert record["actor"] == "supervisor:supervisor" and d["grantor"] == "supervisor:supervisor"
    assert d["reason"] == "urgent" and d["reason_zh"] == "急事急办" and d["number"] == t["number"]
    assert d["route"] == "/api/tickets"
    # a normal ticket on the same route writes no grant
    n = ok(client.post("/api/tickets", headers=demo_bearer(client, "supervisor"),
                       json={"service": "general", "channel": "staff"}), 201)
    items = ok(client.get("/api/audit", params={"ticket": n["id"]}))["items"]
    assert not [i for i in items if i["action"] == "console.green_grant"]


def test_a_failed_audit_write_leaves_no_green_ticket(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record is in the issuing transaction: when it cannot be written, the ticket is not taken either."""
    auth = client.app.state.services.auth  # type: ignore[attr-defined]

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit table unavailable")

    headers = demo_bearer(client, "supervisor")
    monkeypatch.setattr(auth, "audit", broken)
    quiet = TestClient(client.app, raise_server_exceptions=False)  # the running app (no second lifespan)
    for path, body in (("/api/tickets", {"service": "general", "priority": "green", "channel": "staff",
                                         "green_reason": "urgent"}),
                       ("/api/console/tickets", {"service": "general", "priority": "green", "reason": "urgent"})):
        r = quiet.post(path, headers=headers, json=body)
        assert r.status_code == 500, (path, r.text)
    assert greens(client) == 0
