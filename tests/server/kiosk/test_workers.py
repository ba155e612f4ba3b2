"""Two production apps on one SQLite file (two workers): the card session and its events are shared."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from drivers.idcard.samples import SAMPLES
from server.config import HallConfig
from server.kiosk.reading import CardReading
from tests.server.kiosk.conftest import hall_config
from tests.support import DEMO_DEVICE_HOST, DEMO_KIOSK_K1, make_app

pytestmark = pytest.mark.timeout(60)  # a websocket receive has no timeout of its own


def test_a_card_placed_through_one_worker_is_seen_by_the_other(demo_config: HallConfig, tmp_path: Path) -> None:
    config = hall_config(demo_config, tmp_path, devices=[])
    first = make_app(tmp_path, config, demo=True, event_poll_seconds=0.05)
    second = make_app(tmp_path, config, demo=True, event_poll_seconds=0.05)  # same tmp_path/hall.db
    with TestClient(first) as a, TestClient(second) as b, b.websocket_connect("/ws", headers=DEMO_KIOSK_K1) as ws:
        ws.send_json({"op": "subscribe", "topics": ["kiosk:k1"]})
        assert ws.receive_json()["data"] == {"session": None}
        body = CardReading.from_card(SAMPLES["elderly"]).model_dump(mode="json")
        assert a.put("/api/kiosks/k1/card", json=body, headers=DEMO_DEVICE_HOST).status_code == 204
        # worker b answers the kiosk page: the session is in the store, its event reaches b's sockets
        seen = b.get("/api/kiosks/k1/session", headers=DEMO_KIOSK_K1)
        assert seen.status_code == 200 and seen.json()["masked_name"] == "张*明"
        event = ws.receive_json()
        assert (event["type"], event["data"]["session_id"]) == ("identity.session", seen.json()["session_id"])
        ticket = b.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
        assert ticket.status_code == 201 and ticket.json()["priority"] == "priority"
        assert ticket.json()["masked_id"] == SAMPLES["elderly"].masked_id
        again = a.post("/api/kiosks/k1/tickets", json={"service": "general"}, headers=DEMO_KIOSK_K1)
        assert again.json()["code"] == "per_person_limit"  # the limits hold across workers too
        assert a.delete("/api/kiosks/k1/card", headers=DEMO_DEVICE_HOST).status_code == 204
        assert ws.receive_json()["type"] == "identity.ended"
        assert b.get("/api/kiosks/k1/session", headers=DEMO_KIOSK_K1).json()["code"] == "no_session"
