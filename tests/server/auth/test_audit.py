"""The audit trail: administrative changes and ticket transitions, for supervisors only; append-only."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[3]


def test_audit_merges_admin_changes_and_ticket_transitions(client: TestClient, app: Any, bearer: Any) -> None:
    admin = bearer("admin", "admin-demo")
    r = client.post("/api/accounts", headers=admin, json={"username": "A0999", "name": "新同事", "role": "clerk",
                                                            "window": 5})
    assert r.status_code == 201 and r.json()["one_time_password"]
    store = app.state.services.store
    ticket = store.issue("general", actor="kiosk:k1").value.ticket
    store.open_window(1, actor="clerk:clerk1@1")
    store.call_next(1, actor="clerk:clerk1@1")
    store.finish(1, actor="clerk:clerk1@1")

    sup = bearer("supervisor", "supervisor-demo")
    page = client.get("/api/audit", headers=sup).json()
    actions = [i["action"] for i in page["items"]]
    assert "account.created" in actions and "ticket.issue" in actions
    created = next(i for i in page["items"] if i["action"] == "account.created")
    assert created["actor"] == "admin:admin" and created["ip"] and created["detail"]["username"] == "A0999"
    assert page["items"] == sorted(page["items"], key=lambda i: i["at"])

    mine = client.get("/api/audit", headers=sup, params={"ticket": ticket.id}).json()["items"]
    assert mine and all(i["target"] == f"ticket:{ticket.id}" for i in mine)
    assert [i["actor"] for i in mine] == ["kiosk:k1"] + ["clerk:clerk1@1"] * (len(mine) - 1)
    assert next(i["detail"]["to_state"] for i in mine) == "issued" and mine[-1]["detail"]["to_state"] == "done"

    by_clerk = client.get("/api/audit", headers=sup, params={"actor": "clerk:clerk1"}).json()["items"]
    assert by_clerk and all(i["actor"].startswith("clerk:clerk1") for i in by_clerk)
    assert client.get("/api/audit", headers=sup, params={"from": "2000-01-01", "to": "2000-01-02"}).json()["count"] == 0
    assert client.get("/api/audit", headers=sup, params={"from": "yesterday"}).status_code == 400

    r = client.get("/api/audit.csv", headers=sup, params={"ticket": ticket.id})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["at", "source", "actor"] and len(rows) == len(mine) + 1
    exported = client.get("/api/audit", headers=sup, params={"actor": "supervisor:"}).json()["items"]
    assert any(i["action"] == "audit.export" for i in exported)  # exporting is itself recorded


def test_audit_is_for_supervisors(client: TestClient, bearer: Any) -> None:
    clerk = bearer("clerk1", "clerk1-demo")
    assert client.get("/api/audit", headers=clerk).status_code == 403
    assert client.get("/api/audit.csv", headers={"Authorization": "Bearer hqd_demo-display-hall"}).status_code == 403
    assert client.get("/api/audit").status_code == 401
    assert client.get("/api/audit", headers=bearer("admin", "admin-demo")).status_code == 200


def test_code_never_changes_audit_rows() -> None:
    pattern = re.compile(r"(update|delete)\(\s*audit_log|UPDATE\s+audit_log|DELETE\s+FROM\s+audit_log", re.I)
    offenders = [str(p) for p in (ROOT / "server").rglob("*.py")
                 if "migrations" not in p.parts and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_postgres_refuses_audit_updates(postgres_db_url: str, demo_config: Any) -> None:
    import sqlalchemy as sa

    from server.auth.tables import audit_log
    from server.store import QueueStore

    store = QueueStore(postgres_db_url, demo_config)
    try:
        store.migrate()
        with store.engine.begin() as conn:
            conn.execute(audit_log.insert(), {"at": 1, "actor": "t", "role": "admin", "ip": "127.0.0.1",
                                              "action": "x", "target": None, "detail": "{}"})
        for stmt in (sa.update(audit_log).values(actor="someone else"), sa.delete(audit_log)):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
                conn.execute(stmt)
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(audit_log.c.actor)).scalars().all() == ["t"]
    finally:
        store.close()
