"""代取号 printed on the 导办台's own printer (a kiosk entry with a ticket printer) by the real device host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from drivers.idcard.samples import SAMPLES
from server.config import HallConfig
from tests.support import demo_bearer, make_app, until_sync

PRINTER = {"encoding": "gb18030", "paper_mm": 80, "status_timeout": 0.3, "poll_interval": 0.1}
READER = {"poll_interval": 0.03, "status_interval": 0.2, "reply_timeout": 0.3, "read_timeout": 0.6}
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def client(demo_config: HallConfig, tmp_path: Path) -> Iterator[TestClient]:
    """Demo mode with a desk (导办台) whose ticket printer is the ESC/POS simulator."""
    raw = demo_config.model_dump()
    raw["kiosks"].append({"id": "desk", "name": "导办台", "services": []})
    raw["devices"] = [{"id": "printer-desk", "kind": "ticket_printer", "driver": "escpos", "url": "sim",
                       "kiosk": "desk", "options": PRINTER},
                      {"id": "idcard-desk", "kind": "idcard_reader", "driver": "sam", "url": "sim", "kiosk": "desk",
                       "options": READER}]
    raw["server"]["secret_path"] = str(tmp_path / "secret.key")
    app = make_app(tmp_path, HallConfig.model_validate(raw), demo=True)
    with TestClient(app) as c:
        c.headers.update(demo_bearer(c, "clerk2", window=2))
        yield c


def simulator(client: TestClient, device: str) -> Any:
    """A simulator inside the embedded device host."""
    host = client.app.state.services.devices  # type: ignore[attr-defined]
    return getattr(host, "manager", host).simulators[device]


def printer(client: TestClient) -> Any:
    """The desk printer's simulator."""
    return simulator(client, "printer-desk")


def test_proxy_ticket_prints_on_the_desk_printer_and_counts_as_daiban(client: TestClient) -> None:
    opts = client.get("/api/console/options").json()
    assert opts["printers"] == [{"kiosk": "desk", "name": "导办台"}]
    until_sync(lambda: client.post("/api/console/tickets", json={"service": "general", "reason": "agent",
                                                                   "print_at": "desk"}).status_code == 201
               and printer(client).printed == 1, timeout=10)  # the first one waits for the printer to come up
    r = client.post("/api/console/tickets", json={"service": "social", "reason": "phone", "print_at": "desk"})
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["print"]["printed"] is True and ticket["channel"] == "staff"
    assert printer(client).printed == 2 and ticket["number"] in printer(client).ticket()["text"]
    totals = client.get("/api/reports/summary", headers=demo_bearer(client, "supervisor")).json()["totals"]
    assert totals["channels"] == {"staff": totals["issued"]} and totals["issued"] >= 2


def test_proxy_ticket_from_the_card_on_the_counter_reader(client: TestClient) -> None:
    assert client.get("/api/console/options").json()["readers"] == [{"kiosk": "desk", "name": "导办台"}]
    r = client.post("/api/console/tickets", json={"service": "general", "reason": "elderly", "card_at": "desk"})
    assert r.status_code == 404 and r.json()["code"] == "no_session"  # no card on the reader yet
    client.portal.call(simulator(client, "idcard-desk").act, "place_card", {"card": "elderly"})  # type: ignore[union-attr]
    card = until_sync(lambda: (lambda r: r.json() if r.status_code == 200 else None)(
        client.get("/api/console/card/desk")), timeout=8)
    assert isinstance(card, dict) and card["masked_name"] == "张*明" and card["priority"] == "priority"
    r = client.post("/api/console/tickets", json={"service": "general", "reason": "elderly", "card_at": "desk"})
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["masked_id"] == SAMPLES["elderly"].masked_id and ticket["priority"] == "priority"
    assert ticket["channel"] == "staff" and SAMPLES["elderly"].id_number not in r.text
