"""Privacy at the API: only masked identity data leaves the server; no raw ID number anywhere.

A card is laid on kiosk k1's reader (the real identity wiring), a ticket is taken with it,
called and served; then every answer, websocket message, log line, the audit export and the
database file are searched for the raw number and name. Ticket tokens stay with their holder.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from drivers.idcard.samples import SAMPLES
from server.kiosk.reading import CardReading

from .conftest import DEVICE

CARD = SAMPLES["elderly"]


def _wire_identity(client: TestClient, app: Any) -> None:
    """Lay the card on k1's reader: what the device host's reader wiring sends the kiosk service."""
    kiosks = app.state.services.kiosks
    client.portal.call(kiosks.card_placed, "k1", CardReading.from_card(CARD))  # type: ignore[union-attr]


def test_only_masked_identity_leaves_the_server(client: TestClient, app: Any, bearer: Any, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    raw = [CARD.id_number, CARD.name]
    seen: list[str] = []
    with client.websocket_connect("/ws") as ws:
        _wire_identity(client, app)
        ws.send_text(json.dumps({"op": "subscribe", "topics": ["hall", "window:1", "kiosk:k1"]}))
        seen += [ws.receive_text() for _ in range(3)]  # one snapshot (or error) per topic: now subscribed
        r = client.post("/api/kiosks/k1/tickets", headers=DEVICE["kiosk"], json={"service": "general"})
        assert r.status_code == 201, r.text
        ticket = r.json()
        assert ticket["masked_id"] == CARD.masked_id and ticket["masked_name"] == CARD.masked_name
        assert ticket["priority"] == "priority" and ticket["token"]  # the kiosk prints the QR code
        seen.append(r.text)
        clerk = bearer("clerk1", "clerk1-demo", window=1)
        for step in ("open", "call-next", "start", "finish"):
            r = client.post(f"/api/windows/1/{step}", headers=clerk)
            assert r.status_code == 200, r.text
            seen.append(r.text)
        for _ in range(200):  # events fan out after the answers: read until the last one arrived
            message = ws.receive_text()
            seen.append(message)
            if json.loads(message).get("type") == "ticket.finished":
                break
        else:
            raise AssertionError("no ticket.finished event")
    sup = bearer("supervisor", "supervisor-demo")
    answers = {
        "hall": client.get("/api/hall"),
        "ticket": client.get(f"/api/tickets/{ticket['id']}", headers=sup),
        "by_token": client.get(f"/api/tickets/by-token/{ticket['token']}"),
        "window": client.get("/api/windows/1", headers=clerk),
        "audit": client.get("/api/audit", headers=sup),
        "audit_csv": client.get("/api/audit.csv", headers=sup),
        "metrics": client.get("/metrics", headers=sup),
        "page": client.get(f"/t/{ticket['token']}"),
    }
    for name, response in answers.items():
        assert response.status_code in (200, 404), (name, response.text)
        seen.append(response.text)
    everything = "\n".join(seen) + "\n" + caplog.text
    for value in raw:
        assert value not in everything
    assert CARD.masked_name in answers["by_token"].text  # the person's own page shows the masked form
    db = Path(str(app.state.services.store.engine.url.database))
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert CARD.id_number.encode() not in stored and CARD.name.encode() not in stored


def test_ticket_tokens_stay_with_their_holder(client: TestClient, bearer: Any) -> None:
    kiosk = DEVICE["kiosk"]
    issued = client.post("/api/tickets", headers=kiosk, json={"service": "general", "kiosk": "k1"})
    assert issued.status_code == 201 and issued.json()["token"]
    token = issued.json()["token"]
    sup = bearer("supervisor", "supervisor-demo")
    with client.websocket_connect("/ws") as ws:
        ws.send_text(json.dumps({"op": "subscribe", "topics": ["hall", "window:2"]}))
        snapshots = [ws.receive_text() for _ in range(2)]  # subscribed before anything happens
        assert all(token not in m for m in snapshots)
        for step in ("open", "call-next"):
            assert client.post(f"/api/windows/2/{step}", headers=sup).status_code == 200
        messages: list[str] = []
        for _ in range(200):  # events fan out after the answers: read until the call arrived
            messages.append(ws.receive_text())
            if json.loads(messages[-1]).get("type") == "ticket.called":
                break
    assert '"ticket.called"' in messages[-1]
    leaks = [m[:200] for m in messages if token in m]
    assert leaks == [], "websocket messages carry the ticket token"
    for path, headers in (("/api/hall", {}), ("/api/windows/2", sup), (f"/api/tickets/{issued.json()['id']}", sup)):
        r = client.get(path, headers=headers)
        assert r.status_code == 200 and token not in r.text, path
    assert client.get(f"/api/tickets/by-token/{token}").json()["token"] == token


def test_answers_leave_tokens_out(app: Any) -> None:
    # no redaction layer exists: views carry no token, only the issue and by-token answers do
    with TestClient(app) as client:
        issued = client.post("/api/tickets", headers=DEVICE["kiosk"], json={"service": "general", "kiosk": "k1"})
        assert issued.status_code == 201 and issued.json()["token"]
        token, ticket_id = issued.json()["token"], issued.json()["id"]
        r = client.post("/api/auth/token", data={"username": "supervisor", "password": "supervisor-demo"})
        sup = {"Authorization": f"Bearer {r.json()['access_token']}"}
        answers = [client.post(f"/api/windows/2/{step}", headers=sup) for step in ("open", "call-next", "start")]
        answers += [client.get("/api/hall"), client.get("/api/windows/2", headers=sup),
                    client.get(f"/api/tickets/{ticket_id}", headers=sup)]
        for r in answers:
            assert r.status_code == 200 and token not in r.text, r.request.url
        assert client.get(f"/api/tickets/by-token/{token}").json()["token"] == token
