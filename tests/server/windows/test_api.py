"""The stored window follow-ups over HTTP (what a remote device host asks): rating-due and call-backs.

Also: through the production app, a full ticket life leaves no ticket token in the events table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from server.config import HallConfig
from server.store.tables import events
from tests.support import DEMO_DEVICE_HOST, DEMO_DISPLAY_HALL, demo_bearer, make_app


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def test_rating_due_and_call_backs_for_devices_and_the_clerk(tmp_path: Path, demo_config: HallConfig) -> None:
    with TestClient(make_app(tmp_path, demo_config.model_copy(update={"devices": []}))) as client:
        clerk = demo_bearer(client, "clerk1", window=1)
        sup = demo_bearer(client, "supervisor")
        device = DEMO_DEVICE_HOST
        first = _ok(client.post("/api/tickets", headers=sup, json={"service": "general"}), 201)
        second = _ok(client.post("/api/tickets", headers=sup, json={"service": "general"}), 201)
        _ok(client.post("/api/windows/1/open", headers=clerk))
        assert _ok(client.get("/api/windows/1/rating-due", headers=device)) is None
        _ok(client.post("/api/windows/1/call-next", headers=clerk))
        _ok(client.post("/api/windows/1/finish", headers=clerk))
        for who in (device, clerk):
            due = _ok(client.get("/api/windows/1/rating-due", headers=who))
            assert due["id"] == first["id"] and "token" not in due
        _ok(client.post("/api/windows/1/call-next", headers=clerk))
        _ok(client.post("/api/windows/1/no-show", headers=clerk))
        backs = _ok(client.get("/api/windows/1/call-backs", headers=device))
        assert [t["id"] for t in backs] == [second["id"]] and "token" not in backs[0]
        assert _ok(client.get("/api/windows/1/call-backs", headers=clerk))[0]["state"] == "no_show"
        # a screen may not ask; a clerk of another window may not either
        assert client.get("/api/windows/1/call-backs", headers=DEMO_DISPLAY_HALL).status_code == 403
        other = demo_bearer(client, "clerk2", window=2)
        assert client.get("/api/windows/1/rating-due", headers=other).status_code == 403


def test_no_token_in_the_events_table_after_a_full_flow(tmp_path: Path, demo_config: HallConfig) -> None:
    app = make_app(tmp_path, demo_config.model_copy(update={"devices": []}))
    with TestClient(app) as client:
        sup = demo_bearer(client, "supervisor")
        issued = [_ok(client.post("/api/tickets", headers=sup, json={"service": "general"}), 201) for _ in range(4)]
        tokens = [t["token"] for t in issued]
        assert all(tokens)  # the issuing answer hands the token out
        assert _ok(client.get(f"/api/tickets/by-token/{tokens[0]}"))["token"] == tokens[0]
        for step in ("open", "call-next", "start", "finish"):
            _ok(client.post(f"/api/windows/1/{step}", headers=sup))
        _ok(client.post(f"/api/tickets/{issued[0]['id']}/rating", headers={"X-Ticket-Token": tokens[0]},
                        json={"level": 1}))
        for step in ("call-next", "start"):
            _ok(client.post(f"/api/windows/1/{step}", headers=sup))
        _ok(client.post("/api/windows/1/transfer", headers=sup, json={"to_service": "hukou"}))
        _ok(client.post(f"/api/tickets/{issued[2]['id']}/cancel", headers={"X-Ticket-Token": tokens[2]}))
        for step in ("call-next", "suspend"):
            _ok(client.post(f"/api/windows/1/{step}", headers=sup))
        with app.state.services.store.engine.connect() as conn:
            rows = conn.execute(select(events)).all()
    kinds = {r.type for r in rows}
    assert {"ticket.issued", "ticket.called", "ticket.finished", "ticket.rated", "ticket.transferred",
            "ticket.cancelled", "ticket.suspended"} <= kinds, kinds
    for row in rows:
        for token in tokens:
            assert token not in row.data and token not in row.topics, row.type
