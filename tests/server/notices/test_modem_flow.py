"""The modem channel end to end: the server queues, the embedded device host sends on the GSM simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.config import HallConfig
from tests.support import demo_bearer, make_app, until_sync

MOBILE = "13800138000"
MODEM = {"id": "modem-1", "kind": "sms_modem", "driver": "gsm_at", "url": "sim", "hall": True,
         "options": {"health_interval": 0.2, "command_timeout": 2.0}}
pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def client(demo_config: HallConfig, tmp_path: Path) -> Iterator[TestClient]:
    raw = demo_config.model_dump()
    raw["devices"] = [MODEM]
    raw["server"]["secret_path"] = str(tmp_path / "secret.key")
    raw["notices"] = {"channel": "modem", "near_ahead": 0, "near_minutes": None, "backoff_base_s": 0.05,
                      "backoff_max_s": 0.2}
    app = make_app(tmp_path, HallConfig.model_validate(raw), demo=True)
    with TestClient(app) as c:
        c.headers.update(demo_bearer(c, "admin"))
        yield c


def manager(client: TestClient) -> Any:
    host = client.app.state.services.devices  # type: ignore[attr-defined]
    return getattr(host, "manager", host)


def notices_of(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = client.get("/api/notices", params={"limit": 100, **params}).json()["notices"]
    return rows


def test_called_notice_goes_out_on_the_modem_and_is_delivered(client: TestClient) -> None:
    until_sync(lambda: manager(client).health(manager(client).device("modem-1")).available, timeout=10)
    sim = manager(client).simulators["modem-1"]
    first, mine = (client.post("/api/tickets", json={"service": "general"}).json() for _ in range(2))
    assert client.post(f"/api/tickets/by-token/{mine['token']}/notify", json={"mobile": MOBILE}).status_code == 200
    assert client.post("/api/windows/2/open", json={}).status_code in (200, 409)
    assert client.post("/api/windows/2/call-next").json()["id"] == first["id"]
    # 0 ahead now: 即将到号 through the modem, as one UCS-2 PDU, then its delivery report
    until_sync(lambda: [n for n in notices_of(client) if n["state"] == "delivered"], timeout=15)
    (message,) = sim.messages()
    assert message["number"] == MOBILE and f"您的{mine['number']}号" in message["text"] and message["dcs"] == 8

    # the network goes away: the next notice waits (health says no_network), and goes out when it is back
    sim.inject("no_network")
    until_sync(lambda: "no_network" in manager(client).health(manager(client).device("modem-1")).faults, timeout=10)
    assert client.post("/api/windows/2/finish").status_code in (200, 409)
    assert client.post("/api/windows/2/call-next").json()["id"] == mine["id"]
    until_sync(lambda: any(n["kind"] == "called" for n in notices_of(client)), timeout=10)
    called = next(n for n in notices_of(client) if n["kind"] == "called")
    assert called["state"] == "queued" and len(sim.messages()) == 1
    devices = client.get("/api/devices").json()
    assert "no_network" in str(devices)
    sim.inject(None)
    until_sync(lambda: next(n for n in notices_of(client) if n["kind"] == "called")["state"] == "delivered",
               timeout=15)
    assert "2号窗口" in sim.messages()[-1]["text"]


def test_a_booking_gets_its_reminder_from_the_modem(demo_config: HallConfig, tmp_path: Path) -> None:
    from tests.server.appointments.conftest import ID_A, NOW, WEDNESDAY, Clock, booking_config

    raw = booking_config(demo_config, tmp_path).model_dump()
    raw["devices"] = [MODEM]
    raw["notices"] = {"channel": "modem"}
    with TestClient(make_app(tmp_path, HallConfig.model_validate(raw), demo=True)) as client:
        client.app.state.services.store.clock = Clock()  # type: ignore[attr-defined]
        client.headers.update(demo_bearer(client, "admin"))
        until_sync(lambda: manager(client).health(manager(client).device("modem-1")).available, timeout=10)
        r = client.post("/api/appointments", json={"service": "general", "date": WEDNESDAY.isoformat(),
                                                   "slot": "10:00", "name": "张三明", "id_number": ID_A,
                                                   "mobile": "13812345678"})  # fmt: skip
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        service = client.app.state.services.notices  # type: ignore[attr-defined]
        until_sync(lambda: client.portal.call(service.send_reminders, NOW.date()) == 1)  # type: ignore[union-attr]
        sim = manager(client).simulators["modem-1"]
        until_sync(lambda: [n for n in notices_of(client) if n["state"] == "delivered"], timeout=15)
        (message,) = sim.messages()
        assert message["number"] == "13812345678" and code in message["text"] and "10:00" in message["text"]
        modem = manager(client).device("modem-1")
        send = [i for i, line in enumerate(modem.dialogue) if line.startswith(">> AT+CMGS=")][-1]
        out = Path(__file__).resolve().parents[3] / "screenshots" / "E" / "at-dialogue-reminder.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("# 预约提醒 sent by the device host on the GSM simulator (>> driver, << modem); text: "
                       f"{message['text']}\n" + "\n".join(list(modem.dialogue)[send:]) + "\n", encoding="utf-8")
