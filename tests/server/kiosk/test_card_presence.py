"""A card lying still after a read is one placement and one kiosk session, on a reader that answers
FIND with 80 after a read (the simulator's ``halt_after_read`` model), in the production app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.config import HallConfig
from tests.server.kiosk.conftest import hall_config
from tests.support import DEMO_KIOSK_K1, make_app, until_sync

READER = {"poll_interval": 0.02, "status_interval": 0.2, "reply_timeout": 0.3, "read_timeout": 0.6}
POLLS_IN_30_S = 60  # the default poll interval is 0.5 s


@pytest.fixture(params=["sim", "sim:pty"])
def client(request: pytest.FixtureRequest, demo_config: HallConfig, tmp_path: Path) -> Iterator[TestClient]:
    devices = [{"id": "idcard-k1", "kind": "idcard_reader", "driver": "sam", "url": request.param, "kiosk": "k1",
                "options": READER}]  # fmt: skip
    app = make_app(tmp_path, hall_config(demo_config, tmp_path, devices=devices), demo=True)
    with TestClient(app) as c:
        yield c


def manager(client: TestClient) -> Any:
    host = client.app.state.services.devices  # type: ignore[attr-defined]
    return getattr(host, "manager", host)


def session(client: TestClient) -> dict[str, Any] | None:
    r = client.get("/api/kiosks/k1/session", headers=DEMO_KIOSK_K1)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_card_lying_still_for_30_s_is_one_session(client: TestClient) -> None:
    devices = manager(client)
    until_sync(lambda: "idcard-k1" in devices.simulators and devices.devices["idcard-k1"].health.available)
    sim = manager(client).simulators["idcard-k1"]
    reader = manager(client).devices["idcard-k1"]
    sim.model = "halt_after_read"  # FIND answers 80 after a read while the card lies there
    client.portal.call(sim.act, "place_card", {"card": "elderly"})
    first = until_sync(lambda: session(client), timeout=8)
    start = sim.requests["find"]
    until_sync(lambda: sim.requests["find"] >= start + POLLS_IN_30_S, timeout=20)
    assert sim.state()["halted"]  # FIND said "no card" all this time
    assert session(client) == first  # the same session (same session_id), never ended and opened again
    assert reader.reads == 1 and sim.requests["read"] == 1
    client.portal.call(sim.act, "remove_card", {})
    until_sync(lambda: session(client) is None, timeout=8)  # lifting the card still ends it
