"""End to end in the production app: reader simulator (socket and pty) → SAM driver → reader wiring →
store-backed session → the kiosk route → print job → printer simulator.

Also the privacy check: after the flow the raw ID number and name appear neither in the
SQLite files, nor in the logs (DEBUG), nor in any answer or websocket message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from drivers.idcard.samples import SAMPLES
from server.config import HallConfig
from tests.server.kiosk.conftest import hall_config
from tests.support import DEMO_KIOSK_K1, make_app, until_sync

READER = {"poll_interval": 0.03, "status_interval": 0.2, "reply_timeout": 0.3, "read_timeout": 0.6}
PRINTER = {"encoding": "gb18030", "paper_mm": 80, "status_timeout": 0.3, "poll_interval": 0.1}
SECRETS = [SAMPLES[k].id_number for k in ("elderly", "young", "bad_check")] + [SAMPLES["elderly"].name]
K2 = {"Authorization": "Bearer hqd_demo-kiosk-k2"}
pytestmark = pytest.mark.timeout(60)  # a websocket receive has no timeout of its own


@pytest.fixture
def client(demo_config: HallConfig, tmp_path: Path) -> Iterator[TestClient]:
    """The production app in demo mode with readers at k1 (TCP) and k2 (pty) and a printer at k1."""
    devices = [
        {"id": "idcard-k1", "kind": "idcard_reader", "driver": "sam", "url": "sim", "kiosk": "k1", "options": READER},
        {"id": "idcard-k2", "kind": "idcard_reader", "driver": "sam", "url": "sim:pty", "kiosk": "k2",
         "options": READER},
        {"id": "printer-k1", "kind": "ticket_printer", "driver": "escpos", "url": "sim", "kiosk": "k1",
         "options": PRINTER},
    ]
    app = make_app(tmp_path, hall_config(demo_config, tmp_path, devices=devices), demo=True)
    with TestClient(app) as c:
        yield c


def manager(client: TestClient) -> Any:
    """The in-process device manager (inside its device host)."""
    host = client.app.state.services.devices  # type: ignore[attr-defined]
    return getattr(host, "manager", host)


def act(client: TestClient, device: str, action: str, **params: Any) -> None:
    """Work a simulator on the app's event loop."""
    client.portal.call(manager(client).simulators[device].act, action, params)  # type: ignore[union-attr]


def session(client: TestClient, kiosk: str, headers: dict[str, str]) -> dict[str, Any] | None:
    """The kiosk's session as its page reads it (None: 404 no_session)."""
    r = client.get(f"/api/kiosks/{kiosk}/session", headers=headers)
    if r.status_code == 404:
        assert r.json()["code"] == "no_session"
        return None
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_card_to_printed_ticket(client: TestClient, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with client.websocket_connect("/ws", headers=DEMO_KIOSK_K1) as ws:
        ws.send_json({"op": "subscribe", "topics": ["kiosk:k1"]})
        snapshot = ws.receive_json()
        assert (snapshot["type"], snapshot["topic"], snapshot["data"]) == ("snapshot", "kiosk:k1", {"session": None})
        assert session(client, "k1", DEMO_KIOSK_K1) is None
        until_sync(lambda: len(manager(client).devices_of_kind("idcard_reader")) == 2)

        # an 80-year-old lays the card on k1: the page hears the session, the ticket is priority and printed
        act(client, "idcard-k1", "place_card", card="elderly")
        body = until_sync(lambda: session(client, "k1", DEMO_KIOSK_K1), timeout=8)
        assert isinstance(body, dict)
        assert (body["masked_name"], body["priority"], body["age"]) == ("张*明", "priority", 80)
        while True:
            message = ws.receive_json()
            texts.append(repr(message))
            if message.get("type") == "identity.session":
                break
        assert message["data"]["masked_name"] == "张*明"
        r = client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
        assert r.status_code == 201, r.text
        ticket = r.json()
        texts.append(r.text)
        assert ticket["priority"] == "priority" and ticket["masked_id"] == SAMPLES["elderly"].masked_id
        assert ticket["print"]["printed"] is True
        printer = manager(client).simulators["printer-k1"]
        assert printer.printed == 1 and ticket["number"] in printer.ticket()["text"]
        again = client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
        assert again.status_code == 403 and again.json()["code"] == "per_person_limit"

        # lifting the card ends the session; a ticket without a card still works
        act(client, "idcard-k1", "remove_card")
        until_sync(lambda: session(client, "k1", DEMO_KIOSK_K1) is None, timeout=8)
        plain = client.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
        assert plain.status_code == 201 and plain.json()["masked_id"] is None

        # a young adult on the pty reader at k2
        act(client, "idcard-k2", "place_card", card="young")
        young = until_sync(lambda: session(client, "k2", K2), timeout=8)
        assert isinstance(young, dict) and young["priority"] == "normal" and young["masked_name"] == "李*"

        # a card with a bad check digit is refused: no session
        act(client, "idcard-k1", "place_card", card="bad_check")
        until_sync(lambda: manager(client).simulators["idcard-k1"].requests["read"] >= 2, timeout=8)
        assert session(client, "k1", DEMO_KIOSK_K1) is None
    for db in tmp_path.glob("hall.db*"):
        blob = db.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in blob and secret.encode("utf-16-le") not in blob, secret
    for secret in SECRETS:
        assert secret not in caplog.text and all(secret not in t for t in texts), secret
