"""A kiosk's serial QR scanner (simulator) → driver → scanner wiring → ``code.scanned`` on the kiosk's topic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.config import HallConfig
from tests.support import DEMO_KIOSK_K1, make_app, until_sync

pytestmark = pytest.mark.timeout(60)
SCANNER = {"id": "scanner-k1", "kind": "code_scanner", "driver": "serial_scanner", "url": "sim", "kiosk": "k1"}


@pytest.fixture
def client(demo_config: HallConfig, tmp_path: Path) -> Iterator[TestClient]:
    raw = demo_config.model_dump()
    raw["devices"] = [SCANNER]
    raw["server"]["secret_path"] = str(tmp_path / "secret.key")
    with TestClient(make_app(tmp_path, HallConfig.model_validate(raw), demo=True)) as c:
        yield c


def manager(client: TestClient) -> Any:
    host = client.app.state.services.devices  # type: ignore[attr-defined]
    return getattr(host, "manager", host)


def test_a_scan_reaches_the_kiosk_page(client: TestClient) -> None:
    until_sync(lambda: manager(client).health(manager(client).device("scanner-k1")).available, timeout=10)
    sim = manager(client).simulators["scanner-k1"]
    until_sync(lambda: sim.state()["connected"], timeout=10)
    with client.websocket_connect("/ws", headers=DEMO_KIOSK_K1) as ws:
        ws.send_json({"op": "subscribe", "topics": ["kiosk:k1"]})
        assert ws.receive_json()["type"] == "snapshot"
        client.portal.call(sim.act, "scan", {"text": "https://hall.example/book#code=7K3PQ2MX"})  # type: ignore[union-attr]
        while True:
            message = ws.receive_json()
            if message.get("type") == "code.scanned":
                break
    assert message["data"] == {"kiosk": "k1", "device": "scanner-k1", "text": "https://hall.example/book#code=7K3PQ2MX",
                               "symbology": None}
